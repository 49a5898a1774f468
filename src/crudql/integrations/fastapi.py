"""Serve a crudql list endpoint with FastAPI.

    from fastapi import FastAPI
    from crudql.integrations.fastapi import add_query_route

    app = FastAPI()
    add_query_route(app, "/org/{org_id}/contact/query", source, scope_field="organization_id")

The route reads the six parameters of docs/spec/LANGUAGE.md §1 from the query string. Every client
mistake is HTTP 400 whose body is a JSON string with the message, the place and a caret
excerpt (as the reference endpoint does); nothing a client sends yields a 500.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..ast import Field, Literal, Predicate
from ..check.checker import check_filter
from ..errors import QueryError
from ..limits import DEFAULT_LIMITS, Limits
from ..request import PageRequest, run_query
from ..sources import Source

__all__ = ["add_query_route"]


def add_query_route(
    app: FastAPI,
    path: str,
    source: Source | Callable[[], Source],
    *,
    scope_field: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    name: str = "query",
) -> None:
    """Add `GET path`. With `scope_field`, the path's single parameter (e.g. `{org_id}`)
    restricts every query to records whose `scope_field` equals it."""

    def get_source() -> Source:
        return source() if callable(source) and not hasattr(source, "page") else source  # type: ignore[return-value]

    async def endpoint(request: Request) -> JSONResponse:
        try:
            src = get_source()
            params = dict(request.query_params)
            page_request = PageRequest.from_params(params)
            scope = None
            if scope_field is not None and request.path_params:
                value = next(iter(request.path_params.values()))
                scope = check_filter(
                    Predicate("=", Field(tuple(scope_field.split("."))), (Literal(value),)), src.schema
                )
            page = run_query(page_request, src, limits=limits, scope=scope)
        except QueryError as err:
            return JSONResponse(status_code=400, content=str(err))
        return JSONResponse(page.to_json_dict())

    app.add_api_route(path, endpoint, methods=["GET"], name=name, response_model=None)
