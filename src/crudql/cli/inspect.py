"""`crudql parse` and `crudql explain`: the checked tree and canonical forms of a request, and
what each backend runs for it (the Python predicate, the SQL statements a SQL source runs, the
MongoDB query)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from ..ast import And, Expr, ListValue, Not, Now, Or, Predicate, Quantified, SortKey
from ..syntax.printer import format_literal, sort_to_simple, to_json, to_lisp
from .common import Checked, CLIError, check, missing

__all__ = ["EXPLAIN_BACKENDS", "cmd_explain", "cmd_parse"]


def _ast_lines(expr: Expr) -> Iterator[str]:
    """An indented outline of a checked tree: one node per line, fields with their types."""
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


def cmd_parse(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    if args.query is not None and args.q is not None:
        raise CLIError("give the filter once: as -q or as the argument")
    if args.q is None:
        args.q = args.query
    checked = check(args, stdin)
    print(f"model: {checked.schema.model.__name__}", file=out)
    if checked.where is None:
        print("filter: none (matches every record)", file=out)
    else:
        print("ast:", file=out)
        for line in _ast_lines(checked.where):
            print(f"  {line}", file=out)
    print(f"lisp: {to_lisp(checked.where)}", file=out)
    print(f"json: {to_json(checked.where)}", file=out)
    print(f"sort: {_describe_sort(checked.order)}", file=out)
    return 0


def _describe_sort(order: Sequence[SortKey]) -> str:
    return ", ".join(f"{k.field} {'desc' if k.descending else 'asc'}" for k in order)


def _explain_python(checked: Checked) -> list[str]:
    from ..backends.python import source_of

    return [
        f"filter: {to_lisp(checked.where) or '(none: every record)'}",
        f"sort:   {_describe_sort(checked.order)} (missing and null sort lowest)",
        f"page:   skip {checked.request.offset}, take {checked.request.page_size}; total = all matches",
        "compiled predicate (values are bound constants _cN, never source text):",
        *("  " + line for line in source_of(checked.where).rstrip().splitlines()),
    ]


def _explain_sql(checked: Checked, dialect_name: str) -> list[str]:
    """What `crudql.sources.SQL` runs for the request: the source's own statements, built
    over a table for the model on an engine that never connects."""
    try:
        import sqlalchemy as sa

        from ..backends import sql
    except ModuleNotFoundError as exc:
        raise missing(exc, f"explaining {dialect_name}") from None
    model = checked.schema.model
    engine = sa.create_mock_engine(f"{dialect_name}://", executor=lambda *args, **kwargs: None)
    dialect = sql.dialect_for(engine)
    table = sql.table_for_model(model, sa.MetaData(), sql.default_table_name(model), dialect)
    source = sql.SQLSource(engine, table, model)  # type: ignore[arg-type]
    statements = source.statements(checked.where, checked.order)
    # Named placeholders (:name), so text and parameters read side by side.
    named: Any = type(engine.dialect)(paramstyle="named")  # type: ignore[call-arg]
    page_values = {"crudql_limit": checked.request.page_size, "crudql_offset": checked.request.offset}
    lines = []
    for title, statement in (
        ("page query", statements.page),
        ("count query (when the page does not show the total)", statements.count),
    ):
        compiled = statement.compile(dialect=named)
        text = str(compiled)
        lines.append(f"{title}:")
        lines.extend("  " + line.rstrip() for line in text.splitlines())
        values = {**compiled.params, **{k: v for k, v in page_values.items() if k in compiled.params}}
        bound = {name: value for name, value in values.items() if re.search(rf":{name}\b", text)}
        if bound:
            lines.append("  parameters:")
            lines.extend(f"    {name} = {_param(value)}" for name, value in bound.items())
    return lines


def _param(value: Any) -> str:
    if isinstance(value, Now):
        return f"{value}, the instant it stands for when the request runs"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _explain_mongo(checked: Checked) -> list[str]:
    try:
        from ..backends import mongo
    except ModuleNotFoundError as exc:
        raise missing(exc, "explaining mongo") from None
    text = mongo.explain_json(checked.where, checked.order)
    return [
        "find (MongoDB Extended JSON):",
        *("  " + line for line in text.splitlines()),
        f"skip {checked.request.offset}, limit {checked.request.page_size}; count_documents with the same filter",
    ]


_EXPLAINERS: dict[str, tuple[str, Callable[[Checked], list[str]]]] = {
    "python": ("Python (crudql.sources.InMemory)", _explain_python),
    "sqlite": ("SQLite (crudql.sources.SQL)", lambda c: _explain_sql(c, "sqlite")),
    "postgresql": ("PostgreSQL (crudql.sources.SQL)", lambda c: _explain_sql(c, "postgresql")),
    "mongo": ("MongoDB (crudql.sources.Mongo)", _explain_mongo),
}
EXPLAIN_BACKENDS = tuple(_EXPLAINERS)


def cmd_explain(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    checked = check(args, stdin)
    chosen = args.backend or list(EXPLAIN_BACKENDS)
    print(f"request: {json.dumps(checked.request.model_dump(), ensure_ascii=False)}", file=out)
    print(f"filter:  {to_lisp(checked.where) or '(none)'}", file=out)
    print(f"sort:    {sort_to_simple(checked.order)}", file=out)
    for name in dict.fromkeys(chosen):
        title, explain = _EXPLAINERS[name]
        print(f"\n== {title}", file=out)
        try:
            lines = explain(checked)
        except CLIError as exc:
            if args.backend:  # asked for by name: its absence is an error
                raise
            lines = [f"(not available: {exc})"]
        for line in lines:
            print(line, file=out)
    return 0
