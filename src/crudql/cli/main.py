"""The `crudql` command: parse a filter, run a request, show what each backend would run, or
serve the endpoint over HTTP.

    crudql parse -q '(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 10))'
    crudql query -q '(= info.partner "AWS")' -s '-creation_time' --page-size 5
    crudql query --data contacts.jsonl --backend memory -q '(has tags "vip")'
    crudql explain -q '(ilike name "%an%")' -s name
    crudql serve --port 8000        # GET /org/{orgId}/contact/query, /docs, the playground at /

`--page-size --page-number --qs -q --ss -s` are the HTTP parameters of the endpoint. `query`
runs over the embedded default (an in-memory SQLite database holding `--sample-size` sample
contacts) unless `--data`, `--backend` or `--database-url` say otherwise.

Exit status: 0 on success; 2 for a client error (a bad query or parameter, unreadable data,
a missing optional dependency), with the error and its caret on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ..errors import QueryError
from .common import CLIError, missing
from .inspect import EXPLAIN_BACKENDS, cmd_explain, cmd_parse
from .query import BACKENDS, cmd_query
from .serve import add_serve_arguments, cmd_serve

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
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
    p_query.add_argument("--table", help="table or collection name (default: the model's name, e.g. contact)")
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

    p_serve = commands.add_parser("serve", help="serve the endpoint, its OpenAPI (/docs) and the playground (/)")
    add_serve_arguments(p_serve)
    return parser


_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "parse": cmd_parse,
    "query": cmd_query,
    "explain": cmd_explain,
    "serve": cmd_serve,
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
    parser = build_parser()
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
        return _fail(f"crudql {args.command}: {missing(exc, 'this command')}")
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
