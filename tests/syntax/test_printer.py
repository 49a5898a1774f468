"""`to_lisp` / `to_json` (docs/spec/LANGUAGE.md §3): canonical text, and `parse(to_x(ast)) == ast`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

import crudql
from crudql import parse_filter, to_json, to_lisp
from crudql.ast import And, Field, Literal, Not, Or, Predicate, Quantified
from crudql.models import Contact
from support.builders import F, P

SCHEMA = crudql.Schema.from_model(Contact)



CASES: list[tuple[Any, str, Any]] = [
    (P("=", "name", "x"), '(= name "x")', ["=", "name", "x"]),
    (P("!=", "info.partner", None), "(!= info.partner null)", ["!=", "info.partner", None]),
    (P("in", "f", [1, 2.5, True, None, "s"]), '(in f (1 2.5 true null "s"))', ["in", "f", [1, 2.5, True, None, "s"]]),
    (P("has-all", "tags", []), "(has-all tags ())", ["has-all", "tags", []]),
    (P("between", "f", -1, 1e300), "(between f -1 1e+300)", ["between", "f", -1, 1e300]),
    (P("exists", "tags"), "(exists tags)", ["exists", "tags"]),
    (
        And((P("=", "a", 1), Or((P("=", "b", 2), Not(P("is-null", "c")))))),
        "(and (= a 1) (or (= b 2) (not (is-null c))))",
        ["and", ["=", "a", 1], ["or", ["=", "b", 2], ["not", ["is-null", "c"]]]],
    ),
    (
        Quantified("any", F("info.cosellPartnerMetrics.accounts"), P("=", "industry", "Software")),
        '(any info.cosellPartnerMetrics.accounts (= industry "Software"))',
        ["any", "info.cosellPartnerMetrics.accounts", ["=", "industry", "Software"]],
    ),
    (P("=", "a.*.b", "x"), '(= a.*.b "x")', ["=", "a.*.b", "x"]),
]


@pytest.mark.parametrize("node,lisp,array", CASES)
def test_canonical_text(node: Any, lisp: str, array: Any) -> None:
    assert to_lisp(node) == lisp
    assert json.loads(to_json(node)) == array
    assert parse_filter(lisp) == node
    assert parse_filter(to_json(node), style="json") == node


def test_to_json_is_an_array_and_to_lisp_a_form() -> None:
    node = parse_filter('(and (= name "x") (exists tags))')
    assert isinstance(json.loads(to_json(node)), list)
    assert to_lisp(node).startswith("(and ")


def test_match_all_prints_as_blank_and_null() -> None:
    assert to_lisp(None) == ""
    assert json.loads(to_json(None)) is None
    assert parse_filter(to_lisp(None)) is None
    assert parse_filter(to_json(None), style="json") is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        'quote " and backslash \\ and slash /',
        "newline\nand tab\t and CR\r",
        "\x00\x01\x1f control",
        "é Å 日本 \U0001f600",
        "\u2028 line separator \u2029",
        ";not a comment",
        "(not a form)",
        "%_\\",
        -0.0,
        1e300,
        -1e-7,
        5e-324,
        1.7976931348623157e308,
        0.1,
        2**63 - 1,
        -(2**63),
        10**40,
        0,
        True,
        False,
        None,
    ],
)
def test_literals_round_trip(value: Any) -> None:
    node = P("=", "f", value)
    for parsed in (parse_filter(to_lisp(node)), parse_filter(to_json(node), style="json")):
        assert parsed == node
        got = parsed.args[0].value  # type: ignore[union-attr]
        assert type(got) is type(value)
        if isinstance(value, float):
            assert repr(got) == repr(value)  # -0.0 stays -0.0


@pytest.mark.parametrize(
    "path",
    ["true", "false", "null", "1abc", "-x", "a b", "with;semicolon", 'q"uote', "(paren)", "é.ü", "a.*.b", "$x", "_x"],
)
def test_fields_that_need_quotes_round_trip(path: str) -> None:
    node = Predicate("exists", Field(tuple(path.split("."))))
    assert parse_filter(to_lisp(node)) == node
    assert parse_filter(to_json(node), style="json") == node


def test_checked_trees_round_trip_through_a_parse_with_the_same_schema() -> None:
    texts = [
        '(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 10))',
        '(between creationTime "2024-01-01" "2024-06-30T12:00:00.5+02:00")',
        '(!= info.cosellPartnerMetrics.accounts.*.opportunities.*.stageName "Closed Won")',
        '(in info.enrichedContactInfo.status ("active" null))',
        "(> info.cosellPartnerMetrics.pipeline.USD 1e6)",
        '(all info.enrichedContactInfo.info.workExperiences (< startDate "2020-01-01T00:00:00-08:00"))',
        '(has-any tags ("a" "b"))',
    ]
    for text in texts:
        checked = parse_filter(text, schema=SCHEMA)
        assert parse_filter(to_lisp(checked), schema=SCHEMA) == checked
        assert parse_filter(to_json(checked), style="json", schema=SCHEMA) == checked


def test_checked_trees_print_python_names_and_utc_instants() -> None:
    checked = parse_filter('(between creationTime "2024-01-01" "2024-06-30T12:00:00+02:00")', schema=SCHEMA)
    assert to_lisp(checked) == '(between creation_time "2024-01-01T00:00:00Z" "2024-06-30T10:00:00Z")'
    assert json.loads(to_json(checked)) == ["between", "creation_time", "2024-01-01T00:00:00Z", "2024-06-30T10:00:00Z"]


def test_star_paths_print_as_any_once_checked() -> None:
    checked = parse_filter('(!= info.cosellPartnerMetrics.accounts.*.industry "x")', schema=SCHEMA)
    assert to_lisp(checked) == '(not (any info.cosell_partner_metrics.accounts (= industry "x")))'


def test_printing_a_date_literal() -> None:
    node = Predicate("=", F("d"), (Literal(dt.date(2024, 2, 29)),))
    assert to_lisp(node) == '(= d "2024-02-29")'
    assert json.loads(to_json(node)) == ["=", "d", "2024-02-29"]


def test_to_json_text_keeps_unicode_readable() -> None:
    assert "é" in to_json(P("=", "f", "é"))
