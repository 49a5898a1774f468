"""The SQL compiler: a checked filter AST -> a two-valued SQLAlchemy boolean, and sort keys ->
ORDER BY clauses, for any `SQLDialect`.

One method per node kind and per operator (dispatch: `crudql.backends.base.Compiler`). Fields
become `Ref`s (a column, or a path in a JSON document); what differs between engines is asked
of the dialect. Values are always bound parameters; schema names (JSON paths) are rendered as
literals by `schema_text` so that expression indexes can match.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...ast import And, Expr, Field, ListValue, Literal, Not, Now, Or, Predicate, Quantified, SortKey
from ...check.schema import Schema
from ...errors import QueryError
from ...fieldtypes import Kind
from ...patterns import LikePattern, escape_like, parse_like
from ...values import clock
from ..base import Compiler
from ..merge import merge_alternatives
from .casefold import fold_text
from .dialects import dialect_for
from .dialects.base import BIND_TYPES, SQLDialect
from .elements import bind, binds, exists, junction
from .likes import pattern_literals
from .logic import AllOf, AnyOf, Const, Leaf, Negated, Test
from .params import now_param
from .refs import FAMILY_KIND, Ref, family
from .storage import InstantText
from .tables import TableMapping

__all__ = ["FilterCompiler", "compile_filter", "compile_order"]


@dataclass(frozen=True)
class _Scope:
    """Where field paths start (the table's columns, or one element of an array of objects),
    and whether the node is under an odd number of `not`s (negations go down to the leaves)."""

    mapping: TableMapping | None = None
    element: ColumnElement[Any] | None = None
    negate: bool = False

    def flipped(self) -> _Scope:
        return _Scope(self.mapping, self.element, not self.negate)


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


class FilterCompiler(Compiler[_Scope, ColumnElement[bool], Test]):
    """Compiles a checked filter AST to a two-valued SQLAlchemy boolean expression.

    The walk carries negation down to the leaves (`_Scope.negate`); leaves are `Test`s built
    by one method per operator, rendered positively or negated (`crudql.backends.sql.logic`).
    """

    def __init__(self, dialect: SQLDialect, mapping: TableMapping, *, resolve_now: dt.datetime | None = None) -> None:
        self.dialect = dialect
        self.mapping = mapping
        # None: `now` values become named parameters (statements cached across requests);
        # an instant: they are bound as that instant (conditions for one use).
        self.resolve_now = resolve_now
        self._memos: dict[tuple[Any, ...], Any] = {}

    def compile(self, expr: Expr) -> ColumnElement[bool]:
        # Alternatives on one array become one subquery: statements stay small however many
        # a client writes (docs/architecture.md, backends/merge.py).
        return self.visit(merge_alternatives(expr), _Scope(mapping=self.mapping))

    # -------------------------------------------------------------- memoized field expressions
    #
    # Building SQLAlchemy expressions costs far more than looking them up, and a field's
    # expression depends only on the field: memoize those of table-level fields (not inside
    # `any`, whose documents belong to one statement, nor map keys, which are client text).

    _MEMO_LIMIT = 4096

    def _memo(self, key: tuple[Any, ...], ref: Ref, build: Callable[[], Any]) -> Any:
        if (ref.doc is not None and not isinstance(ref.doc, sa.Column)) or any(k for _, k in ref.steps):
            return build()
        found = self._memos.get(key)
        if found is None:
            found = build()
            if len(self._memos) < self._MEMO_LIMIT:
                self._memos[key] = found
        return found

    def scalar(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        return self._memo(
            ("scalar", id(ref.column if ref.column is not None else ref.doc), ref.steps, ref.kind, family),
            ref,
            lambda: self.dialect.scalar(ref, family),
        )

    def ordered(self, ref: Ref, family: str | None = None) -> ColumnElement[Any]:
        """The field's value as it compares with < and sorts."""
        shape = ref if family != "string" else Ref(Kind.STRING, ref.type, ref.column, ref.doc, ref.steps, ref.nullable)
        return self._memo(
            ("ordered", id(ref.column if ref.column is not None else ref.doc), ref.steps, ref.kind, family),
            ref,
            lambda: self.dialect.ordered(self.scalar(ref, family), shape),
        )

    def present(self, ref: Ref) -> Test:
        return self._memo(
            ("present", id(ref.column if ref.column is not None else ref.doc), ref.steps),
            ref,
            lambda: self.dialect.present(ref),
        )  # type: ignore[no-any-return]

    # -------------------------------------------------------------- node kinds

    def visit_and(self, node: And, scope: _Scope) -> ColumnElement[bool]:
        # De Morgan: a negated AND is an OR of negated children.
        return junction(sa.or_ if scope.negate else sa.and_, [self.visit(c, scope) for c in node.children])

    def visit_or(self, node: Or, scope: _Scope) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = []
        groups: dict[tuple[Any, ...], list[Predicate]] = {}
        for child in node.children:
            key = _pattern_group(child)
            if key is None:
                parts.append(self.visit(child, scope))
            else:
                groups.setdefault(key, []).append(child)  # type: ignore[arg-type]
        for (_, mode), members in groups.items():
            if len(members) == 1:
                parts.append(self.visit(members[0], scope))
                continue
            test = self._elements_in(members, scope) if mode == "elements" else self._like_any(members, scope)
            parts.append(test.negative() if scope.negate else test.positive())
        return junction(sa.and_ if scope.negate else sa.or_, parts)

    def _like_any(self, members: list[Predicate], scope: _Scope) -> Test:
        """Pattern tests on one text field, as one test (`SQLDialect.like_any`)."""
        ref = self.ref(members[0].field, scope)
        value = self.scalar(ref, "string" if ref.kind is Kind.ANY else None)
        patterns = [self._checked(_PATTERNS[m.op](_text(m))) for m in members]
        return self.dialect.like_any(value, patterns, ignore_case=members[0].op in ("ilike", "icontains"))

    def _elements_in(self, members: list[Predicate], scope: _Scope) -> Test:
        """`icontains` alternatives on one array: an element equal to one of the texts,
        ignoring case, in one subquery."""
        ref = self.ref(members[0].field, scope)
        each, _, guard = self.dialect.elements(ref, members=True)
        texts = list(dict.fromkeys(fold_text(self.dialect.check_text(_text(m))) for m in members))
        test = self.dialect.fold(self.dialect.element_text(each)).in_(binds(texts, sa.String()))
        return Leaf(exists(each, test if guard is None else sa.and_(guard, test)))

    def visit_not(self, node: Not, scope: _Scope) -> ColumnElement[bool]:
        return self.visit(node.child, scope.flipped())

    def visit_predicate(self, node: Predicate, scope: _Scope) -> ColumnElement[bool]:
        test = self.predicate(node, scope)
        return test.negative() if scope.negate else test.positive()

    def negate(self, leaf: Test) -> Test:
        return Negated(leaf)

    def visit_quantified(self, node: Quantified, scope: _Scope) -> ColumnElement[bool]:
        ref = self.ref(node.field, scope)
        each, element, guard = self.dialect.elements(ref)
        # (all f P) is (not (any f (not P))).
        every = node.op == "all"
        condition = self.visit(node.condition, _Scope(element=element, negate=every))
        if guard is not None:
            condition = sa.and_(guard, condition)
        found = exists(each, condition)
        return found if scope.negate == every else sa.not_(found)

    # -------------------------------------------------------------- fields and values

    def ref(self, f: Field, scope: _Scope) -> Ref:
        ftype = f.type
        if ftype is None or f.json_path is None:
            raise TypeError(f"filter field {f.dotted!r} is not checked against a schema")
        keyed = f.keyed or (False,) * len(f.json_path)
        if scope.element is not None:
            return Ref(ftype.kind, ftype, doc=scope.element, steps=tuple(zip(f.json_path, keyed)))
        assert scope.mapping is not None
        info = scope.mapping[f.path[0]]
        if info.is_json:
            return Ref(ftype.kind, ftype, doc=info.column, steps=tuple(zip(f.json_path[1:], keyed[1:])))
        if len(f.path) != 1:
            raise TypeError(f"{f.dotted!r} goes below the scalar column {info.column.name!r}")
        return Ref(ftype.kind, ftype, column=info.column, nullable=info.column.nullable is not False)

    def value(self, ref: Ref, literal: Any) -> ColumnElement[Any]:
        """A literal bound in the form the field's stored values have. A `now` value is a
        parameter named for it, filled when the statement runs (`crudql.backends.sql.params`),
        or, with `resolve_now` set, the instant it stands for then."""
        if isinstance(literal, Now):
            if self.resolve_now is not None:
                literal = literal.at(self.resolve_now)
            else:
                # Datetimes in JSON are fixed-width text: InstantText writes an instant so.
                if ref.column is not None:
                    return now_param(literal, self.dialect.bind_type(ref, ref.kind), "column")
                return now_param(literal, InstantText(), "json")
        if ref.column is not None:
            return bind(self.dialect.literal_value(literal, ref.kind), self.dialect.bind_type(ref, ref.kind))
        return bind(self.dialect.json_literal(literal, ref.kind), self.dialect.bind_type(ref, ref.kind))

    def _compare(self, ref: Ref, op: str, literal: Any) -> Test:
        """`field op literal` for a typed field, nulls UNKNOWN (hence the leaf's null branch)."""
        if ref.kind is Kind.ANY:
            return self._compare_any(ref, op, literal)
        if ref.kind is Kind.FLOAT:
            bound = _exact_float_bound(op, literal)
            if isinstance(bound, bool):
                return Const(bound)
            op, literal = bound
        column = self.scalar(ref)
        left = column if op == "=" else self.ordered(ref)
        return Leaf(_COMPARE[op](left, self.value(ref, literal)), column.is_(None))

    def _compare_any(self, ref: Ref, op: str, literal: Any) -> Test:
        """Untyped fields compare within one JSON family (the Python backend's `_same`)."""
        fam = family(literal)
        if fam is None or (fam == "bool" and op != "="):
            return Const(False)
        column = self.scalar(ref, fam)
        left = self.ordered(ref, fam) if op != "=" else column
        kind = FAMILY_KIND[fam]
        if isinstance(literal, str):
            self.dialect.check_text(literal)
        return Leaf(_COMPARE[op](left, bind(literal, BIND_TYPES.get(kind, sa.String()))), column.is_(None))

    # -------------------------------------------------------------- one method per operator

    def op_eq(self, node: Predicate, scope: _Scope) -> Test:
        literal = _literal(node, 0)
        if literal is None:
            return self.op_is_null(node, scope)
        return self._compare(self.ref(node.field, scope), "=", literal)

    def op_lt(self, node: Predicate, scope: _Scope) -> Test:
        return self._compare(self.ref(node.field, scope), "<", _literal(node, 0))

    def op_lte(self, node: Predicate, scope: _Scope) -> Test:
        return self._compare(self.ref(node.field, scope), "<=", _literal(node, 0))

    def op_gt(self, node: Predicate, scope: _Scope) -> Test:
        return self._compare(self.ref(node.field, scope), ">", _literal(node, 0))

    def op_gte(self, node: Predicate, scope: _Scope) -> Test:
        return self._compare(self.ref(node.field, scope), ">=", _literal(node, 0))

    def op_between(self, node: Predicate, scope: _Scope) -> Test:
        ref = self.ref(node.field, scope)
        return AllOf((self._compare(ref, ">=", _literal(node, 0)), self._compare(ref, "<=", _literal(node, 1))))

    def op_in(self, node: Predicate, scope: _Scope) -> Test:
        ref = self.ref(node.field, scope)
        values = _list(node)
        present = list(dict.fromkeys(v for v in values if v is not None))
        tests: list[Test] = []
        if present:
            tests.append(self._in(ref, present))
        if any(v is None for v in values):  # null in the list matches missing or null
            tests.append(self.op_is_null(node, scope))
        return AnyOf(tuple(tests)) if tests else Const(False)

    def _in(self, ref: Ref, values: list[Any]) -> Test:
        if ref.kind is Kind.ANY:
            return AnyOf(tuple(self._compare(ref, "=", v) for v in values))
        if ref.kind is Kind.FLOAT:
            # Integers no double equals can never match; the rest compare as doubles.
            values = [b[1] for b in (_exact_float_bound("=", v) for v in values) if not isinstance(b, bool)]
            if not values:
                return Const(False)
        column = self.scalar(ref)
        if any(isinstance(v, Now) for v in values):
            elements = [self.value(ref, v) for v in values]
            if len(elements) == 1:
                return Leaf(column == elements[0], column.is_(None))
            return Leaf(column.in_(elements), column.is_(None))
        stored = self.dialect.json_literal if ref.column is None else self.dialect.literal_value
        bound = [stored(v, ref.kind) for v in values]
        if len(bound) == 1:
            return Leaf(column == bind(bound[0], self.dialect.bind_type(ref, ref.kind)), column.is_(None))
        return Leaf(column.in_(binds(bound, self.dialect.bind_type(ref, ref.kind))), column.is_(None))

    def op_like(self, node: Predicate, scope: _Scope) -> Test:
        return self._pattern(node, scope, parse_like(_text(node)), ignore_case=False)

    def op_ilike(self, node: Predicate, scope: _Scope) -> Test:
        return self._pattern(node, scope, parse_like(_text(node)), ignore_case=True)

    def op_starts_with(self, node: Predicate, scope: _Scope) -> Test:
        return self._pattern(node, scope, parse_like(escape_like(_text(node)) + "%"), ignore_case=False)

    def op_ends_with(self, node: Predicate, scope: _Scope) -> Test:
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node))), ignore_case=False)

    def op_contains(self, node: Predicate, scope: _Scope) -> Test:
        if node.field.type is not None and node.field.type.kind is Kind.ARRAY:
            return self.op_has(node, scope)  # on an array: an element equals the value
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node)) + "%"), ignore_case=False)

    def op_icontains(self, node: Predicate, scope: _Scope) -> Test:
        ref = self.ref(node.field, scope)
        pattern = self._checked(parse_like(escape_like(_text(node))))
        if ref.kind is Kind.ARRAY:
            # An element equal to the text ignoring case: the whole element matches.
            each, _, guard = self.dialect.elements(ref, members=True)
            test = self.dialect.ilike(self.dialect.element_text(each), pattern).positive()
            return Leaf(exists(each, test if guard is None else sa.and_(guard, test)))
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node)) + "%"), ignore_case=True)

    def _checked(self, pattern: LikePattern) -> LikePattern:
        for text in pattern_literals(pattern):
            self.dialect.check_text(text)
        return pattern

    def _pattern(self, node: Predicate, scope: _Scope, pattern: LikePattern, ignore_case: bool) -> Test:
        pattern = self._checked(pattern)
        ref = self.ref(node.field, scope)
        value = self.scalar(ref, "string" if ref.kind is Kind.ANY else None)
        return self.dialect.ilike(value, pattern) if ignore_case else self.dialect.like(value, pattern)

    def op_has(self, node: Predicate, scope: _Scope) -> Test:
        return self._has_any(self.ref(node.field, scope), [_literal(node, 0)])

    def op_has_any(self, node: Predicate, scope: _Scope) -> Test:
        return self._has_any(self.ref(node.field, scope), list(dict.fromkeys(_list(node))))

    def op_has_all(self, node: Predicate, scope: _Scope) -> Test:
        ref = self.ref(node.field, scope)
        values = list(dict.fromkeys(_list(node)))
        if not values:
            return Const(True)  # the empty conjunction, even for a missing array
        if self.dialect.json_containment:
            return self._contains_all(ref, values)
        if ref.item_kind is Kind.ANY or len(values) == 1:
            return AllOf(tuple(self._has_any(ref, [v]) for v in values))
        # Typed elements: count the distinct listed values present. The list is deduplicated
        # with Python's equality, which for one element type is SQLite's too.
        each, _, guard = self.dialect.elements(ref, members=True)
        element = self.dialect.element_scalar(each, ref.item_kind)
        bound = [self.dialect.json_literal(v, ref.item_kind) for v in values]
        match = element.in_(binds(bound, BIND_TYPES.get(ref.item_kind, sa.String())))
        distinct = sa.select(sa.func.count(sa.distinct(element))).select_from(each)
        found = distinct.where(match if guard is None else sa.and_(guard, match)).scalar_subquery()
        return Leaf(found == bind(len(bound), sa.Integer()))

    def _has_any(self, ref: Ref, values: list[Any]) -> Test:
        if not values:
            return Const(False)
        if self.dialect.json_containment:
            return AnyOf(tuple(self._contains_all(ref, [v]) for v in values))
        each, _, guard = self.dialect.elements(ref, members=True)
        item = ref.item_kind
        if item is Kind.ANY:
            tests = [
                self.dialect.element_scalar(each, item, family(v)) == bind(self.dialect.literal_value(v, item))
                for v in values
                if family(v) is not None
            ]
            if not tests:
                return Const(False)
            match: ColumnElement[bool] = junction(sa.or_, tests)
        else:
            bound = [self.dialect.json_literal(v, item) for v in values]
            element = self.dialect.element_scalar(each, item)
            if len(bound) == 1:
                match = element == bind(bound[0], BIND_TYPES.get(item, sa.String()))
            else:
                match = element.in_(binds(bound, BIND_TYPES.get(item, sa.String())))
        return Leaf(exists(each, match if guard is None else sa.and_(guard, match)))

    def _contains_all(self, ref: Ref, values: list[Any]) -> Test:
        item = ref.item_kind
        return self.dialect.contains_all(ref, [self.dialect.json_literal(v, item) for v in values])

    def op_exists(self, node: Predicate, scope: _Scope) -> Test:
        return self.present(self.ref(node.field, scope))

    def op_is_null(self, node: Predicate, scope: _Scope) -> Test:
        return Negated(self.present(self.ref(node.field, scope)))

    # -------------------------------------------------------------- sort

    def order_by(self, keys: Sequence[SortKey]) -> list[Any]:
        clauses = []
        for key in keys:
            ref = self.sort_ref(key)

            def build(ref: Ref = ref, descending: bool = key.descending) -> Any:
                if ref.kind is Kind.ANY:
                    return [
                        self.dialect.sort_nulls(t.desc() if descending else t.asc(), descending, True)
                        for t in self.untyped_terms(ref)
                    ]
                value = self.ordered(ref)
                return [self.dialect.sort_nulls(value.desc() if descending else value.asc(), descending, ref.nullable)]

            clauses.extend(self._memo(("sort", key.path, key.descending), ref, build))
        return clauses

    def sort_ref(self, key: SortKey) -> Ref:
        """Where a sort key's value is (a table-level field)."""
        f = key.resolved if key.resolved is not None else self.mapping.schema.field(key.path)
        return self.ref(f, _Scope(mapping=self.mapping))

    # Untyped values order as the Python backend's `typed_rank`: by JSON family first
    # (numbers, strings, booleans, then objects and arrays, which tie), then within it.
    FAMILY_RANKS = (("number", 1), ("string", 2), ("bool", 4))
    OTHER_RANK = 9

    def untyped_terms(self, ref: Ref) -> list[ColumnElement[Any]]:
        """The ORDER BY terms of an untyped value: its family's rank (NULL when missing or
        null, so it sorts lowest), then its value as a number, a string and a boolean (each
        NULL outside its family). Not the engine's order of JSON values: PostgreSQL orders
        `->>` text (so "12.5" < "7"), and SQLite reads booleans as 0 and 1."""
        rank = sa.case(
            *((self.scalar(ref, name).is_not(None), sa.literal(n)) for name, n in self.FAMILY_RANKS),
            (self.present(ref).positive(), sa.literal(self.OTHER_RANK)),
        )
        return [rank, self.ordered(ref, "number"), self.ordered(ref, "string"), self.scalar(ref, "bool")]


# How each text operator's argument becomes a LIKE pattern.
_PATTERNS: dict[str, Callable[[str], LikePattern]] = {
    "like": parse_like,
    "ilike": parse_like,
    "contains": lambda text: parse_like("%" + escape_like(text) + "%"),
    "icontains": lambda text: parse_like("%" + escape_like(text) + "%"),
    "starts-with": lambda text: parse_like(escape_like(text) + "%"),
    "ends-with": lambda text: parse_like("%" + escape_like(text)),
}


def _pattern_group(node: Expr) -> tuple[Any, ...] | None:
    """Which alternatives a text test can share one SQL test with: the same field, and the
    same case mode (or, for `icontains` on an array, the same array)."""
    if not isinstance(node, Predicate) or node.op not in _PATTERNS:
        return None
    kind = node.field.type.kind if node.field.type is not None else Kind.ANY
    if kind is Kind.ARRAY:
        return (node.field, "elements") if node.op == "icontains" else None
    return (node.field, "fold" if node.op in ("ilike", "icontains") else "exact")


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


# ---------------------------------------------------------------------------- for hand-built queries


def compile_filter(
    expr: Expr | None, table: sa.Table, model: type[Any], dialect: Any, *, now: dt.datetime | None = None
) -> ColumnElement[bool]:
    """A checked filter as a SQLAlchemy boolean over `table` (true() for None), to use in
    statements of your own. `dialect`: a dialect name, an Engine or a `SQLDialect`. `now`:
    the instant `(now ...)` values are bound as (default: the clock, now).

    On SQLite, connections that run it need `register_sqlite_functions` (SQL sources do that).
    """
    if expr is None:
        return sa.true()
    mapping = TableMapping(table, Schema.from_model(model))
    return FilterCompiler(dialect_for(dialect), mapping, resolve_now=now or clock()).compile(expr)


def compile_order(keys: Sequence[SortKey], table: sa.Table, model: type[Any], dialect: Any) -> list[Any]:
    """Checked sort keys as ORDER BY clauses (nulls lowest, strings by code point)."""
    return FilterCompiler(dialect_for(dialect), TableMapping(table, Schema.from_model(model))).order_by(keys)
