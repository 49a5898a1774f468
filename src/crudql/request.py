"""A whole list request: `PageRequest` (the six parameters), `Page` (the response) and
`run_query`, which parses, checks and hands the work to a source.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .ast import And, Expr, SortKey
from .check.schema import Schema
from .errors import QueryError, RequestError
from .limits import DEFAULT_LIMITS, Limits
from .parse import FILTER_STYLES, SORT_STYLES, parse_filter, parse_sort
from .records import dump
from .sources import Source, is_async_source, page_coroutine

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

    @field_validator("q", "s", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PageRequest:
        """From URL query parameters; unknown parameters are an error, blank ones mean default."""
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
        message = f"unknown parameter '{param}'; the parameters are page_size, page_number, qs, q, ss, s"
    else:
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        if param and not message.startswith(param):
            message = f"{param}: {message}"
    return RequestError(message, param=param)


class Page(BaseModel, Generic[T]):
    """One page of results: `total_count` counts every match, not just this page."""

    data: list[T]
    page_number: int
    page_size: int
    total_count: int

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


@dataclass(frozen=True)
class PreparedQuery:
    """A request checked against a schema: what a source's `page` is called with."""

    where: Expr | None
    order: list[SortKey]
    offset: int
    limit: int


def prepare_query(
    request: PageRequest, schema: Schema, *, limits: Limits = DEFAULT_LIMITS, scope: Expr | None = None
) -> PreparedQuery:
    """Parse and check the request's filter and sort, and-ing `scope` outside the filter.

    `scope` is a trusted, already checked filter the server adds (a tenant's organization,
    say): it is and-ed with the client's filter and never comes from the client.
    """
    if not isinstance(request, PageRequest):
        raise RequestError("run_query needs a crudql.PageRequest")
    where = _parsed(lambda: parse_filter(request.q, request.qs, schema, limits=limits), "q")
    if scope is not None:
        where = scope if where is None else And((scope, where))
    keys = _parsed(lambda: parse_sort(request.s, request.ss, schema, limits=limits), "s")
    return PreparedQuery(where, effective_sort(keys, schema), request.offset, request.page_size)


def page_of(request: PageRequest, items: list[Any], total: int) -> Page[Any]:
    """The response for a request from what its source returned."""
    return _ANY_PAGE(data=items, page_number=request.page_number, page_size=request.page_size, total_count=total)


def run_query(
    request: PageRequest, source: Source, *, limits: Limits = DEFAULT_LIMITS, scope: Expr | None = None
) -> Page[Any]:
    """Answer one request from a source: filter, sort, page, count (see `prepare_query`)."""
    query = prepare_query(request, source.schema, limits=limits, scope=scope)
    items, total = source.page(query.where, query.order, query.offset, query.limit)
    return page_of(request, items, total)


async def run_query_async(
    request: PageRequest, source: Any, *, limits: Limits = DEFAULT_LIMITS, scope: Expr | None = None
) -> Page[Any]:
    """`run_query` for an event loop: an async source (`crudql.sources.is_async_source`: an
    `AsyncSource`, a SQL source over an AsyncEngine, a Mongo source over an async collection)
    is awaited; any other source runs in a worker thread. The same page, the same timeout.

    Parsing and checking run inline: they are bounded by `limits`. A server that must never
    run them on its event loop runs `prepare_query` in a worker thread instead, as the
    FastAPI route does.
    """
    query = prepare_query(request, source.schema, limits=limits, scope=scope)
    if is_async_source(source):
        items, total = await page_coroutine(source)(query.where, query.order, query.offset, query.limit)
    else:
        items, total = await asyncio.to_thread(source.page, query.where, query.order, query.offset, query.limit)
    return page_of(request, items, total)


# pydantic caches parametrized generics weakly: without this reference `Page[Any]` is rebuilt
# (about 2 ms) on every request once the previous page has been garbage-collected.
_ANY_PAGE = Page[Any]


def _parsed(parse: Any, param: str) -> Any:
    try:
        return parse()
    except QueryError as exc:
        exc.param = param
        raise
