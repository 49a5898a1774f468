"""The `Contact` record of `GET /org/:orgId/contact/query`, field for field as the reference.

Python names are snake_case; JSON names (aliases) are spelled exactly as the reference,
including its irregular ones (`organizationID`, `companyContactId`, `linkedIn`, `s3KeyPicture`).
Only `id` is required; a missing object or array stays missing (None), never `{}` or `[]`,
because `exists` must tell the two apart.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, ClassVar, Optional

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
    amount: Optional[float] = None
    close_date: Optional[str] = None  # YYYY-MM-DD, as Salesforce sends it
    created_date: Optional[str] = None  # YYYY-MM-DDTHH:MM:SS.000+0000
    currency_iso_code: Optional[str] = None
    id: Optional[str] = None
    name: Optional[str] = None
    owner_email: Optional[str] = None
    owner_name: Optional[str] = None
    probability: Optional[float] = None  # 0-100
    stage_name: Optional[str] = None


class Account(_Record):
    created_date: Optional[str] = None  # YYYY-MM-DD
    domain: Optional[str] = None
    id: Optional[str] = None
    industry: Optional[str] = None
    name: Optional[str] = None
    opportunities: Optional[list[Opportunity]] = None
    source: Optional[str] = None  # "Predicted" or "Referral"
    type: Optional[str] = None  # "Customer", "Prospect", "Target", ...


class EngagementPoint(_Record):
    cosell_deals: Optional[int] = None
    opportunity_activity: Optional[int] = None
    period: Optional[str] = None  # YYYY-MM


class Location(_Record):
    location: Optional[str] = None
    region: Optional[str] = None


class OppOwner(_Record):
    email: Optional[str] = None
    name: Optional[str] = None


class CosellPartnerMetrics(_Record):
    account_count: Optional[int] = None
    accounts: Optional[list[Account]] = None
    closed_lost_count: Optional[int] = None
    closed_won_amount: Optional[dict[str, float]] = None  # by currency: {"USD": 500000.0}
    closed_won_count: Optional[int] = None
    engagement_time_series: Optional[list[EngagementPoint]] = None
    inbound_referral_count: Optional[int] = None
    industries: Optional[list[str]] = None
    locations: Optional[list[Location]] = None
    managed_domains: Optional[list[str]] = None
    opp_owners: Optional[list[OppOwner]] = None
    outbound_referral_count: Optional[int] = None
    pipeline: Optional[dict[str, float]] = None  # by currency
    source: Optional[str] = None
    success_rate: Optional[float] = None  # None when nothing closed


class WorkExperience(_Record):
    current: Optional[bool] = None
    end_date: Optional[Instant] = None
    organization_name: Optional[str] = None
    start_date: Optional[Instant] = None
    title: Optional[str] = None


class EnrichedInfo(_Record):
    apollo_id: Optional[str] = None
    is_primary: Optional[bool] = None
    seniority: Optional[str] = None
    work_experiences: Optional[list[WorkExperience]] = None


class EnrichedContactInfo(_Record):
    city: Optional[str] = None
    company_domain: Optional[str] = None
    company_name: Optional[str] = None
    country: Optional[str] = None
    creation_time: Optional[Instant] = None
    email: Optional[str] = None
    first_name: Optional[str] = None
    id: Optional[str] = None
    info: Optional[EnrichedInfo] = None
    job_function: Optional[str] = None
    job_title: Optional[str] = None
    last_name: Optional[str] = None
    last_update_time: Optional[Instant] = None
    linked_in: Optional[str] = Field(default=None, alias="linkedIn")
    name: Optional[str] = None
    phone: Optional[str] = None
    s3_key_picture: Optional[str] = Field(default=None, alias="s3KeyPicture")
    status: Optional[EnrichmentStatus] = None
    twitter: Optional[str] = None


class ContactInfo(_Record):
    company_location: Optional[str] = None
    company_name: Optional[str] = None
    cosell_partner_metrics: Optional[CosellPartnerMetrics] = None
    enriched_contact_info: Optional[EnrichedContactInfo] = None
    last_modified_by: Optional[str] = None
    partner: Optional[Partner] = None
    phone_number: Optional[str] = None
    role: Optional[str] = None


class Contact(_Record):
    # Indexes `SQL.from_records` creates: the tenant scope, the usual sort, and both together.
    crudql_indexes: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("organization_id",),
        ("creation_time",),
        ("organization_id", "creation_time"),
    )

    company_contact_id: Optional[str] = Field(default=None, alias="companyContactId")
    creation_time: Optional[Instant] = None
    email_address: Optional[str] = None
    id: str
    info: Optional[ContactInfo] = None
    last_update_time: Optional[Instant] = None
    name: Optional[str] = None
    organization_id: Optional[str] = Field(default=None, alias="organizationID")
    tags: Optional[list[str]] = None
