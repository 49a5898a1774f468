"""Python backend: a checked filter compiled into a predicate (or a whole-list scan).

Semantics (docs/spec/LANGUAGE.md §2): every test is false on a missing or null value, except the null
tests; negations are plain `not`. A path through a missing object, or through a value of the
wrong shape, is missing. One method per node kind and per operator, as in every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...ast import And, Expr, Field, Not, Or, Predicate, Quantified
from ...cache import WeightedLRU, tree_weight
from ...fieldtypes import Kind
from ...patterns import escape_like, like_matcher
from ...values import clock
from ..base import Compiler, text_of, value_of, values_of
from .codegen import DICT, MODEL, SHAPES, Codegen

__all__ = ["compile_filter", "compile_scan", "source_of"]

RecordTest = Callable[[Any], bool]
Scan = Callable[[Iterable[Any]], list[Any]]

# Generated functions, by (tree, record shape): checked trees carry each field's type, JSON path
# and how each segment is reached, so one model's code never serves another. What is cached is
# a factory (the instant `now` stands for -> the function; `Codegen.load_bound`), so filters
# with `now` compile once too. Generated code holds about twice the tree's weight (measured).
_PREDICATES: WeightedLRU[tuple[Expr, str], Callable[[datetime], RecordTest]] = WeightedLRU(8 << 20)
_SCANS: WeightedLRU[tuple[Expr, str], Callable[[datetime], Scan]] = WeightedLRU(16 << 20)
_HOIST_EVERY = 12  # nesting levels per generated function: stays far below Python's parser limit


@dataclass(frozen=True, slots=True)
class _At:
    """Where a node is compiled: the variable holding the record (or array element), and
    how deep in the tree (deep trees are split into functions)."""

    var: str
    depth: int = 0


class FilterGenerator(Codegen, Compiler[_At, str, str]):
    """Builds the source of one predicate (plus helper functions for `any`/`all` bodies)."""

    def build(self, expr: Expr) -> Callable[[datetime], RecordTest]:
        """The predicate's factory (`Codegen.load_bound`)."""
        main = self.function("r", self.visit(expr, _At("r")))
        return self.load_bound(main)

    def build_scan(self, expr: Expr) -> Callable[[datetime], Scan]:
        """The factory of a function filtering a whole list, with the test inlined in a
        comprehension: no Python call per record."""
        name = f"_f{next(self._ids)}"
        self.functions.append(f"def {name}(items):\n    return [r for r in items if {self.visit(expr, _At('r'))}]\n")
        return self.load_bound(name)

    # -------------------------------------------------------------- node kinds

    def visit(self, node: Expr, ctx: _At) -> str:
        inner = _At(ctx.var, ctx.depth + 1)
        if ctx.depth and ctx.depth % _HOIST_EVERY == 0:
            # Deep trees become nested function calls rather than deeply nested source.
            return f"{self.function(ctx.var, super().visit(node, inner))}({ctx.var})"
        return super().visit(node, inner)

    def visit_and(self, node: And, ctx: _At) -> str:
        return "(" + " and ".join(self.visit(c, ctx) for c in node.children) + ")"

    def visit_or(self, node: Or, ctx: _At) -> str:
        return "(" + " or ".join(self.visit(c, ctx) for c in node.children) + ")"

    def visit_not(self, node: Not, ctx: _At) -> str:
        return f"(not {self.visit(node.child, ctx)})"

    def visit_quantified(self, node: Quantified, ctx: _At) -> str:
        element = self.temp()
        body = self.function(element, self.visit(node.condition, _At(element, ctx.depth)))
        if node.op == "any":
            return self.guarded(node.field, ctx.var, lambda v: f"any(map({body}, {v}))")
        # (all f P) is (not (any f (not P))): true for a missing or empty array.
        return f"(not {self.guarded(node.field, ctx.var, lambda v: f'not all(map({body}, {v}))')})"

    def visit_predicate(self, node: Predicate, ctx: _At) -> str:
        return self.predicate(node, ctx)

    def negate(self, leaf: str) -> str:
        return f"(not {leaf})"

    # -------------------------------------------------------------- helpers

    def exists(self, f: Field, var: str) -> str:
        return self.guarded(f, var, lambda v: "")

    @staticmethod
    def _kind(f: Field) -> Kind:
        return f.type.kind if f.type is not None else Kind.ANY

    @staticmethod
    def _item_kind(f: Field) -> Kind:
        return f.type.item_kind if f.type is not None else Kind.ANY

    def _elements(self, f: Field, v: str) -> str:
        """The array's elements, as values comparable with literals."""
        kind = self._item_kind(f)
        if kind is Kind.ENUM and self.shape == MODEL:
            return f"map(_enum, {v})"
        if kind is Kind.DATETIME:
            return f"map(_instant, {v})"
        if kind is Kind.DATE:
            return f"map(_date, {v})"
        if kind is Kind.UUID:
            return f"map(_uuid, {v})"
        if kind is Kind.DECIMAL:
            return f"map(_decimal, {v})"
        return v

    @staticmethod
    def _is_list(v: str) -> str:
        return f"{v}.__class__ is _list"

    def _order(self, f: Field, value: Any, var: str, symbol: str) -> str:
        c = self.const(value)
        if self._kind(f) is Kind.ANY:
            return self.guarded(f, var, lambda v: f"_order_any({v}, {c}, {symbol!r})")
        return self.guarded(f, var, lambda v: f"{v} {symbol} {c}")

    def _like(self, f: Field, pattern: str, ignore_case: bool, var: str) -> str:
        m = self.const(like_matcher(pattern, ignore_case))
        return self.guarded(f, var, lambda v: f"isinstance({v}, str) and {m}({v}) is not None")

    # -------------------------------------------------------------- one method per operator

    def op_eq(self, node: Predicate, ctx: _At) -> str:
        f, value = node.field, value_of(node)
        if value is None:
            return f"(not {self.exists(f, ctx.var)})"
        c = self.const(value)
        if self._kind(f) is Kind.ANY:
            return self.guarded(f, ctx.var, lambda v: f"_same({v}, {c})")
        return self.guarded(f, ctx.var, lambda v: f"{v} == {c}")

    def op_lt(self, node: Predicate, ctx: _At) -> str:
        return self._order(node.field, node.args[0].value, ctx.var, "<")  # type: ignore[union-attr]

    def op_lte(self, node: Predicate, ctx: _At) -> str:
        return self._order(node.field, node.args[0].value, ctx.var, "<=")  # type: ignore[union-attr]

    def op_gt(self, node: Predicate, ctx: _At) -> str:
        return self._order(node.field, node.args[0].value, ctx.var, ">")  # type: ignore[union-attr]

    def op_gte(self, node: Predicate, ctx: _At) -> str:
        return self._order(node.field, node.args[0].value, ctx.var, ">=")  # type: ignore[union-attr]

    def op_between(self, node: Predicate, ctx: _At) -> str:
        f, low, high = node.field, value_of(node, 0), value_of(node, 1)
        if self._kind(f) is Kind.ANY:
            return f"({self._order(f, low, ctx.var, '>=')} and {self._order(f, high, ctx.var, '<=')})"
        lo, hi = self.const(low), self.const(high)
        return self.guarded(f, ctx.var, lambda v: f"{lo} <= {v} <= {hi}")

    def op_in(self, node: Predicate, ctx: _At) -> str:
        f, var = node.field, ctx.var
        values = values_of(node)
        present = [v for v in values if v is not None]
        if self._kind(f) is Kind.ANY:
            c = self.const(tuple(present))
            test = self.guarded(f, var, lambda v: f"any(_same({v}, x) for x in {c})")
        elif len(present) <= 8 or (self._kind(f) is Kind.ENUM and self.shape == MODEL):
            # A short tuple beats hashing; and str-mixin enum members hash by name, so
            # they must meet their values through ==, never through a set.
            c = self.const(tuple(present))
            test = self.guarded(f, var, lambda v: f"{v} in {c}")
        else:
            c = self.const(frozenset(present))
            test = self.guarded(f, var, lambda v: f"{v} in {c}")
        if None in values:
            return f"({test} or not {self.exists(f, var)})"
        return test

    def op_like(self, node: Predicate, ctx: _At) -> str:
        return self._like(node.field, text_of(node), False, ctx.var)

    def op_ilike(self, node: Predicate, ctx: _At) -> str:
        return self._like(node.field, text_of(node), True, ctx.var)

    def op_contains(self, node: Predicate, ctx: _At) -> str:
        if self._kind(node.field) is Kind.ARRAY:
            return self.op_has(node, ctx)
        c = self.const(node.args[0].value)  # type: ignore[union-attr]
        return self.guarded(node.field, ctx.var, lambda v: f"isinstance({v}, str) and {c} in {v}")

    def op_icontains(self, node: Predicate, ctx: _At) -> str:
        f, text = node.field, text_of(node)
        if self._kind(f) is Kind.ARRAY:
            # Case-insensitive element equality: the element matches the text as a whole.
            m = self.const(like_matcher(escape_like(text), True))
            return self.guarded(
                f,
                ctx.var,
                lambda v: f"{self._is_list(v)} and any(isinstance(e, str) and {m}(e) is not None for e in {v})",
            )
        return self._like(f, "%" + escape_like(text) + "%", True, ctx.var)

    def op_starts_with(self, node: Predicate, ctx: _At) -> str:
        c = self.const(node.args[0].value)  # type: ignore[union-attr]
        return self.guarded(node.field, ctx.var, lambda v: f"isinstance({v}, str) and {v}.startswith({c})")

    def op_ends_with(self, node: Predicate, ctx: _At) -> str:
        c = self.const(node.args[0].value)  # type: ignore[union-attr]
        return self.guarded(node.field, ctx.var, lambda v: f"isinstance({v}, str) and {v}.endswith({c})")

    def op_has(self, node: Predicate, ctx: _At) -> str:
        f = node.field
        c = self.const(node.args[0].value)  # type: ignore[union-attr]
        if self._item_kind(f) is Kind.ANY:
            return self.guarded(f, ctx.var, lambda v: f"{self._is_list(v)} and any(_same(e, {c}) for e in {v})")
        return self.guarded(f, ctx.var, lambda v: f"{self._is_list(v)} and {c} in {self._elements(f, v)}")

    def op_has_any(self, node: Predicate, ctx: _At) -> str:
        f, values = node.field, values_of(node)
        if not values:
            return "False"
        if self._item_kind(f) is Kind.ANY:
            c = self.const(tuple(values))
            return self.guarded(
                f, ctx.var, lambda v: f"{self._is_list(v)} and any(_same(e, x) for e in {v} for x in {c})"
            )
        c = self.const(frozenset(values))
        return self.guarded(f, ctx.var, lambda v: f"{self._is_list(v)} and not {c}.isdisjoint({self._elements(f, v)})")

    def op_has_all(self, node: Predicate, ctx: _At) -> str:
        f, values = node.field, values_of(node)
        if not values:
            return "True"  # the empty conjunction, even for a missing array
        if self._item_kind(f) is Kind.ANY:
            c = self.const(tuple(values))
            return self.guarded(
                f, ctx.var, lambda v: f"{self._is_list(v)} and all(any(_same(e, x) for e in {v}) for x in {c})"
            )
        c = self.const(frozenset(values))
        return self.guarded(f, ctx.var, lambda v: f"{self._is_list(v)} and {c}.issubset({self._elements(f, v)})")

    def op_exists(self, node: Predicate, ctx: _At) -> str:
        return self.exists(node.field, ctx.var)

    def op_is_null(self, node: Predicate, ctx: _At) -> str:
        return f"(not {self.exists(node.field, ctx.var)})"


# ------------------------------------------------------------------ public API


def compile_filter(expr: Expr | None, shape: str = "auto", *, now: datetime | None = None) -> RecordTest:
    """A predicate for a checked filter (None matches everything).

    `shape` is "model" (model instances), "dict" (JSON dicts in alias shape) or "auto"
    (either, decided per record). `now`: the instant `(now ...)` values stand for (default:
    the clock, read once, now). Compiled functions are cached by tree, whatever the instant.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}")
    if expr is None:
        return _always
    return _compile(expr, shape)(clock() if now is None else now)


def _always(record: Any) -> bool:
    return True


def _compile(expr: Expr, shape: str) -> Callable[[datetime], RecordTest]:
    return _PREDICATES.get_or_build((expr, shape), lambda: _build(expr, shape), lambda _: 2 * tree_weight(expr))


def _build(expr: Expr, shape: str) -> Callable[[datetime], RecordTest]:
    if shape == "auto":
        on_model, on_dict = _compile(expr, MODEL), _compile(expr, DICT)

        def bind(now: datetime) -> RecordTest:
            model_test, dict_test = on_model(now), on_dict(now)

            def predicate(record: Any) -> bool:
                return dict_test(record) if record.__class__ is dict else model_test(record)

            return predicate

        return bind
    return FilterGenerator(shape).build(expr)


def compile_scan(expr: Expr | None, shape: str = MODEL, *, now: datetime | None = None) -> Scan:
    """A function returning the records of an iterable that match (shape "model" or "dict");
    `now` as for `compile_filter`."""
    if shape not in (MODEL, DICT):
        raise ValueError("compile_scan needs shape 'model' or 'dict'")
    if expr is None:
        return list
    return _compile_scan(expr, shape)(clock() if now is None else now)


def _compile_scan(expr: Expr, shape: str) -> Callable[[datetime], Scan]:
    return _SCANS.get_or_build(
        (expr, shape), lambda: FilterGenerator(shape).build_scan(expr), lambda _: 2 * tree_weight(expr)
    )


def source_of(expr: Expr | None, shape: str = MODEL) -> str:
    """The generated source of a filter, for `crudql explain` and debugging."""
    if expr is None:
        return "def _f(r):\n    return True\n"
    gen = FilterGenerator(shape)
    main = gen.function("r", gen.visit(expr, _At("r")))
    return gen.source(main)
