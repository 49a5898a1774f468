"""The FastAPI route (docs/spec/SERVICE.md §5): the reference endpoint's parameters, every
status code, the scope, async sources, OpenAPI and the health route, through TestClient."""

from __future__ import annotations

import asyncio
import decimal
import logging
import uuid
from enum import IntEnum
from typing import Annotated, Any

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import given  # noqa: E402
from pydantic import BaseModel  # noqa: E402

import crudql  # noqa: E402
from crudql.integrations.fastapi import add_health_route, add_query_route  # noqa: E402
from crudql.models import Contact  # noqa: E402
from support.http import AsyncWrapped, Failing, contacts_source  # noqa: E402
from support.strategies import ORGS, contacts, filter_texts  # noqa: E402

RECORDS = [
    {"id": "a", "organizationID": "org-1", "name": "Ann", "info": {"partner": "AWS"}},
    {"id": "b", "organizationID": "org-1", "name": "Bob", "info": {"partner": "GCP"}},
    {"id": "c", "organizationID": "org-2", "name": "Cy", "info": {"partner": "AWS"}},
    {"id": "d", "name": "No org"},
]
PATH = "/org/{orgId}/contact/query"


def app_for(source: Any, **options: Any) -> Any:
    app = fastapi.FastAPI()
    add_query_route(app, PATH, source, scope_field="organization_id", **options)
    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app_for(contacts_source(RECORDS)))


def get(client: TestClient, params: Any = None, org: str = "org-1") -> Any:
    return client.get(f"/org/{org}/contact/query", params=params)


# ---------------------------------------------------------------------------- answers


def test_all_six_parameters(client: TestClient) -> None:
    params = {"page_size": "1", "page_number": "2", "qs": "json", "q": '["exists", "name"]', "ss": "json", "s": '["-name"]'}
    body = get(client, params).json()
    assert body == {"data": [RECORDS[0]], "page_number": 2, "page_size": 1, "total_count": 2}


def test_defaults_and_blank_parameters(client: TestClient) -> None:
    for params in ({}, {"q": "", "s": "", "page_size": "", "qs": ""}):
        response = get(client, params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert [d["id"] for d in body["data"]] == ["a", "b"]
        assert (body["page_number"], body["page_size"], body["total_count"]) == (1, 20, 2)


def test_response_keeps_absent_fields_absent_and_uses_aliases(client: TestClient) -> None:
    body = get(client, {"q": '(= id "a")'}).json()
    assert body["data"] == [{"id": "a", "organizationID": "org-1", "name": "Ann", "info": {"partner": "AWS"}}]


# ---------------------------------------------------------------------------- scope


def test_query_is_scoped_to_the_organization(client: TestClient) -> None:
    body = get(client, {"q": '(= info.partner "AWS")'}).json()
    assert [d["id"] for d in body["data"]] == ["a"]
    assert body["total_count"] == 1
    # The scope cannot be escaped from the filter.
    for q in ('(or (= id "c") (= id "a"))', '(!= organizationID "x")', '(not (= organization_id "org-1"))', "(is-null organization_id)"):
        ids = [d["id"] for d in get(client, {"q": q}).json()["data"]]
        assert set(ids) <= {"a", "b"}, q
    assert get(client, org="org-3").json()["total_count"] == 0


@given(contacts(max_size=8), filter_texts(max_depth=2))
def test_no_filter_returns_another_tenants_row(records: list[dict[str, Any]], q: str) -> None:
    app = app_for(contacts_source(records))
    with TestClient(app) as c:
        for org in ORGS[:2]:
            response = c.get(f"/org/{org}/contact/query", params={"q": q, "page_size": "1000"})
            assert response.status_code in (200, 400), response.text
            if response.status_code == 200:
                assert {d.get("organizationID") for d in response.json()["data"]} <= {org}


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Ticket(BaseModel):
    id: int
    tenant: int
    title: str
    priority: Priority = Priority.LOW


TICKETS = [
    Ticket(id=1, tenant=1, title="one"),
    Ticket(id=2, tenant=2, title="two", priority=Priority.HIGH),
    Ticket(id=3, tenant=1, title="three", priority=Priority.HIGH),
]


@pytest.fixture(scope="module")
def tickets() -> TestClient:
    app = fastapi.FastAPI()
    source = crudql.sources.InMemory(TICKETS, model=Ticket)
    add_query_route(app, "/tenant/{tenant_id}/region/{region}/tickets", source, scope_field="tenant", scope_param="tenant_id")
    return TestClient(app)


def test_an_integer_tenant_id_scopes(tickets: TestClient) -> None:
    body = tickets.get("/tenant/1/region/eu/tickets", params={"s": "-id"}).json()
    assert [t["id"] for t in body["data"]] == [3, 1]
    assert tickets.get("/tenant/2/region/eu/tickets").json()["total_count"] == 1
    assert tickets.get("/tenant/-5/region/eu/tickets").json()["total_count"] == 0


@pytest.mark.parametrize("value", ["abc", "1.0", "01x", "99999999999999999999", "%20", "true"])
def test_a_path_value_of_the_wrong_type_is_a_400(tickets: TestClient, value: str) -> None:
    response = tickets.get(f"/tenant/{value}/region/eu/tickets")
    assert response.status_code == 400
    assert isinstance(response.json(), str) and "tenant_id" in response.json()


class Account(BaseModel):
    id: str
    tenant: uuid.UUID
    region: decimal.Decimal


def test_uuid_and_decimal_tenants_scope() -> None:
    t1, t2 = uuid.UUID(int=1), uuid.UUID(int=2)
    source = crudql.sources.InMemory([Account(id="a", tenant=t1, region=decimal.Decimal("1.10")), Account(id="b", tenant=t2, region=decimal.Decimal("2"))], model=Account)
    app = fastapi.FastAPI()
    add_query_route(app, "/t/{tenant}/accounts", source, scope_field="tenant")
    add_query_route(app, "/r/{region}/accounts", source, scope_field="region", name="by_region")
    client = TestClient(app)
    assert [a["id"] for a in client.get(f"/t/{str(t1).upper()}/accounts").json()["data"]] == ["a"]  # canonical text
    assert client.get("/t/not-a-uuid/accounts").status_code == 400
    assert [a["id"] for a in client.get("/r/1.1/accounts").json()["data"]] == ["a"]
    assert client.get("/r/1e999999/accounts").json()["total_count"] == 0
    assert client.get("/r/one/accounts").status_code == 400


def test_scope_documents_the_path_parameter_type(tickets: TestClient) -> None:
    params = tickets.app.openapi()["paths"]["/tenant/{tenant_id}/region/{region}/tickets"]["get"]["parameters"]
    by_name = {p["name"]: p for p in params}
    assert by_name["tenant_id"]["schema"] == {"type": "integer"} and by_name["tenant_id"]["in"] == "path"
    assert by_name["region"]["schema"] == {"type": "string"}


@pytest.mark.parametrize(
    ("path", "options", "needle"),
    [
        ("/contact/query", {"scope_field": "organization_id"}, "has no parameters"),
        ("/org/{orgId}/team/{team}/query", {"scope_field": "organization_id"}, "several parameters"),
        ("/org/{orgId}/query", {"scope_field": "organization_id", "scope_param": "org"}, "not a parameter of the path"),
        ("/org/{orgId}/query", {"scope_field": "organisation_id"}, "unknown field"),
        ("/org/{orgId}/query", {"scope_field": "tags"}, "single value"),
        ("/org/{orgId}/query", {"scope_field": "info.cosellPartnerMetrics.accounts.*.id"}, "single value"),
        ("/org/{orgId}/query", {"scope_field": "info"}, "single value"),
        ("/org/{orgId}/query", {"scope_param": "orgId"}, "give scope_field too"),
    ],
)
def test_scope_misconfiguration_fails_when_the_route_is_added(path: str, options: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        add_query_route(fastapi.FastAPI(), path, contacts_source(RECORDS), **options)


def test_a_converter_in_the_path_is_accepted() -> None:
    app = fastapi.FastAPI()
    add_query_route(app, "/t/{tenant:int}/tickets", crudql.sources.InMemory(TICKETS, model=Ticket), scope_field="tenant")
    assert TestClient(app).get("/t/2/tickets").json()["total_count"] == 1


def test_a_source_bound_to_one_connection_is_refused(sqlite_engine: Any) -> None:
    source = crudql.sources.SQL.from_records(sqlite_engine, RECORDS, model=Contact, table_name="http_one_conn", replace=True)
    with sqlite_engine.connect() as conn, pytest.raises(ValueError, match="one Connection"):
        add_query_route(fastapi.FastAPI(), PATH, crudql.sources.SQL(conn, source.table, model=Contact))


def test_the_readme_in_memory_sqlite_engine_answers_from_worker_threads() -> None:
    sa = pytest.importorskip("sqlalchemy")
    source = crudql.sources.SQL.from_records(sa.create_engine("sqlite://"), RECORDS, model=Contact)
    assert get(TestClient(app_for(source)), {"s": "name"}).json()["total_count"] == 2


def test_a_shared_in_memory_sqlite_database_answers_from_worker_threads(sqlite_engine: Any) -> None:
    source = crudql.sources.SQL.from_records(sqlite_engine, RECORDS, model=Contact, table_name="http_contacts", replace=True)
    body = get(TestClient(app_for(source)), {"s": "-name"}).json()
    assert [d["id"] for d in body["data"]] == ["b", "a"]


class Note(BaseModel):
    id: str
    org: str
    status: str = "draft"  # a default is a value: answered even when the input left it out
    title: str | None = None  # a None default the input left unset stays absent
    tags: list[str] = []


def test_the_body_is_the_same_json_as_page_to_json_dict() -> None:
    notes = [{"id": "n1", "org": "o"}, {"id": "n2", "org": "o", "title": None, "status": "done", "tags": ["x"]}]
    source = crudql.sources.InMemory(notes, model=Note)
    app = fastapi.FastAPI()
    add_query_route(app, "/o/{org}/notes", source, scope_field="org")
    body = TestClient(app).get("/o/o/notes").json()
    assert body == crudql.run_query(crudql.PageRequest(), source).to_json_dict()
    assert body["data"] == [
        {"id": "n1", "org": "o", "status": "draft", "tags": []},
        {"id": "n2", "org": "o", "status": "done", "title": None, "tags": ["x"]},
    ]


def test_nested_contacts_are_the_same_json_as_page_to_json_dict() -> None:
    source = contacts_source(crudql.sample.contacts(60))
    app = fastapi.FastAPI()
    add_query_route(app, "/contacts", source)
    params = {"page_size": "60", "s": "-creation_time"}
    body = TestClient(app).get("/contacts", params=params).json()
    assert body == crudql.run_query(crudql.PageRequest(**params), source).to_json_dict()
    assert body["total_count"] == 60


class Guarded(BaseModel):
    id: str
    tenant: str  # not marked: clients may not filter on it, the server scopes by it
    name: Annotated[str, crudql.Queryable(operators=["="])]
    secret: Annotated[str, crudql.Queryable(filter=False, sort=False)] = ""


def test_a_marked_only_source_is_scoped_by_an_unmarked_tenant_field() -> None:
    rows = [Guarded(id="1", tenant="t1", name="a"), Guarded(id="2", tenant="t2", name="a")]
    source = crudql.sources.InMemory(rows, model=Guarded, queryable="marked")
    app = fastapi.FastAPI()
    add_query_route(app, "/t/{tenant}/rows", source, scope_field="tenant")
    client = TestClient(app)
    assert [r["id"] for r in client.get("/t/t1/rows", params={"q": '(= name "a")'}).json()["data"]] == ["1"]
    refused = client.get("/t/t1/rows", params={"q": '(= tenant "t2")'})
    assert refused.status_code == 400 and "cannot be filtered" in refused.json()
    with pytest.raises(ValueError, match="cannot scope a query"):
        add_query_route(fastapi.FastAPI(), "/s/{secret}/rows", source, scope_field="secret")


# ---------------------------------------------------------------------------- client errors: 400


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": '(= nme "x")'}, "did you mean 'name'?"),
        ({"q": "(and"}, "missing ')'"),
        ({"page_size": "5000"}, "page_size"),
        ({"page_size": "2.5"}, "page_size"),
        ({"page_number": "0"}, "page_number"),
        ({"page_number": "-1"}, "page_number"),
        ({"qs": "xml"}, "qs"),
        ({"ss": "sql"}, "ss"),
        ({"s": "tags"}, "not sortable"),
        ({"s": "name,-name"}, "name"),
        ({"q": "(" * 20_000}, "limit"),
        ({"q": '["=", "name", "x"]', "qs": "json", "extra": "1"}, "unknown parameter 'extra'"),
        ({"self": "1"}, "unknown parameter 'self'"),
        ({"cls": "1"}, "unknown parameter 'cls'"),
        ({"Q": "(exists name)"}, "unknown parameter 'Q'"),
        ([("q", "(exists name)"), ("q", "(exists tags)")], "'q' is given more than once"),
        ([("page_size", "1"), ("page_size", "1")], "'page_size' is given more than once"),
        ({"q": '(like name "a\\")'}, "like"),
        ({"q": "(= name \x00)"}, "line 1"),
    ],
)
def test_client_errors_are_400_with_a_json_string(client: TestClient, params: Any, needle: str) -> None:
    response = get(client, params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json(), str)
    assert needle in response.json()


def test_a_parse_error_carries_its_caret_excerpt(client: TestClient) -> None:
    message = get(client, {"q": '(= info.partnr "AWS")'}).json()
    assert message.splitlines() == [
        "unknown field 'info.partnr' (in q, line 1, column 4); did you mean 'info.partner'?",
        '  (= info.partnr "AWS")',
        "     ^^^^^^^^^^^",
    ]


# ---------------------------------------------------------------------------- server side: 503 and 500


def _operational_error() -> BaseException:
    sa = pytest.importorskip("sqlalchemy")
    return sa.exc.OperationalError("SELECT secret FROM contact", {}, Exception("could not connect to db.internal:5432"))


def _pymongo_error(name: str) -> BaseException:
    errors = pytest.importorskip("pymongo.errors")
    return getattr(errors, name)("db.internal:27017: connection refused")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "make_error",
    [
        _operational_error,
        lambda: pytest.importorskip("sqlalchemy").exc.DisconnectionError("db.internal gone"),
        lambda: _pymongo_error("ServerSelectionTimeoutError"),
        lambda: _pymongo_error("AutoReconnect"),
        lambda: ConnectionRefusedError(111, "db.internal refused"),
    ],
)
def test_an_unreachable_database_is_a_503_then_recovers(make_error: Any, caplog: pytest.LogCaptureFixture) -> None:
    source = Failing(contacts_source(RECORDS), [make_error(), make_error()])
    client = TestClient(app_for(source))
    for _ in range(2):
        with caplog.at_level(logging.WARNING, logger="crudql.http"):
            response = get(client)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == "the database is unavailable; try again later"
        assert "db.internal" not in response.text
    assert "database unavailable" in caplog.text
    assert get(client).json()["total_count"] == 2  # the same app, no restart


def test_a_timeout_is_a_503_with_retry_after() -> None:
    source = Failing(contacts_source(RECORDS), [crudql.QueryTimeoutError("the query ran longer than 10 s and was cancelled")])
    response = get(TestClient(app_for(source)))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == "the query ran longer than 10 s and was cancelled"


def test_a_value_the_database_rejects_is_a_400() -> None:
    source = Failing(contacts_source(RECORDS), [crudql.QueryError("the database rejected a value", code="value")])
    response = get(TestClient(app_for(source)))
    assert response.status_code == 400 and isinstance(response.json(), str)


@pytest.mark.parametrize("error", [RuntimeError("SELECT secret FROM contact WHERE 1"), KeyError("password_hash"), RecursionError()])
def test_anything_else_is_a_generic_500_and_is_logged(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(app_for(Failing(contacts_source(RECORDS), [error])))
    with caplog.at_level(logging.ERROR, logger="crudql.http"):
        response = get(client)
    assert response.status_code == 500
    assert response.json() == "internal server error"
    assert "secret" not in response.text and "password" not in response.text and "Traceback" not in response.text
    assert type(error).__name__ in caplog.text  # the server's log has the traceback
    assert get(client).status_code == 200


# ---------------------------------------------------------------------------- async sources


def test_an_async_source_is_awaited() -> None:
    source = AsyncWrapped(contacts_source(RECORDS))
    client = TestClient(app_for(source))
    body = get(client, {"q": '(= info.partner "AWS")'}).json()
    assert [d["id"] for d in body["data"]] == ["a"]
    assert get(client, {"q": "(= nme 1)"}).status_code == 400


def test_an_async_source_failing_gets_the_same_status_codes() -> None:
    class Down(AsyncWrapped):
        async def page(self, *args: Any) -> tuple[list[Any], int]:
            await asyncio.sleep(0)
            raise ConnectionResetError("db.internal reset")

    response = get(TestClient(app_for(Down(contacts_source(RECORDS)))))
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")


# ---------------------------------------------------------------------------- cursors


def _walk(client: TestClient, params: dict[str, str]) -> list[tuple[list[str], int, int]]:
    """Every page by following `Link: <...>; rel="next"`: (ids, page_number, total_count)."""
    pages = []
    response = get(client, params, org="org-9")
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(([d["id"] for d in body["data"]], body["page_number"], body["total_count"]))
        link = response.headers.get("link")
        if link is None:
            return pages
        url, rel = link.split(";", 1)
        assert rel.strip() == 'rel="next"' and url.startswith("<http") and url.endswith(">")
        assert "page_number" not in url and "cursor=" in url
        response = client.get(url[1:-1])


@pytest.mark.parametrize("wrap", [lambda s: s, AsyncWrapped], ids=["sync", "async"])
def test_following_the_link_header_gives_the_offset_pages(wrap: Any) -> None:
    records = [{"id": f"r{i:02d}", "organizationID": "org-9", "name": f"n{i % 4}"} for i in range(23)]
    client = TestClient(app_for(wrap(contacts_source(records))))
    params = {"page_size": "5", "s": "-name", "q": '(ilike name "n%")'}
    walked = _walk(client, params)
    by_offset = [get(client, {**params, "page_number": str(n)}, org="org-9").json() for n in range(1, 6)]
    assert walked == [([d["id"] for d in b["data"]], b["page_number"], b["total_count"]) for b in by_offset]
    assert [n for _, n, _ in walked] == [1, 2, 3, 4, 5]


def test_a_cursor_from_another_request_or_altered_is_a_400(client: TestClient) -> None:
    records = [{"id": f"r{i:02d}", "organizationID": "org-9"} for i in range(6)]
    own = TestClient(app_for(contacts_source(records)))
    link = get(own, {"page_size": "2"}, org="org-9").headers["link"]
    cursor = link[link.index("cursor=") + 7 : link.index(">")]
    for params in ({"page_size": "3", "cursor": cursor}, {"page_size": "2", "cursor": cursor[:-2] + "AA"},
                   {"page_size": "2", "cursor": cursor, "page_number": "2"}):
        response = get(own, params, org="org-9")
        assert response.status_code == 400 and "cursor" in response.json(), (params, response.text)
    # Another tenant's scope is another filter: its cursor does not apply.
    assert get(own, {"page_size": "2", "cursor": cursor}, org="org-1").status_code == 400


# ---------------------------------------------------------------------------- OpenAPI


def test_openapi_documents_the_reference_parameters_and_the_cursor() -> None:
    doc = TestClient(app_for(contacts_source(RECORDS))).get("/openapi.json").json()
    operation = doc["paths"][PATH]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert list(params) == ["orgId", "page_size", "page_number", "qs", "q", "ss", "s", "cursor"]
    assert "Link" in params["cursor"]["description"] and params["cursor"]["schema"]["type"] == "string"
    assert "Link" in operation["responses"]["200"]["headers"]
    assert params["orgId"]["in"] == "path" and params["orgId"]["required"] is True
    assert params["page_size"]["schema"] == {"type": "integer", "default": 20, "minimum": 1, "maximum": 1000}
    assert params["page_size"]["description"] == "Number of items per page (default 20, max 1000)"
    assert params["page_number"]["schema"] == {"type": "integer", "default": 1, "minimum": 1}
    assert params["page_number"]["description"] == "Page number (default 1)"
    assert params["qs"]["schema"]["default"] == "lisp" and params["qs"]["description"] == "Query style: 'json' or 'lisp' (default 'lisp')"
    assert params["ss"]["schema"]["default"] == "simple" and params["ss"]["description"] == "Sort style: 'json' or 'simple' (default 'simple')"
    assert params["q"]["description"].startswith("Filter expression in the format specified by qs param")
    assert params["s"]["description"].startswith("Sort expression in the format specified by ss param")
    assert params["q"]["schema"]["maxLength"] == 10_000
    assert all(p["in"] == "query" and not p["required"] for name, p in params.items() if name != "orgId")


def test_openapi_documents_the_responses() -> None:
    doc = TestClient(app_for(contacts_source(RECORDS))).get("/openapi.json").json()
    responses = doc["paths"][PATH]["get"]["responses"]
    assert set(responses) == {"200", "400", "500", "503"}
    for status in ("400", "500", "503"):
        assert responses[status]["content"]["application/json"]["schema"] == {"type": "string"}
    assert "Retry-After" in responses["503"]["headers"]
    ref = responses["200"]["content"]["application/json"]["schema"]["$ref"]
    page = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"data", "page_number", "page_size", "total_count"}
    contact = doc["components"]["schemas"]["Contact"]["properties"]
    assert {"creationTime", "organizationID", "companyContactId", "emailAddress", "tags", "info"} <= set(contact)


# ---------------------------------------------------------------------------- health


def test_health_without_and_with_a_source() -> None:
    app = fastapi.FastAPI()
    add_health_route(app)
    assert TestClient(app).get("/health").json() == {"status": "ok"}

    source = Failing(contacts_source(RECORDS), [ConnectionRefusedError()])
    app = fastapi.FastAPI()
    add_health_route(app, source)
    client = TestClient(app)
    response = client.get("/health")
    assert (response.status_code, response.json(), response.headers["retry-after"]) == (503, {"status": "unavailable"}, "5")
    assert client.get("/health").json() == {"status": "ok"}

    app = fastapi.FastAPI()
    add_health_route(app, AsyncWrapped(contacts_source(RECORDS)), "/ready")
    assert TestClient(app).get("/ready").json() == {"status": "ok"}
