"""`crudql serve`: the reference endpoint `GET /org/{orgId}/contact/query` over HTTP with
uvicorn, plus `/docs` (OpenAPI), `/health` and the playground at `/`.

The database is prepared here, once, before uvicorn starts (the embedded sample database is
created on first start; a `--database-url` table is created and filled when missing); each
worker process then imports `crudql.integrations.server:app_from_env`, which opens it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from .common import CLIError, missing

__all__ = ["add_serve_arguments", "cmd_serve"]


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1)")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the embedded sample database lives (default $XDG_CACHE_HOME/crudql, i.e. ~/.cache/crudql)",
    )
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="serve this database instead (postgresql+psycopg://..., mysql+pymysql://..., sqlite:///file.db); "
        "its contact table is used as it is, or created and filled with the sample when missing",
    )
    p.add_argument(
        "--sample-size", type=int, default=10_000, metavar="N", help="sample contacts in a new database (default 10000)"
    )
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))


def cmd_serve(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    if args.sample_size < 0:
        raise CLIError("--sample-size must be >= 0")
    if args.workers < 1:
        raise CLIError("--workers must be >= 1")
    if not 0 <= args.port <= 65535:
        raise CLIError("--port must be between 0 and 65535")
    try:
        import sqlalchemy as sa
        import uvicorn

        from ..integrations import server
    except ModuleNotFoundError as exc:
        raise missing(exc, "crudql serve") from None
    data_dir = Path(args.data_dir) if args.data_dir else None
    try:
        url = server.prepare_database(args.database_url, data_dir, args.sample_size)
    except ModuleNotFoundError as exc:  # the URL's driver (psycopg, pymysql, ...)
        raise missing(exc, "--database-url") from None
    except sa.exc.ArgumentError as exc:
        raise CLIError(f"--database-url: {exc}") from None
    except sa.exc.OperationalError as exc:
        raise CLIError(f"cannot open the database: {str(exc.orig).strip()}") from None
    except (ValueError, OSError) as exc:  # an engine crudql has no dialect for, an unwritable --data-dir
        raise CLIError(str(exc)) from None
    os.environ[server.ENV_DATABASE_URL] = url
    os.environ[server.ENV_SAMPLE_SIZE] = str(args.sample_size)
    shown = sa.make_url(url).render_as_string(hide_password=True)
    base = f"http://{args.host}:{args.port}"
    print(f"crudql serve: {base}/ (playground), {base}/docs, {base}{server.QUERY_PATH}", file=out)
    print(f"crudql serve: database {shown}", file=out, flush=True)
    uvicorn.run(
        "crudql.integrations.server:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0
