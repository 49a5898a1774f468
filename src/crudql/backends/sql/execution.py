"""Running a source's cached statements straight on the DBAPI cursor.

A page is one or two short statements, built once per (filter, sort) and cached. SQLAlchemy's
way of running a compiled statement (an execution context, each parameter processed again, a
result object and a `Row` per row) costs 15 to 35 µs per statement and allocates enough for
the collector to run during the page's model building: on a two-millisecond page that is the
gap to hand-written SQL (docs/benchmarks.md). So a statement of a source is also compiled once
here (`Direct`): its SQL text, its fixed values already put through their types' bind
processors, and the names a request binds (LIMIT, OFFSET, `now`, a cursor's position). A
request fills in those and calls `cursor.execute`, as hand-written code would.

This is taken only where SQLAlchemy would do nothing more (`runs_direct`): a synchronous
connection the source opened itself, with no listener for execution events (statement
counters, tracing, `do_execute` hooks), no SQL echo or logging, no execution option that
changes the statement (`schema_translate_map`), and a statement without expanding or
literal-execute parameters (`compile_direct` returns None). Everywhere else the statement runs
through `Connection.execute`. A statement is compiled here on its second run (`DirectPair`): one
run once (a one-off filter) keeps SQLAlchemy's compiled cache, which serves all filters of one
shape whatever their values. A driver error is wrapped as SQLAlchemy wraps it
(`DBAPIError.instance`), and a lost connection is invalidated, so what callers catch is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.pool import PoolProxiedConnection

__all__ = [
    "Direct",
    "DirectPair",
    "Pooled",
    "compile_direct",
    "engine_runs_direct",
    "fetch_all",
    "fetch_scalar",
    "pooled",
    "runs_direct",
]

# Execution events a listener may hook: with any of them, statements run through SQLAlchemy.
_CONNECTION_EVENTS = (
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
    "begin",
    "commit",
    "rollback",
)
_DIALECT_EVENTS = ("do_execute", "do_setinputsizes", "handle_error")

# Execution options that change nothing about how a read-only statement runs once the
# connection is open (isolation is set on checkout; the rest concern caching, streaming large
# results or logging). Any other option sends the statement through SQLAlchemy.
_NEUTRAL_OPTIONS = frozenset(
    {
        "isolation_level",
        "compiled_cache",
        "logging_token",
        "max_row_buffer",
        "preserve_rowcount",
        "stream_results",
        "yield_per",
        "postgresql_readonly",
        "postgresql_deferrable",
    }
)


# Options of an engine whose pages may run without a Connection (`pooled`): of the connection
# characteristics, only the isolation level, which `pooled` sets itself.
_POOLED_OPTIONS = frozenset(
    {"isolation_level", "compiled_cache", "max_row_buffer", "preserve_rowcount", "stream_results", "yield_per"}
)


@dataclass(frozen=True, slots=True)
class Direct:
    """A statement compiled for one dialect: SQL text and how to bind its parameters."""

    sql: str
    fixed: Mapping[str, Any]  # processed values the statement carries, by parameter name
    # Bound per execution: parameter name -> (the key its value is given by, its processor).
    per_request: Mapping[str, tuple[str, Callable[[Any], Any] | None]]
    positions: tuple[str, ...] | None  # positional paramstyles: the parameter of each placeholder
    sequence: Callable[[list[Any]], Any]  # the dialect's container for positional parameters

    def parameters(self, given: Mapping[str, Any]) -> Any:
        """The DBAPI parameters for one execution: the fixed values and `given`'s."""
        values = dict(self.fixed)
        for name, (key, process) in self.per_request.items():
            try:
                value = given[key]
            except KeyError:
                raise KeyError(f"a value is required for the parameter {key!r}") from None
            values[name] = value if process is None else process(value)
        if self.positions is None:
            return values
        return self.sequence([values[name] for name in self.positions])


class DirectPair:
    """The direct forms of a page statement (None: rows must go through SQLAlchemy) and its
    count, compiled on their second run (`forms`); None until then."""

    __slots__ = ("_count", "_forms", "_page", "_placeholders", "_runs")

    def __init__(self, page: sa.Select[Any] | None, count: sa.Select[Any], placeholders: Collection[str]) -> None:
        self._page, self._count, self._placeholders = page, count, tuple(placeholders)
        self._runs = 0
        self._forms: tuple[Direct | None, Direct | None] | None = None

    @property
    def compiled(self) -> tuple[Direct | None, Direct | None] | None:
        """The forms if they are compiled already (not counted as a run)."""
        return self._forms

    def forms(self, dialect: Dialect) -> tuple[Direct | None, Direct | None] | None:
        """(page, count) once the statements run a second time. Two threads may both compile
        them: the same result, one of them kept."""
        if self._forms is None:
            self._runs += 1
            if self._runs < 2:
                return None
            page = None if self._page is None else compile_direct(self._page, dialect, self._placeholders)
            self._forms = (page, compile_direct(self._count, dialect, self._placeholders))
        return self._forms


def compile_direct(statement: sa.Select[Any], dialect: Dialect, placeholders: Collection[str] = ()) -> Direct | None:
    """`statement` compiled for `dialect`, or None when only SQLAlchemy can run it. Bound per
    execution: its parameters without a value (LIMIT, OFFSET, a cursor's position) and those
    named in `placeholders` (whose value stands in for one given later: `now`)."""
    compiled: Any = statement.compile(dialect=dialect)
    if (
        compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
        or compiled.schema_translate_map
    ):
        return None
    fixed: dict[str, Any] = {}
    per_request: dict[str, tuple[str, Callable[[Any], Any] | None]] = {}
    for bind, name in compiled.bind_names.items():  # each parameter, by its name in the SQL
        if bind.callable is not None or bind.expanding or bind.literal_execute:
            return None
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required or bind.key in placeholders:
            per_request[name] = (bind.key, process)
        else:
            fixed[name] = bind.value if process is None else process(bind.value)
    positions = tuple(compiled.positiontup) if compiled.positional else None
    return Direct(compiled.string, fixed, per_request, positions, dialect.execute_sequence_format)


def runs_direct(conn: Connection | Pooled) -> bool:
    """Whether statements on `conn` may skip SQLAlchemy's execution path: nothing observes or
    alters it (listeners, echo, options). Read per connection: listeners come and go."""
    if isinstance(conn, Pooled):
        return True  # taken only where `engine_runs_direct` said so
    if getattr(conn, "_echo", True):  # SQL echo or the sqlalchemy.engine logger at INFO
        return False
    if getattr(conn, "_has_events", True):  # listeners on this connection or on Connection itself
        return False
    # The engine's listeners (its own, its parent's, Engine's): read on the engine, whose
    # listener collections persist, not on the connection, which would build them per request.
    events, dialect_events = conn.engine.dispatch, conn.dialect.dispatch
    if any(getattr(events, name) for name in _CONNECTION_EVENTS):
        return False
    if any(getattr(dialect_events, name) for name in _DIALECT_EVENTS):
        return False
    return conn.get_execution_options().keys() <= _NEUTRAL_OPTIONS


def engine_runs_direct(engine: Engine) -> bool:
    """Whether a page may run on a connection taken from `engine`'s pool without a
    `Connection` (`pooled`): no echo, no listener a Connection would call (the engine's, the
    Engine or Connection class's, the dialect's execution hooks) but SQLAlchemy's own that sets
    an engine's isolation level on each connection (`pooled` sets it), and no option beyond
    the isolation level and those about caching or streaming; and a pool that ends a returned
    connection's transaction."""
    if engine._should_log_info() or getattr(Connection, "_has_events", True):
        return False
    # A pooled page's reads end their transaction through the pool, which rolls back (or commits)
    # a connection that returns; one that does neither would keep the reads' snapshot open.
    if getattr(getattr(engine.pool, "_reset_on_return", None), "name", None) not in _ENDS_TRANSACTIONS:
        return False
    events, dialect_events = engine.dispatch, engine.dialect.dispatch
    # An engine nothing ever listened to (nor to Engine) has no connection events to look through.
    if getattr(engine, "_has_events", True):
        if any(getattr(events, name) for name in _CONNECTION_EVENTS):
            return False
        if not all(_sets_characteristics(listener) for listener in events.engine_connect):
            return False
    if any(getattr(dialect_events, name) for name in _DIALECT_EVENTS):
        return False
    return engine.get_execution_options().keys() <= _POOLED_OPTIONS


_ENDS_TRANSACTIONS = ("reset_rollback", "reset_commit")


def _sets_characteristics(listener: Any) -> bool:
    """SQLAlchemy's listener for an engine's connection characteristics (the isolation level)."""
    return getattr(listener, "__qualname__", "").endswith(".set_connection_characteristics") and getattr(
        listener, "__module__", ""
    ).startswith("sqlalchemy.")


class Pooled:
    """A connection of an engine's pool used without a `Connection` (`pooled`): the parts of
    one the direct path and the dialects' `prepare`/`enforce` use."""

    __slots__ = ("connection", "dialect", "engine")

    def __init__(self, engine: Engine, connection: PoolProxiedConnection) -> None:
        self.engine, self.dialect, self.connection = engine, engine.dialect, connection

    @property
    def info(self) -> dict[Any, Any]:
        return self.connection.info  # the DBAPI connection's: it survives checkouts

    def invalidate(self, exception: BaseException | None = None) -> None:
        self.connection.invalidate(exception)

    def exec_driver_sql(self, sql: str) -> None:
        """Run a statement without parameters or rows (a dialect's session setting)."""
        _guard(self, sql, (), lambda: _execute(self.connection.dbapi_connection, sql))


def _end_and_reset(dialect: Dialect, dbapi_connection: Any, level: str) -> None:
    if level != "AUTOCOMMIT":  # in autocommit no transaction is open
        dbapi_connection.rollback()
    dialect.reset_isolation_level(dbapi_connection)


def _execute(dbapi_connection: Any, sql: str) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


@contextmanager
def pooled(engine: Engine) -> Iterator[Pooled]:
    """A connection of `engine`'s pool for one page, at the engine's isolation level (as a
    `Connection` sets it: on the DBAPI connection, and back before it returns to the pool).
    Saves a `Connection`'s bookkeeping: 4 µs on SQLite, 25 µs on PostgreSQL (where switching
    to AUTOCOMMIT through the Connection is most of it), per page."""
    dialect = engine.dialect
    try:
        fairy = engine.raw_connection()
    except dialect.loaded_dbapi.Error as exc:
        raise _wrapped(engine, None, None, exc, False) from exc
    conn = Pooled(engine, fairy)
    dbapi_connection: Any = fairy.dbapi_connection
    level = engine.get_execution_options().get("isolation_level")
    try:
        if level is not None:
            _guard(conn, "", (), lambda: dialect.set_isolation_level(dbapi_connection, level))
        yield conn
    finally:
        try:
            if level is not None and fairy.is_valid:
                # The reads' transaction (a level other than AUTOCOMMIT) ends first: a driver
                # changes no level inside one. The pool's rollback then finds none.
                _guard(conn, "", (), lambda: _end_and_reset(dialect, dbapi_connection, level))
        finally:
            fairy.close()


def fetch_all(
    conn: Connection | Pooled, direct: Direct, given: Mapping[str, Any], cursor: Callable[[Any], Any] | None = None
) -> list[Any]:
    """The rows of `direct` run on `conn`'s DBAPI connection (tuples), on a cursor `cursor`
    makes of it (by default its own `cursor()`)."""
    return _run(conn, direct, given, _all_rows, cursor)


def fetch_scalar(conn: Connection | Pooled, direct: Direct, given: Mapping[str, Any]) -> Any:
    """The first column of the one row of `direct` (a count)."""
    return _run(conn, direct, given, _first_value, None)


def _all_rows(cursor: Any) -> list[Any]:
    return cursor.fetchall()  # type: ignore[no-any-return]


def _first_value(cursor: Any) -> Any:
    return cursor.fetchone()[0]


def _run(
    conn: Connection | Pooled,
    direct: Direct,
    given: Mapping[str, Any],
    read: Callable[[Any], Any],
    make_cursor: Callable[[Any], Any] | None,
) -> Any:
    parameters = direct.parameters(given)
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    error = conn.dialect.loaded_dbapi.Error
    cursor = dbapi_connection.cursor() if make_cursor is None else make_cursor(dbapi_connection)
    try:
        cursor.execute(direct.sql, parameters)
        return read(cursor)
    except error as exc:
        _raise_wrapped(conn, direct.sql, parameters, exc, cursor)
    finally:
        try:
            cursor.close()
        except error:
            pass  # a cursor of a lost connection: the error above is the one to report


def _guard(conn: Connection | Pooled, sql: str, parameters: Any, call: Callable[[], Any]) -> Any:
    """`call()` (a statement or a setting on `conn`'s DBAPI connection), its driver error
    wrapped as `_run` wraps it."""
    try:
        return call()
    except conn.dialect.loaded_dbapi.Error as exc:
        _raise_wrapped(conn, sql, parameters, exc, None)


def _raise_wrapped(conn: Connection | Pooled, sql: str, parameters: Any, exc: Any, cursor: Any) -> NoReturn:
    """Raise a driver error as SQLAlchemy would (`DBAPIError.instance`), invalidating a lost
    connection, so what callers catch is the same on either path."""
    lost = bool(conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor))
    wrapped = _wrapped(conn.engine, sql, parameters, exc, lost)
    if lost:
        conn.invalidate(exc)
    raise wrapped from exc


def _wrapped(engine: Engine, sql: str | None, parameters: Any, exc: Exception, lost: bool) -> BaseException:
    dialect = engine.dialect
    return sa.exc.DBAPIError.instance(
        sql,
        parameters,
        exc,
        dialect.loaded_dbapi.Error,
        hide_parameters=engine.hide_parameters,
        connection_invalidated=lost,
        dialect=dialect,
        ismulti=False,
    )
