"""The JSON layer shared by JSON filters and JSON sorts.

Documents are decoded twice at most. The fast path is the standard `json` module, after a
linear scan (`prescan`) that rejects nesting over the limit before `json` could recurse. When
the document is invalid, or the converter finds a mistake it cannot place, the Lark JSON
grammar decodes the same text again (`decode_positioned`) into look-alike values that carry a
`.span` (str/int/float/list subclasses, `Constant` for true/false/null, `Pairs` for objects),
so one converter serves both paths and every error points into the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError

from ..ast import Span
from ..errors import LimitError, QueryError, QuerySyntaxError, QueryTypeError
from ..limits import Limits

__all__ = [
    "FAILED",
    "LIST_TYPES",
    "Constant",
    "Pairs",
    "PositionedFloat",
    "PositionedInt",
    "PositionedList",
    "PositionedStr",
    "check_decoded_depth",
    "decode",
    "decode_positioned",
    "is_list",
    "is_object",
    "plain",
    "prescan",
]


class Pairs(list):  # type: ignore[type-arg]
    """A JSON object as its (key, value) pairs: a repeated key stays visible as an error
    instead of silently overwriting (object_pairs_hook)."""

    span: Span | None = None


class PositionedStr(str):
    span: Span


class PositionedInt(int):
    span: Span


class PositionedFloat(float):
    span: Span


class PositionedList(list):  # type: ignore[type-arg]
    span: Span


@dataclass(frozen=True, slots=True)
class Constant:
    """true, false or null, with its place in the text."""

    value: bool | None
    span: Span


LIST_TYPES = (list, PositionedList, tuple)
_PLAIN: dict[type, type] = {PositionedStr: str, PositionedInt: int, PositionedFloat: float}
FAILED = object()  # what `decode` returns for text the fast path cannot decode


def is_list(value: Any) -> bool:
    return type(value) in LIST_TYPES


def is_object(value: Any) -> bool:
    return type(value) is dict or type(value) is Pairs


def plain(value: Any) -> Any:
    """A positioned scalar as the plain Python value (a Constant as its value)."""
    if type(value) is Constant:
        return value.value
    cls = _PLAIN.get(type(value))
    return cls(value) if cls is not None else value


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity: not JSON


_DECODER = json.JSONDecoder(object_pairs_hook=Pairs, parse_constant=_reject_constant)


def decode(text: str) -> Any:
    """The decoded document (objects as `Pairs`), or `FAILED` when it is not valid JSON."""
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError):
        return FAILED


# Outside strings: the next quote or bracket. Inside: the next quote or backslash. Each
# character is looked at once, so the scan is linear however the quotes and escapes fall.
_OUTSIDE = re.compile(r'["\[\]{}]')
_INSIDE = re.compile(r'["\\]')


def prescan(text: str, limits: Limits) -> None:
    """Reject nesting that could make `json` recurse deeply, before it runs.

    A form may take two brackets in the object style ({"op": [...]}), so the raw bound is
    twice the depth limit; the exact limit is applied to forms and lists as they convert.
    """
    bound = 2 * limits.max_depth + 1
    if text.count("[") + text.count("{") <= bound:
        return
    depth = 0
    position = 0
    find_outside, find_inside = _OUTSIDE.search, _INSIDE.search
    while True:
        m = find_outside(text, position)
        if m is None:
            return
        c = m.group()
        position = m.end()
        if c == '"':
            while True:  # skip the string
                s = find_inside(text, position)
                if s is None:
                    return  # unterminated: `json` reports it
                position = s.end()
                if s.group() == '"':
                    break
                position += 1  # the escaped character
        elif c == "[" or c == "{":
            depth += 1
            if depth > bound:
                raise LimitError(f"nesting is deeper than the limit of {limits.max_depth} levels", position=m.start())
        else:
            depth -= 1


def check_decoded_depth(value: Any, limits: Limits) -> None:
    """The prescan for an already-decoded value (iterative, so any depth is safe)."""
    bound = 2 * limits.max_depth + 1
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, (list, tuple)):
            if depth > bound:
                raise LimitError(f"nesting is deeper than the limit of {limits.max_depth} levels")
            stack.extend((child, depth + 1) for child in item if isinstance(child, (list, tuple, dict)))


class _PositionedTransformer(Transformer[Any, Any]):
    def start(self, c: list[Any]) -> Any:
        return self._item(c[0])

    def _item(self, x: Any) -> Any:
        if not isinstance(x, Token):
            return x
        span = Span(x.start_pos or 0, x.end_pos or 0)
        if x.type == "STRING":
            value: Any = PositionedStr(json.loads(x))
        elif x.type == "NUMBER":
            try:
                number = json.loads(x)
            except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
                raise QueryTypeError(
                    f"number of {len(x):,} digits is out of range", position=span.start, length=len(x)
                ) from None
            value = PositionedInt(number) if isinstance(number, int) else PositionedFloat(number)
        else:
            return Constant({"TRUE": True, "FALSE": False, "NULL": None}[x.type], span)
        value.span = span
        return value

    def array(self, c: list[Any]) -> PositionedList:
        out = PositionedList(self._item(x) for x in c[1:-1] if not (isinstance(x, Token) and x.type == "COMMA"))
        out.span = Span(c[0].start_pos, c[-1].end_pos)
        return out

    def object(self, c: list[Any]) -> Pairs:
        out = Pairs(x for x in c[1:-1] if isinstance(x, tuple))
        out.span = Span(c[0].start_pos, c[-1].end_pos)
        return out

    def pair(self, c: list[Any]) -> tuple[Any, Any]:
        return (self._item(c[0]), self._item(c[2]))


@cache
def _parser() -> Lark:
    grammar = resources.files("crudql.syntax.grammar").joinpath("json.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", transformer=_PositionedTransformer(), maybe_placeholders=False)


_TOKEN_WORDS = {
    "STRING": "a string",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "COLON": "':'",
    "$END": "the end of the document",
}


def decode_positioned(text: str) -> Any:
    """Decode JSON with spans on every value; syntax errors say where and what was expected.

    Call it after `prescan`: the grammar recurses once per nesting level.
    """
    try:
        return _parser().parse(text)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise
    except UnexpectedToken as exc:
        tok = exc.token
        expected = sorted({_TOKEN_WORDS.get(t, t) for t in exc.expected})
        got = "end of the document" if tok.type == "$END" else f"'{tok}'"
        position = len(text.rstrip()) if tok.type == "$END" else tok.start_pos
        raise QuerySyntaxError(
            f"invalid JSON: unexpected {got}; expected {' or '.join(expected)}", position=position
        ) from None
    except UnexpectedInput as exc:
        position = getattr(exc, "pos_in_stream", None)
        char = text[position] if position is not None and position < len(text) else ""
        if char == '"':
            message = "invalid JSON string: unterminated, a raw control character, or a bad escape"
        elif char.isalpha():
            word = re.match(r"[A-Za-z_]+", text[position:])
            message = (
                f"invalid JSON: unexpected '{word.group() if word else char}'; "
                "strings need double quotes, and the literals are true, false and null"
            )
        else:
            message = f"invalid JSON: unexpected character {char!r}"
        raise QuerySyntaxError(message, position=position) from None
