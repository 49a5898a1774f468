"""The one place where both filter syntaxes turn an operator and its arguments into a node.

The lisp and JSON front ends convert their own tokens into `Literal`, `ListValue`, `Field`,
`Symbol` (a bare lisp word) or nodes, then call `build`, which checks the arity and argument
kinds against the operator table. Sharing this step is what keeps the two syntaxes from
drifting apart.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from ..ast import And, Expr, Field, ListValue, Literal, Not, Now, Or, Predicate, Quantified, Span
from ..errors import ArityError, QuerySyntaxError, QueryTypeError, UnknownOperatorError
from ..operators import ArgKind, Form, Operator, lookup, suggest_operator

__all__ = [
    "SURROGATE",
    "Symbol",
    "as_value",
    "build",
    "build_op",
    "check_arity",
    "describe",
    "field_segments",
    "parse_field_path",
    "span_of",
    "unknown_operator",
]

SURROGATE = re.compile("[\ud800-\udfff]")
_ARITY_WORDS = {1: "1 argument", 2: "2 arguments", 3: "3 arguments"}


class Symbol(NamedTuple):
    """A bare word in lisp text (a field name, or a mistake in value position). A named tuple,
    cheaper to make than a dataclass: the lexer makes one per bare word, and none reaches a tree."""

    text: str
    span: Span | None


def describe(raw: object) -> str:
    """An argument as a message names it: "the bare word 'x'", "the string \"a\"", ..."""
    if isinstance(raw, Symbol):
        return f"the bare word '{raw.text}'"
    if isinstance(raw, Literal):
        if raw.value is None:
            return "null"
        if isinstance(raw.value, Now):
            return str(raw.value)
        return f"the {raw.tag} {json.dumps(raw.value) if isinstance(raw.value, str) else raw.value!r}"
    if isinstance(raw, ListValue):
        return "a list"
    return "an expression"


def span_of(raw: object) -> Span | None:
    return getattr(raw, "span", None)


# Path text -> its segments, for paths already found valid. Bounded: map keys make the set
# of valid paths unbounded.
_SEGMENTS: dict[str, tuple[str, ...]] = {}
_SEGMENTS_MAX = 4096


def parse_field_path(text: str, span: Span | None = None) -> Field:
    """A dotted path (`info.companyName`, `accounts.*.industry`) as a `Field`."""
    return Field(field_segments(text, span), span)


def field_segments(text: str, span: Span | None = None) -> tuple[str, ...]:
    """The segments of a dotted path; a syntax error pointing at `span` when it is not one."""
    segments = _SEGMENTS.get(text)
    if segments is not None:
        return segments
    segments = tuple(text.split("."))
    if not text.isascii() and SURROGATE.search(text):
        raise QuerySyntaxError.at("invalid field path: unpaired UTF-16 surrogate", span)
    if "" in segments:
        raise QuerySyntaxError.at(f"invalid field path '{text}': empty segment", span)
    if segments[0] == "*":
        raise QuerySyntaxError.at(f"invalid field path '{text}': '*' cannot be the first segment", span)
    if len(_SEGMENTS) < _SEGMENTS_MAX:
        _SEGMENTS[text] = segments
    return segments


def _as_field(raw: object, op: Operator) -> Field:
    if type(raw) is Symbol:
        return parse_field_path(raw.text, raw.span)
    if type(raw) is Field:
        return raw  # the JSON style converts field names directly
    if isinstance(raw, Symbol):
        return parse_field_path(raw.text, raw.span)
    if isinstance(raw, Literal) and isinstance(raw.value, str):
        return parse_field_path(raw.value, raw.span)
    raise QuerySyntaxError.at(
        f"'{op.name}' expects a field name as its first argument, found {describe(raw)}", span_of(raw)
    )


def as_value(raw: object, op: Operator, kind: ArgKind) -> Literal | ListValue:
    """A value argument of `op` (of kind `kind`), or the syntax error that it is not one."""
    if kind is ArgKind.VALUE and type(raw) is Literal and (raw.value is not None or op.null_value):
        return raw  # the common case, first
    span = span_of(raw)
    if kind is ArgKind.LIST:
        if isinstance(raw, ListValue):
            return raw
        raise QuerySyntaxError.at(f'\'{op.name}\' expects a list of values like ("a" "b"), found {describe(raw)}', span)
    if isinstance(raw, Literal):
        if kind in (ArgKind.PATTERN, ArgKind.STRING) and not isinstance(raw.value, str):
            raise QueryTypeError.at(f"'{op.name}' expects a string, found {describe(raw)}", span)
        if kind is ArgKind.PATTERN:
            _check_pattern(raw)
        if raw.value is None and not op.null_value:
            raise QueryTypeError.at(f"'{op.name}' cannot take null; test for null with (is-null f) or (= f null)", span)
        return raw
    if isinstance(raw, Symbol):
        hint = "strings need double quotes"
        if raw.text.lower() in ("true", "false", "null"):
            hint = f"literals are lower case: {raw.text.lower()}"
        raise QuerySyntaxError.at(f"'{op.name}' expects a value, found the bare word '{raw.text}'; {hint}", span)
    raise QuerySyntaxError.at(f"'{op.name}' expects a single value, found {describe(raw)}", span)


def _check_pattern(lit: Literal) -> None:
    pattern = lit.value
    assert isinstance(pattern, str)
    if pattern.endswith("\\") and (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1:
        raise QuerySyntaxError.at(
            "LIKE pattern ends with a lone escape '\\'; write '\\\\' for a literal backslash", lit.span
        )


def unknown_operator(name: str, span: Span | None) -> UnknownOperatorError:
    suggestion = suggest_operator(name)
    hint = f"; did you mean '{suggestion}'?" if suggestion else "; see docs/language.md for the operators"
    return UnknownOperatorError.at(f"unknown operator '{name}'{hint}", span)


def build(op_token: str, op_span: Span | None, args: list[Any], span: Span | None) -> Expr:
    """One node from an operator name and its already-converted arguments."""
    op = lookup(op_token)
    if op is None:
        raise unknown_operator(op_token, op_span)
    check_arity(op, len(args), span if span is not None else op_span)
    return build_op(op, args, span)


def build_op(op: Operator, args: list[Any], span: Span | None) -> Expr:
    """The node, once the operator is known and its arity checked."""
    form = op.form
    if form is Form.PREDICATE:
        field = _as_field(args[0], op)
        if len(args) == 2:  # (op field value): most predicates
            return Predicate(op.name, field, (as_value(args[1], op, op.args[1]),), span)
        values = tuple([as_value(a, op, k) for a, k in zip(args[1:], op.args[1:])])
        return Predicate(op.name, field, values, span)
    if form is Form.AND:
        return And(tuple([_as_expr(a, op) for a in args]), span)
    if form is Form.OR:
        return Or(tuple([_as_expr(a, op) for a in args]), span)
    if form is Form.NOT:
        return Not(_as_expr(args[0], op), span)
    return Quantified(op.name, _as_field(args[0], op), _as_expr(args[1], op), span)


def check_arity(op: Operator, count: int, span: Span | None) -> None:
    if op.variadic:
        if count >= 1:
            return
        expected = f"at least 1 {op.args[-1].value}"
    else:
        if count == len(op.args):
            return
        expected = f"{_ARITY_WORDS.get(len(op.args), str(len(op.args)) + ' arguments')} ({op.arity_text})"
    raise ArityError.at(f"'{op.name}' takes {expected}, got {count}", span)


def _as_expr(raw: object, op: Operator) -> Expr:
    if isinstance(raw, (And, Or, Not, Predicate, Quantified)):
        return raw
    raise QuerySyntaxError.at(
        f"'{op.name}' expects an expression like (= field value), found {describe(raw)}", span_of(raw)
    )
