"""The visitor every backend compiles with: dispatch by node kind and by operator.

A backend subclasses `Compiler[Ctx, Out, Leaf]`. It writes one small method per node kind
(`visit_and`, `visit_or`, `visit_not`, `visit_quantified`, `visit_predicate`) and one per
operator row that has a `method` (`op_<method>(node, ctx) -> Leaf`). `Ctx` is whatever the
backend carries down the tree (a variable name, a JSON path, a scope); `Out` is what a node
compiles to and `Leaf` what an operator method returns (the same type, except in SQL, whose
leaves are two-valued tests rendered positively or negated).

Operators defined as negations (`!=`, `nin`) are rewritten here, once, for every backend: the
backend's `negate` wraps what the positive operator compiles to. A backend class without a
method for some operator of the table is refused when the class is defined (at import), so an
operator added to the table cannot be forgotten by a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from ..ast import And, Expr, ListValue, Literal, Not, Or, Predicate, Quantified, Scalar
from ..errors import QueryError
from ..operators import BY_CANONICAL, PREDICATES, Operator

__all__ = ["Compiler", "operator_of", "text_of", "value_of", "values_of"]

Ctx = TypeVar("Ctx")
Out = TypeVar("Out")
Leaf = TypeVar("Leaf")

_NODE_METHODS = ("visit_and", "visit_or", "visit_not", "visit_quantified", "visit_predicate")


def operator_of(node: Predicate | Quantified) -> Operator:
    """The table row of a checked node's (canonical) operator."""
    op = BY_CANONICAL.get(node.op)
    if op is None:
        raise TypeError(f"unknown operator {node.op!r}: compile checked trees (crudql.parse_filter with a schema)")
    return op


def value_of(node: Predicate, i: int = 0) -> Scalar:
    """The value of a predicate's i-th (literal) argument."""
    arg = node.args[i]
    assert isinstance(arg, Literal), f"argument {i} of {node.op!r} is not a value"
    return arg.value


def values_of(node: Predicate) -> tuple[Scalar, ...]:
    """The values of a predicate's list argument (`in`, `has-any`, ...)."""
    arg = node.args[0]
    assert isinstance(arg, ListValue), f"the argument of {node.op!r} is not a list"
    return arg.values


def text_of(node: Predicate) -> str:
    """The string argument of a text operator (`like`, `contains`, ...)."""
    value = value_of(node)
    if not isinstance(value, str):
        raise QueryError(f"'{node.op}' takes a string", code="type")
    return value


class Compiler(Generic[Ctx, Out, Leaf]):
    """Dispatch by node kind (`visit`) and by operator (`predicate`)."""

    # Filled for each concrete subclass: canonical operator name -> its unbound method.
    _operator_methods: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        missing = [name for name in _NODE_METHODS if getattr(cls, name, None) is getattr(Compiler, name, None)]
        missing += [
            f"op_{op.method} (for '{op.name}')"
            for op in PREDICATES
            if not callable(getattr(cls, f"op_{op.method}", None))
        ]
        if missing:
            raise TypeError(f"backend {cls.__qualname__} has no method {', '.join(missing)}")
        cls._operator_methods = {op.name: getattr(cls, f"op_{op.method}") for op in PREDICATES}

    # ------------------------------------------------------------------ node kinds

    def visit(self, node: Expr, ctx: Ctx) -> Out:
        t = type(node)
        if t is Predicate:
            return self.visit_predicate(node, ctx)  # type: ignore[arg-type]
        if t is And:
            return self.visit_and(node, ctx)  # type: ignore[arg-type]
        if t is Or:
            return self.visit_or(node, ctx)  # type: ignore[arg-type]
        if t is Not:
            return self.visit_not(node, ctx)  # type: ignore[arg-type]
        if t is Quantified:
            return self.visit_quantified(node, ctx)  # type: ignore[arg-type]
        raise TypeError(f"not a crudql expression: {node!r}")

    def visit_and(self, node: And, ctx: Ctx) -> Out:
        raise NotImplementedError

    def visit_or(self, node: Or, ctx: Ctx) -> Out:
        raise NotImplementedError

    def visit_not(self, node: Not, ctx: Ctx) -> Out:
        raise NotImplementedError

    def visit_quantified(self, node: Quantified, ctx: Ctx) -> Out:
        raise NotImplementedError

    def visit_predicate(self, node: Predicate, ctx: Ctx) -> Out:
        raise NotImplementedError

    # ------------------------------------------------------------------ operators

    def predicate(self, node: Predicate, ctx: Ctx) -> Leaf:
        """The leaf of a field test: its operator's method, or the negation of the operator
        it is defined through."""
        op = operator_of(node)
        if op.negates is not None:
            positive = Predicate(op.negates, node.field, node.args, node.span)
            return self.negate(self.reached(positive, self._operator_methods[op.negates](self, positive, ctx), ctx))
        return self.reached(node, self._operator_methods[op.name](self, node, ctx), ctx)

    def reached(self, node: Predicate, leaf: Leaf, ctx: Ctx) -> Leaf:
        """A positive leaf, corrected where the engine may reach a field the language calls
        missing (MongoDB steps into arrays on dotted paths). Most backends need nothing."""
        return leaf

    def negate(self, leaf: Leaf) -> Leaf:
        """Plain negation of a leaf (for `!=` and `nin`)."""
        raise NotImplementedError

    @staticmethod
    def holds_when_missing(node: Predicate) -> bool:
        """Whether the test is true for a record whose field is missing or null."""
        op = operator_of(node)
        if op.negates is not None:
            return not BY_CANONICAL[op.negates].holds_when_missing(node.args)
        return op.holds_when_missing(node.args)
