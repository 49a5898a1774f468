"""Helpers for the SQL backend tests (tests/backends/sql): the engines they run on, fresh table
names, the ids a source answers, and one shared table per engine for hypothesis tests.

The engines are the session fixtures of tests/conftest.py; the `engine` fixture of
tests/backends/sql/conftest.py is parametrized over them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

import crudql
from crudql.backends.sql import SQLSource
from crudql.models import Contact
from crudql.request import effective_sort
from crudql.sources import InMemory

__all__ = ["ENGINES", "ids", "python_ids", "shared", "statements_run", "table_name"]

# Engine name (the test id) -> the session fixture that provides it.
ENGINES = {"sqlite": "sqlite_engine", "postgresql": "postgres_engine", "mariadb": "mysql_engine"}


def table_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def ids(source: Any, text: str | None, sort: str | None = None, *, style: str = "lisp", limit: int = 1000) -> list[str]:
    schema = source.schema
    where = crudql.parse_filter(text, style, schema=schema)
    order = effective_sort(crudql.parse_sort(sort, schema=schema), schema)
    items, total = source.page(where, order, 0, limit)
    assert total >= len(items)
    return [item.id for item in items]


def python_ids(records: list[Any], text: str | None, sort: str | None = None, *, style: str = "lisp", model: type[BaseModel] = Contact) -> list[str]:
    return ids(InMemory(records, model=model), text, sort, style=style)


_SHARED: dict[int, SQLSource] = {}


def shared(engine: sa.Engine) -> SQLSource:
    # One table per engine for all examples (hypothesis forbids function-scoped fixtures).
    if id(engine) not in _SHARED:
        _SHARED[id(engine)] = SQLSource.from_records(engine, [], table_name=table_name(), model=Contact)
    return _SHARED[id(engine)]


def statements_run(engine: sa.Engine) -> tuple[list[str], Callable[[], None]]:
    """The SQL statements `engine` runs from now on, and a function that stops recording."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: sa.event.remove(engine, "before_cursor_execute", record)
