"""Deterministic, realistic sample contacts for demos, tests and benchmarks.

    from crudql import sample
    records = sample.contacts(1000)           # alias-shaped JSON dicts, same for the same (n, seed)
    models = sample.contact_models(1000)      # validated `crudql.models.Contact` instances

The records look like the reference endpoint's: several organizations of different sizes,
every partner (AWS, Azure and GCP most often), co-sell metrics with accounts, opportunities,
six-month engagement series, locations, opportunity owners and currency maps, enrichment
data with work experiences — and the irregular parts real data has: missing objects,
explicit nulls, empty lists, unicode names, names with quotes, `%` and `_`.

Generation is plain Python over pools built once (no pydantic per record), so 100,000
records take a few seconds; only `random.Random(seed)` is used, so a seed gives the same
records on every platform and Python version that keeps `random`'s documented sequence.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from collections.abc import Callable
from functools import cache
from typing import Any

from .models import Contact, EnrichmentStatus, Partner

__all__ = ["ORGANIZATIONS", "PARTNER_WEIGHTS", "contact_models", "contacts"]

# Organizations of different sizes, so `organization_id` filters select 2% to 40%.
ORGANIZATIONS: tuple[tuple[str, float], ...] = (
    ("org_acme", 40),
    ("org_globex", 20),
    ("org_initech", 12),
    ("org_umbrella", 10),
    ("org_hooli", 8),
    ("org_stark", 6),
    ("org_wayne", 2),
    ("org_zoë", 2),
)

# The hyperscalers dominate; every other partner occurs (about 0.4% each), and "" means none.
PARTNER_WEIGHTS: dict[str, float] = {p.value: 0.4 for p in Partner}
PARTNER_WEIGHTS.update({"AWS": 30, "AZURE": 18, "GCP": 16, "": 6, "SALESFORCE": 3, "HUBSPOT": 2, "SNOWFLAKE": 2})

FIRST_NAMES = (
    "Ann",
    "Bob",
    "Carla",
    "Dmitri",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kateryna",
    "Liam",
    "Mei",
    "Noah",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Zoë",
    "José",
    "Łukasz",
    "Chloé",
    "Søren",
    "Ana María",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Nguyen",
    "García",
    "Müller",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "O'Brien",
    "Ångström",
    "Núñez",
    "Dubois",
    "Ivanova",
    "Okafor",
    "Chen",
    "Patel",
    "Jensen",
    "Silva",
    "Van der Berg",
    "Kim",
)
# Real data has these too: a filter with `%`, `_`, `\` or quotes must find them literally.
ODD_NAMES = ("50% Partner", "Anna_Lee", 'Robert "Bobby" Tables', "back\\slash", "ÅNGSTRÖM", "", "  padded  ")
COMPANIES = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Massive Dynamic",
    "Aperture Science",
    "Black Mesa",
    "Vandelay Industries",
    "Pied Piper",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Nakatomi",
    "Zoë & Co",
    "100% Organic",
    "under_score Ltd",
)
INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Media & Entertainment",
    "Education",
    "Telecommunications",
    "Energy",
    "Government",
    "Travel & Hospitality",
    "Automotive",
)
ACCOUNT_TYPES = ("Customer", "Prospect", "Target", "Partner")
STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "CAD", "JPY")
LOCATIONS = (
    ("Seattle, WA, US", "US West"),
    ("San Francisco, CA, US", "US West"),
    ("Austin, TX, US", "US Central"),
    ("New York, NY, US", "US East"),
    ("Toronto, ON, CA", "Canada"),
    ("London, UK", "EMEA"),
    ("Berlin, DE", "EMEA"),
    ("Paris, FR", "EMEA"),
    ("Stockholm, SE", "EMEA"),
    ("Singapore, SG", "APAC"),
    ("Tokyo, JP", "APAC"),
    ("Sydney, AU", "APAC"),
    ("São Paulo, BR", "LATAM"),
)
ROLES = (
    "Partner Development Manager",
    "Account Executive",
    "Solutions Architect",
    "Partner Manager",
    "Sales Director",
    "Alliance Lead",
    "ISV Success Manager",
)
TAGS = (
    "partner",
    "vip",
    "referral",
    "marketplace",
    "churned",
    "prospect",
    "inactive",
    "aws",
    "gcp",
    "azure",
    "champion",
)
SENIORITIES = ("ic", "manager", "director", "vp", "c_suite")
JOB_FUNCTIONS = ("Sales", "Engineering", "Marketing", "Partnerships", "Operations", "Finance")
_COUNTRIES = (
    ("US", ("Seattle", "New York", "Austin", "San Francisco")),
    ("DE", ("Berlin", "München")),
    ("FR", ("Paris", "Lyon")),
    ("GB", ("London",)),
    ("JP", ("Tokyo",)),
    ("BR", ("São Paulo",)),
    ("SE", ("Stockholm",)),
    ("CA", ("Toronto",)),
)
STATUSES = tuple(s.value for s in EnrichmentStatus)

# Every record's times fall in [EPOCH, EPOCH + SPAN); engagement series end at the last month.
EPOCH = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)
SPAN_SECONDS = int((dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc) - EPOCH).total_seconds())
PERIODS = ("2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03")

_ASCII = str.maketrans(
    {
        "ë": "e",
        "é": "e",
        "ø": "o",
        "Ø": "O",
        "å": "a",
        "Å": "A",
        "ü": "u",
        "í": "i",
        "ñ": "n",
        "ú": "u",
        "Ł": "L",
        "ł": "l",
        "á": "a",
        "ö": "o",
        "ó": "o",
        "ç": "c",
        "ã": "a",
        "'": "",
        " ": "",
        '"': "",
        "\\": "",
        "%": "",
        "&": "",
    }
)


@cache
def _slug(text: str) -> str:
    # Names come from small pools, so the cache holds a few hundred entries.
    return text.translate(_ASCII).lower()


_DAY = 86_400
# Formatting through `datetime` costs ~5 µs a value; a table of the days and divmod do not.
_DAYS = tuple(f"{EPOCH + dt.timedelta(days=d):%Y-%m-%d}" for d in range(-4_000, SPAN_SECONDS // _DAY + 400))
_DAY0 = 4_000  # index of EPOCH's day in _DAYS


def _date(days: int) -> str:
    """EPOCH + days as YYYY-MM-DD."""
    return _DAYS[_DAY0 + days]


def _instant(seconds: int, millis: int) -> str:
    # The reference's format: RFC 3339 UTC with milliseconds ("2026-04-08T06:06:53.671Z").
    days, rest = divmod(seconds, _DAY)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{_DAYS[_DAY0 + days]}T{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}Z"


# Most partner contacts have a few accounts; a few have many.
_ACCOUNT_COUNTS = (0, 0, 1, 1, 1, 2, 2, 3, 4, 6)
_OPPORTUNITY_COUNTS = (0, 0, 1, 1, 2, 3)
_OPPORTUNITY_KINDS = ("Migration", "Expansion", "Renewal", "New Logo", "POC")
_ACCOUNT_SUFFIXES = ("", "", "", " EMEA", " US", " Labs", " Cloud", " GmbH")
_EDITORS = ("sync", "cron", "ann.smith@acme.com", "api")


class _Generator:
    """The records of one seed.

    Speed matters (100,000 records in a few seconds), so the hot paths draw with
    `int(random() * n)` instead of `randrange`/`choice` (argument checks cost more than the
    draw), and the parts real data shares between contacts are pools made once per seed:
    Salesforce accounts with their opportunities (several partner contacts refer the same
    account), opportunity owners, and careers (work-experience lists). Records get copies of
    pool entries, never the entries themselves, so callers may mutate what they get.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.random = self.rng.random
        self.orgs, org_weights = zip(*ORGANIZATIONS)
        self.org_cum = _cumulative(org_weights)
        self.partners = tuple(PARTNER_WEIGHTS)
        self.partner_cum = _cumulative(PARTNER_WEIGHTS.values())
        self.owners = tuple(
            (f"{first} {last}", f"{_slug(first)}.{_slug(last)}@{_slug(c)}.com")
            for first, last, c in (
                (self.pick(FIRST_NAMES), self.pick(LAST_NAMES), self.pick(COMPANIES)) for _ in range(40)
            )
        )
        self.accounts = tuple(self._account(i) for i in range(600))
        self.careers = tuple(self._career() for _ in range(300))

    def pick(self, pool: tuple[Any, ...]) -> Any:
        return pool[int(self.random() * len(pool))]

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def weighted(self, pool: tuple[Any, ...], cumulative: tuple[float, ...]) -> Any:
        return pool[bisect(cumulative, self.random() * cumulative[-1])]

    def some(self, pool: tuple[Any, ...], most: int) -> list[Any]:
        """Up to `most` distinct elements of pool, in pool order."""
        r, n = self.random, len(pool)
        picked = {int(r() * n) for _ in range(int(r() * (most + 1)))}
        return [pool[i] for i in sorted(picked)]

    def money(self, low: int, high: int) -> float:
        # Whole cents divided by 100 print with two decimals at most, and cost less than round().
        return (100 * low + int(self.random() * 100 * (high - low))) / 100

    # -- pools (made once per seed)

    def _opportunity(self, account_name: str) -> dict[str, Any]:
        owner_name, owner_email = self.pick(self.owners)
        stage = self.pick(STAGES)
        close = self.below(1550)
        probability = 100.0 if stage == "Closed Won" else 0.0 if stage == "Closed Lost" else 10.0 + 5 * self.below(17)
        opp: dict[str, Any] = {
            "amount": self.money(5_000, 750_000) if self.random() > 0.05 else None,  # null: not estimated yet
            "closeDate": _date(close),
            "createdDate": f"{_date(close - 30 - self.below(170))}T00:00:00.000+0000",
            "currencyIsoCode": self.pick(CURRENCIES),
            "id": f"006{self.below(10**12):012d}",
            "name": f"{account_name} - {self.pick(_OPPORTUNITY_KINDS)}",
            "ownerEmail": owner_email,
            "ownerName": owner_name,
            "probability": probability,
            "stageName": stage,
        }
        if self.random() < 0.05:
            del opp["ownerEmail"]
        return opp

    def _account(self, i: int) -> dict[str, Any]:
        company = self.pick(COMPANIES)
        name = company + self.pick(_ACCOUNT_SUFFIXES)
        account: dict[str, Any] = {
            "createdDate": _date(self.below(1550)),
            "domain": f"{_slug(company)}.com",
            "id": f"001{i:012d}AAA",
            "industry": self.pick(INDUSTRIES) if self.random() > 0.05 else None,
            "name": name,
            "source": "Referral" if self.random() < 0.7 else "Predicted",
            "type": self.pick(ACCOUNT_TYPES),
        }
        k = self.pick(_OPPORTUNITY_COUNTS)
        if k or self.random() < 0.5:  # no opportunities: sometimes [], sometimes absent
            account["opportunities"] = [self._opportunity(name) for _ in range(k)]
        return account

    def _career(self) -> list[dict[str, Any]]:
        """0-3 work experiences, newest (current) first, ending before the sample's last day."""
        out = []
        end = SPAN_SECONDS - self.below(10**7)
        for j in range(self.below(4)):
            start = end - 10**7 - self.below(10**8)
            out.append(
                {
                    "current": j == 0,
                    "endDate": None if j == 0 else _instant(end, 0),
                    "organizationName": self.pick(COMPANIES),
                    "startDate": _instant(start, 0),
                    "title": self.pick(ROLES),
                }
            )
            end = start - self.below(10**7)
        return out

    # -- records

    def metrics(self) -> dict[str, Any]:
        r, below = self.random, self.below
        accounts = [_copy_account(self.pick(self.accounts)) for _ in range(self.pick(_ACCOUNT_COUNTS))]
        won, lost = below(12), below(8)
        currencies = ("USD",) if r() < 0.7 else self.pick((("EUR",), ("USD", "EUR"), ("GBP",), ("USD", "CAD")))
        owners = {
            o["ownerEmail"]: o["ownerName"] for a in accounts for o in a.get("opportunities") or () if "ownerEmail" in o
        }
        metrics: dict[str, Any] = {
            "accountCount": len(accounts),
            "accounts": accounts,
            "closedLostCount": lost,
            "closedWonAmount": {c: self.money(10_000, 2_000_000) for c in currencies} if won else {},
            "closedWonCount": won,
            "engagementTimeSeries": [
                {"cosellDeals": below(6), "opportunityActivity": below(15), "period": p} for p in PERIODS
            ]
            if r() > 0.05
            else [],  # not computed yet
            "inboundReferralCount": below(40),
            "industries": sorted({a["industry"] for a in accounts if a["industry"]}),
            "locations": [{"location": loc, "region": region} for loc, region in self.some(LOCATIONS, 3)],
            "managedDomains": sorted({a["domain"] for a in accounts}),
            "oppOwners": [{"email": e, "name": n} for e, n in sorted(owners.items(), key=lambda kv: kv[1])],
            "outboundReferralCount": below(25),
            "source": "Referral" if r() < 0.8 else "Predicted",
            # The reference: nil when nothing closed.
            "successRate": round(won / (won + lost) * 100, 2) if won + lost else None,
        }
        roll = r()
        if roll < 0.8:
            metrics["pipeline"] = {c: self.money(1_000, 900_000) for c in currencies}
        elif roll < 0.9:
            metrics["pipeline"] = {}
        return metrics

    def enriched(self, first: str, last: str, email: str | None, company: str, created: int) -> dict[str, Any]:
        r, below = self.random, self.below
        country, cities = self.pick(_COUNTRIES)
        handle = f"{_slug(first)}{_slug(last)}"
        out: dict[str, Any] = {
            "city": self.pick(cities),
            "companyDomain": f"{_slug(company)}.com",
            "companyName": company,
            "country": country,
            "creationTime": _instant(created + below(_DAY), below(1000)),
            "email": email,
            "firstName": first,
            "id": f"enr_{self.rng.getrandbits(64):016x}",
            "info": {
                "apolloId": f"{self.rng.getrandbits(96):024x}",
                "isPrimary": r() < 0.2,
                "seniority": self.pick(SENIORITIES),
                "workExperiences": [dict(w) for w in self.pick(self.careers)],
            }
            if r() < 0.9
            else None,
            "jobFunction": self.pick(JOB_FUNCTIONS),
            "jobTitle": self.pick(ROLES),
            "lastName": last,
            "lastUpdateTime": _instant(min(created + below(10**7), SPAN_SECONDS), below(1000)),
            "linkedIn": f"https://www.linkedin.com/in/{handle}",
            "name": f"{first} {last}",
            "phone": f"+1-555-{below(10_000):04d}" if r() < 0.6 else None,
            "s3KeyPicture": f"pictures/{handle}.jpg" if r() < 0.3 else None,
            "status": self.pick(STATUSES),
        }
        roll = r()
        if roll < 0.2:
            out["twitter"] = f"@{handle}"
        elif roll < 0.8:
            out["twitter"] = None
        return out

    def contact(self, i: int) -> dict[str, Any]:
        r, below = self.random, self.below
        first, last = self.pick(FIRST_NAMES), self.pick(LAST_NAMES)
        name = f"{first} {last}" if r() > 0.01 else self.pick(ODD_NAMES)
        partner = self.weighted(self.partners, self.partner_cum)
        company = self.pick(COMPANIES)
        email = f"{_slug(first)}.{_slug(last)}@{_slug(company)}.com" if r() > 0.08 else None
        created = below(SPAN_SECONDS)
        tags = self.some(TAGS, 3)
        if partner and "partner" not in tags and r() < 0.6:
            tags.append("partner")
        record: dict[str, Any] = {
            # Random prefix, unique suffix: ids are unique, and their order is not insertion order.
            "id": f"ct_{self.rng.getrandbits(40):010x}{i:06x}",
            "organizationID": self.weighted(self.orgs, self.org_cum),
            "name": name,
            "emailAddress": email,
            "creationTime": _instant(created, below(1000)),
            "lastUpdateTime": _instant(min(created + below(10**7), SPAN_SECONDS), below(1000)),
            "tags": tags,
        }
        roll = r()
        if roll < 0.3:
            record["companyContactId"] = f"003{below(10**12):012d}"
        elif roll < 0.35:
            record["companyContactId"] = None
        roll = r()
        if roll < 0.04:
            del record["tags"]  # a bare contact: no info, no tags
            return record
        if roll < 0.06:
            record["info"] = None
            return record
        if roll < 0.1:
            record["tags"] = None
        info: dict[str, Any] = {
            "companyLocation": self.pick(LOCATIONS)[0],
            "companyName": company,
            "lastModifiedBy": self.pick(_EDITORS),
            "partner": partner if r() > 0.03 else None,
            "role": self.pick(ROLES),
        }
        if r() < 0.9:
            info["phoneNumber"] = f"+1-555-{below(10_000):04d}"
        # The reference: metrics exist only for partner contacts.
        if tags and "partner" in tags and r() < 0.9:
            info["cosellPartnerMetrics"] = self.metrics()
        if r() < 0.7:
            info["enrichedContactInfo"] = self.enriched(first, last, email, company, created)
        record["info"] = info
        return record


def _copy_account(account: dict[str, Any]) -> dict[str, Any]:
    copy = dict(account)
    opportunities = account.get("opportunities")
    if opportunities:
        copy["opportunities"] = [dict(o) for o in opportunities]
    elif opportunities is not None:
        copy["opportunities"] = []
    return copy


def _cumulative(weights: Any) -> tuple[float, ...]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return tuple(out)


def contacts(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """`n` alias-shaped Contact dicts, the same for the same `(n, seed)`; ids are unique.

    The first `k` records of `contacts(n, seed)` are `contacts(k, seed)`, so a bigger sample
    extends a smaller one.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    gen = _Generator(seed)
    make: Callable[[int], dict[str, Any]] = gen.contact
    return [make(i) for i in range(n)]


def contact_models(n: int, seed: int = 0) -> list[Contact]:
    """`contacts(n, seed)` validated into `Contact` instances."""
    validate = Contact.model_validate
    return [validate(record) for record in contacts(n, seed)]
