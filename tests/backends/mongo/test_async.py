"""The Mongo source on an async collection (pymongo's AsyncMongoClient): awaited, same pages.

No MongoDB server runs here, so the async collection is mongomock's behind coroutines, with
the shape of pymongo's async API (`await count_documents`, `find(...).sort().skip().limit()`,
`await cursor.to_list()`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import crudql
from crudql.models import Contact

mongomock = pytest.importorskip("mongomock")


class _AsyncCursor:
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def sort(self, spec: Any) -> _AsyncCursor:
        return _AsyncCursor(self.cursor.sort(spec))

    def skip(self, n: int) -> _AsyncCursor:
        return _AsyncCursor(self.cursor.skip(n))

    def limit(self, n: int) -> _AsyncCursor:
        return _AsyncCursor(self.cursor.limit(n))

    async def to_list(self, length: int | None = None) -> list[Any]:
        return list(self.cursor)


class _AsyncCollection:
    """mongomock behind coroutines; records the time limits it is sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.sent: list[dict[str, Any]] = []

        class _Database:
            async def list_collections(self, filter: dict[str, Any]) -> Any:
                raise NotImplementedError  # like mongomock: no collations

        self.database = _Database()

    async def count_documents(self, query: dict[str, Any], **options: Any) -> int:
        self.sent.append(options)
        return int(self.inner.count_documents(query))

    def find(self, query: dict[str, Any], projection: Any, **options: Any) -> _AsyncCursor:
        self.sent.append(options)
        return _AsyncCursor(self.inner.find(query, projection))


def test_an_async_collection_is_awaited_and_answers_like_a_sync_one() -> None:
    records = crudql.sample.contacts(80, seed=4)
    inner = mongomock.MongoClient().db.contacts
    sync = crudql.sources.Mongo.from_records(inner, records, model=Contact)
    collection = _AsyncCollection(inner)
    source = crudql.sources.Mongo(collection, model=Contact)
    assert source.is_async
    request = crudql.PageRequest(q='(ilike name "%an%")', s="-creation_time", page_size=5, page_number=2)
    got = asyncio.run(crudql.run_query_async(request, source))
    assert got == crudql.run_query(request, sync)
    assert {"maxTimeMS", "max_time_ms"} <= {k for options in collection.sent for k in options}
    with pytest.raises(TypeError, match="run_query_async"):
        crudql.run_query(request, source)
