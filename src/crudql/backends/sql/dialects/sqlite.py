"""SQLite (3.38+, JSON1): strings compare bytewise (UTF-8), which is code-point order.

Instants are fixed-width UTC text. JSON is navigated with `json_extract` by literal paths built
from schema names, and map keys (client text) through `json_each ... WHERE key = :bound`.
LIKE is GLOB (case-sensitive, `?` one character). `ilike` is SQLite's own LIKE where that is
exact (`casefold.folds_as_ascii`: it folds ASCII letters only); otherwise it calls a Python
function registered on each connection, the same matcher as the Python backend, so the same
Unicode folding.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import ColumnElement

from ....fieldtypes import Kind
from ....patterns import LikePattern, like_matcher
from ....timeouts import Deadline
from ..casefold import fold_text, folds_as_ascii
from ..elements import ONE, bind, schema_text
from ..execution import Pooled
from ..likes import pattern_literals, render_glob, render_like
from ..logic import Const, Leaf, Test
from ..refs import Ref
from ..storage import DecimalAsDouble, InstantText
from .base import SQLDialect

__all__ = ["SQLiteDialect", "register_sqlite_functions"]

_PROGRESS_STEPS = 10_000  # virtual machine steps between clock checks: microseconds apart


@dataclass
class _Location:
    """A JSON value's place: `names` (a literal path) below `doc`, where `doc` may be the
    container a chain of keyed `json_each` lookups (`froms`, `where`) reached; `entry` is the
    last lookup when the path ends with a key."""

    doc: ColumnElement[Any]
    names: list[str]
    froms: list[Any] = field(default_factory=list)  # the lookups, joined: one FROM item
    where: list[ColumnElement[bool]] = field(default_factory=list)  # the first lookup's key
    entry: Any = None


# One lock per StaticPool: its single connection serves one request at a time (`exclusive`).
_SHARED_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_SHARED_LOCKS_GUARD = threading.Lock()


class SQLiteDialect(SQLDialect):
    """SQLite with JSON1 (3.38+). Strings compare bytewise (UTF-8), which is code-point order."""

    names = ("sqlite",)
    title = "SQLite"
    explain_prefix = "EXPLAIN QUERY PLAN "
    FUNCTIONS_KEY = "crudql_functions"

    def instant_type(self) -> sa.types.TypeEngine[Any]:
        return InstantText()  # fixed-width UTC text: SQLite has no time zone type

    @staticmethod
    def _per_thread_memory(bind: Engine | Connection) -> bool:
        """An engine on an in-memory database whose pool gives each thread a connection (and
        so a database) of its own: another thread sees `no such table`."""
        if not isinstance(bind, Engine):
            return False
        url = bind.url
        memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
        return memory and not isinstance(bind.pool, StaticPool)

    def shared_bind(self, bind: Engine | Connection) -> Engine | Connection | None:
        if not self._per_thread_memory(bind):
            return None
        # One in-memory database that every thread shares: one connection, any thread.
        return sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})

    def exclusive(self, bind: Any) -> AbstractContextManager[Any]:
        pool = getattr(bind, "pool", None)
        if not isinstance(pool, StaticPool):
            return nullcontext()
        with _SHARED_LOCKS_GUARD:  # per pool: an engine's execution_options copies share it
            lock = _SHARED_LOCKS.get(pool)
            if lock is None:
                lock = _SHARED_LOCKS[pool] = threading.RLock()
        return lock

    def check_bind(self, bind: Engine | Connection) -> None:
        if self._per_thread_memory(bind):
            raise ValueError(
                "this in-memory SQLite engine gives each thread its own empty database, so a server's "
                "worker threads would not see the table; create it with create_engine('sqlite://', "
                "poolclass=StaticPool, connect_args={'check_same_thread': False}), use a database file, "
                "or load the records with SQL.from_records(engine, records, model=...), which does this for you"
            )

    def decimal_type(self) -> sa.types.TypeEngine[Any]:
        return DecimalAsDouble()  # SQLite has no exact decimal: the nearest double

    @contextmanager
    def enforce(self, conn: Connection | Pooled, deadline: Deadline) -> Iterator[None]:
        # In the connection's own thread: SQLite calls the handler every few thousand virtual
        # machine steps, and a true answer interrupts the statement ("interrupted").
        dbapi_connection: Any = conn.connection.dbapi_connection
        if not hasattr(dbapi_connection, "set_progress_handler"):
            # aiosqlite runs the connection in a thread of its own: interrupt it from the
            # watchdog's (sqlite3_interrupt is safe to call from any thread).
            with super().enforce(conn, deadline):
                yield
            return
        at = deadline.at
        dbapi_connection.set_progress_handler(lambda: time.monotonic() >= at, _PROGRESS_STEPS)
        try:
            yield
        finally:
            dbapi_connection.set_progress_handler(None, 0)

    def cancel(self, dbapi_connection: Any) -> None:
        raw = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        raw = getattr(raw, "_conn", raw)  # aiosqlite keeps the sqlite3 connection here
        raw.interrupt()

    def is_cancelled(self, error: sa.exc.DBAPIError) -> bool:
        return isinstance(error.orig, sqlite3.OperationalError) and "interrupted" in str(error.orig)

    def plan_lines(self, rows: list[Any]) -> list[str]:
        return [" | ".join(str(v) for v in row) for row in rows]

    def prepare(self, conn: Connection | Pooled) -> None:
        # conn.info belongs to the DBAPI connection and survives pool checkouts.
        if not conn.info.get(self.FUNCTIONS_KEY):
            dbapi_connection: Any = conn.connection.dbapi_connection
            register_sqlite_functions(dbapi_connection)
            # `ilike`'s fast form is LIKE, exact only while LIKE folds ASCII case (the default;
            # the pragma is deprecated). crudql's own `like` is GLOB, which it does not affect.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA case_sensitive_like = OFF")
            cursor.close()
            conn.info[self.FUNCTIONS_KEY] = True

    @staticmethod
    def _path(names: Sequence[str]) -> str:
        out = "$"
        for n in names:
            out += f".{n}" if n.isidentifier() and n.isascii() else '."' + n + '"'
        return out

    def _locate(self, ref: Ref) -> _Location:
        """Where the field's value is: a literal JSON path below a document, reached through
        one flat chain of `json_each` lookups for the map keys on the way.

        Schema names make up literal JSON paths; a map key (client text) is matched with
        `key = :bound`, so it never becomes part of a path string. Each key is one more
        table-valued function in the same FROM (a lateral join), never one more nested
        subquery: SQLite's parser overflows past about ten levels of nesting.
        """
        assert ref.doc is not None
        steps = list(ref.steps)
        last_key = max((i for i, (_, keyed) in enumerate(steps) if keyed), default=None)
        if last_key is None:
            return _Location(ref.doc, [name for name, _ in steps])
        chain: Any = None
        entry: Any = None
        container: ColumnElement[Any] = ref.doc
        names: list[str] = []
        for name, keyed in steps[: last_key + 1]:
            if not keyed:
                names.append(name)
                continue
            function = sa.func.json_each(container, schema_text(self._path(names)))
            entry = function.table_valued("key", "value", "type").alias()
            on_key = entry.c.key == bind(self.check_text(name), sa.String())
            # Each lookup joins the previous one (it reads that entry's value): a lateral join.
            chain = (entry, on_key) if chain is None else (sa.join(chain[0], entry, on_key), chain[1])
            # Only containers can be stepped into; a string here would be re-parsed as JSON.
            container = sa.case((entry.c.type.in_([schema_text("object"), schema_text("array")]), entry.c.value))
            names = []
        rest = [name for name, _ in steps[last_key + 1 :]]
        return _Location(container, rest, [chain[0]], [chain[1]], entry if not rest else None)

    _FAMILY_TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "bool": ("true", "false"),
        "number": ("integer", "real"),
        "string": ("text",),
    }

    def _value(self, at: _Location, family: str | None, array: bool = False) -> ColumnElement[Any]:
        """The JSON value at the location (NULL when missing; with `family`, NULL unless of that
        family; with `array`, NULL unless an array)."""
        types = ["array"] if array else self._FAMILY_TYPES[family] if family is not None else None
        if at.entry is not None:  # the last step is a key: the value is that entry's
            value, type_ = at.entry.c.value, at.entry.c.type
        else:
            path = schema_text(self._path(at.names))
            value, type_ = sa.func.json_extract(at.doc, path), sa.func.json_type(at.doc, path)
        if types is not None:
            value = sa.case((type_.in_([schema_text(t) for t in types]), value))
        if not at.froms:
            return value
        return sa.select(value).select_from(*at.froms).where(*at.where).scalar_subquery()

    def scalar(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        if ref.column is not None:
            return ref.column
        return self._value(self._locate(ref), family)

    def present(self, ref: Ref) -> Test:
        if ref.column is not None:
            return Leaf(ref.column.is_not(None))
        # NULL for a missing path and for JSON null; objects and arrays come back as text.
        return Leaf(self.scalar(ref).is_not(None))

    def elements(self, ref: Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        at = self._locate(ref)
        if at.froms or ref.kind is Kind.ANY:
            # An untyped value may be an object, whose members json_each would also list.
            function = sa.func.json_each(self._value(at, None, array=True))
        else:
            path = self._path(at.names)
            function = sa.func.json_each(at.doc) if path == "$" else sa.func.json_each(at.doc, schema_text(path))
        each = function.table_valued("key", "value", "type").alias()
        element_doc = sa.case((each.c.type == schema_text("object"), each.c.value))
        if members:
            # Membership tests (value = :v) need no guard: the one row json_each yields for a
            # JSON null has a NULL value, which matches nothing. (The model guarantees arrays.)
            return each, element_doc, None
        # For any/all: that row (key NULL) is no element, and would make `all` false; only
        # integer keys are array elements.
        guard = sa.func.typeof(each.c.key) == schema_text("integer")
        return each, element_doc, guard

    def element_scalar(self, element: Any, kind: Kind, family: str | None = None) -> ColumnElement[Any]:
        if family is None:
            return element.c.value
        return sa.case((element.c.type.in_([schema_text(t) for t in self._FAMILY_TYPES[family]]), element.c.value))

    def element_text(self, element: Any) -> ColumnElement[Any]:
        return sa.case((element.c.type == schema_text("text"), element.c.value))

    def like(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        if any("\x00" in text for text in pattern_literals(pattern)):
            # Stored strings hold no NUL (loading refuses them), and GLOB would stop at one.
            return Const(False)
        return Leaf(value.op("GLOB", is_comparison=True)(bind(render_glob(pattern), sa.String())), value.is_(None))

    def ilike(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        text = render_like(pattern)
        rendered = bind(text, sa.String())
        if folds_as_ascii(pattern_literals(pattern)):
            # SQLite's LIKE folds ASCII letters only (case_sensitive_like off, the default), and
            # these literals have no case partner outside ASCII: the same matches, in C. ESCAPE
            # only when the pattern escapes something: it costs a fifth more per row (measured).
            like = value.like(rendered, escape="\\") if "\\" in text else value.like(rendered)
            return Leaf(like, value.is_(None))
        # A Python function: the same matcher as the Python backend, so the same Unicode folding.
        test = sa.func.crudql_ilike(value, rendered) == ONE
        return Leaf(test, value.is_(None))

    def like_any(self, value: ColumnElement[Any], patterns: list[LikePattern], ignore_case: bool) -> Test:
        # One function call with the patterns as one bound JSON array.
        payload = json.dumps([render_like(p) for p in patterns], ensure_ascii=False)
        flag = 1 if ignore_case else 0
        test = sa.func.crudql_like_any(value, bind(payload, sa.String()), bind(flag, sa.Integer())) == ONE
        return Leaf(test, value.is_(None))

    def fold(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.crudql_fold(text)


def _sqlite_ilike(value: Any, pattern: Any) -> int | None:
    if value is None or pattern is None:
        return None
    if not isinstance(value, str) or not isinstance(pattern, str):
        return 0
    return 1 if like_matcher(pattern, True)(value) else 0


@lru_cache(maxsize=256)
def _matchers(payload: str, ignore_case: bool) -> tuple[Callable[[str], object | None], ...]:
    return tuple(like_matcher(p, ignore_case) for p in json.loads(payload))


def _sqlite_like_any(value: Any, payload: Any, ignore_case: Any) -> int | None:
    if value is None or payload is None:
        return None
    if not isinstance(value, str) or not isinstance(payload, str):
        return 0
    return 1 if any(match(value) for match in _matchers(payload, bool(ignore_case))) else 0


def _sqlite_fold(value: Any) -> Any:
    return fold_text(value) if isinstance(value, str) else None


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Register crudql's SQL functions on a sqlite3 connection (deterministic: usable in indexes)."""
    dbapi_connection.create_function("crudql_ilike", 2, _sqlite_ilike, deterministic=True)
    dbapi_connection.create_function("crudql_like_any", 3, _sqlite_like_any, deterministic=True)
    dbapi_connection.create_function("crudql_fold", 1, _sqlite_fold, deterministic=True)
