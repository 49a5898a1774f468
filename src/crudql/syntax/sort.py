"""Sort text -> sort keys, in the simple style (`-creation_time,name`) or JSON.

    -creation_time,name            creation_time:desc,name:asc
    [{"field": "creation_time", "order": "desc"}, {"field": "name"}]      ["-creation_time", "name"]

Keys come out as written; resolving them against a model is the checker's work, passed in as
`check` so that JSON mistakes found on the fast path are found again with positions. Every
scan here is linear in the text (no backtracking regex over spaces and signs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..ast import SortKey, Span
from ..errors import LimitError, QueryError, SortError
from ..limits import Limits, check_path
from . import jsondoc
from .builder import parse_field_path, span_of

__all__ = ["SORT_STYLES", "parse_sort_text"]

SORT_STYLES = ("simple", "json")
CheckKeys = Callable[[list[SortKey]], list[SortKey]]

_NAME_STOP = re.compile(r"[\s,:]")
_DIRECTION = re.compile(r"[A-Za-z]+\Z")


def parse_sort_text(text: Any, style: str, limits: Limits, check: CheckKeys) -> list[SortKey]:
    """The checked keys of a sort in `style` ("simple" or "json"); blank text has none."""
    if isinstance(text, str) and not text.strip():
        return []

    def checked(keys: list[SortKey]) -> list[SortKey]:
        return check(_valid(keys, limits))

    if style == "simple":
        return checked(_parse_simple(text))
    return _parse_json(text, limits, checked)


def _valid(keys: list[SortKey], limits: Limits) -> list[SortKey]:
    """Within the key limit, each a well-formed path without '*'."""
    if len(keys) > limits.max_sort_keys:
        extra = keys[limits.max_sort_keys]
        raise LimitError.at(f"{len(keys)} sort keys; the limit is {limits.max_sort_keys}", extra.span)
    for key in keys:
        field = parse_field_path(key.field, key.span)
        check_path(field, limits)
        path = field.path
        if "*" in path:
            raise SortError.at(f"'{key.field}' steps through an array with '*'; such paths are not sortable", key.span)
    return keys


def _parse_simple(text: Any) -> list[SortKey]:
    if not isinstance(text, str):
        raise SortError('a simple sort is a string like "-creation_time,name"')
    keys = []
    offset = 0
    for part in text.split(","):
        start = offset + len(part) - len(part.lstrip())
        offset += len(part) + 1
        keys.append(simple_key(part, start))
    return keys


def simple_key(part: str, start: int) -> SortKey:
    """One key of a simple sort; `start` is where `part`'s first non-blank character is."""
    body = part.strip()
    span = Span(start, start + max(1, len(body)))
    if not body:
        raise SortError("empty sort key; separate keys with single commas", position=start)
    sign = body[0] if body[0] in "+-" else ""
    rest = body[1:].lstrip() if sign else body
    name, colon, direction = rest.partition(":")
    name, direction = name.rstrip(), direction.strip()
    valid = (
        bool(name)
        and name[0] not in "+-"
        and _NAME_STOP.search(name) is None
        and (not colon or _DIRECTION.match(direction) is not None)
    )
    if not valid:
        raise SortError(
            f"invalid sort key '{body}'; write field, -field, +field, field:asc or field:desc",
            position=span.start,
            length=span.length,
        )
    descending = sign == "-"
    if colon:
        if sign:
            raise SortError(f"sort key '{body}' gives a direction twice", position=span.start, length=span.length)
        lowered = direction.lower()
        if lowered not in ("asc", "desc"):
            raise SortError(
                f"unknown sort direction '{direction}'; use asc or desc",
                position=start + body.rfind(direction),
                length=len(direction),
            )
        descending = lowered == "desc"
    at = start + body.find(name)
    return SortKey(name, descending, span=Span(at, at + len(name)))


def _parse_json(text: Any, limits: Limits, check: CheckKeys) -> list[SortKey]:
    if not isinstance(text, str):
        jsondoc.check_decoded_depth(text, limits)
        return check(_json_keys(text))
    jsondoc.prescan(text, limits)
    if text.strip() == "null":
        return []  # as for filters: JSON null means "nothing given"
    decoded = jsondoc.decode(text)
    if decoded is jsondoc.FAILED:
        decoded = jsondoc.decode_positioned(text)  # raises, with a position
    try:
        return check(_json_keys(decoded))
    except QueryError:
        return check(_json_keys(jsondoc.decode_positioned(text)))  # again, with positions


def _json_keys(node: Any) -> list[SortKey]:
    if not jsondoc.is_list(node):
        raise SortError.at(
            'a JSON sort is a list like [{"field": "name", "order": "desc"}] or ["-name"]', span_of(node)
        )
    keys = []
    for item in node:
        if jsondoc.is_object(item):
            keys.append(_object_key(jsondoc.Pairs(item.items()) if type(item) is dict else item))
        elif isinstance(item, str):
            span = span_of(item)
            key = simple_key(str(item), span.start + 1 if span else 0)
            keys.append(SortKey(key.field, key.descending, span=key.span if span else None))
        else:
            raise SortError.at('a sort key is a string like "-name" or an object like {"field": "name"}', span_of(item))
    return keys


def _object_key(item: jsondoc.Pairs) -> SortKey:
    pairs = {str(k): v for k, v in item}
    if len(pairs) != len(item):
        raise SortError.at("a sort key object repeats a key", span_of(item))
    unknown = sorted(set(pairs) - {"field", "order"})
    if unknown:
        raise SortError.at(
            f'unknown key {json.dumps(unknown[0])} in a sort key; use "field" and "order"', span_of(item)
        )
    f = pairs.get("field")
    if not isinstance(f, str) or not f.strip():
        raise SortError.at('a sort key object needs "field": a field name', span_of(item))
    if _NAME_STOP.search(f) is not None:
        raise SortError.at(f"invalid sort field {json.dumps(str(f))}", span_of(f))
    order = pairs.get("order")
    descending = False
    if order is not None:
        if not isinstance(order, str) or order.lower() not in ("asc", "desc"):
            raise SortError.at('"order" must be "asc" or "desc"', span_of(order))
        descending = order.lower() == "desc"
    return SortKey(str(f), descending, span=span_of(f))
