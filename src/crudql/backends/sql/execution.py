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

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

__all__ = ["Direct", "DirectPair", "compile_direct", "fetch_all", "fetch_scalar", "runs_direct"]

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


def runs_direct(conn: Connection) -> bool:
    """Whether statements on `conn` may skip SQLAlchemy's execution path: nothing observes or
    alters it (listeners, echo, options). Read per connection: listeners come and go."""
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


def fetch_all(conn: Connection, direct: Direct, given: Mapping[str, Any]) -> list[Any]:
    """The rows of `direct` run on `conn`'s DBAPI connection (tuples)."""
    return _run(conn, direct, given, lambda cursor: cursor.fetchall())


def fetch_scalar(conn: Connection, direct: Direct, given: Mapping[str, Any]) -> Any:
    """The first column of the one row of `direct` (a count)."""
    return _run(conn, direct, given, lambda cursor: cursor.fetchone()[0])


def _run(conn: Connection, direct: Direct, given: Mapping[str, Any], read: Callable[[Any], Any]) -> Any:
    parameters = direct.parameters(given)
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    dialect = conn.dialect
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(direct.sql, parameters)
        return read(cursor)
    except dialect.loaded_dbapi.Error as exc:
        lost = bool(dialect.is_disconnect(exc, dbapi_connection, cursor))
        wrapped = sa.exc.DBAPIError.instance(
            direct.sql,
            parameters,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=conn.engine.hide_parameters,
            connection_invalidated=lost,
            dialect=dialect,
            ismulti=False,
        )
        if lost:
            conn.invalidate(exc)
        raise wrapped from exc
    finally:
        try:
            cursor.close()
        except dialect.loaded_dbapi.Error:
            pass  # a cursor of a lost connection: the error above is the one to report
