"""The entry points: text -> checked tree (`parse_filter`) and text -> checked keys (`parse_sort`).

Each picks the syntax by style, applies the length limit, checks against the schema when one
is given, and caches the result by text (trees and keys are immutable, so one result can be
shared by every caller). Every client mistake raises `QueryError` with a position into the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ast import Expr, SortKey
from .cache import WeightedLRU, text_weight
from .check.checker import check_filter, check_sort
from .check.schema import Schema
from .errors import QueryError, SortError
from .json_onepass import parse_json_onepass
from .limits import DEFAULT_LIMITS, Limits, check_cost, check_length
from .lisp_onepass import LispCheck
from .syntax.json_filter import parse_json_filter
from .syntax.lisp import NotChecked, parse_lisp
from .syntax.sort import SORT_STYLES, parse_sort_text

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["FILTER_STYLES", "SORT_STYLES", "parse_filter", "parse_sort", "resolve_schema"]

FILTER_STYLES = ("lisp", "json")

# Parsed trees and keys are immutable, so one result serves every caller. Bounded by an
# estimate of their memory: distinct maximum-size filters cannot pin more than the budget.
FILTER_CACHE: WeightedLRU[tuple[Any, ...], Expr | None] = WeightedLRU(16 << 20)
SORT_CACHE: WeightedLRU[tuple[Any, ...], tuple[SortKey, ...]] = WeightedLRU(4 << 20)


def resolve_schema(schema: Schema | type[BaseModel] | None) -> Schema | None:
    """A `Schema` from a schema or a pydantic model class (None stays None)."""
    if schema is None or isinstance(schema, Schema):
        return schema
    return Schema.from_model(schema)


def _style(style: str, allowed: tuple[str, ...], param: str) -> str:
    if not isinstance(style, str) or style.lower() not in allowed:
        raise QueryError(
            f"unknown {param} style {style!r}; use one of: {', '.join(allowed)}", code="request", param=param
        )
    return style.lower()


# --------------------------------------------------------------------------- filters


def parse_filter(
    text: Any,
    style: str = "lisp",
    schema: Schema | type[BaseModel] | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Expr | None:
    """Parse a filter; None (or blank text) means match-all.

    With a schema (a `crudql.Schema` or a pydantic model class) the tree is also checked:
    fields resolved to their canonical paths and types, literals coerced. A JSON filter may
    also be given already decoded (lists and dicts).
    """
    style = _style(style, FILTER_STYLES, "qs")
    resolved = resolve_schema(schema)
    if text is None:
        return None
    if isinstance(text, str):
        return FILTER_CACHE.get_or_build(
            (text, style, resolved, limits),
            lambda: parse_filter_uncached(text, style, resolved, limits),
            lambda _: text_weight(text),
        )
    if style == "lisp":
        raise QueryError("a lisp filter must be a string", code="request", param="q")
    return parse_filter_uncached(text, style, resolved, limits)


def parse_filter_uncached(text: Any, style: str, schema: Schema | None, limits: Limits = DEFAULT_LIMITS) -> Expr | None:
    """`parse_filter` without the cache (benchmarks measure cold parses with it)."""

    def check(expr: Expr) -> Expr:
        check_cost(expr, limits)  # before the schema or any backend sees the tree
        return expr if schema is None else check_filter(expr, schema)

    try:
        if isinstance(text, str):
            check_length(text, limits)
        if style == "json":
            if isinstance(text, str):
                # One walk, decode to checked tree; None: not taken, so the reference path
                # (convert, bound the cost, check) decides and reports any mistake.
                expr = parse_json_onepass(text, schema, limits)
                if expr is not None:
                    return expr
            return parse_json_filter(text, limits, check)
        if schema is not None:
            try:  # checked as it is built; on any mistake, the reference way below decides
                return parse_lisp(text, limits, LispCheck(schema, limits))
            except NotChecked:
                pass
        expr = parse_lisp(text, limits)
        return None if expr is None else check(expr)
    except QueryError as exc:
        if isinstance(text, str):
            exc.located(text)
        raise


# --------------------------------------------------------------------------- sorts


def parse_sort(
    text: Any,
    style: str = "simple",
    schema: Schema | type[BaseModel] | None = None,
    *,
    limits: Limits | None = None,
) -> list[SortKey]:
    """Parse a sort; None or blank means no keys. Keys come as written (no `id` tiebreak:
    `crudql.request.effective_sort` adds it), checked against the schema when one is given."""
    limits = limits or DEFAULT_LIMITS
    style = _style(style, SORT_STYLES, "ss")
    resolved = resolve_schema(schema)
    if text is None:
        return []
    if isinstance(text, str):
        # Keys are immutable; the list is not, so each caller gets its own.
        return list(
            SORT_CACHE.get_or_build(
                (text, style, resolved, limits),
                lambda: tuple(_parse_sort(text, style, resolved, limits)),
                lambda _: text_weight(text),
            )
        )
    return _parse_sort(text, style, resolved, limits)


def _parse_sort(text: Any, style: str, schema: Schema | None, limits: Limits) -> list[SortKey]:
    check = _distinct if schema is None else (lambda keys: check_sort(keys, schema))
    try:
        if isinstance(text, str):
            check_length(text, limits, "sort")
        return parse_sort_text(text, style, limits, check)
    except QueryError as exc:
        if isinstance(text, str):
            exc.located(text, "s")
        raise


def _distinct(keys: list[SortKey]) -> list[SortKey]:
    seen: set[str] = set()
    for key in keys:
        if key.field in seen:
            raise SortError.at(f"'{key.field}' appears twice in the sort", key.span)
        seen.add(key.field)
    return keys
