"""The JSON filter style of docs/spec/LANGUAGE.md §3: array form, object form, their shorthands, and the
strictness rules (unknown keys, several keys, wrong arity are errors, never another tree)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import crudql
from crudql import parse_filter
from crudql.ast import And, Not, Or, Predicate, Quantified
from crudql.models import Contact
from support.builders import F, P

SCHEMA = crudql.Schema.from_model(Contact)



def pj(value: Any, **kw: Any) -> Any:
    """Parse JSON text (from a Python value)."""
    return parse_filter(json.dumps(value), style="json", **kw)


def code_of(value: Any, **kw: Any) -> str:
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter(value if isinstance(value, str) else json.dumps(value), style="json", **kw)
    return exc.value.code


# --------------------------------------------------------------------------- the two forms


def test_array_form() -> None:
    assert pj(["and", ["=", "name", "x"], ["in", "info.partner", ["AWS", "GCP"]]]) == And(
        (P("=", "name", "x"), P("in", "info.partner", ["AWS", "GCP"]))
    )


def test_object_form() -> None:
    assert pj({"and": [{"=": ["name", "x"]}, {"not": {"has": ["tags", "churned"]}}]}) == And(
        (P("=", "name", "x"), Not(P("has", "tags", "churned")))
    )


def test_forms_mix_freely() -> None:
    mixed = {"or": [["=", "name", "x"], {"not": ["exists", "tags"]}, ["not", {"exists": "tags"}]]}
    assert pj(mixed) == Or((P("=", "name", "x"), Not(P("exists", "tags")), Not(P("exists", "tags"))))


@pytest.mark.parametrize(
    "node",
    [
        {"not": {"exists": "tags"}},  # the node directly
        {"not": ["exists", "tags"]},  # an array-form node directly
        {"not": [{"exists": "tags"}]},  # the argument list
        {"not": [["exists", "tags"]]},
        ["not", {"exists": ["tags"]}],
    ],
)
def test_not_takes_its_node_directly_or_in_a_list(node: Any) -> None:
    assert pj(node) == Not(P("exists", "tags"))


@pytest.mark.parametrize("op", ["exists", "is-null"])
def test_one_argument_operators_take_their_field_directly(op: str) -> None:
    assert pj({op: "info.partner"}) == pj({op: ["info.partner"]}) == pj([op, "info.partner"]) == P(op, "info.partner")


def test_any_all_take_field_and_node() -> None:
    for op in ("any", "all"):
        expected = Quantified(op, F("info.cosellPartnerMetrics.accounts"), P("=", "industry", "x"))
        assert pj({op: ["info.cosellPartnerMetrics.accounts", {"=": ["industry", "x"]}]}) == expected
        assert pj({op: ["info.cosellPartnerMetrics.accounts", ["=", "industry", "x"]]}) == expected
        assert pj([op, "info.cosellPartnerMetrics.accounts", {"=": ["industry", "x"]}]) == expected


def test_values_are_json_literals() -> None:
    assert pj(["=", "f", None]) == P("=", "f", None)
    assert pj(["=", "f", True]) != pj(["=", "f", 1]) != pj(["=", "f", 1.0])
    assert pj(["in", "f", [1, 2.5, "x", False, None]]) == P("in", "f", [1, 2.5, "x", False, None])
    assert pj(["=", "f", "é \"q\" \\ \n"]) == P("=", "f", "é \"q\" \\ \n")


def test_a_string_in_value_position_is_a_string_not_a_field() -> None:
    assert pj(["=", "name", "info.partner"]) == P("=", "name", "info.partner")


def test_operator_names_in_json_are_case_insensitive() -> None:
    assert pj(["EQ", "name", "x"]) == pj({"Eq": ["name", "x"]}) == P("=", "name", "x")
    assert pj({"NOT-IN": ["name", ["x"]]}) == P("nin", "name", ["x"])
    assert pj({"AND": [{"Exists": "tags"}]}) == And((P("exists", "tags"),))


def test_python_objects_are_accepted() -> None:
    assert parse_filter(["=", "name", "x"], style="json") == P("=", "name", "x")
    assert parse_filter({"exists": "tags"}, style="json") == P("exists", "tags")
    assert parse_filter(("=", "name", "x"), style="json") == P("=", "name", "x")


def test_the_lisp_style_needs_text() -> None:
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter(["=", "name", "x"])
    assert exc.value.code == "request"


@pytest.mark.parametrize("text", ["", "  ", "\n", "null", " null ", '""', '"  "'])
def test_blank_or_null_json_means_match_all(text: str) -> None:
    assert parse_filter(text, style="json") is None
    assert parse_filter(text, style="json", schema=SCHEMA) is None


def test_none_means_match_all_in_both_styles() -> None:
    assert parse_filter(None, style="json") is None
    assert parse_filter(None, style="lisp") is None


def test_whitespace_around_json_is_free() -> None:
    assert parse_filter('\n  [ "=" ,\t"name" , "x" ]  \n', style="json") == P("=", "name", "x")


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    "node,code",
    [
        ({"=": ["name", "x"], "!=": ["name", "y"]}, "syntax"),  # two keys
        ({}, "syntax"),  # no key
        ({"frob": ["name", "x"]}, "unknown_operator"),  # unknown key
        ({"field": "name", "op": "="}, "syntax"),
        ({"=": ["name"]}, "arity"),
        ({"=": ["name", "x", "y"]}, "arity"),
        ({"between": ["f", 1]}, "arity"),
        ({"exists": ["a", "b"]}, "arity"),
        ({"any": ["a"]}, "arity"),
        ({"and": []}, "arity"),
        ({"not": []}, "arity"),
        ({"not": [{"exists": "a"}, {"exists": "b"}]}, "arity"),
        ({"=": "name"}, "syntax"),  # a two-argument operator needs its list
        ({"=": {"a": 1}}, "syntax"),
        ({"and": {"exists": "a"}}, "syntax"),
        ({"not": "a"}, "syntax"),
        ({"any": "a"}, "syntax"),
        ({"exists": 1}, "syntax"),
        (["=", "name"], "arity"),
        (["=", "name", "x", "y"], "arity"),
        (["and"], "arity"),
        (["not"], "arity"),
        (["not", ["exists", "a"], ["exists", "b"]], "arity"),
        ([], "syntax"),
        ([1, "a", 1], "syntax"),
        (["frob", "a", 1], "unknown_operator"),
        (["=", 1, 1], "syntax"),  # field must be a string
        (["=", ["a"], 1], "syntax"),
        (["=", "name", {"x": 1}], "syntax"),  # objects are nodes only
        (["=", "name", ["x"]], "syntax"),  # a list where one value goes
        (["in", "name", "x"], "syntax"),  # one value where a list goes
        (["in", "name", [["x"]]], "syntax"),  # lists do not nest
        (["in", "name", [{"=": ["a", 1]}]], "syntax"),
        (["and", 1], "syntax"),
        (["and", "name"], "syntax"),
        (["any", "a", 1], "syntax"),
        (["not", True], "syntax"),
        (1, "syntax"),
        (True, "syntax"),
        ("name", "syntax"),
        (["like", "name", 5], "type"),
        (["starts-with", "name", None], "type"),
        (["like", "name", "abc\\"], "syntax"),
        (["has", "tags", None], "type"),
        (["<", "f", None], "type"),
    ],
)
def test_bad_nodes_are_errors(node: Any, code: str) -> None:
    assert code_of(node) == code
    # The same node given as a Python object fails the same way.
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter(node, style="json")
    assert exc.value.code == code


def test_duplicate_keys_are_not_silently_merged() -> None:
    assert code_of('{"=": ["name", "x"], "=": ["name", "y"]}') == "syntax"
    assert code_of('{"and": [{"exists": "a", "exists": "b"}]}') == "syntax"


@pytest.mark.parametrize(
    "text",
    [
        '["=", "name", NaN]',
        '["=", "name", Infinity]',
        '["=", "name", -Infinity]',
        "['=', 'name', 'x']",  # single quotes
        '["=", "name", "x",]',  # trailing comma
        '["=", "name", "x"',  # unterminated
        '["=", "name", "x"]]',
        '["=", "name", "x"] ["=", "name", "y"]',
        '["=", "name", "\x01"]',  # raw control character
        '["=", "name", "\\x41"]',  # bad escape
        '["=", "name", "\\ud800"]',  # unpaired surrogate
        '["exists", "\\udc00"]',  # in a field too
        '["=", "name", "\ud800"]',  # raw, not escaped
        '["=", "name", 01]',
        '["=", "name", .5]',
        '["=", "name", True]',
        '{"=": ["name", "x"]',
        '{=: ["name", "x"]}',
        "[",
        "{",
        "]",
        '"',
    ],
)
def test_strict_json(text: str) -> None:
    assert code_of(text) == "syntax"


def test_numbers_out_of_range() -> None:
    assert code_of('["=", "f", 1e999]') == "type"
    assert code_of('["=", "f", -1e999]') == "type"
    assert code_of(["=", "info.cosellPartnerMetrics.accountCount", 2**63], schema=SCHEMA) == "type"
    assert code_of(["=", "info.cosellPartnerMetrics.accountCount", -(2**63) - 1], schema=SCHEMA) == "type"
    for bound in (2**63 - 1, -(2**63)):  # the int64 bounds themselves are accepted, exactly
        checked = pj(["=", "info.cosellPartnerMetrics.accountCount", bound], schema=SCHEMA)
        assert isinstance(checked, Predicate) and [a.value for a in checked.args] == [bound]
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter(["=", "f", float("nan")], style="json")
    assert exc.value.code == "type"
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter(["=", "f", float("inf")], style="json")
    assert exc.value.code == "type"


def test_huge_integer_texts_are_query_errors() -> None:
    # More digits than Python converts by default (4,300) but within the length limit.
    digits = "1" * 5000
    assert code_of(f'["=", "f", {digits}]') == "type"
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter(f"(= f {digits})")
    assert exc.value.code == "type"


def test_json_values_are_checked_like_lisp() -> None:
    for node in (
        ["=", "nmae", "x"],
        ["like", "info.cosellPartnerMetrics.accountCount", "1%"],
        ["=", "info.partner", "aws"],
        ["=", "info.cosellPartnerMetrics.accountCount", 1.5],
        ["<", "info.enrichedContactInfo.info.isPrimary", True],
        ["has", "name", "x"],
    ):
        lisp_code = None
        try:
            parse_filter(crudql.to_lisp(pj(node)), schema=SCHEMA)
        except crudql.QueryError as exc:
            lisp_code = exc.code
        assert lisp_code is not None
        assert code_of(node, schema=SCHEMA) == lisp_code


def test_unknown_style_is_a_request_error() -> None:
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter('["=", "a", 1]', style="xml")
    assert exc.value.code == "request"
