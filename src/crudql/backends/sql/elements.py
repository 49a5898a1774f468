"""Small SQLAlchemy building blocks the SQL compiler and the dialects share.

Safety: `schema_text` is the only way a string becomes SQL text, and it is used for names
from the model (JSON paths, type names), never for client values, which are always bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["ONE", "bind", "binds", "exists", "junction", "schema_text"]


class _Parenthesized(ColumnElement[bool]):
    """`( clause )`: SQLAlchemy flattens nested AND/OR, but SQLite's parser nests a flat
    chain one level per operand and fails past 1,000. Parentheses keep long chains shallow."""

    __visit_name__ = "crudql_parenthesized"
    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]
    type = sa.Boolean()

    def __init__(self, element: ColumnElement[bool]) -> None:
        self.element = element


@compiles(_Parenthesized)
def _render_parenthesized(element: _Parenthesized, compiler: Any, **kw: Any) -> str:
    return "(" + compiler.process(element.element, **kw) + ")"


_CHUNK = 50


def junction(fn: Callable[..., ColumnElement[bool]], parts: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    """and_/or_ over many parts as a shallow tree of parenthesized chunks."""
    parts = list(parts)
    while len(parts) > _CHUNK:
        parts = [_Parenthesized(fn(*parts[i : i + _CHUNK])) for i in range(0, len(parts), _CHUNK)]
    return fn(*parts)


class _SchemaText(ColumnElement[str]):
    """A schema-derived constant (JSON path, key, type name) rendered as an SQL string literal.

    Rendering it (rather than binding it) lets expression indexes on JSON paths match. The
    text comes from the model, never from the client; SQLAlchemy's literal renderer quotes it.
    Unlike `literal(..., literal_execute=True)` it is part of the compiled (cached) SQL, so
    executing a cached statement re-renders nothing.
    """

    __visit_name__ = "crudql_schema_text"
    inherit_cache = True
    _traverse_internals = [("text", InternalTraversal.dp_string)]
    type = sa.String()

    def __init__(self, text: str) -> None:
        self.text = text


@compiles(_SchemaText)
def _render_schema_text(element: _SchemaText, compiler: Any, **kw: Any) -> str:
    return compiler.render_literal_value(element.text, sa.String())  # type: ignore[no-any-return]


def schema_text(text: str) -> ColumnElement[str]:
    """A string from the schema (never from the client) as an SQL literal."""
    return _SchemaText(text)


def bind(value: Any, type_: sa.types.TypeEngine[Any] | None = None) -> ColumnElement[Any]:
    """A client value as a bound parameter."""
    return sa.bindparam(None, value, type_=type_, unique=True)


def binds(values: Sequence[Any], type_: sa.types.TypeEngine[Any]) -> list[ColumnElement[Any]]:
    """One bound parameter per list item. A statement is built for one filter, so an
    "expanding" parameter would only add SQLAlchemy's per-execution re-rendering."""
    return [bind(v, type_) for v in values]


ONE: ColumnElement[Any] = sa.literal_column("1")


def exists(from_: Any, where: ColumnElement[bool]) -> ColumnElement[bool]:
    return sa.exists(sa.select(ONE).select_from(from_).where(where))
