"""The SQL backend on SQLite and on a real PostgreSQL: the same records in the same order as the
Python backend.

- hand-computed conformance cases (the Python backend's table, plus SQL-specific traps), each
  also negated: `(not F)` must select exactly the complement of `F`, the proof that SQL's
  three-valued logic does not leak;
- differential hypothesis tests against `crudql.backends.python` on generated contacts,
  filters, sorts and pages;
- the spec's own examples; the `Source` contract (one page query + at most one count);
- safety: hostile values, field names, map keys, sort keys and JSON never reach SQL text, NUL
  is a `QueryError` on PostgreSQL, no client input yields a driver exception;
- indexes: EXPLAIN shows the default indexes in use.

PostgreSQL tests read the DSN from CRUDQL_TEST_POSTGRES_DSN (for example
postgresql+psycopg://postgres@127.0.0.1:5432/test) and skip without it. Each session works in
its own freshly created schema, dropped at the end, so parallel runs do not collide.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy.engine.default import CACHE_HIT
from strategies import SCHEMA, contacts, filters, sorts
from test_backend_python import CASES, FIXTURE

import crudql
from crudql.ast import Not
from crudql.backends.sql import FOLD_FROM, SQLSource, fold, register_sqlite_functions
from crudql.models import Contact
from crudql.operators import OPERATORS
from crudql.request import PageRequest, effective_sort, run_query
from crudql.sources import InMemory

ENGINES = {"sqlite": "sqlite_engine", "postgresql": "postgres_engine"}
# Twice the profile's examples: ci (300) runs 600 per engine, dev (40) runs 80.
DIFFERENTIAL_EXAMPLES = settings().max_examples * 2


# ---------------------------------------------------------------------------- engines


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> sa.Engine:
    return request.getfixturevalue(ENGINES[request.param])  # type: ignore[no-any-return]


def _table_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_source(engine: sa.Engine) -> Iterator[Any]:
    """Build sources on the current engine; their tables are dropped afterwards."""
    made: list[SQLSource] = []

    def make(records: list[Any], model: type[BaseModel] = Contact, **kw: Any) -> SQLSource:
        source = SQLSource.from_records(engine, records, model, table_name=_table_name(), **kw)
        made.append(source)
        return source

    yield make
    for source in made:
        source.table.drop(engine)


@pytest.fixture
def fixture_source(make_source: Any) -> SQLSource:
    return make_source(FIXTURE)  # type: ignore[no-any-return]


ALL = {r["id"] for r in FIXTURE}


def ids(source: Any, text: str | None, sort: str | None = None, *, style: str = "lisp", limit: int = 1000) -> list[str]:
    schema = source.schema
    where = crudql.parse_filter(text, style, schema=schema)
    order = effective_sort(crudql.parse_sort(sort, schema=schema), schema)
    items, total = source.page(where, order, 0, limit)
    assert total >= len(items)
    return [item.id for item in items]


def python_ids(records: list[Any], text: str | None, sort: str | None = None, *, style: str = "lisp", model: type[BaseModel] = Contact) -> list[str]:
    return ids(InMemory(records, model=model), text, sort, style=style)


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


# ---------------------------------------------------------------------------- differential


def _load(source: SQLSource, records: list[dict[str, Any]]) -> None:
    with source.bind.begin() as conn:  # type: ignore[union-attr]
        conn.execute(source.table.delete())
    source.insert(records)


@pytest.fixture
def empty_source(make_source: Any) -> SQLSource:
    return make_source([])  # type: ignore[no-any-return]


def _differential(source: SQLSource, records: list[dict[str, Any]], where: Any, keys: Any, offset: int, limit: int) -> None:
    _load(source, records)
    order = effective_sort(keys, SCHEMA)
    expected, expected_total = InMemory(records, model=Contact).page(where, order, offset, limit)
    got, total = source.page(where, order, offset, limit)
    context = f"q={crudql.to_lisp(where) if where else None} s={[(k.field, k.descending) for k in keys]}"
    assert [r.id for r in got] == [r.id for r in expected], context
    assert total == expected_total, context
    for a, b in zip(got, expected):  # the records themselves round-trip (top-level null = absent)
        assert a.model_dump(mode="json", exclude_none=True) == b.model_dump(mode="json", exclude_none=True)
    if where is not None:  # and the complement is exact: no row is lost to UNKNOWN
        _, negated_total = source.page(Not(where), order, 0, 1)
        assert negated_total == len(records) - expected_total, context


@settings(max_examples=DIFFERENTIAL_EXAMPLES)
@given(records=contacts(), where=st.none() | filters(), keys=sorts(), offset=st.integers(0, 6), limit=st.integers(1, 8))
def test_differential_sqlite(sqlite_engine: sa.Engine, records: Any, where: Any, keys: Any, offset: int, limit: int) -> None:
    _differential(_shared(sqlite_engine), records, where, keys, offset, limit)


@settings(max_examples=DIFFERENTIAL_EXAMPLES)
@given(records=contacts(), where=st.none() | filters(), keys=sorts(), offset=st.integers(0, 6), limit=st.integers(1, 8))
def test_differential_postgresql(postgres_engine: sa.Engine, records: Any, where: Any, keys: Any, offset: int, limit: int) -> None:
    _differential(_shared(postgres_engine), records, where, keys, offset, limit)


_SHARED: dict[int, SQLSource] = {}


def _shared(engine: sa.Engine) -> SQLSource:
    # One table per engine for all examples (hypothesis forbids function-scoped fixtures).
    if id(engine) not in _SHARED:
        _SHARED[id(engine)] = SQLSource.from_records(engine, [], table_name=_table_name(), model=Contact)
    return _SHARED[id(engine)]


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


# ---------------------------------------------------------------------------- the source contract


def test_sources_sql_is_this_backend() -> None:
    assert crudql.sources.SQL is SQLSource


def test_run_query_pages_and_counts(fixture_source: SQLSource) -> None:
    page = run_query(PageRequest(page_size=2, page_number=2, s="-creation_time"), fixture_source)
    expected = run_query(PageRequest(page_size=2, page_number=2, s="-creation_time"), InMemory(FIXTURE, model=Contact))
    assert [c.id for c in page.data] == [c.id for c in expected.data]
    assert page.total_count == 5 and page.page_number == 2 and page.page_size == 2
    past = run_query(PageRequest(page_size=2, page_number=9), fixture_source)
    assert past.data == [] and past.total_count == 5
    assert isinstance(page.data[0], Contact)


def _statements_run(engine: sa.Engine) -> Any:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: sa.event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("count", ["separate", "window"])
def test_one_page_query_and_at_most_one_count(engine: sa.Engine, make_source: Any, count: str) -> None:
    source = make_source(FIXTURE * 0 + [{"id": f"r{i:03}", "tags": ["a"]} for i in range(50)], count=count)
    seen, stop = _statements_run(engine)
    try:
        full = source.page(crudql.parse_filter('(has tags "a")', schema=SCHEMA), effective_sort([], SCHEMA), 10, 20)
        n_full = len(seen)
        partial = source.page(None, effective_sort([], SCHEMA), 40, 20)
    finally:
        stop()
    assert len(full[0]) == 20 and full[1] == 50
    assert len(partial[0]) == 10 and partial[1] == 50
    assert n_full == (2 if count == "separate" else 1)  # page + count; the window count needs none
    assert len(seen) == n_full + 1  # a partial page shows its own total: no count query
    assert all("ORDER BY" not in s for s in seen if "count(*)" in s and "OVER" not in s)


def test_compiled_cache_is_reused_for_new_values(engine: sa.Engine, fixture_source: SQLSource) -> None:
    order = effective_sort([], SCHEMA)
    hits = []
    with engine.connect() as conn:
        source = SQLSource(conn, fixture_source.table, model=Contact)
        for value in ("org-1", "org-2"):
            where = crudql.parse_filter(f'(and (= organization_id "{value}") (ilike name "%a%"))', schema=SCHEMA)
            stmt = source.statements(where, order).page
            result = conn.execute(stmt, {"crudql_limit": 5, "crudql_offset": 0})
            hits.append(result.context.cache_hit)
            result.close()
    assert hits == [CACHE_HIT, CACHE_HIT] or hits[1] == CACHE_HIT


def test_records_round_trip(fixture_source: SQLSource) -> None:
    got = {c.id: c for c in fixture_source.page(None, effective_sort([], SCHEMA), 0, 100)[0]}
    for record in FIXTURE:
        original = Contact.model_validate(record)
        assert got[original.id].model_dump(exclude_none=True) == original.model_dump(exclude_none=True)


def test_from_records_takes_models_and_python_names(make_source: Any) -> None:
    source = make_source([Contact(id="m1", organization_id="o"), {"id": "m2", "organization_id": "o"}])
    assert ids(source, '(= organizationID "o")') == ["m1", "m2"]


def test_from_records_rejects_bad_records(engine: sa.Engine) -> None:
    with pytest.raises(crudql.RequestError, match="item 1"):
        SQLSource.from_records(engine, [{"id": "a"}, {"name": "no id"}], table_name=_table_name(), model=Contact)
    with pytest.raises(ValueError, match="NUL"):
        SQLSource.from_records(engine, [{"id": "a", "name": "x\x00y"}], table_name=_table_name(), model=Contact)


def test_source_from_existing_table_by_name(engine: sa.Engine, fixture_source: SQLSource) -> None:
    source = SQLSource(engine, fixture_source.table.name, model=Contact)
    assert ids(source, '(= info.partner "AWS")') == ["c01"]


def test_compile_filter_for_hand_built_queries(fixture_source: SQLSource, engine: sa.Engine) -> None:
    from crudql.backends.sql import compile_filter, compile_order

    where = crudql.parse_filter('(!= info.partner "AWS")', schema=SCHEMA)
    table = fixture_source.table
    stmt = sa.select(table.c.id).where(compile_filter(where, table, Contact, engine))
    stmt = stmt.order_by(*compile_order(effective_sort([], SCHEMA), table, Contact, engine))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            register_sqlite_functions(conn.connection.dbapi_connection)
        assert [r.id for r in conn.execute(stmt)] == ["C05", "a b", "c10", "c9"]


# ---------------------------------------------------------------------------- limits and shapes


def test_wide_filters_stay_within_engine_limits(fixture_source: SQLSource) -> None:
    # SQLite nests a flat OR chain one level per operand and fails past 1,000 levels; the
    # backend must not depend on the parser's length limit to stay below that.
    many = " ".join(f'(= name "n{i}")' for i in range(2500))
    wide = crudql.Limits(max_length=200_000)
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


# ---------------------------------------------------------------------------- safety

HOSTILE = [
    "'; DROP TABLE contacts; --",
    "\"; DROP TABLE contacts; --",
    "' OR '1'='1",
    "\\'; SELECT 1; --",
    "100%",
    "a_b\\",
    "$.x') OR 1=1 --",
    "__[POSTCOMPILE_x]",
    "%(x)s ? :x $1",
]


def _hostile_filters(value: str) -> list[str]:
    v = json.dumps(value)
    return [
        f"(= name {v})", f"(!= name {v})", f"(< info.companyName {v})", f"(in name ({v} null))",
        f"(contains name {v})", f"(icontains info.companyName {v})", f"(starts-with name {v})",
        f"(ends-with name {v})", f"(has tags {v})", f"(has-all tags ({v}))", f"(icontains tags {v})",
        f"(like name {json.dumps(value.replace(chr(92), chr(92) * 2))})",
        f"(ilike name {json.dumps(value.replace(chr(92), chr(92) * 2))})",
        f"(any info.cosellPartnerMetrics.accounts (= industry {v}))",
        # A map key is client text too (a dot would split it into two segments).
        f'(= {json.dumps("info.cosellPartnerMetrics.pipeline." + value.replace(".", ""))} 1)',
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_bound_never_sql_text(engine: sa.Engine, make_source: Any, value: str) -> None:
    records = [*FIXTURE, {"id": "h1", "name": value, "tags": [value], "info": {"companyName": value,
               "cosellPartnerMetrics": {"pipeline": {value.replace(".", ""): 1.0}, "accounts": [{"industry": value}]}}}]
    source = make_source(records)
    seen, stop = _statements_run(engine)
    try:
        for text in _hostile_filters(value):
            assert ids(source, text) == python_ids(records, text), text
    finally:
        stop()
    marker = value.strip("'\"\\%_ ")
    assert seen and not any(marker in statement for statement in seen)
    assert len(ids(source, None)) == len(records)  # the table is intact


@pytest.mark.parametrize(
    "q, s",
    [
        ('(= "name; DROP TABLE contacts" "x")', None),
        ('(= "info\'); DROP TABLE contacts; --" "x")', None),
        ('(= info.companyName.x "y")', None),
        (None, "name; DROP TABLE contacts"),
        (None, "info.cosellPartnerMetrics.accounts"),
        (None, "password_hash"),
        ('["=", "name\\"--", "x"]', None),
    ],
)
def test_hostile_field_names_and_sort_keys_are_client_errors(fixture_source: SQLSource, q: str | None, s: str | None) -> None:
    qs = "json" if q and q.startswith("[") else "lisp"
    with pytest.raises(crudql.QueryError):
        run_query(PageRequest(q=q, qs=qs, s=s), fixture_source)
    assert len(ids(fixture_source, None)) == len(FIXTURE)


NUL_FILTERS = [
    '(= name "a\\u0000b")', '(< name "a\\u0000")', '(like name "a\\u0000%")', '(ilike name "%\\u0000")',
    '(contains name "\\u0000")', '(in name ("x" "a\\u0000"))', '(has tags "\\u0000")',
    '(= "info.cosellPartnerMetrics.pipeline.a\\u0000" 1)', '(any info.cosellPartnerMetrics.accounts (= industry "\\u0000"))',
]


@pytest.mark.parametrize("text", NUL_FILTERS)
def test_nul_is_a_query_error_on_postgresql_and_works_on_sqlite(engine: sa.Engine, fixture_source: SQLSource, text: str) -> None:
    if engine.dialect.name == "postgresql":
        with pytest.raises(crudql.QueryError, match="NUL") as info:
            run_query(PageRequest(q=text), fixture_source)
        assert info.value.code == "value"
    else:
        assert ids(fixture_source, text) == python_ids(FIXTURE, text)
        assert set(ids(fixture_source, f"(not {text})")) == ALL - set(python_ids(FIXTURE, text))


@settings(max_examples=max(20, settings().max_examples // 3))
@given(value=st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
def test_arbitrary_text_never_raises_driver_errors(sqlite_engine: sa.Engine, value: str) -> None:
    source = _shared(sqlite_engine)
    for text in _hostile_filters(value):
        try:
            source.page(crudql.parse_filter(text, schema=SCHEMA), effective_sort([], SCHEMA), 0, 5)
        except crudql.QueryError:
            pass  # a client error (e.g. a pattern ending in a lone backslash) is fine


@settings(max_examples=max(20, settings().max_examples // 3))
@given(value=st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
def test_arbitrary_text_never_raises_driver_errors_postgresql(postgres_engine: sa.Engine, value: str) -> None:
    source = _shared(postgres_engine)
    for text in _hostile_filters(value):
        try:
            source.page(crudql.parse_filter(text, schema=SCHEMA), effective_sort([], SCHEMA), 0, 5)
        except crudql.QueryError as exc:
            assert exc.code in ("value", "syntax", "type") or "\\" in value


# ---------------------------------------------------------------------------- case folding on PostgreSQL


def test_postgresql_lower_is_pythons_simple_lowercase(postgres_engine: sa.Engine) -> None:
    """ilike on PostgreSQL relies on lower() under C.utf8 being re's simple lowercase mapping."""
    import _sre

    codes = [c for c in range(1, 0x30000) if not 0xD800 <= c <= 0xDFFF]
    with postgres_engine.connect() as conn:
        got = conn.execute(
            sa.text('SELECT array_agg(lower(c COLLATE "C.utf8") ORDER BY o) FROM unnest(CAST(:cs AS text[])) WITH ORDINALITY AS u(c, o)'),
            {"cs": [chr(c) for c in codes]},
        ).scalar_one()
    different = [hex(c) for c, low in zip(codes, got) if low != chr(_sre.unicode_tolower(c))]
    assert different == []


def test_fold_table_matches_re_ignorecase() -> None:
    for c in FOLD_FROM + "sSſkKKσςΣİiIı":
        for d in "sSſkKKσςΣİiIıxX":
            same = re.fullmatch(re.escape(c), d, re.IGNORECASE) is not None
            assert same == (fold(c) == fold(d)), (c, d)


# ---------------------------------------------------------------------------- indexes


def test_explain_uses_the_default_indexes(engine: sa.Engine, make_source: Any) -> None:
    records = [
        {"id": f"id{i:05}", "organizationID": f"org-{i % 50}", "creationTime": f"2024-01-{1 + i % 28:02}T00:00:00Z"}
        for i in range(3000)
    ]
    source = make_source(records)
    with engine.begin() as conn:
        conn.execute(sa.text(f"ANALYZE {source.table.name}"))
    org = crudql.parse_filter('(= organization_id "org-7")', schema=SCHEMA)
    newest = effective_sort(crudql.parse_sort("-creation_time", schema=SCHEMA), SCHEMA)
    by_id = effective_sort([], SCHEMA)
    plans = {
        "org": "\n".join(source.explain(org, by_id)),
        "newest": "\n".join(source.explain(None, newest)),
        "id": "\n".join(source.explain(None, by_id)),
    }
    name = source.table.name
    assert f"ix_{name}_organization_id" in plans["org"], plans["org"]
    assert f"ix_{name}_creation_time" in plans["newest"], plans["newest"]
    if engine.dialect.name == "postgresql":
        assert f"{name}_pkey" in plans["id"], plans["id"]
        assert "Sort Key" not in plans["newest"].split("Incremental")[0] or "Incremental Sort" in plans["newest"]
    else:
        assert "USE TEMP B-TREE" not in plans["id"], plans["id"]
    assert dt.datetime  # keep the import for type hints above


# ---------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("kind", list(ENGINES))
def test_one_source_serves_concurrent_requests(request: pytest.FixtureRequest, tmp_path: Any, kind: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    if kind == "sqlite":  # a file: each thread gets its own connection from the pool
        engine = sa.create_engine(f"sqlite:///{tmp_path}/threads.db")
    else:
        engine = request.getfixturevalue("postgres_engine")
    source = SQLSource.from_records(engine, FIXTURE, table_name=_table_name(), model=Contact)
    texts = [text for text, _ in CASES] * 4
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            got = list(pool.map(lambda text: set(ids(source, text)), texts))
        assert got == [expected for _, expected in CASES] * 4
    finally:
        source.table.drop(engine)


def test_statements_differing_only_in_json_path_never_share_compiled_sql(fixture_source: SQLSource) -> None:
    # JSON paths are rendered literals: they must be part of SQLAlchemy's cache key.
    order = effective_sort([], SCHEMA)
    role = fixture_source.statements(crudql.parse_filter('(= info.role "ACME")', schema=SCHEMA), order).page
    company = fixture_source.statements(crudql.parse_filter('(= info.companyName "ACME")', schema=SCHEMA), order).page
    assert role._generate_cache_key().key != company._generate_cache_key().key
    assert ids(fixture_source, '(= info.role "ACME")') == []
    assert ids(fixture_source, '(= info.companyName "ACME")') == ["a b"]


def test_unpaired_surrogates_in_hand_built_filters_are_query_errors(fixture_source: SQLSource) -> None:
    # The parsers reject them; an AST built in code must not reach the driver with one either.
    from crudql.ast import Literal, Predicate

    name = SCHEMA.field(("name",))
    for op in ("=", "like", "contains"):
        with pytest.raises(crudql.QueryError, match="surrogate"):
            fixture_source.page(Predicate(op, name, (Literal("a\ud800"),)), effective_sort([], SCHEMA), 0, 5)
