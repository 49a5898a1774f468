"""A source's statements run straight on the DBAPI cursor from their second run, where nothing
observes SQLAlchemy's execution (`crudql.backends.sql.execution`), and through
`Connection.execute` otherwise: the same pages, totals, cursors and errors either way."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

import crudql
from crudql.backends.sql import SQLSource
from crudql.backends.sql.execution import compile_direct, engine_runs_direct, runs_direct
from crudql.models import Contact
from crudql.records import dump
from crudql.request import PageRequest, run_query
from crudql.sample import contacts
from support.sql import statements_run, table_name

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
RECORDS = contacts(60, seed=7)

# Filters and sorts over what a page binds: values, `now`, IN lists, ilike, keyset positions.
REQUESTS = [
    PageRequest(page_size=6),
    PageRequest(q='(= organizationID "org_acme")', s="-creationTime", page_size=4),
    PageRequest(q='(in info.partner ("AWS" "GCP"))', s="name", page_size=2, page_number=2),
    PageRequest(q='(ilike name "%an%")', s="-name", page_size=2),
    PageRequest(q='(>= creationTime (now "-400d"))', s="creationTime", page_size=2),
    PageRequest(q='(not (has tags "churned"))', s="-info.cosellPartnerMetrics.accountCount", page_size=7),
    PageRequest(q='(= name "nobody")', page_size=5),
    PageRequest(page_size=5, page_number=13),  # past the end
]


class RanThroughSQLAlchemy(Exception):
    pass


@contextmanager
def refusing(monkeypatch: pytest.MonkeyPatch, attribute: str) -> Iterator[None]:
    """While inside, `Connection.<attribute>` raises `RanThroughSQLAlchemy`."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RanThroughSQLAlchemy

    with monkeypatch.context() as patch:
        patch.setattr(Connection, attribute, refuse)
        yield


def without_sqlalchemy_execution(monkeypatch: pytest.MonkeyPatch) -> AbstractContextManager[None]:
    """While inside, `Connection.execute` fails: whatever runs, runs on the DBAPI cursor."""
    return refusing(monkeypatch, "execute")


def without_connections(monkeypatch: pytest.MonkeyPatch) -> AbstractContextManager[None]:
    """While inside, no `Connection` can be made: pages run on pooled connections directly."""
    return refusing(monkeypatch, "__init__")


def _summary(page: crudql.Page[Any]) -> tuple[list[Any], int, str | None]:
    return page.data, page.total_count, page.next_cursor


def _pages(source: SQLSource, request: PageRequest) -> list[tuple[list[str], int, bool]]:
    """The request's page and, through their cursors, the pages after it."""
    out, cursor = [], None
    for _ in range(40):
        page = run_query(request.model_copy(update={"cursor": cursor}) if cursor else request, source, now=NOW)
        assert None not in page.data
        out.append(([c.id for c in page.data], page.total_count, page.next_cursor is not None))
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
    raise AssertionError("the cursors did not reach the last page")


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.q}|{r.s}|{r.page_number}")
def test_direct_pages_are_those_of_sqlalchemys_path(
    make_source: Any, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, request_: PageRequest
) -> None:
    source = make_source(RECORDS, cursor_key=b"k" * 32)
    first = _pages(source, request_)  # each statement's first run: through SQLAlchemy
    with without_sqlalchemy_execution(monkeypatch):
        direct = _pages(source, request_)
    seen, stop = statements_run(engine)  # a listener: statements go through SQLAlchemy
    try:
        through_sqlalchemy = _pages(source, request_)
    finally:
        stop()
    assert seen, "the listener saw no statement"
    assert direct == through_sqlalchemy == first
    reference = crudql.sources.InMemory(RECORDS, model=source.model, cursor_key=b"k" * 32)
    assert direct == _pages(reference, request_)


def test_models_are_the_same_either_way(make_source: Any, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_source(RECORDS)
    request = PageRequest(page_size=100)
    run_query(request, source)
    with without_sqlalchemy_execution(monkeypatch):
        direct = run_query(request, source)
    seen, stop = statements_run(engine)
    try:
        through_sqlalchemy = run_query(request, source)
    finally:
        stop()
    assert seen and direct.data == through_sqlalchemy.data and len(direct.data) == len(RECORDS)


def test_count_runs_direct(make_source: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_source(RECORDS)
    where = crudql.parse_filter('(= organizationID "org_acme")', schema=source.schema)
    expected = sum(1 for r in RECORDS if r.get("organizationID") == "org_acme")
    assert source.count(where) == expected
    with without_sqlalchemy_execution(monkeypatch):
        assert source.count(where) == expected


def test_a_statement_run_once_goes_through_sqlalchemy(make_source: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A one-off filter keeps SQLAlchemy's compiled cache (one entry for every filter of its shape).
    source = make_source(RECORDS)
    with without_sqlalchemy_execution(monkeypatch), pytest.raises(RanThroughSQLAlchemy):
        run_query(PageRequest(q='(= name "a one-off")'), source)


def test_echo_logs_every_statement(engine: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    source = SQLSource.from_records(engine, RECORDS, Contact, table_name=table_name())
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            page = run_query(PageRequest(q='(= organizationID "org_acme")', page_size=1), source)
        assert page.total_count > 1  # a full page: the page query and the count
        logged = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
        assert sum("SELECT" in m and "count(*)" not in m for m in logged) >= 1
        assert any("count(*)" in m for m in logged)
    finally:
        source.table.drop(engine)


def test_driver_errors_are_wrapped_as_sqlalchemy_wraps_them(
    make_source: Any, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(RECORDS)
    run_query(PageRequest(), source), run_query(PageRequest(), source)  # statements run twice
    source.table.drop(engine)
    try:
        with without_sqlalchemy_execution(monkeypatch), pytest.raises(sa.exc.DBAPIError) as direct:
            run_query(PageRequest(), source)
        seen, stop = statements_run(engine)
        try:
            with pytest.raises(sa.exc.DBAPIError) as through_sqlalchemy:
                run_query(PageRequest(), source)
        finally:
            stop()
        assert seen  # the listener sent it through SQLAlchemy
        assert type(direct.value) is type(through_sqlalchemy.value)
        assert type(direct.value.orig) is type(through_sqlalchemy.value.orig)
        assert direct.value.statement == through_sqlalchemy.value.statement
    finally:
        source.table.create(engine)  # make_source drops it


def test_a_connection_passed_in_keeps_sqlalchemys_path(make_source: Any, engine: sa.Engine) -> None:
    source = make_source(RECORDS)
    with engine.connect() as conn:
        mine = SQLSource(conn, source.table, source.model)
        page = run_query(PageRequest(page_size=2), mine)
        assert conn.in_transaction()  # SQLAlchemy began it, as with any statement it runs
        assert [c.id for c in page.data] == [c.id for c in run_query(PageRequest(page_size=2), source).data]


def test_what_sends_statements_through_sqlalchemy(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert runs_direct(conn)
    listener = lambda *args: None  # noqa: E731
    for target, event in ((engine, "before_execute"), (engine, "handle_error"), (sa.engine.Engine, "after_cursor_execute")):
        sa.event.listen(target, event, listener)
        try:
            with engine.connect() as conn:
                assert not runs_direct(conn), event
        finally:
            sa.event.remove(target, event, listener)
    with engine.execution_options(schema_translate_map={None: "elsewhere"}).connect() as conn:
        assert not runs_direct(conn)
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        assert runs_direct(conn)


def test_statements_only_sqlalchemy_can_run_are_not_compiled(engine: sa.Engine) -> None:
    table = sa.table("t", sa.column("a", sa.Integer), sa.column("b", sa.DateTime))
    expanding = sa.select(table.c.a).where(table.c.a.in_([1, 2, 3]))
    assert compile_direct(expanding, engine.dialect) is None
    literal = sa.select(table.c.a).where(table.c.a == sa.literal(4, literal_execute=True))
    assert compile_direct(literal, engine.dialect) is None
    plain = sa.select(table.c.a).where(table.c.b > dt.datetime(2026, 1, 1)).limit(sa.bindparam("n", type_=sa.Integer))
    direct = compile_direct(plain, engine.dialect)
    assert direct is not None and set(direct.per_request) == {"n"}
    with pytest.raises(KeyError, match="'n'"):
        direct.parameters({})


@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql", "mysql"])
def test_parameters_are_those_the_sql_names(dialect_name: str) -> None:
    dialect = sa.dialects.registry.load(dialect_name)()
    table = sa.table("t", sa.column("a", sa.String), sa.column("b", sa.Integer))
    query = sa.select(table.c.a).where(table.c.a == "x", table.c.b > 3).limit(sa.bindparam("n", type_=sa.Integer))
    direct = compile_direct(query, dialect)
    assert direct is not None
    parameters = direct.parameters({"n": 5})
    if direct.positions is None:  # named: exactly the names the SQL holds
        assert sorted(parameters.values(), key=str) == [3, 5, "x"]
        assert all(f"%({name})s" in direct.sql for name in parameters)
    else:  # positional, in the order of the placeholders (SQLite adds OFFSET 0 to a LIMIT)
        assert direct.sql.count("?" if dialect_name == "sqlite" else "%s") == len(direct.positions)
        assert list(parameters)[:3] == ["x", 3, 5] and len(parameters) == len(direct.positions)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.q}|{r.s}|{r.page_number}")
def test_pooled_pages_are_those_of_a_connection(
    make_source: Any, monkeypatch: pytest.MonkeyPatch, request_: PageRequest
) -> None:
    # From their third run a page's statements run on a pooled connection, without a Connection.
    source = make_source(RECORDS, cursor_key=b"k" * 32)
    through_sqlalchemy = _summary(run_query(request_, source, now=NOW))
    on_a_connection = _summary(run_query(request_, source, now=NOW))
    with without_connections(monkeypatch):
        pooled = [_summary(run_query(request_, source, now=NOW)) for _ in range(2)]
    assert pooled == [on_a_connection, on_a_connection] and on_a_connection == through_sqlalchemy


def test_pooled_pages_build_the_same_models(make_source: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pooled page reads JSON columns as text (PostgreSQL: `json_text_cursor`) and nested models
    # from it in one pass (`rows`): the models a Connection's page builds, fields set included.
    source = make_source(RECORDS)
    request = PageRequest(page_size=100)
    on_a_connection = run_query(request, source).data
    run_query(request, source)
    with without_connections(monkeypatch):
        pooled = run_query(request, source).data
    assert pooled == on_a_connection and len(pooled) == len(RECORDS)
    assert [dump(m, "json") for m in pooled] == [dump(m, "json") for m in on_a_connection]


def test_pooled_pages_read_json_columns_as_text(make_source: Any, engine: sa.Engine) -> None:
    source = make_source(RECORDS)
    dialect = source.dialect
    if not dialect.json_decoded:  # SQLite, MariaDB: the driver returns the text anyway
        assert source._text_rows is None
        return
    assert source._text_rows is not None and source._text_rows.one_pass == ("info",)
    with engine.connect() as conn:
        cursor = dialect.json_text_cursor(conn.connection.dbapi_connection)
        cursor.execute(f"SELECT info, tags, '\"a\"'::jsonb FROM {source.table.name} WHERE info IS NOT NULL LIMIT 1")
        info, tags, text = cursor.fetchone()
        cursor.close()
    assert isinstance(info, str) and info.startswith("{") and text == '"a"'
    assert tags is None or isinstance(tags, str)


def test_a_pool_that_keeps_transactions_keeps_connections(tmp_path: Any) -> None:
    # Its pooled pages' reads would stay in a transaction (MariaDB: their snapshot) once returned.
    url = f"sqlite:///{tmp_path / 'reset.db'}"
    assert engine_runs_direct(sa.create_engine(url))
    assert engine_runs_direct(sa.create_engine(url, pool_reset_on_return="commit"))
    assert not engine_runs_direct(sa.create_engine(url, pool_reset_on_return=None))


def test_a_pooled_page_leaves_the_connection_as_it_found_it(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # One connection: the page's is the next one's (SQLite's in-memory engine has one already).
    if engine.dialect.name == "sqlite":
        one = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False})
    else:
        one = sa.create_engine(engine.url, pool_size=1, max_overflow=0)
    source = SQLSource.from_records(one, RECORDS, Contact, table_name=table_name())
    try:
        request = PageRequest(q='(= organizationID "org_acme")', page_size=2)
        run_query(request, source), run_query(request, source)
        with without_connections(monkeypatch):
            run_query(request, source)  # PostgreSQL: in AUTOCOMMIT, as a Connection would set it
        assert engine.dialect.name == "sqlite" or one.pool.checkedin() == 1
        with one.connect() as conn:
            assert conn.get_isolation_level() == one.dialect.default_isolation_level
            conn.execute(source.table.delete())  # a transaction: nothing committed it for us
            conn.rollback()
            assert conn.execute(sa.select(sa.func.count()).select_from(source.table)).scalar_one() == len(RECORDS)
    finally:
        source.table.drop(one)
        one.dispose()


def test_listeners_on_connections_keep_connections(
    make_source: Any, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(RECORDS)
    request = PageRequest(page_size=3)
    run_query(request, source), run_query(request, source)
    connected: list[Any] = []
    listener = lambda conn: connected.append(conn)  # noqa: E731
    sa.event.listen(engine, "engine_connect", listener)
    try:
        page = run_query(request, source)
    finally:
        sa.event.remove(engine, "engine_connect", listener)
    assert connected and len(page.data) == 3
    assert engine_runs_direct(engine)
    for target, event in ((engine, "before_cursor_execute"), (engine, "do_execute")):
        sa.event.listen(target, event, listener)
        try:
            assert not engine_runs_direct(engine), event
        finally:
            sa.event.remove(target, event, listener)
    monkeypatch.setattr(Connection, "_has_events", True)  # a listener on the Connection class
    assert not engine_runs_direct(engine)


def test_a_pooled_page_at_a_transactional_isolation_level(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # `autocommit=False` on an engine of your own isolation level: each page reads in a
    # transaction, which ends before the connection goes back (and its level with it).
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's in-memory test engine shares one connection; the level is PostgreSQL's and MariaDB's case")
    one = sa.create_engine(engine.url, pool_size=1, max_overflow=0)
    strict = one.execution_options(isolation_level="SERIALIZABLE")
    loaded = SQLSource.from_records(one, RECORDS, Contact, table_name=table_name())
    source = SQLSource(strict, loaded.table, Contact, autocommit=False, own_layout=True)
    try:
        request = PageRequest(q='(= organizationID "org_acme")', page_size=2)
        pages = [_summary(run_query(request, source)) for _ in range(2)]
        with without_connections(monkeypatch):
            pages += [_summary(run_query(request, source)) for _ in range(2)]
        assert pages[1:] == pages[:-1]
        assert one.pool.checkedin() == 1
        with one.connect() as conn:
            assert conn.get_isolation_level() == one.dialect.default_isolation_level
            assert not conn.in_transaction()
    finally:
        loaded.table.drop(one)
        one.dispose()


def test_a_new_pooled_connection_is_prepared_without_a_connection(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dialect's per-connection setup (MariaDB: the session's sort length) on a connection the
    # pool opens for a pooled page.
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's in-memory test database lives in its one connection")
    own = sa.create_engine(engine.url)
    source = SQLSource.from_records(own, RECORDS, Contact, table_name=table_name())
    try:
        request = PageRequest(s="-name", page_size=4)
        expected = [_summary(run_query(request, source)) for _ in range(2)][-1]
        own.dispose()  # the next page's connection is a new one
        with without_connections(monkeypatch):
            assert _summary(run_query(request, source)) == expected
    finally:
        source.table.drop(own)
        own.dispose()
