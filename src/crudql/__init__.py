"""crudql: a safe, typed query language for list endpoints (filter, sort, page).

    import crudql
    expr = crudql.parse_filter('(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 10))',
                               schema=crudql.models.Contact)
    keys = crudql.parse_sort("-creation_time,name", schema=crudql.models.Contact)
"""

from . import ast, models, operators, sources
from .errors import (
    ArityError,
    LimitError,
    QueryError,
    QuerySyntaxError,
    QueryTypeError,
    RequestError,
    SortError,
    UnknownFieldError,
    UnknownOperatorError,
)
from .parse import DEFAULT_LIMITS, Limits, parse_filter
from .printer import sort_to_json, sort_to_simple, to_json, to_lisp
from .request import Page, PageRequest, run_query
from .schema import FieldType, Schema
from .sort import SortKey, parse_sort

__all__ = [
    "ArityError",
    "DEFAULT_LIMITS",
    "FieldType",
    "LimitError",
    "Limits",
    "Page",
    "PageRequest",
    "QueryError",
    "QuerySyntaxError",
    "QueryTypeError",
    "RequestError",
    "Schema",
    "SortError",
    "SortKey",
    "UnknownFieldError",
    "UnknownOperatorError",
    "ast",
    "models",
    "operators",
    "parse_filter",
    "parse_sort",
    "run_query",
    "sources",
    "sort_to_json",
    "sort_to_simple",
    "to_json",
    "to_lisp",
]
