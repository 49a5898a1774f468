"""MariaDB 10.10+ through PyMySQL (`mysql+pymysql://` or `mariadb+pymysql://`).

Text is `utf8mb4` under `utf8mb4_nopad_bin`: code-point order, and no PAD SPACE (`'a' < 'a '`).
Text that is not such a column (JSON values, columns of other collations) gets that collation
where it is compared, so the connection's default (`utf8mb4_general_ci`, case-insensitive)
never decides. Strings in a key or an index are `VARCHAR(255)` (InnoDB cannot index unbounded
text); the others `LONGTEXT`. Instants are fixed-width UTC text, UUIDs hex `CHAR(32)` (MariaDB's
own UUID type does not sort as the canonical text), decimals `DECIMAL(65, 30)`.

JSON (LONGTEXT checked by `json_valid`) is read with `JSON_VALUE` and `JSON_TYPE` at literal
paths built from schema names; a path with map keys (client text) is one bound parameter, the
keys JSON-quoted. MariaDB matches object keys as written, escapes included, so crudql stores
JSON with non-ASCII characters unescaped, as Python's `json.dumps(ensure_ascii=False)` writes
them and as paths quote them. Arrays are iterated with `JSON_TABLE`.

`ilike` folds case with `LOWER()` under `utf8mb4_uca1400_ai_ci` (Unicode 14's simple lowercase
mapping, which is what `re.IGNORECASE` uses) and one `REPLACE` per member of re's extra case
classes, the REPLACEs only where the pattern needs them (`casefold.merges_classes`); no
collation's comparison is Python's folding (accent- and expansion-insensitive).
Timeouts send `KILL QUERY` on a connection of their own.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from ....fieldtypes import Kind
from ....patterns import LikePattern, escape_like
from ....values import utc
from ..casefold import FOLD_FROM, FOLD_TO, fold_text, merges_classes
from ..elements import bind, exists, schema_text
from ..execution import Pooled
from ..likes import pattern_literals, render_like
from ..logic import Leaf, Test
from ..refs import FAMILY_KIND, Ref
from ..storage import JSON_KINDS, TEXT_STORED_KINDS, InstantText
from .base import SQLDialect

__all__ = ["MySQLDialect"]

BINARY = "utf8mb4_nopad_bin"  # code-point order, trailing spaces count
CASE_MAPPING = "utf8mb4_uca1400_ai_ci"  # LOWER() under it is Unicode 14's simple lowercase mapping
KEY_LENGTH = 255  # characters of an indexed string: 1,020 bytes, three fit in InnoDB's 3,072-byte keys
# ORDER BY compares the first max_sort_length bytes of a string (1,024 by default); more costs
# sort memory per row, and MariaDB refuses sorts past about 64 KiB with its default sort buffer.
SORT_LENGTH = 16384
# Errors of a statement stopped by KILL QUERY (1317), max_statement_time (1969), MySQL's
# max_execution_time (3024), or a sort stopped by either (1028).
_CANCELLED = frozenset({1317, 1969, 3024, 1028})


class _Instant(InstantText):
    """Fixed-width UTC text (`2024-01-31T12:00:00.000000Z`): its text order is time order."""

    impl = mysql.VARCHAR(27, charset="utf8mb4", collation=BINARY)
    cache_ok = True


class _Json(sa.types.TypeDecorator[Any]):
    """MariaDB's JSON (LONGTEXT checked by json_valid), written with non-ASCII characters as
    they are: MariaDB finds `$."ß"` only in `{"ß": 1}`, never in `{"\\u00df": 1}`."""

    impl = sa.JSON(none_as_null=True)
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        def process(value: Any) -> Any:
            return None if value is None else json.dumps(value, ensure_ascii=False)

        return process


class _NaiveUTC(sa.types.TypeDecorator[Any]):
    """An aware instant bound to a DATETIME column (of a table crudql did not create) as the
    UTC wall time such columns hold."""

    impl = sa.DateTime()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return utc(value).replace(tzinfo=None) if isinstance(value, dt.datetime) else value


class _Cast(ColumnElement[Any]):
    """`CAST(x AS <type>)` with the type written out: SQLAlchemy leaves some casts out on
    MySQL-family servers it has not connected to yet."""

    __visit_name__ = "crudql_mysql_cast"
    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement), ("target", InternalTraversal.dp_string)]

    def __init__(self, element: ColumnElement[Any], target: str, type_: sa.types.TypeEngine[Any]) -> None:
        self.element = element
        self.target = target
        self.type = type_


@compiles(_Cast)
def _render_cast(element: _Cast, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.element, **kw)} AS {element.target})"


class _TableColumns(ColumnElement[Any]):
    """The second argument of JSON_TABLE: a literal path (schema names only) and the columns
    of each element: `v`, the element as JSON, and `s`, a scalar element as binary text."""

    __visit_name__ = "crudql_mysql_json_table_columns"
    inherit_cache = True
    _traverse_internals = [("path", InternalTraversal.dp_string), ("columns", InternalTraversal.dp_string)]

    def __init__(self, path: str, columns: str) -> None:
        self.path = path
        self.columns = columns


@compiles(_TableColumns)
def _render_table_columns(element: _TableColumns, compiler: Any, **kw: Any) -> str:
    path = compiler.render_literal_value(element.path, sa.String())
    return f"{path} COLUMNS ({element.columns})"


class _TrimmedDecimal(ColumnElement[Any]):
    """A DECIMAL with a scale as text without trailing fractional zeros (`12.5`, `100`)."""

    __visit_name__ = "crudql_mysql_trimmed_decimal"
    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]
    type = sa.types.NullType()

    def __init__(self, element: ColumnElement[Any]) -> None:
        self.element = element


@compiles(_TrimmedDecimal)
def _render_trimmed_decimal(element: _TrimmedDecimal, compiler: Any, **kw: Any) -> str:
    text = f"CAST({compiler.process(element.element, **kw)} AS CHAR)"
    return f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {text}))"


class _Folded(ColumnElement[Any]):
    """`x` case-folded as `casefold.fold_text` folds a Python string, as binary text: LOWER()
    under a uca1400 collation is the simple lowercase mapping re uses, and one REPLACE (exact
    whatever the collation) per member of re's extra case classes (s/ſ, σ/ς, ...) maps it to
    the class's representative. One node rendered from a template: hundreds of `icontains`
    build in milliseconds. Without `classes`, the LOWER() alone: enough for a pattern whose
    literals fold outside those classes (`casefold.merges_classes`)."""

    __visit_name__ = "crudql_mysql_folded"
    inherit_cache = True
    _traverse_internals = [
        ("element", InternalTraversal.dp_clauseelement),
        ("collation", InternalTraversal.dp_string),
        ("classes", InternalTraversal.dp_boolean),
    ]
    type = sa.String()

    def __init__(self, element: ColumnElement[Any], collation: str, classes: bool = True) -> None:
        self.element = element
        self.collation = collation
        self.classes = classes


# The folded characters need no escaping in an SQL string literal (no quote, backslash or %).
if set(FOLD_FROM + FOLD_TO) & set("'\\%"):  # pragma: no cover - re's table has letters only
    raise RuntimeError("a case-folding character would need escaping in SQL")
_REPLACES = "".join(f", '{source}', '{target}')" for source, target in zip(FOLD_FROM, FOLD_TO))


@compiles(_Folded)
def _render_folded(element: _Folded, compiler: Any, **kw: Any) -> str:
    lowered = f"LOWER({compiler.process(element.element, **kw)} COLLATE {element.collation}) COLLATE {BINARY}"
    return "REPLACE(" * len(FOLD_FROM) + lowered + _REPLACES if element.classes else lowered


# Array items JSON holds as strings written by Python's json.dumps (crudql's own form).
_TEXT_ITEMS = frozenset({*TEXT_STORED_KINDS, Kind.UUID, Kind.DATETIME, Kind.DATE})
_SCALAR_TEXT = f"LONGTEXT CHARACTER SET utf8mb4 COLLATE {BINARY}"
_ELEMENT_COLUMNS = f"v JSON PATH '$', s {_SCALAR_TEXT} PATH '$'"
_PATTERN_COLUMNS = f"p {_SCALAR_TEXT} PATH '$'"


def _json_path(names: list[str]) -> str:
    """A JSON path of object keys, each quoted as `json.dumps` quotes it (as keys are stored)."""
    return "$" + "".join("." + json.dumps(name, ensure_ascii=False) for name in names)


class MySQLDialect(SQLDialect):
    """MariaDB 10.10+ (tested on 10.11) through PyMySQL."""

    names = ("mysql", "mariadb")
    title = "MariaDB"
    explicit_nulls = False  # NULL sorts first ascending and last descending: lowest, as crudql wants
    allows_nul = True  # utf8mb4 text compares NUL like any character
    json_containment = False  # JSON_CONTAINS compares numbers as doubles: see `contains`
    autocommit_reads = False  # switching autocommit costs two round trips; a ROLLBACK one
    case_collation: ClassVar[str] = CASE_MAPPING
    PREPARED_KEY = "crudql_mysql_session"

    _FAMILY_TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "bool": ("BOOLEAN",),
        "number": ("INTEGER", "DOUBLE"),
        "string": ("STRING",),
    }
    _CASTS: ClassVar[dict[Kind, tuple[str, sa.types.TypeEngine[Any]]]] = {
        Kind.INT: ("DECIMAL(65, 0)", sa.Numeric(65, 0)),  # exact beyond 64 bits
        Kind.FLOAT: ("DOUBLE", sa.Double()),  # the doubles Python compares
        Kind.DECIMAL: ("DECIMAL(65, 30)", sa.Numeric(65, 30)),
    }

    # ------------------------------------------------------------------ storage

    def text_type(self) -> sa.types.TypeEngine[Any]:
        return mysql.LONGTEXT(charset="utf8mb4", collation=BINARY)

    def indexed_text_type(self) -> sa.types.TypeEngine[Any]:
        return mysql.VARCHAR(KEY_LENGTH, charset="utf8mb4", collation=BINARY)

    def json_type(self) -> sa.types.TypeEngine[Any]:
        return _Json()

    def instant_type(self) -> sa.types.TypeEngine[Any]:
        return _Instant()

    def uuid_type(self) -> sa.types.TypeEngine[Any]:
        return sa.Uuid(native_uuid=False)  # CHAR(32) hex: the canonical text's order

    def decimal_type(self) -> sa.types.TypeEngine[Any]:
        return sa.Numeric(65, 30)  # exact: 35 digits before the point, 30 after

    def index_part(self, column: sa.Column[Any]) -> Any:
        # MariaDB has no incremental sort: an index serves `ORDER BY x, id` only when the index
        # (with the primary key InnoDB appends, ascending) is in that order, and a backward
        # scan gives `x DESC, id DESC`, not crudql's `x DESC, id ASC`. So each column is indexed
        # in the direction its sorts usually take: instants and dates newest first, the rest
        # ascending. (NULLs are lowest in either, as crudql sorts them.)
        return column.desc() if isinstance(column.type, (_Instant, sa.Date)) else column

    def select_column(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        ctype = self._impl(column)
        if isinstance(ctype, sa.Numeric) and not isinstance(ctype, sa.Float) and (ctype.scale or 0) > 0:
            # DECIMAL(65, 30) reads back as 12.500000000000000000000000000000: read it without
            # the zeros after the point (and without the point when nothing is left).
            return _TrimmedDecimal(column)
        return super().select_column(column)

    # ------------------------------------------------------------------ connections

    def _check_server(self, bind: Engine | Connection) -> None:
        dialect = bind.dialect
        if dialect.server_version_info is None and isinstance(bind, Engine):
            with bind.connect():
                pass  # the first connection tells SQLAlchemy which server this is
        version = dialect.server_version_info
        if version is None:
            return  # an engine that never connects (a mock engine that renders SQL)
        if not getattr(dialect, "is_mariadb", False) or tuple(version[:2]) < (10, 10):
            server = ("MariaDB " if getattr(dialect, "is_mariadb", False) else "MySQL ") + ".".join(
                str(v) for v in version
            )
            raise ValueError(
                f"crudql's MySQL-family dialect needs MariaDB 10.10 or later (its utf8mb4_uca1400 collations "
                f"fold case as Python does), not {server}; MySQL is not supported yet"
            )

    def shared_bind(self, bind: Engine | Connection) -> Engine | Connection | None:
        self._check_server(bind)
        return None

    def check_bind(self, bind: Engine | Connection) -> None:
        self._check_server(bind)

    def prepare(self, conn: Connection | Pooled) -> None:
        # conn.info belongs to the DBAPI connection and survives pool checkouts.
        if not conn.info.get(self.PREPARED_KEY):
            conn.exec_driver_sql(f"SET SESSION max_sort_length = {SORT_LENGTH}")
            conn.info[self.PREPARED_KEY] = True

    def cancel(self, dbapi_connection: Any) -> None:
        # KILL QUERY from a connection of our own, made like the one running the statement
        # (a PyMySQL connection keeps its parameters); the statement fails with error 1317 and
        # the connection stays usable.
        thread_id = int(dbapi_connection.thread_id())
        killer = type(dbapi_connection)(
            host=dbapi_connection.host,
            port=dbapi_connection.port,
            user=dbapi_connection.user,
            password=dbapi_connection.password,
            unix_socket=dbapi_connection.unix_socket,
            # TLS when the client required it (PyMySQL 1.1+ otherwise tries it on its own).
            ssl=dbapi_connection.ctx if getattr(dbapi_connection, "_ssl_required", dbapi_connection.ssl) else None,
            connect_timeout=5,
        )
        try:
            with killer.cursor() as cursor:
                cursor.execute(f"KILL QUERY {thread_id}")
        finally:
            killer.close()

    def is_cancelled(self, error: sa.exc.DBAPIError) -> bool:
        args: tuple[Any, ...] = getattr(error.orig, "args", ())
        return bool(args) and args[0] in _CANCELLED

    def plan_lines(self, rows: list[Any]) -> list[str]:
        return [" | ".join("" if v is None else str(v) for v in row) for row in rows]

    # ------------------------------------------------------------------ values the client sends

    def bind_type(self, ref: Ref, kind: Kind) -> sa.types.TypeEngine[Any]:
        if (
            ref.column is not None
            and kind is Kind.DATETIME is ref.kind
            and isinstance(self._impl(ref.column), sa.DateTime)
        ):
            return _NaiveUTC()  # a DATETIME of a table read back by name holds UTC wall time
        return super().bind_type(ref, kind)

    # ------------------------------------------------------------------ JSON access

    def _path(self, ref: Ref) -> ColumnElement[Any]:
        """The field's JSON path: a literal (schema names), or one bound parameter when it
        holds map keys (client text, JSON-quoted, never SQL text)."""
        names = [self.check_text(name) if keyed else name for name, keyed in ref.steps]
        path = _json_path(names)
        return bind(path, sa.String()) if any(keyed for _, keyed in ref.steps) else schema_text(path)

    def _value(self, ref: Ref) -> ColumnElement[Any]:
        """A scalar's text (`JSON_VALUE`: NULL when missing, null, an object or an array)."""
        assert ref.doc is not None
        return sa.func.json_value(ref.doc, self._path(ref), type_=sa.String())

    def _json(self, ref: Ref) -> ColumnElement[Any]:
        """The field's JSON text (NULL when missing)."""
        assert ref.doc is not None
        if not ref.steps:
            return ref.doc
        return sa.func.json_extract(ref.doc, self._path(ref), type_=sa.String())

    def _binary(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        """`text` compared by code point; a column that already is stays bare, so that its
        index serves `starts-with` (a COLLATE, even the column's own, hides the index)."""
        if isinstance(text, sa.Column) and self._collation(text) == BINARY:
            return text
        return sa.collate(text, BINARY)

    def _typed(self, text: ColumnElement[Any], kind: Kind, json: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON scalar (`text`, and `json` its JSON text) as a value of `kind`, comparable as
        Python compares it."""
        if kind is Kind.BOOL:
            # JSON_VALUE reads true as '1', like the number; JSON null is NULL, not false.
            return sa.case((json == schema_text("true"), sa.true()), (json == schema_text("false"), sa.false()))
        cast = self._CASTS.get(kind)
        if cast is not None:
            return _Cast(text, *cast)
        return self._binary(text)

    def _of_family(self, type_: ColumnElement[Any], family: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
        types = [schema_text(t) for t in self._FAMILY_TYPES[family]]
        return sa.case((type_.in_(types), value))

    def column_scalar(self, column: ColumnElement[Any], kind: Kind) -> ColumnElement[Any]:
        if kind in TEXT_STORED_KINDS and self._collation(column) != BINARY:
            return self._binary(column)  # a table of someone else's: its collation may fold case
        return column

    def scalar(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        if ref.column is not None:
            return self.column_scalar(ref.column, ref.kind)
        if family is None:
            return self._typed(self._value(ref), ref.kind, self._json(ref))
        typed = self._typed(self._value(ref), FAMILY_KIND[family], self._json(ref))
        return self._of_family(sa.func.json_type(self._json(ref)), family, typed)

    def _impl(self, column: ColumnElement[Any]) -> sa.types.TypeEngine[Any]:
        ctype = column.type
        if isinstance(ctype, sa.types.TypeDecorator):
            return ctype.impl_instance
        return ctype if self.engine_dialect is None else ctype.dialect_impl(self.engine_dialect)

    def _collation(self, column: ColumnElement[Any]) -> str | None:
        return getattr(self._impl(column), "collation", None)

    def ordered(self, expr: ColumnElement[Any], ref: Ref) -> ColumnElement[Any]:
        if ref.column is not None and isinstance(ref.column.type, sa.Enum):
            return self._binary(self.enum_text(ref.column))  # by value, not by declaration order or name
        if ref.column is not None and isinstance(ref.column.type, sa.Uuid) and ref.column.type.native_uuid:
            # MariaDB's UUID type orders by its groups swapped: order by the canonical text.
            return self._binary(sa.cast(ref.column, sa.String()))
        return expr  # `scalar` already compares text by code point

    def present(self, ref: Ref) -> Test:
        if ref.column is not None:
            return Leaf(ref.column.is_not(None))
        if ref.steps and ref.kind not in JSON_KINDS:
            # JSON_VALUE is NULL for missing and JSON null alike.
            return Leaf(self._value(ref).is_not(None))
        value = self._json(ref)
        return Leaf(sa.func.json_type(value) != schema_text("NULL"), value.is_(None))

    def elements(self, ref: Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        # JSON_TABLE yields no row for a missing, null or non-array value.
        assert ref.doc is not None
        if any(keyed for _, keyed in ref.steps):
            source, path = self._json(ref), "$[*]"
        else:
            source, path = ref.doc, _json_path([name for name, _ in ref.steps]) + "[*]"
        each = sa.func.json_table(source, _TableColumns(path, _ELEMENT_COLUMNS)).table_valued("v", "s").alias()
        return each, each.c.v, None

    def contains(self, ref: Ref) -> bool:
        # JSON_CONTAINS compares strings as written (escapes included, as crudql writes them),
        # numbers as doubles (2**53 + 1 = 2**53) and finds "x" in [["x"]]: exact only for
        # arrays typed as text, where it is much cheaper than a JSON_TABLE subquery.
        return ref.item_kind in _TEXT_ITEMS

    def contains_all(self, ref: Ref, payload: list[Any]) -> Test:
        assert ref.doc is not None
        candidate = bind(json.dumps(payload, ensure_ascii=False), sa.String())
        args = (ref.doc, candidate, self._path(ref)) if ref.steps else (ref.doc, candidate)
        test = sa.func.json_contains(*args, type_=sa.Boolean())
        return Leaf(test, test.is_(None))

    def element_scalar(self, element: Any, kind: Kind, family: str | None = None) -> ColumnElement[Any]:
        text = element.c.s  # declared utf8mb4_nopad_bin
        if family is None:
            return text if kind in TEXT_STORED_KINDS else self._typed(text, kind, element.c.v)
        typed = self._typed(text, FAMILY_KIND[family], element.c.v)
        return self._of_family(sa.func.json_type(element.c.v), family, typed)

    def element_text(self, element: Any) -> ColumnElement[Any]:
        return sa.case((sa.func.json_type(element.c.v) == schema_text("STRING"), element.c.s))

    # ------------------------------------------------------------------ text

    def like(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        return Leaf(self._binary(value).like(bind(render_like(pattern), sa.String()), escape="\\"), value.is_(None))

    def fold(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        return _Folded(text, self.case_collation)

    def ilike(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        # The pattern is folded in Python, the value in SQL (re's extra classes merged only if
        # some literal is in one: otherwise merging them changes no match).
        rendered = render_like(pattern, lambda text: escape_like(fold_text(text)))
        folded = _Folded(value, self.case_collation, classes=merges_classes(pattern_literals(pattern)))
        return Leaf(folded.like(bind(rendered, sa.String()), escape="\\"), value.is_(None))

    def like_any(self, value: ColumnElement[Any], patterns: list[LikePattern], ignore_case: bool) -> Test:
        # One EXISTS over the patterns as one bound JSON array: the value (folded once in the
        # statement) against each, whatever the number of alternatives.
        if ignore_case:
            rendered = [render_like(p, lambda text: escape_like(fold_text(text))) for p in patterns]
            target = self.fold(value)
        else:
            rendered, target = [render_like(p) for p in patterns], self._binary(value)
        payload = bind(json.dumps(rendered, ensure_ascii=False), sa.String())
        each = sa.func.json_table(payload, _TableColumns("$[*]", _PATTERN_COLUMNS)).table_valued("p").alias()
        return Leaf(exists(each, target.like(each.c.p, escape="\\")), value.is_(None))
