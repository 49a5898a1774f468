"""Differential hypothesis test over a model written the way users write models (`Ticket`):
on generated records (fields missing, null, defaulted; UUIDs in any case; decimals; untyped
values holding objects and arrays) and generated filters (one template per trap, with drawn
literals), sorts and pages, SQLite, PostgreSQL and MongoDB return InMemory's page: the same
records, in the same order, with the same total, and the complement of each filter is exact.

The pools and what they leave out on purpose are in tests/support/ticket_strategies.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crudql
from crudql.ast import Not
from crudql.records import validated
from crudql.request import effective_sort
from crudql.values import UTC
from support.ticket import Ticket
from support.ticket_strategies import filter_texts, sort_texts, tickets

SCHEMA = crudql.Schema.from_model(Ticket)
# The profile's examples (ci 300, dev 40) per backend; each example reloads a few records.
EXAMPLES = settings().max_examples


class _Target:
    """A source on one backend whose records are replaced for each example."""

    def __init__(self, source: Any, reload: Any) -> None:
        self.source = source
        self.reload = reload


def _sql_target(engine: Any) -> Iterator[_Target]:
    import sqlalchemy as sa

    source = crudql.sources.SQL.from_records(engine, [], Ticket, f"diff_{uuid.uuid4().hex[:10]}", timeout=None)

    def reload(records: list[dict[str, Any]]) -> None:
        with engine.begin() as conn:
            conn.execute(source.table.delete())
        source.insert(records)

    yield _Target(source, reload)
    sa.Table(source.table.name, sa.MetaData()).drop(engine, checkfirst=True)


def _mongo_target() -> Iterator[_Target]:
    mongomock = pytest.importorskip("mongomock")
    from crudql.backends.mongo.documents import to_document

    collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]
    source = crudql.sources.Mongo.from_records(collection, [], model=Ticket, timeout=None)

    def reload(records: list[dict[str, Any]]) -> None:
        collection.delete_many({})
        documents = [to_document(r, Ticket) for r in validated(Ticket, records)]
        if documents:
            collection.insert_many(documents)

    yield _Target(source, reload)


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mongo"])
def target(request: pytest.FixtureRequest) -> Iterator[_Target]:
    # Module-scoped, so hypothesis tests may take it (they refuse function-scoped fixtures).
    if request.param == "mongo":
        yield from _mongo_target()
    else:
        yield from _sql_target(request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_engine"))


def _utc(value: Any) -> Any:
    """A dump with every datetime in UTC: stores answer instants in UTC, InMemory as given."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: _utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc(v) for v in value]
    return value


@pytest.mark.slow
@settings(max_examples=EXAMPLES)
@given(records=tickets(), q=filter_texts(), s=sort_texts(), offset=st.integers(0, 4), limit=st.integers(1, 6))
def test_every_backend_answers_as_in_memory(
    target: _Target, records: list[dict[str, Any]], q: str, s: str, offset: int, limit: int
) -> None:
    where = crudql.parse_filter(q, schema=SCHEMA)
    order = effective_sort(crudql.parse_sort(s or None, schema=SCHEMA), SCHEMA)
    target.reload(records)
    memory = crudql.sources.InMemory(records, model=Ticket, timeout=None)
    expected, expected_total = memory.page(where, order, offset, limit)
    got, total = target.source.page(where, order, offset, limit)
    context = f"q={q} s={s}"
    assert [r.id for r in got] == [r.id for r in expected], context
    assert total == expected_total, context
    assert [_utc(r.model_dump()) for r in got] == [_utc(r.model_dump()) for r in expected], context
    assert [r.secret for r in got] == [r.secret for r in expected], context  # hidden, but stored
    if getattr(target.source, "page_lookahead", False):  # again, as run_query asks: a SQL source
        # runs the statements' second run on the DBAPI cursor (backends/sql/execution.py)
        again, again_total = target.source.page(where, order, offset, limit + 1, lookahead=True)
        more = offset + limit < total
        assert again_total == total and again[:limit] == got, context
        assert len(again) == (limit + 1 if more else len(got)) and (bool(again) and again[-1] is None) == more, context
    if where is not None:  # the complement is exact: nothing lost to NULL or to a missing field
        _, negated = target.source.page(Not(where), order, 0, 1)
        assert negated == len(records) - expected_total, context
