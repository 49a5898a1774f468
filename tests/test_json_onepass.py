"""The one-pass JSON path (`crudql.json_onepass`) against the reference path it stands in for
(convert with `crudql.syntax.json_filter`, bound with `check_cost`, check with the checker):
whatever it takes, it builds the reference's tree; whatever is a mistake, it leaves to the
reference; and through `parse_filter` trees and errors are the reference's, on valid filters
and on documents made of near-misses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crudql
from crudql.ast import And, Expr, Not, Or, Predicate, Quantified
from crudql.check.checker import check_filter
from crudql.errors import QueryError
from crudql.json_onepass import parse_json_onepass
from crudql.limits import Limits, check_cost
from crudql.operators import OPERATORS
from crudql.parse import parse_filter_uncached
from crudql.syntax.json_filter import parse_json_filter
from crudql.syntax.printer import to_json_value
from support.strategies import SCHEMA, filter_texts

TIGHT = Limits(max_depth=3, max_list=2, max_predicates=3, max_path_segments=2)
LIMITS = (crudql.DEFAULT_LIMITS, TIGHT)


def reference(text: str, schema: crudql.Schema | None, limits: Limits) -> Any:
    """The tree, or the error as (class, message, position), of the reference path."""

    def check(expr: Expr) -> Expr:
        check_cost(expr, limits)
        return expr if schema is None else check_filter(expr, schema)

    try:
        return parse_json_filter(text, limits, check)
    except QueryError as exc:
        return (type(exc), exc.message, exc.position, exc.length)


def entry(text: str, schema: crudql.Schema | None, limits: Limits) -> Any:
    """The same through `parse_filter`'s uncached entry point (one-pass first)."""
    try:
        return parse_filter_uncached(text, "json", schema, limits)
    except QueryError as exc:
        return (type(exc), exc.message, exc.position, exc.length)


def assert_agrees(text: str) -> list[bool]:
    """One-pass and reference agree on `text`, with and without the schema, under both limits;
    which of the four runs the one-pass walk took."""
    taken = []
    for schema in (SCHEMA, None):
        for limits in LIMITS:
            expected = reference(text, schema, limits)
            fast = parse_json_onepass(text, schema, limits)
            if fast is not None:
                assert isinstance(expected, (And, Or, Not, Predicate, Quantified)), (text, expected)
                assert fast == expected and hash(fast) == hash(expected)
                assert repr(fast) == repr(expected)  # values' types and checked fields too
            got = entry(text, schema, limits)
            assert got == expected and repr(got) == repr(expected), text
            taken.append(fast is not None)
    return taken


def object_form(expr: Expr, array: Any) -> Any:
    """The one-key object form of a tree (`array`: its array form)."""
    if isinstance(expr, (And, Or)):
        return {array[0]: [object_form(c, a) for c, a in zip(expr.children, array[1:])]}
    if isinstance(expr, Not):
        return {"not": object_form(expr.child, array[1])}
    if isinstance(expr, Quantified):
        return {array[0]: [array[1], object_form(expr.condition, array[2])]}
    return {array[0]: array[1:]}


@given(filter_texts(), st.booleans())
def test_valid_filters_take_the_one_pass_walk_and_build_the_reference_tree(text: str, objects: bool) -> None:
    expr = crudql.parse_filter(text)
    array = to_json_value(expr)
    assert expr is not None
    document = json.dumps(object_form(expr, array) if objects else array)
    taken = assert_agrees(document)
    if "*" not in document:  # '*' paths are rewritten by the checker, on the reference path
        assert taken[0] and taken[2]  # default limits, with and without the schema


# ------------------------------------------------------------------ near-misses

_NAMES = sorted({n for op in OPERATORS for n in op.names} | {"AND", "Eq", "now", "Now", "nope", "", "between"})
_PATHS = (
    "name",
    "organizationID",
    "organization_id",
    "tags",
    "info",
    "info.partner",
    "info.cosellPartnerMetrics.accountCount",
    "info.cosellPartnerMetrics.successRate",
    "info.cosellPartnerMetrics.pipeline.USD",
    "info.cosellPartnerMetrics.accounts",
    "info.cosellPartnerMetrics.accounts.*.industry",
    "info.enrichedContactInfo.status",
    "info.enrichedContactInfo.info.isPrimary",
    "creationTime",
    "industry",
    "type",
    "nmae",
    "a..b",
    "*.x",
    "a.b.c",
    "\ud800",
    "",
)
_SCALARS = st.sampled_from(
    [
        "AWS",
        "GCP",
        "org_acme",
        "%an%",
        "a\\",
        "a\\\\",
        "2024-01-01",
        "2024-13-01",
        "Software",
        "ACTIVE",
        "",
        "\ud800",
        0,
        2,
        -1,
        2**63,
        10**30,
        1.5,
        -0.0,
        True,
        False,
        None,
    ]
)
_NOW = st.sampled_from(
    [{"now": "-7d"}, {"now": None}, {"NOW": "+1h"}, {"now": 5}, {"now": "soon"}, {"now": []}, {"now": "-1d", "x": 1}]
)
_VALUES = st.one_of(_SCALARS, _NOW, st.lists(st.one_of(_SCALARS, _NOW), max_size=3))


def _nodes(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    name = st.sampled_from(_NAMES)
    arg = st.one_of(st.sampled_from(_PATHS), _VALUES, children)
    array = st.builds(lambda n, args: [n, *args], name, st.lists(arg, max_size=4))
    obj = st.one_of(
        st.builds(lambda n, args: {n: args}, name, st.lists(arg, max_size=4)),
        st.builds(lambda n, a: {n: a}, name, arg),
        st.dictionaries(name, arg, max_size=2),
    )
    return st.one_of(array, obj)


_DOCUMENTS = st.recursive(_nodes(st.nothing()), _nodes, max_leaves=12)


@given(_DOCUMENTS)
def test_near_misses_agree_with_the_reference(document: Any) -> None:
    assert_agrees(json.dumps(document))


def _places(document: Any, here: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Every place in a document's array form (a list index path)."""
    out = [here]
    if isinstance(document, list):
        for i, item in enumerate(document):
            out.extend(_places(item, (*here, i)))
    return out


def _replace(document: Any, place: tuple[int, ...], value: Any) -> Any:
    if not place:
        return value
    copy = list(document)
    copy[place[0]] = _replace(copy[place[0]], place[1:], value)
    return copy


@st.composite
def _mutants(draw: st.DrawFn) -> Any:
    """A valid filter's array form with one place replaced: a near-miss, or another valid filter."""
    expr = crudql.parse_filter(draw(filter_texts()))
    document = to_json_value(expr)
    place = draw(st.sampled_from(_places(document)))
    value = draw(st.one_of(st.sampled_from(_NAMES), st.sampled_from(_PATHS), _VALUES))
    return _replace(document, place, value)


@given(_mutants())
def test_one_change_from_a_valid_filter_agrees_with_the_reference(document: Any) -> None:
    assert_agrees(json.dumps(document))


@given(_DOCUMENTS, st.sampled_from(["", "]", " x", "{", ",", "// c"]))
def test_invalid_json_is_left_to_the_reference(document: Any, tail: str) -> None:
    text = json.dumps(document) + tail
    if tail:
        assert not any(assert_agrees(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "null",
        '"  "',
        "[]",
        "{}",
        "1e999",
        '["=", "info.cosellPartnerMetrics.successRate", 1e999]',
        '["in", "info.partner", ["AWS", ' + ", ".join(['"GCP"'] * 1000) + "]]",
        '["and", ' + ", ".join(['["=", "name", "x"]'] * 257) + "]",
        "[" * 100 + "]" * 100,
        '["=", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", 1]',
        '["<", "creationTime", {"now": "-7d"}]',
        '["in", "creationTime", [{"now": null}, "2024-01-01"]]',
        '["any", "info.cosellPartnerMetrics.accounts", ["=", "industry", "Software"]]',
        '["all", "info.cosellPartnerMetrics.accounts.*.opportunities", ["=", "stageName", "x"]]',
        '["!=", "info.cosellPartnerMetrics.accounts.*.industry", "Software"]',
        '{"exists": "tags"}',
        '{"not": ["has", "tags", "x"]}',
        '{"not": {"has": ["tags", "x"]}}',
        '["=", "name", "x"',
    ],
)
def test_edges_agree_with_the_reference(text: str) -> None:
    assert_agrees(text)


def test_the_benchmark_filter_takes_the_one_pass_walk() -> None:
    text = json.dumps(
        [
            "and",
            ["=", "organizationID", "org-1"],
            ["in", "info.partner", ["AWS", "GCP"]],
            [">=", "info.cosellPartnerMetrics.accountCount", 10],
            ["ilike", "name", "%an%"],
            ["not", ["has", "tags", "churned"]],
        ]
    )
    assert all(assert_agrees(text)[::2])
