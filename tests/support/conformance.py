"""The hand-computed conformance table shared by the backend tests: a small adversarial
fixture of contacts and, for filters covering every operator, the ids each one matches.

The Python backend checks it against its compiled predicates and a naive oracle; the SQL and
MongoDB backends check it (and each case negated) on every engine.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ALL", "CASES", "FIXTURE"]

# Each record isolates one case: missing vs null vs empty, LIKE metacharacters, unicode, equal
# instants written with different offsets, equal sort keys.
FIXTURE: list[dict[str, Any]] = [
    {
        "id": "c01",
        "name": "Zoë Ångström",
        "organizationID": "org-1",
        "creationTime": "2024-01-31T12:00:00Z",
        "tags": ["partner", "vip"],
        "info": {
            "partner": "AWS",
            "companyName": "Acme Corp",
            "cosellPartnerMetrics": {
                "accountCount": 10,
                "successRate": 50.0,
                "pipeline": {"USD": 1000.0},
                "accounts": [
                    {"industry": "Software", "type": "Customer"},
                    {"industry": "Retail", "type": "Prospect"},
                ],
            },
        },
    },
    {
        "id": "C05",
        "name": "50% off",
        "organizationID": "org-1",
        "creationTime": "2024-01-31T14:00:00+02:00",  # the same instant as c01
        "tags": [],
        "info": {
            "partner": "GCP",
            "companyName": "a_b",
            "cosellPartnerMetrics": {
                "accountCount": 3,
                "accounts": [{"industry": "Software", "type": "Customer"}],
            },
        },
    },
    {
        "id": "c10",
        "name": "back\\slash",
        "organizationID": "org-2",
        "creationTime": "2023-12-31T23:59:59.999999Z",
        "tags": None,
        "info": {"partner": "", "companyName": "axb", "cosellPartnerMetrics": {"accounts": []}},
    },
    {
        "id": "c9",
        "name": None,
        "organizationID": "org-2",
        "info": None,
    },
    {
        "id": "a b",
        "name": "multi\nline",
        "tags": ["churned"],
        "info": {"companyName": "ACME", "cosellPartnerMetrics": {"accountCount": 0, "successRate": 12.5}},
    },
]
ALL = {r["id"] for r in FIXTURE}

# (filter, ids that match): computed by hand from the spec.
CASES: list[tuple[str, set[str]]] = [
    ('(= info.partner "AWS")', {"c01"}),
    ('(!= info.partner "AWS")', ALL - {"c01"}),  # missing and null partners match !=
    ('(= info.partner "")', {"c10"}),
    ("(= info.partner null)", {"c9", "a b"}),
    ("(!= info.partner null)", {"c01", "C05", "c10"}),
    ("(is-null name)", {"c9"}),
    ("(exists tags)", {"c01", "C05", "a b"}),  # [] exists, null does not
    ("(is-null tags)", {"c10", "c9"}),
    ("(exists info.cosellPartnerMetrics.accounts)", {"c01", "C05", "c10"}),
    ("(< info.cosellPartnerMetrics.accountCount 10)", {"C05", "a b"}),
    ("(<= info.cosellPartnerMetrics.accountCount 10)", {"c01", "C05", "a b"}),
    ("(> info.cosellPartnerMetrics.accountCount 0)", {"c01", "C05"}),
    ("(>= info.cosellPartnerMetrics.accountCount 0)", {"c01", "C05", "a b"}),
    ("(not (< info.cosellPartnerMetrics.accountCount 10))", {"c01", "c10", "c9"}),
    ("(between info.cosellPartnerMetrics.accountCount 3 10)", {"c01", "C05"}),
    ("(between info.cosellPartnerMetrics.accountCount 10 3)", set()),
    ("(> info.cosellPartnerMetrics.successRate 12)", {"c01", "a b"}),
    ("(= info.cosellPartnerMetrics.successRate 50)", {"c01"}),
    ('(in info.partner ("AWS" "GCP"))', {"c01", "C05"}),
    ('(in info.partner ("AWS" null))', {"c01", "c9", "a b"}),
    ('(nin info.partner ("AWS" "GCP"))', {"c10", "c9", "a b"}),
    ('(nin info.partner ("AWS" null))', {"C05", "c10"}),
    ("(in info.partner ())", set()),
    ("(nin info.partner ())", ALL),
    ('(like name "50\\\\% off")', {"C05"}),
    ('(like name "50_ off")', {"C05"}),
    ('(like name "%\\\\\\\\%")', {"c10"}),  # a literal backslash
    ('(like name "multi%")', {"a b"}),  # % crosses the newline
    ('(like name "multi_line")', {"a b"}),  # _ matches the newline
    ('(like name "Zo_ %")', {"c01"}),  # _ is one character, not one byte
    ('(ilike name "%ÅNGSTRÖM")', {"c01"}),
    # ilike's escapes (SQLite: LIKE with an ESCAPE clause only when the pattern escapes something)
    ('(ilike name "50\\\\% OFF")', {"C05"}),
    ('(ilike name "50_ OFF")', {"C05"}),
    ('(ilike name "%\\\\\\\\%")', {"c10"}),  # a literal backslash
    ('(ilike info.companyName "A\\\\_B")', {"C05"}),
    ('(ilike info.companyName "A_B")', {"C05", "c10"}),
    ('(like name "%ÅNGSTRÖM")', set()),
    ('(ilike info.companyName "acme%")', {"c01", "a b"}),
    ('(like info.companyName "a_b")', {"C05", "c10"}),
    ('(like info.companyName "a\\\\_b")', {"C05"}),
    ('(not (like name "%"))', {"c9"}),
    ('(contains info.companyName "")', {"c01", "C05", "c10", "a b"}),
    ('(contains info.companyName "cme")', {"c01"}),
    ('(icontains info.companyName "CME")', {"c01", "a b"}),
    ('(contains tags "vip")', {"c01"}),
    ('(icontains tags "VIP")', {"c01"}),
    ('(starts-with info.companyName "a_")', {"C05"}),
    ('(ends-with name "off")', {"C05"}),
    ('(has tags "partner")', {"c01"}),
    ('(not (has tags "churned"))', ALL - {"a b"}),
    ('(has-any tags ("vip" "churned"))', {"c01", "a b"}),
    ("(has-any tags ())", set()),
    ('(has-all tags ("partner" "vip"))', {"c01"}),
    ("(has-all tags ())", ALL),
    ('(any info.cosellPartnerMetrics.accounts (= industry "Software"))', {"c01", "C05"}),
    ('(all info.cosellPartnerMetrics.accounts (= industry "Software"))', {"C05", "c10", "c9", "a b"}),
    (
        '(any info.cosellPartnerMetrics.accounts (and (= industry "Retail") (= type "Customer")))',
        set(),
    ),
    (
        '(and (= info.cosellPartnerMetrics.accounts.*.industry "Retail") '
        '(= info.cosellPartnerMetrics.accounts.*.type "Customer"))',
        {"c01"},  # two * conditions may be met by different elements
    ),
    ('(!= info.cosellPartnerMetrics.accounts.*.industry "Software")', {"c10", "c9", "a b"}),
    ('(= creation_time "2024-01-31T12:00:00Z")', {"c01", "C05"}),
    ('(< creation_time "2024-01-31")', {"c10"}),
    ('(>= creationTime "2024-01-31T13:00:00+01:00")', {"c01", "C05"}),
    ('(between creation_time "2024-01-01" "2024-12-31")', {"c01", "C05"}),
    ("(> info.cosellPartnerMetrics.pipeline.USD 10)", {"c01"}),
    ("(is-null info.cosellPartnerMetrics.pipeline.EUR)", ALL),
    ('(or (= id "c9") (= id "a b"))', {"c9", "a b"}),
    ('(< id "c")', {"C05", "a b"}),  # code-point order: "C05" < "a b" < "c01"
]
