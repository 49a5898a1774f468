"""Exact rewrites that fold many alternatives on one array into one test.

A filter of many conditions on the elements of one array, written side by side, costs a
backend one subquery (or one `$elemMatch`) per condition; merged it costs one:

    (or (any f P) (any f Q))            ->  (any f (or P Q))
    (and (not (any f P)) (not (any f Q)))  ->  (not (any f (or P Q)))      ; `*`-path negations
    (and (all f P) (all f Q))           ->  (all f (and P Q))
    (or (has f a) (has-any f (b c)))    ->  (has-any f (a b c))

Each is an equivalence of the language (some element satisfies P or Q iff some element satisfies
P or some satisfies Q), so every backend may apply it; SQL does, where the cost of a statement
grows with its subqueries.
"""

from __future__ import annotations

from ..ast import And, Expr, Field, ListValue, Not, Or, Predicate, Quantified

__all__ = ["merge_alternatives"]


def merge_alternatives(expr: Expr) -> Expr:
    """`expr` with alternatives on one array merged (the same tree when there are none)."""
    if isinstance(expr, (And, Or)):
        children = tuple(merge_alternatives(c) for c in expr.children)
        merged = _merge_or(children) if isinstance(expr, Or) else _merge_and(children)
        if len(merged) == 1:
            return merged[0]
        return type(expr)(merged, expr.span)
    if isinstance(expr, Not):
        return Not(merge_alternatives(expr.child), expr.span)
    if isinstance(expr, Quantified):
        return Quantified(expr.op, expr.field, merge_alternatives(expr.condition), expr.span)
    return expr


def _merge_or(children: tuple[Expr, ...]) -> tuple[Expr, ...]:
    out: list[Expr] = []
    anys: dict[Field, int] = {}  # field -> index in out of its merged `any`
    has: dict[Field, int] = {}
    for child in children:
        if isinstance(child, Quantified) and child.op == "any":
            at = anys.get(child.field)
            if at is None:
                anys[child.field] = len(out)
                out.append(child)
            else:
                first = out[at]
                assert isinstance(first, Quantified)
                out[at] = Quantified("any", first.field, _join(Or, first.condition, child.condition), first.span)
            continue
        if isinstance(child, Predicate) and child.op in ("has", "has-any"):
            at = has.get(child.field)
            if at is None:
                has[child.field] = len(out)
                out.append(child)
            else:
                first = out[at]
                assert isinstance(first, Predicate)
                items = (*_items(first), *_items(child))
                out[at] = Predicate("has-any", first.field, (ListValue(items, first.args[0].span),), first.span)
            continue
        out.append(child)
    return tuple(out)


def _merge_and(children: tuple[Expr, ...]) -> tuple[Expr, ...]:
    out: list[Expr] = []
    nones: dict[Field, int] = {}  # field -> index of its merged (not (any ...))
    alls: dict[Field, int] = {}
    for child in children:
        if isinstance(child, Not) and isinstance(child.child, Quantified) and child.child.op == "any":
            inner = child.child
            at = nones.get(inner.field)
            if at is None:
                nones[inner.field] = len(out)
                out.append(child)
            else:
                first = out[at]
                assert isinstance(first, Not) and isinstance(first.child, Quantified)
                q = first.child
                out[at] = Not(Quantified("any", q.field, _join(Or, q.condition, inner.condition), q.span), first.span)
            continue
        if isinstance(child, Quantified) and child.op == "all":
            at = alls.get(child.field)
            if at is None:
                alls[child.field] = len(out)
                out.append(child)
            else:
                first = out[at]
                assert isinstance(first, Quantified)
                out[at] = Quantified("all", first.field, _join(And, first.condition, child.condition), first.span)
            continue
        out.append(child)
    return tuple(out)


def _join(kind: type[And] | type[Or], left: Expr, right: Expr) -> Expr:
    """`(kind left right)`, extending `left` when it already is one (no nesting per merge)."""
    if isinstance(left, kind):
        return kind((*left.children, right), left.span)
    return kind((left, right), left.span)


def _items(node: Predicate) -> tuple:  # type: ignore[type-arg]
    arg = node.args[0]
    return arg.items if isinstance(arg, ListValue) else (arg,)
