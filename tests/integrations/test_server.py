"""The app of `crudql serve`: the embedded sample database, an existing table used as it
is, and what the app serves (the route, /health, /docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
sa = pytest.importorskip("sqlalchemy")
from fastapi.testclient import TestClient  # noqa: E402

import crudql  # noqa: E402
from crudql.integrations import server  # noqa: E402
from crudql.models import Contact  # noqa: E402


def test_the_sample_database_is_made_once_and_whole(tmp_path: Path) -> None:
    url = server.sample_database(tmp_path / "data", 25)
    path = tmp_path / "data" / "contacts-25.sqlite3"
    assert url == f"sqlite:///{path}"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left behind
    made = path.stat().st_mtime_ns
    assert server.sample_database(tmp_path / "data", 25) == url
    assert path.stat().st_mtime_ns == made
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from contact")).scalar_one() == 25
    finally:
        engine.dispose()


def test_an_existing_table_is_used_as_it_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    engine = sa.create_engine(url)
    crudql.sources.SQL.from_records(engine, [{"id": "x1", "organizationID": "o", "name": "Only"}], model=Contact)
    engine.dispose()
    assert server.prepare_database(url, None, 500) == url
    body = TestClient(server.create_app(url)).get("/org/o/contact/query").json()
    assert body == {"data": [{"id": "x1", "organizationID": "o", "name": "Only"}], "page_number": 1, "page_size": 20, "total_count": 1}


def test_a_missing_table_is_created_and_filled(postgres_engine: Any) -> None:
    source = server.open_source(postgres_engine, 30)
    assert source.count() == 30
    source.insert([{"id": "zz-extra", "organizationID": "org_acme"}])
    assert server.open_source(postgres_engine, 30).count() == 31  # used as it is, not refilled


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return TestClient(server.create_app(server.sample_database(tmp_path_factory.mktemp("data"), 60)))


def test_the_app_serves_the_reference_endpoint(client: TestClient) -> None:
    body = client.get("/org/org_acme/contact/query", params={"q": "(exists name)", "page_size": "3"}).json()
    assert len(body["data"]) == 3 and all(d["organizationID"] == "org_acme" for d in body["data"])
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    operation = client.get("/openapi.json").json()["paths"]["/org/{orgId}/contact/query"]["get"]
    assert operation["summary"] == "query contacts"
    assert operation["description"].startswith("Query contacts with advanced filtering, sorting, and pagination")


def test_the_app_factory_reads_its_database_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = server.sample_database(tmp_path, 5)
    monkeypatch.setenv(server.ENV_DATABASE_URL, url)
    assert TestClient(server.app_from_env()).get("/org/x/contact/query").json()["total_count"] == 0
