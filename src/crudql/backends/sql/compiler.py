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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...ast import And, Expr, ListValue, Literal, Not, Now, Or, Predicate, Quantified, SortKey
from ...errors import QueryError
from ...fieldtypes import Kind
from ...patterns import LikePattern, escape_like, parse_like
from ...values import clock
from ..base import Compiler
from ..merge import merge_alternatives
from .casefold import fold_text
from .dialects import dialect_for
from .dialects.base import BIND_TYPES, NoSuchValue, SQLDialect
from .elements import bind, binds, exists, junction
from .fields import FieldAccess, Scope
from .likes import pattern_literals
from .logic import AllOf, AnyOf, Const, Leaf, Negated, Test
from .mapping import Node, build_mapping
from .params import now_param
from .refs import FAMILY_KIND, Ref, family
from .scope import Bound, bind_node
from .storage import InstantText

__all__ = ["FilterCompiler", "compile_filter", "compile_order"]


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


class FilterCompiler(FieldAccess, Compiler[Scope, ColumnElement[bool], Test]):
    """Compiles a checked filter AST to a two-valued SQLAlchemy boolean expression.

    The walk carries negation down to the leaves (`Scope.negate`); leaves are `Test`s built
    by one method per operator, rendered positively or negated (`crudql.backends.sql.logic`).
    Fields are read through `FieldAccess` from `root`: the mapping bound to the statement's FROM.
    """

    def __init__(self, dialect: SQLDialect, root: Bound | Node, *, resolve_now: dt.datetime | None = None) -> None:
        self.dialect = dialect
        self.root = root if isinstance(root, Bound) else bind_node(root, root.table, None, stable=True)
        # None: `now` values become named parameters (statements cached across requests);
        # an instant: they are bound as that instant (conditions for one use).
        self.resolve_now = resolve_now
        self._memos: dict[tuple[Any, ...], Any] = {}

    @property
    def from_clause(self) -> sa.FromClause:
        """What the statements select from: the table and the outer joins of its to-one rows."""
        return self.root.from_clause()

    def compile(self, expr: Expr) -> ColumnElement[bool]:
        # Alternatives on one array become one subquery: statements stay small however many
        # a client writes (docs/architecture.md, backends/merge.py).
        return self.visit(merge_alternatives(expr), Scope(bound=self.root))

    # -------------------------------------------------------------- node kinds

    def visit_and(self, node: And, scope: Scope) -> ColumnElement[bool]:
        # De Morgan: a negated AND is an OR of negated children.
        return junction(sa.or_ if scope.negate else sa.and_, [self.visit(c, scope) for c in node.children])

    def visit_or(self, node: Or, scope: Scope) -> ColumnElement[bool]:
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

    def _like_any(self, members: list[Predicate], scope: Scope) -> Test:
        """Pattern tests on one text field, as one test (`SQLDialect.like_any`)."""
        ref = self.ref(members[0].field, scope)
        value = self.text(ref)
        patterns = [self._checked(_PATTERNS[m.op](_text(m))) for m in members]
        return self.dialect.like_any(value, patterns, ignore_case=members[0].op in ("ilike", "icontains"))

    def _elements_in(self, members: list[Predicate], scope: Scope) -> Test:
        """`icontains` alternatives on one array: an element equal to one of the texts,
        ignoring case, in one subquery."""
        elements = self.members(self.ref(members[0].field, scope))
        texts = list(dict.fromkeys(fold_text(self.dialect.check_text(_text(m))) for m in members))
        test = self.dialect.fold(elements.text()).in_(binds(texts, sa.String()))
        return Leaf(exists(elements.source, test if elements.guard is None else sa.and_(elements.guard, test)))

    def visit_not(self, node: Not, scope: Scope) -> ColumnElement[bool]:
        return self.visit(node.child, scope.flipped())

    def visit_predicate(self, node: Predicate, scope: Scope) -> ColumnElement[bool]:
        test = self.predicate(node, scope)
        return test.negative() if scope.negate else test.positive()

    def negate(self, leaf: Test) -> Test:
        return Negated(leaf)

    def visit_quantified(self, node: Quantified, scope: Scope) -> ColumnElement[bool]:
        ref = self.ref(node.field, scope)
        # (all f P) is (not (any f (not P))).
        every = node.op == "all"
        each, inner, guard = self.element_scope(ref, every)
        condition = self.visit(node.condition, inner)
        if guard is not None:
            condition = sa.and_(guard, condition)
        found = exists(each, condition)
        return found if scope.negate == every else sa.not_(found)

    # -------------------------------------------------------------- values

    def value(self, ref: Ref, literal: Any) -> ColumnElement[Any]:
        """A literal bound in the form the field's stored values have. A `now` value is a
        parameter named for it, filled when the statement runs (`crudql.backends.sql.params`),
        or, with `resolve_now` set, the instant it stands for then."""
        if not isinstance(literal, Now):
            return super().value(ref, literal)
        if self.resolve_now is not None:
            return super().value(ref, literal.at(self.resolve_now))
        if ref.column is None:
            return now_param(literal, InstantText(), "json")  # datetimes in JSON: fixed-width text
        column_type = ref.column.type
        naive = isinstance(column_type, sa.DateTime) and not column_type.timezone
        return now_param(literal, self.dialect.bind_type(ref, ref.kind), "naive" if naive else "column")

    # -------------------------------------------------------------- comparisons

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
        if op != "=" and ref.column is not None and isinstance(ref.column.type, sa.Enum):
            # An enum column orders by its values' text: compare with the literal's text.
            return Leaf(_COMPARE[op](left, bind(literal, sa.Text())), column.is_(None))
        try:
            value = self.value(ref, literal)
        except NoSuchValue:
            return Const(False)  # a value the column's type cannot hold equals nothing stored
        return Leaf(_COMPARE[op](left, value), column.is_(None))

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

    def op_eq(self, node: Predicate, scope: Scope) -> Test:
        literal = _literal(node, 0)
        if literal is None:
            return self.op_is_null(node, scope)
        return self._compare(self.ref(node.field, scope), "=", literal)

    def op_lt(self, node: Predicate, scope: Scope) -> Test:
        return self._compare(self.ref(node.field, scope), "<", _literal(node, 0))

    def op_lte(self, node: Predicate, scope: Scope) -> Test:
        return self._compare(self.ref(node.field, scope), "<=", _literal(node, 0))

    def op_gt(self, node: Predicate, scope: Scope) -> Test:
        return self._compare(self.ref(node.field, scope), ">", _literal(node, 0))

    def op_gte(self, node: Predicate, scope: Scope) -> Test:
        return self._compare(self.ref(node.field, scope), ">=", _literal(node, 0))

    def op_between(self, node: Predicate, scope: Scope) -> Test:
        ref = self.ref(node.field, scope)
        return AllOf((self._compare(ref, ">=", _literal(node, 0)), self._compare(ref, "<=", _literal(node, 1))))

    def op_in(self, node: Predicate, scope: Scope) -> Test:
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
            test = column == elements[0] if len(elements) == 1 else column.in_(elements)
            return Leaf(test, column.is_(None))
        if ref.column is None:
            bound = [self.dialect.json_literal(v, ref.kind) for v in values]
        else:
            bound = []
            for v in values:
                try:
                    bound.append(self.dialect.column_literal(ref.column.type, v, ref.kind))
                except NoSuchValue:
                    continue  # a value the column's type cannot hold equals nothing stored
            if not bound:
                return Const(False)
        if len(bound) == 1:
            return Leaf(column == bind(bound[0], self.dialect.bind_type(ref, ref.kind)), column.is_(None))
        return Leaf(column.in_(binds(bound, self.dialect.bind_type(ref, ref.kind))), column.is_(None))

    def op_like(self, node: Predicate, scope: Scope) -> Test:
        return self._pattern(node, scope, parse_like(_text(node)), ignore_case=False)

    def op_ilike(self, node: Predicate, scope: Scope) -> Test:
        return self._pattern(node, scope, parse_like(_text(node)), ignore_case=True)

    def op_starts_with(self, node: Predicate, scope: Scope) -> Test:
        return self._pattern(node, scope, parse_like(escape_like(_text(node)) + "%"), ignore_case=False)

    def op_ends_with(self, node: Predicate, scope: Scope) -> Test:
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node))), ignore_case=False)

    def op_contains(self, node: Predicate, scope: Scope) -> Test:
        if node.field.type is not None and node.field.type.kind is Kind.ARRAY:
            return self.op_has(node, scope)  # on an array: an element equals the value
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node)) + "%"), ignore_case=False)

    def op_icontains(self, node: Predicate, scope: Scope) -> Test:
        ref = self.ref(node.field, scope)
        pattern = self._checked(parse_like(escape_like(_text(node))))
        if ref.kind is Kind.ARRAY:
            # An element equal to the text ignoring case: the whole element matches.
            elements = self.members(ref)
            test = self.dialect.ilike(elements.text(), pattern).positive()
            guard = elements.guard
            return Leaf(exists(elements.source, test if guard is None else sa.and_(guard, test)))
        return self._pattern(node, scope, parse_like("%" + escape_like(_text(node)) + "%"), ignore_case=True)

    def _checked(self, pattern: LikePattern) -> LikePattern:
        for text in pattern_literals(pattern):
            self.dialect.check_text(text)
        return pattern

    def _pattern(self, node: Predicate, scope: Scope, pattern: LikePattern, ignore_case: bool) -> Test:
        pattern = self._checked(pattern)
        value = self.text(self.ref(node.field, scope))
        return self.dialect.ilike(value, pattern) if ignore_case else self.dialect.like(value, pattern)

    def op_has(self, node: Predicate, scope: Scope) -> Test:
        return self._has_any(self.ref(node.field, scope), [_literal(node, 0)])

    def op_has_any(self, node: Predicate, scope: Scope) -> Test:
        return self._has_any(self.ref(node.field, scope), list(dict.fromkeys(_list(node))))

    def op_has_all(self, node: Predicate, scope: Scope) -> Test:
        ref = self.ref(node.field, scope)
        values = list(dict.fromkeys(_list(node)))
        if not values:
            return Const(True)  # the empty conjunction, even for a missing array
        if ref.many is None and self.dialect.contains(ref):
            return self._contains_all(ref, values)
        if ref.item_kind is Kind.ANY or len(values) == 1:
            return AllOf(tuple(self._has_any(ref, [v]) for v in values))
        # Typed elements: count the distinct listed values present. The list is deduplicated
        # with Python's equality, which for one element type is SQLite's too.
        elements = self.members(ref)
        element = elements.scalar(ref.item_kind, None)
        match = element.in_([elements.bind(v, ref.item_kind) for v in values])
        guard = elements.guard
        distinct = sa.select(sa.func.count(sa.distinct(element))).select_from(elements.source)
        found = distinct.where(match if guard is None else sa.and_(guard, match)).scalar_subquery()
        return Leaf(found == bind(len(values), sa.Integer()))

    def _has_any(self, ref: Ref, values: list[Any]) -> Test:
        if not values:
            return Const(False)
        if ref.many is None and self.dialect.contains(ref):
            return AnyOf(tuple(self._contains_all(ref, [v]) for v in values))
        elements = self.members(ref)
        item = ref.item_kind
        if item is Kind.ANY:
            tests = [
                elements.scalar(item, family(v)) == bind(self.dialect.literal_value(v, item))
                for v in values
                if family(v) is not None
            ]
            if not tests:
                return Const(False)
            match: ColumnElement[bool] = junction(sa.or_, tests)
        else:
            element = elements.scalar(item, None)
            bound = [elements.bind(v, item) for v in values]
            match = element == bound[0] if len(bound) == 1 else element.in_(bound)
        guard = elements.guard
        return Leaf(exists(elements.source, match if guard is None else sa.and_(guard, match)))

    def _contains_all(self, ref: Ref, values: list[Any]) -> Test:
        item = ref.item_kind
        return self.dialect.contains_all(ref, [self.dialect.json_literal(v, item) for v in values])

    def op_exists(self, node: Predicate, scope: Scope) -> Test:
        return self.present(self.ref(node.field, scope))

    def op_is_null(self, node: Predicate, scope: Scope) -> Test:
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
        f = key.resolved if key.resolved is not None else self.root.node.schema.field(key.path)
        return self.ref(f, Scope(bound=self.root))

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
    return FilterCompiler(dialect_for(dialect), build_mapping(table, model), resolve_now=now or clock()).compile(expr)


def compile_order(keys: Sequence[SortKey], table: sa.Table, model: type[Any], dialect: Any) -> list[Any]:
    """Checked sort keys as ORDER BY clauses (nulls lowest, strings by code point)."""
    return FilterCompiler(dialect_for(dialect), build_mapping(table, model)).order_by(keys)
