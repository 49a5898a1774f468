"""Serve a crudql list endpoint with FastAPI (docs/spec/SERVICE.md §5).

    from fastapi import FastAPI
    from crudql.integrations.fastapi import add_health_route, add_query_route

    app = FastAPI()
    add_query_route(app, "/org/{orgId}/contact/query", source, scope_field="organization_id")
    add_health_route(app, source)

The route reads the six parameters of docs/spec/LANGUAGE.md §1 and documents them in the
app's OpenAPI (`crudql.integrations.openapi`). Status codes (`crudql.integrations.status`):
400 for every client mistake, unknown and repeated parameters included; 503 with
`Retry-After` for a timed-out query or an unreachable database; 500 with a generic body for
anything else. Every error body is a JSON string, and every error is an ordinary response,
so keep-alive connections stay open.

The event loop never runs a query. A sync source (`page` a plain method) runs parse, check,
query and JSON encoding in a worker thread (anyio's default pool, shared with FastAPI's sync
endpoints: 40 threads). An async source (`page` a coroutine function,
`crudql.sources.AsyncSource`) is awaited; its parse, check and encoding still run in a
worker thread, since a 10,000-character filter is CPU work. When the client disconnects, an
awaited async query is cancelled (the driver cancels the statement where it can); a worker
thread cannot be interrupted, so a sync query runs on until it finishes or the source's
`timeout` cancels it in the engine, and its response is discarded.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter

from ..ast import Expr, Field, Literal, Predicate
from ..check.checker import check_filter
from ..check.schema import Schema
from ..cursor import cursor_key
from ..errors import QueryError, RequestError
from ..fieldtypes import Kind
from ..limits import DEFAULT_LIMITS, Limits
from ..records import unset_nones
from ..request import Page, PageRequest, page_of, prepare_query, run_query
from ..sources import is_async_source, page_coroutine
from .openapi import QUERY_PARAMETERS, openapi_parameters, query_responses
from .scope import Scope
from .status import RETRY_AFTER_SECONDS, error_reply

__all__ = ["add_health_route", "add_query_route", "request_from_query"]

T = TypeVar("T")
_NAMES = tuple(p.name for p in QUERY_PARAMETERS)


def add_query_route(
    app: FastAPI,
    path: str,
    source: Any,
    *,
    scope_field: str | None = None,
    scope_param: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    name: str = "query",
    summary: str | None = None,
    description: str | None = None,
) -> None:
    """Add `GET path` answering page requests from `source` (a `crudql.sources.Source` or
    `AsyncSource`).

    With `scope_field`, every query is and-ed with `(= scope_field <path value>)`: the value
    of the path parameter `scope_param`, or of the path's only parameter. The value is
    converted to the field's type (an integer tenant id works); one that does not convert is
    a 400. A path without that parameter, several parameters and no `scope_param`, a field
    that is not a single value of the model, or a source bound to a single Connection raise
    ValueError here, not at request time.
    """
    schema = _schema_of(source)
    problem = _thread_bound(source)
    if problem:
        raise ValueError(f"add_query_route: {problem}")
    if scope_param is not None and scope_field is None:
        raise ValueError("scope_param names the path parameter of scope_field: give scope_field too")
    scope = Scope.for_route(path, schema, scope_field, scope_param) if scope_field is not None else None
    answer = _answerer(source, schema, limits)

    async def endpoint(request: Request) -> Response:
        try:
            page_request = request_from_query(request.query_params.multi_items())
            scoped = scope.filter(request.path_params) if scope is not None else None
            body, next_cursor = await answer(page_request, scoped, request)
        except ClientDisconnected:  # nobody is left to read an answer: not an error to log
            return Response(status_code=499)
        except Exception as exc:  # every failure is a response: the connection stays usable
            reply = error_reply(exc, name)
            return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
        headers = None
        if next_cursor is not None:
            # RFC 8288: the next page is this request with the cursor instead of a page number.
            following = request.url.remove_query_params("page_number").include_query_params(cursor=next_cursor)
            headers = {"Link": f'<{following}>; rel="next"'}
        return Response(body, media_type="application/json", headers=headers)

    model = source.model
    app.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=name,
        response_model=None,
        summary=summary or f"Query {model.__name__} records",
        description=description
        or (
            f"Query {model.__name__} records with filtering (lisp or JSON), sorting by several fields and "
            "pagination, in the crudql query language."
        ),
        responses=query_responses(model),  # type: ignore[arg-type]
        openapi_extra={"parameters": openapi_parameters(path, scope, limits)},
    )


def request_from_query(items: Sequence[tuple[str, str]]) -> PageRequest:
    """A `PageRequest` from a query string's (name, value) pairs, in order.

    Unknown names and repeated names are client errors: a typo must not be ignored, and of two
    `q=` neither may silently win. Names are checked before `PageRequest` sees them.
    """
    seen: dict[str, str] = {}
    for key, value in items:
        if key not in _NAMES:
            shown = key if len(key) <= 40 else key[:40] + "..."
            raise RequestError(f"unknown parameter {shown!r}; the parameters are {', '.join(_NAMES)}")
        if key in seen:
            raise RequestError(f"parameter '{key}' is given more than once; give it once", param=key)
        seen[key] = value
    return PageRequest.from_params(seen)


def add_health_route(app: FastAPI, source: Any = None, path: str = "/health", *, name: str = "health") -> None:
    """Add `GET path`: `{"status": "ok"}`, or with a source, 503 `{"status": "unavailable"}`
    (and `Retry-After`) when the source cannot answer its cheapest query (an `id` lookup),
    run the way queries run (worker thread or awaited)."""
    probe = _prober(source) if source is not None else None

    async def health() -> JSONResponse:
        if probe is not None:
            try:
                await probe()
            except Exception as exc:
                error_reply(exc, name)  # logs it
                headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
                return JSONResponse({"status": "unavailable"}, status_code=503, headers=headers)
        return JSONResponse({"status": "ok"})

    health_body = {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}
    app.add_api_route(
        path,
        health,
        methods=["GET"],
        name=name,
        response_model=None,
        summary="Health",
        description="`ok` when the service can answer queries" + (" (its database answered)" if probe else ""),
        responses={
            200: {"description": "Ready", "content": health_body},
            503: {"description": "The database is unreachable", "content": health_body},
        },
    )


# ---------------------------------------------------------------------------- running a request

# The response body and the next page's cursor.
Answer = Callable[[PageRequest, Expr | None, Request], Awaitable[tuple[bytes, str | None]]]


def _answerer(source: Any, schema: Schema, limits: Limits) -> Answer:
    serialize = _PageSerializer(source.model)

    if not is_async_source(source):

        def work(request: PageRequest, scope: Expr | None) -> tuple[bytes, str | None]:
            page = run_query(request, source, limits=limits, scope=scope)
            return serialize(page), page.next_cursor

        async def in_thread(request: PageRequest, scope: Expr | None, http: Request) -> tuple[bytes, str | None]:
            return await anyio.to_thread.run_sync(work, request, scope)

        return in_thread

    key = cursor_key(source)

    async def awaited(request: PageRequest, scope: Expr | None, http: Request) -> tuple[bytes, str | None]:
        def prepare() -> Any:
            return prepare_query(request, schema, limits=limits, scope=scope, cursor_key=key)

        query = await anyio.to_thread.run_sync(prepare)
        items, total = await _unless_disconnected(http, query.call(page_coroutine(source)))
        page = page_of(query, items, total)
        return await anyio.to_thread.run_sync(serialize, page), page.next_cursor

    return awaited


class ClientDisconnected(Exception):
    """The client went away while its query ran; the query was cancelled."""


async def _unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it if the client disconnects first."""
    done: list[T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            # After the (empty) body, the server's next message is the disconnect.
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            done.append(await work)
        except Exception as exc:  # raised below, not wrapped in the group's ExceptionGroup
            failed.append(exc)
        group.cancel_scope.cancel()
    if failed:
        raise failed[0]
    if not done:
        raise ClientDisconnected
    return done[0]


class _PageSerializer:
    """A page as the response body's bytes, the same JSON as `Page.to_json_dict` (items by
    alias; a None default the input left unset stays absent, other defaults are values),
    encoded by pydantic.

    When no field of the model (nested models included) has a default other than None, "left
    unset" and "unset and None" are the same fields, so one `dump_json(exclude_unset=True)`
    over the whole list gives that JSON in one pass of pydantic's encoder (about 3x faster
    than walking each item for its unset Nones, which models with value defaults need)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.items = None if _has_value_defaults(model) else TypeAdapter(list[model])  # type: ignore[valid-type]

    def __call__(self, page: Page[Any]) -> bytes:
        model = self.model
        if all(type(item) is model for item in page.data):
            if self.items is not None:
                data = self.items.dump_json(page.data, by_alias=True, exclude_unset=True)
            else:
                data = b"[" + b",".join(_item_json(item) for item in page.data) + b"]"
        else:  # a custom source's dicts or subclasses: their own shape
            data = json.dumps(page.to_json_dict()["data"], ensure_ascii=False, separators=(",", ":")).encode()
        tail = f',"page_number":{page.page_number},"page_size":{page.page_size},"total_count":{page.total_count}}}'
        return b'{"data":' + data + tail.encode()


def _has_value_defaults(model: type[BaseModel]) -> bool:
    """Whether a field of the model, or of a model nested in it, has a default other than None."""
    models, pending = set(), [model]
    while pending:
        current = pending.pop()
        if current in models:
            continue
        models.add(current)
        for info in current.model_fields.values():
            if info.default_factory is not None or (not info.is_required() and info.default is not None):
                return True
        for sf in Schema.from_model(current).fields.values():
            ftype = sf.type
            while ftype.item is not None:  # the element of arrays and maps, however deep
                ftype = ftype.item
            if ftype.kind is Kind.OBJECT and isinstance(ftype.model, type) and issubclass(ftype.model, BaseModel):
                pending.append(ftype.model)
    return False


def _item_json(item: BaseModel) -> bytes:
    return item.model_dump_json(by_alias=True, exclude=unset_nones(item) or None).encode()


# ---------------------------------------------------------------------------- configuration checks


def _schema_of(source: Any) -> Schema:
    schema = getattr(source, "schema", None)
    if not isinstance(schema, Schema) or not callable(getattr(source, "page", None)):
        raise TypeError(f"add_query_route needs a crudql source (model, schema, page), got {source!r}")
    return schema


def _thread_bound(source: Any) -> str | None:
    """Why a SQLAlchemy-bound source cannot answer from worker threads, if it cannot. (An
    engine on a per-thread in-memory SQLite database is refused by the SQL source itself.)"""
    if "sqlalchemy" not in sys.modules:  # then the source has no SQLAlchemy bind
        return None
    from sqlalchemy.engine import Connection

    if isinstance(getattr(source, "bind", None), Connection):
        return (
            "the source is bound to one Connection, which cannot serve concurrent requests from "
            "worker threads; bind it to an Engine"
        )
    return None


def _prober(source: Any) -> Callable[[], Awaitable[Any]]:
    """The cheapest real query of a source: an `id` that matches nothing, without a count."""
    schema = _schema_of(source)
    where = _probe_filter(schema)
    if is_async_source(source):

        async def awaited() -> Any:
            return await page_coroutine(source)(where, [], 0, 1)

        return awaited

    async def in_thread() -> Any:
        return await anyio.to_thread.run_sync(source.page, where, [], 0, 1)

    return in_thread


def _probe_filter(schema: Schema) -> Expr | None:
    id_field = schema.get("id")
    value: Mapping[Kind, Any] = {Kind.STRING: "", Kind.INT: -1}
    if id_field is None or id_field.type.kind not in value:
        return None
    try:
        return check_filter(Predicate("=", Field(("id",)), (Literal(value[id_field.type.kind]),)), schema)
    except QueryError:
        return None
