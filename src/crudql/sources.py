"""Where records come from. A source answers one page of a checked query.

`InMemory` is here; `SQL` and `Mongo` live with their backends (`crudql.backends.sql`,
`crudql.backends.mongo`) and are re-exported lazily, so their drivers stay optional. Every
source takes the records' pydantic model as `model=`: crudql has no default model.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel

from .ast import Expr, SortKey
from .backends.python import compile_scan, records_after, sort_records
from .check.schema import Schema
from .cursor import check_cursor_key
from .records import require_model, validated
from .timeouts import DEFAULT_TIMEOUT, Deadline, check_timeout

if TYPE_CHECKING:
    from .backends.mongo import MongoSource as Mongo
    from .backends.sql import SQLSource as SQL

__all__ = ["SQL", "AsyncSource", "InMemory", "Mongo", "Source", "is_async_source", "page_coroutine"]


@runtime_checkable
class Source(Protocol):
    """What `run_query` needs of a source.

    `page` receives a checked filter (or None for match-all) and the effective sort (the
    `id` tiebreak already appended), and returns up to `limit` items (model instances) from
    `offset` on, and the count of all matches (the position plays no part in it). `offset`
    may lie past the end: the items are then [].

    `after` (a cursor's page): a position in `order`, one value per key (None for missing or
    null; values as `crudql.cursor.sort_values` reads them off an item): the items are then
    the ones after it, and `offset` counts from there (`run_query` passes 0). A source that
    cannot page some sort this way raises `crudql.errors.CursorError`.

    `now`: the instant `(now ...)` values of `where` stand for, the same for the page and the
    count (None: the source reads the clock once).

    Optionally, `cursor_key` (bytes or str, or None): the secret `run_query` signs this
    source's cursors with (docs/api.md, "Cursors").
    """

    model: type[BaseModel]
    schema: Schema

    def page(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> tuple[list[Any], int]: ...


@runtime_checkable
class AsyncSource(Protocol):
    """A source whose `page` is a coroutine function (an async database driver, say): the
    same contract as `Source`, awaited. `crudql.run_query_async` runs a request on it, and
    the FastAPI route awaits it on the event loop instead of using a worker thread. crudql's
    own SQL and Mongo sources over async engines and collections offer `page_async` instead
    (and say so with `is_async`): `page_of_async` finds the coroutine either way."""

    model: type[BaseModel]
    schema: Schema

    async def page(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> tuple[list[Any], int]: ...


def is_async_source(source: object) -> bool:
    """True when the source answers pages with a coroutine: its `page` is a coroutine function
    (an `AsyncSource`), or it reads an async engine or collection (`is_async`, `page_async`)."""
    if getattr(source, "is_async", False) and inspect.iscoroutinefunction(getattr(source, "page_async", None)):
        return True
    return inspect.iscoroutinefunction(getattr(source, "page", None))


def page_coroutine(source: Any) -> Callable[..., Awaitable[tuple[list[Any], int]]]:
    """The coroutine function an async source answers pages with (`is_async_source`)."""
    if getattr(source, "is_async", False) and hasattr(source, "page_async"):
        return source.page_async  # type: ignore[no-any-return]
    return source.page  # type: ignore[no-any-return]


class InMemory:
    """Model instances (or JSON dicts, validated into the model) held in a list.

    `timeout`: seconds a page may take (the scan checks the clock between chunks of records);
    None disables. `queryable`: the field policy mode (`crudql.Schema.from_model`).
    `cursor_key`: the secret that signs this source's cursors (docs/api.md, "Cursors").
    """

    SCAN_CHUNK = 1024  # records between clock checks: a few milliseconds even for heavy filters

    def __init__(
        self,
        items: Iterable[BaseModel | dict[str, Any]],
        model: type[BaseModel] | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        queryable: str = "all",
        cursor_key: bytes | str | None = None,
    ) -> None:
        self.model = require_model(model, "InMemory")
        self.cursor_key = check_cursor_key(cursor_key)
        self.timeout = check_timeout(timeout)
        self.schema = Schema.from_model(self.model, queryable)
        self.items: list[BaseModel] = list(validated(self.model, items))

    def page(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> tuple[list[Any], int]:
        # Items are model instances (validated on the way in): no per-record shape dispatch.
        # One scan function per request: every chunk sees the same `now`.
        scan = compile_scan(where, "model", now=now)
        if self.timeout is None:
            matches = scan(self.items)
        else:
            deadline = Deadline(self.timeout)
            items, chunk = self.items, self.SCAN_CHUNK
            matches = []
            for start in range(0, len(items), chunk):
                matches += scan(items[start : start + chunk])
                deadline.check()
        total = len(matches)
        if after is not None:
            matches = records_after(matches, order, after)
        if offset >= len(matches):
            return [], total
        return sort_records(matches, order, offset + limit)[offset : offset + limit], total


def __getattr__(name: str) -> Any:
    # SQL and Mongo import their drivers; load them only when asked for.
    if name == "SQL":
        from .backends.sql import SQLSource

        return SQLSource
    if name == "Mongo":
        from .backends.mongo import MongoSource

        return MongoSource
    raise AttributeError(f"module 'crudql.sources' has no attribute {name!r}")
