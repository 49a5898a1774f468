"""AST -> canonical text, for both filter styles and both sort styles.

`parse_filter(to_lisp(e)) == e` and `parse_filter(to_json(e), style="json") == e` for every
tree the parser can produce (checked trees round-trip through a parse with the same schema).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from ..ast import And, Expr, Field, ListValue, Literal, Not, Now, Or, Predicate, Quantified, Scalar, SortKey
from ..values import rfc3339

__all__ = ["format_literal", "sort_to_json", "sort_to_simple", "to_json", "to_json_value", "to_lisp"]

_BARE_FIELD = re.compile(r"[A-Za-z_$][^\s()\[\]\";]*\Z")


def _scalar_json(value: Scalar) -> Any:
    if isinstance(value, Now):
        return {"now": value.text}  # an object: in the array form, an array is a list of values
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return rfc3339(value)  # instants print in UTC: 2024-01-31T12:00:00Z
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def format_literal(value: Scalar) -> str:
    """A literal as lisp (and JSON) text."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Now):
        return str(value)  # (now) or (now "-7d")
    return json.dumps(_scalar_json(value), ensure_ascii=False)


def _lisp_field(f: Field) -> str:
    text = f.dotted
    if _BARE_FIELD.match(text) and text not in ("true", "false", "null"):
        return text
    return json.dumps(text, ensure_ascii=False)


def _lisp_arg(arg: Literal | ListValue) -> str:
    if isinstance(arg, ListValue):
        return "(" + " ".join(format_literal(i.value) for i in arg.items) + ")"
    return format_literal(arg.value)


def to_lisp(expr: Expr | None) -> str:
    """Canonical lisp text; the empty string for match-all (None)."""
    if expr is None:
        return ""
    if isinstance(expr, (And, Or)):
        name = "and" if isinstance(expr, And) else "or"
        return f"({name} {' '.join(to_lisp(c) for c in expr.children)})"
    if isinstance(expr, Not):
        return f"(not {to_lisp(expr.child)})"
    if isinstance(expr, Quantified):
        return f"({expr.op} {_lisp_field(expr.field)} {to_lisp(expr.condition)})"
    if isinstance(expr, Predicate):
        parts = [expr.op, _lisp_field(expr.field), *(_lisp_arg(a) for a in expr.args)]
        return f"({' '.join(parts)})"
    raise TypeError(f"not a crudql expression: {expr!r}")


def to_json_value(expr: Expr | None) -> Any:
    """The canonical JSON array form as Python lists (None for match-all)."""
    if expr is None:
        return None
    if isinstance(expr, (And, Or)):
        return ["and" if isinstance(expr, And) else "or", *(to_json_value(c) for c in expr.children)]
    if isinstance(expr, Not):
        return ["not", to_json_value(expr.child)]
    if isinstance(expr, Quantified):
        return [expr.op, expr.field.dotted, to_json_value(expr.condition)]
    if isinstance(expr, Predicate):
        out: list[Any] = [expr.op, expr.field.dotted]
        for a in expr.args:
            if isinstance(a, ListValue):
                out.append([_scalar_json(i.value) for i in a.items])
            else:
                out.append(_scalar_json(a.value))
        return out
    raise TypeError(f"not a crudql expression: {expr!r}")


def to_json(expr: Expr | None) -> str:
    """Canonical JSON text (an array; `null` for match-all)."""
    return json.dumps(to_json_value(expr), ensure_ascii=False)


def sort_to_simple(keys: list[SortKey]) -> str:
    return ",".join(("-" if k.descending else "") + k.field for k in keys)


def sort_to_json(keys: list[SortKey]) -> str:
    return json.dumps(
        [{"field": k.field, "order": "desc" if k.descending else "asc"} for k in keys], ensure_ascii=False
    )
