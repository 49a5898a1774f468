"""Query timeouts (docs/spec/SERVICE.md §3): every source takes `timeout` (seconds, default 10,
None disables, `from_records` passes it on); a page plus its count that runs longer is
cancelled in the engine and raises `crudql.QueryTimeoutError` (code `timeout`), and the same
source then answers the next request, on a connection that went back to the pool clean.

Each slow query is slow by construction (hundreds of LIKE alternatives over many rows, or a
table locked by another connection), many times longer than its timeout; no test measures how
precisely the timeout is kept (benchmarks/bench_hostile.py does).
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import crudql
from crudql import QueryError, QueryTimeoutError


class Row(BaseModel):
    id: str
    name: str | None = None


ROWS = [{"id": f"r{i:05d}", "name": f"Name {i} of the sample Łódź {i % 97}"} for i in range(20_000)]


def heavy(alternatives: int) -> crudql.PageRequest:
    """A filter no index serves: each row runs `alternatives` case-folding LIKE patterns."""
    return crudql.PageRequest(q="(or " + " ".join(f'(ilike name "%q{i}%z%")' for i in range(alternatives)) + ")")


CHEAP = crudql.PageRequest(q='(in id ("r00005" "r19999" "nope"))', s="-id")


def assert_cheap_answer(source: Any) -> None:
    page = crudql.run_query(CHEAP, source)
    assert [r.id for r in page.data] == ["r19999", "r00005"] and page.total_count == 2


def assert_times_out(source: Any, request: crudql.PageRequest) -> QueryTimeoutError:
    with pytest.raises(QueryTimeoutError) as exc:
        crudql.run_query(request, source)
    error = exc.value
    assert isinstance(error, QueryError) and error.code == "timeout"
    assert "timeout" in error.message and "cancelled" in error.message
    return error


def test_the_error() -> None:
    assert crudql.QueryTimeoutError is QueryTimeoutError and issubclass(QueryTimeoutError, QueryError)
    assert QueryTimeoutError("slow").code == "timeout"


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("bad", [0, -1, "1", True, math.nan, [1]])
def test_invalid_timeouts_are_refused(bad: Any, sqlite_engine: Any) -> None:
    mongomock = pytest.importorskip("mongomock")
    makers = [
        lambda: crudql.sources.InMemory([], model=Row, timeout=bad),
        lambda: crudql.sources.SQL.from_records(sqlite_engine, [], Row, f"t_{uuid.uuid4().hex[:10]}", timeout=bad),
        lambda: crudql.sources.Mongo(mongomock.MongoClient().db.rows, model=Row, timeout=bad),
        lambda: crudql.sources.Mongo.from_records(mongomock.MongoClient().db.rows, [], model=Row, timeout=bad),
    ]
    for make in makers:
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds or None"):
            make()


def test_every_source_takes_a_timeout_and_from_records_passes_it_on(sqlite_engine: Any) -> None:
    mongomock = pytest.importorskip("mongomock")
    collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]
    name = f"t_{uuid.uuid4().hex[:10]}"
    defaults = [
        crudql.sources.InMemory([], model=Row),
        crudql.sources.SQL.from_records(sqlite_engine, [], Row, name),
        crudql.sources.Mongo(collection, model=Row),
    ]
    assert [s.timeout for s in defaults] == [10.0, 10.0, 10.0]
    assert crudql.sources.InMemory([], model=Row, timeout=2).timeout == 2.0
    assert crudql.sources.SQL(sqlite_engine, name, model=Row, timeout=None).timeout is None
    made = crudql.sources.SQL.from_records(sqlite_engine, [], Row, name + "b", timeout=0.5)
    assert made.timeout == 0.5
    assert crudql.sources.Mongo.from_records(collection, [], model=Row, timeout=None).timeout is None
    assert crudql.sources.Mongo.from_records(collection, [], model=Row, timeout=3).timeout == 3.0


# --------------------------------------------------------------------------- InMemory


@pytest.fixture(scope="module")
def many_rows() -> list[Row]:
    return [Row.model_validate(r) for r in (*ROWS, *({"id": f"s{i:05d}", "name": "x"} for i in range(40_000)))]


def test_in_memory_scan_stops_at_its_timeout(many_rows: list[Row]) -> None:
    source = crudql.sources.InMemory(many_rows, model=Row, timeout=0.2)
    assert_times_out(source, heavy(100))  # about 5 s unchecked
    assert_cheap_answer(source)


def test_in_memory_without_a_timeout_finishes(many_rows: list[Row]) -> None:
    source = crudql.sources.InMemory(many_rows[:20_000], model=Row, timeout=None)
    assert crudql.run_query(heavy(10), source).total_count == 0
    tight = crudql.sources.InMemory(many_rows[:20_000], model=Row, timeout=0.001)
    assert_times_out(tight, heavy(10))


# --------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="module")
def sqlite_rows(sqlite_engine: Any) -> Iterator[str]:
    name = f"rows_{uuid.uuid4().hex[:10]}"
    crudql.sources.SQL.from_records(sqlite_engine, ROWS, Row, name, timeout=None)
    yield name
    import sqlalchemy as sa

    sa.Table(name, sa.MetaData()).drop(sqlite_engine)


def test_sqlite_interrupts_a_slow_query_and_answers_the_next(sqlite_engine: Any, sqlite_rows: str) -> None:
    source = crudql.sources.SQL(sqlite_engine, sqlite_rows, model=Row, timeout=0.2)
    assert_times_out(source, heavy(200))  # about 4 s unchecked
    assert_cheap_answer(source)
    assert_times_out(source, heavy(200))  # and again: the source keeps its timeout
    assert_cheap_answer(source)
    assert_times_out(source, heavy(200))  # its third run: on a pooled connection, without a Connection
    assert_cheap_answer(source)


def test_sqlite_without_a_timeout_is_never_interrupted(sqlite_engine: Any, sqlite_rows: str) -> None:
    """The interrupt is per request: a source without a timeout on the same (single) connection
    runs what another source's timeout stops."""
    tight = crudql.sources.SQL(sqlite_engine, sqlite_rows, model=Row, timeout=0.01)
    free = crudql.sources.SQL(sqlite_engine, sqlite_rows, model=Row, timeout=None)
    assert_times_out(tight, heavy(30))
    assert crudql.run_query(heavy(30), free).total_count == 0
    assert_cheap_answer(free)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_source(postgres_engine: Any) -> Iterator[tuple[Any, Any]]:
    """A source on an engine whose pool holds one connection (so the next request reuses the
    cancelled one), over a table in the test schema."""
    sa = pytest.importorskip("sqlalchemy")
    with postgres_engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    engine = sa.create_engine(
        os.environ["CRUDQL_TEST_POSTGRES_DSN"],
        pool_size=1,
        max_overflow=0,
        connect_args={"options": f"-csearch_path={schema}"},
    )
    name = f"rows_{uuid.uuid4().hex[:10]}"
    source = crudql.sources.SQL.from_records(engine, ROWS[:100] + ROWS[-1:], Row, name, timeout=0.3)
    try:
        yield engine, source
    finally:
        engine.dispose()
        sa.Table(name, sa.MetaData()).drop(postgres_engine, checkfirst=True)


def test_postgresql_cancels_a_blocked_query_and_the_connection_returns_clean(
    postgres_engine: Any, pg_source: tuple[Any, Any]
) -> None:
    sa = pytest.importorskip("sqlalchemy")
    engine, source = pg_source
    with engine.connect() as conn:
        backend = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    locker = postgres_engine.connect()
    transaction = locker.begin()
    locker.execute(sa.text(f'LOCK TABLE "{source.table.name}" IN ACCESS EXCLUSIVE MODE'))
    # Were the cancel never sent, release the lock later rather than hang the test run.
    release = threading.Timer(20, transaction.rollback)
    release.start()
    try:
        started = time.monotonic()
        assert_times_out(source, crudql.PageRequest())
        assert time.monotonic() - started < 15, "the statement waited for the lock instead of being cancelled"
    finally:
        release.cancel()
        transaction.rollback()
        locker.close()
    # The one pooled connection is back, usable, outside any transaction, and is the same one.
    assert engine.pool.checkedin() == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() == backend
    for _ in range(20):  # no late cancel request reaches a later statement
        assert_cheap_answer(source)
    assert engine.pool.checkedin() == 1


def test_postgresql_cancels_a_slow_scan(pg_source: tuple[Any, Any]) -> None:
    engine, source = pg_source
    sa = pytest.importorskip("sqlalchemy")

    def sleepy(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> Any:
        # pg_sleep stands in for a long scan (5 s: were the cancel lost, the test fails, not hangs).
        return "SELECT q.* FROM (" + statement + ") AS q, pg_sleep(5)", parameters

    sa.event.listen(engine, "before_cursor_execute", sleepy, retval=True)
    try:
        assert_times_out(source, CHEAP)
    finally:
        sa.event.remove(engine, "before_cursor_execute", sleepy)
    assert_cheap_answer(source)
    assert engine.pool.checkedin() == 1


def test_postgresql_cancels_a_statement_that_starts_after_the_deadline(pg_source: tuple[Any, Any]) -> None:
    # The first cancel request reaches the server while nothing runs (the client is still busy
    # before its statement): the cancel is sent again until the request ends.
    engine, source = pg_source
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError), source._running() as conn:
        time.sleep(0.5)  # past the 0.3 s deadline
        conn.exec_driver_sql("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 2.5, "the statement ran on after a cancel it never received"
    for _ in range(5):  # and no cancel request outlives the request
        assert_cheap_answer(source)
    assert engine.pool.checkedin() == 1


# --------------------------------------------------------------------------- MongoDB


class ExecutionTimeout(Exception):
    """What pymongo raises when the server stops an operation at maxTimeMS (code 50)."""

    code = 50


class _Recording:
    """A mongomock collection that records the options of each operation, optionally waits
    before the count, and fails the operations named in `fail` once each, as the server would."""

    def __init__(
        self, inner: Any, fail: tuple[str, ...] = (), error: type[Exception] = ExecutionTimeout, wait: float = 0
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.database = inner.database
        self.options: list[dict[str, Any]] = []
        self.fail = list(fail)
        self.error = error
        self.wait = wait

    def _record(self, op: str, options: dict[str, Any]) -> None:
        self.options.append({"op": op, **options})
        if op in self.fail:
            self.fail.remove(op)
            raise self.error("operation exceeded time limit")

    def count_documents(self, query: dict[str, Any], **options: Any) -> int:
        time.sleep(self.wait)
        self._record("count", options)
        return int(self.inner.count_documents(query))

    def find(self, query: dict[str, Any], projection: Any = None, **options: Any) -> Any:
        self._record("find", options)
        return self.inner.find(query, projection)


@pytest.fixture
def mongo_rows() -> Any:
    mongomock = pytest.importorskip("mongomock")
    collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]
    crudql.sources.Mongo.from_records(collection, ROWS[:100] + ROWS[-1:], model=Row)
    return collection


@pytest.mark.parametrize("failing", ["count", "find"])
def test_mongo_maps_the_servers_time_limit_to_a_timeout(mongo_rows: Any, failing: str) -> None:
    collection = _Recording(mongo_rows, fail=(failing,))
    source = crudql.sources.Mongo(collection, model=Row, timeout=2)
    assert_times_out(source, crudql.PageRequest(q='(ilike name "%sample%")'))
    assert [o["op"] for o in collection.options] == (["count"] if failing == "count" else ["count", "find"])
    assert_cheap_answer(source)  # the same source answers next


def test_mongo_other_errors_are_not_timeouts(mongo_rows: Any) -> None:
    class Unauthorized(Exception):
        code = 13

    source = crudql.sources.Mongo(_Recording(mongo_rows, fail=("count",), error=Unauthorized), model=Row, timeout=2)
    with pytest.raises(Unauthorized):
        crudql.run_query(CHEAP, source)
    # Without a timeout, code 50 is the server's own business (a maxTimeMS set elsewhere).
    untimed = crudql.sources.Mongo(_Recording(mongo_rows, fail=("count",)), model=Row, timeout=None)
    with pytest.raises(ExecutionTimeout):
        crudql.run_query(CHEAP, untimed)


def test_mongo_sends_the_time_left_to_each_operation(mongo_rows: Any) -> None:
    collection = _Recording(mongo_rows, wait=0.05)
    source = crudql.sources.Mongo(collection, model=Row, timeout=1.5)
    assert_cheap_answer(source)
    count, find = [o for o in collection.options if o["op"] in ("count", "find")][-2:]
    assert (count["op"], find["op"]) == ("count", "find")
    assert 0 < count["maxTimeMS"] <= 1500 and isinstance(count["maxTimeMS"], int)
    # The find gets what the count left: less, by at least the count's 50 ms.
    assert 0 < find["max_time_ms"] <= count["maxTimeMS"] - 40
    untimed = _Recording(mongo_rows)
    assert_cheap_answer(crudql.sources.Mongo(untimed, model=Row, timeout=None))
    assert all("maxTimeMS" not in o and "max_time_ms" not in o for o in untimed.options)


def test_mongo_stops_before_the_find_when_the_count_used_up_the_time(mongo_rows: Any) -> None:
    collection = _Recording(mongo_rows, wait=0.3)
    source = crudql.sources.Mongo(collection, model=Row, timeout=0.1)
    assert_times_out(source, CHEAP)
    assert [o["op"] for o in collection.options][-1] == "count"
