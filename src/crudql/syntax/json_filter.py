"""JSON-style filters -> AST: the canonical array form and the one-key object form.

    ["and", ["=", "name", "x"], ["in", "info.partner", ["AWS", "GCP"]]]
    {"and": [{"=": ["name", "x"]}, {"not": {"has": ["tags", "churned"]}}]}

Strict: unknown operators, several keys in one object, or a wrong arity are errors, never a
silently different tree. Nodes end in `crudql.syntax.builder.build_op`, as lisp forms do.
The fast path decodes with `json` and has no positions; when it finds a mistake, the text is
decoded again with positions (`crudql.syntax.jsondoc`) so the error says where.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from ..ast import Expr, ListValue, Literal
from ..errors import LimitError, QueryError, QuerySyntaxError, QueryTypeError
from ..limits import Limits
from ..operators import ArgKind, Form, Operator, lookup
from . import jsondoc
from .builder import SURROGATE, Symbol, build_op, check_arity, parse_field_path, span_of, unknown_operator
from .now import is_now, now_literal

__all__ = ["parse_json_filter"]

Check = Callable[[Expr], Expr]
_SCALAR_TYPES = (str, int, float, bool, type(None))


def parse_json_filter(source: Any, limits: Limits, check: Check | None = None) -> Expr | None:
    """The tree of a JSON filter (text, or an already-decoded value), or None for match-all.

    `check` (the schema check) runs inside, so that a mistake it finds on the fast path,
    which has no positions, is found again on the positioned path and points into the text.
    """
    if not isinstance(source, str):
        jsondoc.check_decoded_depth(source, limits)
        return _tree(source, limits, check)
    if not source.strip():
        return None
    jsondoc.prescan(source, limits)
    decoded = jsondoc.decode(source)
    if decoded is not jsondoc.FAILED:
        try:
            return _tree(decoded, limits, check)
        except QueryError as exc:
            if exc.position is not None:
                raise
    return _tree(jsondoc.decode_positioned(source), limits, check)


def _tree(node: Any, limits: Limits, check: Check | None) -> Expr | None:
    if node is None or (isinstance(node, jsondoc.Constant) and node.value is None):
        return None
    if isinstance(node, str) and not node.strip():
        return None
    expr = _node(node, 1, limits)
    return check(expr) if check is not None else expr


def _node(node: Any, depth: int, limits: Limits) -> Expr:
    """A JSON filter node (array form or one-key object form) -> AST."""
    if depth > limits.max_depth:
        raise LimitError.at(f"nesting is deeper than the limit of {limits.max_depth} levels", span_of(node))
    t = type(node)
    if t is dict:
        node = jsondoc.Pairs(node.items())
        t = jsondoc.Pairs
    if t is jsondoc.Pairs:
        if len(node) != 1:
            keys = ", ".join(json.dumps(str(k)) for k, _ in node)
            what = "an empty object" if not node else f"{len(node)} keys ({keys})"
            raise QuerySyntaxError.at(
                f"a JSON object node has exactly one key, the operator, found {what}", span_of(node)
            )
        op_name, arg = node[0]
        op = _operator(op_name)
        args = _object_args(op, arg)
    elif t in jsondoc.LIST_TYPES:
        if not node:
            raise QuerySyntaxError.at("empty array: a node is [operator, arguments...]", span_of(node))
        op_name = node[0]
        if not isinstance(op_name, str):
            raise QuerySyntaxError.at('the first element of a node must be an operator name like "="', span_of(op_name))
        op = _operator(op_name)
        args = node[1:]
    else:
        raise QuerySyntaxError.at(
            f'a filter node is an array ["op", ...] or an object {{"op": [...]}}, found {_text(node)}', span_of(node)
        )
    span = None if t is list else span_of(node)
    if op.variadic:
        if not args:
            check_arity(op, 0, span)
        kind = op.args[0]
        converted = [_arg(a, kind, depth, limits) for a in args]
    else:
        if len(args) != len(op.args):
            check_arity(op, len(args), span)
        converted = [_arg(a, k, depth, limits) for a, k in zip(args, op.args)]
    return build_op(op, converted, span)


def _text(value: Any) -> str:
    try:
        return json.dumps(jsondoc.plain(value))
    except (TypeError, ValueError):
        return repr(value)


def _operator(name: Any) -> Operator:
    op = lookup(name) if isinstance(name, str) else None
    if op is None and is_now(name):
        raise QuerySyntaxError.at(
            "'now' is a value, not a filter: compare a datetime field with it, "
            'like ["<", "creation_time", {"now": "-7d"}]',
            span_of(name),
        )
    if op is None:
        raise unknown_operator(str(name), span_of(name))
    return op


def _object_args(op: Operator, arg: Any) -> list[Any]:
    """The argument list of an object-form node: {"op": [args]}, or one of the shorthands."""
    t = type(arg)
    if op.form is Form.NOT and (
        jsondoc.is_object(arg) or (t in jsondoc.LIST_TYPES and arg and isinstance(arg[0], str))
    ):
        return [arg]  # {"not": node}
    if len(op.args) == 1 and op.args[0] is ArgKind.FIELD and isinstance(arg, str):
        return [arg]  # {"exists": "tags"}
    if t in jsondoc.LIST_TYPES:
        return list(arg)
    raise QuerySyntaxError.at(
        f'the value of "{op.name}" must be its argument list, like {{"{op.name}": [...]}}', span_of(arg)
    )


def _arg(node: Any, kind: ArgKind, depth: int, limits: Limits) -> Any:
    t = type(node)
    if t is str:
        if kind is ArgKind.FIELD:
            return parse_field_path(node)
        return _literal(node)
    if kind is ArgKind.EXPR:
        if t in jsondoc.LIST_TYPES or jsondoc.is_object(node):
            return _node(node, depth + 1, limits)
        return _literal(node)
    if t in jsondoc.LIST_TYPES:
        span = span_of(node)
        if depth + 1 > limits.max_depth:
            raise LimitError.at(f"nesting is deeper than the limit of {limits.max_depth} levels", span)
        if len(node) > limits.max_list:
            raise LimitError.at(f"list has more than {limits.max_list:,} items", span)
        return ListValue(tuple([_literal(item) for item in node]), span)
    if jsondoc.is_object(node):
        now = _now(node)
        if now is not None and kind is ArgKind.VALUE:
            return now
        raise QuerySyntaxError.at("an object is only valid as a filter node", span_of(node))
    if kind is ArgKind.FIELD and t is jsondoc.PositionedStr:
        return Symbol(str(node), node.span)
    return _literal(node)


def _literal(node: Any) -> Literal:
    t = type(node)
    if t is str:
        if not node.isascii() and SURROGATE.search(node):
            raise QuerySyntaxError("invalid \\u escape: unpaired UTF-16 surrogate")
        return Literal(node)
    if t is int or t is bool or node is None:
        return Literal(node)
    span = span_of(node)
    if jsondoc.is_object(node):
        now = _now(node)
        if now is not None:
            return now
    if t in jsondoc.LIST_TYPES or jsondoc.is_object(node):
        raise QuerySyntaxError.at("a list holds only literals (strings, numbers, true, false, null)", span)
    value = jsondoc.plain(node)
    if isinstance(value, float) and not math.isfinite(value):
        raise QueryTypeError.at("number is out of range", span)
    if isinstance(value, str) and SURROGATE.search(value):
        raise QuerySyntaxError.at("invalid \\u escape: unpaired UTF-16 surrogate", span)
    if not isinstance(value, _SCALAR_TYPES):
        raise QuerySyntaxError.at(f"not a JSON literal: {value!r}", span)
    return Literal(value, span)


def _now(node: Any) -> Literal | None:
    """`{"now": null}` / `{"now": "-7d"}` in a value's place (`crudql.syntax.now`), else None."""
    pairs = list(node.items()) if isinstance(node, dict) else list(node)
    if len(pairs) != 1 or not is_now(pairs[0][0]):
        return None
    offset = pairs[0][1]
    if offset is None or (isinstance(offset, jsondoc.Constant) and offset.value is None):
        return now_literal([], span_of(node))
    if jsondoc.is_object(offset) or isinstance(offset, jsondoc.LIST_TYPES):
        raise QueryTypeError.at("the offset of 'now' is a string like \"-7d\"", span_of(offset) or span_of(node))
    return now_literal([Literal(jsondoc.plain(offset), span_of(offset))], span_of(node))
