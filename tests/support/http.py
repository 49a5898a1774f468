"""HTTP test helpers: fake sources (slow, failing, async) and a real uvicorn server on a free
loopback port, in a thread of the test process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import crudql
from crudql.ast import Expr, SortKey


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Wrapped:
    """A sync source delegating to `inner`, with a hook run before each page."""

    def __init__(self, inner: Any, before: Callable[[], None] = lambda: None) -> None:
        self.inner, self.before = inner, before
        self.model, self.schema = inner.model, inner.schema
        self.calls = 0

    def page(
        self, where: Expr | None, order: Sequence[SortKey], offset: int, limit: int, *args: Any, **kwargs: Any
    ) -> tuple[list[Any], int]:
        self.calls += 1
        self.before()
        return self.inner.page(where, order, offset, limit, *args, **kwargs)  # type: ignore[no-any-return]


class Failing(Wrapped):
    """Raises the exceptions of `errors`, one per call, then answers like `inner`."""

    def __init__(self, inner: Any, errors: Sequence[BaseException]) -> None:
        self.errors = list(errors)
        super().__init__(inner, self._fail)

    def _fail(self) -> None:
        if self.errors:
            raise self.errors.pop(0)


class Blocking(Wrapped):
    """Every page waits for `release` (a slow query that the test controls, not a timer);
    `running` counts the pages in flight."""

    def __init__(self, inner: Any) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        super().__init__(inner)

    def page(
        self, where: Expr | None, order: Sequence[SortKey], offset: int, limit: int, *args: Any, **kwargs: Any
    ) -> tuple[list[Any], int]:
        with self.lock:
            self.running += 1
        try:
            if not self.release.wait(timeout=30):
                raise TimeoutError("the test never released the slow query")
            return super().page(where, order, offset, limit, *args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


class AsyncWrapped:
    """An async source (`page` is a coroutine function) over a sync one; `gate` (if set)
    holds every page until it is set; `cancelled` counts pages cancelled while waiting."""

    def __init__(self, inner: Any, gate: asyncio.Event | None = None) -> None:
        self.inner, self.gate = inner, gate
        self.model, self.schema = inner.model, inner.schema
        self.cancelled = 0
        self.running = 0

    async def page(
        self, where: Expr | None, order: Sequence[SortKey], offset: int, limit: int, *args: Any, **kwargs: Any
    ) -> tuple[list[Any], int]:
        self.running += 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1
        return self.inner.page(where, order, offset, limit, *args, **kwargs)  # type: ignore[no-any-return]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run `app` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def contacts_source(records: list[dict[str, Any]]) -> Any:
    from crudql.models import Contact

    return crudql.sources.InMemory(records, model=Contact)
