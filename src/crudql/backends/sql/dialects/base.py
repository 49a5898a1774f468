"""The contract of a SQL dialect: everything the compiler, the tables and the source ask of an
engine, declared and documented here. Settings are class attributes; behaviour is small
methods. A dialect module subclasses `SQLDialect`, sets `names` (the SQLAlchemy dialect names
it serves) and overrides what differs; `crudql.backends.sql.dialects` finds it by name.

Nothing outside the dialects package asks which engine it runs on: column types, index
options, the EXPLAIN form, autocommit and JSON containment all come from here.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement

from ....errors import QueryError
from ....fieldtypes import Kind
from ....patterns import LikePattern
from ....timeouts import WATCHDOG, Deadline
from ....values import instant_text
from ..elements import schema_text
from ..execution import Pooled
from ..logic import AnyOf, Test
from ..refs import Ref
from ..storage import JSON_KINDS, TEXT_STORED_KINDS, UuidHex, UuidText

__all__ = ["BIND_TYPES", "CANCEL_AGAIN_AFTER", "NoSuchValue", "SQLDialect"]

CANCEL_AGAIN_AFTER = 0.05  # seconds to the second cancel request past a deadline (then doubling, up to 1 s)


class NoSuchValue(ValueError):
    """A literal a column's type cannot hold (an enum label the column's enum lacks): equal to
    no stored value."""


# Bound parameter types of literals compared with JSON values (strings need none).
BIND_TYPES: dict[Kind, sa.types.TypeEngine[Any]] = {
    Kind.INT: sa.BigInteger(),
    Kind.FLOAT: sa.Double(),
    Kind.BOOL: sa.Boolean(),
}


class SQLDialect:
    """What differs between SQL engines, as data and small methods."""

    # SQLAlchemy dialect names this dialect serves (`engine.dialect.name`).
    names: ClassVar[tuple[str, ...]] = ()
    # The engine's name in messages.
    title: ClassVar[str] = "SQL"
    # COLLATE applied to strings that are ordered (compared with < or sorted); None when the
    # engine's default string order is already code-point order.
    ordering_collation: ClassVar[str | None] = None
    # Whether ORDER BY needs NULLS FIRST/LAST to put nulls lowest (the default puts them highest).
    explicit_nulls: ClassVar[bool] = False
    # Whether the engine stores NUL characters (a NUL in a value is a client error otherwise).
    allows_nul: ClassVar[bool] = True
    # Whether array membership compiles to JSON containment (`contains_all`) rather than a
    # subquery over the elements.
    json_containment: ClassVar[bool] = False
    # Whether the driver returns JSON column values decoded (psycopg: JSONB as Python values),
    # rather than as JSON text for `json.loads`.
    json_decoded: ClassVar[bool] = False
    # Whether reads run without a transaction (saves BEGIN/ROLLBACK round trips per page).
    autocommit_reads: ClassVar[bool] = False
    # What precedes a statement to get its plan.
    explain_prefix: ClassVar[str] = "EXPLAIN "

    def __init__(self, engine_dialect: sa.Dialect | None = None) -> None:
        # The SQLAlchemy dialect, when known: it resolves column types' per-dialect variants.
        self.engine_dialect = engine_dialect

    @property
    def name(self) -> str:
        """The canonical name (the first of `names`)."""
        return self.names[0] if self.names else "sql"

    # ------------------------------------------------------------------ storage

    def column_type(self, kind: Kind, *, indexed: bool = False) -> sa.types.TypeEngine[Any]:
        """The column type crudql's own tables use for a field kind; `indexed`: the column is
        the primary key or part of an index."""
        if kind in JSON_KINDS:
            return self.json_type()
        if kind in TEXT_STORED_KINDS:
            return self.indexed_text_type() if indexed else self.text_type()
        if kind is Kind.DATETIME:
            return self.instant_type()
        if kind is Kind.UUID:
            return self.uuid_type()
        if kind is Kind.DECIMAL:
            return self.decimal_type()
        scalar: dict[Kind, sa.types.TypeEngine[Any]] = {
            Kind.INT: sa.BigInteger(),
            Kind.FLOAT: sa.Double(),
            Kind.BOOL: sa.Boolean(),
            Kind.DATE: sa.Date(),
        }
        return scalar[kind]

    def text_type(self) -> sa.types.TypeEngine[Any]:
        """Text that compares and sorts by code point."""
        return sa.Text()

    def indexed_text_type(self) -> sa.types.TypeEngine[Any]:
        """`text_type` for a column in a key or an index. Engines that cannot index unbounded
        text (MariaDB) bound its length; by default it is `text_type`."""
        return self.text_type()

    def json_type(self) -> sa.types.TypeEngine[Any]:
        """A JSON document; a missing value is SQL NULL, never the JSON text 'null'."""
        return sa.JSON(none_as_null=True)

    def instant_type(self) -> sa.types.TypeEngine[Any]:
        """An aware instant whose stored order is time order."""
        return sa.DateTime(timezone=True)

    def uuid_type(self) -> sa.types.TypeEngine[Any]:
        """A UUID: native where the engine has one; its order is its canonical text's."""
        return sa.Uuid()

    def decimal_type(self) -> sa.types.TypeEngine[Any]:
        """An exact decimal number, where the engine has one."""
        return sa.Numeric()

    def index_part(self, column: sa.Column[Any]) -> Any:
        """How a column appears in an index, so that crudql's sorts (nulls lowest) can use it."""
        return column

    def column_scalar(self, column: ColumnElement[Any], kind: Kind) -> ColumnElement[Any]:
        """A column's value as it compares for equality with a literal of `kind` (MariaDB: text by
        code point, whatever the column's collation)."""
        return column

    def select_column(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """How a page selects a column: its raw value, which the model then parses (SQLAlchemy's
        per-value result processors cost more than a small page's query). An engine whose raw
        value the model would read differently converts it here (MariaDB: trailing zeros of
        DECIMAL)."""
        return sa.type_coerce(column, sa.types.NullType())

    def shared_bind(self, bind: Engine | Connection) -> Engine | Connection | None:
        """For a bind every thread cannot share as it is, the bind to load into instead (or a
        ValueError saying what to pass); None when `bind` is fine. SQLite: in-memory engines."""
        return None

    def exclusive(self, bind: Any) -> AbstractContextManager[Any]:
        """Held while a connection of `bind` is in use. An engine whose one connection every
        thread shares (SQLite's StaticPool) must run one request at a time on it: two threads'
        statements interleaved on one connection reset each other's cursors."""
        return nullcontext()

    def check_bind(self, bind: Engine | Connection) -> None:
        """Refuse (ValueError) a bind a source cannot answer from every thread with."""

    # ------------------------------------------------------------------ connections

    def prepare(self, conn: Connection | Pooled) -> None:
        """Per-connection setup before a query (SQLite: register crudql's functions)."""

    def enforce(self, conn: Connection | Pooled, deadline: Deadline) -> AbstractContextManager[None]:
        """While the block runs, cancel inside the engine whatever `conn` runs past `deadline`.
        By default the watchdog thread calls `cancel` at the deadline."""
        return _watchdog(self, conn, deadline)

    def json_text_cursor(self, dbapi_connection: Any) -> Any:
        """A cursor of the DBAPI connection whose rows hold JSON columns as their text, for a
        driver that decodes them (`json_decoded`); pooled pages of crudql's own tables read
        through it."""
        raise NotImplementedError(f"{self.title}: no cursor for JSON text")

    def cancel(self, dbapi_connection: Any) -> None:
        """Ask the engine, from another thread, to stop the statement the connection runs."""
        raise NotImplementedError(f"{self.title}: no way to cancel a running statement")

    def is_cancelled(self, error: sa.exc.DBAPIError) -> bool:
        """Whether a driver error is the engine reporting a statement cancelled by `enforce`."""
        return False

    def plan_lines(self, rows: list[Any]) -> list[str]:
        """The rows an `explain_prefix` statement returns, as lines of text."""
        return [str(row[0]) for row in rows]

    # ------------------------------------------------------------------ values the client sends

    def check_text(self, text: str) -> str:
        """A client string the engine can compare, or a `QueryError` saying why not."""
        if not self.allows_nul and "\x00" in text:
            raise QueryError(f"{self.title} cannot compare strings with a NUL character (\\u0000)", code="value")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise QueryError(
                "strings must be valid Unicode: an unpaired surrogate cannot be compared", code="value"
            ) from None
        return text

    def literal_value(self, value: Any, kind: Kind) -> Any:
        """A checked literal in the form a typed column's values have."""
        if isinstance(value, str):
            self.check_text(value)
            if kind is Kind.UUID:
                return uuid.UUID(value)
        if isinstance(value, enum.Enum):
            value = value.value
        return value

    def json_literal(self, value: Any, kind: Kind) -> Any:
        """A literal as it is written inside stored JSON (instants as fixed-width text, UUIDs
        as canonical text)."""
        if isinstance(value, str):
            return self.check_text(value)
        value = self.literal_value(value, kind)
        if isinstance(value, dt.datetime):
            return instant_text(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def column_literal(self, column_type: sa.types.TypeEngine[Any], value: Any, kind: Kind) -> Any:
        """A literal as a column of `column_type` holds it, whatever the column's type: a naive
        DATETIME holds UTC wall time, a UUID in a text column its canonical text, an ORM enum
        column the enum member (SQLAlchemy stores its name or value as the column says)."""
        if isinstance(column_type, sa.Enum) and column_type.enum_class is not None:
            member = next((m for m in column_type.enum_class if getattr(m, "value", None) == value), None)
            if member is None:
                raise NoSuchValue(value)
            return member
        if kind is Kind.UUID and isinstance(value, str):
            self.check_text(value)
            return uuid.UUID(value) if isinstance(column_type, sa.Uuid) else value
        if kind is Kind.DATETIME and isinstance(value, dt.datetime) and isinstance(column_type, sa.DateTime):
            if not column_type.timezone:
                return value.astimezone(dt.timezone.utc).replace(tzinfo=None)  # naive means UTC
        return self.literal_value(value, kind)

    def enum_text(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """An enum column as its values' text (what enums compare, sort and match LIKE by),
        whatever the column stores: an ORM enum's names, or a native enum type's labels."""
        enum_type = column.type
        assert isinstance(enum_type, sa.Enum)
        text = sa.cast(column, sa.Text())
        if enum_type.enum_class is None:
            return text
        stored = enum_type.enums  # what the column holds, in the order of enum_class
        values = [str(getattr(m, "value", m)) for m in enum_type.enum_class]
        if stored == values:
            return text
        return sa.case(*((text == schema_text(s), schema_text(v)) for s, v in zip(stored, values)), else_=sa.null())

    def json_document(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON column (or expression) as the document type JSON navigation expects."""
        return expr

    def array_elements(self, array: ColumnElement[Any]) -> tuple[Any, ColumnElement[Any]]:
        """(FROM item, element value) for an array column (PostgreSQL ARRAY)."""
        raise NotImplementedError(f"{self.title} has no array columns")

    def bind_type(self, ref: Ref, kind: Kind) -> sa.types.TypeEngine[Any]:
        """The type to bind a literal compared with the field as."""
        if ref.column is not None and kind is ref.kind:
            ctype = ref.column.type
            # A table read back by name has plain column types: bind instants and UUIDs in
            # the form crudql's own tables (or anyone's text columns) hold them.
            if kind is Kind.DATETIME and isinstance(ctype, sa.String):
                return self.instant_type()
            if kind is Kind.UUID and not isinstance(ctype, sa.Uuid):
                return UuidHex() if getattr(ctype, "length", None) == 32 else UuidText()
            return ctype
        if kind is Kind.DECIMAL:
            return self.decimal_type()
        return BIND_TYPES.get(kind, sa.String())

    # ------------------------------------------------------------------ JSON access

    def scalar(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        """The field's value, typed for comparison; with `family` (untyped fields), only values
        of that JSON family ("bool", "number", "string"), NULL for the others."""
        raise NotImplementedError

    def present(self, ref: Ref) -> Test:
        """The field is present and not null."""
        raise NotImplementedError

    def elements(self, ref: Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        """(FROM item, element JSON document, guard) for iterating an array; `members`: the
        caller only tests elements for equality with non-null values."""
        raise NotImplementedError

    def element_scalar(self, element: Any, kind: Kind, family: str | None = None) -> ColumnElement[Any]:
        """An array element (from `elements`) as a comparable scalar of `kind`."""
        raise NotImplementedError

    def element_text(self, element: Any) -> ColumnElement[Any]:
        """An array element's text when it is a JSON string, NULL otherwise."""
        raise NotImplementedError

    def contains(self, ref: Ref) -> bool:
        """Whether membership tests on this array (`has`, `has-any`, `has-all`) compile to
        `contains_all` rather than a subquery over its elements: `json_containment` by default."""
        return self.json_containment

    def contains_all(self, ref: Ref, payload: list[Any]) -> Test:
        """The array holds every value of `payload` (JSON values); where `contains(ref)`."""
        raise NotImplementedError

    # ------------------------------------------------------------------ text and order

    def like(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        """Case-sensitive LIKE over the whole string (`_` one character, `%` any run)."""
        raise NotImplementedError

    def ilike(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        """LIKE with Unicode case folding identical to Python's `re.IGNORECASE`."""
        raise NotImplementedError

    def like_any(self, value: ColumnElement[Any], patterns: list[LikePattern], ignore_case: bool) -> Test:
        """Some pattern matches (`like`/`ilike` of each): one test for many alternatives on one
        field, which an engine may evaluate far more cheaply than one test each."""
        return AnyOf(tuple(self.ilike(value, p) if ignore_case else self.like(value, p) for p in patterns))

    def fold(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        """`text` case-folded as `crudql.backends.sql.casefold.fold_text` folds a Python string."""
        raise NotImplementedError

    def ordered(self, expr: ColumnElement[Any], ref: Ref) -> ColumnElement[Any]:
        """`expr` as it compares with `<` and sorts: strings by code point."""
        if ref.column is not None and isinstance(ref.column.type, sa.Enum):
            text = self.enum_text(ref.column)  # by value, not by a native enum's declaration order
            return text if self.ordering_collation is None else sa.collate(text, self.ordering_collation)
        if self.ordering_collation is None or ref.kind not in (*TEXT_STORED_KINDS, Kind.UUID, Kind.DATETIME, Kind.DATE):
            return expr
        if ref.column is not None:
            if ref.kind not in TEXT_STORED_KINDS:
                return expr  # a typed column (timestamptz, date) orders by value already
            ctype = (
                ref.column.type if self.engine_dialect is None else ref.column.type.dialect_impl(self.engine_dialect)
            )
            if getattr(ctype, "collation", None) == self.ordering_collation:
                return expr  # no COLLATE, so an index on the column serves the order
        return sa.collate(expr, self.ordering_collation)

    def sort_nulls(self, clause: Any, descending: bool, nullable: bool) -> Any:
        """An ORDER BY clause with nulls lowest: first ascending, last descending."""
        if not self.explicit_nulls or not nullable:
            return clause
        return clause.nulls_last() if descending else clause.nulls_first()


@contextmanager
def _watchdog(dialect: SQLDialect, conn: Connection | Pooled, deadline: Deadline) -> Iterator[None]:
    dbapi_connection = conn.connection.dbapi_connection
    # Sent again until the request ends: a cancel that reaches the server between two
    # statements (or before the first has started) stops nothing, and the next would run on.
    alarm = WATCHDOG.arm(deadline, lambda: dialect.cancel(dbapi_connection), every=CANCEL_AGAIN_AFTER)
    try:
        yield
    finally:
        alarm.disarm()
