"""The FastAPI route: the reference endpoint's parameters, 400 with a JSON string body, scope."""

from __future__ import annotations

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import crudql  # noqa: E402
from crudql.integrations.fastapi import add_query_route  # noqa: E402
from crudql.models import Contact  # noqa: E402

RECORDS = [
    {"id": "a", "organizationID": "org-1", "name": "Ann", "info": {"partner": "AWS"}},
    {"id": "b", "organizationID": "org-1", "name": "Bob", "info": {"partner": "GCP"}},
    {"id": "c", "organizationID": "org-2", "name": "Cy", "info": {"partner": "AWS"}},
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = fastapi.FastAPI()
    add_query_route(app, "/org/{org_id}/contact/query", crudql.sources.InMemory(RECORDS, model=Contact), scope_field="organization_id")
    return TestClient(app)


def test_query_is_scoped_to_the_organization(client: TestClient) -> None:
    body = client.get("/org/org-1/contact/query", params={"q": '(= info.partner "AWS")'}).json()
    assert [d["id"] for d in body["data"]] == ["a"]
    assert body["total_count"] == 1
    # The scope cannot be escaped from the filter.
    body = client.get("/org/org-1/contact/query", params={"q": '(or (= id "c") (= id "a"))'}).json()
    assert [d["id"] for d in body["data"]] == ["a"]


def test_all_six_parameters(client: TestClient) -> None:
    params = {"page_size": "1", "page_number": "2", "qs": "json", "q": '["exists", "name"]', "ss": "json", "s": '["-name"]'}
    body = client.get("/org/org-1/contact/query", params=params).json()
    assert body == {"data": [RECORDS[0]], "page_number": 2, "page_size": 1, "total_count": 2}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": '(= nme "x")'}, "did you mean 'name'?"),
        ({"q": "(and"}, "missing ')'"),
        ({"page_size": "5000"}, "page_size"),
        ({"page_number": "0"}, "page_number"),
        ({"qs": "xml"}, "qs"),
        ({"s": "tags"}, "not sortable"),
        ({"q": "(" * 20_000}, "limit"),
        ({"q": '["=", "name", "x"]', "qs": "json", "extra": "1"}, "unknown parameter"),
    ],
)
def test_client_errors_are_400_with_a_json_string(client: TestClient, params: dict[str, str], needle: str) -> None:
    response = client.get("/org/org-1/contact/query", params=params)
    assert response.status_code == 400
    assert isinstance(response.json(), str)
    assert needle in response.json()
