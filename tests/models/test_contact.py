"""`crudql.models.Contact`: the record of the reference endpoint (query-contacts-endpoint.txt)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import crudql
from crudql.fieldtypes import Kind
from crudql.models import Contact, EnrichmentStatus, Partner

# `data[0]` of the reference's example response, verbatim.
EXAMPLE: dict[str, Any] = {
    "companyContactId": "string",
    "creationTime": "2026-04-08T06:06:53.671Z",
    "emailAddress": "string",
    "id": "string",
    "info": {
        "companyLocation": "string",
        "companyName": "string",
        "cosellPartnerMetrics": {
            "accountCount": 0,
            "accounts": [
                {
                    "createdDate": "string",
                    "domain": "string",
                    "id": "string",
                    "industry": "string",
                    "name": "string",
                    "opportunities": [
                        {
                            "amount": 0,
                            "closeDate": "string",
                            "createdDate": "string",
                            "currencyIsoCode": "string",
                            "id": "string",
                            "name": "string",
                            "ownerEmail": "string",
                            "ownerName": "string",
                            "probability": 0,
                            "stageName": "string",
                        }
                    ],
                    "source": "string",
                    "type": "string",
                }
            ],
            "closedLostCount": 0,
            "closedWonAmount": {},
            "closedWonCount": 0,
            "engagementTimeSeries": [{"cosellDeals": 0, "opportunityActivity": 0, "period": "string"}],
            "inboundReferralCount": 0,
            "industries": ["string"],
            "locations": [{"location": "string", "region": "string"}],
            "managedDomains": ["string"],
            "oppOwners": [{"email": "string", "name": "string"}],
            "outboundReferralCount": 0,
            "pipeline": {},
            "source": "string",
            "successRate": 0,
        },
        "enrichedContactInfo": {
            "city": "string",
            "companyDomain": "string",
            "companyName": "string",
            "country": "string",
            "creationTime": "2026-04-08T06:06:53.672Z",
            "email": "string",
            "firstName": "string",
            "id": "string",
            "info": {
                "apolloId": "string",
                "isPrimary": True,
                "seniority": "string",
                "workExperiences": [
                    {
                        "current": True,
                        "endDate": "2026-04-08T06:06:53.672Z",
                        "organizationName": "string",
                        "startDate": "2026-04-08T06:06:53.672Z",
                        "title": "string",
                    }
                ],
            },
            "jobFunction": "string",
            "jobTitle": "string",
            "lastName": "string",
            "lastUpdateTime": "2026-04-08T06:06:53.672Z",
            "linkedIn": "string",
            "name": "string",
            "phone": "string",
            "s3KeyPicture": "string",
            "status": "active",
            "twitter": "string",
        },
        "lastModifiedBy": "string",
        "partner": "",
        "phoneNumber": "string",
        "role": "string",
    },
    "lastUpdateTime": "2026-04-08T06:06:53.672Z",
    "name": "string",
    "organizationID": "string",
    "tags": ["string"],
}

SCHEMA = crudql.Schema.from_model(Contact)


def test_the_reference_example_validates_and_round_trips() -> None:
    contact = Contact.model_validate(EXAMPLE)
    assert contact.model_dump(mode="json", by_alias=True) == EXAMPLE


def test_the_example_round_trips_through_json_text() -> None:
    contact = Contact.model_validate_json(Contact.model_validate(EXAMPLE).model_dump_json(by_alias=True))
    assert contact.model_dump(mode="json", by_alias=True) == EXAMPLE


def _keys(value: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(prefix + k)
            out |= _keys(v, prefix + k + ".")
    elif isinstance(value, list):
        for v in value:
            out |= _keys(v, prefix + "*.")
    return out


def test_every_field_of_the_example_resolves_in_the_schema() -> None:
    for path in sorted(_keys(EXAMPLE)):
        f = SCHEMA.resolve(path)
        assert f.json_path == tuple(path.split("."))


@pytest.mark.parametrize(
    "python,alias",
    [
        ("organization_id", "organizationID"),
        ("company_contact_id", "companyContactId"),
        ("info.enriched_contact_info.linked_in", "info.enrichedContactInfo.linkedIn"),
        ("info.enriched_contact_info.s3_key_picture", "info.enrichedContactInfo.s3KeyPicture"),
        ("info.enriched_contact_info.info.apollo_id", "info.enrichedContactInfo.info.apolloId"),
        ("creation_time", "creationTime"),
        ("info.cosell_partner_metrics.account_count", "info.cosellPartnerMetrics.accountCount"),
        ("info.cosell_partner_metrics.opp_owners", "info.cosellPartnerMetrics.oppOwners"),
        ("info.cosell_partner_metrics.accounts.*.opportunities.*.currency_iso_code",
         "info.cosellPartnerMetrics.accounts.*.opportunities.*.currencyIsoCode"),
    ],
)
def test_aliases_are_spelled_as_the_reference(python: str, alias: str) -> None:
    by_python = SCHEMA.resolve(python)
    by_alias = SCHEMA.resolve(alias)
    assert by_python.path == by_alias.path == tuple(python.split("."))
    assert by_python.json_path == by_alias.json_path == tuple(alias.split("."))


def test_construct_by_python_name_or_alias() -> None:
    a = Contact(id="c1", organization_id="o", company_contact_id="cc")
    b = Contact.model_validate({"id": "c1", "organizationID": "o", "companyContactId": "cc"})
    assert a == b
    dumped = a.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped == {"id": "c1", "organizationID": "o", "companyContactId": "cc"}


def test_only_id_is_required() -> None:
    with pytest.raises(ValidationError):
        Contact.model_validate({})
    c = Contact.model_validate({"id": "x"})
    assert c.model_dump(mode="json", by_alias=True, exclude_none=True) == {"id": "x"}


def test_every_other_field_may_be_null() -> None:
    nulls = {k: None for k in EXAMPLE if k != "id"}
    c = Contact.model_validate({"id": "x", **nulls})
    assert all(getattr(c, name) is None for name in type(c).model_fields if name != "id")
    info = dict.fromkeys(EXAMPLE["info"])
    validated = Contact.model_validate({"id": "x", "info": info}).info
    assert validated is not None and all(getattr(validated, name) is None for name in type(validated).model_fields)


def test_absent_stays_absent() -> None:
    # A missing array or object is not turned into [] or {} (exists must tell them apart).
    c = Contact.model_validate({"id": "x", "info": {"cosellPartnerMetrics": {}}})
    assert c.tags is None
    assert c.info is not None and c.info.cosell_partner_metrics is not None
    assert c.info.cosell_partner_metrics.accounts is None
    assert c.info.cosell_partner_metrics.pipeline is None
    empty = Contact.model_validate({"id": "x", "tags": []})
    assert empty.tags == []


def test_partner_and_status_are_enums_of_the_reference() -> None:
    partner = SCHEMA.field("info.partner").type
    assert partner is not None and partner.kind is Kind.ENUM
    reference = (
        "ADYEN ALIBABA ANTIGRAVITY ANTHROPIC AWS AWS_CHINA AZURE CHARGEBEE CLICKUP DATABRICKS DATADOG DEEPSEEK "
        "DOCUSIGN DNS GCP GITHUB GONG GOOGLE HUBSPOT INTUIT KIMI LAGO MARKETO METRONOME MICROSOFT MINIMAX NOTION "
        "OPENAI ORACLE ORB REDHAT SALESFORCE SLACK SNOWFLAKE STRIPE ZOHO OAUTH2"
    ).split()
    assert set(partner.enum_values) == {"", *reference}
    assert {p.value for p in Partner} == {"", *reference}
    status = SCHEMA.field("info.enrichedContactInfo.status").type
    assert status is not None and set(status.enum_values) == {"active", "stale", "archived"}
    assert {s.value for s in EnrichmentStatus} == {"active", "stale", "archived"}
    with pytest.raises(ValidationError):
        Contact.model_validate({"id": "x", "info": {"partner": "aws"}})


@pytest.mark.parametrize(
    "path,kind",
    [
        ("id", Kind.STRING),
        ("creation_time", Kind.DATETIME),
        ("last_update_time", Kind.DATETIME),
        ("tags", Kind.ARRAY),
        ("info", Kind.OBJECT),
        ("info.cosellPartnerMetrics.accountCount", Kind.INT),
        ("info.cosellPartnerMetrics.successRate", Kind.FLOAT),
        ("info.cosellPartnerMetrics.closedWonAmount", Kind.DICT),
        ("info.cosellPartnerMetrics.pipeline.USD", Kind.FLOAT),
        ("info.cosellPartnerMetrics.accounts", Kind.ARRAY),
        ("info.cosellPartnerMetrics.engagementTimeSeries.*.cosellDeals", Kind.INT),
        ("info.cosellPartnerMetrics.industries", Kind.ARRAY),
        ("info.cosellPartnerMetrics.accounts.*.opportunities.*.amount", Kind.FLOAT),
        ("info.enrichedContactInfo.info.isPrimary", Kind.BOOL),
        ("info.enrichedContactInfo.info.workExperiences.*.startDate", Kind.DATETIME),
        ("info.enrichedContactInfo.creationTime", Kind.DATETIME),
    ],
)
def test_field_types(path: str, kind: Kind) -> None:
    t = SCHEMA.resolve(path).type
    assert t.kind is kind


def test_datetimes_are_instants() -> None:
    c = Contact.model_validate({"id": "x", "creationTime": "2024-01-01T02:00:00+02:00"})
    assert c.creation_time == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert c.model_dump(mode="json", by_alias=True, exclude_none=True)["creationTime"] == "2024-01-01T00:00:00Z"


def test_the_example_is_not_mutated_by_validation() -> None:
    before = copy.deepcopy(EXAMPLE)
    Contact.model_validate(EXAMPLE)
    assert EXAMPLE == before


def test_models_are_pydantic_v2() -> None:
    assert issubclass(Contact, BaseModel)
    assert hasattr(Contact, "model_fields")
