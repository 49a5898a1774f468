"""`now`, the relative-time value of both filter syntaxes.

    (now)            {"now": null}       the instant the request runs at
    (now "-7d")      {"now": "-7d"}      seven days before it
    (now "+30m")     {"now": "+30m"}     thirty minutes after it

`now` is a value, not an operator: it stands wherever a datetime literal may (`=`, `<`,
`between`, the lists of `in`/`nin`), and the checker allows it only against datetime fields.
An offset is a required sign, an integer and a unit: `s`, `m`, `h`, `d` or `w` (weeks), at
most 1,000 years either way. The name is case-insensitive, like operator names. Lisp reads a
`(now ...)` form where a value may stand, lists included (the lexer, `crudql.syntax.lisp`);
JSON reads a one-key object `{"now": ...}` there, in the array form and the object form alike
(`crudql.syntax.json_filter`): an array cannot say it, since `["now", "-7d"]` is already a list
of two strings. The value is a `crudql.ast.Now` inside a `Literal`, resolved per request.
"""

from __future__ import annotations

import json
import re

from ..ast import Literal, Now, Span
from ..errors import ArityError, QueryTypeError

__all__ = ["MAX_OFFSET_SECONDS", "NAME", "is_now", "now_literal"]

NAME = "now"
# 1,000 years of 365 days: far past any window a saved filter means, and the shifted instant
# of any present-day clock stays inside the years 1..9999 that datetimes can hold.
MAX_OFFSET_SECONDS = 1000 * 365 * 86400
_OFFSET = re.compile(r"([+-])([0-9]{1,15})([smhdw])\Z")
_HINT = 'a sign, an integer and a unit s, m, h, d or w, like "-7d" or "+30m"'


def is_now(name: object) -> bool:
    """Whether an operator position (a lisp head, a JSON object's key) names `now`."""
    return isinstance(name, str) and name.lower() == NAME


def now_literal(args: list[Literal], span: Span | None) -> Literal:
    """The literal of a `now` form: `args` are its arguments (none, or the offset)."""
    if len(args) > 1:
        raise ArityError.at(f"'now' takes at most 1 argument, an offset like \"-7d\", got {len(args)}", span)
    if not args or args[0].value is None:
        return Literal(Now(), span)
    arg = args[0]
    value = arg.value
    if not isinstance(value, str):
        shown = json.dumps(value) if isinstance(value, (bool, int, float)) else str(value)
        raise QueryTypeError.at(f"the offset of 'now' must be a string, got {shown}; {_HINT}", arg.span)
    m = _OFFSET.match(value)
    if m is None:
        raise QueryTypeError.at(f"invalid offset {json.dumps(value, ensure_ascii=False)} for 'now': {_HINT}", arg.span)
    sign, digits, unit = m.groups()
    amount = int(digits)
    if amount * Now.UNITS[unit] > MAX_OFFSET_SECONDS:
        raise QueryTypeError.at(f"the offset {value} of 'now' is more than 1,000 years", arg.span)
    return Literal(Now(-amount if sign == "-" else amount, unit), span)
