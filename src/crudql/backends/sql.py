"""SQL backend: a checked AST compiled to SQLAlchemy Core for SQLite and PostgreSQL.

Storage: every top-level field of the model is one column, named by its Python name. Scalars
(strings, numbers, booleans, enums, datetimes, dates) are typed columns; objects, arrays, maps
and untyped values are one JSON column each (SQLite JSON1 text, PostgreSQL JSONB). Datetimes
are instants: TIMESTAMPTZ on PostgreSQL and, in SQLite columns and inside JSON, fixed-width
UTC text (`2024-01-31T12:00:00.000000Z`), whose text order is time order.

Semantics (spec section 2) without SQL's three-valued logic: the compiler pushes every `not`
down to the leaves (negation normal form). A positive leaf may be UNKNOWN where the spec says
false, which is harmless because AND, OR, EXISTS and WHERE are monotone and treat UNKNOWN like
FALSE. A negated leaf adds an explicit `IS NULL` branch for exactly the rows where its positive
form is UNKNOWN, so `(not P)` is true exactly where `P` is not.

Safety: values are bound parameters. The only text rendered into SQL is schema names (the
model's field aliases, which form JSON paths, rendered by SQLAlchemy's literal renderer so
expression indexes can match) and constants of this module. Map keys, which come from the
client, are bound parameters too.

Per-dialect differences live in `SQLiteDialect` and `PostgresDialect`: JSON navigation, array
iteration, LIKE (GLOB on SQLite, which is case-sensitive), case folding, collation and NULLS
ordering. The `FilterCompiler` holds one method per node kind and per operator.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from ..ast import And, Expr, Field, ListValue, Literal, Not, Or, Predicate, Quantified
from ..errors import QueryError, RequestError
from ..operators import Kind, lookup
from ..patterns import WILDCARD_ONE, LikePattern, escape_like, like_matcher, parse_like
from ..schema import FieldType, Schema
from ..sort import SortKey

__all__ = [
    "SQLSource",
    "SQLDialect",
    "SQLiteDialect",
    "PostgresDialect",
    "FilterCompiler",
    "TableMapping",
    "UTCDateTime",
    "compile_filter",
    "compile_order",
    "dialect_for",
    "table_for_model",
    "create_indexes",
    "register_sqlite_functions",
    "to_row",
    "instant_text",
]

JSON_KINDS = frozenset({Kind.OBJECT, Kind.ARRAY, Kind.DICT, Kind.ANY})
TEXT_STORED_KINDS = frozenset({Kind.STRING, Kind.ENUM})


# ---------------------------------------------------------------------------- stored values


def instant_text(value: dt.datetime) -> str:
    """An instant as fixed-width UTC text: text order is time order, for every year 1..9999."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # a naive time is UTC (spec section 2)
    else:
        value = value.astimezone(dt.timezone.utc)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse_instant_text(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.timezone.utc)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """An aware instant: TIMESTAMPTZ on PostgreSQL, fixed-width UTC text elsewhere."""

    impl = sa.String(27)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.DateTime(timezone=True))
        return dialect.type_descriptor(sa.String(27))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return value  # already stored form (a comparison against preformatted text)
        if dialect.name == "postgresql":
            return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
        return instant_text(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return _parse_instant_text(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _json_type() -> sa.types.TypeEngine[Any]:
    # none_as_null: a missing object is SQL NULL, never the JSON text 'null'.
    return sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _text_type() -> sa.types.TypeEngine[Any]:
    # Code-point order (spec section 2): PostgreSQL's "C" collation; SQLite's default BINARY is already.
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


_COLUMN_TYPES: dict[Kind, Callable[[], sa.types.TypeEngine[Any]]] = {
    Kind.STRING: _text_type,
    Kind.ENUM: _text_type,
    Kind.INT: sa.BigInteger,
    Kind.FLOAT: lambda: sa.Double(),
    Kind.BOOL: sa.Boolean,
    Kind.DATETIME: UTCDateTime,
    Kind.DATE: sa.Date,
}


class _UnstorableValue(ValueError):
    pass


def _storage_text(text: str, where: str) -> str:
    # SQLite's JSON and pattern functions stop at NUL, PostgreSQL rejects it: refuse it on load.
    if "\x00" in text:
        raise _UnstorableValue(f"{where}: strings with a NUL character cannot be stored in SQL")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _UnstorableValue(f"{where}: strings with unpaired surrogates cannot be stored in SQL") from None
    return text


def _storage_json(value: Any, where: str) -> Any:
    """A value as JSON for storage: instants as fixed-width UTC text, enums as their values."""
    if value is None or isinstance(value, (bool, int)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, str):
        return _storage_text(value.value if isinstance(value, enum.Enum) else str(value), where)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _UnstorableValue(f"{where}: {value} is not a JSON number")
        return value
    if isinstance(value, enum.Enum):
        return _storage_json(value.value, where)
    if isinstance(value, dt.datetime):
        return instant_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {_storage_text(str(k), where): _storage_json(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_storage_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, decimal.Decimal):
        return _storage_json(float(value), where)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return _storage_json(value.model_dump(mode="python", by_alias=True, exclude_unset=True), where)
    raise _UnstorableValue(f"{where}: cannot store a {type(value).__name__} in SQL")


def _storage_scalar(value: Any, kind: Kind, where: str) -> Any:
    """A top-level scalar column's value."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    if kind is Kind.DATETIME:
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    if kind in TEXT_STORED_KINDS:
        return _storage_text(str(value), where)
    if kind is Kind.FLOAT and not math.isfinite(value):
        raise _UnstorableValue(f"{where}: {value} cannot be compared like the other backends do")
    return value


# ---------------------------------------------------------------------------- tables


def table_for_model(
    model: type[BaseModel], metadata: sa.MetaData, name: str, *, schema: str | None = None
) -> sa.Table:
    """The table crudql stores a model in: one column per top-level field, by Python name.

    `id` (when the model has it) is the primary key; required fields are NOT NULL.
    """
    columns = []
    for fname, sf in Schema.from_model(model).fields.items():
        kind = sf.type.kind
        ctype = _json_type() if kind in JSON_KINDS else _COLUMN_TYPES[kind]()
        required = model.model_fields[fname].is_required()
        columns.append(sa.Column(fname, ctype, primary_key=fname == "id", nullable=not required and fname != "id"))
    return sa.Table(name, metadata, *columns, schema=schema)


def create_indexes(table: sa.Table, conn: Connection, names: Iterable[str] = ("organization_id", "creation_time")) -> None:
    """The default indexes: one on each named column and one on (organization_id, creation_time).

    On PostgreSQL the ordered columns are indexed NULLS FIRST: crudql sorts nulls lowest, so
    ascending is NULLS FIRST and descending NULLS LAST, and both are scans of such an index.
    """
    pg = conn.dialect.name == "postgresql"

    def part(column: sa.Column[Any]) -> Any:
        return column.asc().nulls_first() if pg and column.nullable and column.name != "organization_id" else column

    present = [table.c[n] for n in names if n in table.c]
    for column in present:
        sa.Index(f"ix_{table.name}_{column.name}", part(column)).create(conn)
    if "organization_id" in table.c and "creation_time" in table.c:
        sa.Index(
            f"ix_{table.name}_organization_id_creation_time",
            table.c.organization_id,
            part(table.c.creation_time),
        ).create(conn)


def to_row(record: BaseModel, table_columns: dict[str, tuple[str, FieldType]]) -> dict[str, Any]:
    """One record as column values (`table_columns`: column name -> (alias, field type))."""
    dumped = record.model_dump(mode="python", by_alias=True, exclude_unset=True)
    row: dict[str, Any] = {}
    for column, (alias, ftype) in table_columns.items():
        value = dumped.get(alias)
        if ftype.kind in JSON_KINDS:
            row[column] = None if value is None else _storage_json(value, alias)
        else:
            row[column] = _storage_scalar(value, ftype.kind, alias)
    return row


@dataclass(frozen=True)
class _ColumnInfo:
    column: sa.Column[Any]
    alias: str
    type: FieldType

    @property
    def is_json(self) -> bool:
        return self.type.kind in JSON_KINDS


class TableMapping:
    """Which column holds which top-level field of the model (by Python name, else by alias)."""

    def __init__(self, table: sa.Table, schema: Schema) -> None:
        self.table = table
        self.schema = schema
        self.fields: dict[str, _ColumnInfo] = {}
        missing = []
        for name, sf in schema.fields.items():
            column = table.c.get(name)
            if column is None:
                column = table.c.get(sf.alias)
            if column is None:
                missing.append(name)
                continue
            self.fields[name] = _ColumnInfo(column, sf.alias, sf.type)
        if missing:
            raise ValueError(
                f"table {table.name!r} has no column for {', '.join(missing)} of {schema.model.__name__}"
            )

    def __getitem__(self, name: str) -> _ColumnInfo:
        return self.fields[name]

    def storage_columns(self) -> dict[str, tuple[str, FieldType]]:
        return {info.column.key: (info.alias, info.type) for info in self.fields.values()}


# ---------------------------------------------------------------------------- SQL helpers


class _Parenthesized(ColumnElement[bool]):
    """`( clause )`: SQLAlchemy flattens nested AND/OR, but SQLite's parser nests a flat
    chain one level per operand and fails past 1,000. Parentheses keep long chains shallow."""

    __visit_name__ = "crudql_parenthesized"
    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]
    type = sa.Boolean()

    def __init__(self, element: ColumnElement[bool]) -> None:
        self.element = element


@compiles(_Parenthesized)
def _render_parenthesized(element: _Parenthesized, compiler: Any, **kw: Any) -> str:
    return "(" + compiler.process(element.element, **kw) + ")"


_CHUNK = 50


def _junction(fn: Callable[..., ColumnElement[bool]], parts: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    """and_/or_ over many parts as a shallow tree of parenthesized chunks."""
    parts = list(parts)
    while len(parts) > _CHUNK:
        parts = [_Parenthesized(fn(*parts[i : i + _CHUNK])) for i in range(0, len(parts), _CHUNK)]
    return fn(*parts)


class _SchemaLiteral(ColumnElement[str]):
    """A schema-derived constant (JSON path, key, type name) rendered as an SQL string literal.

    Rendering it (rather than binding it) lets expression indexes on JSON paths match. The
    text comes from the model, never from the client; SQLAlchemy's literal renderer quotes it.
    Unlike `literal(..., literal_execute=True)` it is part of the compiled (cached) SQL, so
    executing a cached statement re-renders nothing.
    """

    __visit_name__ = "crudql_schema_literal"
    inherit_cache = True
    _traverse_internals = [("text", InternalTraversal.dp_string)]
    type = sa.String()

    def __init__(self, text: str) -> None:
        self.text = text


@compiles(_SchemaLiteral)
def _render_schema_literal(element: _SchemaLiteral, compiler: Any, **kw: Any) -> str:
    return compiler.render_literal_value(element.text, sa.String())  # type: ignore[no-any-return]


def _name(text: str) -> ColumnElement[Any]:
    return _SchemaLiteral(text)


def _bind(value: Any, type_: sa.types.TypeEngine[Any] | None = None) -> ColumnElement[Any]:
    return sa.bindparam(None, value, type_=type_, unique=True)


def _binds(values: Sequence[Any], type_: sa.types.TypeEngine[Any]) -> list[ColumnElement[Any]]:
    """One bound parameter per list item. A statement is built for one filter, so an
    "expanding" parameter would only add SQLAlchemy's per-execution re-rendering."""
    return [_bind(v, type_) for v in values]


_ONE = sa.literal_column("1")


def _exists(from_: Any, where: ColumnElement[bool]) -> ColumnElement[bool]:
    return sa.exists(sa.select(_ONE).select_from(from_).where(where))


# ---------------------------------------------------------------------------- case folding

# Python's re.IGNORECASE (the Python backend's ilike/icontains) matches two characters when
# their simple lowercase mappings are equal or are listed together in re's table of extra
# cases (s/ſ, σ/ς, θ/ϑ, ...). `fold` maps a character to one representative of that class.


def _extra_cases() -> dict[int, tuple[int, ...]]:
    try:
        from re import _casefix  # type: ignore[attr-defined]  # Python 3.11+

        return dict(_casefix._EXTRA_CASES)
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_compile

        return {k: tuple(v) for k, v in getattr(sre_compile, "_ignorecase_fixes", {}).items()}


def _class_representatives() -> dict[str, str]:
    reps: dict[str, str] = {}
    for lower, others in _extra_cases().items():
        group = {lower, *others}
        rep = chr(min(group))
        for code in group:
            if chr(code) != rep:
                reps[chr(code)] = rep
    return reps


_CLASS_REP = _class_representatives()
# For PostgreSQL: translate(lower(x), FROM, TO) applies the same representatives in SQL.
FOLD_FROM = "".join(sorted(_CLASS_REP))
FOLD_TO = "".join(_CLASS_REP[c] for c in sorted(_CLASS_REP))


def _simple_lower(c: str) -> str:
    try:
        import _sre

        return chr(_sre.unicode_tolower(ord(c)))  # exactly what re.IGNORECASE uses
    except (ImportError, AttributeError):  # pragma: no cover - other Pythons
        lowered = c.lower()
        return lowered if len(lowered) == 1 else c


@lru_cache(maxsize=4096)
def fold(c: str) -> str:
    lowered = _simple_lower(c)
    return _CLASS_REP.get(lowered, lowered)


def fold_text(text: str) -> str:
    return "".join(fold(c) for c in text)


# ---------------------------------------------------------------------------- LIKE rendering


def _render_like(pattern: LikePattern, literal: Callable[[str], str] = escape_like) -> str:
    """A LIKE pattern in canonical form (only `%`, `_` and `\\` escaped)."""
    return "%".join(
        "".join("_" if item is WILDCARD_ONE else literal(item) for item in segment)  # type: ignore[arg-type]
        for segment in pattern.segments
    )


def _glob_literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _render_glob(pattern: LikePattern) -> str:
    """The same pattern as an SQLite GLOB (case-sensitive, `?` is one character)."""
    return "*".join(
        "".join("?" if item is WILDCARD_ONE else _glob_literal(item) for item in segment)  # type: ignore[arg-type]
        for segment in pattern.segments
    )


def _pattern_literals(pattern: LikePattern) -> Iterator[str]:
    for segment in pattern.segments:
        for item in segment:
            if isinstance(item, str):
                yield item


# ---------------------------------------------------------------------------- tests (NNF leaves)


class _Test:
    """A boolean condition that can render itself positively or negated, two-valued."""

    def positive(self) -> ColumnElement[bool]:
        raise NotImplementedError

    def negative(self) -> ColumnElement[bool]:
        raise NotImplementedError


@dataclass(frozen=True)
class _Leaf(_Test):
    """`test` may be UNKNOWN exactly where `unknown` is true (None: never UNKNOWN)."""

    test: ColumnElement[bool]
    unknown: ColumnElement[bool] | None = None

    def positive(self) -> ColumnElement[bool]:
        return self.test

    def negative(self) -> ColumnElement[bool]:
        negated = sa.not_(self.test)
        return negated if self.unknown is None else sa.or_(negated, self.unknown)


@dataclass(frozen=True)
class _Const(_Test):
    value: bool

    def positive(self) -> ColumnElement[bool]:
        return sa.true() if self.value else sa.false()

    def negative(self) -> ColumnElement[bool]:
        return sa.false() if self.value else sa.true()


@dataclass(frozen=True)
class _AnyOf(_Test):
    parts: tuple[_Test, ...]

    def positive(self) -> ColumnElement[bool]:
        return _junction(sa.or_, [p.positive() for p in self.parts])

    def negative(self) -> ColumnElement[bool]:
        return _junction(sa.and_, [p.negative() for p in self.parts])


@dataclass(frozen=True)
class _AllOf(_Test):
    parts: tuple[_Test, ...]

    def positive(self) -> ColumnElement[bool]:
        return _junction(sa.and_, [p.positive() for p in self.parts])

    def negative(self) -> ColumnElement[bool]:
        return _junction(sa.or_, [p.negative() for p in self.parts])


# ---------------------------------------------------------------------------- field references


@dataclass(frozen=True)
class _Ref:
    """Where a field's value lives: a plain column, or a path inside a JSON document.

    `steps` are (JSON name, keyed) pairs; keyed steps are map keys, which come from the client
    and are bound, never rendered.
    """

    kind: Kind
    type: FieldType
    column: sa.Column[Any] | None = None  # a plain scalar column
    doc: ColumnElement[Any] | None = None  # a JSON document (column or array element)
    steps: tuple[tuple[str, bool], ...] = ()
    nullable: bool = True

    @property
    def item_kind(self) -> Kind:
        return self.type.item.kind if self.type.item is not None else Kind.ANY


_FAMILY_OF: dict[type, str] = {bool: "bool", int: "number", float: "number", str: "string"}


def _family(value: Any) -> str | None:
    """The JSON family of a literal, for untyped (Any) fields: true != 1, "1" != 1, 1 == 1.0."""
    for cls, family in _FAMILY_OF.items():
        if isinstance(value, cls):
            return family
    return None


# ---------------------------------------------------------------------------- dialects


class SQLDialect:
    """What differs between SQL engines, as data and small methods."""

    name: ClassVar[str] = "generic"
    # COLLATE applied to strings that are ordered (compared with < or sorted).
    ordering_collation: ClassVar[str | None] = None
    # Whether ORDER BY needs NULLS FIRST/LAST to put nulls lowest.
    explicit_nulls: ClassVar[bool] = False
    # Whether the engine stores NUL characters (a NUL in a value is a client error otherwise).
    allows_nul: ClassVar[bool] = True
    # Whether array membership compiles to JSON containment (`array @> '[v]'`) rather than a
    # subquery over the elements.
    json_containment: ClassVar[bool] = False

    def __init__(self, engine_dialect: sa.Dialect | None = None) -> None:
        # The SQLAlchemy dialect, when known: it resolves column types' per-dialect variants.
        self.engine_dialect = engine_dialect

    # -- values the client sends

    def check_text(self, text: str) -> str:
        if not self.allows_nul and "\x00" in text:
            raise QueryError(f"{self.title} cannot compare strings with a NUL character (\\u0000)", code="value")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise QueryError("strings must be valid Unicode: an unpaired surrogate cannot be compared", code="value") from None
        return text

    @property
    def title(self) -> str:
        return self.name

    def literal_value(self, value: Any, kind: Kind) -> Any:
        """A checked literal in the form the stored values have."""
        if isinstance(value, str):
            self.check_text(value)
        if isinstance(value, enum.Enum):
            value = value.value
        if kind is Kind.DATETIME and isinstance(value, dt.datetime):
            return value
        if kind is Kind.DATE and isinstance(value, dt.date):
            return value
        return value

    def json_literal(self, value: Any, kind: Kind) -> Any:
        """A literal as it is written inside stored JSON (instants as fixed-width text)."""
        value = self.literal_value(value, kind)
        if isinstance(value, dt.datetime):
            return instant_text(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    # -- per connection

    def prepare(self, conn: Connection) -> None:
        """Per-connection setup (SQLite: register functions)."""

    # -- JSON access (overridden per dialect)

    def scalar(self, ref: _Ref, family: str | None = None) -> ColumnElement[Any]:
        raise NotImplementedError

    def present(self, ref: _Ref) -> _Test:
        raise NotImplementedError

    def elements(self, ref: _Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        """(FROM item, element JSON document, guard) for iterating an array; `members`: the
        caller only tests elements for equality with non-null values."""
        raise NotImplementedError

    def element_scalar(self, element: Any, kind: Kind, family: str | None = None) -> ColumnElement[Any]:
        raise NotImplementedError

    def array(self, ref: _Ref) -> ColumnElement[Any]:
        """The array as one JSON value (for dialects with `json_containment`)."""
        raise NotImplementedError

    def like(self, value: ColumnElement[Any], pattern: LikePattern) -> _Test:
        raise NotImplementedError

    def ilike(self, value: ColumnElement[Any], pattern: LikePattern) -> _Test:
        raise NotImplementedError

    # -- shared

    def ordered(self, expr: ColumnElement[Any], ref: _Ref) -> ColumnElement[Any]:
        """`expr` as it compares with `<` and sorts: strings by code point."""
        if self.ordering_collation is None or ref.kind not in (*TEXT_STORED_KINDS, Kind.DATETIME, Kind.DATE):
            return expr
        if ref.column is not None:
            if ref.kind not in TEXT_STORED_KINDS:
                return expr  # a typed column (timestamptz, date) orders by value already
            ctype = ref.column.type if self.engine_dialect is None else ref.column.type.dialect_impl(self.engine_dialect)
            if getattr(ctype, "collation", None) == self.ordering_collation:
                return expr  # no COLLATE, so an index on the column serves the order
        return sa.collate(expr, self.ordering_collation)

    def bind_type(self, ref: _Ref, kind: Kind) -> sa.types.TypeEngine[Any]:
        if ref.column is not None and kind is ref.kind:
            return ref.column.type
        return _BIND_TYPES.get(kind, sa.String())

    def sort_nulls(self, clause: Any, descending: bool, nullable: bool) -> Any:
        if not self.explicit_nulls or not nullable:
            return clause
        return clause.nulls_last() if descending else clause.nulls_first()


_BIND_TYPES: dict[Kind, sa.types.TypeEngine[Any]] = {
    Kind.INT: sa.BigInteger(),
    Kind.FLOAT: sa.Double(),
    Kind.BOOL: sa.Boolean(),
}


class SQLiteDialect(SQLDialect):
    """SQLite with JSON1 (3.38+). Strings compare bytewise (UTF-8), which is code-point order."""

    name = "sqlite"
    title = "SQLite"  # type: ignore[assignment]
    FUNCTIONS_KEY = "crudql_functions"

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

    def _locate(self, ref: _Ref) -> tuple[ColumnElement[Any], list[str], tuple[str, bool] | None]:
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
            entry = sa.func.json_each(doc, _name(self._path(names))).table_valued("key", "value", "type").alias()
            # Only containers can be stepped into; a string here would be re-parsed as JSON.
            doc = (
                sa.select(entry.c.value)
                .where(entry.c.key == _bind(self.check_text(name), sa.String()))
                .where(entry.c.type.in_([_name("object"), _name("array")]))
                .scalar_subquery()
            )
            names = []
        return doc, names, None

    def _keyed_entry(self, doc: ColumnElement[Any], names: list[str], key: str) -> Any:
        entry = sa.func.json_each(doc, _name(self._path(names))).table_valued("key", "value", "type").alias()
        return entry, entry.c.key == _bind(self.check_text(key), sa.String())

    _FAMILY_TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "bool": ("true", "false"),
        "number": ("integer", "real"),
        "string": ("text",),
    }

    def scalar(self, ref: _Ref, family: str | None = None) -> ColumnElement[Any]:
        if ref.column is not None:
            return ref.column
        doc, names, keyed = self._locate(ref)
        if keyed is not None:
            entry, on_key = self._keyed_entry(doc, names, keyed[0])
            where = on_key
            if family is not None:
                where = sa.and_(where, entry.c.type.in_([_name(t) for t in self._FAMILY_TYPES[family]]))
            return sa.select(entry.c.value).where(where).scalar_subquery()
        path = _name(self._path(names))
        value = sa.func.json_extract(doc, path)
        if family is None:
            return value
        types = [_name(t) for t in self._FAMILY_TYPES[family]]
        return sa.case((sa.func.json_type(doc, path).in_(types), value))

    def present(self, ref: _Ref) -> _Test:
        if ref.column is not None:
            return _Leaf(ref.column.is_not(None))
        # json_extract is NULL for a missing path and for JSON null; objects come back as text.
        return _Leaf(self.scalar(ref).is_not(None))

    def _array(self, ref: _Ref) -> tuple[ColumnElement[Any], str]:
        doc, names, keyed = self._locate(ref)
        if keyed is not None:
            entry, on_key = self._keyed_entry(doc, names, keyed[0])
            doc = sa.select(entry.c.value).where(on_key).where(entry.c.type == _name("array")).scalar_subquery()
            names = []
        return doc, self._path(names)

    def elements(self, ref: _Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        doc, path = self._array(ref)
        args = (doc,) if path == "$" else (doc, _name(path))
        each = sa.func.json_each(*args).table_valued("key", "value", "type").alias()
        element_doc = sa.case((each.c.type == _name("object"), each.c.value))
        if members:
            # Membership tests (value = :v) need no guard: the one row json_each yields for a
            # JSON null has a NULL value, which matches nothing. (The model guarantees arrays.)
            return each, element_doc, None
        # For any/all: that row (key NULL) is no element, and would make `all` false; only
        # integer keys are array elements.
        guard = sa.func.typeof(each.c.key) == _name("integer")
        return each, element_doc, guard

    def element_scalar(self, element: Any, kind: Kind, family: str | None = None) -> ColumnElement[Any]:
        if family is None:
            return element.c.value
        return sa.case((element.c.type.in_([_name(t) for t in self._FAMILY_TYPES[family]]), element.c.value))

    def element_text(self, element: Any) -> ColumnElement[Any]:
        return sa.case((element.c.type == _name("text"), element.c.value))

    def like(self, value: ColumnElement[Any], pattern: LikePattern) -> _Test:
        if any("\x00" in text for text in _pattern_literals(pattern)):
            # Stored strings hold no NUL (loading refuses them), and GLOB would stop at one.
            return _Const(False)
        return _Leaf(value.op("GLOB", is_comparison=True)(_bind(_render_glob(pattern), sa.String())), value.is_(None))

    def ilike(self, value: ColumnElement[Any], pattern: LikePattern) -> _Test:
        # A Python function: the same matcher as the Python backend, so the same Unicode folding.
        test = sa.func.crudql_ilike(value, _bind(_render_like(pattern), sa.String())) == _ONE
        return _Leaf(test, value.is_(None))


class PostgresDialect(SQLDialect):
    """PostgreSQL 12+ with JSONB, through psycopg 3."""

    name = "postgresql"
    title = "PostgreSQL"  # type: ignore[assignment]
    ordering_collation = "C"
    explicit_nulls = True
    allows_nul = False
    json_containment = True
    # A libc collation whose lower() is Unicode's simple lowercase mapping, as re's is.
    case_collation: ClassVar[str] = "C.utf8"

    _CASTS: ClassVar[dict[Kind, sa.types.TypeEngine[Any]]] = {
        Kind.INT: sa.Numeric(),  # exact for any integer; bigint would fail on larger ones
        Kind.FLOAT: sa.Double(),  # the same doubles Python compares
        Kind.BOOL: sa.Boolean(),
    }
    _FAMILY_TYPES: ClassVar[dict[str, str]] = {"bool": "boolean", "number": "number", "string": "string"}
    _FAMILY_KIND: ClassVar[dict[str, Kind]] = {"bool": Kind.BOOL, "number": Kind.FLOAT, "string": Kind.STRING}

    def _key(self, name: str, keyed: bool) -> ColumnElement[Any]:
        return _bind(self.check_text(name), sa.Text()) if keyed else _name(name)

    def _json(self, ref: _Ref) -> ColumnElement[Any]:
        """The field's value as JSONB (SQL NULL when missing)."""
        assert ref.doc is not None
        doc = ref.doc
        for name, keyed in ref.steps:
            doc = doc.op("->", return_type=JSONB)(self._key(name, keyed))
        return doc

    def _text(self, ref: _Ref) -> ColumnElement[Any]:
        """The field's value as text (`->>`: SQL NULL for missing and for JSON null)."""
        assert ref.doc is not None
        if not ref.steps:
            return ref.doc.op("#>>", return_type=sa.Text)(_name("{}"))
        doc = ref.doc
        *init, (name, keyed) = ref.steps
        for n, k in init:
            doc = doc.op("->", return_type=JSONB)(self._key(n, k))
        return doc.op("->>", return_type=sa.Text)(self._key(name, keyed))

    def _typed(self, text: ColumnElement[Any], kind: Kind) -> ColumnElement[Any]:
        cast = self._CASTS.get(kind)
        return text if cast is None else sa.cast(text, cast)

    def scalar(self, ref: _Ref, family: str | None = None) -> ColumnElement[Any]:
        if ref.column is not None:
            return ref.column
        if family is None:
            return self._typed(self._text(ref), ref.kind)
        # Cast only values of the right JSON type: a CASE keeps the cast from ever failing.
        value = self._json(ref)
        return sa.case(
            (
                sa.func.jsonb_typeof(value) == _name(self._FAMILY_TYPES[family]),
                self._typed(value.op("#>>", return_type=sa.Text)(_name("{}")), self._FAMILY_KIND[family]),
            )
        )

    def present(self, ref: _Ref) -> _Test:
        if ref.column is not None:
            return _Leaf(ref.column.is_not(None))
        if ref.steps and ref.kind not in JSON_KINDS:
            # ->> is NULL for missing and JSON null alike, and an index on the path serves it.
            return _Leaf(self._text(ref).is_not(None))
        # Containers: test the JSON type instead of serializing the object with ->>.
        value = self._json(ref)
        return _Leaf(sa.func.jsonb_typeof(value) != _name("null"), value.is_(None))

    def array(self, ref: _Ref) -> ColumnElement[Any]:
        return self._json(ref)

    def elements(self, ref: _Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        value = self._json(ref)
        # jsonb_array_elements raises on a non-array (JSON null included); NULL yields no rows.
        guarded = sa.case((sa.func.jsonb_typeof(value) == _name("array"), value))
        each = sa.func.jsonb_array_elements(guarded).table_valued("value").alias()
        return each, each.c.value, None

    def element_scalar(self, element: Any, kind: Kind, family: str | None = None) -> ColumnElement[Any]:
        text = element.c.value.op("#>>", return_type=sa.Text)(_name("{}"))
        if family is None:
            return self._typed(text, kind)
        return sa.case(
            (
                sa.func.jsonb_typeof(element.c.value) == _name(self._FAMILY_TYPES[family]),
                self._typed(text, self._FAMILY_KIND[family]),
            )
        )

    def element_text(self, element: Any) -> ColumnElement[Any]:
        return sa.case(
            (
                sa.func.jsonb_typeof(element.c.value) == _name("string"),
                element.c.value.op("#>>", return_type=sa.Text)(_name("{}")),
            )
        )

    def like(self, value: ColumnElement[Any], pattern: LikePattern) -> _Test:
        return _Leaf(value.like(_bind(_render_like(pattern), sa.String()), escape="\\"), value.is_(None))

    def ilike(self, value: ColumnElement[Any], pattern: LikePattern) -> _Test:
        # lower() under a libc UTF-8 collation is the simple lowercase mapping re uses; translate()
        # then merges re's extra case classes (s/ſ, σ/ς, ...). The pattern is folded in Python.
        folded = sa.func.translate(
            sa.func.lower(sa.collate(value, self.case_collation)), _name(FOLD_FROM), _name(FOLD_TO)
        )
        rendered = _render_like(pattern, lambda text: escape_like(fold_text(text)))
        return _Leaf(folded.like(_bind(rendered, sa.String()), escape="\\"), value.is_(None))

    def ordered(self, expr: ColumnElement[Any], ref: _Ref) -> ColumnElement[Any]:
        if ref.column is not None and ref.kind is Kind.DATETIME:
            return expr
        return super().ordered(expr, ref)


def dialect_for(bind: Engine | Connection | str) -> SQLDialect:
    name = bind if isinstance(bind, str) else bind.dialect.name
    engine_dialect = None if isinstance(bind, str) else bind.dialect
    if name == "sqlite":
        return SQLiteDialect(engine_dialect)
    if name == "postgresql":
        return PostgresDialect(engine_dialect)
    raise ValueError(f"crudql's SQL backend supports SQLite and PostgreSQL, not {name}")


# ---------------------------------------------------------------------------- SQLite functions


def _sqlite_ilike(value: Any, pattern: Any) -> int | None:
    if value is None or pattern is None:
        return None
    if not isinstance(value, str) or not isinstance(pattern, str):
        return 0
    return 1 if like_matcher(pattern, True)(value) else 0


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Register crudql's SQL functions on a sqlite3 connection (deterministic: usable in indexes)."""
    dbapi_connection.create_function("crudql_ilike", 2, _sqlite_ilike, deterministic=True)


# ---------------------------------------------------------------------------- the compiler


@dataclass(frozen=True)
class _Scope:
    """Where field paths start: the table's columns, or one element of an array of objects."""

    mapping: TableMapping | None = None
    element: ColumnElement[Any] | None = None


def _exact_float_bound(op: str, value: float) -> tuple[str, float] | bool:
    """`x op value` for a double x, as `x op' float`: exact even for integers a double can't hold.

    Python compares floats with ints exactly; SQL engines may round the int first (2**53 + 1).
    Returns a constant when no double satisfies the comparison (equality with such an int).
    """
    if isinstance(value, float):
        return op, value
    f = float(value)
    if f == value:
        return op, f
    lo, hi = (f, math.nextafter(f, math.inf)) if f < value else (math.nextafter(f, -math.inf), f)
    if op == "=":
        return False
    if op in ("<", "<="):
        return "<=", lo
    return ">=", hi


_COMPARE: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class FilterCompiler:
    """Compiles a checked filter AST to a two-valued SQLAlchemy boolean expression.

    `expr(node, scope, negate)` walks the tree once, carrying negation down to the leaves.
    Leaves are `_Test`s built by one method per canonical operator (`op_<name>`).
    """

    def __init__(self, dialect: SQLDialect, mapping: TableMapping) -> None:
        self.dialect = dialect
        self.mapping = mapping
        self._memos: dict[tuple[Any, ...], Any] = {}
        self._ops: dict[str, Callable[[Predicate, _Scope], _Test]] = {
            "=": self.op_eq,
            "<": self.op_order,
            "<=": self.op_order,
            ">": self.op_order,
            ">=": self.op_order,
            "between": self.op_between,
            "in": self.op_in,
            "like": self.op_like,
            "ilike": self.op_ilike,
            "contains": self.op_contains,
            "icontains": self.op_icontains,
            "starts-with": self.op_starts_with,
            "ends-with": self.op_ends_with,
            "has": self.op_has,
            "has-any": self.op_has_any,
            "has-all": self.op_has_all,
            "exists": self.op_exists,
            "is-null": self.op_is_null,
        }

    def compile(self, expr: Expr) -> ColumnElement[bool]:
        return self.expr(expr, _Scope(mapping=self.mapping), False)

    # -------------------------------------------------------------- memoized field expressions
    #
    # Building SQLAlchemy expressions costs far more than looking them up, and a field's
    # expression depends only on the field: memoize those of table-level fields (not inside
    # `any`, whose documents belong to one statement, nor map keys, which are client text).

    _MEMO_LIMIT = 4096

    def _memo(self, key: tuple[Any, ...], ref: _Ref, build: Callable[[], Any]) -> Any:
        if ref.doc is not None and not isinstance(ref.doc, sa.Column) or any(k for _, k in ref.steps):
            return build()
        found = self._memos.get(key)
        if found is None:
            found = build()
            if len(self._memos) < self._MEMO_LIMIT:
                self._memos[key] = found
        return found

    def scalar(self, ref: _Ref, family: str | None = None) -> ColumnElement[Any]:
        return self._memo(("scalar", id(ref.column if ref.column is not None else ref.doc), ref.steps, ref.kind, family),
                          ref, lambda: self.dialect.scalar(ref, family))

    def ordered(self, ref: _Ref, family: str | None = None) -> ColumnElement[Any]:
        """The field's value as it compares with < and sorts."""
        shape = ref if family != "string" else _Ref(Kind.STRING, ref.type, ref.column, ref.doc, ref.steps, ref.nullable)
        return self._memo(("ordered", id(ref.column if ref.column is not None else ref.doc), ref.steps, ref.kind, family),
                          ref, lambda: self.dialect.ordered(self.scalar(ref, family), shape))

    def present(self, ref: _Ref) -> _Test:
        return self._memo(("present", id(ref.column if ref.column is not None else ref.doc), ref.steps),
                          ref, lambda: self.dialect.present(ref))  # type: ignore[no-any-return]

    # -------------------------------------------------------------- node kinds

    def expr(self, node: Expr, scope: _Scope, negate: bool) -> ColumnElement[bool]:
        if isinstance(node, And):
            return self.visit_junction(node.children, scope, negate, conjunction=True)
        if isinstance(node, Or):
            return self.visit_junction(node.children, scope, negate, conjunction=False)
        if isinstance(node, Not):
            return self.expr(node.child, scope, not negate)
        if isinstance(node, Predicate):
            return self.visit_predicate(node, scope, negate)
        if isinstance(node, Quantified):
            return self.visit_quantified(node, scope, negate)
        raise TypeError(f"not a crudql expression: {node!r}")

    def visit_junction(self, children: Sequence[Expr], scope: _Scope, negate: bool, conjunction: bool) -> ColumnElement[bool]:
        # De Morgan: a negated AND is an OR of negated children.
        fn = sa.and_ if conjunction != negate else sa.or_
        return _junction(fn, [self.expr(c, scope, negate) for c in children])

    def visit_predicate(self, node: Predicate, scope: _Scope, negate: bool) -> ColumnElement[bool]:
        op = lookup(node.op)
        if op is None:
            raise TypeError(f"unknown operator {node.op!r}")
        if op.negates is not None:  # != and nin are (not (= ...)) and (not (in ...))
            return self.visit_predicate(Predicate(op.negates, node.field, node.args), scope, not negate)
        test = self._ops[op.name](node, scope)
        return test.negative() if negate else test.positive()

    def visit_quantified(self, node: Quantified, scope: _Scope, negate: bool) -> ColumnElement[bool]:
        ref = self.ref(node.field, scope)
        each, element, guard = self.dialect.elements(ref)
        inner = _Scope(element=element)
        # (all f P) is (not (any f (not P))).
        every = node.op == "all"
        condition = self.expr(node.condition, inner, every)
        if guard is not None:
            condition = sa.and_(guard, condition)
        found = _exists(each, condition)
        return found if negate == every else sa.not_(found)

    # -------------------------------------------------------------- fields and values

    def ref(self, f: Field, scope: _Scope) -> _Ref:
        ftype = f.type
        if ftype is None or f.json_path is None:
            raise TypeError(f"filter field {f.dotted!r} is not checked against a schema")
        keyed = f.keyed or (False,) * len(f.json_path)
        if scope.element is not None:
            return _Ref(ftype.kind, ftype, doc=scope.element, steps=tuple(zip(f.json_path, keyed)))
        assert scope.mapping is not None
        info = scope.mapping[f.path[0]]
        if info.is_json:
            return _Ref(ftype.kind, ftype, doc=info.column, steps=tuple(zip(f.json_path[1:], keyed[1:])))
        if len(f.path) != 1:
            raise TypeError(f"{f.dotted!r} goes below the scalar column {info.column.name!r}")
        return _Ref(ftype.kind, ftype, column=info.column, nullable=info.column.nullable is not False)

    def value(self, ref: _Ref, literal: Any) -> ColumnElement[Any]:
        """A literal bound in the form the field's stored values have."""
        if ref.column is not None:
            return _bind(self.dialect.literal_value(literal, ref.kind), self.dialect.bind_type(ref, ref.kind))
        return _bind(self.dialect.json_literal(literal, ref.kind), self.dialect.bind_type(ref, ref.kind))

    def _compare(self, ref: _Ref, op: str, literal: Any) -> _Test:
        """`field op literal` for a typed field, nulls UNKNOWN (hence the leaf's null branch)."""
        if ref.kind is Kind.ANY:
            return self._compare_any(ref, op, literal)
        if ref.kind is Kind.FLOAT:
            bound = _exact_float_bound(op, literal)
            if isinstance(bound, bool):
                return _Const(bound)
            op, literal = bound
        column = self.scalar(ref)
        left = column if op == "=" else self.ordered(ref)
        return _Leaf(_COMPARE[op](left, self.value(ref, literal)), column.is_(None))

    def _compare_any(self, ref: _Ref, op: str, literal: Any) -> _Test:
        """Untyped fields compare within one JSON family (the Python backend's `_same`)."""
        family = _family(literal)
        if family is None or (family == "bool" and op != "="):
            return _Const(False)
        column = self.scalar(ref, family)
        left = self.ordered(ref, family) if op != "=" else column
        kind = {"bool": Kind.BOOL, "number": Kind.FLOAT, "string": Kind.STRING}[family]
        if isinstance(literal, str):
            self.dialect.check_text(literal)
        return _Leaf(_COMPARE[op](left, _bind(literal, _BIND_TYPES.get(kind, sa.String()))), column.is_(None))

    # -------------------------------------------------------------- one method per operator

    def op_eq(self, node: Predicate, scope: _Scope) -> _Test:
        literal = _literal(node, 0)
        if literal is None:
            return self.op_is_null(node, scope)
        return self._compare(self.ref(node.field, scope), "=", literal)

    def op_order(self, node: Predicate, scope: _Scope) -> _Test:
        return self._compare(self.ref(node.field, scope), node.op, _literal(node, 0))

    def op_between(self, node: Predicate, scope: _Scope) -> _Test:
        ref = self.ref(node.field, scope)
        return _AllOf((self._compare(ref, ">=", _literal(node, 0)), self._compare(ref, "<=", _literal(node, 1))))

    def op_in(self, node: Predicate, scope: _Scope) -> _Test:
        ref = self.ref(node.field, scope)
        values = _list(node)
        present = list(dict.fromkeys(v for v in values if v is not None))
        tests: list[_Test] = []
        if present:
            tests.append(self._in(ref, present))
        if any(v is None for v in values):  # null in the list matches missing or null
            tests.append(self.op_is_null(node, scope))
        return _AnyOf(tuple(tests)) if tests else _Const(False)

    def _in(self, ref: _Ref, values: list[Any]) -> _Test:
        if ref.kind is Kind.ANY:
            return _AnyOf(tuple(self._compare(ref, "=", v) for v in values))
        if ref.kind is Kind.FLOAT:
            # Integers no double equals can never match; the rest compare as doubles.
            values = [b[1] for b in (_exact_float_bound("=", v) for v in values) if not isinstance(b, bool)]
            if not values:
                return _Const(False)
        column = self.scalar(ref)
        bind = self.dialect.json_literal if ref.column is None else self.dialect.literal_value
        bound = [bind(v, ref.kind) for v in values]
        if len(bound) == 1:
            return _Leaf(column == _bind(bound[0], self.dialect.bind_type(ref, ref.kind)), column.is_(None))
        return _Leaf(column.in_(_binds(bound, self.dialect.bind_type(ref, ref.kind))), column.is_(None))

    def op_like(self, node: Predicate, scope: _Scope) -> _Test:
        return self._pattern(node, scope, parse_like(_text(node)), ignore_case=False)

    def op_ilike(self, node: Predicate, scope: _Scope) -> _Test:
        return self._pattern(node, scope, parse_like(_text(node)), ignore_case=True)

    def op_starts_with(self, node: Predicate, scope: _Scope) -> _Test:
        return self._pattern(node, scope, parse_like(escape_like(_text(node)) + "%"), ignore_case=False)

    def op_ends_with(self, node: Predicate, scope: _Scope) -> _Test:
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node))), ignore_case=False)

    def op_contains(self, node: Predicate, scope: _Scope) -> _Test:
        if node.field.type is not None and node.field.type.kind is Kind.ARRAY:
            return self.op_has(node, scope)  # on an array: an element equals the value
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node)) + "%"), ignore_case=False)

    def op_icontains(self, node: Predicate, scope: _Scope) -> _Test:
        ref = self.ref(node.field, scope)
        pattern = self._checked(parse_like(escape_like(_text(node))))
        if ref.kind is Kind.ARRAY:
            # An element equal to the text ignoring case: the whole element matches.
            each, _, guard = self.dialect.elements(ref, members=True)
            test = self.dialect.ilike(self.dialect.element_text(each), pattern).positive()
            return _Leaf(_exists(each, test if guard is None else sa.and_(guard, test)))
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node)) + "%"), ignore_case=True)

    def _checked(self, pattern: LikePattern) -> LikePattern:
        for text in _pattern_literals(pattern):
            self.dialect.check_text(text)
        return pattern

    def _pattern(self, node: Predicate, scope: _Scope, pattern: LikePattern, ignore_case: bool) -> _Test:
        pattern = self._checked(pattern)
        ref = self.ref(node.field, scope)
        value = self.scalar(ref, "string" if ref.kind is Kind.ANY else None)
        return self.dialect.ilike(value, pattern) if ignore_case else self.dialect.like(value, pattern)

    def op_has(self, node: Predicate, scope: _Scope) -> _Test:
        return self._has_any(self.ref(node.field, scope), [_literal(node, 0)])

    def op_has_any(self, node: Predicate, scope: _Scope) -> _Test:
        return self._has_any(self.ref(node.field, scope), list(dict.fromkeys(_list(node))))

    def op_has_all(self, node: Predicate, scope: _Scope) -> _Test:
        ref = self.ref(node.field, scope)
        values = list(dict.fromkeys(_list(node)))
        if not values:
            return _Const(True)  # the empty conjunction, even for a missing array
        if self.dialect.json_containment:
            return self._contains_all(ref, values)
        if ref.item_kind is Kind.ANY or len(values) == 1:
            return _AllOf(tuple(self._has_any(ref, [v]) for v in values))
        # Typed elements: count the distinct listed values present. The list is deduplicated
        # with Python's equality, which for one element type is SQLite's too.
        each, _, guard = self.dialect.elements(ref, members=True)
        element = self.dialect.element_scalar(each, ref.item_kind)
        bound = [self.dialect.json_literal(v, ref.item_kind) for v in values]
        match = element.in_(_binds(bound, _BIND_TYPES.get(ref.item_kind, sa.String())))
        found = sa.select(sa.func.count(sa.distinct(element))).select_from(each)
        found = found.where(match if guard is None else sa.and_(guard, match)).scalar_subquery()
        return _Leaf(found == _bind(len(bound), sa.Integer()))

    def _has_any(self, ref: _Ref, values: list[Any]) -> _Test:
        if not values:
            return _Const(False)
        if self.dialect.json_containment:
            return _AnyOf(tuple(self._contains_all(ref, [v]) for v in values))
        each, _, guard = self.dialect.elements(ref, members=True)
        item = ref.item_kind
        if item is Kind.ANY:
            tests = [
                self.dialect.element_scalar(each, item, _family(v)) == _bind(self.dialect.literal_value(v, item))
                for v in values
                if _family(v) is not None
            ]
            if not tests:
                return _Const(False)
            match: ColumnElement[bool] = _junction(sa.or_, tests)
        else:
            bound = [self.dialect.json_literal(v, item) for v in values]
            element = self.dialect.element_scalar(each, item)
            if len(bound) == 1:
                match = element == _bind(bound[0], _BIND_TYPES.get(item, sa.String()))
            else:
                match = element.in_(_binds(bound, _BIND_TYPES.get(item, sa.String())))
        return _Leaf(_exists(each, match if guard is None else sa.and_(guard, match)))

    def _contains_all(self, ref: _Ref, values: list[Any]) -> _Test:
        """PostgreSQL: `array @> '[v, ...]'`, JSONB containment (a GIN index serves it)."""
        array = self.dialect.array(ref)
        item = ref.item_kind
        payload = [self.dialect.json_literal(v, item) for v in values]
        return _Leaf(array.op("@>", return_type=sa.Boolean)(_bind(payload, JSONB())), array.is_(None))

    def op_exists(self, node: Predicate, scope: _Scope) -> _Test:
        return self.present(self.ref(node.field, scope))

    def op_is_null(self, node: Predicate, scope: _Scope) -> _Test:
        return _Negated(self.present(self.ref(node.field, scope)))

    # -------------------------------------------------------------- sort

    def order_by(self, keys: Sequence[SortKey]) -> list[Any]:
        clauses = []
        scope = _Scope(mapping=self.mapping)
        for key in keys:
            f = key.resolved
            if f is None:
                f = self.mapping.schema.field(key.path)
            ref = self.ref(f, scope)

            def build(ref: _Ref = ref, descending: bool = key.descending) -> Any:
                value = self.ordered(ref)
                return self.dialect.sort_nulls(value.desc() if descending else value.asc(), descending, ref.nullable)

            clauses.append(self._memo(("sort", f.path, key.descending), ref, build))
        return clauses


@dataclass(frozen=True)
class _Negated(_Test):
    inner: _Test

    def positive(self) -> ColumnElement[bool]:
        return self.inner.negative()

    def negative(self) -> ColumnElement[bool]:
        return self.inner.positive()


def _literal(node: Predicate, i: int) -> Any:
    arg = node.args[i]
    assert isinstance(arg, Literal)
    return arg.value


def _text(node: Predicate) -> str:
    value = _literal(node, 0)
    if not isinstance(value, str):
        raise QueryError(f"'{node.op}' takes a string", code="type")
    return value


def _list(node: Predicate) -> list[Any]:
    arg = node.args[0]
    assert isinstance(arg, ListValue)
    return list(arg.values)


# ---------------------------------------------------------------------------- public helpers


def compile_filter(expr: Expr | None, table: sa.Table, model: type[BaseModel] | None = None, dialect: str | SQLDialect = "sqlite") -> ColumnElement[bool]:
    """A checked filter as a SQLAlchemy boolean for `table` (true() for None).

    On SQLite, connections that run it need `register_sqlite_functions` (SQLSource does that).
    """
    if expr is None:
        return sa.true()
    from ..models import Contact

    d = dialect if isinstance(dialect, SQLDialect) else dialect_for(dialect)
    return FilterCompiler(d, TableMapping(table, Schema.from_model(model or Contact))).compile(expr)


def compile_order(keys: Sequence[SortKey], table: sa.Table, model: type[BaseModel] | None = None, dialect: str | SQLDialect = "sqlite") -> list[Any]:
    """Checked sort keys as ORDER BY clauses (nulls lowest, strings by code point)."""
    from ..models import Contact

    d = dialect if isinstance(dialect, SQLDialect) else dialect_for(dialect)
    return FilterCompiler(d, TableMapping(table, Schema.from_model(model or Contact))).order_by(keys)


# ---------------------------------------------------------------------------- the source


@dataclass(frozen=True)
class _Statements:
    page: sa.Select[Any]
    count: sa.Select[Any]


class SQLSource:
    """A table of model records in SQLite or PostgreSQL, answering `run_query` pages.

    `bind` is an Engine (a connection is taken per page) or a Connection (used as is).
    Each page is one SELECT ... ORDER BY ... LIMIT/OFFSET and, unless the page itself shows
    the total (a partial page), one SELECT count(*) without ORDER BY. `count="window"` instead
    adds count(*) OVER () to the page query (measured slower: see docs/sql.md).
    """

    STATEMENT_CACHE_SIZE = 256

    def __init__(
        self,
        bind: Engine | Connection,
        table: sa.Table | str,
        model: type[BaseModel] | None = None,
        *,
        count: str = "separate",
        autocommit: bool = True,
    ) -> None:
        from ..models import Contact

        if count not in ("separate", "window"):
            raise ValueError("count must be 'separate' or 'window'")
        self.bind = bind
        self.model = model or Contact
        self.schema = Schema.from_model(self.model)
        if isinstance(table, str):
            table = sa.Table(table, sa.MetaData(), autoload_with=bind)
        self.table = table
        self.dialect = dialect_for(bind)
        self.mapping = TableMapping(table, self.schema)
        if self.dialect.json_containment:
            for info in self.mapping.fields.values():
                if info.is_json and not isinstance(info.column.type.dialect_impl(bind.dialect), JSONB):
                    raise ValueError(f"column {info.column.name!r} must be JSONB on PostgreSQL")
        self.compiler = FilterCompiler(self.dialect, self.mapping)
        self.count_mode = count
        # Reads need no transaction: under READ COMMITTED (PostgreSQL's default) each statement
        # has its own snapshot either way, and autocommit saves the BEGIN and ROLLBACK round
        # trips SQLAlchemy would add to every page. Pass a Connection to control transactions.
        self._reader = (
            bind.execution_options(isolation_level="AUTOCOMMIT")
            if isinstance(bind, Engine) and autocommit and self.dialect.name == "postgresql"
            else bind
        )
        self._columns = [(info.column, info.alias) for info in self.mapping.fields.values()]
        # JSON columns are decoded here, once, with json.loads (when the driver has not already).
        self._json_positions = tuple(i for i, info in enumerate(self.mapping.fields.values()) if info.is_json)
        self._statements: OrderedDict[tuple[Any, ...], _Statements] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLSource({self.dialect.name}, {self.table.name!r}, {self.model.__name__})"

    # -------------------------------------------------------------- loading

    @classmethod
    def from_records(
        cls,
        bind: Engine | Connection,
        records: Iterable[BaseModel | dict[str, Any]],
        model: type[BaseModel] | None = None,
        table_name: str = "contacts",
        *,
        schema: str | None = None,
        replace: bool = False,
        batch_size: int = 1000,
        count: str = "separate",
    ) -> SQLSource:
        """Create the table (with its indexes), load `records` and return the source.

        Records are model instances or JSON dicts (alias or Python names), validated into the
        model. `replace=True` drops an existing table of that name first.
        """
        from ..models import Contact

        model = model or Contact
        dialect_for(bind)  # fail early on an unsupported engine
        table = table_for_model(model, sa.MetaData(), table_name, schema=schema)
        mapping = TableMapping(table, Schema.from_model(model))
        columns = mapping.storage_columns()
        with _transaction(bind) as conn:
            if replace:
                table.drop(conn, checkfirst=True)
            table.create(conn)
            create_indexes(table, conn)
            _insert(conn, table, model, columns, records, batch_size)
        return cls(bind, table, model, count=count)

    def insert(self, records: Iterable[BaseModel | dict[str, Any]], *, batch_size: int = 1000) -> int:
        """Add records (model instances or JSON dicts) to the table; returns how many."""
        with _transaction(self.bind) as conn:
            return _insert(conn, self.table, self.model, self.mapping.storage_columns(), records, batch_size)

    def explain(
        self, where: Expr | None, order: Sequence[SortKey] = (), offset: int = 0, limit: int = 20, *, count: bool = False
    ) -> list[str]:
        """The engine's plan for the page (or count) query: EXPLAIN QUERY PLAN / EXPLAIN."""
        stmts = self.statements(where, order)
        prefix = "EXPLAIN QUERY PLAN " if self.dialect.name == "sqlite" else "EXPLAIN "
        plan: list[str] = []

        def explain_instead(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> tuple[str, Any]:
            return prefix + statement, parameters

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            plan.extend(" | ".join(str(v) for v in row) if self.dialect.name == "sqlite" else str(row[0]) for row in cursor.fetchall())

        with self._connect() as conn:
            self.dialect.prepare(conn)
            sa.event.listen(conn, "before_cursor_execute", explain_instead, retval=True)
            sa.event.listen(conn, "after_cursor_execute", capture)
            try:
                conn.execute(stmts.count if count else stmts.page, {"crudql_limit": limit, "crudql_offset": offset}).close()
            finally:
                sa.event.remove(conn, "before_cursor_execute", explain_instead)
                sa.event.remove(conn, "after_cursor_execute", capture)
        return plan

    # -------------------------------------------------------------- queries

    def statements(self, where: Expr | None, order: Sequence[SortKey]) -> _Statements:
        """The page and count statements for a checked query, cached by the (hashable) AST."""
        key = (where, tuple(order))
        try:
            with self._lock:  # a source serves concurrent requests (a threaded server)
                found = self._statements[key]
                self._statements.move_to_end(key)
            return found
        except KeyError:
            pass
        except TypeError:  # an unhashable literal: build without caching
            return self._build(where, order)
        built = self._build(where, order)
        with self._lock:
            self._statements[key] = built
            while len(self._statements) > self.STATEMENT_CACHE_SIZE:
                self._statements.popitem(last=False)
        return built

    def _build(self, where: Expr | None, order: Sequence[SortKey]) -> _Statements:
        condition = self.compiler.compile(where) if where is not None else None
        # Raw column values: SQLAlchemy's per-value result processors (JSON, UTCDateTime) cost
        # more than the query on a small page; _record decodes JSON and pydantic parses the
        # ISO text of instants (type_coerce renders no CAST).
        columns: list[Any] = [sa.type_coerce(c, sa.types.NullType()).label(c.key) for c, _ in self._columns]
        if self.count_mode == "window":
            columns.append(sa.func.count().over().label("crudql_total"))
        page = sa.select(*columns)
        count = sa.select(sa.func.count()).select_from(self.table)
        if condition is not None:
            page = page.where(condition)
            count = count.where(condition)
        page = (
            page.order_by(*self.compiler.order_by(order))
            .limit(sa.bindparam("crudql_limit", type_=sa.BigInteger))
            .offset(sa.bindparam("crudql_offset", type_=sa.BigInteger))
        )
        return _Statements(page, count)

    def page(self, where: Expr | None, order: Sequence[SortKey], offset: int, limit: int) -> tuple[list[Any], int]:
        stmts = self.statements(where, order)
        with self._connect() as conn:
            self.dialect.prepare(conn)
            try:
                rows = conn.execute(stmts.page, {"crudql_limit": limit, "crudql_offset": offset}).all()
                total = self._total(conn, stmts, rows, offset, limit)
            except sa.exc.DataError as exc:
                # A value the database refused (the checks above should have caught it first).
                raise QueryError(f"the database rejected a value of the query: {exc.orig}", code="value") from None
        return [self._record(row) for row in rows], total

    def _total(self, conn: Connection, stmts: _Statements, rows: list[Any], offset: int, limit: int) -> int:
        if rows and len(rows) < limit or (not rows and offset == 0):
            return offset + len(rows)  # the page shows the end of the matches
        if rows and self.count_mode == "window":
            return int(rows[0][-1])
        return int(conn.execute(stmts.count).scalar_one())

    def count(self, where: Expr | None = None) -> int:
        with self._connect() as conn:
            self.dialect.prepare(conn)
            return int(conn.execute(self.statements(where, ()).count).scalar_one())

    def _record(self, row: Sequence[Any]) -> Any:
        values = list(row)
        for i in self._json_positions:
            if isinstance(values[i], (str, bytes)):
                values[i] = json.loads(values[i])
        # A NULL column is an absent field: SQL has one NULL for "missing" and "null".
        data = {alias: value for (_, alias), value in zip(self._columns, values) if value is not None}
        return self.model.model_validate(data)

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        if isinstance(self.bind, Connection):
            yield self.bind  # the caller owns transactions
        else:
            with self._reader.connect() as conn:
                yield conn


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        if bind.in_transaction():
            yield bind
        else:
            with bind.begin():
                yield bind
    else:
        with bind.begin() as conn:
            yield conn


def _insert(
    conn: Connection,
    table: sa.Table,
    model: type[BaseModel],
    columns: dict[str, tuple[str, FieldType]],
    records: Iterable[Any],
    batch_size: int,
) -> int:
    batch: list[dict[str, Any]] = []
    n = 0
    for n, record in enumerate(records, 1):
        batch.append(_row_of(model, record, columns, n - 1))
        if len(batch) >= batch_size:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
    return n


def _row_of(model: type[BaseModel], record: Any, columns: dict[str, tuple[str, FieldType]], i: int) -> dict[str, Any]:
    if not isinstance(record, model):
        try:
            record = model.model_validate(record)
        except ValidationError as exc:
            raise RequestError(f"item {i} is not a valid {model.__name__}: {exc.errors()[0]['msg']}") from None
    try:
        return to_row(record, columns)
    except _UnstorableValue as exc:
        raise ValueError(f"item {i}: {exc}") from None


_ = field
