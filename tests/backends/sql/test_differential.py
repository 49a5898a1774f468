"""Differential hypothesis tests: on generated contacts, filters, sorts and pages, the SQL
backend returns the Python backend's page (same records, same order, same total) on every
engine, and the complement of each filter is exact."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import crudql
from crudql.ast import Not
from crudql.backends.sql import SQLSource
from crudql.models import Contact
from crudql.request import effective_sort
from crudql.sources import InMemory
from support.sql import shared
from support.strategies import SCHEMA, contacts, filters, sorts

# Twice the profile's examples: ci (300) runs 600 per engine, dev (40) runs 80.
DIFFERENTIAL_EXAMPLES = settings().max_examples * 2


def _load(source: SQLSource, records: list[dict[str, Any]]) -> None:
    with source.bind.begin() as conn:  # type: ignore[union-attr]
        conn.execute(source.table.delete())
    source.insert(records)


def _differential(source: SQLSource, records: list[dict[str, Any]], where: Any, keys: Any, offset: int, limit: int) -> None:
    _load(source, records)
    order = effective_sort(keys, SCHEMA)
    expected, expected_total = InMemory(records, model=Contact).page(where, order, offset, limit)
    got, total = source.page(where, order, offset, limit)
    context = f"q={crudql.to_lisp(where) if where else None} s={[(k.field, k.descending) for k in keys]}"
    assert [r.id for r in got] == [r.id for r in expected], context
    assert total == expected_total, context
    for a, b in zip(got, expected):  # the records themselves round-trip (top-level null = absent)
        assert a.model_dump(mode="json", exclude_none=True) == b.model_dump(mode="json", exclude_none=True)
    _again_as_run_query_asks(source, where, order, offset, limit, got, total, context)
    if where is not None:  # and the complement is exact: no row is lost to UNKNOWN
        _, negated_total = source.page(Not(where), order, 0, 1)
        assert negated_total == len(records) - expected_total, context


def _again_as_run_query_asks(
    source: SQLSource, where: Any, order: Any, offset: int, limit: int, got: list[Any], total: int, context: str
) -> None:
    """The same page again, as `run_query` asks for it (one item more, which only shows that more
    follow): the statements' second run, which goes to the DBAPI cursor (`execution`)."""
    again, again_total = source.page(where, order, offset, limit + 1, lookahead=True)
    more = offset + limit < total
    assert again_total == total and again[:limit] == got, context
    assert len(again) == (limit + 1 if more else len(got)) and (bool(again) and again[-1] is None) == more, context


@pytest.mark.slow
@settings(max_examples=DIFFERENTIAL_EXAMPLES)
@given(records=contacts(), where=st.none() | filters(), keys=sorts(), offset=st.integers(0, 6), limit=st.integers(1, 8))
def test_differential(engine: sa.Engine, records: Any, where: Any, keys: Any, offset: int, limit: int) -> None:
    _differential(shared(engine), records, where, keys, offset, limit)
