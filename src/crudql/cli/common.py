"""What every `crudql` command shares: errors, the model, the request, the checked query."""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import TextIO

from pydantic import BaseModel

from ..ast import Expr, SortKey
from ..check.schema import Schema
from ..parse import parse_filter, parse_sort
from ..request import PageRequest, effective_sort

__all__ = ["CLIError", "Checked", "check", "load_model", "missing", "request_of"]

# What to install for each optional backend (the extras of pyproject.toml).
INSTALL_HINTS = {
    "sqlalchemy": "pip install 'crudql[sql]'",
    "psycopg": "pip install 'crudql[postgres]'",
    "pymysql": "pip install 'crudql[mysql]'",
    "pymongo": "pip install 'crudql[mongo]'",
    "bson": "pip install 'crudql[mongo]'",
    "mongomock": "pip install mongomock",
    "fastapi": "pip install 'crudql[http]'",
    "uvicorn": "pip install 'crudql[http]'",
}


class CLIError(Exception):
    """A user error the command reports in one line (exit status 2)."""


def missing(exc: ModuleNotFoundError, what: str) -> CLIError:
    module = (exc.name or "").split(".")[0]
    hint = INSTALL_HINTS.get(module, f"pip install {module}" if module else "install it")
    return CLIError(f"{what} needs the optional dependency '{module}': {hint}")


def load_model(spec: str) -> type[BaseModel]:
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


def request_of(args: argparse.Namespace, stdin: TextIO) -> PageRequest:
    return PageRequest(
        page_size=getattr(args, "page_size", "20"),
        page_number=getattr(args, "page_number", "1"),
        qs=args.qs,
        q=_text(args.q, stdin),
        ss=args.ss,
        s=args.s,
    )


@dataclass
class Checked:
    request: PageRequest
    schema: Schema
    where: Expr | None
    order: list[SortKey]  # the effective sort: id appended


def check(args: argparse.Namespace, stdin: TextIO) -> Checked:
    model = load_model(args.model)
    schema = Schema.from_model(model)
    request = request_of(args, stdin)
    where = parse_filter(request.q, request.qs, schema)
    order = effective_sort(parse_sort(request.s, request.ss, schema), schema)
    return Checked(request, schema, where, order)
