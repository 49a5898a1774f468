"""Client errors: one `QueryError` with `.code .message .position .line .column` and a caret
excerpt in `str()`. The table pins the exact code and place of each kind of mistake."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

import crudql
from crudql import QueryError, parse_filter, parse_sort
from crudql.models import Contact

SCHEMA = crudql.Schema.from_model(Contact)


class Bad(NamedTuple):
    text: str
    code: str
    position: int
    line: int
    column: int
    style: str = "lisp"
    checked: bool = True
    says: str = ""  # a substring the message must contain


MULTILINE = '(and\n  (= name "x")\n  (= nmae "y"))'
MULTILINE_JSON = '[\n  "and",\n  ["=", "name", "x"],\n  ["=", "nmae", "y"]\n]'

TABLE: list[Bad] = [
    # unknown field / operator, with a did-you-mean
    Bad('(ilike info.compnyName "%acme%")', "unknown_field", 7, 1, 8, says="did you mean 'info.companyName'?"),
    Bad('(= nmae "x")', "unknown_field", 3, 1, 4, says="did you mean 'name'?"),
    Bad('(= "info.compnyName" "x")', "unknown_field", 3, 1, 4, says="did you mean 'info.companyName'?"),
    Bad('(any info.cosellPartnerMetrics.accounts (= industri "x"))', "unknown_field", 43, 1, 44, says="'industry'"),
    Bad('(ilke name "x")', "unknown_operator", 1, 1, 2, checked=False, says="did you mean 'ilike'?"),
    Bad('(ILKE name "x")', "unknown_operator", 1, 1, 2, checked=False, says="did you mean 'ilike'?"),
    Bad('(has-anyy tags ("a"))', "unknown_operator", 1, 1, 2, checked=False, says="did you mean 'has-any'?"),
    # arity: the whole form is the offending token
    Bad("(= name)", "arity", 0, 1, 1, checked=False),
    Bad('(= name "a" "b")', "arity", 0, 1, 1, checked=False),
    Bad('(between creation_time "2024-01-01")', "arity", 0, 1, 1, checked=False),
    Bad("(not (= a 1) (= b 2))", "arity", 0, 1, 1, checked=False),
    Bad("(and (and))", "arity", 5, 1, 6, checked=False),
    Bad("(exists)", "arity", 0, 1, 1, checked=False),
    # wrong literal type: the literal is the offending token
    Bad("(= name 5)", "type", 8, 1, 9),
    Bad("(>= info.cosellPartnerMetrics.accountCount 2.5)", "type", 43, 1, 44),
    Bad('(= info.enrichedContactInfo.info.isPrimary "yes")', "type", 43, 1, 44),
    Bad('(has-any tags ("a" 1))', "type", 19, 1, 20),
    # enum value not allowed, listing the allowed ones
    Bad('(= info.partner "aws")', "type", 16, 1, 17, says='allowed values: "", "ADYEN"'),
    Bad('(in info.enrichedContactInfo.status ("active" "gone"))', "type", 46, 1, 47,
        says='"active", "stale", "archived"'),
    # operator not valid for the field's type: the field is the offending token
    Bad('(like info.cosellPartnerMetrics.accountCount "1%")', "type", 6, 1, 7),
    Bad('(has name "x")', "type", 5, 1, 6),
    Bad("(< info.enrichedContactInfo.info.isPrimary true)", "type", 3, 1, 4),
    Bad('(= tags "x")', "type", 3, 1, 4),
    Bad('(any tags (= x "y"))', "type", 5, 1, 6),
    # lexical errors
    Bad('(= name "abc)', "syntax", 8, 1, 9, checked=False, says="unterminated string"),
    Bad('(= name "a\\qb")', "syntax", 10, 1, 11, checked=False, says="escape"),
    Bad('(= name "\\u12")', "syntax", 9, 1, 10, checked=False, says="escape"),
    Bad('(= name "\\ud800")', "syntax", 8, 1, 9, checked=False, says="surrogate"),
    Bad("(and (= a 1)", "syntax", 0, 1, 1, checked=False, says="missing ')'"),
    Bad("(= a 1))", "syntax", 7, 1, 8, checked=False, says="unmatched ')'"),
    Bad("(in a [1 2)", "syntax", 10, 1, 11, checked=False),
    Bad("(in a (1 2])", "syntax", 10, 1, 11, checked=False),
    Bad(")", "syntax", 0, 1, 1, checked=False),
    Bad('(in info.partner ("AWS" GCP))', "syntax", 24, 1, 25, checked=False, says="bare word 'GCP'"),
    Bad("(in info.partner [AWS])", "syntax", 18, 1, 19, checked=False, says="bare word 'AWS'"),
    Bad("(in info.partner (AWS GCP))", "syntax", 18, 1, 19, checked=False, says="bare word 'AWS'"),
    Bad('(and (= a 1) (has-any tags (vip "x")))', "syntax", 28, 1, 29, checked=False, says="bare word 'vip'"),
    Bad("(= info.partner (AWS))", "unknown_operator", 17, 1, 18, checked=False),
    Bad('(= name Jo)', "syntax", 8, 1, 9, checked=False, says="double quotes"),
    Bad('(in f (1 (2)))', "syntax", 9, 1, 10, checked=False),
    Bad('(like name "abc\\\\")', "syntax", 11, 1, 12, checked=False, says="lone escape"),
    Bad('(ilike name "%\\\\\\\\\\\\")', "syntax", 12, 1, 13, checked=False),
    Bad('(= a 1) (= b 2)', "syntax", 8, 1, 9, checked=False),
    Bad('((= a 1))', "syntax", 1, 1, 2, checked=False),
    Bad("(and ((= a 1)))", "syntax", 6, 1, 7, checked=False, says="operator name after '('"),
    Bad('(= 1 1)', "syntax", 3, 1, 4, checked=False),
    Bad('(= a.. 1)', "syntax", 3, 1, 4, checked=False),
    Bad('(and (= a 1) 5)', "syntax", 13, 1, 14, checked=False),
    Bad("(= f 01)", "syntax", 5, 1, 6, checked=False),
    # numbers: NaN and Infinity are not literals; 1e999 and 64-bit overflow are out of range
    Bad("(= info.cosellPartnerMetrics.successRate NaN)", "syntax", 41, 1, 42),
    Bad("(= info.cosellPartnerMetrics.successRate Infinity)", "syntax", 41, 1, 42),
    Bad("(= info.cosellPartnerMetrics.successRate 1e999)", "type", 41, 1, 42),
    Bad("(= info.cosellPartnerMetrics.accountCount 9223372036854775808)", "type", 42, 1, 43),
    Bad("(= info.cosellPartnerMetrics.accountCount -9223372036854775809)", "type", 42, 1, 43),
    # non-ISO datetimes
    Bad('(< creation_time "31/12/2024")', "type", 17, 1, 18, says="ISO-8601"),
    Bad('(between creationTime "2024-01-01" "tomorrow")', "type", 35, 1, 36),
    # JSON style
    Bad('{"=": ["name", "x"], "!=": ["name", "y"]}', "syntax", 0, 1, 1, style="json", checked=False),
    Bad('{"frob": ["name", "x"]}', "unknown_operator", 1, 1, 2, style="json", checked=False),
    Bad('{"ilke": ["name", "x"]}', "unknown_operator", 1, 1, 2, style="json", checked=False, says="did you mean 'ilike'?"),
    Bad('{"=": ["name"]}', "arity", 0, 1, 1, style="json", checked=False),
    Bad('["=", "name"]', "arity", 0, 1, 1, style="json", checked=False),
    Bad('["and", {"not": [["exists", "a"], ["exists", "b"]]}]', "arity", 8, 1, 9, style="json", checked=False),
    Bad('["ilike", "info.compnyName", "%acme%"]', "unknown_field", 10, 1, 11, style="json",
        says="did you mean 'info.companyName'?"),
    Bad('{"=": ["info.partner", "aws"]}', "type", 23, 1, 24, style="json"),
    Bad('["=", "name", NaN]', "syntax", 14, 1, 15, style="json", checked=False),
    Bad('["=", "name", 1e999]', "type", 14, 1, 15, style="json", checked=False),
    Bad('["=", "name", "x"', "syntax", 17, 1, 18, style="json", checked=False),
    Bad('["=", "name", "x",]', "syntax", 18, 1, 19, style="json", checked=False),
    Bad('["like", "name", "abc\\\\"]', "syntax", 17, 1, 18, style="json", checked=False),
    # multi-line input: line and column on line 3 (lisp) and line 4 (JSON)
    Bad(MULTILINE, "unknown_field", 25, 3, 6, says="did you mean 'name'?"),
    Bad('(and\n  (= name "x")\n  (= name 5))', "type", 30, 3, 11),
    Bad('(and\n  (= name "x")\n  (= name "unterminated))', "syntax", 30, 3, 11, checked=False),
    Bad('; comment\n(and (= a 1)\n     (= b Jo))', "syntax", 33, 3, 11, checked=False),
    Bad(MULTILINE_JSON, "unknown_field", 41, 4, 9, style="json"),
    Bad('[\n  "and",\n  ["=", "name", "x"],\n  ["=", "name", "x"],\n]', "syntax", 55, 5, 1, style="json", checked=False),
]


@pytest.mark.parametrize("bad", TABLE, ids=[b.text[:40] for b in TABLE])
def test_bad_input_table(bad: Bad) -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter(bad.text, style=bad.style, schema=SCHEMA if bad.checked else None)
    e = exc.value
    assert (e.code, e.position, e.line, e.column) == (bad.code, bad.position, bad.line, bad.column), e.message
    assert bad.says in e.message
    # The same mistake is also reported the same way with a schema (syntax comes first).
    if not bad.checked:
        with pytest.raises(QueryError) as again:
            parse_filter(bad.text, style=bad.style, schema=SCHEMA)
        assert (again.value.code, again.value.position) == (bad.code, bad.position)


def test_the_bar() -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter('(ilike info.compnyName "%acme%")', schema=SCHEMA)
    assert str(exc.value) == (
        "unknown field 'info.compnyName' (line 1, column 8); did you mean 'info.companyName'?\n"
        '  (ilike info.compnyName "%acme%")\n'
        "         ^^^^^^^^^^^^^^^"
    )


def test_caret_excerpt_on_line_three() -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter(MULTILINE, schema=SCHEMA)
    assert str(exc.value) == (
        "unknown field 'nmae' (line 3, column 6); did you mean 'name'?\n"
        '    (= nmae "y"))\n'
        "       ^^^^"
    )


def test_caret_excerpt_of_a_json_error() -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter('{"and": [{"=": ["info.partner", "aws"]}]}', style="json", schema=Contact)
    lines = str(exc.value).split("\n")
    assert lines[0].startswith('"aws" is not a value of \'info.partner\' (line 1, column 33); allowed values: ')
    assert lines[1:] == ['  {"and": [{"=": ["info.partner", "aws"]}]}', "  " + " " * 32 + "^^^^^"]


def test_caret_excerpt_keeps_tabs() -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter('(and\n\t\t(= nmae "y"))', schema=SCHEMA)
    assert str(exc.value).split("\n")[1:] == ['  \t\t(= nmae "y"))', "  \t\t   ^^^^"]


def test_caret_excerpt_of_a_long_line_is_cut_around_the_error() -> None:
    text = "(and " + '(= name "x") ' * 200 + '(in name (' + '"x" ' * 500 + ')) (= nmae "y"))'
    with pytest.raises(QueryError) as exc:
        parse_filter(text, schema=SCHEMA)
    e = exc.value
    assert (e.line, e.column) == (1, e.position + 1) and text[e.position : e.position + 4] == "nmae"
    _, source, carets = str(e).split("\n")
    assert len(source) < 200
    start = carets.index("^")
    assert source[start : start + 4] == "nmae" and carets.count("^") == 4


def test_sort_errors_have_positions() -> None:
    with pytest.raises(QueryError) as exc:
        parse_sort("-creationTime,nmae", schema=SCHEMA)
    e = exc.value
    assert (e.code, e.position, e.line, e.column) == ("unknown_field", 14, 1, 15)
    assert "did you mean 'name'?" in e.message
    with pytest.raises(QueryError) as exc:
        parse_sort("creation_time,-creationTime", schema=SCHEMA)
    e = exc.value
    assert (e.code, e.position, e.column) == ("sort", 15, 16)
    with pytest.raises(QueryError) as exc:
        parse_sort("name:up", schema=SCHEMA)
    assert (exc.value.code, exc.value.position) == ("sort", 5)
    with pytest.raises(QueryError) as exc:
        parse_sort('[{"field": "name"}, {"field": "tags"}]', style="json", schema=SCHEMA)
    assert (exc.value.code, exc.value.position) == ("sort", 30)


# --------------------------------------------------------------------------- the error object


def test_query_error_attributes() -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter('(and\n (= nmae "x"))', schema=SCHEMA)
    e = exc.value
    assert e.code == "unknown_field"
    assert e.message == "unknown field 'nmae'; did you mean 'name'?"
    assert (e.position, e.line, e.column) == (9, 2, 5)
    assert isinstance(e, ValueError)  # callers that catch ValueError keep working
    assert str(e).startswith("unknown field 'nmae' (line 2, column 5); did you mean 'name'?\n")


def test_every_code_is_a_query_error() -> None:
    cases = {
        "syntax": lambda: parse_filter("(= a"),
        "unknown_field": lambda: parse_filter("(= nmae 1)", schema=SCHEMA),
        "unknown_operator": lambda: parse_filter("(frob a 1)"),
        "arity": lambda: parse_filter("(= a)"),
        "type": lambda: parse_filter('(= id 1)', schema=SCHEMA),
        "limit": lambda: parse_filter("(" * 20_000),
        "request": lambda: parse_filter("(= a 1)", style="sql"),
        "sort": lambda: parse_sort("name,name"),
    }
    for code, call in cases.items():
        with pytest.raises(QueryError) as exc:
            call()
        assert exc.value.code == code


def test_errors_without_a_place() -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter("(= a 1)", style="sql")
    e = exc.value
    assert e.position is None and e.line is None and e.column is None
    assert "\n" not in str(e)


def test_subclasses_are_exported() -> None:
    for name, code in [
        ("QuerySyntaxError", "syntax"),
        ("UnknownFieldError", "unknown_field"),
        ("UnknownOperatorError", "unknown_operator"),
        ("ArityError", "arity"),
        ("QueryTypeError", "type"),
        ("LimitError", "limit"),
        ("RequestError", "request"),
        ("SortError", "sort"),
    ]:
        cls = getattr(crudql, name)
        assert issubclass(cls, QueryError)
        assert cls("x").code == code


def test_to_dict() -> None:
    with pytest.raises(QueryError) as exc:
        parse_filter("(= nmae 1)", schema=SCHEMA)
    d: dict[str, Any] = exc.value.to_dict()
    assert d["code"] == "unknown_field" and d["position"] == 3 and d["line"] == 1 and d["column"] == 4
    assert d["detail"] == str(exc.value)
