"""The `Contact` record of `GET /org/:orgId/contact/query`, field for field as the reference.

Python names are snake_case; JSON names (aliases) are spelled exactly as the reference,
including its irregular ones (`organizationID`, `companyContactId`, `linkedIn`, `s3KeyPicture`).
Only `id` is required; a missing object or array stays missing (None), never `{}` or `[]`,
because `exists` must tell the two apart.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from ..values import rfc3339, utc

Instant = Annotated[
    dt.datetime,
    # Datetimes compare as instants: a naive time is UTC, an offset is normalized to UTC; the
    # reference prints RFC 3339 UTC with trimmed fractions ("2026-04-08T06:06:53.671Z").
    AfterValidator(utc),
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
]


class _Record(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=False,
    )


class Partner(str, Enum):
    NONE = ""
    ADYEN = "ADYEN"
    ALIBABA = "ALIBABA"
    ANTIGRAVITY = "ANTIGRAVITY"
    ANTHROPIC = "ANTHROPIC"
    AWS = "AWS"
    AWS_CHINA = "AWS_CHINA"
    AZURE = "AZURE"
    CHARGEBEE = "CHARGEBEE"
    CLICKUP = "CLICKUP"
    DATABRICKS = "DATABRICKS"
    DATADOG = "DATADOG"
    DEEPSEEK = "DEEPSEEK"
    DOCUSIGN = "DOCUSIGN"
    DNS = "DNS"
    GCP = "GCP"
    GITHUB = "GITHUB"
    GONG = "GONG"
    GOOGLE = "GOOGLE"
    HUBSPOT = "HUBSPOT"
    INTUIT = "INTUIT"
    KIMI = "KIMI"
    LAGO = "LAGO"
    MARKETO = "MARKETO"
    METRONOME = "METRONOME"
    MICROSOFT = "MICROSOFT"
    MINIMAX = "MINIMAX"
    NOTION = "NOTION"
    OPENAI = "OPENAI"
    ORACLE = "ORACLE"
    ORB = "ORB"
    REDHAT = "REDHAT"
    SALESFORCE = "SALESFORCE"
    SLACK = "SLACK"
    SNOWFLAKE = "SNOWFLAKE"
    STRIPE = "STRIPE"
    ZOHO = "ZOHO"
    OAUTH2 = "OAUTH2"


class EnrichmentStatus(str, Enum):
    ACTIVE = "active"
    STALE = "stale"
    ARCHIVED = "archived"


class Opportunity(_Record):
    amount: float | None = None
    close_date: str | None = None  # YYYY-MM-DD, as Salesforce sends it
    created_date: str | None = None  # YYYY-MM-DDTHH:MM:SS.000+0000
    currency_iso_code: str | None = None
    id: str | None = None
    name: str | None = None
    owner_email: str | None = None
    owner_name: str | None = None
    probability: float | None = None  # 0-100
    stage_name: str | None = None


class Account(_Record):
    created_date: str | None = None  # YYYY-MM-DD
    domain: str | None = None
    id: str | None = None
    industry: str | None = None
    name: str | None = None
    opportunities: list[Opportunity] | None = None
    source: str | None = None  # "Predicted" or "Referral"
    type: str | None = None  # "Customer", "Prospect", "Target", ...


class EngagementPoint(_Record):
    cosell_deals: int | None = None
    opportunity_activity: int | None = None
    period: str | None = None  # YYYY-MM


class Location(_Record):
    location: str | None = None
    region: str | None = None


class OppOwner(_Record):
    email: str | None = None
    name: str | None = None


class CosellPartnerMetrics(_Record):
    account_count: int | None = None
    accounts: list[Account] | None = None
    closed_lost_count: int | None = None
    closed_won_amount: dict[str, float] | None = None  # by currency: {"USD": 500000.0}
    closed_won_count: int | None = None
    engagement_time_series: list[EngagementPoint] | None = None
    inbound_referral_count: int | None = None
    industries: list[str] | None = None
    locations: list[Location] | None = None
    managed_domains: list[str] | None = None
    opp_owners: list[OppOwner] | None = None
    outbound_referral_count: int | None = None
    pipeline: dict[str, float] | None = None  # by currency
    source: str | None = None
    success_rate: float | None = None  # None when nothing closed


class WorkExperience(_Record):
    current: bool | None = None
    end_date: Instant | None = None
    organization_name: str | None = None
    start_date: Instant | None = None
    title: str | None = None


class EnrichedInfo(_Record):
    apollo_id: str | None = None
    is_primary: bool | None = None
    seniority: str | None = None
    work_experiences: list[WorkExperience] | None = None


class EnrichedContactInfo(_Record):
    city: str | None = None
    company_domain: str | None = None
    company_name: str | None = None
    country: str | None = None
    creation_time: Instant | None = None
    email: str | None = None
    first_name: str | None = None
    id: str | None = None
    info: EnrichedInfo | None = None
    job_function: str | None = None
    job_title: str | None = None
    last_name: str | None = None
    last_update_time: Instant | None = None
    linked_in: str | None = Field(default=None, alias="linkedIn")
    name: str | None = None
    phone: str | None = None
    s3_key_picture: str | None = Field(default=None, alias="s3KeyPicture")
    status: EnrichmentStatus | None = None
    twitter: str | None = None


class ContactInfo(_Record):
    company_location: str | None = None
    company_name: str | None = None
    cosell_partner_metrics: CosellPartnerMetrics | None = None
    enriched_contact_info: EnrichedContactInfo | None = None
    last_modified_by: str | None = None
    partner: Partner | None = None
    phone_number: str | None = None
    role: str | None = None


class Contact(_Record):
    # Indexes `SQL.from_records` creates: the tenant scope, the usual sort, and both together.
    crudql_indexes: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("organization_id",),
        ("creation_time",),
        ("organization_id", "creation_time"),
    )

    company_contact_id: str | None = Field(default=None, alias="companyContactId")
    creation_time: Instant | None = None
    email_address: str | None = None
    id: str
    info: ContactInfo | None = None
    last_update_time: Instant | None = None
    name: str | None = None
    organization_id: str | None = Field(default=None, alias="organizationID")
    tags: list[str] | None = None
