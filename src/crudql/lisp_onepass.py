"""The schema check of lisp filters, made as the lexer and parser build the forms.

The reference path parses the whole text (`crudql.syntax.lisp`), bounds its cost
(`crudql.limits.check_cost`), then walks the tree again to check it (`crudql.check.checker`),
building every predicate twice. Here each form is checked as it is built (`LispCheck`, the
`FormCheck` the lexer and parser call): a flat `(op field value)` straight into its checked
node, from what the checker prepared for that operator and path; any other form through the
checker; a quantifier's forms once the quantifier is built, since their paths start at its
elements. Spans are the text's, as on the reference path.

Errors stay the reference's: a mistake the check finds (or a limit reached) makes it give up
(`NotChecked`), and `crudql.parse` parses and checks the reference way, which reports the
first mistake in the reference order (syntax, then limits, then the check). Syntax errors are
the parse's own either way. `tests/test_lisp_onepass.py` checks the two agree.
"""

from __future__ import annotations

from typing import Any

from .ast import Expr, Field, Literal, Predicate, Quantified, Span
from .check.checker import check_filter, coerce, coerce_arg, prepare_predicate
from .check.schema import Schema
from .errors import QueryError
from .limits import Limits
from .operators import Form, Operator
from .syntax.builder import Symbol, as_value, build_op, field_segments
from .syntax.lisp import NotChecked

__all__ = ["LispCheck"]

_PREDICATE = Form.PREDICATE


class LispCheck:
    """A `crudql.syntax.lisp.FormCheck` against `schema`, for one parse (it counts predicates)."""

    __slots__ = ("count", "max_predicates", "max_segments", "schema")

    def __init__(self, schema: Schema, limits: Limits) -> None:
        self.schema = schema
        self.max_predicates = limits.max_predicates
        self.max_segments = limits.max_path_segments
        self.count = 0

    def _bound(self, path: tuple[str, ...]) -> None:
        """`check_cost`'s limits, for one more predicate on `path`."""
        self.count += 1
        if self.count > self.max_predicates or len(path) > self.max_segments:
            raise NotChecked

    def flat(self, op: Operator, args: list[Any], span: Span, outside: bool) -> Expr:
        if outside and len(args) == 2 and op.form is _PREDICATE and type(args[0]) is Symbol:
            # (op field value): what `build_op` would build, checked as `_check_predicate` would.
            raw = args[0]
            path = field_segments(raw.text, raw.span)  # a syntax error is the parse's
            value = as_value(args[1], op, op.args[1])  # and so is this one
            self.count += 1
            if self.count > self.max_predicates or len(path) > self.max_segments:
                raise NotChecked  # `check_cost` decides
            literal = type(value) is Literal
            null = literal and op.null_value and value.value is None  # type: ignore[union-attr]
            try:
                prepared = prepare_predicate(op, op.name, path, raw.span, self.schema, None, null)
                if prepared is not None:  # else a '*' path: the checker rewrites it
                    checked = prepared.field
                    f = Field(checked.path, raw.span, checked.type, checked.json_path, checked.keyed)
                    if literal:
                        return Predicate(op.name, f, (coerce(value, prepared, f, op.null_value),), span)  # type: ignore[arg-type]
                    return Predicate(op.name, f, (coerce_arg(value, prepared, f),), span)
            except QueryError:
                raise NotChecked from None
            return self._checked(Predicate(op.name, Field(path, raw.span), (value,), span))
        node = build_op(op, args, span)  # only predicates are flat and valid
        self._bound(node.field.path)  # type: ignore[union-attr]
        return self._checked(node) if outside else node

    def nested(self, node: Expr, outside: bool) -> Expr:
        if type(node) is Quantified:
            if len(node.field.path) > self.max_segments:
                raise NotChecked
            if outside:  # its forms were built unchecked
                return self._checked(node)
        return node  # and, or, not: made of checked forms outside quantifiers

    def _checked(self, node: Expr) -> Expr:
        try:
            return check_filter(node, self.schema)
        except QueryError:
            raise NotChecked from None
