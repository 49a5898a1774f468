"""PostgreSQL 12+ with JSONB, through psycopg 3.

Text columns use the "C" collation (code-point order) and indexes are built NULLS FIRST.
JSON is navigated with `->`/`->>` (map keys bound), arrays with `jsonb_array_elements`, and
array membership is JSONB containment (`@>`), which a GIN index can serve. `ilike` is ILIKE
under the "C" collation (ASCII letters only) where that is exact (`casefold.folds_as_ascii`);
otherwise it folds case with `lower()` under a libc UTF-8 collation (Unicode's simple lowercase
mapping, as Python's `re` uses), and `translate()` of re's extra case classes where the
pattern needs them (`casefold.merges_classes`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql import ColumnElement

from ....fieldtypes import Kind
from ....patterns import LikePattern, escape_like
from ..casefold import FOLD_FROM, FOLD_TO, fold_text, folds_as_ascii, merges_classes
from ..elements import bind, schema_text
from ..likes import pattern_literals, render_like
from ..logic import Leaf, Test
from ..refs import FAMILY_KIND, Ref
from ..storage import JSON_KINDS
from .base import SQLDialect

__all__ = ["PostgresDialect"]


class PostgresDialect(SQLDialect):
    """PostgreSQL 12+ with JSONB, through psycopg 3."""

    names = ("postgresql",)
    title = "PostgreSQL"
    ordering_collation = "C"
    explicit_nulls = True
    allows_nul = False
    json_containment = True
    json_decoded = True  # psycopg loads JSONB: an untyped value "a" comes back as 'a', not '"a"'
    autocommit_reads = True  # under READ COMMITTED each statement has its own snapshot anyway
    # A libc collation whose lower() is Unicode's simple lowercase mapping, as re's is.
    case_collation: ClassVar[str] = "C.utf8"

    _CASTS: ClassVar[dict[Kind, sa.types.TypeEngine[Any]]] = {
        Kind.INT: sa.Numeric(),  # exact for any integer; bigint would fail on larger ones
        Kind.FLOAT: sa.Double(),  # the same doubles Python compares
        Kind.DECIMAL: sa.Numeric(),  # JSON numbers are exact numerics in JSONB
        Kind.BOOL: sa.Boolean(),
    }
    _FAMILY_TYPES: ClassVar[dict[str, str]] = {"bool": "boolean", "number": "number", "string": "string"}

    def text_type(self) -> sa.types.TypeEngine[Any]:
        return sa.Text(collation="C")  # code-point order (docs/spec/LANGUAGE.md §2)

    def json_type(self) -> sa.types.TypeEngine[Any]:
        return JSONB(none_as_null=True)

    def index_part(self, column: sa.Column[Any]) -> Any:
        # crudql sorts nulls lowest: ascending is NULLS FIRST and descending NULLS LAST, and
        # both are scans of an index built NULLS FIRST.
        return column.asc().nulls_first() if column.nullable else column

    def json_document(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        # Navigation and containment are JSONB operators: a JSON (text) column is cast.
        return expr if isinstance(expr.type, JSONB) else sa.cast(expr, JSONB)

    def array_elements(self, array: ColumnElement[Any]) -> tuple[Any, ColumnElement[Any]]:
        each = sa.func.unnest(array).table_valued("value").render_derived()
        array_type = array.type if self.engine_dialect is None else array.type.dialect_impl(self.engine_dialect)
        return each, sa.type_coerce(each.c.value, array_type.item_type)  # type: ignore[attr-defined]

    def json_text_cursor(self, dbapi_connection: Any) -> Any:
        # psycopg's own JSONB loader decodes to dicts the model would walk again; the text reads
        # a nested model in one pass (`rows`). Per cursor: the connection's loaders are the pool's.
        from psycopg.types.string import TextLoader

        cursor = dbapi_connection.cursor()
        cursor.adapters.register_loader("jsonb", TextLoader)
        return cursor

    def cancel(self, dbapi_connection: Any) -> None:
        # psycopg 3: a cancel request on a connection of its own; the server stops the running
        # statement, which fails with query_canceled, and the session stays usable.
        import psycopg  # only PostgreSQL sources get here: the driver is there

        connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if isinstance(connection, psycopg.AsyncConnection):
            connection.cancel()  # its cancel_safe() is a coroutine; cancel() blocks this thread only
        else:
            (getattr(connection, "cancel_safe", None) or connection.cancel)()

    def is_cancelled(self, error: sa.exc.DBAPIError) -> bool:
        return getattr(error.orig, "sqlstate", None) == "57014"  # query_canceled

    def contains_all(self, ref: Ref, payload: list[Any]) -> Test:
        """`array @> '[v, ...]'`, JSONB containment (a GIN index serves it)."""
        array = self._json(ref)
        return Leaf(array.op("@>", return_type=sa.Boolean)(bind(payload, JSONB())), array.is_(None))

    def _key(self, name: str, keyed: bool) -> ColumnElement[Any]:
        return bind(self.check_text(name), sa.Text()) if keyed else schema_text(name)

    def _json(self, ref: Ref) -> ColumnElement[Any]:
        """The field's value as JSONB (SQL NULL when missing)."""
        assert ref.doc is not None
        doc = ref.doc
        for name, keyed in ref.steps:
            doc = doc.op("->", return_type=JSONB)(self._key(name, keyed))
        return doc

    def _text(self, ref: Ref) -> ColumnElement[Any]:
        """The field's value as text (`->>`: SQL NULL for missing and for JSON null)."""
        assert ref.doc is not None
        if not ref.steps:
            return ref.doc.op("#>>", return_type=sa.Text)(schema_text("{}"))
        doc = ref.doc
        *init, (name, keyed) = ref.steps
        for n, k in init:
            doc = doc.op("->", return_type=JSONB)(self._key(n, k))
        return doc.op("->>", return_type=sa.Text)(self._key(name, keyed))

    def _typed(self, text: ColumnElement[Any], kind: Kind) -> ColumnElement[Any]:
        cast = self._CASTS.get(kind)
        return text if cast is None else sa.cast(text, cast)

    def scalar(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        if ref.column is not None:
            return ref.column
        if family is None:
            return self._typed(self._text(ref), ref.kind)
        # Cast only values of the right JSON type: a CASE keeps the cast from ever failing.
        value = self._json(ref)
        return sa.case(
            (
                sa.func.jsonb_typeof(value) == schema_text(self._FAMILY_TYPES[family]),
                self._typed(value.op("#>>", return_type=sa.Text)(schema_text("{}")), FAMILY_KIND[family]),
            )
        )

    def present(self, ref: Ref) -> Test:
        if ref.column is not None:
            return Leaf(ref.column.is_not(None))
        if ref.steps and ref.kind not in JSON_KINDS:
            # ->> is NULL for missing and JSON null alike, and an index on the path serves it.
            return Leaf(self._text(ref).is_not(None))
        # Containers: test the JSON type instead of serializing the object with ->>.
        value = self._json(ref)
        return Leaf(sa.func.jsonb_typeof(value) != schema_text("null"), value.is_(None))

    def elements(self, ref: Ref, members: bool = False) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
        value = self._json(ref)
        # jsonb_array_elements raises on a non-array (JSON null included); NULL yields no rows.
        guarded = sa.case((sa.func.jsonb_typeof(value) == schema_text("array"), value))
        each = sa.func.jsonb_array_elements(guarded).table_valued("value").alias()
        return each, each.c.value, None

    def element_scalar(self, element: Any, kind: Kind, family: str | None = None) -> ColumnElement[Any]:
        text = element.c.value.op("#>>", return_type=sa.Text)(schema_text("{}"))
        if family is None:
            return self._typed(text, kind)
        return sa.case(
            (
                sa.func.jsonb_typeof(element.c.value) == schema_text(self._FAMILY_TYPES[family]),
                self._typed(text, FAMILY_KIND[family]),
            )
        )

    def element_text(self, element: Any) -> ColumnElement[Any]:
        return sa.case(
            (
                sa.func.jsonb_typeof(element.c.value) == schema_text("string"),
                element.c.value.op("#>>", return_type=sa.Text)(schema_text("{}")),
            )
        )

    def like(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        # No ESCAPE clause: the backslash is PostgreSQL's default LIKE escape, and
        # `ESCAPE '\\'` on a bound pattern costs about 5% of a scan (like_escape() per row).
        return Leaf(value.like(bind(render_like(pattern), sa.String())), value.is_(None))

    def _lower(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        # lower() under a libc UTF-8 collation is the simple lowercase mapping re uses.
        return sa.func.lower(sa.collate(text, self.case_collation))

    def fold(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        # translate() then merges re's extra case classes (s/ſ, σ/ς, ...).
        return sa.func.translate(self._lower(text), schema_text(FOLD_FROM), schema_text(FOLD_TO))

    def ilike(self, value: ColumnElement[Any], pattern: LikePattern) -> Test:
        literals = list(pattern_literals(pattern))
        if folds_as_ascii(literals):
            # ILIKE lowers ASCII letters only under "C", and these literals have no case partner
            # outside ASCII: exactly the fold, at the cost of a hand-written ILIKE.
            ilike = sa.collate(value, "C").ilike(bind(render_like(pattern), sa.String()))
            return Leaf(ilike, value.is_(None))
        # The pattern is folded in Python, the value in SQL (re's extra classes merged only if
        # some literal is in one: otherwise merging them changes no match).
        rendered = render_like(pattern, lambda text: escape_like(fold_text(text)))
        folded = self.fold(value) if merges_classes(literals) else self._lower(value)
        return Leaf(folded.like(bind(rendered, sa.String())), value.is_(None))

    def like_any(self, value: ColumnElement[Any], patterns: list[LikePattern], ignore_case: bool) -> Test:
        # value LIKE ANY (:patterns): one bound array, whatever the number of alternatives.
        # LIKE's default escape character is the backslash, as the rendered patterns use.
        if ignore_case:
            rendered = [render_like(p, lambda text: escape_like(fold_text(text))) for p in patterns]
            target = self.fold(value)
        else:
            rendered, target = [render_like(p) for p in patterns], value
        return Leaf(target.like(sa.any_(bind(rendered, ARRAY(sa.Text())))), value.is_(None))
