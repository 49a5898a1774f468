"""`crudql query`: run a request over the embedded default (in-memory SQLite with sample
contacts), over records from a file, or over a database URL, and print the page as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from ..records import default_table_name
from ..request import run_query
from .common import CLIError, load_model, missing, request_of

__all__ = ["BACKENDS", "cmd_query", "engine_name"]

BACKENDS = ("memory", "sqlite", "mongo")


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
    from ..models import Contact

    if model is not Contact:
        raise CLIError(f"the sample data are Contacts; give --data for {model.__name__}")
    if args.sample_size < 0:
        raise CLIError("--sample-size must be >= 0")
    from .. import sample

    return sample.contacts(args.sample_size, seed=args.seed)


def _source(args: argparse.Namespace, model: type[BaseModel], stdin: TextIO) -> Any:
    from .. import sources

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
            raise missing(exc, "the sqlite backend") from None
    try:
        import mongomock

        collection: Any = mongomock.MongoClient()["crudql"][args.table]
        return sources.Mongo.from_records(collection, records, model=model)
    except ModuleNotFoundError as exc:
        raise missing(exc, "the mongo backend") from None


def _sql_url_source(args: argparse.Namespace, model: type[BaseModel], stdin: TextIO) -> Any:
    try:
        import sqlalchemy as sa

        from .. import sources
    except ModuleNotFoundError as exc:
        raise missing(exc, "--database-url") from None
    try:
        engine = sa.create_engine(args.database_url)
        exists = sa.inspect(engine).has_table(args.table)
    except ModuleNotFoundError as exc:  # the URL's driver (psycopg, ...)
        raise missing(exc, f"--database-url {engine_name(args.database_url)}") from None
    except sa.exc.ArgumentError as exc:
        raise CLIError(f"--database-url: {exc}") from None
    except sa.exc.OperationalError as exc:
        raise CLIError(f"--database-url: cannot connect: {str(exc.orig).strip()}") from None
    if exists and args.data is None:
        return sources.SQL(engine, args.table, model=model)
    if exists and not args.replace:
        raise CLIError(f"table {args.table!r} exists; add --replace to load --data into it, or drop --data")
    return sources.SQL.from_records(
        engine, _records(args, model, stdin), model=model, table_name=args.table, replace=True
    )


def _mongo_url_source(args: argparse.Namespace, model: type[BaseModel], stdin: TextIO) -> Any:
    try:
        import pymongo

        from .. import sources
    except ModuleNotFoundError as exc:
        raise missing(exc, "--database-url mongodb://") from None
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


def cmd_query(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    model = load_model(args.model)
    if args.table is None:
        args.table = default_table_name(model)
    request = request_of(args, stdin)  # bad parameters fail before any data is loaded
    page = run_query(request, _source(args, model, stdin))
    json.dump(page.to_json_dict(), out, ensure_ascii=False, indent=None if args.compact else 2)
    out.write("\n")
    return 0
