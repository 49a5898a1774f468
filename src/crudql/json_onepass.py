"""JSON filter text -> checked tree in one walk: the fast path of JSON filters.

The reference path decodes the text, converts the document (`crudql.syntax.json_filter`),
bounds its cost (`crudql.limits.check_cost`) and checks it against the schema
(`crudql.check.checker`): a tree built, then walked twice and built again. Here one walk over
the decoded document builds the checked nodes directly, each predicate taking what its
operator and field need from the checker's per-schema preparation
(`crudql.check.checker.prepare_predicate`), and without a schema the same walk builds the
unchecked tree. Nodes carry no spans, as on the reference's fast path (positions are found by
decoding again, only for an error).

This module reports no error and decides nothing on its own: at the first thing it does not
take (any mistake, a limit reached, a `*` path, an unusual value), it gives up and
`crudql.parse` runs the reference path, whose trees and errors are therefore the only ones
clients see. `tests/test_json_onepass.py` checks that the two agree on generated documents.
"""

from __future__ import annotations

import math
from typing import Any

from .ast import And, Expr, Field, ListValue, Literal, Not, Or, Predicate, Quantified
from .check.checker import coerce, coerce_arg, prepare_predicate, quantified_field
from .check.policy import Policy
from .check.schema import Schema
from .errors import QueryError
from .limits import Limits
from .operators import ArgKind, Form, Operator, lookup
from .syntax import jsondoc
from .syntax.builder import SURROGATE, parse_field_path
from .syntax.now import is_now, now_literal

__all__ = ["parse_json_onepass"]

_Pairs = jsondoc.Pairs
_VALUE, _LIST, _PATTERN, _STRING = ArgKind.VALUE, ArgKind.LIST, ArgKind.PATTERN, ArgKind.STRING
_PREDICATE, _AND, _OR, _NOT = Form.PREDICATE, Form.AND, Form.OR, Form.NOT

# Field text -> its unchecked `Field` (no span, so one object serves every filter). Bounded:
# map keys make the set of valid paths unbounded.
_FIELDS: dict[str, Field] = {}
_FIELDS_MAX = 4096


class _GiveUp(Exception):
    """Not taken here: the reference path decides (and reports any mistake)."""


class _Walk:
    """What the walk carries: the limits, and how many predicates it has met."""

    __slots__ = ("count", "max_depth", "max_list", "max_predicates", "max_segments")

    def __init__(self, limits: Limits) -> None:
        self.max_depth = limits.max_depth
        self.max_list = limits.max_list
        self.max_predicates = limits.max_predicates
        self.max_segments = limits.max_path_segments
        self.count = 0


def parse_json_onepass(text: str, schema: Schema | None, limits: Limits) -> Expr | None:
    """The tree of a JSON filter document, checked against `schema` when one is given; None
    when the one-pass walk does not take it (the reference path must run: the text may be
    blank, invalid, or hold a mistake)."""
    try:
        jsondoc.prescan(text, limits)  # before `json` could recurse deeply
        document = jsondoc.decode(text)
        t = type(document)
        if t is not list and t is not _Pairs:
            return None  # match-all, invalid JSON, or a mistake
        return _node(document, 1, schema, None, _Walk(limits))
    except (_GiveUp, QueryError):
        return None


def _node(node: Any, depth: int, schema: Schema | None, base: Policy | None, walk: _Walk) -> Expr:
    """A filter node (array form or one-key object form) in the context of `schema` (`base`:
    the policy its paths start with, as in `crudql.check.checker`)."""
    if depth > walk.max_depth:
        raise _GiveUp
    if type(node) is list:
        if not node:
            raise _GiveUp
        name = node[0]
        if type(name) is not str:
            raise _GiveUp
        op = lookup(name)
        if op is None:
            raise _GiveUp
        args = node[1:]
    else:  # Pairs: the caller took only lists and objects
        if len(node) != 1:
            raise _GiveUp
        name, arg = node[0]
        op = lookup(name)
        if op is None:
            raise _GiveUp
        args = _object_args(op, arg)
    form = op.form
    if form is _PREDICATE:
        return _predicate(op, args, depth, schema, base, walk)
    if form is _AND or form is _OR:
        if not args:
            raise _GiveUp
        children = tuple([_child(a, depth, schema, base, walk) for a in args])
        return And(children) if form is _AND else Or(children)
    if len(args) != len(op.args):
        raise _GiveUp
    if form is _NOT:
        return Not(_child(args[0], depth, schema, base, walk))
    return _quantified(op, args[0], args[1], depth, schema, base, walk)


def _object_args(op: Operator, arg: Any) -> list[Any]:
    """The arguments of `{"op": arg}`, as `crudql.syntax.json_filter` reads them."""
    t = type(arg)
    if op.form is _NOT and (t is _Pairs or (t is list and arg and isinstance(arg[0], str))):
        return [arg]  # {"not": node}
    if t is str and len(op.args) == 1 and op.args[0] is ArgKind.FIELD:
        return [arg]  # {"exists": "tags"}
    if t is list:
        return arg  # type: ignore[no-any-return]
    raise _GiveUp


def _child(node: Any, depth: int, schema: Schema | None, base: Policy | None, walk: _Walk) -> Expr:
    t = type(node)
    if t is not list and t is not _Pairs:
        raise _GiveUp
    return _node(node, depth + 1, schema, base, walk)


def _field(raw: Any, walk: _Walk) -> Field:
    """The unchecked field of a path argument."""
    if type(raw) is not str:
        raise _GiveUp
    field = _FIELDS.get(raw)
    if field is None:
        field = parse_field_path(raw)
        if len(_FIELDS) < _FIELDS_MAX:
            _FIELDS[raw] = field
    if len(field.path) > walk.max_segments:
        raise _GiveUp
    return field


def _quantified(
    op: Operator, raw: Any, condition: Any, depth: int, schema: Schema | None, base: Policy | None, walk: _Walk
) -> Expr:
    field = _field(raw, walk)
    if schema is None:
        return Quantified(op.name, field, _child(condition, depth, None, None, walk))
    r = schema.resolve(field.path, None, base)
    if r.star is not None:
        raise _GiveUp  # `a.*.b`: the checker rewrites it
    checked, element = quantified_field(op.name, r, None, schema)
    return Quantified(op.name, checked, _child(condition, depth, element, r.policy, walk))


def _predicate(
    op: Operator, args: list[Any], depth: int, schema: Schema | None, base: Policy | None, walk: _Walk
) -> Expr:
    kinds = op.args
    if len(args) != len(kinds):
        raise _GiveUp
    walk.count += 1
    if walk.count > walk.max_predicates:
        raise _GiveUp
    field = _field(args[0], walk)
    if len(kinds) == 2 and kinds[1] is _VALUE:  # (op field value): most predicates
        raw = args[1]
        t = type(raw)
        if (t is str and raw.isascii()) or t is int:
            value = Literal(raw)
        elif raw is None and not op.null_value:
            raise _GiveUp
        else:
            value = _literal(raw)
        if schema is None:
            return Predicate(op.name, field, (value,))
        null = value.value is None
        prepared = prepare_predicate(op, op.name, field.path, None, schema, base, null and op.null_value)
        if prepared is None:
            raise _GiveUp  # a `*` path: the checker rewrites it into `any`
        checked = prepared.field
        return Predicate(op.name, checked, (coerce(value, prepared, checked, op.null_value),))
    values = [_value(a, kind, op, depth, walk) for a, kind in zip(args[1:], kinds[1:])]
    if schema is None:
        return Predicate(op.name, field, tuple(values))
    first = values[0] if values else None
    null = op.null_value and type(first) is Literal and first.value is None
    prepared = prepare_predicate(op, op.name, field.path, None, schema, base, null)
    if prepared is None:
        raise _GiveUp
    checked = prepared.field
    return Predicate(op.name, checked, tuple([coerce_arg(v, prepared, checked) for v in values]))


def _value(node: Any, kind: ArgKind, op: Operator, depth: int, walk: _Walk) -> Literal | ListValue:
    """A value argument, as the reference converts and builds it (`_arg`, then `_as_value`)."""
    if kind is _VALUE:
        if node is None and not op.null_value:
            raise _GiveUp
        return _literal(node)
    if kind is _LIST:
        if type(node) is not list or depth + 1 > walk.max_depth or len(node) > walk.max_list:
            raise _GiveUp
        return ListValue(tuple([_literal(item) for item in node]))
    if (kind is _PATTERN or kind is _STRING) and type(node) is str:
        if kind is _PATTERN and node.endswith("\\") and (len(node) - len(node.rstrip("\\"))) % 2 == 1:
            raise _GiveUp  # a lone escape at the end
        return _literal(node)
    raise _GiveUp


def _literal(node: Any) -> Literal:
    t = type(node)
    if t is str:
        if not node.isascii() and SURROGATE.search(node):
            raise _GiveUp
        return Literal(node)
    if t is int or t is bool or node is None:
        return Literal(node)
    if t is float:
        if not math.isfinite(node):
            raise _GiveUp
        return Literal(node)
    if t is _Pairs and len(node) == 1 and is_now(node[0][0]):
        offset = node[0][1]
        if offset is None:
            return now_literal([], None)
        if type(offset) in (str, int, float, bool):
            return now_literal([Literal(offset)], None)
    raise _GiveUp
