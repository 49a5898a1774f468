"""A CRM schema designed without crudql in mind: contacts in one table, partner metrics in a
to-one table, accounts, their opportunities and the metrics' industries in child tables, tags
in a PostgreSQL array (JSON elsewhere), columns named as the team likes, and the API model
(`crudql.models.Contact`) mapped onto it with `fields=`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import VARCHAR
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import crudql
from crudql.backends.sql import storage_json
from crudql.models import Contact, Partner

# Tags are a PostgreSQL text array; other engines keep them as JSON.
TAGS = sa.JSON().with_variant(ARRAY(sa.Text()), "postgresql")
# Ids are case-sensitive: MariaDB's default collation would make "c10" and "C10" one key.
KEY = sa.String(64).with_variant(VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")


class Base(DeclarativeBase):
    pass


class ContactRow(Base):
    __tablename__ = "crm_contact"

    id: Mapped[str] = mapped_column(KEY, primary_key=True)
    org: Mapped[str | None] = mapped_column("org_id", KEY, index=True)
    full_name: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text)
    external_id: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=False), index=True)  # UTC
    updated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    partner: Mapped[Partner | None] = mapped_column(sa.Enum(Partner, name="partner"))  # stores names
    company: Mapped[str | None] = mapped_column(sa.Text)
    company_location: Mapped[str | None] = mapped_column(sa.Text)
    modified_by: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.Text)
    role: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str] | None] = mapped_column(TAGS)
    enrichment: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    metrics: Mapped[MetricsRow | None] = relationship(back_populates="contact", uselist=False)


class MetricsRow(Base):
    __tablename__ = "crm_partner_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(sa.ForeignKey("crm_contact.id"), unique=True)
    account_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    closed_lost_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    closed_won_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    inbound_referral_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    outbound_referral_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    success_rate: Mapped[float | None] = mapped_column(sa.Double)
    source: Mapped[str | None] = mapped_column(sa.Text)
    pipeline: Mapped[dict[str, float] | None] = mapped_column(sa.JSON)
    closed_won_amount: Mapped[dict[str, float] | None] = mapped_column(sa.JSON)
    engagement_time_series: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    locations: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    managed_domains: Mapped[list[str] | None] = mapped_column(sa.JSON)
    opp_owners: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    contact: Mapped[ContactRow] = relationship(back_populates="metrics")
    accounts: Mapped[list[AccountRow]] = relationship(order_by="AccountRow.pk")
    industries: Mapped[list[IndustryRow]] = relationship(order_by="IndustryRow.pk")


class AccountRow(Base):
    __tablename__ = "crm_account"

    pk: Mapped[int] = mapped_column(primary_key=True)
    metrics_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_partner_metrics.id"), index=True)
    sf_id: Mapped[str | None] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    industry: Mapped[str | None] = mapped_column(sa.Text)
    type: Mapped[str | None] = mapped_column(sa.Text)
    domain: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.Text)
    created_date: Mapped[str | None] = mapped_column(sa.Text)
    opportunities: Mapped[list[OpportunityRow]] = relationship(order_by="OpportunityRow.pk")


class OpportunityRow(Base):
    __tablename__ = "crm_opportunity"

    pk: Mapped[int] = mapped_column(primary_key=True)
    account_pk: Mapped[int] = mapped_column(sa.ForeignKey("crm_account.pk"), index=True)
    sf_id: Mapped[str | None] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    amount: Mapped[float | None] = mapped_column(sa.Double)
    probability: Mapped[float | None] = mapped_column(sa.Double)
    stage_name: Mapped[str | None] = mapped_column(sa.Text)
    close_date: Mapped[str | None] = mapped_column(sa.Text)
    created_date: Mapped[str | None] = mapped_column(sa.Text)
    currency_iso_code: Mapped[str | None] = mapped_column(sa.Text)
    owner_email: Mapped[str | None] = mapped_column(sa.Text)
    owner_name: Mapped[str | None] = mapped_column(sa.Text)


class IndustryRow(Base):
    __tablename__ = "crm_industry"

    pk: Mapped[int] = mapped_column(primary_key=True)
    metrics_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_partner_metrics.id"), index=True)
    name: Mapped[str] = mapped_column(sa.Text)


# Where each API field of Contact lives. Fields not named here resolve by name: the metrics'
# counters are columns of the same names, the accounts' name, industry, ... too.
FIELDS: dict[str, Any] = {
    "organization_id": ContactRow.org,
    "name": ContactRow.full_name,
    "email_address": ContactRow.email,
    "company_contact_id": ContactRow.external_id,
    "creation_time": ContactRow.created_at,
    "last_update_time": ContactRow.updated_at,
    "info.partner": ContactRow.partner,
    "info.companyName": ContactRow.company,
    "info.companyLocation": ContactRow.company_location,
    "info.lastModifiedBy": ContactRow.modified_by,
    "info.phoneNumber": ContactRow.phone,
    "info.role": ContactRow.role,
    "info.enrichedContactInfo": ContactRow.enrichment,
    "info.cosellPartnerMetrics": ContactRow.metrics,
    "info.cosellPartnerMetrics.accounts": MetricsRow.accounts,
    "info.cosellPartnerMetrics.accounts.id": AccountRow.sf_id,
    "info.cosellPartnerMetrics.accounts.opportunities": AccountRow.opportunities,
    "info.cosellPartnerMetrics.accounts.opportunities.id": OpportunityRow.sf_id,
    "info.cosellPartnerMetrics.industries": IndustryRow.name,
}


def source(bind: Any, **options: Any) -> Any:
    """The crudql source over this schema."""
    return crudql.sources.SQL(bind, ContactRow, model=Contact, fields=FIELDS, **options)


def _instant(value: Any) -> dt.datetime | None:
    return None if value is None else crudql.values.parse_datetime(value) if isinstance(value, str) else value


def rows(records: list[dict[str, Any]]) -> list[Base]:
    """ORM rows for Contact records in their JSON shape (as `crudql.sample.contacts` makes)."""
    out: list[Base] = []
    for record in records:
        contact = Contact.model_validate(record)
        info = contact.info
        created = contact.creation_time
        row = ContactRow(
            id=contact.id,
            org=contact.organization_id,
            full_name=contact.name,
            email=contact.email_address,
            external_id=contact.company_contact_id,
            created_at=None if created is None else created.astimezone(dt.timezone.utc).replace(tzinfo=None),
            updated_at=contact.last_update_time,
            partner=info.partner if info else None,
            company=info.company_name if info else None,
            company_location=info.company_location if info else None,
            modified_by=info.last_modified_by if info else None,
            phone=info.phone_number if info else None,
            role=info.role if info else None,
            tags=contact.tags,
            # Instants inside JSON are written as crudql compares them: fixed-width UTC text,
            # whose text order is time order (docs/embedding.md).
            enrichment=(
                storage_json(info.enriched_contact_info, "enrichment")
                if info and info.enriched_contact_info
                else None
            ),
        )
        metrics = info.cosell_partner_metrics if info else None
        if metrics is not None:
            dumped = metrics.model_dump(mode="json", by_alias=False)
            row.metrics = MetricsRow(
                **{
                    k: dumped[k]
                    for k in (
                        "account_count", "closed_lost_count", "closed_won_count", "inbound_referral_count",
                        "outbound_referral_count", "success_rate", "source", "pipeline", "closed_won_amount",
                    )
                },
                engagement_time_series=_json(metrics.engagement_time_series),
                locations=_json(metrics.locations),
                managed_domains=metrics.managed_domains,
                opp_owners=_json(metrics.opp_owners),
                accounts=[
                    AccountRow(
                        sf_id=a.id, name=a.name, industry=a.industry, type=a.type, domain=a.domain,
                        source=a.source, created_date=a.created_date,
                        opportunities=[
                            OpportunityRow(
                                sf_id=o.id, name=o.name, amount=o.amount, probability=o.probability,
                                stage_name=o.stage_name, close_date=o.close_date, created_date=o.created_date,
                                currency_iso_code=o.currency_iso_code, owner_email=o.owner_email,
                                owner_name=o.owner_name,
                            )
                            for o in a.opportunities or ()
                        ],
                    )
                    for a in metrics.accounts or ()
                ],
                industries=[IndustryRow(name=name) for name in metrics.industries or ()],
            )
        out.append(row)
    return out


def _json(items: Any) -> Any:
    return None if items is None else [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items]


def seed(engine: sa.Engine, records: list[dict[str, Any]]) -> None:
    """Create the tables (this example's own migration) and insert the records."""
    from sqlalchemy.orm import Session

    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(rows(records))
        session.commit()
