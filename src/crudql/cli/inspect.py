"""`crudql parse` and `crudql explain`: the checked tree and canonical forms of a request, and
what each backend runs for it (the Python predicate, the SQL statements a SQL source runs, the
MongoDB query)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TextIO

from ..explain import describe_sort, format_parameter, mongo_find, python_source, sql_statements, tree_lines
from ..syntax.printer import sort_to_simple, to_json, to_lisp
from .common import Checked, CLIError, check, missing

__all__ = ["EXPLAIN_BACKENDS", "cmd_explain", "cmd_parse"]


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
        for line in tree_lines(checked.where):
            print(f"  {line}", file=out)
    print(f"lisp: {to_lisp(checked.where)}", file=out)
    print(f"json: {to_json(checked.where)}", file=out)
    print(f"sort: {describe_sort(checked.order)}", file=out)
    return 0


def _explain_python(checked: Checked) -> list[str]:
    return [
        f"filter: {to_lisp(checked.where) or '(none: every record)'}",
        f"sort:   {describe_sort(checked.order)} (missing and null sort lowest)",
        f"page:   skip {checked.request.offset}, take {checked.request.page_size}; total = all matches",
        "compiled predicate (values are bound constants _cN, never source text):",
        *("  " + line for line in python_source(checked.where).rstrip().splitlines()),
    ]


def _explain_sql(checked: Checked, dialect_name: str) -> list[str]:
    """What `crudql.sources.SQL` runs for the request (crudql.explain.sql_statements)."""
    try:
        page, count = sql_statements(
            checked.schema.model,
            checked.where,
            checked.order,
            dialect_name,
            offset=checked.request.offset,
            limit=checked.request.page_size,
        )
    except ModuleNotFoundError as exc:
        raise missing(exc, f"explaining {dialect_name}") from None
    lines = []
    for title, statement in (("page query", page), ("count query (when the page does not show the total)", count)):
        lines.append(f"{title}:")
        lines.extend("  " + line for line in statement.text.splitlines())
        if statement.parameters:
            lines.append("  parameters:")
            lines.extend(f"    {name} = {format_parameter(value)}" for name, value in statement.parameters.items())
    return lines


def _explain_mongo(checked: Checked) -> list[str]:
    try:
        text = mongo_find(checked.where, checked.order)
    except ModuleNotFoundError as exc:
        raise missing(exc, "explaining mongo") from None
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
