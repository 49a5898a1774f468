"""Requests generated from the app's own OpenAPI document: whatever a client sends in the
documented parameters (valid values, values at and past their limits, arbitrary text),
plus unknown and repeated parameters and odd path values, the answer is a 200 page or a
400 whose body is a JSON string; never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from crudql.integrations.fastapi import add_query_route  # noqa: E402
from support.http import contacts_source  # noqa: E402
from support.strategies import filter_texts, sort_texts  # noqa: E402

PATH = "/org/{orgId}/contact/query"
RECORDS = [
    {"id": "a", "organizationID": "org-1", "name": "Ann", "tags": ["vip"], "info": {"partner": "AWS"}},
    {"id": "b", "organizationID": "org-1", "name": "Bob"},
    {"id": "c", "organizationID": "org-2", "name": "Cy"},
]

APP = fastapi.FastAPI()
add_query_route(APP, PATH, contacts_source(RECORDS), scope_field="organization_id")
CLIENT = TestClient(APP)
PARAMETERS = APP.openapi()["paths"][PATH]["get"]["parameters"]
QUERY = [p for p in PARAMETERS if p["in"] == "query"]

# Text that reaches the parsers: crudql-ish fragments as well as arbitrary Unicode.
FRAGMENTS = ["(", ")", "[", "]", "{", "}", '"', "\\", ",", ":", "-", "+", " ", "\n", ";", "=", "and", "or", "not",
             "name", "tags", "info.partner", "id", "null", "true", "1e999", "-0", "*", "%", "_", "\x00", "\ud7ff", "é"]
TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join),
    filter_texts(max_depth=2),
    sort_texts().map(lambda pair: pair[0]),
)


def _value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """A query-string value for a parameter: valid per its schema, at and past its bounds, or any text."""
    options: list[st.SearchStrategy[str]] = [TEXT]
    if schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**70)), schema.get("maximum", 2**70)
        options += [
            st.integers(low, min(high, 10**6)).map(str),
            st.sampled_from([low - 1, low, high, high + 1, 2**63, -(2**63) - 1]).map(str),
            st.sampled_from(["", " ", "1.0", "1e3", "+5", "0x10", "٣", "20 ", "true"]),
        ]
    if "enum" in schema:
        options.append(st.sampled_from([*schema["enum"], *(v.upper() for v in schema["enum"]), " json ", "xml"]))
    return st.one_of(*options)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    org = draw(st.one_of(st.sampled_from(["org-1", "org-2"]), st.text(min_size=1, max_size=12)))
    params = [(p["name"], draw(_value(p["schema"]))) for p in QUERY if draw(st.booleans())]
    if draw(st.integers(0, 9)) == 0 and params:  # a repeated parameter
        params.append(draw(st.sampled_from(params)))
    if draw(st.integers(0, 9)) == 0:  # an unknown one
        params.append((draw(st.sampled_from(["self", "cls", "Q", "page", "cursors", "q[]", ""])), "1"))
    draw(st.randoms()).shuffle(params)
    return "/org/" + quote(org, safe="") + "/contact/query", params


@given(requests())
def test_no_request_documented_by_the_openapi_gets_a_500(request: tuple[str, list[tuple[str, str]]]) -> None:
    path, params = request
    response = CLIENT.get(path, params=params)
    assert response.status_code in (200, 400, 404), (response.status_code, response.text)
    if response.status_code == 400:
        assert isinstance(response.json(), str) and response.json()
    elif response.status_code == 200:
        body = response.json()
        assert set(body) == {"data", "page_number", "page_size", "total_count"}
        assert len(body["data"]) <= body["page_size"]
        assert all(d["organizationID"] in path for d in body["data"])


def test_the_generated_requests_cover_every_documented_parameter() -> None:
    assert [p["name"] for p in QUERY] == ["page_size", "page_number", "qs", "q", "ss", "s", "cursor"]
