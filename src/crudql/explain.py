"""What crudql runs for a checked query, in forms a person reads: an outline of the tree, the
Python predicate, the SQL statements of a SQL source (page and count, with their bound
values) and the MongoDB find document.

`crudql explain` and the HTTP playground both show these; one module builds them so the two
never disagree. The SQL and MongoDB backends (and their drivers) load only when asked for:
a missing optional dependency surfaces as the `ModuleNotFoundError` naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .ast import And, Expr, ListValue, Not, Now, Or, Predicate, Quantified, SortKey
from .syntax.printer import format_literal

__all__ = [
    "SQLStatement",
    "describe_sort",
    "format_parameter",
    "mongo_find",
    "python_source",
    "sql_statements",
    "tree_lines",
]


def tree_lines(expr: Expr) -> Iterator[str]:
    """An indented outline of a checked tree: one node per line, fields with their types.

    Iterative, so a tree at the depth limit cannot exhaust the stack."""
    stack: list[tuple[Expr, int]] = [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        pad = "  " * depth
        if isinstance(node, (And, Or)):
            yield f"{pad}{type(node).__name__}"
            stack.extend((child, depth + 1) for child in reversed(node.children))
        elif isinstance(node, Not):
            yield f"{pad}Not"
            stack.append((node.child, depth + 1))
        elif isinstance(node, Quantified):
            yield f"{pad}Quantified {node.op} {_field_text(node)}"
            stack.append((node.condition, depth + 1))
        else:
            args = " ".join(
                "(" + " ".join(format_literal(i.value) for i in a.items) + ")"
                if isinstance(a, ListValue)
                else format_literal(a.value)
                for a in node.args
            )
            yield f"{pad}Predicate {node.op} {_field_text(node)}" + (f" {args}" if args else "")


def _field_text(node: Predicate | Quantified) -> str:
    f = node.field
    kind = f" : {f.type.describe()}" if f.type is not None else ""
    alias = f" (json: {'.'.join(f.json_path)})" if f.json_path and f.json_path != f.path else ""
    return f"{f.dotted}{kind}{alias}"


def describe_sort(order: Sequence[SortKey]) -> str:
    return ", ".join(f"{k.field} {'desc' if k.descending else 'asc'}" for k in order)


def python_source(where: Expr | None) -> str:
    """The generated source of the Python backend's predicate (values are bound constants)."""
    from .backends.python import source_of

    return source_of(where)


@dataclass(frozen=True)
class SQLStatement:
    """One statement a SQL source runs, with named placeholders (`:name`) and their values."""

    text: str
    parameters: dict[str, Any]


def sql_statements(
    model: type[BaseModel],
    where: Expr | None,
    order: Sequence[SortKey],
    dialect_name: str,
    *,
    offset: int = 0,
    limit: int = 20,
) -> tuple[SQLStatement, SQLStatement]:
    """The page and count statements `crudql.sources.SQL` runs for a checked query on a table
    of crudql's own layout for `model`, compiled for `dialect_name` (a SQLAlchemy dialect
    name) on an engine that never connects."""
    import sqlalchemy as sa

    from .backends import sql

    engine = sa.create_mock_engine(f"{dialect_name}://", executor=lambda *args, **kwargs: None)
    dialect = sql.dialect_for(engine)
    table = sql.table_for_model(model, sa.MetaData(), sql.default_table_name(model), dialect)
    source = sql.SQLSource(engine, table, model)  # type: ignore[arg-type]
    statements = source.statements(where, order)
    # Named placeholders (:name), so text and parameters read side by side.
    named: Any = type(engine.dialect)(paramstyle="named")  # type: ignore[call-arg]
    page_values = {"crudql_limit": limit, "crudql_offset": offset}
    out = []
    for statement in (statements.page, statements.count):
        compiled = statement.compile(dialect=named)
        text = "\n".join(line.rstrip() for line in str(compiled).splitlines())
        values = {**compiled.params, **{k: v for k, v in page_values.items() if k in compiled.params}}
        bound = {name: value for name, value in values.items() if re.search(rf":{name}\b", text)}
        out.append(SQLStatement(text, bound))
    return out[0], out[1]


def format_parameter(value: Any) -> str:
    """A bound value as JSON where it has a JSON form, else its repr."""
    if isinstance(value, Now):
        return f"{value}, the instant it stands for when the request runs"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def mongo_find(where: Expr | None, order: Sequence[SortKey], *, indent: int | None = 2) -> str:
    """The MongoDB find document (filter and sort) as relaxed Extended JSON."""
    from .backends import mongo

    return mongo.explain_json(where, order, indent=indent)
