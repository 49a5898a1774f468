"""SQLite (3.38+, JSON1): strings compare bytewise (UTF-8), which is code-point order.

Instants are fixed-width UTC text. JSON is navigated with `json_extract` by literal paths built
from schema names, and map keys (client text) through `json_each ... WHERE key = :bound`.
LIKE is GLOB (case-sensitive, `?` one character); `ilike` calls a Python function registered
on each connection, the same matcher as the Python backend, so the same Unicode folding.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ....fieldtypes import Kind
from ....patterns import LikePattern, like_matcher
from ....timeouts import Deadline
from ..elements import ONE, bind, schema_text
from ..likes import pattern_literals, render_glob, render_like
from ..logic import Const, Leaf, Test
from ..refs import Ref
from ..storage import DecimalAsDouble, InstantText
from .base import SQLDialect

__all__ = ["SQLiteDialect", "register_sqlite_functions"]

_PROGRESS_STEPS = 10_000  # virtual machine steps between clock checks: microseconds apart


class SQLiteDialect(SQLDialect):
    """SQLite with JSON1 (3.38+). Strings compare bytewise (UTF-8), which is code-point order."""

    names = ("sqlite",)
    title = "SQLite"
    explain_prefix = "EXPLAIN QUERY PLAN "
    FUNCTIONS_KEY = "crudql_functions"

    def instant_type(self) -> sa.types.TypeEngine[Any]:
        return InstantText()  # fixed-width UTC text: SQLite has no time zone type

    def decimal_type(self) -> sa.types.TypeEngine[Any]:
        return DecimalAsDouble()  # SQLite has no exact decimal: the nearest double

    @contextmanager
    def enforce(self, conn: Connection, deadline: Deadline) -> Iterator[None]:
        # In the connection's own thread: SQLite calls the handler every few thousand virtual
        # machine steps, and a true answer interrupts the statement ("interrupted").
        dbapi_connection: Any = conn.connection.dbapi_connection
        at = deadline.at
        dbapi_connection.set_progress_handler(lambda: time.monotonic() >= at, _PROGRESS_STEPS)
        try:
            yield
        finally:
            dbapi_connection.set_progress_handler(None, 0)

    def cancel(self, dbapi_connection: Any) -> None:
        dbapi_connection.interrupt()

    def is_cancelled(self, error: sa.exc.DBAPIError) -> bool:
        return isinstance(error.orig, sqlite3.OperationalError) and "interrupted" in str(error.orig)

    def plan_lines(self, rows: list[Any]) -> list[str]:
        return [" | ".join(str(v) for v in row) for row in rows]

    def prepare(self, conn: Connection) -> None:
        # conn.info belongs to the DBAPI connection and survives pool checkouts.
        if not conn.info.get(self.FUNCTIONS_KEY):
            register_sqlite_functions(conn.connection.dbapi_connection)
            conn.info[self.FUNCTIONS_KEY] = True

    @staticmethod
    def _path(names: Sequence[str]) -> str:
        out = "$"
        for n in names:
            out += f".{n}" if n.isidentifier() and n.isascii() else '."' + n + '"'
        return out

    def _locate(self, ref: Ref) -> tuple[ColumnElement[Any], list[str], tuple[str, bool] | None]:
        """(document, literal path below it, final keyed step or None).

        Schema names make up literal JSON paths; a map key (client text) is looked up with
        json_each and `key = :bound`, so it never becomes part of a path string.
        """
        assert ref.doc is not None
        doc = ref.doc
        names: list[str] = []
        steps = list(ref.steps)
        for i, (name, keyed) in enumerate(steps):
            if not keyed:
                names.append(name)
                continue
            if i == len(steps) - 1:
                return doc, names, (name, keyed)
            entry = sa.func.json_each(doc, schema_text(self._path(names))).table_valued("key", "value", "type").alias()
            # Only containers can be stepped into; a string here would be re-parsed as JSON.
            doc = (
                sa.select(entry.c.value)
                .where(entry.c.key == bind(self.check_text(name), sa.String()))
                .where(entry.c.type.in_([schema_text("object"), schema_text("array")]))
                .scalar_subquery()
            )
            names = []
        return doc, names, None

    def _keyed_entry(self, doc: ColumnElement[Any], names: list[str], key: str) -> Any:
        entry = sa.func.json_each(doc, schema_text(self._path(names))).table_valued("key", "value", "type").alias()
        return entry, entry.c.key == bind(self.check_text(key), sa.String())

    _FAMILY_TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "bool": ("true", "false"),
        "number": ("integer", "real"),
        "string": ("text",),
    }

    def scalar(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        if ref.column is not None:
            return ref.column
        doc, names, keyed = self._locate(ref)
        if keyed is not None:
            entry, on_key = self._keyed_entry(doc, names, keyed[0])
            where = on_key
            if family is not None:
                where = sa.and_(where, entry.c.type.in_([schema_text(t) for t in self._FAMILY_TYPES[family]]))
            return sa.select(entry.c.value).where(where).scalar_subquery()
        path = schema_text(self._path(names))
        value = sa.func.json_extract(doc, path)
        if family is None:
            return value
        types = [schema_text(t) for t in self._FAMILY_TYPES[family]]
        return sa.case((sa.func.json_type(doc, path).in_(types), value))

    def present(self, ref: Ref) -> Test:
        if ref.column is not None:
            return Leaf(ref.column.is_not(None))
        # json_extract is NULL for a missing path and for JSON null; objects come back as text.
        return Leaf(self.scalar(ref).is_not(None))

    def _array(self, ref: Ref) -> tuple[ColumnElement[Any], str]:
        doc, names, keyed = self._locate(ref)
        if keyed is not None:
            entry, on_key = self._keyed_entry(doc, names, keyed[0])
            doc = sa.select(entry.c.value).where(on_key).where(entry.c.type == schema_text("array")).scalar_subquery()
            names = []
        return doc, self._path(names)

    def elements(self, ref: Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        doc, path = self._array(ref)
        args = (doc,) if path == "$" else (doc, schema_text(path))
        each = sa.func.json_each(*args).table_valued("key", "value", "type").alias()
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
        # A Python function: the same matcher as the Python backend, so the same Unicode folding.
        test = sa.func.crudql_ilike(value, bind(render_like(pattern), sa.String())) == ONE
        return Leaf(test, value.is_(None))


def _sqlite_ilike(value: Any, pattern: Any) -> int | None:
    if value is None or pattern is None:
        return None
    if not isinstance(value, str) or not isinstance(pattern, str):
        return 0
    return 1 if like_matcher(pattern, True)(value) else 0


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Register crudql's SQL functions on a sqlite3 connection (deterministic: usable in indexes)."""
    dbapi_connection.create_function("crudql_ilike", 2, _sqlite_ilike, deterministic=True)
