"""`crudql.sample`: deterministic, valid, varied sample contacts."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from crudql import sample
from crudql.models import Contact, Partner

N = 5000


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return sample.contacts(N, seed=7)


def _metrics(record: dict[str, Any]) -> dict[str, Any] | None:
    return (record.get("info") or {}).get("cosellPartnerMetrics")


def test_same_seed_same_records_and_prefixes_agree(records: list[dict[str, Any]]) -> None:
    assert sample.contacts(N, seed=7) == records
    assert sample.contacts(50, seed=7) == records[:50]
    assert sample.contacts(50, seed=8) != records[:50]
    assert sample.contacts(0) == []
    with pytest.raises(ValueError):
        sample.contacts(-1)


def test_records_are_alias_shaped_json_that_validates(records: list[dict[str, Any]]) -> None:
    assert json.loads(json.dumps(records)) == records
    for record in records:
        model = Contact.model_validate(record)
        # Alias shape: what the model dumps validates back to the same model.
        assert Contact.model_validate(model.model_dump(mode="json", by_alias=True, exclude_unset=True)) == model
    assert "organizationID" in records[0] and "organization_id" not in records[0]


def test_ids_are_unique_and_not_in_insertion_order(records: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in records]
    assert len(set(ids)) == N
    assert ids != sorted(ids)


def test_every_partner_and_several_organizations_occur(records: list[dict[str, Any]]) -> None:
    partners = Counter((r.get("info") or {}).get("partner", "<absent>") for r in records)
    assert {p.value for p in Partner} <= set(partners)
    assert partners["AWS"] > partners["GCP"] > partners["ZOHO"]
    assert None in partners  # an explicit null partner
    orgs = Counter(r["organizationID"] for r in records)
    assert len(orgs) >= 5 and max(orgs.values()) < 0.6 * N


def test_missing_null_and_empty_all_occur(records: list[dict[str, Any]]) -> None:
    def state(container: dict[str, Any] | None, key: str) -> str:
        if container is None or key not in container:
            return "absent"
        value = container[key]
        return "null" if value is None else "empty" if value in ([], {}) else "value"

    infos = [r.get("info") for r in records]
    metrics = [m for m in map(_metrics, records) if m is not None]
    assert {state(r, "info") for r in records} == {"absent", "null", "value"}
    assert {state(r, "tags") for r in records} == {"absent", "null", "empty", "value"}
    assert {state(i, "cosellPartnerMetrics") for i in infos if i} == {"absent", "value"}
    assert {state(i, "enrichedContactInfo") for i in infos if i} == {"absent", "value"}
    assert {state(m, "pipeline") for m in metrics} == {"absent", "empty", "value"}
    assert {state(m, "accounts") for m in metrics} == {"empty", "value"}
    assert {state(m, "successRate") for m in metrics} == {"null", "value"}
    accounts = [a for m in metrics for a in m["accounts"]]
    assert {state(a, "opportunities") for a in accounts} == {"absent", "empty", "value"}
    assert {state(r, "emailAddress") for r in records} == {"null", "value"}


def test_nested_data_is_realistic(records: list[dict[str, Any]]) -> None:
    metrics = [m for m in map(_metrics, records) if m is not None]
    assert 0.2 * N < len(metrics) < 0.8 * N
    for m in metrics:
        assert m["accountCount"] == len(m["accounts"])
        assert [p["period"] for p in m["engagementTimeSeries"]] in ([], list(sample.PERIODS))
        assert m["industries"] == sorted({a["industry"] for a in m["accounts"] if a.get("industry")})
        names = [o["name"] for o in m["oppOwners"]]
        assert names == sorted(names)
        if m["successRate"] is not None:
            won, lost = m["closedWonCount"], m["closedLostCount"]
            assert m["successRate"] == pytest.approx(won / (won + lost) * 100, abs=0.01)
    stages = Counter(o["stageName"] for m in metrics for a in m["accounts"] for o in a.get("opportunities") or ())
    assert {"Closed Won", "Closed Lost", "Prospecting"} <= set(stages)
    experiences = [
        w
        for r in records
        for w in (((r.get("info") or {}).get("enrichedContactInfo") or {}).get("info") or {}).get("workExperiences", [])
    ]
    assert any(w["current"] for w in experiences) and any(not w["current"] for w in experiences)
    names = {r.get("name") for r in records}
    assert any(n and any(c in n for c in "%_\\\"") for n in names)  # text that LIKE must escape
    assert any(n and not n.isascii() for n in names)


def test_records_do_not_share_mutable_parts() -> None:
    first, second = sample.contacts(2000, seed=3), sample.contacts(2000, seed=3)
    accounts = [a for r in first for a in (_metrics(r) or {}).get("accounts", [])]
    for account in accounts:
        account["name"] = "changed"
        for opp in account.get("opportunities") or ():
            opp["amount"] = -1
    assert second == sample.contacts(2000, seed=3)
    assert all(a["name"] == "changed" for a in accounts)
    untouched = [a for r in second for a in (_metrics(r) or {}).get("accounts", [])]
    assert not any(a["name"] == "changed" for a in untouched)
    # Within one list too: two contacts that refer the same account hold separate copies.
    assert len({id(a) for a in accounts}) == len(accounts)


def test_contact_models_validates() -> None:
    models = sample.contact_models(200, seed=1)
    assert all(isinstance(m, Contact) for m in models)
    assert [m.id for m in models] == [r["id"] for r in sample.contacts(200, seed=1)]


def test_generation_is_fast() -> None:
    start = time.process_time()
    sample.contacts(10_000, seed=5)
    # ~0.3 s of CPU on an idle machine (100,000 in ~3 s); the bound leaves room for a loaded CI
    # machine and still catches an order-of-magnitude slowdown.
    assert time.process_time() - start < 6.0
