"""Fixtures of the SQL backend tests: every test that takes `engine` (or a source built on it)
runs once on SQLite and once on PostgreSQL.

PostgreSQL tests read the DSN from CRUDQL_TEST_POSTGRES_DSN (for example
postgresql+psycopg://postgres@127.0.0.1:5432/test) and skip without it. Each session works in
its own freshly created schema, dropped at the end, so parallel runs do not collide (see
tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from crudql.backends.sql import SQLSource
from crudql.models import Contact
from support.conformance import FIXTURE
from support.sql import ENGINES, table_name


@pytest.fixture(scope="session", params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> sa.Engine:
    # Session-scoped, so hypothesis tests may take it too (they refuse function-scoped fixtures).
    return request.getfixturevalue(ENGINES[request.param])  # type: ignore[no-any-return]


@pytest.fixture
def make_source(engine: sa.Engine) -> Iterator[Any]:
    """Build sources on the current engine; their tables are dropped afterwards."""
    made: list[SQLSource] = []

    def make(records: list[Any], model: type[BaseModel] = Contact, **kw: Any) -> SQLSource:
        source = SQLSource.from_records(engine, records, model, table_name=table_name(), **kw)
        made.append(source)
        return source

    yield make
    for source in made:
        source.table.drop(engine)


@pytest.fixture
def fixture_source(make_source: Any) -> SQLSource:
    return make_source(FIXTURE)  # type: ignore[no-any-return]
