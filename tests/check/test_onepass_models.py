"""The one-pass parse (`crudql.json_onepass`, `crudql.lisp_onepass`) builds the same checked
trees as the reference path (parse, bound, check) for a model that is not Contact: `Ticket`'s
defaults, UUID, Decimal, IntEnum, untyped dict, map keys and hidden field, on every filter of
the model conformance suite, in lisp and in JSON. (The generated agreement tests use Contact.)"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import crudql
from crudql.check.checker import check_filter
from crudql.json_onepass import parse_json_onepass
from crudql.limits import check_cost
from crudql.lisp_onepass import LispCheck
from crudql.parse import parse_filter_uncached
from crudql.syntax.json_filter import parse_json_filter
from crudql.syntax.lisp import parse_lisp
from support.ticket import Ticket
from test_conformance_models import REQUESTS

SCHEMA = crudql.Schema.from_model(Ticket)
LIMITS = crudql.DEFAULT_LIMITS
FILTERS = sorted({q for q, qs, *_ in REQUESTS if q is not None and qs == "lisp"})


def dump(value: Any) -> Any:
    """Value and type of everything in a tree, spans included (equality leaves spans out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *((f.name, dump(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, tuple):
        return tuple(dump(item) for item in value)
    return (type(value).__name__, value)


def _checked(expr: Any) -> Any:
    check_cost(expr, LIMITS)
    return check_filter(expr, SCHEMA)


def test_the_suite_has_filters_to_compare() -> None:
    assert len(FILTERS) > 40


@pytest.mark.parametrize("text", FILTERS)
def test_lisp_one_pass_equals_the_reference(text: str) -> None:
    expected = _checked(parse_lisp(text, LIMITS))
    # The one-pass check itself (it raises NotChecked where it gives up: none of these).
    assert dump(parse_lisp(text, LIMITS, LispCheck(SCHEMA, LIMITS))) == dump(expected)
    assert dump(parse_filter_uncached(text, "lisp", SCHEMA, LIMITS)) == dump(expected)


@pytest.mark.parametrize("text", FILTERS)
def test_json_one_pass_equals_the_reference(text: str) -> None:
    json_text = crudql.to_json(crudql.parse_filter(text))
    expected = parse_json_filter(json_text, LIMITS, _checked)
    fast = parse_json_onepass(json_text, SCHEMA, LIMITS)
    # The walk takes every filter here but '*' paths, which it leaves to the reference path.
    assert (fast is None) == ("*" in text)
    if fast is not None:
        assert fast == expected and repr(fast) == repr(expected)
    got = parse_filter_uncached(json_text, "json", SCHEMA, LIMITS)
    assert got == expected and repr(got) == repr(expected)
