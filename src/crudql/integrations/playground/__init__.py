"""The playground: a page at `/` to type a filter and a sort in either style and see, as you
type, the checked tree, the canonical lisp and JSON, the SQL and MongoDB forms, and the
results of the real query route, with errors under the text at their position.

Plain HTML, CSS and JavaScript shipped as package data (no build step), plus one JSON
endpoint, `GET /playground/explain`, that answers with the forms of `crudql.explain` (400
with the error's place for a bad filter or sort). The page queries the route itself, so what
it shows is what a client gets.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ...ast import Expr
from ...errors import QueryError
from ...explain import format_parameter, mongo_find, sql_statements, tree_lines
from ...limits import DEFAULT_LIMITS, Limits
from ...request import PageRequest, prepare_query
from ...syntax.printer import sort_to_json, sort_to_simple, to_json, to_lisp
from ..fastapi import request_from_query
from ..scope import Scope
from ..status import error_reply

__all__ = ["EXPLAIN_PATH", "add_playground", "explain_request"]

EXPLAIN_PATH = "/playground/explain"
_ASSETS = {"playground.js": "text/javascript", "playground.css": "text/css"}


def _asset(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def add_playground(
    app: FastAPI,
    source: Any,
    query_path: str,
    *,
    scope_field: str | None = None,
    scope_param: str | None = None,
    scope_default: str = "",
    limits: Limits = DEFAULT_LIMITS,
    path: str = "/",
) -> None:
    """Serve the playground page at `path` for the query route at `query_path` (added with
    `add_query_route` and the same scope), and its explain endpoint."""
    schema = source.schema
    scope = Scope.for_route(query_path, schema, scope_field, scope_param) if scope_field is not None else None
    dialect = getattr(getattr(getattr(source, "bind", None), "dialect", None), "name", None) or "sqlite"
    config = {
        "queryPath": query_path,
        "explainPath": EXPLAIN_PATH,
        "scopeParam": scope.param if scope else None,
        "scopeField": scope.field if scope else None,
        "scopeDefault": scope_default,
        "model": source.model.__name__,
        "dialect": dialect,
    }
    page = _asset("index.html").replace("{{config}}", html.escape(json.dumps(config), quote=True))
    assets = {name: _asset(name) for name in _ASSETS}

    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    async def asset(name: str) -> Response:
        if name not in assets:
            return JSONResponse("not found", status_code=404)
        return Response(assets[name], media_type=_ASSETS[name])

    async def explain(request: Request) -> Response:
        try:
            params = request.query_params.multi_items()
            values = [v for k, v in params if k == "scope"]
            page_request = request_from_query([(k, v) for k, v in params if k != "scope"])
            where_scope = None
            if scope is not None and values and values[0]:
                where_scope = scope.filter({scope.param: values[0]})
            body = await anyio.to_thread.run_sync(
                lambda: explain_request(page_request, source, dialect, limits, where_scope)
            )
        except QueryError as exc:
            return JSONResponse(_error_body(exc), status_code=400)
        except Exception as exc:
            reply = error_reply(exc, "playground")
            return JSONResponse({"error": reply.body}, status_code=reply.status, headers=reply.headers)
        return JSONResponse(body)

    app.add_api_route(path, index, methods=["GET"], include_in_schema=False, name="playground")
    app.add_api_route(EXPLAIN_PATH, explain, methods=["GET"], include_in_schema=False, name="playground_explain")
    app.add_api_route("/playground/{name}", asset, methods=["GET"], include_in_schema=False, name="playground_asset")


def _error_body(exc: QueryError) -> dict[str, Any]:
    return {
        "error": str(exc),
        "code": exc.code,
        "message": exc.message,
        "param": exc.param,
        "position": exc.position,
        "length": exc.length,
        "line": exc.line,
        "column": exc.column,
    }


def explain_request(
    request: PageRequest, source: Any, dialect: str, limits: Limits = DEFAULT_LIMITS, scope: Expr | None = None
) -> dict[str, Any]:
    """The playground's view of a request: the client's checked filter and sort in every
    form, and the statements the source runs for them (the scope included)."""
    client = prepare_query(request, source.schema, limits=limits)
    query = prepare_query(request, source.schema, limits=limits, scope=scope) if scope is not None else client
    where = client.where
    out: dict[str, Any] = {
        "tree": list(tree_lines(where)) if where is not None else [],
        "lisp": to_lisp(where),
        "json": to_json(where),
        "sort": {"simple": sort_to_simple(client.order), "json": sort_to_json(client.order)},
    }
    try:
        page, count = sql_statements(
            source.model, query.where, query.order, dialect, offset=query.offset, limit=query.limit
        )
        out["sql"] = {
            "dialect": dialect,
            "page": page.text,
            "count": count.text,
            "parameters": {k: format_parameter(v) for k, v in {**page.parameters, **count.parameters}.items()},
        }
    except Exception as exc:  # an engine crudql cannot explain, a missing driver
        out["sql"] = {"dialect": dialect, "error": f"not available: {exc}"}
    try:
        out["mongo"] = mongo_find(query.where, query.order)
    except Exception as exc:
        out["mongo_error"] = f"not available: {exc}"
    return out
