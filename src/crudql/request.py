"""A whole list request: `PageRequest` (the six parameters and a cursor), `Page` (the
response) and `run_query`, which parses, checks and hands the work to a source.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .ast import And, Expr, SortKey, now_values
from .cache import WeightedLRU, text_weight, tree_weight
from .check.schema import Schema
from .cursor import Position, binding, decode_cursor, encode_cursor, sort_values
from .cursor import cursor_key as default_cursor_key
from .errors import CursorError, QueryError, RequestError
from .limits import DEFAULT_LIMITS, Limits
from .parse import FILTER_STYLES, SORT_STYLES, parse_filter, parse_sort
from .records import dump
from .sources import Source, is_async_source, page_coroutine
from .values import clock

__all__ = [
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "Page",
    "PageRequest",
    "PreparedQuery",
    "effective_sort",
    "page_of",
    "prepare_query",
    "run_query",
    "run_query_async",
]

MAX_PAGE_SIZE = 1000
# Pages past any real table: clamp the offset so no backend sees an integer it cannot bind.
MAX_OFFSET = 2**62

T = TypeVar("T")
R = TypeVar("R")
_INTEGER = re.compile(r"\s*\+?[0-9]+\s*\Z")


def _integer(name: str, value: Any, minimum: int, maximum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{name} must be an integer")
    if isinstance(value, str):
        if not _INTEGER.match(value) or len(value) > 40:
            raise ValueError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


class PageRequest(BaseModel):
    """The query parameters of a list endpoint (docs/spec/LANGUAGE.md §1).

    Strings are accepted for the integers (they come from a URL); every violation raises
    `QueryError` with code `request`, never a pydantic `ValidationError`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    page_size: int = 20
    page_number: int = 1
    qs: str = "lisp"
    q: str | None = None
    ss: str = "simple"
    s: str | None = None
    # The page after the one a previous response's `Page.next_cursor` came from (keyset
    # pagination, docs/api.md "Cursors"); it comes with the same q, s and page_size.
    cursor: str | None = None

    # `self` positional-only: a parameter named "self" (`?self=1`) is then an unknown
    # parameter like any other, not a TypeError.
    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _request_error(exc) from None

    @field_validator("page_size", mode="before")
    @classmethod
    def _page_size(cls, value: Any) -> int:
        return _integer("page_size", 20 if value is None else value, 1, MAX_PAGE_SIZE)

    @field_validator("page_number", mode="before")
    @classmethod
    def _page_number(cls, value: Any) -> int:
        return _integer("page_number", 1 if value is None else value, 1, None)

    @field_validator("qs", mode="before")
    @classmethod
    def _qs(cls, value: Any) -> str:
        return _style("qs", value, FILTER_STYLES, "lisp")

    @field_validator("ss", mode="before")
    @classmethod
    def _ss(cls, value: Any) -> str:
        return _style("ss", value, SORT_STYLES, "simple")

    @field_validator("q", "s", "cursor", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value

    @model_validator(mode="after")
    def _cursor_or_page_number(self) -> PageRequest:
        if self.cursor is not None and self.page_number > 1:
            raise ValueError(
                "cursor: a cursor says which page comes next; send it without page_number (or with page_number=1)"
            )
        return self

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PageRequest:
        """From URL query parameters; unknown parameters are an error, blank ones mean default
        (a blank `cursor`: no cursor)."""
        data = {
            k: (None if isinstance(v, str) and not v.strip() and k not in ("q", "s") else v) for k, v in params.items()
        }
        return cls(**{k: v for k, v in data.items() if v is not None})

    @property
    def offset(self) -> int:
        return min((self.page_number - 1) * self.page_size, MAX_OFFSET)


def _style(name: str, value: Any, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value.strip().lower()


def _request_error(exc: ValidationError) -> RequestError:
    first = exc.errors()[0]
    param = str(first["loc"][0]) if first.get("loc") else None
    if first.get("type") == "extra_forbidden":
        message = f"unknown parameter '{param}'; the parameters are page_size, page_number, qs, q, ss, s, cursor"
    else:
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        if param is None and message.startswith("cursor: "):
            param, message = "cursor", message.removeprefix("cursor: ")
        if param and not message.startswith(param):
            message = f"{param}: {message}"
    return RequestError(message, param=param)


class Page(BaseModel, Generic[T]):
    """One page of results: `total_count` counts every match, not just this page.

    `next_cursor`: the cursor of the next page (`PageRequest(cursor=...)`), None on the page
    that holds the last match. It is not part of the JSON body (`to_json_dict`): the HTTP
    layer sends it as a `Link: <...>; rel="next"` header.
    """

    data: list[T]
    page_number: int
    page_size: int
    total_count: int
    next_cursor: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The response body: items in their JSON (alias) shape; absent fields (and None
        defaults the input left unset) stay absent, defaults are values."""
        return {
            "data": [dump(item, "json") if isinstance(item, BaseModel) else item for item in self.data],
            "page_number": self.page_number,
            "page_size": self.page_size,
            "total_count": self.total_count,
        }


def effective_sort(keys: list[SortKey], schema: Schema) -> list[SortKey]:
    """The keys with `id` ascending appended when absent, so pages are deterministic."""
    if any(k.path == ("id",) for k in keys) or schema.get("id") is None:
        return keys
    id_field = schema.field(("id",))
    return [*keys, SortKey(id_field.dotted, False, id_field)]


@dataclass(frozen=True, slots=True)
class PreparedQuery:
    """A request checked against a schema: what a source's `page` is called with (`call`),
    and what the response needs (`page_of`)."""

    where: Expr | None
    order: list[SortKey]
    offset: int
    limit: int  # one more than the page size: whether another page follows
    page_number: int
    page_size: int
    after: tuple[Any, ...] | None  # a cursor's position: the page starts after it
    now: dt.datetime | None  # the instant of `(now ...)`, for filters that hold one
    cursor_key: bytes | None  # None: the model has no `id`, so no cursors

    def call(self, page: Callable[..., R]) -> R:
        """`page(where, order, offset, limit[, after][, now=])`: a source's `page`, or its
        coroutine function. `after` and `now` go only to requests that have them, so sources
        written before they were part of the protocol keep serving the rest. A source whose
        `page_lookahead` is True gets `lookahead=True`: it may return None as the `limit`-th
        item, which only shows that another page follows."""
        args: tuple[Any, ...] = (self.where, self.order, self.offset, self.limit)
        if self.after is not None:
            args += (self.after,)
        if getattr(getattr(page, "__self__", None), "page_lookahead", False) is True:
            # The source may put None for the last of `limit` items: `page_of` only counts it.
            return page(*args, now=self.now, lookahead=True)
        return page(*args) if self.now is None else page(*args, now=self.now)


def prepare_query(
    request: PageRequest,
    schema: Schema,
    *,
    limits: Limits = DEFAULT_LIMITS,
    scope: Expr | None = None,
    now: dt.datetime | None = None,
    cursor_key: bytes | None = None,
) -> PreparedQuery:
    """Parse and check the request's filter and sort, and-ing `scope` outside the filter, and
    read its cursor (signed with `cursor_key`: `crudql.cursor.cursor_key(source)`).

    `scope` is a trusted, already checked filter the server adds (a tenant's organization,
    say): it is and-ed with the client's filter and never comes from the client.
    `now`: the instant `(now ...)` values stand for; by default the clock
    (`crudql.values.clock`), read once per request, so the page and its count agree.
    """
    if not isinstance(request, PageRequest):
        raise RequestError("run_query needs a crudql.PageRequest")
    checked = _checked(request, schema, limits, scope)
    where, order = checked.where, list(checked.order)  # each query its own list
    at = None if not checked.holds_now else clock() if now is None else now
    size = request.page_size
    key = (cursor_key or default_cursor_key(None)) if checked.cursors else None
    if request.cursor is None:
        return PreparedQuery(where, order, request.offset, size + 1, request.page_number, size, None, at, key)
    if key is None:
        raise CursorError("cursors need a model with an 'id' field (the sort's tiebreak)", param="cursor")
    position = decode_cursor(request.cursor, key, binding(where, order, size), order)
    return PreparedQuery(where, order, 0, size + 1, position.page_number + 1, size, position.values, at, key)


def page_of(query: PreparedQuery, items: list[Any], total: int) -> Page[Any]:
    """The response to a query from what its source returned (`limit` items at most)."""
    size = query.page_size
    next_cursor = None
    if type(items) is not list:  # a source of a service's own may return another sequence
        items = list(items)
    if len(items) > size:
        items = items[:size]
        if query.cursor_key is not None:
            last = Position(query.page_number, sort_values(items[-1], query.order))
            next_cursor = encode_cursor(last, query.cursor_key, binding(query.where, query.order, size), query.order)
    # Built from values this function made or checked: no validation (which would copy `items`).
    return _ANY_PAGE.model_construct(
        data=items, page_number=query.page_number, page_size=size, total_count=total, next_cursor=next_cursor
    )


@dataclass(frozen=True, slots=True)
class _Checked:
    """What a request's filter and sort became: the same for every request that repeats them."""

    where: Expr | None  # scope included
    order: tuple[SortKey, ...]  # with the `id` tiebreak
    holds_now: bool  # the filter has `(now ...)`: the clock is read per request
    cursors: bool  # the order ends in `id`, a total order: pages get cursors


# Checked requests by (filter, sort, their styles, schema, limits, scope): one lookup instead
# of the parse caches', the tiebreak, the `now` walk and their hashing of the tree, which on a
# page of a few milliseconds are a percent or two (docs/benchmarks.md). The key holds both
# texts and the scope; the value, the tree.
_CHECKED: WeightedLRU[tuple[Any, ...], _Checked] = WeightedLRU(16 << 20)


def _checked(request: PageRequest, schema: Schema, limits: Limits, scope: Expr | None) -> _Checked:
    key = (request.q, request.qs, request.s, request.ss, schema, limits, scope)
    return _CHECKED.get_or_build(key, _check, _checked_weight, request, schema, limits, scope)


def _checked_weight(checked: _Checked, request: PageRequest, *_: Any) -> int:
    return text_weight(request.q or "") + text_weight(request.s or "") + tree_weight(checked.where)


def _check(request: PageRequest, schema: Schema, limits: Limits, scope: Expr | None) -> _Checked:
    where = _parsed(lambda: parse_filter(request.q, request.qs, schema, limits=limits), "q")
    if scope is not None:
        where = scope if where is None else And((scope, where))
    keys = _parsed(lambda: parse_sort(request.s, request.ss, schema, limits=limits), "s")
    order = tuple(effective_sort(keys, schema))
    holds_now = where is not None and bool(now_values(where))
    # Cursors need a total order, which the `id` tiebreak makes (a model without `id` has none).
    return _Checked(where, order, holds_now, any(k.path == ("id",) for k in order))


def run_query(
    request: PageRequest,
    source: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    scope: Expr | None = None,
    now: dt.datetime | None = None,
) -> Page[Any]:
    """Answer one request from a source: filter, sort, page, count (see `prepare_query`).

    With `request.cursor`, the page is the one after the cursor's position (no OFFSET); the
    cursor must come from a page of the same filter (scope included), sort and page size,
    signed with the source's key (`crudql.cursor`), or this raises `CursorError`.
    `Page.next_cursor` leads to the next page, when there is one.
    """
    query = prepare_query(
        request, source.schema, limits=limits, scope=scope, now=now, cursor_key=default_cursor_key(source)
    )
    items, total = query.call(source.page)
    return page_of(query, items, total)


async def run_query_async(
    request: PageRequest,
    source: Any,
    *,
    limits: Limits = DEFAULT_LIMITS,
    scope: Expr | None = None,
    now: dt.datetime | None = None,
) -> Page[Any]:
    """`run_query` for an event loop: an async source (`crudql.sources.is_async_source`: an
    `AsyncSource`, a SQL source over an AsyncEngine, a Mongo source over an async collection)
    is awaited; any other source runs in a worker thread. The same page, the same timeout.

    Parsing and checking run inline: they are bounded by `limits`. A server that must never
    run them on its event loop runs `prepare_query` in a worker thread instead, as the
    FastAPI route does.
    """
    query = prepare_query(
        request, source.schema, limits=limits, scope=scope, now=now, cursor_key=default_cursor_key(source)
    )
    if is_async_source(source):
        items, total = await query.call(page_coroutine(source))
    else:
        items, total = await asyncio.to_thread(query.call, source.page)
    return page_of(query, items, total)


# pydantic caches parametrized generics weakly: without this reference `Page[Any]` is rebuilt
# (about 2 ms) on every request once the previous page has been garbage-collected.
_ANY_PAGE = Page[Any]


def _parsed(parse: Any, param: str) -> Any:
    try:
        return parse()
    except QueryError as exc:
        exc.param = param
        raise
