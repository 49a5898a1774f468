"""The normalized CRM schema of examples/existing_schema as a test source: contacts, a to-one
metrics table, accounts and opportunities in child tables, industries as a column of a child
table, tags in a PostgreSQL array. One set of tables per engine, reloaded per test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

import crudql
from crudql.backends.sql import SQLSource
from crudql.models import Contact

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "existing_schema"))
import schema

__all__ = ["load", "normalized", "round_trip", "schema"]

_CREATED: set[int] = set()


def load(engine: sa.Engine, records: list[dict[str, Any]]) -> None:
    """Replace the rows of the normalized tables with `records`."""
    if id(engine) not in _CREATED:
        schema.Base.metadata.drop_all(engine)
        schema.Base.metadata.create_all(engine)
        _CREATED.add(id(engine))
    with Session(engine) as session:
        for table in reversed(schema.Base.metadata.sorted_tables):
            session.execute(table.delete())
        session.add_all(schema.rows(records))
        session.commit()


def normalized(engine: Any, **options: Any) -> SQLSource:
    return schema.source(engine, **options)  # type: ignore[no-any-return]


def round_trip(source: SQLSource) -> list[dict[str, Any]]:
    """Every record as the normalized source answers it (what its tables can hold: an absent
    list of related rows reads as [] where the row it hangs from exists)."""
    page = crudql.run_query(crudql.PageRequest(page_size=1000), source)
    assert page.total_count <= 1000
    return [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in page.data]


def memory(records: list[dict[str, Any]]) -> crudql.sources.InMemory:
    return crudql.sources.InMemory(records, model=Contact)
