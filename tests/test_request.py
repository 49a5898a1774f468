"""The request layer: PageRequest validation, paging, counting, and errors as QueryError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crudql
from crudql.backends.python import compile_filter, sort_records
from crudql.models import Contact
from crudql.request import effective_sort
from support.strategies import SCHEMA, contacts, filter_texts, sort_texts

RECORDS = [
    {"id": f"c{i:02d}", "name": name, "organizationID": org}
    for i, (name, org) in enumerate(
        [("Ann", "org-1"), ("Bob", "org-1"), ("ann", "org-2"), (None, "org-1"), ("Cy", None), ("Ann", "org-1")]
    )
]


def test_defaults() -> None:
    req = crudql.PageRequest()
    assert (req.page_size, req.page_number, req.qs, req.q, req.ss, req.s) == (20, 1, "lisp", None, "simple", None)


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 0},
        {"page_size": 1001},
        {"page_size": -1},
        {"page_size": "abc"},
        {"page_size": "1.5"},
        {"page_size": 2.5},
        {"page_size": True},
        {"page_size": [20]},
        {"page_number": 0},
        {"page_number": -5},
        {"page_number": "x"},
        {"page_number": False},
        {"qs": "xml"},
        {"qs": ""},
        {"qs": 1},
        {"ss": "sql"},
        {"q": 5},
        {"s": ["name"]},
        {"unknown": 1},
    ],
)
def test_page_request_rejects_bad_parameters(params: dict[str, Any]) -> None:
    with pytest.raises(crudql.QueryError) as err:
        crudql.PageRequest(**params)
    assert err.value.code == "request"
    assert err.value.param == next(iter(params))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"page_size": "1000", "page_number": "3"}, (1000, 3)),
        ({"page_size": 1, "page_number": 10**30}, (1, 10**30)),
        ({"qs": "JSON", "ss": "Json"}, ("json", "json")),
    ],
)
def test_page_request_accepts_url_strings_and_any_case(params: dict[str, Any], expected: tuple[Any, ...]) -> None:
    req = crudql.PageRequest(**params)
    assert tuple(getattr(req, k) for k in params) == expected


def test_from_params_treats_blank_as_default() -> None:
    req = crudql.PageRequest.from_params({"page_size": "", "qs": " ", "q": "", "s": ""})
    assert (req.page_size, req.qs, req.q, req.s) == (20, "lisp", "", "")
    page = crudql.run_query(req, crudql.sources.InMemory(RECORDS, model=Contact))
    assert page.total_count == len(RECORDS)


@pytest.mark.parametrize("name", ["self", "cls", "data", "__init__"])
def test_any_parameter_name_is_a_client_error_not_a_crash(name: str) -> None:
    for build in (lambda: crudql.PageRequest(**{name: "1"}), lambda: crudql.PageRequest.from_params({name: "1"})):
        with pytest.raises(crudql.QueryError) as err:
            build()
        assert err.value.code == "request"
        assert f"unknown parameter '{name}'" in str(err.value)


def test_run_query_async_awaits_an_async_source() -> None:
    import asyncio

    inner = crudql.sources.InMemory(RECORDS, model=Contact)

    class Async:
        model, schema = inner.model, inner.schema

        async def page(self, where: Any, order: Any, offset: int, limit: int) -> tuple[list[Any], int]:
            await asyncio.sleep(0)
            return inner.page(where, order, offset, limit)

    assert crudql.sources.is_async_source(Async()) and not crudql.sources.is_async_source(inner)
    page = asyncio.run(crudql.run_query_async(crudql.PageRequest(q='(= organization_id "org-1")', s="-id"), Async()))
    assert [c.id for c in page.data] == ["c05", "c03", "c01", "c00"]
    assert page.total_count == 4


def test_errors_name_their_parameter() -> None:
    source = crudql.sources.InMemory(RECORDS, model=Contact)
    with pytest.raises(crudql.QueryError) as err:
        crudql.run_query(crudql.PageRequest(q="(= nmae 1)"), source)
    assert (err.value.code, err.value.param, err.value.position) == ("unknown_field", "q", 3)
    with pytest.raises(crudql.QueryError) as err:
        crudql.run_query(crudql.PageRequest(s="name,-name"), source)
    assert (err.value.code, err.value.param) == ("sort", "s")
    assert "in s" in str(err.value)


def test_run_query_pages_and_counts() -> None:
    source = crudql.sources.InMemory(RECORDS, model=Contact)
    page = crudql.run_query(crudql.PageRequest(q='(ilike name "ann")', page_size=2), source)
    assert [c.id for c in page.data] == ["c00", "c02"]
    assert (page.total_count, page.page_number, page.page_size) == (3, 1, 2)
    page2 = crudql.run_query(crudql.PageRequest(q='(ilike name "ann")', page_size=2, page_number=2), source)
    assert [c.id for c in page2.data] == ["c05"]
    past = crudql.run_query(crudql.PageRequest(q='(ilike name "ann")', page_size=2, page_number=10**30), source)
    assert (past.data, past.total_count) == ([], 3)


def test_response_json_keeps_absent_fields_absent() -> None:
    body = crudql.run_query(crudql.PageRequest(q='(= id "c04")'), crudql.sources.InMemory(RECORDS, model=Contact)).to_json_dict()
    assert body == {
        "data": [{"id": "c04", "name": "Cy", "organizationID": None}],
        "page_number": 1,
        "page_size": 20,
        "total_count": 1,
    }


def test_in_memory_rejects_invalid_records() -> None:
    with pytest.raises(crudql.QueryError):
        crudql.sources.InMemory([{"name": "no id"}], model=Contact)


def test_blank_and_null_filters_match_all() -> None:
    source = crudql.sources.InMemory(RECORDS, model=Contact)
    for q, qs in (("", "lisp"), ("   ; only a comment\n", "lisp"), ("", "json"), ("null", "json")):
        assert crudql.run_query(crudql.PageRequest(q=q, qs=qs), source).total_count == len(RECORDS)


@pytest.mark.slow
@given(contacts(), filter_texts(), sort_texts(), st.integers(1, 5))
def test_pages_concatenate_to_the_full_ordered_result(
    records: list[dict[str, Any]], q: str, s: tuple[str, str], page_size: int
) -> None:
    source = crudql.sources.InMemory(records, model=Contact)
    expr = crudql.parse_filter(q, schema=SCHEMA)
    order = effective_sort(crudql.parse_sort(s[0], s[1], schema=SCHEMA), SCHEMA)
    expected = [r["id"] for r in sort_records([r for r in records if compile_filter(expr)(r)], order)]
    seen: list[str] = []
    for number in range(1, len(records) // page_size + 3):
        page = crudql.run_query(
            crudql.PageRequest(q=q, s=s[0], ss=s[1], page_size=page_size, page_number=number), source
        )
        assert page.total_count == len(expected)
        assert len(page.data) <= page_size
        seen.extend(c.id for c in page.data)
    assert seen == expected


def test_models_and_dicts_make_the_same_source() -> None:
    a = crudql.sources.InMemory(RECORDS, model=Contact)
    b = crudql.sources.InMemory([Contact.model_validate(r) for r in RECORDS], model=Contact)
    req = crudql.PageRequest(s="-name")
    assert crudql.run_query(req, a) == crudql.run_query(req, b)


def test_a_source_returning_a_tuple_still_gives_a_list_page() -> None:
    class TupleSource:
        schema = crudql.Schema.from_model(Contact)

        def page(self, where: Any, order: Any, offset: int, limit: int) -> tuple[tuple[Any, ...], int]:
            return tuple(Contact(id=f"c{i}") for i in range(offset, min(offset + limit, 7))), 7

    page = crudql.run_query(crudql.PageRequest(page_size=3), TupleSource())
    assert isinstance(page.data, list) and [c.id for c in page.data] == ["c0", "c1", "c2"]
    assert page.total_count == 7 and page.to_json_dict()["data"][0]["id"] == "c0"
