"""Every backend answers the spec's requests with the same page: the same records, in the same
order, with the same total (docs/spec/LANGUAGE.md §7: "all return the same records in the same order").

The requests are the spec's own examples plus the traps of section 2, over the bundled sample
data; each runs through InMemory, SQLite, PostgreSQL and MariaDB (when a DSN is set) and MongoDB (mongomock).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import crudql
import crudql.sample
from crudql.models import Contact

RECORDS = crudql.sample.contacts(600, seed=7)

# (q, qs, s, ss)
REQUESTS: list[tuple[str | None, str, str | None, str]] = [
    (None, "lisp", None, "simple"),
    (
        # The spec's example, with this sample's organization and counts.
        '(and (= organization_id "org_acme") (in info.partner ("AWS" "GCP")) '
        '(>= info.cosellPartnerMetrics.accountCount 1) (ilike name "%an%") (not (has tags "churned")))',
        "lisp",
        "-creation_time,name",
        "simple",
    ),
    ('(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 2))', "lisp", "-creation_time", "simple"),
    ('(any info.cosellPartnerMetrics.accounts (and (= industry "Software") (= type "Customer")))', "lisp", "name", "simple"),
    ('(= info.cosellPartnerMetrics.accounts.*.industry "Software")', "lisp", "creation_time:desc,name:asc", "simple"),
    ('(!= info.partner "AWS")', "lisp", "info.partner,-name", "simple"),
    ('(nin info.partner ("AWS" null))', "lisp", None, "simple"),
    ("(is-null info.cosellPartnerMetrics)", "lisp", "-info.cosellPartnerMetrics.successRate", "simple"),
    ('(all info.cosellPartnerMetrics.accounts (= type "Customer"))', "lisp", None, "simple"),
    ('(has-all tags ())', "lisp", "-name", "simple"),
    ('(icontains info.companyName "ACME")', "lisp", "info.cosellPartnerMetrics.pipeline.USD", "simple"),
    ('(between creation_time "2023-01-01" "2024-06-30T12:00:00+02:00")', "lisp", "-creation_time", "simple"),
    (
        '["or", ["=", "name", "Hiro Chen"], ["in", "info.partner", ["AWS", "GCP"]]]',
        "json",
        '[{"field": "creation_time", "order": "desc"}, {"field": "name"}]',
        "json",
    ),
    (
        '{"or": [{"exists": "tags"}, {"not": {"has": ["tags", "churned"]}}]}',
        "json",
        '["-creation_time", "name"]',
        "json",
    ),
]


def _sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    sources: dict[str, Any] = {"memory": crudql.sources.InMemory(RECORDS, model=Contact)}
    sa = pytest.importorskip("sqlalchemy")
    for name in ("sqlite_engine", "postgres_engine", "mysql_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        table = f"conformance_{uuid.uuid4().hex[:10]}"
        sources[name.removesuffix("_engine")] = crudql.sources.SQL.from_records(engine, RECORDS, table_name=table, model=Contact)
        request.addfinalizer(lambda e=engine, t=table: sa.Table(t, sa.MetaData()).drop(e, checkfirst=True))
    mongomock = pytest.importorskip("mongomock")
    sources["mongo"] = crudql.sources.Mongo.from_records(mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"], RECORDS, model=Contact)
    return sources


@pytest.fixture(scope="module")
def sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _sources(request)


@pytest.mark.parametrize(("q", "qs", "s", "ss"), REQUESTS)
@pytest.mark.parametrize("page", [(7, 1), (7, 3), (1000, 1)])
def test_every_backend_returns_the_same_page(
    sources: dict[str, Any], q: str | None, qs: str, s: str | None, ss: str, page: tuple[int, int]
) -> None:
    size, number = page
    request = crudql.PageRequest(q=q, qs=qs, s=s, ss=ss, page_size=size, page_number=number)
    answers = {name: crudql.run_query(request, source) for name, source in sources.items()}
    expected = answers.pop("memory")
    if q is None:  # the match-all request counts every record
        assert expected.total_count == len(RECORDS)
    for name, got in answers.items():
        assert [c.id for c in got.data] == [c.id for c in expected.data], name
        assert got.total_count == expected.total_count, name
        assert [c.model_dump() for c in got.data] == [c.model_dump() for c in expected.data], name


def test_the_requests_are_not_trivial(sources: dict[str, Any]) -> None:
    """A conformance table of empty answers would prove nothing."""
    totals = [
        crudql.run_query(crudql.PageRequest(q=q, qs=qs, s=s, ss=ss), sources["memory"]).total_count
        for q, qs, s, ss in REQUESTS
    ]
    assert sum(1 for t in totals if 0 < t < len(RECORDS)) >= len(REQUESTS) // 2


# ---------------------------------------------------------------------------- your own tables
# The same requests over a schema designed without crudql in mind (examples/existing_schema:
# renamed columns, a to-one table, to-many child tables, a PostgreSQL array), on SQLite and
# PostgreSQL, sync and async: the same pages as every source over the same records.


@pytest.fixture(scope="module")
def normalized_sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    from support.normalized import load, memory, normalized, round_trip

    out: dict[str, Any] = {}
    records: list[dict[str, Any]] | None = None
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        load(engine, RECORDS)
        out[name.removesuffix("_engine")] = normalized(engine)
        # What the tables can hold (an absent list of related rows reads as []), the same on
        # every engine: the other sources are built from it.
        held = round_trip(out[name.removesuffix("_engine")])
        assert records is None or held == records
        records = held
    assert records is not None
    out["memory"] = memory(records)
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine("sqlite://")
    out["from_records"] = crudql.sources.SQL.from_records(engine, records, model=Contact)
    return out


@pytest.mark.parametrize(("q", "qs", "s", "ss"), REQUESTS)
@pytest.mark.parametrize("page", [(7, 1), (7, 3), (1000, 1)])
def test_your_own_tables_return_the_same_page(
    normalized_sources: dict[str, Any], q: str | None, qs: str, s: str | None, ss: str, page: tuple[int, int]
) -> None:
    size, number = page
    request = crudql.PageRequest(q=q, qs=qs, s=s, ss=ss, page_size=size, page_number=number)
    answers = {name: crudql.run_query(request, source) for name, source in normalized_sources.items()}
    expected = answers.pop("memory")
    for name, got in answers.items():
        assert [c.id for c in got.data] == [c.id for c in expected.data], name
        assert got.total_count == expected.total_count, name
        assert [c.model_dump() for c in got.data] == [c.model_dump() for c in expected.data], name
