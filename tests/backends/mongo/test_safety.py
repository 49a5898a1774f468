"""Safety of the MongoDB backend: regular expressions and injection.

- LIKE, ILIKE, contains, starts-with and ends-with become regexes built from escaped pieces.
  They match exactly what `crudql.patterns.like_matcher` (the Python backend) matches, under
  Python's `re` (what mongomock and montydb run) and under PCRE2 (what MongoDB runs; checked
  through `grep -P` when the machine has it), and never backtrack across `%`.
- Client text is data: values that look like operators are compared as values, map keys that
  MongoDB would read as operators never reach it, and every compiled filter is built only from
  the operators the backend means to use.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crudql
from crudql.backends import mongo
from crudql.backends.mongo import MongoSource, compile_filter
from crudql.models import Contact
from crudql.patterns import escape_like, like_matcher
from crudql.request import PageRequest, run_query
from support.strategies import SCHEMA, filters

_names = itertools.count()


@functools.cache
def _mongomock() -> Any:
    import mongomock

    return mongomock.MongoClient()


def new_collection() -> Any:
    return _mongomock()["crudql_safety"][f"c{next(_names)}"]


def examples(ci_minimum: int) -> int:
    default = settings.default.max_examples
    return max(ci_minimum, default) if default >= 300 else default


def lisp(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a lisp string literal


def field_test(query: str) -> dict[str, Any]:
    """The test a one-predicate filter on `name` compiles to."""
    compiled = compile_filter(crudql.parse_filter(query, schema=SCHEMA))
    assert list(compiled) == ["name"], compiled
    return compiled["name"]  # type: ignore[no-any-return]


def python_re_matches(test: dict[str, Any], value: str) -> bool:
    """How mongomock and montydb evaluate the test: `$regex` with Python's re, search semantics."""
    if "$eq" in test:
        return bool(test["$eq"] == value)
    options = test.get("$options", "")
    flags = (re.IGNORECASE if "i" in options else 0) | (re.DOTALL if "s" in options else 0)
    return re.search(test["$regex"], value, flags) is not None


# ---------------------------------------------------------------------------- PCRE2 via grep -P

_UTF8 = {**os.environ, "LC_ALL": "C.UTF-8"}


@functools.cache
def _grep_pcre2() -> bool:
    grep = shutil.which("grep")
    if grep is None:
        return False
    try:
        probe = subprocess.run(
            [grep, "-zcP", "-e", "(?i)(?s)^.ngstr(?=(?P<m1>.*?m))(?P=m1)(?!.)"],
            input="Ångström\0".encode(),
            capture_output=True,
            env=_UTF8,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    # One UTF-8 character for `.`, Unicode case folding, named groups: PCRE2 in UTF mode.
    return probe.returncode == 0 and probe.stdout.strip() == b"1"


needs_pcre2 = pytest.mark.skipif(not _grep_pcre2(), reason="no grep with PCRE2 (-P) and a UTF-8 locale")


def pcre2_matches(test: dict[str, Any], values: list[str]) -> list[str]:
    """The values PCRE2 (MongoDB's regex engine since 6.1) matches, via `grep -zP`: each
    NUL-terminated value is one subject, so `^` is the start of the value."""
    if "$eq" in test:
        return [v for v in values if v == test["$eq"]]
    options = test.get("$options", "")
    inline = "".join(f"(?{o})" for o in options)  # the $options letters, as PCRE inline flags
    args = ["grep", "-zP", "-e", inline + test["$regex"]]
    data = "".join(v + "\0" for v in values).encode("utf-8")
    done = subprocess.run(args, input=data, capture_output=True, env=_UTF8, timeout=30)
    assert done.returncode in (0, 1), done.stderr.decode()  # 2: an error, e.g. a backtracking limit
    return list(done.stdout.decode("utf-8").split("\0")[:-1])


# ---------------------------------------------------------------------------- LIKE semantics

# Regex metacharacters, LIKE wildcards and escapes, newlines, letters that fold beyond ASCII.
# Iiİı: the one place where Python's and PCRE2's case folding differ (see mongo._FOLD_CLASS).
PATTERN_CHARS = st.sampled_from([*"ab%_\\.*+?()[]{}|^$#-/ \n\tAéÉåÅßKIiİıſ", "\u212a", "\x00", "\x7f"])
TEXT_CHARS = st.sampled_from([*"abAB.*()[]^$\\%_ \n\téÉåÅßkIiİısS", "\u212a", "\x7f", "ss"])


def _valid_pattern(pattern: str) -> bool:
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return trailing % 2 == 0  # a lone trailing backslash is a client error


patterns = st.lists(PATTERN_CHARS, max_size=8).map("".join).filter(_valid_pattern)
texts = st.lists(st.lists(TEXT_CHARS, max_size=7).map("".join), min_size=1, max_size=12)


@pytest.mark.slow
@settings(max_examples=examples(600), suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns, values=texts, op=st.sampled_from(["like", "ilike"]))
def test_like_regex_matches_like_matcher_under_python_re(pattern: str, values: list[str], op: str) -> None:
    test = field_test(f"({op} name {lisp(pattern)})")
    matcher = like_matcher(pattern, op == "ilike")
    for value in [*values, pattern]:
        assert python_re_matches(test, value) == bool(matcher(value)), (test, value)


@pytest.mark.slow
@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(text=st.lists(PATTERN_CHARS, max_size=5).map("".join), values=texts, op=st.sampled_from(
    ["contains", "icontains", "starts-with", "ends-with"]
))
def test_text_operators_match_python_semantics(text: str, values: list[str], op: str) -> None:
    test = field_test(f"({op} name {lisp(text)})")
    expected = {
        "contains": lambda v: text in v,
        "icontains": like_matcher("%" + escape_like(text) + "%", True),
        "starts-with": lambda v: v.startswith(text),
        "ends-with": lambda v: v.endswith(text),
    }[op]
    for value in [*values, text, text + "\n", "\n" + text]:
        assert python_re_matches(test, value) == bool(expected(value)), (test, value)


@pytest.mark.slow
@needs_pcre2
@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns, values=texts, op=st.sampled_from(["like", "ilike"]))
def test_like_regex_matches_like_matcher_under_pcre2(pattern: str, values: list[str], op: str) -> None:
    values = [v for v in [*values, pattern.replace("\x00", "")] if "\x00" not in v]
    test = field_test(f"({op} name {lisp(pattern)})")
    matcher = like_matcher(pattern, op == "ilike")
    assert pcre2_matches(test, values) == [v for v in values if matcher(v)], test


@needs_pcre2
@pytest.mark.parametrize("op", ["ilike", "contains", "starts-with", "ends-with"])
def test_every_ascii_character_is_literal_under_pcre2(op: str) -> None:
    values = [chr(i) for i in range(1, 128)]
    for ch in values:
        text = escape_like(ch) if op == "ilike" else ch
        test = field_test(f"({op} name {lisp(text)})")
        expected = [v for v in values if v.lower() == ch.lower()] if op == "ilike" else [ch]
        assert pcre2_matches(test, values) == expected, (ch, test)


@pytest.mark.parametrize("op", ["ilike", "like", "contains", "starts-with", "ends-with"])
def test_every_ascii_character_is_literal_in_mongomock(op: str) -> None:
    values = [chr(i) for i in range(128)]
    source = MongoSource.from_records(new_collection(), [{"id": f"{i:03d}", "name": v} for i, v in enumerate(values)], model=Contact)
    for ch in values:
        text = escape_like(ch) if op in ("like", "ilike") else ch
        page = run_query(PageRequest(page_size=1000, q=f"({op} name {lisp(text)})"), source)
        expected = [v for v in values if v.lower() == ch.lower()] if op == "ilike" else [ch]
        assert [c.name for c in page.data] == expected, (op, ch)


def test_like_does_not_backtrack_across_percent() -> None:
    # `%a%a...%b` on a long run of "a": a naive [\s\S]*a[\s\S]*a... regex takes exponential
    # time (or, in PCRE2, hits its match limit and MongoDB answers with an error).
    pattern = "%a" * 40 + "%b"
    source = MongoSource.from_records(new_collection(), [{"id": "x", "name": "a" * 3000}, {"id": "y", "name": "a" * 50 + "b"}], model=Contact)
    start = time.perf_counter()
    page = run_query(PageRequest(q=f"(like name {lisp(pattern)})"), source)
    assert [c.id for c in page.data] == ["y"]
    assert time.perf_counter() - start < 5


@needs_pcre2
def test_like_does_not_backtrack_across_percent_under_pcre2() -> None:
    test = field_test(f"(like name {lisp('%a' * 40 + '%b')})")
    assert pcre2_matches(test, ["a" * 3000, "a" * 50 + "b"]) == ["a" * 50 + "b"]  # no match-limit error


def test_regex_longer_than_mongodb_accepts_is_a_client_error() -> None:
    query = f"(like name {lisp('%a' * 4900)})"
    with pytest.raises(crudql.LimitError, match="longer than MongoDB's 16384 bytes") as info:
        compile_filter(crudql.parse_filter(query, schema=SCHEMA))
    assert info.value.position == query.index('"')
    # ... and through run_query, a QueryError (HTTP 400), not a crash.
    with pytest.raises(crudql.QueryError):
        run_query(PageRequest(q=query), MongoSource(new_collection(), model=Contact))
    assert "$regex" in field_test(f"(like name {lisp('a_' * 4000)})")  # long, but within the limit


# ---------------------------------------------------------------------------- injection

EVIL = [
    "$where",
    "$gt",
    '{"$gt": ""}',
    '{"$ne": null}',
    "this.password",
    "function() { return true }",
    ".*",
    "^",
    "(?i)",
    "\\",
    "a\x00b",
    "$regex",
]


@pytest.mark.parametrize("value", EVIL)
def test_operator_looking_strings_are_values(value: str) -> None:
    records = [{"id": "evil", "name": value, "tags": [value]}, {"id": "plain", "name": "plain", "tags": ["plain"]}]
    source = MongoSource.from_records(new_collection(), records, model=Contact)
    for op in ("=", "like", "ilike", "contains", "icontains", "starts-with", "ends-with"):
        text = escape_like(value) if op in ("like", "ilike") else value
        page = run_query(PageRequest(q=f"({op} name {lisp(text)})"), source)
        assert [c.id for c in page.data] == ["evil"], op
    for q in (f"(in name ({lisp(value)}))", f"(has tags {lisp(value)})", f"(has-all tags ({lisp(value)}))"):
        assert [c.id for c in run_query(PageRequest(q=q), source).data] == ["evil"], q
    assert [c.id for c in run_query(PageRequest(q=f"(!= name {lisp(value)})"), source).data] == ["plain"]


@pytest.mark.parametrize(
    "query",
    [
        '["=", "name", {"$gt": ""}]',
        '["in", "name", [{"$ne": null}]]',
        '["=", "name", ["$gt", ""]]',
        '{"=": ["name", {"$where": "1"}]}',
        '{"$where": "this.a == 1"}',
        '["$where", "name", "x"]',
        '["=", "$where", "x"]',
        '["=", "info.$where", "x"]',
    ],
)
def test_operator_objects_and_operator_names_never_reach_mongodb(query: str) -> None:
    with pytest.raises(crudql.QueryError):
        crudql.parse_filter(query, "json", schema=SCHEMA)


@pytest.mark.parametrize("key", ["$where", "$gt", "$expr", "$function"])
def test_map_keys_that_look_like_operators_are_never_sent(key: str) -> None:
    for query in (
        f'["=", "info.cosellPartnerMetrics.pipeline.{key}", 1]',
        f'["!=", "info.cosellPartnerMetrics.pipeline.{key}", 1]',
        f'["exists", "info.cosellPartnerMetrics.closedWonAmount.{key}"]',
    ):
        compiled = compile_filter(crudql.parse_filter(query, "json", schema=SCHEMA))
        assert key not in json.dumps(compiled), compiled
    keys = crudql.parse_sort(f"-info.cosellPartnerMetrics.pipeline.{key}", schema=SCHEMA)
    assert mongo.compile_sort(keys) == []


_LOGICAL = {"$and", "$or", "$nor"}
_FIELD_OPERATORS = {"$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte", "$regex", "$options", "$exists", "$type", "$elemMatch", "$all", "$not"}


def _json_names(schema: crudql.Schema) -> set[str]:
    return {f.alias for f in schema.walk()}


_NAMES = _json_names(SCHEMA) | {"0", "_id"}  # "0": the non-empty-array test; "_id": MATCH_NONE


def assert_safe_query(doc: Any) -> None:
    assert isinstance(doc, dict)
    for key, value in doc.items():
        if key in _LOGICAL:
            assert isinstance(value, list) and value
            for part in value:
                assert_safe_query(part)
            continue
        assert not key.startswith("$"), key
        assert all(segment and not segment.startswith("$") for segment in key.split(".")), key
        # Segments are schema names or map keys (currency codes in these filters).
        assert all(s in _NAMES or s.isalpha() for s in key.split(".")), key
        assert_safe_test(value)


def assert_safe_test(test: Any) -> None:
    assert isinstance(test, dict) and test, test
    for op, operand in test.items():
        assert op in _FIELD_OPERATORS, op
        if op == "$elemMatch":
            assert_safe_query(operand)
        elif op == "$not":
            assert_safe_test(operand)
        elif op in ("$in", "$nin", "$all"):
            assert isinstance(operand, list) and not any(isinstance(v, (dict, list)) for v in operand)
        elif op == "$regex":
            assert isinstance(operand, str)
        elif op == "$options":
            assert operand in ("i", "s", "is")
        elif op == "$type":
            assert operand == "array"
        elif op == "$exists":
            assert isinstance(operand, bool)
        else:
            assert not isinstance(operand, (dict, list)), (op, operand)  # a value, never operators


@pytest.mark.slow
@settings(max_examples=examples(500), suppress_health_check=[HealthCheck.too_slow])
@given(filters(max_depth=4))
def test_compiled_filters_use_only_known_operators_and_schema_paths(where: crudql.ast.Expr) -> None:
    for instants in mongo.INSTANT_STYLES:
        compiled = compile_filter(where, instants=instants)
        if compiled:
            assert_safe_query(compiled)


@pytest.mark.parametrize("letter", list("Iiİı"))
def test_dotted_and_dotless_i_fold_as_in_the_python_backend(letter: str) -> None:
    values = ["I", "i", "İ", "ı", "j"]
    for op, text in (("ilike", letter), ("icontains", letter)):
        test = field_test(f"({op} name {lisp(text)})")
        expected = [v for v in values if like_matcher(escape_like(text), True)(v)]
        assert expected == ["I", "i", "İ", "ı"]  # Python's re: one letter
        assert [v for v in values if python_re_matches(test, v)] == expected
        if _grep_pcre2():
            assert pcre2_matches(test, values) == expected  # PCRE2 alone would say I, i
