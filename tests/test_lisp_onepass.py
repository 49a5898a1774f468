"""Lisp filters checked as they are built (`crudql.lisp_onepass`) against the reference way
(parse, `check_cost`, then the checker's walk): the same trees, spans included, and the same
errors; and where the one-pass check gives up, the reference finds a mistake."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crudql
from crudql.check.checker import check_filter
from crudql.errors import QueryError
from crudql.limits import Limits, check_cost
from crudql.lisp_onepass import LispCheck
from crudql.parse import parse_filter_uncached
from crudql.syntax.lisp import NotChecked, parse_lisp
from support.strategies import SCHEMA, filter_texts

TIGHT = Limits(max_depth=3, max_list=2, max_predicates=3, max_path_segments=2)
LIMITS = (crudql.DEFAULT_LIMITS, TIGHT)


def dump(value: Any) -> Any:
    """A tree as nested tuples, spans and values' types included (equality leaves spans out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, *((f.name, dump(getattr(value, f.name))) for f in fields))
    if isinstance(value, tuple):
        return tuple(dump(item) for item in value)
    return (type(value).__name__, value)


def error(exc: QueryError) -> Any:
    return (type(exc), exc.message, exc.position, exc.length)


def reference(text: str, limits: Limits) -> Any:
    try:
        expr = parse_lisp(text, limits)
        if expr is None:
            return None
        check_cost(expr, limits)
        return dump(check_filter(expr, SCHEMA))
    except QueryError as exc:
        return error(exc)


def assert_agrees(text: str) -> list[bool]:
    """Which of the runs (one per limits) the one-pass check took."""
    taken = []
    for limits in LIMITS:
        expected = reference(text, limits)
        try:
            expr = parse_lisp(text, limits, LispCheck(SCHEMA, limits))
            assert (None if expr is None else dump(expr)) == expected, text
            taken.append(True)
        except NotChecked:
            assert isinstance(expected, tuple) and isinstance(expected[0], type), text  # a mistake
            taken.append(False)
        except QueryError as exc:
            assert error(exc) == expected, text
            taken.append(False)
        try:
            got = parse_filter_uncached(text, "lisp", SCHEMA, limits)
            assert (None if got is None else dump(got)) == expected, text
        except QueryError as exc:
            assert error(exc) == expected, text
    return taken


@given(filter_texts())
def test_valid_filters_are_checked_as_they_are_built(text: str) -> None:
    assert assert_agrees(text)[0]  # under the default limits, valid means taken


_PIECES = [
    "(",
    ")",
    "[",
    "]",
    "((",
    '(now "-7d")',
    "(now)",
    '"x"',
    "nmae",
    "name",
    "tags",
    "info.partner",
    "info.cosellPartnerMetrics.accounts",
    "info.cosellPartnerMetrics.accounts.*.industry",
    "industry",
    "a..b",
    "and",
    "any",
    "ALL",
    "in",
    "=",
    "!=",
    "has",
    "ilike",
    "1",
    "2.5",
    "9223372036854775808",
    "true",
    "null",
    '"2024-01-01"',
    '"%a\\\\"',
    '("AWS" "GCP")',
    '("aws")',
    "(AWS GCP)",
    "(= name 1)",
    "(any info.cosellPartnerMetrics.accounts (= industry 1))",
    "; c\n",
    '"',
]


@st.composite
def _mutants(draw: st.DrawFn) -> str:
    """A valid filter with a few pieces inserted, dropped or replaced."""
    text = draw(filter_texts())
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        piece = draw(st.sampled_from(_PIECES))
        how = draw(st.integers(0, 2))
        if how == 0:
            text = text[:i] + " " + piece + " " + text[i:]
        elif how == 1:
            text = text[:i] + text[draw(st.integers(i, min(len(text), i + 8))) :]
        else:
            j = draw(st.integers(i, min(len(text), i + 8)))
            text = text[:i] + piece + text[j:]
    return text


@given(_mutants())
def test_near_misses_agree_with_the_reference(text: str) -> None:
    assert_agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ; nothing\n",
        '(= name "x")',
        '(in info.partner ("AWS" "GCP"))',
        '(in info.partner ("aws"))',
        '(!= info.cosellPartnerMetrics.accounts.*.industry "Software")',
        '(any info.cosellPartnerMetrics.accounts (all opportunities (= stageName "x")))',
        '(and (any info.cosellPartnerMetrics.accounts (= industry "x")) (= nmae "y"))',
        '(and (= nmae "y") (= a',
        '(and (= name 1) (= name "x")) x',
        '(not (and (= name "x")) - )and',
        '(< creationTime (now "-7d"))',
        '(= info.enrichedContactInfo.info.isPrimary "yes")',
        "(and " + '(= name "x") ' * 257 + ")",
        "(= a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q 1)",
        '(and (in f ((AWS GCP))) (= name "x"))',
        '(and (= name "x") (in info.partner (AWS GCP)))',
    ],
)
def test_edges_agree_with_the_reference(text: str) -> None:
    assert_agrees(text)
