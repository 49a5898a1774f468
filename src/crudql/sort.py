"""Sort expressions: `-creation_time,name` (simple) or JSON, to a list of `SortKey`.

`parse_sort` returns the keys as written (checked against a schema when one is given);
the `id` tiebreak that makes pages deterministic is added by the request layer
(`crudql.request.effective_sort`), so a parse round-trips through the printers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .ast import Field, Span
from .errors import LimitError, QueryError, SortError
from .operators import Kind
from .parse import (
    _JSON_DECODER,
    DEFAULT_LIMITS,
    Limits,
    _check_length,
    _check_python_depth,
    _is_list,
    _json_positioned,
    _Pairs,
    _prescan_json,
    _resolve_schema,
    _style,
    parse_field_path,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .schema import Schema

__all__ = ["SortKey", "parse_sort", "SORT_STYLES"]

SORT_STYLES = ("simple", "json")


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort key. `field` is the dotted path (canonical when checked against a schema);
    `resolved` carries the checked `Field` for backends and takes no part in equality."""

    field: str
    descending: bool = False
    resolved: Field | None = field(default=None, compare=False, repr=False)
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def path(self) -> tuple[str, ...]:
        return self.resolved.path if self.resolved is not None else tuple(self.field.split("."))


_SIMPLE_KEY = re.compile(r"\s*([+-]?)\s*([^\s,:+-][^\s,:]*)\s*(?::\s*([A-Za-z]+)\s*)?\Z")


def parse_sort(
    text: Any,
    style: str = "simple",
    schema: Schema | type[BaseModel] | None = None,
    *,
    limits: Limits | None = None,
) -> list[SortKey]:
    """Parse a sort expression; None or blank means no keys."""
    limits = limits or DEFAULT_LIMITS
    style = _style(style, SORT_STYLES, "ss")
    resolved_schema = _resolve_schema(schema)
    if text is None:
        return []
    if isinstance(text, str):
        # Keys are immutable; the list is not, so each caller gets its own.
        return list(_parse_cached(text, style, resolved_schema, limits))
    return _parse(text, style, resolved_schema, limits)


@lru_cache(maxsize=1024)
def _parse_cached(text: str, style: str, schema: Schema | None, limits: Limits) -> tuple[SortKey, ...]:
    return tuple(_parse(text, style, schema, limits))


def _parse(text: Any, style: str, resolved_schema: Schema | None, limits: Limits) -> list[SortKey]:
    try:
        if isinstance(text, str):
            _check_length(text, limits, "sort")
            if not text.strip():
                return []
        if style == "simple":
            return _check(_parse_simple(text), resolved_schema, limits)
        return _parse_json(text, limits, resolved_schema)
    except QueryError as exc:
        if isinstance(text, str):
            exc.located(text, "s")
        raise


def _parse_simple(text: Any) -> list[SortKey]:
    if not isinstance(text, str):
        raise SortError("a simple sort is a string like \"-creation_time,name\"")
    keys = []
    offset = 0
    for part in text.split(","):
        start = offset + len(part) - len(part.lstrip())
        offset += len(part) + 1
        keys.append(_simple_key(part, start))
    return keys


def _simple_key(part: str, start: int) -> SortKey:
    span = Span(start, start + max(1, len(part.strip())))
    if not part.strip():
        raise SortError("empty sort key; separate keys with single commas", position=start)
    m = _SIMPLE_KEY.match(part)
    if m is None:
        raise SortError(
            f"invalid sort key '{part.strip()}'; write field, -field, +field, field:asc or field:desc",
            position=span.start,
            length=span.length,
        )
    sign, path, direction = m.groups()
    descending = sign == "-"
    if direction is not None:
        if sign:
            raise SortError(f"sort key '{part.strip()}' gives a direction twice", position=span.start, length=span.length)
        lowered = direction.lower()
        if lowered not in ("asc", "desc"):
            raise SortError(f"unknown sort direction '{direction}'; use asc or desc", position=start + part.strip().rfind(direction) , length=len(direction))
        descending = lowered == "desc"
    return SortKey(path, descending, span=Span(start + part.strip().find(path), start + part.strip().find(path) + len(path)))


def _parse_json(text: Any, limits: Limits, schema: Schema | None) -> list[SortKey]:
    if not isinstance(text, str):
        _check_python_depth(text, limits)
        return _check(_json_keys(text), schema, limits)
    _prescan_json(text, limits)
    if text.strip() == "null":
        return []  # as for filters: JSON null means "nothing given"
    try:
        decoded = _JSON_DECODER.decode(text)
    except (ValueError, RecursionError):
        decoded = _json_positioned(text)  # raises, with a position
    try:
        return _check(_json_keys(decoded), schema, limits)
    except QueryError:
        return _check(_json_keys(_json_positioned(text)), schema, limits)  # again, with positions


def _json_keys(node: Any) -> list[SortKey]:
    if not _is_list(node):
        raise _at(SortError, 'a JSON sort is a list like [{"field": "name", "order": "desc"}] or ["-name"]', _span(node))
    keys = []
    for item in node:
        if isinstance(item, dict):
            item = _Pairs(item.items())
        if isinstance(item, _Pairs):
            keys.append(_json_object_key(item))
        elif isinstance(item, str):
            span = _span(item)
            key = _simple_key(str(item), span.start + 1 if span else 0)
            keys.append(SortKey(key.field, key.descending, span=key.span if span else None))
        else:
            raise _at(SortError, 'a sort key is a string like "-name" or an object like {"field": "name"}', _span(item))
    return keys


def _span(value: Any) -> Span | None:
    return getattr(value, "span", None)


def _json_object_key(item: Any) -> SortKey:
    pairs = {str(k): v for k, v in item}
    if len(pairs) != len(item):
        raise _at(SortError, "a sort key object repeats a key", _span(item))
    unknown = sorted(set(pairs) - {"field", "order"})
    if unknown:
        raise _at(SortError, f'unknown key {json.dumps(unknown[0])} in a sort key; use "field" and "order"', _span(item))
    f = pairs.get("field")
    if not isinstance(f, str) or not f.strip():
        raise _at(SortError, 'a sort key object needs "field": a field name', _span(item))
    if not re.fullmatch(r"[^\s,:]+", f):
        raise _at(SortError, f"invalid sort field {json.dumps(str(f))}", _span(f))
    order = pairs.get("order")
    descending = False
    if order is not None:
        if not isinstance(order, str) or order.lower() not in ("asc", "desc"):
            raise _at(SortError, '"order" must be "asc" or "desc"', _span(order))
        descending = order.lower() == "desc"
    return SortKey(str(f), descending, span=_span(f))


def _at(cls: type[QueryError], message: str, span: Span | None) -> QueryError:
    return cls(message) if span is None else cls(message, position=span.start, length=span.length)


def _check(keys: list[SortKey], schema: Schema | None, limits: Limits) -> list[SortKey]:

    if len(keys) > limits.max_sort_keys:
        extra = keys[limits.max_sort_keys]
        raise LimitError(
            f"{len(keys)} sort keys; the limit is {limits.max_sort_keys}",
            position=extra.span.start if extra.span else None,
        )
    seen: dict[str, SortKey] = {}
    out = []
    for key in keys:
        path = parse_field_path(key.field, key.span).path
        if "*" in path:
            raise _at(SortError, f"'{key.field}' steps through an array with '*'; such paths are not sortable", key.span)
        if schema is not None:
            f = schema.field(path, key.span)
            assert f.type is not None
            if f.type.kind in (Kind.ARRAY, Kind.OBJECT, Kind.DICT):
                raise _at(
                    SortError,
                    f"'{key.field}' is {'an' if f.type.describe()[:1] in 'aeiou' else 'a'} {f.type.describe()} and is not sortable"
                    + ("; sort by one of its fields" if f.type.kind is not Kind.ARRAY else ""),
                    key.span,
                )
            key = SortKey(f.dotted, key.descending, f, key.span)
        if key.field in seen:
            raise _at(SortError, f"'{key.field}' appears twice in the sort", key.span)
        seen[key.field] = key
        out.append(key)
    return out

