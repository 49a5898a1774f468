"""The SQL backend answers like the Python backend, on SQLite and on a real PostgreSQL (the
`engine` fixture of conftest.py runs each test on both):

- hand-computed conformance cases (the Python backend's table, plus SQL-specific traps), each
  also negated: `(not F)` must select exactly the complement of `F`, the proof that SQL's
  three-valued logic does not leak;
- sort orders, untyped (JSON) fields, the spec's own examples, wide and deep filters;
- case folding: PostgreSQL's lower(), MariaDB's fold and the fold table are `re.IGNORECASE`'s.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

import crudql
from crudql.backends.sql import FOLD_FROM, SQLSource, fold
from crudql.operators import OPERATORS
from crudql.request import effective_sort
from support.conformance import ALL, CASES, FIXTURE
from support.sql import ids, python_ids
from support.strategies import SCHEMA

# ---------------------------------------------------------------------------- conformance


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0] for c in CASES])
def test_conformance_cases_and_their_negations(fixture_source: SQLSource, text: str, expected: set[str]) -> None:
    assert set(ids(fixture_source, text)) == expected
    # Two-valued logic: the negation selects exactly the other records, nulls included.
    assert set(ids(fixture_source, f"(not {text})")) == ALL - expected


# Records isolating traps specific to SQL engines.
TRAPS: list[dict[str, Any]] = [
    {"id": "t1", "name": "a*b", "tags": ["x*"], "creationTime": "2024-01-01T00:00:53Z",
     "info": {"companyName": "Straße", "cosellPartnerMetrics": {"accountCount": 2**53 + 1, "successRate": 9007199254740992.0,
                                                               "pipeline": {"USD": 1.5, "a'b\"c$[0]\\": 2.0}}}},
    {"id": "t2", "name": "axb", "tags": ["xy"], "creationTime": "2024-01-01T00:00:53.5Z",
     "info": {"companyName": "STRASSE", "cosellPartnerMetrics": {"accountCount": 2**53, "successRate": 1.0}}},
    {"id": "t3", "name": "a[x]b", "tags": [], "creationTime": "2024-01-01T01:00:52+01:00",
     "info": {"companyName": "ſtraße", "cosellPartnerMetrics": {"accounts": None, "pipeline": {}}}},
    {"id": "t4", "name": "a?b\U0001F600", "creationTime": "2023-12-31T23:59:59.999999+00:30",
     "info": {"companyName": "ΟΔΟΣ", "cosellPartnerMetrics": {"accounts": [], "industries": None}}},
    {"id": "t5", "name": "ὀδός", "info": {"companyName": "οδος", "cosellPartnerMetrics": None}},
    {"id": "t6", "name": "x\ny", "tags": None, "info": {"companyName": "K"}},  # Kelvin sign
    {"id": "t7"},
]
TRAP_IDS = {r["id"] for r in TRAPS}

TRAP_CASES: list[tuple[str, set[str]]] = [
    # GLOB metacharacters in data and patterns are literal; _ is one character (even an emoji).
    ('(like name "a*b")', {"t1"}),
    ('(like name "a[x]b")', {"t3"}),
    ('(like name "a?b_")', {"t4"}),
    ('(like name "a_b")', {"t1", "t2"}),
    ('(starts-with name "a[")', {"t3"}),
    ('(ends-with name "*b")', {"t1"}),
    ('(contains name "?")', {"t4"}),
    ('(like name "x%y")', {"t6"}),  # % crosses a newline
    ('(like name "A*B")', set()),  # case-sensitive on SQLite too
    # Case folding is re.IGNORECASE's: per character, every Unicode letter, re's extra classes.
    ('(ilike info.companyName "straße")', {"t1", "t3"}),  # ſ ~ s; ß has no one-letter upper case
    ('(ilike info.companyName "ο_ος")', {"t4", "t5"}),  # final sigma ς ~ σ ~ Σ
    ('(icontains info.companyName "k")', {"t6"}),  # the Kelvin sign folds to k
    ('(icontains tags "X*")', {"t1"}),
    # Numbers: exact beyond 2**53, doubles against integers a double cannot hold.
    ("(= info.cosellPartnerMetrics.accountCount 9007199254740993)", {"t1"}),
    ("(> info.cosellPartnerMetrics.accountCount 9007199254740992)", {"t1"}),
    ("(< info.cosellPartnerMetrics.successRate 9007199254740993)", {"t1", "t2"}),
    ("(> info.cosellPartnerMetrics.successRate 9007199254740991)", {"t1"}),
    ("(= info.cosellPartnerMetrics.successRate 9007199254740993)", set()),
    ("(in info.cosellPartnerMetrics.successRate (9007199254740993 1))", {"t2"}),
    # Instants: fractions and offsets count (text of varying width would sort 53.5Z before 53Z).
    ('(> creation_time "2024-01-01T00:00:53Z")', {"t2"}),
    ('(= creation_time "2024-01-01T00:00:52Z")', {"t3"}),
    ('(< creation_time "2024-01-01")', {"t4"}),
    # Map keys are data: any text, looked up exactly, never part of a path string.
    ('(= "info.cosellPartnerMetrics.pipeline.a\'b\\"c$[0]\\\\" 2)', {"t1"}),
    ("(exists info.cosellPartnerMetrics.pipeline.USD)", {"t1"}),
    ("(is-null info.cosellPartnerMetrics.pipeline.USD)", TRAP_IDS - {"t1"}),
    # Arrays: null, missing and [] all make `all` true and `any` false; a null array has no elements.
    ('(all info.cosellPartnerMetrics.accounts (= industry "x"))', TRAP_IDS),
    ('(any info.cosellPartnerMetrics.accounts (!= industry "x"))', set()),
    ('(has-all info.cosellPartnerMetrics.industries ())', TRAP_IDS),
    ('(has info.cosellPartnerMetrics.industries "x")', set()),  # a JSON null array: no elements
    ('(has-any info.cosellPartnerMetrics.industries ("x" "y"))', set()),
    ('(has-all info.cosellPartnerMetrics.industries ("x" "y"))', set()),
    ('(icontains info.cosellPartnerMetrics.industries "x")', set()),
    ('(not (has tags "xy"))', TRAP_IDS - {"t2"}),
    ("(exists tags)", {"t1", "t2", "t3"}),
]


@pytest.fixture
def trap_source(make_source: Any) -> SQLSource:
    return make_source(TRAPS)  # type: ignore[no-any-return]


@pytest.mark.parametrize("text, expected", TRAP_CASES, ids=[c[0] for c in TRAP_CASES])
def test_sql_traps_agree_with_hand_computed_and_python(trap_source: SQLSource, text: str, expected: set[str]) -> None:
    assert set(python_ids(TRAPS, text)) == expected  # the reference agrees with the hand computation
    assert set(ids(trap_source, text)) == expected
    assert set(ids(trap_source, f"(not {text})")) == TRAP_IDS - expected


@pytest.mark.parametrize(
    "sort",
    [None, "name", "-name", "creation_time", "-creation_time,name", "info.companyName:desc",
     "-info.cosellPartnerMetrics.accountCount", "info.cosellPartnerMetrics.pipeline.USD",
     "-info.cosellPartnerMetrics.successRate,-id"],
)
def test_sort_orders_match_python(trap_source: SQLSource, sort: str | None) -> None:
    # Nulls lowest both ways, code-point string order, instants by time, id tiebreak.
    assert ids(trap_source, None, sort) == python_ids(TRAPS, None, sort)


def test_sort_nulls_lowest_and_code_point_order(fixture_source: SQLSource) -> None:
    assert ids(fixture_source, None) == ["C05", "a b", "c01", "c10", "c9"]
    # "50% off" < "Zoë Ångström" < "back\\slash" < "multi\nline" by code point; null first.
    assert ids(fixture_source, None, "name") == ["c9", "C05", "c01", "c10", "a b"]
    assert ids(fixture_source, None, "-name") == ["a b", "c10", "c01", "C05", "c9"]
    # Equal instants (c01, C05) tie and fall back to id; missing ones come first.
    assert ids(fixture_source, None, "creation_time") == ["a b", "c9", "c10", "C05", "c01"]


def test_sort_by_every_sortable_kind_matches_python(make_source: Any) -> None:
    records = [
        {"id": "1", "info": {"partner": "GCP", "enrichedContactInfo": {"status": "stale", "info": {"isPrimary": True}}}},
        {"id": "2", "info": {"partner": "", "enrichedContactInfo": {"status": "active", "info": {"isPrimary": False}}}},
        {"id": "3", "info": {"partner": "AWS", "enrichedContactInfo": {"creationTime": "2024-01-01T00:00:00+05:00"}}},
        {"id": "4", "info": {"enrichedContactInfo": {"creationTime": "2023-12-31T20:00:00Z", "status": None}}},
    ]
    source = make_source(records)
    for sort in ("info.partner", "-info.partner", "info.enrichedContactInfo.status",
                 "-info.enrichedContactInfo.info.isPrimary", "info.enrichedContactInfo.creationTime"):
        assert ids(source, None, sort) == python_ids(records, None, sort), sort


# ---------------------------------------------------------------------------- untyped fields


class Loose(BaseModel):
    id: str
    v: Any = None
    meta: dict[str, Any] | None = None
    items: list[Any] | None = None


LOOSE = [
    {"id": "i1", "v": 1, "meta": {"k": 1}, "items": [1, "a"]},
    {"id": "i2", "v": 1.0, "meta": {"k": "1"}, "items": [True]},
    {"id": "i3", "v": "1", "meta": {"k": True}, "items": ["1"]},
    {"id": "i4", "v": True, "meta": {"k": None}, "items": []},
    {"id": "i5", "v": None, "meta": {"k": {"deep": 2}}},
    {"id": "i6", "v": [1], "meta": {}},
]


@pytest.mark.parametrize(
    "text",
    ["(= v 1)", '(= v "1")', "(= v true)", "(> v 0)", '(< v "2")', "(< v true)", "(in v (1 \"1\"))",
     "(= meta.k 1)", '(= meta.k "1")', "(= meta.k true)", "(exists meta.k)", "(= meta.k.deep 2)",
     '(like v "1%")', '(ilike meta.k "1")', "(has items 1)", '(has items "1")', "(has items true)",
     '(has-any items (1 "a"))', '(has-all items (1 "a"))', '(contains items "a")', "(exists v)"],
)
def test_json_numbers_strings_and_booleans_stay_apart(make_source: Any, text: str) -> None:
    source = make_source(LOOSE, Loose)
    expected = python_ids(LOOSE, text, model=Loose)
    assert ids(source, text) == expected
    assert set(ids(source, f"(not {text})")) == {r["id"] for r in LOOSE} - set(expected)


# ---------------------------------------------------------------------------- the spec's examples

SPEC_LISP = [
    (
        '(and (= organization_id "org-1") (in info.partner ("AWS" "GCP")) (>= info.cosellPartnerMetrics.accountCount 10)'
        ' (ilike name "%an%") (not (has tags "churned")))'
    ),
    '(any info.cosellPartnerMetrics.accounts (and (= industry "Software") (= type "Customer")))',
    '(= info.cosellPartnerMetrics.accounts.*.industry "Software")',
    '(= "info.companyName" "Acme")',
    "(!= info.partner \"AWS\")",
    # The operator table's examples that name Contact fields.
    *[op.example for op in OPERATORS if not op.example.startswith(("(and (= a", "(or (= a"))],
]
SPEC_JSON = [
    '["and", ["=", "name", "x"], ["in", "info.partner", ["AWS", "GCP"]]]',
    '{"and": [{"=": ["name", "x"]}, {"not": {"has": ["tags", "churned"]}}]}',
    '{"exists": "tags"}',
]
SPEC_SORTS = ["-creation_time,name", "creation_time:desc,name:asc", "id"]


@pytest.fixture
def sample_records() -> list[dict[str, Any]]:
    records = [dict(r) for r in FIXTURE]
    records += [
        {"id": "s1", "name": "Joanne", "organizationID": "org-1", "tags": ["partner"], "emailAddress": "jo@example.com",
         "creationTime": "2024-06-01T00:00:00Z",
         "info": {"partner": "AWS", "companyName": "Acme", "cosellPartnerMetrics": {"accountCount": 12, "successRate": 60.0,
                  "accounts": [{"industry": "Software", "type": "Customer"}]}}},
        {"id": "s2", "name": "Dan", "organizationID": "org-1", "tags": ["churned"], "info": {"partner": "GCP"}},
    ]
    return records


@pytest.mark.parametrize("text", SPEC_LISP)
def test_spec_lisp_examples(make_source: Any, sample_records: list[dict[str, Any]], text: str) -> None:
    source = make_source(sample_records)
    for sort in SPEC_SORTS:
        assert ids(source, text, sort) == python_ids(sample_records, text, sort)


@pytest.mark.parametrize("text", SPEC_JSON)
def test_spec_json_examples(make_source: Any, sample_records: list[dict[str, Any]], text: str) -> None:
    source = make_source(sample_records)
    assert ids(source, text, style="json") == python_ids(sample_records, text, style="json")


def test_spec_example_finds_the_intended_contact(make_source: Any, sample_records: list[dict[str, Any]]) -> None:
    assert ids(make_source(sample_records), SPEC_LISP[0]) == ["s1"]


# ---------------------------------------------------------------------------- limits and shapes


def test_wide_filters_stay_within_engine_limits(fixture_source: SQLSource) -> None:
    # SQLite nests a flat OR chain one level per operand and fails past 1,000 levels; the
    # backend must not depend on the parser's length limit to stay below that.
    many = " ".join(f'(= name "n{i}")' for i in range(2500))
    wide = crudql.Limits(max_length=200_000, max_predicates=3000)
    order = effective_sort([], SCHEMA)
    for text, expected in ((f'(or {many} (= id "c9"))', ["c9"]), (f"(not (or {many}))", sorted(ALL, key=str))):
        where = crudql.parse_filter(text, schema=SCHEMA, limits=wide)
        assert [c.id for c in fixture_source.page(where, order, 0, 100)[0]] == expected
    values = " ".join(f'"v{i}"' for i in range(999))
    assert ids(fixture_source, f"(has-all tags ({values}))") == []
    assert ids(fixture_source, f'(has-any tags ({values} "vip"))') == ["c01"]
    assert ids(fixture_source, f'(in id ({values} "c9"))') == ["c9"]


def test_deep_filters(fixture_source: SQLSource) -> None:
    text = '(= id "c9")'
    for i in range(30):
        text = f"(not {text})" if i % 2 else f"(and {text} (exists id))"
    assert ids(fixture_source, text) == python_ids(FIXTURE, text)


# ---------------------------------------------------------------------------- case folding on PostgreSQL


def test_postgresql_lower_is_pythons_simple_lowercase(postgres_engine: sa.Engine) -> None:
    """ilike on PostgreSQL relies on lower() under C.utf8 being re's simple lowercase mapping,
    for every character this Python's Unicode database knows (an older Python, 3.10 with
    Unicode 13, cannot fold letters added since: docs/sql.md)."""
    import _sre
    import unicodedata

    codes = [c for c in range(1, 0x30000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
    with postgres_engine.connect() as conn:
        got = conn.execute(
            sa.text('SELECT array_agg(lower(c COLLATE "C.utf8") ORDER BY o) FROM unnest(CAST(:cs AS text[])) WITH ORDINALITY AS u(c, o)'),
            {"cs": [chr(c) for c in codes]},
        ).scalar_one()
    different = [hex(c) for c, low in zip(codes, got) if low != chr(_sre.unicode_tolower(c))]
    assert different == []


def test_mariadb_fold_is_pythons_fold(mysql_engine: sa.Engine) -> None:
    """ilike on MariaDB relies on LOWER() under utf8mb4_uca1400_ai_ci being re's simple lowercase
    mapping, and on the dialect's whole fold (that LOWER, then REPLACE for re's extra case
    classes) being `fold`: checked one character per row, for every character this Python's
    Unicode database knows, all planes (Python 3.10 knows Unicode 13, the server's collation
    Unicode 14: letters added since are unassigned to that Python and left out)."""
    import _sre
    import json
    import unicodedata

    from crudql.backends.sql import dialect_for

    dialect = dialect_for(mysql_engine)
    codes = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
    table = sa.text(
        "JSON_TABLE(:cs, '$[*]' COLUMNS (o FOR ORDINALITY, "
        "c LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$')) AS j"
    )
    c = sa.literal_column("j.c")
    stmt = (
        sa.select(sa.func.lower(sa.collate(c, dialect.case_collation)), dialect.fold(c))
        .select_from(table)
        .order_by(sa.literal_column("j.o"))
    )
    lowered, folded = [], []
    with mysql_engine.connect() as conn:
        for i in range(0, len(codes), 50_000):
            chunk = codes[i : i + 50_000]
            rows = conn.execute(stmt, {"cs": json.dumps([chr(x) for x in chunk], ensure_ascii=False)}).all()
            assert len(rows) == len(chunk)
            lowered += [row[0] for row in rows]
            folded += [row[1] for row in rows]
    assert [hex(x) for x, low in zip(codes, lowered) if low != chr(_sre.unicode_tolower(x))] == []
    assert [hex(x) for x, got in zip(codes, folded) if got != fold(chr(x))] == []


def test_fold_table_matches_re_ignorecase() -> None:
    for c in FOLD_FROM + "sSſkKKσςΣİiIı":
        for d in "sSſkKKσςΣİiIıxX":
            same = re.fullmatch(re.escape(c), d, re.IGNORECASE) is not None
            assert same == (fold(c) == fold(d)), (c, d)
