"""`crudql.sources.Mongo`: a pymongo-compatible collection of documents in the model's JSON
(alias) shape, answering `run_query` pages with one `count_documents` and one `find` (for a
cursor's page, with the position as a filter instead of `skip`: `keyset`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ...ast import Expr, SortKey
from ...check.schema import Schema
from ...cursor import check_cursor_key
from ...records import require_model, validated
from ...timeouts import DEFAULT_TIMEOUT, Deadline, check_timeout
from ...values import clock
from .compiler import FilterCompiler, compile_sort, explain
from .documents import codec, from_document, to_document
from .keyset import after_filters
from .logic import MATCH_NONE, all_of, as_filter

__all__ = ["SIMPLE_COLLATION", "MongoSource"]


# MongoDB: a collection may have a default collation (say, case-insensitive English), which
# would change every string comparison and the sort; crudql compares by code point.
SIMPLE_COLLATION: dict[str, str] = {"locale": "simple"}


_MAX_TIME_EXPIRED = 50


def _max_time(deadline: Deadline | None, option: str) -> dict[str, int]:
    """The server-side time limit left for the next operation (at least 1 ms)."""
    if deadline is None:
        return {}
    deadline.check()
    return {option: max(1, int(deadline.remaining() * 1000))}


def _timeout(error: Exception, deadline: Deadline | None) -> Exception:
    # MongoDB: maxTimeMS makes the server stop the operation (ExecutionTimeout, code 50).
    if deadline is not None and getattr(error, "code", None) == _MAX_TIME_EXPIRED:
        return deadline.error()
    return error


def _has_default_collation(collection: Any) -> bool:
    """Whether the collection was created with a non-simple default collation."""
    try:
        infos = list(collection.database.list_collections(filter={"name": collection.name}))
    except Exception:
        return False
    return _collated(infos)


def _collated(infos: list[Any]) -> bool:
    options = infos[0].get("options", {}) if infos else {}
    collation = options.get("collation") if isinstance(options, Mapping) else None
    return isinstance(collation, Mapping) and bool(collation) and collation.get("locale") != "simple"


class MongoSource:
    """A pymongo-compatible collection of documents in the model's JSON (alias) shape.

    `instants="date"` (default) reads and writes datetimes as BSON dates, whose precision is
    one millisecond; `instants="string"` as fixed-width UTC text, exact to the microsecond.
    `simple_collation`: send `collation={"locale": "simple"}` with every query (True), never
    (False), or only when the collection has a default collation of its own (None: asked once).
    `cursor_key`: the secret that signs this source's cursors (docs/api.md, "Cursors").
    """

    def __init__(
        self,
        collection: Any,
        model: type[BaseModel] | None = None,
        *,
        instants: str = "date",
        simple_collation: bool | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        queryable: str = "all",
        cursor_key: bytes | str | None = None,
    ) -> None:
        self.collection = collection
        # pymongo's AsyncCollection: its operations are coroutines.
        self.is_async = inspect.iscoroutinefunction(getattr(collection, "count_documents", None))
        self.cursor_key = check_cursor_key(cursor_key)
        self.model: type[BaseModel] = require_model(model, "Mongo")
        self.timeout = check_timeout(timeout)
        self.schema = Schema.from_model(self.model, queryable)
        self.instants = codec(instants).name
        self.simple_collation = simple_collation

    def __repr__(self) -> str:
        return f"MongoSource({getattr(self.collection, 'full_name', self.collection)!r}, {self.model.__name__})"

    @classmethod
    def from_records(
        cls,
        collection: Any,
        records: Iterable[BaseModel | Mapping[str, Any]],
        model: type[BaseModel] | None = None,
        *,
        instants: str = "date",
        simple_collation: bool | None = None,
        **source_options: Any,
    ) -> MongoSource:
        """Validate the records with the model, store them in `collection`, return the source
        (other keyword arguments go to the source: `timeout`, `queryable`)."""
        source = cls(collection, model, instants=instants, simple_collation=simple_collation, **source_options)
        documents = [
            to_document(record, source.model, instants=source.instants) for record in validated(source.model, records)
        ]
        if documents:
            collection.insert_many(documents)
        if "id" in source.schema.fields:
            # The default sort ends with id; an index lets MongoDB sort without a blocking sort.
            collection.create_index([(source.schema.fields["id"].alias, 1)])
        return source

    def explain(self, where: Expr | None, order: Sequence[SortKey] = ()) -> dict[str, Any]:
        return explain(where, order, instants=self.instants)

    def page(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None = None,
        *,
        now: dt.datetime | None = None,
    ) -> tuple[list[Any], int]:
        """One page and the count of all matches (`crudql.sources.Source`). With `after` (a
        position: one value per key of `order`), the documents after it, by a filter instead
        of `skip` (`crudql.backends.mongo.keyset`). The filter is compiled per request, with
        `now` (default: the clock) resolved in it."""
        if self.is_async:
            raise TypeError("this source reads an async collection: await crudql.run_query_async(request, source)")
        plan = self._plan(where, order, offset, after, now)
        if plan is None:
            return [], 0  # nothing can match: no round trip
        query, segments = plan
        options = self._query_options()
        deadline = None if self.timeout is None else Deadline(self.timeout)
        try:
            total = self.collection.count_documents(query, **options, **_max_time(deadline, "maxTimeMS"))
            if offset >= total or limit <= 0:
                return [], total
            documents: list[Any] = []
            for segment in segments:
                documents += self._cursor(segment, order, offset, limit - len(documents), options, deadline)
                if len(documents) >= limit:
                    break
        except Exception as exc:
            raise _timeout(exc, deadline) from None
        return [from_document(doc, self.model) for doc in documents], total

    async def page_async(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None = None,
        *,
        now: dt.datetime | None = None,
    ) -> tuple[list[Any], int]:
        """`page` on a pymongo async collection (`pymongo.AsyncMongoClient`), or in a worker
        thread for a synchronous one."""
        if not self.is_async:
            return await asyncio.to_thread(lambda: self.page(where, order, offset, limit, after, now=now))
        plan = self._plan(where, order, offset, after, now)
        if plan is None:
            return [], 0
        query, segments = plan
        options = await self._query_options_async()
        deadline = None if self.timeout is None else Deadline(self.timeout)
        try:
            total = await self.collection.count_documents(query, **options, **_max_time(deadline, "maxTimeMS"))
            if offset >= total or limit <= 0:
                return [], total
            documents: list[Any] = []
            for segment in segments:
                wanted = limit - len(documents)
                cursor = self._cursor(segment, order, offset, wanted, options, deadline)
                documents += await cursor.to_list(length=wanted)
                if len(documents) >= limit:
                    break
        except Exception as exc:
            raise _timeout(exc, deadline) from None
        return [from_document(doc, self.model) for doc in documents], total

    def _plan(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        after: Sequence[Any] | None,
        now: dt.datetime | None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The count's filter and the page's filters (a cursor's position as segments of the
        order, in place of skip), or None when nothing can match."""
        compiler = FilterCompiler(self.instants, now=clock() if now is None else now)
        compiled = True if where is None else compiler.visit(where, None)
        if compiled is False:
            return None
        query = as_filter(compiled)
        if after is None:
            return query, [query]
        segments = [as_filter(all_of([compiled, s])) for s in after_filters(compiler, order, after, split=offset == 0)]
        return query, [s for s in segments if s != MATCH_NONE]

    def _cursor(
        self,
        query: dict[str, Any],
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        options: dict[str, Any],
        deadline: Deadline | None,
    ) -> Any:
        cursor = self.collection.find(query, {"_id": False}, **options, **_max_time(deadline, "max_time_ms"))
        spec = compile_sort(order)
        if spec:
            cursor = cursor.sort(spec)
        return (cursor.skip(offset) if offset else cursor).limit(limit)

    def _query_options(self) -> dict[str, Any]:
        if self.simple_collation is None:
            self.simple_collation = _has_default_collation(self.collection)
        return {"collation": SIMPLE_COLLATION} if self.simple_collation else {}

    async def _query_options_async(self) -> dict[str, Any]:
        if self.simple_collation is None:
            try:
                infos = await (
                    await self.collection.database.list_collections(filter={"name": self.collection.name})
                ).to_list()
            except Exception:
                infos = []
            self.simple_collation = _collated(infos)
        return {"collation": SIMPLE_COLLATION} if self.simple_collation else {}
