"""The SQL backend as a `Source`: run_query pages and counts with one page query and at most
one count, SQLAlchemy's compiled cache is reused (and never shared across JSON paths), records
round-trip, sources come from records, models or existing tables, hand-built queries compile,
EXPLAIN shows the default indexes in use, and one source serves concurrent requests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine.default import CACHE_HIT, CACHE_MISS

import crudql
from crudql.backends.sql import SQLSource, register_sqlite_functions
from crudql.models import Contact
from crudql.request import PageRequest, effective_sort, run_query
from crudql.sources import InMemory
from support.conformance import CASES, FIXTURE
from support.sql import ENGINES, ids, statements_run, table_name
from support.strategies import SCHEMA
from support.ticket import DEEP_PATH, REFS, TICKETS, Ticket

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


@pytest.mark.parametrize("count", ["separate", "window"])
def test_one_page_query_and_at_most_one_count(engine: sa.Engine, make_source: Any, count: str) -> None:
    source = make_source(FIXTURE * 0 + [{"id": f"r{i:03}", "tags": ["a"]} for i in range(50)], count=count)
    seen, stop = statements_run(engine)
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
    # The table is new, so its first statement is compiled; the second, with other values, is not.
    assert hits == [CACHE_MISS, CACHE_HIT]


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
        SQLSource.from_records(engine, [{"id": "a"}, {"name": "no id"}], table_name=table_name(), model=Contact)
    with pytest.raises(ValueError, match="NUL"):
        SQLSource.from_records(engine, [{"id": "a", "name": "x\x00y"}], table_name=table_name(), model=Contact)


@pytest.mark.parametrize(
    ("bad", "problem"), [("Lon\x00don", "a NUL character"), ("Lon\ud800don", "unpaired surrogates")]
)
def test_from_records_names_where_an_unstorable_string_sits_in_json(engine: sa.Engine, bad: str, problem: str) -> None:
    info = {"companyName": "Acme", "enrichedContactInfo": {"city": bad}}
    records = [{"id": "a", "info": {"partner": "AWS"}}, {"id": "b", "info": info, "tags": ["x"]}]
    with pytest.raises(ValueError, match=f"item 1: info.enrichedContactInfo.city: strings with {problem}"):
        SQLSource.from_records(engine, records, table_name=table_name(), model=Contact)
    with pytest.raises(ValueError, match=f"item 0: tags\\[1\\]: strings with {problem}"):
        SQLSource.from_records(engine, [{"id": "c", "tags": ["ok", bad]}], table_name=table_name(), model=Contact)


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


# ---------------------------------------------------------------------------- indexes


def test_explain_uses_the_default_indexes(engine: sa.Engine, make_source: Any) -> None:
    records = [
        {"id": f"id{i:05}", "organizationID": f"org-{i % 50}", "creationTime": f"2024-01-{1 + i % 28:02}T00:00:00Z"}
        for i in range(3000)
    ]
    source = make_source(records)
    with engine.begin() as conn:
        analyze = "ANALYZE TABLE" if engine.dialect.name in ("mysql", "mariadb") else "ANALYZE"
        conn.execute(sa.text(f"{analyze} {source.table.name}"))
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
    elif engine.dialect.name in ("mysql", "mariadb"):
        # The indexes serve the sorts: no filesort, for the newest first nor by id.
        assert "PRIMARY" in plans["id"] and "filesort" not in plans["id"], plans["id"]
        assert "filesort" not in plans["newest"], plans["newest"]
        prefix = crudql.parse_filter('(starts-with organization_id "org-7")', schema=SCHEMA)
        assert " range " in " ".join(source.explain(prefix, by_id)).replace("|", " ")  # the index serves LIKE 'org-7%'
    else:
        assert "USE TEMP B-TREE" not in plans["id"], plans["id"]


# ---------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("kind", list(ENGINES))
def test_one_source_serves_concurrent_requests(request: pytest.FixtureRequest, tmp_path: Any, kind: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    if kind == "sqlite":  # a file: each thread gets its own connection from the pool
        engine = sa.create_engine(f"sqlite:///{tmp_path}/threads.db")
    else:
        engine = request.getfixturevalue(ENGINES[kind])
    source = SQLSource.from_records(engine, FIXTURE, table_name=table_name(), model=Contact)
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


# ---------------------------------------------------------------------------- in-memory SQLite


class _Row(BaseModel):
    id: str
    name: str | None = None


# Run in a process of its own: threads interleaving statements on one SQLite connection can
# deadlock inside the driver, which would hang the test session instead of failing a test.
_THREADS_SCRIPT = """
import sys, threading
import sqlalchemy as sa
import crudql
from pydantic import BaseModel

class Row(BaseModel):
    id: str
    name: str | None = None

rows = [{"id": f"r{i:05d}", "name": f"n{i}"} for i in range(2000)]
if sys.argv[1] == "from_records":
    source = crudql.sources.SQL.from_records(sa.create_engine("sqlite://"), rows, Row, timeout=30)
else:  # an engine of your own, one connection every thread shares
    shared = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False})
    table = crudql.sources.SQL.from_records(shared, rows, Row).table
    source = crudql.sources.SQL(shared, table, model=Row, timeout=30)
answers = []

def work():
    for i in range(20):
        try:
            request = crudql.PageRequest(q='(ilike name "n1%")', page_size=100, page_number=1 + i % 3)
            page = crudql.run_query(request, source)
            answers.append((len(page.data), page.total_count))
        except Exception as exc:
            answers.append(repr(exc))

pool = [threading.Thread(target=work) for _ in range(8)]
for t in pool:
    t.start()
for t in pool:
    t.join()
print(sorted(set(map(str, answers))), len(answers))
"""


@pytest.mark.parametrize("how", ["from_records", "own_engine"])
def test_in_memory_sqlite_serves_threads_one_request_at_a_time(how: str) -> None:
    """`create_engine("sqlite://")` gives each thread its own empty database: from_records
    keeps one connection every thread shares, as does a StaticPool engine of your own; the
    source runs one request at a time on it."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _THREADS_SCRIPT, how], capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("requests from several threads on one shared connection never finished")
    assert done.stdout.strip() == "['(100, 1111)'] 160", done.stdout + done.stderr


def test_a_per_thread_in_memory_sqlite_engine_is_refused_with_what_to_pass() -> None:
    engine = sa.create_engine("sqlite://")
    table = sa.Table("rows", sa.MetaData(), sa.Column("id", sa.Text, primary_key=True), sa.Column("name", sa.Text))
    with pytest.raises(ValueError) as exc:
        crudql.sources.SQL(engine, table, model=_Row)
    message = str(exc.value)
    assert "StaticPool" in message and "check_same_thread" in message and "from_records" in message
    # A file or a shared in-memory database is fine.
    shared = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False})
    table.create(shared)
    assert crudql.sources.SQL(shared, table, model=_Row).timeout == 10.0


# ---------------------------------------------------------------------------- timeouts on MariaDB


@pytest.fixture
def mariadb_one(mysql_engine: sa.Engine) -> Iterator[SQLSource]:
    """A source with a 0.3 s timeout on an engine of one pooled connection, so the next page
    runs on the connection whose statement was killed."""
    engine = sa.create_engine(mysql_engine.url, pool_size=1, max_overflow=0)
    source = SQLSource.from_records(engine, FIXTURE, model=Contact, table_name=table_name(), timeout=0.3)
    yield source
    source.table.drop(engine)
    engine.dispose()


def test_mariadb_timeout_kills_the_statement_and_the_connection_stays_usable(mariadb_one: SQLSource) -> None:
    source = mariadb_one
    start = time.monotonic()
    with pytest.raises(crudql.QueryTimeoutError), source._running() as conn:
        conn.exec_driver_sql("SELECT SLEEP(5)")  # the watchdog sends KILL QUERY at 0.3 s
    assert time.monotonic() - start < 2
    assert sorted(ids(source, None)) == sorted(r["id"] for r in FIXTURE)
    with source._running() as conn:  # and nothing is left armed against it
        assert conn.exec_driver_sql("SELECT SLEEP(0.1)").scalar_one() == 0


def test_mariadb_kills_a_statement_that_starts_after_the_deadline(mariadb_one: SQLSource) -> None:
    # The first KILL QUERY finds nothing running: it is sent again until the request ends.
    source = mariadb_one
    start = time.monotonic()
    with pytest.raises(crudql.QueryTimeoutError), source._running() as conn:
        time.sleep(0.5)  # past the deadline
        conn.exec_driver_sql("SELECT SLEEP(5)")
    assert time.monotonic() - start < 2.5
    for _ in range(5):  # and nothing outlives the request
        assert sorted(ids(source, None)) == sorted(r["id"] for r in FIXTURE)


# ---------------------------------------------------------------------------- a second model, loaded and reflected

TICKET_FILTERS = [
    None, f'(= ref "{REFS[0]}")', f'(> ref "{REFS[1]}")', f'(in ref ("{REFS[2]}" "{REFS[3]}"))',
    "(= amount 12.5)", "(> amount 0.1)", "(< amount 0)", "(= amount 100)",
    '(> opened_at "2024-01-31T12:00:00Z")', '(= opened_at "2024-01-31T12:00:00Z")', '(< opened_at "2024-01-01")',
    "(= priority 10)", "(> priority 2)", '(= status "OPEN")', '(< status "P")', '(has labels "billing")',
    '(ilike café "CRÈME")', '(= café "")', "(exists note)", "(= extra.score 7)", '(ilike extra.source "EMAIL")',
    '(has extra.list "x")', '(any lines (and (= sku "A-1") (> price 0.2)))', "(= lines.*.qty 5)",
    '(> customer.vipSince "2024-01-01")', '(= customer.tier "free")', f'(= "{DEEP_PATH}" "bottom")', "(= extra.flag true)",
]
TICKET_SORTS = [None, "amount", "-amount", "ref", "-opened_at", "-priority", "status", "café", "-extra.score"]


@pytest.mark.parametrize("reflected", [False, True], ids=["from_records", "reflected"])
def test_tickets_loaded_or_reflected_answer_like_python(engine: sa.Engine, make_source: Any, reflected: bool) -> None:
    """UUIDs, decimals, instants, int enums, non-ASCII names, untyped JSON: on crudql's own table
    and on the same table reflected by name (what `crudql serve --database-url` queries)."""
    source = make_source(TICKETS, Ticket)
    if reflected:
        source = SQLSource(engine, source.table.name, model=Ticket)
    memory = InMemory(TICKETS, model=Ticket)
    for q in TICKET_FILTERS:
        for s in TICKET_SORTS:
            request = PageRequest(q=q, s=s)
            assert [t.id for t in run_query(request, source).data] == [t.id for t in run_query(request, memory).data], (q, s)


class Untyped(BaseModel):
    id: str
    value: Any = None


def test_untyped_top_level_values_round_trip(make_source: Any) -> None:
    """A JSON string in an untyped column: PostgreSQL's driver returns it decoded ('x', not
    '"x"'), so it is not decoded again."""
    records = [
        {"id": "s", "value": "x"},
        {"id": "e", "value": ""},
        {"id": "j", "value": '{"a": 1}'},
        {"id": "n", "value": 1.5},
        {"id": "o", "value": {"k": "v"}},
        {"id": "l", "value": ["a", 1]},
        {"id": "b", "value": True},
        {"id": "z"},
    ]
    source = make_source(records, model=Untyped)
    got = {c.id: c.value for c in run_query(PageRequest(page_size=100), source).data}
    assert got == {r["id"]: r.get("value") for r in records}


class _Audited(Contact):
    """A model with its own `model_validate`: the source builds records through it."""

    built: ClassVar[list[str]] = []

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> _Audited:  # type: ignore[override]
        cls.built.append(obj["id"])
        return super().model_validate(obj, **kwargs)


def test_a_models_own_model_validate_builds_its_records(make_source: Any) -> None:
    source = make_source(FIXTURE[:5], _Audited)
    for _ in range(3):  # through SQLAlchemy, on a Connection's cursor, on a pooled connection
        _Audited.built.clear()
        page = run_query(PageRequest(page_size=3), source)
        assert sorted(_Audited.built) == sorted(c.id for c in page.data) and len(page.data) == 3
