"""The OpenAPI description of a query route: its parameters, as the reference endpoint
documents them (docs/spec/query-contacts-endpoint.txt), and its responses.

The parameters are declared here rather than as FastAPI `Query(...)` arguments so that
crudql, not FastAPI, validates them: its messages are the ones the CLI and the library give,
and every mistake is a 400 with a JSON string body instead of FastAPI's 422 object.
`QUERY_PARAMETERS` is also the allow-list of names the route accepts: a parameter the
request layer learns (`cursor`, say) is one more row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, create_model

from ..cursor import MAX_CURSOR_LENGTH
from ..limits import Limits
from ..parse import FILTER_STYLES, SORT_STYLES
from ..request import MAX_PAGE_SIZE
from .scope import Scope, path_parameters
from .status import RETRY_AFTER_SECONDS

__all__ = ["QUERY_PARAMETERS", "QueryParameter", "openapi_parameters", "page_model", "query_responses"]


@dataclass(frozen=True)
class QueryParameter:
    name: str
    schema: dict[str, Any]
    description: str
    # Bounded by `Limits.max_length` (filter and sort text).
    text: bool = False


QUERY_PARAMETERS: tuple[QueryParameter, ...] = (
    QueryParameter(
        "page_size",
        {"type": "integer", "default": 20, "minimum": 1, "maximum": MAX_PAGE_SIZE},
        f"Number of items per page (default 20, max {MAX_PAGE_SIZE})",
    ),
    QueryParameter("page_number", {"type": "integer", "default": 1, "minimum": 1}, "Page number (default 1)"),
    QueryParameter(
        "qs",
        {"type": "string", "default": "lisp", "enum": list(FILTER_STYLES)},
        "Query style: 'json' or 'lisp' (default 'lisp')",
    ),
    QueryParameter(
        "q",
        {"type": "string"},
        "Filter expression in the format specified by qs param; absent or blank matches every record",
        text=True,
    ),
    QueryParameter(
        "ss",
        {"type": "string", "default": "simple", "enum": list(SORT_STYLES)},
        "Sort style: 'json' or 'simple' (default 'simple')",
    ),
    QueryParameter(
        "s",
        {"type": "string"},
        "Sort expression in the format specified by ss param; `id` ascending is the last key when absent",
        text=True,
    ),
    QueryParameter(
        "cursor",
        {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
        'The page after a previous response\'s last item: the cursor of its `Link: <...>; rel="next"` '
        "header (that link is the whole next request). Sent with the same q, s and page_size, "
        "without page_number",
    ),
)


def openapi_parameters(path: str, scope: Scope | None, limits: Limits) -> list[dict[str, Any]]:
    """The path and query parameters of a route, as OpenAPI parameter objects."""
    out: list[dict[str, Any]] = []
    for name in path_parameters(path):
        schema: dict[str, Any]
        if scope is not None and name == scope.param:
            schema = {"type": scope.openapi_type()}
            description = f"Only records whose `{scope.field}` equals this value are queried"
        else:
            schema, description = {"type": "string"}, ""
        out.append({"name": name, "in": "path", "required": True, "schema": schema, "description": description})
    for p in QUERY_PARAMETERS:
        query_schema = {**p.schema, "maxLength": limits.max_length} if p.text else p.schema
        out.append(
            {"name": p.name, "in": "query", "required": False, "schema": query_schema, "description": p.description}
        )
    return out


def page_model(model: type[BaseModel]) -> type[BaseModel]:
    """The 200 body's model: `{"data": [...], "page_number", "page_size", "total_count"}`.

    For documentation only: responses are serialized from the source's own models."""
    return create_model(
        f"{model.__name__}Page",
        __doc__=f"One page of {model.__name__} records; total_count counts every match.",
        data=(list[model], ...),  # type: ignore[valid-type]
        page_number=(int, ...),
        page_size=(int, ...),
        total_count=(int, ...),
    )


def _json_string(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"type": "string"}}}, **extra}


def query_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The documented responses of a query route (FastAPI's `responses=`)."""
    retry_after = {
        "Retry-After": {
            "description": f"Seconds to wait before retrying ({RETRY_AFTER_SECONDS})",
            "schema": {"type": "integer"},
        }
    }
    return {
        200: {
            "model": page_model(model),
            "description": f"Paginated list of {model.__name__} records",
            "headers": {
                "Link": {
                    "description": 'The next page, when there is one: `<url>; rel="next"` (RFC 8288), the '
                    "same request with a `cursor` in place of `page_number`",
                    "schema": {"type": "string"},
                }
            },
        },
        400: _json_string(
            "Bad request error: what is wrong and where (line, column and a caret excerpt for query text)"
        ),
        500: _json_string("Internal server error"),
        503: _json_string(
            "The query ran out of time or the database is unreachable; retry after Retry-After seconds",
            headers=retry_after,
        ),
    }
