"""Sort expressions (docs/spec/LANGUAGE.md §4), both styles, their errors, and the printers."""

from __future__ import annotations

import json
from typing import Any

import pytest

import crudql
from crudql import QueryError, SortKey, parse_sort, sort_to_json, sort_to_simple
from crudql.models import Contact
from crudql.request import effective_sort

SCHEMA = crudql.Schema.from_model(Contact)


def keys(*spec: str) -> list[SortKey]:
    """keys("-a", "b") -> [SortKey("a", True), SortKey("b", False)]"""
    return [SortKey(s.lstrip("-"), s.startswith("-")) for s in spec]


def error(text: Any, style: str = "simple", schema: Any = SCHEMA, **kw: Any) -> QueryError:
    with pytest.raises(QueryError) as exc:
        parse_sort(text, style=style, schema=schema, **kw)
    return exc.value


# --------------------------------------------------------------------------- simple style


@pytest.mark.parametrize(
    "text,expected",
    [
        ("-creation_time,name", keys("-creation_time", "name")),
        ("creation_time:desc,name:asc", keys("-creation_time", "name")),
        ("+name", keys("name")),
        ("name", keys("name")),
        ("name:ASC", keys("name")),
        ("name:Desc", keys("-name")),
        ("name:DESC,id:asc", keys("-name", "id")),
        (" -creation_time , name ", keys("-creation_time", "name")),
        ("-info.cosellPartnerMetrics.accountCount", keys("-info.cosell_partner_metrics.account_count")),
    ],
)
def test_simple_style(text: str, expected: list[SortKey]) -> None:
    assert parse_sort(text, schema=SCHEMA) == expected


def test_the_spec_equivalence() -> None:
    assert parse_sort("-creation_time,name") == parse_sort("creation_time:desc,name:asc")
    assert parse_sort("-creation_time,name", schema=SCHEMA) == parse_sort("creation_time:desc,name:asc", schema=SCHEMA)


def test_keys_are_returned_as_written_without_the_id_tiebreak() -> None:
    # Decision: parse_sort returns the keys as written; the request layer appends `id`.
    assert parse_sort("name", schema=SCHEMA) == keys("name")
    assert parse_sort("name") == keys("name")
    assert effective_sort(parse_sort("name", schema=SCHEMA), SCHEMA) == keys("name", "id")
    assert effective_sort(parse_sort("-id,name", schema=SCHEMA), SCHEMA) == keys("-id", "name")
    assert effective_sort([], SCHEMA) == keys("id")


@pytest.mark.parametrize("text", [None, "", "  ", "\n"])
def test_blank_sort_has_no_keys(text: Any) -> None:
    assert parse_sort(text) == []
    assert parse_sort(text, style="json") == []


def test_aliases_resolve_to_canonical_names() -> None:
    assert parse_sort("-creationTime,info.companyName", schema=SCHEMA) == keys("-creation_time", "info.company_name")
    assert parse_sort("organizationID", schema=SCHEMA) == keys("organization_id")
    # Without a schema the names stay as written.
    assert parse_sort("-creationTime") == keys("-creationTime")


def test_checked_keys_carry_the_resolved_field() -> None:
    (key,) = parse_sort("-info.companyName", schema=SCHEMA)
    assert key.resolved is not None
    assert key.resolved.path == ("info", "company_name")
    assert key.resolved.json_path == ("info", "companyName")
    assert key.path == ("info", "company_name")


def test_dict_key_paths_are_sortable() -> None:
    assert parse_sort("-info.cosellPartnerMetrics.pipeline.USD", schema=SCHEMA) == keys(
        "-info.cosell_partner_metrics.pipeline.USD"
    )
    assert parse_sort("info.cosellPartnerMetrics.pipeline.USD,-info.cosellPartnerMetrics.pipeline.EUR", schema=SCHEMA) == keys(
        "info.cosell_partner_metrics.pipeline.USD", "-info.cosell_partner_metrics.pipeline.EUR"
    )


def test_scalars_of_every_kind_are_sortable() -> None:
    text = "id,name,creation_time,info.partner,info.cosellPartnerMetrics.successRate,info.enrichedContactInfo.info.isPrimary"
    assert len(parse_sort(text, schema=SCHEMA)) == 6


# --------------------------------------------------------------------------- JSON style


@pytest.mark.parametrize(
    "value,expected",
    [
        ([{"field": "creation_time", "order": "desc"}, {"field": "name"}], keys("-creation_time", "name")),
        (["-creation_time", "name"], keys("-creation_time", "name")),
        (["-creation_time", {"field": "name", "order": "asc"}], keys("-creation_time", "name")),
        ([{"field": "name", "order": "DESC"}], keys("-name")),
        ([{"order": "desc", "field": "name"}], keys("-name")),
        (["name:desc", "+id"], keys("-name", "id")),
        ([], []),
    ],
)
def test_json_style(value: Any, expected: list[SortKey]) -> None:
    assert parse_sort(json.dumps(value), style="json", schema=SCHEMA) == expected
    assert parse_sort(value, style="json", schema=SCHEMA) == expected
    assert parse_sort(json.dumps(value), style="JSON", schema=SCHEMA) == expected


def test_both_styles_agree() -> None:
    assert parse_sort("-creation_time,name", schema=SCHEMA) == parse_sort(
        '[{"field": "creation_time", "order": "desc"}, {"field": "name"}]', style="json", schema=SCHEMA
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text,code",
    [
        ("creation_time,-creationTime", "sort"),  # duplicate after alias resolution
        ("name,name", "sort"),
        ("name,-name", "sort"),
        ("info.companyName,info.company_name:desc", "sort"),
        ("name:up", "sort"),  # bad direction
        ("name:ascending", "sort"),
        ("name:", "sort"),
        ("-name:asc", "sort"),  # two directions
        ("--name", "sort"),
        ("+-name", "sort"),
        ("name,,id", "sort"),
        ("name,", "sort"),
        (",name", "sort"),
        ("a b", "sort"),
        ("tags", "sort"),  # array field
        ("info.cosellPartnerMetrics.accounts", "sort"),
        ("info.cosellPartnerMetrics.accounts.*.name", "sort"),  # * path
        ("info", "sort"),  # object field
        ("info.cosellPartnerMetrics.pipeline", "sort"),  # a map as a whole
        ("nmae", "unknown_field"),
        ("ID", "unknown_field"),
        ("info.nmae", "unknown_field"),
    ],
)
def test_simple_errors(text: str, code: str) -> None:
    assert error(text).code == code


def test_star_paths_are_not_sortable_even_without_a_schema() -> None:
    assert error("a.*.b", schema=None).code == "sort"


def test_duplicates_are_found_without_a_schema_too() -> None:
    assert error("name,-name", schema=None).code == "sort"


@pytest.mark.parametrize(
    "value,code",
    [
        ([{"field": "name", "order": "up"}], "sort"),
        ([{"field": "name", "order": 1}], "sort"),
        ([{"field": "name", "dir": "asc"}], "sort"),  # unknown key
        ([{"order": "asc"}], "sort"),  # no field
        ([{"field": ""}], "sort"),
        ([{"field": 1}], "sort"),
        ([{"field": "name"}, "-name"], "sort"),  # duplicate
        (["creation_time", {"field": "creationTime", "order": "desc"}], "sort"),
        ([{"field": "tags"}], "sort"),  # array field
        (["info.cosellPartnerMetrics.accounts.*.name"], "sort"),
        (["nmae"], "unknown_field"),
        ({"field": "name"}, "sort"),  # not a list
        ([1], "sort"),
        ([["name"]], "sort"),
        ([None], "sort"),
        (["-name:asc"], "sort"),
    ],
)
def test_json_errors(value: Any, code: str) -> None:
    assert error(json.dumps(value), style="json").code == code
    assert error(value, style="json").code == code


def test_a_json_string_is_not_a_sort() -> None:
    assert error('"name"', style="json").code == "sort"


def test_json_null_means_no_keys_as_for_filters() -> None:
    assert parse_sort("null", style="json") == []
    assert parse_sort(" null ", style="json", schema=SCHEMA) == []


@pytest.mark.parametrize("text", ["[", '[{"field": "name"]', "name", "[-name]", "['name']", '["name",]'])
def test_json_syntax_errors(text: str) -> None:
    assert error(text, style="json").code == "syntax"


def test_unknown_sort_style() -> None:
    assert error("name", style="sql").code == "request"


def test_a_simple_sort_must_be_text() -> None:
    assert error(["name"], style="simple").code == "sort"


# --------------------------------------------------------------------------- printers


@pytest.mark.parametrize(
    "ks",
    [
        keys("name"),
        keys("-creation_time", "name"),
        keys("-info.cosell_partner_metrics.pipeline.USD", "id"),
        [],
    ],
)
def test_printers_round_trip(ks: list[SortKey]) -> None:
    assert parse_sort(sort_to_simple(ks)) == ks
    assert parse_sort(sort_to_json(ks), style="json") == ks
    assert parse_sort(sort_to_simple(ks), schema=SCHEMA) == ks
    assert parse_sort(sort_to_json(ks), style="json", schema=SCHEMA) == ks


def test_printer_output() -> None:
    ks = keys("-creation_time", "name")
    assert sort_to_simple(ks) == "-creation_time,name"
    assert json.loads(sort_to_json(ks)) == [{"field": "creation_time", "order": "desc"}, {"field": "name", "order": "asc"}]


def test_checked_keys_print_canonically() -> None:
    ks = parse_sort("-creationTime,info.companyName:asc", schema=SCHEMA)
    assert sort_to_simple(ks) == "-creation_time,info.company_name"


def test_sort_keys_are_values() -> None:
    assert SortKey("a", True) == SortKey("a", True) != SortKey("a", False)
    assert hash(SortKey("a")) == hash(SortKey("a"))
    assert SortKey("a").descending is False
