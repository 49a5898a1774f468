"""The `crudql` command: parse a filter, run a request, or show what each backend would run.

    crudql parse -q '(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 10))'
    crudql query -q '(= info.partner "AWS")' -s '-creation_time' --page-size 5
    crudql query --data contacts.jsonl --backend memory -q '(has tags "vip")'
    crudql explain -q '(ilike name "%an%")' -s name

`--page-size --page-number --qs -q --ss -s` are the HTTP parameters of the endpoint. `query`
runs over the embedded default (an in-memory SQLite database holding `--sample-size` sample
contacts) unless `--data`, `--backend` or `--database-url` say otherwise.

Exit status: 0 on success; 2 for a client error (a bad query or parameter, unreadable data,
a missing optional dependency), with the error and its caret on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, Sequence, TextIO

from pydantic import BaseModel

from .ast import And, Expr, ListValue, Not, Or, Predicate, Quantified
from .errors import QueryError
from .parse import parse_filter
from .printer import format_literal, sort_to_simple, to_json, to_lisp
from .request import PageRequest, effective_sort, run_query
from .schema import Schema
from .sort import SortKey, parse_sort

__all__ = ["main", "CLIError"]

BACKENDS = ("memory", "sqlite", "mongo")
EXPLAIN_BACKENDS = ("python", "sqlite", "postgresql", "mongo")
# What to install for each optional backend (the extras of pyproject.toml).
INSTALL_HINTS = {
    "sqlalchemy": "pip install 'crudql[sql]'",
    "psycopg": "pip install 'crudql[postgres]'",
    "pymongo": "pip install 'crudql[mongo]'",
    "bson": "pip install 'crudql[mongo]'",
    "mongomock": "pip install mongomock",
}


class CLIError(Exception):
    """A user error the command reports in one line (exit status 2)."""


def _missing(exc: ModuleNotFoundError, what: str) -> CLIError:
    module = (exc.name or "").split(".")[0]
    hint = INSTALL_HINTS.get(module, f"pip install {module}" if module else "install it")
    return CLIError(f"{what} needs the optional dependency '{module}': {hint}")


# ---------------------------------------------------------------------------- arguments


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crudql",
        description="Parse, run and explain crudql queries (lisp or JSON filters, sorts, pages).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-q", dest="q", metavar="FILTER", help="filter expression ('-' reads stdin); none = match all")
        p.add_argument("--qs", default="lisp", metavar="STYLE", help="filter style: lisp (default) or json")
        p.add_argument("-s", dest="s", metavar="SORT", help="sort expression, e.g. '-creation_time,name'")
        p.add_argument("--ss", default="simple", metavar="STYLE", help="sort style: simple (default) or json")
        p.add_argument(
            "--model",
            default="Contact",
            help="pydantic model: a name in crudql.models (default Contact) or module:Class",
        )

    def paging(p: argparse.ArgumentParser) -> None:
        # Strings, validated by PageRequest, so the messages are the endpoint's own.
        p.add_argument("--page-size", default="20", metavar="N", help="items per page, 1..1000 (default 20)")
        p.add_argument("--page-number", default="1", metavar="N", help="1-based page number (default 1)")

    p_parse = commands.add_parser("parse", help="print the checked AST, canonical lisp and canonical JSON")
    common(p_parse)
    p_parse.add_argument("query", nargs="?", help="the filter (alternative to -q)")

    p_query = commands.add_parser("query", help="run a request and print the page as JSON")
    common(p_query)
    paging(p_query)
    p_query.add_argument("--data", metavar="FILE", help="records: a JSON array or JSON Lines file ('-' reads stdin)")
    p_query.add_argument(
        "--backend",
        choices=BACKENDS,
        help="memory (Python), sqlite (in-memory SQLite, the default) or mongo (mongomock)",
    )
    p_query.add_argument(
        "--database-url",
        metavar="URL",
        help="a database to query instead: a SQLAlchemy URL (postgresql+psycopg://..., sqlite:///file.db) "
        "or mongodb://...; its table/collection is loaded from --data or the sample when it does not exist",
    )
    p_query.add_argument("--table", default="contacts", help="table or collection name (default contacts)")
    p_query.add_argument("--replace", action="store_true", help="with --database-url and --data: replace the table")
    p_query.add_argument("--sample-size", type=int, default=1000, metavar="N", help="sample records (default 1000)")
    p_query.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    p_query.add_argument("--compact", action="store_true", help="print the page on one line")

    p_explain = commands.add_parser("explain", help="show what each backend would run for a request")
    common(p_explain)
    paging(p_explain)
    p_explain.add_argument(
        "--backend",
        action="append",
        choices=EXPLAIN_BACKENDS,
        help="explain only these backends (repeatable; default: every available one)",
    )
    return parser


# ---------------------------------------------------------------------------- shared helpers


def _load_model(spec: str) -> type[BaseModel]:
    module_name, _, name = spec.rpartition(":")
    try:
        module = importlib.import_module(module_name or "crudql.models")
    except ImportError as exc:
        raise CLIError(f"--model {spec}: cannot import {module_name}: {exc}") from None
    model = getattr(module, name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        where = module_name or "crudql.models"
        raise CLIError(f"--model {spec}: {where} has no pydantic model named {name!r}")
    return model


def _text(value: str | None, stdin: TextIO) -> str | None:
    return stdin.read() if value == "-" else value


def _request(args: argparse.Namespace, stdin: TextIO) -> PageRequest:
    return PageRequest(
        page_size=getattr(args, "page_size", "20"),
        page_number=getattr(args, "page_number", "1"),
        qs=args.qs,
        q=_text(args.q, stdin),
        ss=args.ss,
        s=args.s,
    )


@dataclass
class _Checked:
    request: PageRequest
    schema: Schema
    where: Expr | None
    order: list[SortKey]  # the effective sort: id appended


def _check(args: argparse.Namespace, stdin: TextIO) -> _Checked:
    model = _load_model(args.model)
    schema = Schema.from_model(model)
    request = _request(args, stdin)
    where = parse_filter(request.q, request.qs, schema)
    order = effective_sort(parse_sort(request.s, request.ss, schema), schema)
    return _Checked(request, schema, where, order)


# ---------------------------------------------------------------------------- parse


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


def _cmd_parse(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    if args.query is not None and args.q is not None:
        raise CLIError("give the filter once: as -q or as the argument")
    if args.q is None:
        args.q = args.query
    checked = _check(args, stdin)
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


# ---------------------------------------------------------------------------- query


def _read_records(path: str, stdin: TextIO) -> list[dict[str, Any]]:
    """A JSON array of objects, or JSON Lines (one object per line, blank lines skipped)."""
    try:
        text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"--data {path}: {exc.strerror or exc}") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CLIError(f"--data {path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    else:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CLIError(f"--data {path}: line {number} is not JSON: {exc.msg}") from None
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise CLIError(f"--data {path}: record {bad} is not a JSON object")
    return records


def _records(args: argparse.Namespace, model: type[BaseModel], stdin: TextIO) -> list[Any]:
    if args.data is not None:
        return _read_records(args.data, stdin)
    from .models import Contact

    if model is not Contact:
        raise CLIError(f"the sample data are Contacts; give --data for {model.__name__}")
    if args.sample_size < 0:
        raise CLIError("--sample-size must be >= 0")
    from . import sample

    return sample.contacts(args.sample_size, seed=args.seed)


def _source(args: argparse.Namespace, model: type[BaseModel], stdin: TextIO) -> Any:
    from . import sources

    if args.database_url:
        if args.backend is not None:
            raise CLIError("give either --backend or --database-url")
        if args.database_url.startswith(("mongodb://", "mongodb+srv://")):
            return _mongo_url_source(args, model, stdin)
        return _sql_url_source(args, model, stdin)
    backend = args.backend or "sqlite"
    records = _records(args, model, stdin)
    if backend == "memory":
        return sources.InMemory(records, model=model)
    if backend == "sqlite":
        try:
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            return sources.SQL.from_records(engine, records, model=model, table_name=args.table)
        except ModuleNotFoundError as exc:
            raise _missing(exc, "the sqlite backend") from None
    try:
        import mongomock

        collection = mongomock.MongoClient()["crudql"][args.table]
        return sources.Mongo.from_records(collection, records, model=model)
    except ModuleNotFoundError as exc:
        raise _missing(exc, "the mongo backend") from None


def _sql_url_source(args: argparse.Namespace, model: type[BaseModel], stdin: TextIO) -> Any:
    try:
        import sqlalchemy as sa

        from . import sources
    except ModuleNotFoundError as exc:
        raise _missing(exc, "--database-url") from None
    try:
        engine = sa.create_engine(args.database_url)
        exists = sa.inspect(engine).has_table(args.table)
    except ModuleNotFoundError as exc:  # the URL's driver (psycopg, ...)
        raise _missing(exc, f"--database-url {engine_name(args.database_url)}") from None
    except sa.exc.ArgumentError as exc:
        raise CLIError(f"--database-url: {exc}") from None
    except sa.exc.OperationalError as exc:
        raise CLIError(f"--database-url: cannot connect: {str(exc.orig).strip()}") from None
    if exists and args.data is None:
        return sources.SQL(engine, args.table, model=model)
    if exists and not args.replace:
        raise CLIError(f"table {args.table!r} exists; add --replace to load --data into it, or drop --data")
    return sources.SQL.from_records(engine, _records(args, model, stdin), model=model, table_name=args.table, replace=True)


def _mongo_url_source(args: argparse.Namespace, model: type[BaseModel], stdin: TextIO) -> Any:
    try:
        import pymongo

        from . import sources
    except ModuleNotFoundError as exc:
        raise _missing(exc, "--database-url mongodb://") from None
    try:
        client: Any = pymongo.MongoClient(args.database_url, serverSelectionTimeoutMS=5000)
        database = client.get_default_database(default="crudql")
        exists = args.table in database.list_collection_names()
    except pymongo.errors.PyMongoError as exc:
        raise CLIError(f"--database-url: {exc}") from None
    if exists and args.data is None:
        return sources.Mongo(database[args.table], model=model)
    if exists and not args.replace:
        raise CLIError(f"collection {args.table!r} exists; add --replace to load --data into it, or drop --data")
    database.drop_collection(args.table)
    return sources.Mongo.from_records(database[args.table], _records(args, model, stdin), model=model)


def engine_name(url: str) -> str:
    """The scheme of a database URL, without credentials (for messages)."""
    return url.split(":", 1)[0]


def _cmd_query(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    model = _load_model(args.model)
    request = _request(args, stdin)  # bad parameters fail before any data is loaded
    page = run_query(request, _source(args, model, stdin))
    json.dump(page.to_json_dict(), out, ensure_ascii=False, indent=None if args.compact else 2)
    out.write("\n")
    return 0


# ---------------------------------------------------------------------------- explain


def _explain_python(checked: _Checked) -> list[str]:
    from .backends.python import source_of

    return [
        f"filter: {to_lisp(checked.where) or '(none: every record)'}",
        f"sort:   {_describe_sort(checked.order)} (missing and null sort lowest)",
        f"page:   skip {checked.request.offset}, take {checked.request.page_size}; total = all matches",
        "compiled predicate (values are bound constants _cN, never source text):",
        *("  " + line for line in source_of(checked.where).rstrip().splitlines()),
    ]


def _explain_sql(checked: _Checked, dialect_name: str) -> list[str]:
    try:
        import sqlalchemy as sa

        from .backends import sql
    except ModuleNotFoundError as exc:
        raise _missing(exc, f"explaining {dialect_name}") from None
    if dialect_name == "sqlite":
        from sqlalchemy.dialects import sqlite as dialect_module
    else:
        from sqlalchemy.dialects import postgresql as dialect_module

    model = checked.schema.model
    table = sql.table_for_model(model, sa.MetaData(), "contacts")
    condition = sql.compile_filter(checked.where, table, model, dialect_name)
    page = (
        sa.select(table)
        .where(condition)
        .order_by(*sql.compile_order(checked.order, table, model, dialect_name))
        .limit(sa.bindparam("crudql_limit", checked.request.page_size, type_=sa.BigInteger))
        .offset(sa.bindparam("crudql_offset", checked.request.offset, type_=sa.BigInteger))
    )
    count = sa.select(sa.func.count()).select_from(table).where(condition)
    # Named placeholders (:name) in both dialects, so text and parameters read side by side.
    dialect = dialect_module.dialect(paramstyle="named")
    lines = []
    for title, statement in (("page query", page), ("count query (when the page does not show the total)", count)):
        # render_postcompile writes the "literal execute" values in: JSON paths and type names
        # from the schema, never client text (client values stay bound, listed below).
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        text = str(compiled)
        lines.append(f"{title}:")
        lines.extend("  " + line.rstrip() for line in text.splitlines())
        bound = {name: value for name, value in compiled.params.items() if re.search(rf":{name}\b", text)}
        if bound:
            lines.append("  parameters:")
            lines.extend(f"    {name} = {_param(value)}" for name, value in bound.items())
    return lines


def _param(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _explain_mongo(checked: _Checked) -> list[str]:
    try:
        from .backends import mongo
    except ModuleNotFoundError as exc:
        raise _missing(exc, "explaining mongo") from None
    text = mongo.explain_json(checked.where, checked.order)
    return [
        "find (MongoDB Extended JSON):",
        *("  " + line for line in text.splitlines()),
        f"skip {checked.request.offset}, limit {checked.request.page_size}; count_documents with the same filter",
    ]


_EXPLAINERS: dict[str, tuple[str, Callable[[_Checked], list[str]]]] = {
    "python": ("Python (crudql.sources.InMemory)", _explain_python),
    "sqlite": ("SQLite (crudql.sources.SQL)", lambda c: _explain_sql(c, "sqlite")),
    "postgresql": ("PostgreSQL (crudql.sources.SQL)", lambda c: _explain_sql(c, "postgresql")),
    "mongo": ("MongoDB (crudql.sources.Mongo)", _explain_mongo),
}


def _cmd_explain(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    checked = _check(args, stdin)
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


# ---------------------------------------------------------------------------- entry point

_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "parse": _cmd_parse,
    "query": _cmd_query,
    "explain": _cmd_explain,
}


# Options whose values may start with '-': argparse would take `-s -creation_time` for two
# options, so the value is attached first (`-s=-creation_time`), which argparse reads as one.
_DASHED_VALUES = frozenset({"-s", "-q", "--page-size", "--page-number"})


def _attach_values(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            out.append(arg)
            out.extend(args)
            break
        if arg in _DASHED_VALUES:
            value = next(args, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 client error)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(_attach_values(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse has printed it
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        return _COMMANDS[args.command](args, sys.stdout, sys.stdin)
    except QueryError as exc:
        return _fail(f"crudql {args.command}: {exc}")
    except CLIError as exc:
        return _fail(f"crudql {args.command}: {exc}")
    except ModuleNotFoundError as exc:
        return _fail(f"crudql {args.command}: {_missing(exc, 'this command')}")
    except BrokenPipeError:
        # `crudql query | head`: the reader left; stop quietly, as Unix tools do.
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # a stdout without a descriptor (tests)
        pass


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _exit(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(main(argv))


if __name__ == "__main__":
    _exit()
