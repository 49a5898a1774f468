"""Field access for the SQL compiler: from a checked field to the SQL expressions that read it.

A field path is walked through the mapping (`crudql.backends.sql.mapping`) from the current
scope: the row of the main statement, a related row inside a subquery, or an element of a JSON
array. It ends at a `Ref`: a column or SQL expression, a path inside a JSON document, an object
(a related or same-row group of columns), or an array (related rows, a column of related rows,
an array column, or a JSON array). Everything the compiler asks of a field — its value, its
value as it orders, whether it is present, the elements of an array — is answered here, so the
operator methods never look at how the field is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from ...ast import Field
from ...fieldtypes import Kind
from .dialects.base import BIND_TYPES, SQLDialect
from .elements import bind
from .logic import AnyOf, Const, Leaf, Test
from .mapping import Array, Json, Scalar, Scalars, ToMany, ToOne, Virtual
from .refs import Ref
from .scope import Bound, bind_node, correlate

__all__ = ["FieldAccess", "Members", "Scope"]


@dataclass(frozen=True)
class Scope:
    """Where field paths start (a mapped row, or one element of a JSON array of objects), and
    whether the node is under an odd number of `not`s (negations go down to the leaves)."""

    bound: Bound | None = None
    element: ColumnElement[Any] | None = None
    negate: bool = False

    def flipped(self) -> Scope:
        return Scope(self.bound, self.element, not self.negate)


@dataclass(frozen=True)
class Members:
    """The elements of an array of scalars, for membership tests: a FROM item, the condition
    tying it to the current row (None: none needed), and the elements' values."""

    source: Any
    guard: ColumnElement[bool] | None
    scalar: Callable[[Kind, str | None], ColumnElement[Any]]  # (element kind, JSON family)
    text: Callable[[], ColumnElement[Any]]  # the element as text, NULL when it is not a string
    bind: Callable[[Any, Kind], ColumnElement[Any]]  # a literal as the elements compare with it


class FieldAccess:
    """The field half of `FilterCompiler`: refs, values and memoized field expressions."""

    dialect: SQLDialect
    root: Bound

    # Building SQLAlchemy expressions costs far more than looking them up, and an expression
    # on the main statement depends only on the field: memoize those (not ones inside a
    # subquery, whose FROM items belong to one statement, nor map keys, which are client text).
    _MEMO_LIMIT = 4096

    def _memo(self, key: tuple[Any, ...], ref: Ref, build: Callable[[], Any]) -> Any:
        if not ref.stable or any(k for _, k in ref.steps):
            return build()
        memos: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_memos", {})
        found = memos.get(key)
        if found is None:
            found = build()
            if len(memos) < self._MEMO_LIMIT:
                memos[key] = found
        return found

    @staticmethod
    def _key(ref: Ref) -> int:
        return id(ref.column if ref.column is not None else ref.doc)

    def scalar(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        """The field's value, as it compares for equality."""
        return self._memo(
            ("scalar", self._key(ref), ref.steps, ref.kind, family), ref, lambda: self.dialect.scalar(ref, family)
        )

    def text(self, ref: Ref) -> ColumnElement[Any]:
        """The field's value as text, for LIKE and friends (an enum column as its values)."""
        if ref.column is not None and isinstance(ref.column.type, sa.Enum):
            return self.dialect.enum_text(ref.column)
        return self.scalar(ref, "string" if ref.kind is Kind.ANY else None)

    def ordered(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        """The field's value as it compares with < and sorts."""
        shape = ref
        if family == "string":
            shape = Ref(Kind.STRING, ref.type, ref.column, ref.doc, ref.steps, ref.nullable, ref.stable)
        return self._memo(
            ("ordered", self._key(ref), ref.steps, ref.kind, family),
            ref,
            lambda: self.dialect.ordered(self.scalar(ref, family), shape),
        )

    def present(self, ref: Ref) -> Test:
        """The field is present and not null."""
        if ref.object is not None:
            return self._object_present(ref.object)
        if ref.many is not None:
            bound, mf = ref.many
            if isinstance(mf, Array):
                return Leaf(bound.column(mf.expr).is_not(None))
            # Related rows: an array, empty or not, whenever the row it hangs from exists.
            return Const(True) if bound.present is None else Leaf(bound.present)
        return self._memo(("present", self._key(ref), ref.steps), ref, lambda: self.dialect.present(ref))  # type: ignore[no-any-return]

    def _object_present(self, bound: Bound) -> Test:
        if bound.own_row:  # a related row: present when it exists
            return Const(True) if bound.present is None else Leaf(bound.present)
        # A nested model in its parent's row: present when one of its fields is.
        parts: list[Test] = []
        for name, mf in bound.node.fields.items():
            if isinstance(mf, (Virtual, ToOne)):
                parts.append(self._object_present(bound.children[name]))
            elif isinstance(mf, (ToMany, Scalars)):
                return Const(True) if bound.present is None else Leaf(bound.present)
            elif isinstance(mf, Json):
                doc = self.dialect.json_document(bound.column(mf.expr))
                parts.append(self.dialect.present(Ref(mf.type.kind, mf.type, doc=doc)))
            elif isinstance(mf, (Scalar, Array)):
                parts.append(Leaf(bound.column(mf.expr).is_not(None)))
        return AnyOf(tuple(parts)) if parts else Const(False)

    def ref(self, f: Field, scope: Scope) -> Ref:
        ftype = f.type
        if ftype is None or f.json_path is None:
            raise TypeError(f"filter field {f.dotted!r} is not checked against a schema")
        keyed = f.keyed or (False,) * len(f.json_path)
        if scope.element is not None:
            return Ref(ftype.kind, ftype, doc=scope.element, steps=tuple(zip(f.json_path, keyed)))
        bound = scope.bound
        assert bound is not None
        for i, name in enumerate(f.path):
            mf = bound.node.fields.get(name)
            if mf is None:
                raise TypeError(f"{f.dotted!r}: {'.'.join(f.path[: i + 1])} is not mapped")
            last = i == len(f.path) - 1
            if isinstance(mf, Json):
                doc = self.dialect.json_document(bound.column(mf.expr))
                steps = tuple(zip(f.json_path[i + 1 :], keyed[i + 1 :]))
                return Ref(ftype.kind, ftype, doc=doc, steps=steps, stable=bound.stable)
            if isinstance(mf, (Virtual, ToOne)):
                bound = bound.children[name]
                if last:
                    return Ref(ftype.kind, ftype, object=bound, stable=bound.stable)
                continue
            if not last:
                raise TypeError(f"{f.dotted!r} goes below {'.'.join(f.path[: i + 1])}, which is not an object")
            if isinstance(mf, Scalar):
                column = bound.column(mf.expr)
                nullable = bound.present is not None or getattr(column, "nullable", True) is not False
                return Ref(ftype.kind, ftype, column=column, nullable=nullable, stable=bound.stable)
            array = bound.column(mf.expr) if isinstance(mf, Array) else None
            return Ref(ftype.kind, ftype, column=array, many=(bound, mf), stable=bound.stable)
        raise TypeError(f"{f.dotted!r} is not a field")

    def value(self, ref: Ref, literal: Any) -> ColumnElement[Any]:
        """A literal bound in the form the field's stored values have (NoSuchValue when the
        column cannot hold it, e.g. an enum label its type lacks)."""
        if ref.column is not None:
            stored = self.dialect.column_literal(ref.column.type, literal, ref.kind)
            return bind(stored, self.dialect.bind_type(ref, ref.kind))
        return bind(self.dialect.json_literal(literal, ref.kind), self.dialect.bind_type(ref, ref.kind))

    # -------------------------------------------------------------- arrays

    def members(self, ref: Ref) -> Members:
        """The elements of an array of scalars (JSON, related rows' column, array column)."""
        if ref.many is None:
            each, _, guard = self.dialect.elements(ref, members=True)
            return Members(
                each,
                guard,
                lambda kind, fam: self.dialect.element_scalar(each, kind, fam),
                lambda: self.dialect.element_text(each),
                lambda v, kind: bind(self.dialect.json_literal(v, kind), BIND_TYPES.get(kind, sa.String())),
            )
        bound, mf = ref.many
        if isinstance(mf, Scalars):
            alias = mf.table.alias()
            column = ClauseAdapter(alias).traverse(mf.column)
            guard = correlate(bound, alias, mf.pairs)
        elif isinstance(mf, Array):
            alias, column = self.dialect.array_elements(bound.column(mf.expr))
            guard = None
        else:
            raise TypeError(f"{mf.name!r} is an array of objects: it has no scalar elements")
        column_type = column.type
        return Members(
            alias,
            guard,
            lambda kind, fam: self.dialect.column_scalar(column, kind),
            lambda: self.dialect.enum_text(column) if isinstance(column_type, sa.Enum) else column,
            lambda v, kind: bind(self.dialect.column_literal(column_type, v, kind), column_type),
        )

    def element_scope(self, ref: Ref, negate: bool) -> tuple[Any, Scope, ColumnElement[bool] | None]:
        """(FROM item, scope of one element, guard) for `any`/`all` over an array of objects."""
        if ref.many is not None:
            bound, mf = ref.many
            if not isinstance(mf, ToMany):
                raise TypeError(f"{mf.name!r} is not an array of objects")
            alias = mf.node.table.alias()
            child = bind_node(mf.node, alias, None, stable=False)
            return child.from_clause(), Scope(bound=child, negate=negate), correlate(bound, alias, mf.pairs)
        each, element, guard = self.dialect.elements(ref)
        return each, Scope(element=element, negate=negate), guard
