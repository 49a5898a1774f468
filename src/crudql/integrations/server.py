"""The app `crudql serve` runs: the reference endpoint `GET /org/{orgId}/contact/query` over
the embedded default or a database URL, `/health`, `/docs`, and the playground at `/`.

The embedded default is a SQLite file of sample contacts (`crudql.sample`) in a data
directory, written on first start to a temporary name and renamed into place, so an
interrupted or concurrent first start never leaves a half-filled database behind. With a
database URL, an existing `contact` table is used as it is; a missing one is created and
filled with the sample. `prepare_database` does that once, before uvicorn starts its workers;
each worker then builds its app with `create_app` (or `app_from_env`, the uvicorn factory).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from .. import __version__
from ..records import default_table_name
from .fastapi import add_health_route, add_query_route
from .playground import add_playground

__all__ = [
    "DEFAULT_SAMPLE_SIZE",
    "ENV_DATABASE_URL",
    "QUERY_PATH",
    "app_from_env",
    "create_app",
    "default_data_dir",
    "open_source",
    "prepare_database",
    "sample_database",
]

QUERY_PATH = "/org/{orgId}/contact/query"
DEFAULT_SAMPLE_SIZE = 10_000
# How `crudql serve` hands its database to uvicorn's workers (each imports `app_from_env`).
ENV_DATABASE_URL = "CRUDQL_DATABASE_URL"
ENV_SAMPLE_SIZE = "CRUDQL_SAMPLE_SIZE"

DESCRIPTION = (
    "Query contacts with advanced filtering, sorting, and pagination using CRUD query language. "
    "Supports complex filters, sorting by multiple fields, and pagination."
)


def default_data_dir() -> Path:
    """`$XDG_CACHE_HOME/crudql` (`~/.cache/crudql`): the sample database can always be made
    again, so it is cache, and it stays out of the current directory."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crudql"


def _contact_model() -> Any:
    from ..models import Contact

    return Contact


def _sample(n: int, seed: int = 0) -> list[dict[str, Any]]:
    from .. import sample

    return sample.contacts(n, seed=seed)


def sample_database(data_dir: Path, sample_size: int = DEFAULT_SAMPLE_SIZE) -> str:
    """The URL of the embedded default: `data_dir/contacts-<n>.sqlite3`, created and filled
    with `sample_size` sample contacts when missing."""
    from ..sources import SQL

    path = Path(data_dir).expanduser().resolve() / f"contacts-{sample_size}.sqlite3"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        engine = sa.create_engine(f"sqlite:///{partial}")
        try:
            SQL.from_records(engine, _sample(sample_size), model=_contact_model(), replace=True)
        finally:
            engine.dispose()
        os.replace(partial, path)  # atomic: readers see no file or a full one
    return f"sqlite:///{path}"


def prepare_database(database_url: str | None, data_dir: Path | None, sample_size: int) -> str:
    """The database `crudql serve` will query, made ready: the embedded default (created on
    first start) or `database_url` with its contact table (created and filled if missing)."""
    if database_url is None:
        return sample_database(data_dir or default_data_dir(), sample_size)
    engine = sa.create_engine(database_url)
    try:
        open_source(engine, sample_size)
    finally:
        engine.dispose()
    return database_url


def open_source(engine: sa.Engine, sample_size: int = DEFAULT_SAMPLE_SIZE) -> Any:
    """The `crudql.sources.SQL` of the engine's contact table, created and filled with the
    sample if it does not exist (an existing table is used as it is)."""
    from ..sources import SQL

    model = _contact_model()
    table = default_table_name(model)
    if sa.inspect(engine).has_table(table):
        return SQL(engine, table, model=model)
    return SQL.from_records(engine, _sample(sample_size), model=model, table_name=table)


def create_app(database_url: str | None = None, *, sample_size: int = DEFAULT_SAMPLE_SIZE) -> FastAPI:
    """The service over `database_url` (default: the embedded sample database in
    `default_data_dir()`)."""
    url = database_url or sample_database(default_data_dir(), sample_size)
    engine = sa.create_engine(url)
    source = open_source(engine, sample_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="crudql",
        version=__version__,
        description="The reference contact query endpoint, served by crudql. The playground is at `/`.",
        lifespan=lifespan,
    )
    add_query_route(
        app,
        QUERY_PATH,
        source,
        scope_field="organization_id",
        name="query_contacts",
        summary="query contacts",
        description=DESCRIPTION,
    )
    add_health_route(app, source)
    add_playground(app, source, QUERY_PATH, scope_field="organization_id", scope_default=_first_organization(source))
    return app


def _first_organization(source: Any) -> str:
    """An organization that has contacts, for the playground's first view."""
    items, _ = source.page(None, [], 0, 1)
    return str(getattr(items[0], "organization_id", None) or "") if items else ""


def app_from_env() -> FastAPI:
    """The uvicorn factory `crudql serve` names: the app over `$CRUDQL_DATABASE_URL`."""
    return create_app(
        os.environ.get(ENV_DATABASE_URL) or None,
        sample_size=int(os.environ.get(ENV_SAMPLE_SIZE) or DEFAULT_SAMPLE_SIZE),
    )
