"""Input limits (docs/spec/LANGUAGE.md §6): length 10,000, depth 32 (each form and each list is a level,
the same in lisp and JSON), list length 1,000, sort keys 32 — each configurable through
`crudql.Limits`. At the limit passes, one over fails with code `limit`; far over never crashes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import crudql
from crudql import Limits, QueryError, parse_filter, parse_sort
from crudql.ast import And, ListValue, Not, Or, Predicate, Quantified
from crudql.models import Contact
from support.builders import P

SCHEMA = crudql.Schema.from_model(Contact)


def limit_error(call: Callable[[], Any]) -> QueryError:
    with pytest.raises(QueryError) as exc:
        call()
    assert exc.value.code == "limit", exc.value.message
    return exc.value


def depth_of(node: Any) -> int:
    """The depth of a parsed tree as the limit counts it: each form is a level, and so is a list."""
    if isinstance(node, (And, Or)):
        return 1 + max(depth_of(c) for c in node.children)
    if isinstance(node, Not):
        return 1 + depth_of(node.child)
    if isinstance(node, Quantified):
        return 1 + depth_of(node.condition)
    assert isinstance(node, Predicate), node
    return 1 + any(isinstance(a, ListValue) for a in node.args)


def test_defaults() -> None:
    d = crudql.DEFAULT_LIMITS
    assert (d.max_length, d.max_depth, d.max_list, d.max_sort_keys) == (10_000, 32, 1_000, 32)
    assert Limits() == d


# --------------------------------------------------------------------------- nesting builders
# `depth` counts forms and lists: (exists a) is 1, (not (exists a)) is 2, (in a (1)) is 2.


def lisp_nots(depth: int) -> str:
    return "(not " * (depth - 1) + "(exists a)" + ")" * (depth - 1)


def lisp_list_at(depth: int) -> str:
    return "(not " * (depth - 2) + "(in a (1))" + ")" * (depth - 2)


def lisp_ands(depth: int) -> str:
    return "(and " * (depth - 1) + "(= a 1)" + ")" * (depth - 1)


def array_nots(depth: int) -> Any:
    node: Any = ["exists", "a"]
    for _ in range(depth - 1):
        node = ["not", node]
    return node


def array_list_at(depth: int) -> Any:
    node: Any = ["in", "a", [1]]
    for _ in range(depth - 2):
        node = ["and", node]
    return node


def object_nots(depth: int) -> Any:
    node: Any = {"exists": "a"}
    for _ in range(depth - 1):
        node = {"not": node}
    return node


def object_ands(depth: int) -> Any:
    # {"and": [...]}: the argument array is not a level of its own.
    node: Any = {"=": ["a", 1]}
    for _ in range(depth - 1):
        node = {"and": [node]}
    return node


def object_list_at(depth: int) -> Any:
    node: Any = {"in": ["a", [1]]}
    for _ in range(depth - 2):
        node = {"and": [node]}
    return node


def object_any(depth: int) -> Any:
    node: Any = {"exists": "b"}
    for _ in range(depth - 1):
        node = {"any": ["a", node]}
    return node


LISP_BUILDERS = [lisp_nots, lisp_list_at, lisp_ands]
JSON_BUILDERS = [array_nots, array_list_at, object_nots, object_ands, object_list_at, object_any]


@pytest.mark.parametrize("build", LISP_BUILDERS)
@pytest.mark.parametrize("limit", [32, 5, 2])
def test_lisp_depth(build: Callable[[int], str], limit: int) -> None:
    limits = Limits(max_depth=limit)
    kw = {} if limit == 32 else {"limits": limits}
    tree = parse_filter(build(limit), **kw)
    assert depth_of(tree) == limit  # the whole nesting, nothing dropped
    assert crudql.to_lisp(tree) == build(limit)
    e = limit_error(lambda: parse_filter(build(limit + 1), **kw))
    assert e.position is not None and e.line == 1


@pytest.mark.parametrize("build", JSON_BUILDERS)
@pytest.mark.parametrize("limit", [32, 5, 2])
def test_json_depth(build: Callable[[int], Any], limit: int) -> None:
    kw = {} if limit == 32 else {"limits": Limits(max_depth=limit)}
    tree = parse_filter(json.dumps(build(limit)), style="json", **kw)
    assert depth_of(tree) == limit  # the whole nesting, nothing dropped
    limit_error(lambda: parse_filter(json.dumps(build(limit + 1)), style="json", **kw))
    # Python objects obey the same limit.
    assert parse_filter(build(limit), style="json", **kw) == tree
    limit_error(lambda: parse_filter(build(limit + 1), style="json", **kw))


def test_depth_is_the_same_in_lisp_and_json() -> None:
    for depth in (31, 32, 33):
        lisp_ok = json_ok = True
        try:
            parse_filter(lisp_list_at(depth))
        except QueryError:
            lisp_ok = False
        try:
            parse_filter(json.dumps(array_list_at(depth)), style="json")
        except QueryError:
            json_ok = False
        assert lisp_ok == json_ok == (depth <= 32)


def test_depth_limit_applies_to_checked_trees() -> None:
    deep = "(any info.cosellPartnerMetrics.accounts " * 31 + "(exists id)" + ")" * 31
    with pytest.raises(QueryError):  # accounts have no accounts: an unknown field, not a crash
        parse_filter(deep, schema=SCHEMA)
    checked = parse_filter(lisp_nots(32).replace("(exists a)", "(exists tags)"), schema=SCHEMA)
    assert depth_of(checked) == 32


# --------------------------------------------------------------------------- length


def test_length_limit_exactly() -> None:
    at = '(= a "' + "x" * (10_000 - 8) + '")'
    assert len(at) == 10_000
    assert parse_filter(at) == P("=", "a", "x" * (10_000 - 8))
    over = '(= a "' + "x" * (10_000 - 7) + '")'
    e = limit_error(lambda: parse_filter(over))
    assert "10,000" in e.message
    blank = " " * 10_001  # even blank text over the limit is refused: nothing is read past it
    limit_error(lambda: parse_filter(blank))


def test_length_limit_json() -> None:
    at = json.dumps(["=", "a", "x" * (10_000 - 14)])
    assert len(at) == 10_000
    assert parse_filter(at, style="json") == P("=", "a", "x" * (10_000 - 14))
    over = json.dumps(["=", "a", "x" * (10_000 - 13)])
    limit_error(lambda: parse_filter(over, style="json"))


def test_length_limit_is_configurable() -> None:
    limits = Limits(max_length=20)
    assert parse_filter('(= a "' + "x" * 12 + '")', limits=limits) == P("=", "a", "x" * 12)
    limit_error(lambda: parse_filter('(= a "' + "x" * 13 + '")', limits=limits))
    big = '(= a "' + "x" * 20_000 + '")'
    assert parse_filter(big, limits=Limits(max_length=30_000)) == P("=", "a", "x" * 20_000)


def test_sort_length_limit() -> None:
    limit_error(lambda: parse_sort("a," * 5_001))
    limit_error(lambda: parse_sort("name", limits=Limits(max_length=3)))


# --------------------------------------------------------------------------- list length


def test_list_length() -> None:
    at = "(in a (" + " 1" * 1000 + "))"
    assert parse_filter(at) == P("in", "a", [1] * 1000)
    limit_error(lambda: parse_filter("(in a (" + " 1" * 1001 + "))"))
    limit_error(lambda: parse_filter("(in a [" + " 1" * 1001 + "])"))
    assert parse_filter(json.dumps(["in", "a", [1] * 1000]), style="json") == P("in", "a", [1] * 1000)
    limit_error(lambda: parse_filter(json.dumps(["in", "a", [1] * 1001]), style="json"))
    limit_error(lambda: parse_filter(json.dumps({"in": ["a", [1] * 1001]}), style="json"))
    limit_error(lambda: parse_filter(["in", "a", [1] * 1001], style="json"))


def test_list_length_is_configurable() -> None:
    limits = Limits(max_list=3)
    assert parse_filter('(has-any tags ("a" "b" "c"))', limits=limits) == P("has-any", "tags", ["a", "b", "c"])
    limit_error(lambda: parse_filter('(has-any tags ("a" "b" "c" "d"))', limits=limits))
    limit_error(lambda: parse_filter('["has-all", "tags", ["a", "b", "c", "d"]]', style="json", limits=limits))


# --------------------------------------------------------------------------- sort keys


def _pipeline_keys(n: int) -> str:
    return ",".join(f"info.cosellPartnerMetrics.pipeline.C{i}" for i in range(n))


def test_sort_keys() -> None:
    assert len(parse_sort(_pipeline_keys(32), schema=SCHEMA)) == 32
    limit_error(lambda: parse_sort(_pipeline_keys(33), schema=SCHEMA))
    as_json = json.dumps([f"k{i}" for i in range(33)])
    limit_error(lambda: parse_sort(as_json, style="json"))
    assert len(parse_sort(json.dumps([f"k{i}" for i in range(32)]), style="json")) == 32


def test_sort_keys_are_configurable() -> None:
    limits = Limits(max_sort_keys=2)
    assert len(parse_sort("a,-b", limits=limits)) == 2
    limit_error(lambda: parse_sort("a,-b,c", limits=limits))
    limit_error(lambda: parse_sort('["a", "-b", "c"]', style="json", limits=limits))


# --------------------------------------------------------------------------- far over the limit


def test_a_million_open_parens() -> None:
    limit_error(lambda: parse_filter("(" * 1_000_000))


def test_100000_nested_parens_with_a_raised_length_limit() -> None:
    limits = Limits(max_length=2_000_000)
    e = limit_error(lambda: parse_filter("(" * 100_000, limits=limits))
    assert "32" in e.message
    limit_error(lambda: parse_filter("(not " * 100_000 + "(exists a)" + ")" * 100_000, limits=limits))
    limit_error(lambda: parse_filter("(in a " + "(" * 100_000, limits=limits))
    # Lists do not nest, so a run of '[' is a syntax error at the second one.
    with pytest.raises(QueryError) as exc:
        parse_filter("[" * 100_000, limits=limits)
    assert (exc.value.code, exc.value.position) == ("syntax", 1)


def test_1100_deep_json_array() -> None:
    text = "[" * 1100 + "]" * 1100
    limit_error(lambda: parse_filter(text, style="json"))
    limit_error(lambda: parse_sort(text, style="json"))
    limits = Limits(max_length=10_000_000)
    limit_error(lambda: parse_filter("[" * 1_000_000, style="json", limits=limits))
    limit_error(lambda: parse_filter("[" * 100_000 + "]" * 100_000, style="json", limits=limits))


def test_deep_json_objects() -> None:
    text = '{"not": ' * 1100 + '{"exists": "a"}' + "}" * 1100
    limit_error(lambda: parse_filter(text, style="json"))
    limits = Limits(max_length=10_000_000)
    limit_error(lambda: parse_filter('{"a": ' * 200_000 + "1" + "}" * 200_000, style="json", limits=limits))
    limit_error(lambda: parse_filter('{"not": ' * 200_000, style="json", limits=limits))
    # Brackets inside strings are not nesting.
    assert parse_filter(json.dumps(["=", "a", "[{" * 2000]), style="json") == P("=", "a", "[{" * 2000)


def test_deep_python_objects() -> None:
    node: Any = ["exists", "a"]
    for _ in range(100_000):
        node = ["not", node]
    limit_error(lambda: parse_filter(node, style="json"))
    obj: Any = {"exists": "a"}
    for _ in range(100_000):
        obj = {"not": obj}
    limit_error(lambda: parse_filter(obj, style="json"))
    keys: Any = []
    for _ in range(100_000):
        keys = [keys]
    limit_error(lambda: parse_sort(keys, style="json"))


def test_a_long_flat_and_is_fine() -> None:
    # Width is not depth: many children within the length limit parse without recursion trouble.
    text = "(or " + " ".join(f"(= a {i})" for i in range(1_000)) + ")"
    wide = Limits(max_length=20_000, max_predicates=1_000)
    node = parse_filter(text, limits=wide)
    assert isinstance(node, Or) and len(node.children) == 1_000
    assert crudql.to_lisp(node) == text
    assert parse_filter(crudql.to_json(node), style="json", limits=wide) == node


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        Limits(max_depth=0)
