"""`now` in both filter syntaxes (SERVICE.md §4): the forms, where they may stand, the canonical
printed forms that parse back to equal trees, and the errors, each with a position."""

from __future__ import annotations

import json
from typing import Any

import pytest

import crudql
from crudql import QueryError, parse_filter, to_json, to_lisp
from crudql.ast import ListValue, Literal, Now, Predicate
from crudql.models import Contact

SCHEMA = crudql.Schema.from_model(Contact)


def _value(expr: Any, i: int = 0) -> Any:
    assert isinstance(expr, Predicate)
    return expr.args[i].value


@pytest.mark.parametrize(
    ("lisp", "json_text", "now"),
    [
        ("(< creation_time (now))", '["<", "creation_time", {"now": null}]', Now()),
        ('(< creation_time (now "-7d"))', '["<", "creation_time", {"now": "-7d"}]', Now(-7, "d")),
        ('(< creation_time (now "+30m"))', '{"<": ["creation_time", {"now": "+30m"}]}', Now(30, "m")),
        ('(< creation_time (NOW "-2w"))', '["lt", "creation_time", {"NOW": "-2w"}]', Now(-2, "w")),
        ('(< creation_time ( now ; the clock\n "+0045s" ))', '["<", "creation_time", {"now": "+45s"}]', Now(45, "s")),
        ('(< creation_time (now null))', '["<", "creation_time", {"now": null}]', Now()),
        ('(< creation_time (now "-0h"))', '["<", "creation_time", {"now": "+0d"}]', Now()),
    ],
)
def test_the_forms(lisp: str, json_text: str, now: Now) -> None:
    a, b = parse_filter(lisp), parse_filter(json_text, "json")
    assert a == b
    assert _value(a) == now


def test_wherever_a_datetime_value_stands() -> None:
    texts = [
        '(between creation_time (now "-7d") (now))',
        '(in creation_time ((now "-1h") "2024-01-01" (now)))',
        '(in creation_time ["2024-01-01" (now "+1h")])',
        '(nin creation_time ((now)))',
        '(!= info.enrichedContactInfo.creationTime (now "-1d"))',
        '(any info.enrichedContactInfo.info.workExperiences (>= start_date (now "-52w")))',
        '(= creation_time (now))',
    ]
    for text in texts:
        expr = parse_filter(text, schema=SCHEMA)
        assert parse_filter(to_lisp(expr), schema=SCHEMA) == expr
        assert parse_filter(to_json(expr), "json", schema=SCHEMA) == expr


def test_canonical_printed_forms() -> None:
    expr = parse_filter('(in creation_time ((now "-007d") (NOW) "2024-01-31"))', schema=SCHEMA)
    assert to_lisp(expr) == '(in creation_time ((now "-7d") (now) "2024-01-31T00:00:00Z"))'
    assert json.loads(to_json(expr)) == ["in", "creation_time", [{"now": "-7d"}, {"now": None}, "2024-01-31T00:00:00Z"]]
    assert str(Now(30, "m")) == '(now "+30m")' and Now(0, "w") == Now()


def test_a_list_holding_now_values_only_is_a_list() -> None:
    expr = parse_filter("(in creation_time ((now) (now \"-1s\")))")
    assert isinstance(expr, Predicate) and isinstance(expr.args[0], ListValue)
    assert [i.value for i in expr.args[0].items] == [Now(), Now(-1, "s")]


# ------------------------------------------------------------------------- errors


BAD_OFFSETS = ["7d", "-7", "-7y", "- 7d", "+1.5h", "", "-7D", "-7 d", "--7d", "-7dd", "+１d", "-9999999999999999d"]


@pytest.mark.parametrize("offset", BAD_OFFSETS)
def test_bad_offsets_are_type_errors_at_the_offset(offset: str) -> None:
    lisp = f"(< creation_time (now {json.dumps(offset, ensure_ascii=False)}))"
    with pytest.raises(QueryError) as exc:
        parse_filter(lisp, schema=SCHEMA)
    assert exc.value.code == "type"
    assert exc.value.position == lisp.index("(now ") + 5
    doc = json.dumps(["<", "creation_time", {"now": offset}], ensure_ascii=False)
    with pytest.raises(QueryError) as exc:
        parse_filter(doc, "json", schema=SCHEMA)
    assert exc.value.code == "type"
    assert exc.value.position == doc.index('"now": ') + 7


def test_offsets_past_a_thousand_years() -> None:
    assert _value(parse_filter('(< creation_time (now "-52000w"))')) == Now(-52000, "w")
    for offset in ('"-53000w"', '"+365001d"', '"-31536000001s"'):
        with pytest.raises(QueryError, match="more than 1,000 years") as exc:
            parse_filter(f"(< creation_time (now {offset}))")
        assert exc.value.code == "type"


@pytest.mark.parametrize(
    ("text", "code", "at"),
    [
        ("(< creation_time (now 7))", "type", "7"),
        ("(< creation_time (now true))", "type", "true"),
        ('(< creation_time (now "-7d" "x"))', "arity", "(now"),
        ("(< creation_time (now x))", "syntax", "x"),
        ("(< creation_time (now (now)))", "syntax", "(now))"),
        ('(< creation_time (now ("-7d")))', "syntax", '("-7d")'),
        ("(now)", "syntax", "(now)"),
        ("(and (now) (= name \"x\"))", "syntax", "(now)"),
        ("(like name (now))", "type", "(now)"),
        ("(in creation_time (now))", "syntax", "(now)"),
    ],
)
def test_misplaced_or_malformed_now(text: str, code: str, at: str) -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter(text)
    assert exc.value.code == code, exc.value
    assert exc.value.position == text.index(at), exc.value


@pytest.mark.parametrize(
    ("doc", "code", "at"),
    [
        ('["<", "creation_time", {"now": 7}]', "type", "7"),
        ('["<", "creation_time", {"now": ["-7d"]}]', "type", '["-7d"]'),
        ('["<", "creation_time", {"now": {"x": 1}}]', "type", '{"x"'),
        ('{"now": null}', "syntax", '"now"'),
        ('["now", "-7d"]', "syntax", '"now"'),
        ('["<", "creation_time", {"then": null}]', "syntax", '{"then"'),
        ('["<", "creation_time", {"now": null, "x": 1}]', "syntax", '{"now"'),
    ],
)
def test_misplaced_or_malformed_json_now(doc: str, code: str, at: str) -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter(doc, "json")
    assert exc.value.code == code, exc.value
    assert exc.value.position == doc.index(at), exc.value


@pytest.mark.parametrize(
    "text",
    [
        "(< name (now))",
        '(= info.cosellPartnerMetrics.accountCount (now "-1d"))',
        "(in info.partner ((now)))",
        "(has tags (now))",
        "(< info.cosellPartnerMetrics.pipeline.USD (now))",
        "(= info.enrichedContactInfo.info.isPrimary (now))",
    ],
)
def test_now_only_meets_datetime_fields(text: str) -> None:
    with pytest.raises(QueryError, match="compares only with datetime fields") as exc:
        parse_filter(text, schema=SCHEMA)
    assert exc.value.code == "type"
    assert exc.value.position == text.index("(now")


def test_unchecked_trees_keep_now_as_a_literal() -> None:
    expr = parse_filter('(< "creation_time" (now "-1h"))')
    assert expr == Predicate("<", expr.field, (Literal(Now(-1, "h")),))  # type: ignore[union-attr]
