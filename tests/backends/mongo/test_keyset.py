"""Keyset pages in MongoDB (`crudql.backends.mongo.keyset`): the position as filters, never
`skip`, and the filters themselves. (The walk on montydb is in test_mongo.py, which owns the
process's one montydb client.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import crudql
from crudql.backends.mongo import FilterCompiler
from crudql.backends.mongo.keyset import after_filters
from crudql.models import Contact
from crudql.request import PageRequest, effective_sort, run_query
from support.strategies import SCHEMA

mongomock = pytest.importorskip("mongomock")

RECORDS = [
    {"id": f"m{i:02d}", **({} if i % 5 == 0 else {"creationTime": f"2024-01-{1 + i % 4:02d}T00:00:00.123Z"}), "name": "ab"[i % 2]}
    for i in range(17)
]


def _order(text: str) -> list[crudql.SortKey]:
    return effective_sort(crudql.parse_sort(text, schema=SCHEMA), SCHEMA)


class Recording:
    """A collection that records the filters `find` gets and whether `skip` is called."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.finds: list[Any] = []
        self.skips: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def find(self, *args: Any, **kwargs: Any) -> Any:
        self.finds.append(args[0])
        cursor = self._collection.find(*args, **kwargs)
        original = cursor.skip

        def skip(n: int) -> Any:
            self.skips.append(n)
            return original(n)

        cursor.skip = skip
        return cursor


def test_cursor_pages_never_skip() -> None:
    collection = Recording(mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"])
    source = crudql.sources.Mongo.from_records(collection, RECORDS, model=Contact)
    ids, cursor = [], None
    while True:
        page = run_query(PageRequest(page_size=3, s="-creation_time,name", cursor=cursor), source)
        ids += [c.id for c in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
    offset = run_query(PageRequest(page_size=100, s="-creation_time,name"), source)
    assert ids == [c.id for c in offset.data]
    assert collection.skips == []


def test_the_filters() -> None:
    compiler = FilterCompiler()
    by_name = after_filters(compiler, _order("name"), ("b", "x1"))
    assert by_name == [
        {
            "$and": [
                {"name": {"$gte": "b"}},
                {"$or": [{"name": {"$gt": "b"}}, {"$and": [{"name": {"$eq": "b"}}, {"id": {"$gt": "x1"}}]}]},
            ]
        }
    ]
    # Descending from a value: the rest of the values, then the nulls (two segments).
    values, nulls = after_filters(compiler, _order("-name"), ("b", "x1"))
    assert values == {
        "$and": [
            {"name": {"$lte": "b"}},
            {"$or": [{"name": {"$lt": "b"}}, {"$and": [{"name": {"$eq": "b"}}, {"id": {"$gt": "x1"}}]}]},
        ]
    }
    assert nulls == {"$nor": [{"name": {"$exists": True, "$ne": None}}]}
    # Ascending from a null: the rest of the nulls, then the values.
    nulls, values = after_filters(compiler, _order("name"), (None, "x1"))
    assert nulls == {"$and": [{"$nor": [{"name": {"$exists": True, "$ne": None}}]}, {"id": {"$gt": "x1"}}]}
    assert values == {"name": {"$exists": True, "$ne": None}}
    # Descending from a null: only nulls follow.
    (rest,) = after_filters(compiler, _order("-name"), (None, "x1"))
    assert rest == {"$and": [{"$nor": [{"name": {"$exists": True, "$ne": None}}]}, {"id": {"$gt": "x1"}}]}
