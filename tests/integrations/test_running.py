"""How the route runs requests, on a real uvicorn server: slow queries do not stall other
requests (docs/spec/SERVICE.md §5: a cheap request answers in under 300 ms while eight slow
queries run), a client that leaves cancels its async query, errors keep the connection
alive; and a database that goes away is a 503 until it comes back, without a restart."""

from __future__ import annotations

import asyncio
import http.client
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

fastapi = pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import crudql  # noqa: E402
from crudql.integrations.fastapi import add_health_route, add_query_route  # noqa: E402
from crudql.models import Contact  # noqa: E402
from support.http import AsyncWrapped, Blocking, Failing, contacts_source, free_port, serving, wait_until  # noqa: E402

RECORDS = [{"id": f"c{i}", "organizationID": "org-1", "name": f"n{i}"} for i in range(30)]
SLOW = 8


class AsyncBlocking(AsyncWrapped):
    """An async source whose pages wait (without a thread) until `release` is set."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.release = threading.Event()

    async def page(self, *args: Any) -> tuple[list[Any], int]:
        self.running += 1
        try:
            while not self.release.is_set():
                await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1
        return self.inner.page(*args)  # type: ignore[no-any-return]


def _app(slow: Any) -> Any:
    app = fastapi.FastAPI()
    add_query_route(app, "/slow/{orgId}/query", slow, scope_field="organization_id", name="slow")
    add_query_route(app, "/org/{orgId}/query", contacts_source(RECORDS), scope_field="organization_id")
    add_health_route(app)
    return app


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_cheap_request_answers_while_eight_slow_queries_run(kind: str) -> None:
    slow = Blocking(contacts_source(RECORDS)) if kind == "sync" else AsyncBlocking(contacts_source(RECORDS))
    with serving(_app(slow)) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/org/org-1/query").status_code == 200  # warm
        answers: list[int] = []

        def slow_request() -> None:
            with httpx.Client(base_url=base, timeout=30) as own:
                answers.append(own.get("/slow/org-1/query", params={"q": "(exists name)"}).status_code)

        threads = [threading.Thread(target=slow_request) for _ in range(SLOW)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: slow.running == SLOW)
            started = time.perf_counter()
            cheap = client.get("/org/org-1/query", params={"q": '(= name "n3")'})
            elapsed = time.perf_counter() - started
            health = client.get("/health")
            # The slow queries are still held: the cheap ones were not queued behind them.
            assert slow.running == SLOW and answers == []
        finally:
            slow.release.set()
            for t in threads:
                t.join(timeout=30)
        assert cheap.status_code == 200 and [d["id"] for d in cheap.json()["data"]] == ["c3"]
        assert health.json() == {"status": "ok"}
        assert elapsed < 0.3, f"a cheap request took {elapsed * 1000:.0f} ms while {SLOW} slow queries ran"
        assert answers == [200] * SLOW


def test_a_client_that_leaves_cancels_its_async_query() -> None:
    slow = AsyncBlocking(contacts_source(RECORDS))
    with serving(_app(slow)) as base:
        port = int(base.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/slow/org-1/query")
        wait_until(lambda: slow.running == 1)
        conn.close()  # the client gives up
        wait_until(lambda: slow.cancelled == 1 and slow.running == 0)
        slow.release.set()
        assert httpx.get(base + "/slow/org-1/query").status_code == 200


def test_errors_keep_the_connection_alive() -> None:
    source = Failing(contacts_source(RECORDS), [RuntimeError("bug"), ConnectionRefusedError(), crudql.QueryTimeoutError("slow")])
    app = fastapi.FastAPI()
    add_query_route(app, "/org/{orgId}/query", source, scope_field="organization_id")
    with serving(app) as base:
        conn = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=10)
        statuses, sockets = [], set()
        for target in ["/org/org-1/query"] * 3 + ["/org/org-1/query?q=(", "/org/org-1/query?q=1&q=2", "/org/org-1/query"]:
            conn.request("GET", target)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            assert (response.getheader("connection") or "").lower() != "close"
            sockets.add(id(conn.sock))
        conn.close()
        assert statuses == [500, 503, 503, 400, 400, 200]
        assert len(sockets) == 1  # one connection served them all


# ---------------------------------------------------------------------------- a database that goes away


def test_a_sqlite_file_that_disappears_is_a_503_until_it_is_back(tmp_path: Path) -> None:
    sa = pytest.importorskip("sqlalchemy")
    path = tmp_path / "contacts.db"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)  # a new connection per page
    source = crudql.sources.SQL.from_records(engine, RECORDS, model=Contact)
    app = fastapi.FastAPI()
    add_query_route(app, "/org/{orgId}/query", source, scope_field="organization_id")
    add_health_route(app, source)
    client = TestClient(app)
    assert client.get("/org/org-1/query").json()["total_count"] == 30

    os.replace(path, tmp_path / "moved.db")  # the next connection finds an empty database
    for target in ("/org/org-1/query", "/health"):
        response = client.get(target)
        assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert client.get("/org/org-1/query").json() == "the database is unavailable; try again later"

    os.replace(tmp_path / "moved.db", path)
    assert client.get("/org/org-1/query").json()["total_count"] == 30
    assert client.get("/health").json() == {"status": "ok"}


def test_a_database_server_that_refuses_connections_is_a_503() -> None:
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    from crudql.backends.sql import default_table_name, dialect_for, table_for_model

    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test", connect_args={"connect_timeout": 3})
    table = table_for_model(Contact, sa.MetaData(), default_table_name(Contact), dialect_for(engine))
    app = fastapi.FastAPI()
    add_query_route(app, "/org/{orgId}/query", crudql.sources.SQL(engine, table, model=Contact), scope_field="organization_id")
    response = TestClient(app).get("/org/org-1/query")
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert "127.0.0.1" not in response.text and "postgres" not in response.text
    engine.dispose()


def test_a_query_over_the_source_timeout_is_cancelled_and_is_a_503() -> None:
    sa = pytest.importorskip("sqlalchemy")
    records = crudql.sample.contacts(3000)
    source = crudql.sources.SQL.from_records(sa.create_engine("sqlite://"), records, model=Contact, timeout=0.05)
    app = fastapi.FastAPI()
    add_query_route(app, "/contacts", source)
    client = TestClient(app)
    expensive = "(or " + " ".join(f'(ilike name "%{chr(97 + i % 26)}%{i}%")' for i in range(200)) + ")"
    started = time.perf_counter()
    response = client.get("/contacts", params={"q": expensive, "s": "-info.cosellPartnerMetrics.successRate"})
    assert time.perf_counter() - started < 5
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert isinstance(response.json(), str) and response.json()
    # The engine was left usable: the next request answers.
    one = records[7]["id"]
    assert client.get("/contacts", params={"q": f'(= id "{one}")'}).json()["total_count"] == 1
