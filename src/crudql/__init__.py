"""crudql: a safe, typed query language for list endpoints (filter, sort, page).

    import crudql
    from crudql.models import Contact

    expr = crudql.parse_filter('(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 10))',
                               schema=Contact)
    keys = crudql.parse_sort("-creation_time,name", schema=Contact)

The pipeline, one package each: `syntax` (text -> AST), `ast`, `check` (AST -> checked AST
against a pydantic model), `backends` (checked AST -> Python, SQL, MongoDB), `sources`
(where records live), `request` (a whole page request) and `integrations` (HTTP).
`crudql.models` (the demo `Contact`) and `crudql.sample` load on first use.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from . import ast, operators, sources
from .ast import SortKey
from .check import Queryable, Schema, check_filter, check_sort
from .errors import (
    ArityError,
    CursorError,
    LimitError,
    NotAllowedError,
    QueryError,
    QuerySyntaxError,
    QueryTimeoutError,
    QueryTypeError,
    RequestError,
    SortError,
    UnknownFieldError,
    UnknownOperatorError,
)
from .fieldtypes import FieldType, Kind
from .limits import DEFAULT_LIMITS, Limits
from .parse import parse_filter, parse_sort
from .request import Page, PageRequest, run_query, run_query_async
from .syntax import sort_to_json, sort_to_simple, to_json, to_lisp

try:
    __version__ = version("crudql")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_LIMITS",
    "ArityError",
    "CursorError",
    "FieldType",
    "Kind",
    "LimitError",
    "Limits",
    "NotAllowedError",
    "Page",
    "PageRequest",
    "QueryError",
    "QuerySyntaxError",
    "QueryTimeoutError",
    "QueryTypeError",
    "Queryable",
    "RequestError",
    "Schema",
    "SortError",
    "SortKey",
    "UnknownFieldError",
    "UnknownOperatorError",
    "__version__",
    "ast",
    "check_filter",
    "check_sort",
    "operators",
    "parse_filter",
    "parse_sort",
    "run_query",
    "run_query_async",
    "sort_to_json",
    "sort_to_simple",
    "sources",
    "to_json",
    "to_lisp",
]

_LAZY = ("models", "sample")


def __getattr__(name: str) -> Any:
    # The demo model and its sample data are not the library: import them only when asked.
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'crudql' has no attribute {name!r}")
