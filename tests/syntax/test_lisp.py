"""The filter language of docs/spec/LANGUAGE.md §2-3, tested from the spec: every operator and every
alias in lisp, JSON array and JSON object form parses to one AST, with and without a schema.

Only behaviour is tested here; error positions are in test_errors.py, limits in test_limits.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

import crudql
from crudql import parse_filter
from crudql.ast import And, Field, ListValue, Literal, Not, Or, Predicate, Quantified
from crudql.models import Contact

SCHEMA = crudql.Schema.from_model(Contact)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "language.md"

# The operator table of docs/spec/LANGUAGE.md §2, written out by hand: canonical name -> aliases.
SPEC_OPERATORS: dict[str, tuple[str, ...]] = {
    "and": (),
    "or": (),
    "not": (),
    "=": ("eq", "=="),
    "!=": ("ne", "neq", "<>"),
    "<": ("lt",),
    "<=": ("lte", "le"),
    ">": ("gt",),
    ">=": ("gte", "ge"),
    "between": (),
    "in": (),
    "nin": ("not-in",),
    "like": (),
    "ilike": (),
    "contains": (),
    "icontains": (),
    "starts-with": ("startswith",),
    "ends-with": ("endswith",),
    "has": (),
    "has-any": (),
    "has-all": (),
    "exists": (),
    "is-null": (),
    "any": (),
    "all": (),
}


def F(dotted: str) -> Field:
    return Field(tuple(dotted.split(".")))


def L(value: Any) -> Literal:
    return Literal(value)


def LV(*values: Any) -> ListValue:
    return ListValue(tuple(Literal(v) for v in values))


def P(op: str, field: str, *args: Any) -> Predicate:
    return Predicate(op, F(field), tuple(a if isinstance(a, (Literal, ListValue)) else L(a) for a in args))


def J(value: Any) -> str:
    return json.dumps(value)


# --------------------------------------------------------------------------- the operator table


# One example per canonical operator, valid against Contact: (lisp, JSON array, JSON object, unchecked AST).
# `{op}` stands for the operator name, so each alias is tested by substitution.
ACCOUNTS = "info.cosellPartnerMetrics.accounts"
EXAMPLES: dict[str, tuple[str, Any, Any, Any]] = {
    "and": (
        '({op} (= name "x") (= info.partner "AWS"))',
        ["{op}", ["=", "name", "x"], ["=", "info.partner", "AWS"]],
        {"{op}": [{"=": ["name", "x"]}, {"=": ["info.partner", "AWS"]}]},
        And((P("=", "name", "x"), P("=", "info.partner", "AWS"))),
    ),
    "or": (
        '({op} (= name "x") (= name "y") (exists tags))',
        ["{op}", ["=", "name", "x"], ["=", "name", "y"], ["exists", "tags"]],
        {"{op}": [{"=": ["name", "x"]}, {"=": ["name", "y"]}, {"exists": "tags"}]},
        Or((P("=", "name", "x"), P("=", "name", "y"), P("exists", "tags"))),
    ),
    "not": (
        '({op} (has tags "churned"))',
        ["{op}", ["has", "tags", "churned"]],
        {"{op}": {"has": ["tags", "churned"]}},
        Not(P("has", "tags", "churned")),
    ),
    "=": (
        '({op} info.partner "AWS")',
        ["{op}", "info.partner", "AWS"],
        {"{op}": ["info.partner", "AWS"]},
        P("=", "info.partner", "AWS"),
    ),
    "!=": (
        '({op} info.partner "AWS")',
        ["{op}", "info.partner", "AWS"],
        {"{op}": ["info.partner", "AWS"]},
        P("!=", "info.partner", "AWS"),
    ),
    "<": (
        "({op} info.cosellPartnerMetrics.accountCount 10)",
        ["{op}", "info.cosellPartnerMetrics.accountCount", 10],
        {"{op}": ["info.cosellPartnerMetrics.accountCount", 10]},
        P("<", "info.cosellPartnerMetrics.accountCount", 10),
    ),
    "<=": (
        '({op} creation_time "2024-01-01")',
        ["{op}", "creation_time", "2024-01-01"],
        {"{op}": ["creation_time", "2024-01-01"]},
        P("<=", "creation_time", "2024-01-01"),
    ),
    ">": (
        "({op} info.cosellPartnerMetrics.successRate 50.5)",
        ["{op}", "info.cosellPartnerMetrics.successRate", 50.5],
        {"{op}": ["info.cosellPartnerMetrics.successRate", 50.5]},
        P(">", "info.cosellPartnerMetrics.successRate", 50.5),
    ),
    ">=": (
        "({op} info.cosellPartnerMetrics.accountCount -1)",
        ["{op}", "info.cosellPartnerMetrics.accountCount", -1],
        {"{op}": ["info.cosellPartnerMetrics.accountCount", -1]},
        P(">=", "info.cosellPartnerMetrics.accountCount", -1),
    ),
    "between": (
        '({op} creationTime "2024-01-01" "2024-12-31T23:59:59Z")',
        ["{op}", "creationTime", "2024-01-01", "2024-12-31T23:59:59Z"],
        {"{op}": ["creationTime", "2024-01-01", "2024-12-31T23:59:59Z"]},
        P("between", "creationTime", "2024-01-01", "2024-12-31T23:59:59Z"),
    ),
    "in": (
        '({op} info.partner ("AWS" "GCP"))',
        ["{op}", "info.partner", ["AWS", "GCP"]],
        {"{op}": ["info.partner", ["AWS", "GCP"]]},
        P("in", "info.partner", LV("AWS", "GCP")),
    ),
    "nin": (
        '({op} info.partner ["AWS" null])',
        ["{op}", "info.partner", ["AWS", None]],
        {"{op}": ["info.partner", ["AWS", None]]},
        P("nin", "info.partner", LV("AWS", None)),
    ),
    "like": ('({op} name "Jo%")', ["{op}", "name", "Jo%"], {"{op}": ["name", "Jo%"]}, P("like", "name", "Jo%")),
    "ilike": (
        '({op} name "%an\\\\%%")',
        ["{op}", "name", "%an\\%%"],
        {"{op}": ["name", "%an\\%%"]},
        P("ilike", "name", "%an\\%%"),
    ),
    "contains": (
        '({op} info.companyName "Acme")',
        ["{op}", "info.companyName", "Acme"],
        {"{op}": ["info.companyName", "Acme"]},
        P("contains", "info.companyName", "Acme"),
    ),
    "icontains": (
        '({op} tags "VIP")',
        ["{op}", "tags", "VIP"],
        {"{op}": ["tags", "VIP"]},
        P("icontains", "tags", "VIP"),
    ),
    "starts-with": (
        '({op} name "Jo")',
        ["{op}", "name", "Jo"],
        {"{op}": ["name", "Jo"]},
        P("starts-with", "name", "Jo"),
    ),
    "ends-with": (
        '({op} email_address "@example.com")',
        ["{op}", "email_address", "@example.com"],
        {"{op}": ["email_address", "@example.com"]},
        P("ends-with", "email_address", "@example.com"),
    ),
    "has": (
        '({op} tags "partner")',
        ["{op}", "tags", "partner"],
        {"{op}": ["tags", "partner"]},
        P("has", "tags", "partner"),
    ),
    "has-any": (
        '({op} tags ("partner" "vip"))',
        ["{op}", "tags", ["partner", "vip"]],
        {"{op}": ["tags", ["partner", "vip"]]},
        P("has-any", "tags", LV("partner", "vip")),
    ),
    "has-all": ("({op} tags [])", ["{op}", "tags", []], {"{op}": ["tags", []]}, P("has-all", "tags", LV())),
    "exists": (
        "({op} info.cosellPartnerMetrics)",
        ["{op}", "info.cosellPartnerMetrics"],
        {"{op}": "info.cosellPartnerMetrics"},
        P("exists", "info.cosellPartnerMetrics"),
    ),
    "is-null": (
        "({op} info.partner)",
        ["{op}", "info.partner"],
        {"{op}": ["info.partner"]},
        P("is-null", "info.partner"),
    ),
    "any": (
        f'({{op}} {ACCOUNTS} (and (= industry "Software") (= type "Customer")))',
        ["{op}", ACCOUNTS, ["and", ["=", "industry", "Software"], ["=", "type", "Customer"]]],
        {"{op}": [ACCOUNTS, {"and": [{"=": ["industry", "Software"]}, {"=": ["type", "Customer"]}]}]},
        Quantified("any", F(ACCOUNTS), And((P("=", "industry", "Software"), P("=", "type", "Customer")))),
    ),
    "all": (
        f"({{op}} {ACCOUNTS} (any opportunities (> amount 1000)))",
        ["{op}", ACCOUNTS, ["any", "opportunities", [">", "amount", 1000]]],
        {"{op}": [ACCOUNTS, {"any": ["opportunities", {">": ["amount", 1000]}]}]},
        Quantified("all", F(ACCOUNTS), Quantified("any", F("opportunities"), P(">", "amount", 1000))),
    ),
}


def _subst(value: Any, name: str) -> Any:
    if isinstance(value, str):
        return name if value == "{op}" else value
    if isinstance(value, list):
        return [_subst(v, name) for v in value]
    if isinstance(value, dict):
        return {(name if k == "{op}" else k): _subst(v, name) for k, v in value.items()}
    return value


def _forms(canonical: str, name: str) -> tuple[str, str, str]:
    lisp, array, obj, _ = EXAMPLES[canonical]
    return lisp.replace("{op}", name), J(_subst(array, name)), J(_subst(obj, name))


ALL_NAMES = [(op, name) for op, aliases in SPEC_OPERATORS.items() for name in (op, *aliases)]


def test_the_operator_table_is_the_spec_table() -> None:
    table = {op.name: tuple(op.aliases) for op in crudql.operators.OPERATORS}
    assert {k: set(v) for k, v in table.items()} == {k: set(v) for k, v in SPEC_OPERATORS.items()}
    assert set(EXAMPLES) == set(SPEC_OPERATORS)


@pytest.mark.parametrize("canonical,name", ALL_NAMES, ids=[f"{c}:{n}" for c, n in ALL_NAMES])
def test_every_operator_and_alias_parses_to_the_expected_tree(canonical: str, name: str) -> None:
    lisp, array, obj = _forms(canonical, name)
    expected = EXAMPLES[canonical][3]
    assert parse_filter(lisp) == expected
    assert parse_filter(array, style="json") == expected
    assert parse_filter(obj, style="json") == expected
    # Python objects are accepted by the JSON style as well.
    assert parse_filter(json.loads(array), style="json") == expected
    assert parse_filter(json.loads(obj), style="json") == expected


@pytest.mark.parametrize("canonical,name", ALL_NAMES, ids=[f"{c}:{n}" for c, n in ALL_NAMES])
def test_every_operator_and_alias_is_equal_in_the_three_forms_when_checked(canonical: str, name: str) -> None:
    lisp, array, obj = _forms(canonical, name)
    checked = parse_filter(lisp, schema=SCHEMA)
    assert checked == parse_filter(array, style="json", schema=SCHEMA) == parse_filter(obj, style="json", schema=SCHEMA)
    # The alias and the canonical name give the same checked tree.
    assert checked == parse_filter(EXAMPLES[canonical][0].replace("{op}", canonical), schema=SCHEMA)
    # A pydantic model class works as the schema too.
    assert checked == parse_filter(lisp, schema=Contact)


@pytest.mark.parametrize("canonical,name", ALL_NAMES, ids=[f"{c}:{n}" for c, n in ALL_NAMES])
def test_operator_names_are_case_insensitive(canonical: str, name: str) -> None:
    for variant in {name.upper(), name.title(), name.swapcase()}:
        lisp, array, obj = _forms(canonical, variant)
        expected = EXAMPLES[canonical][3]
        assert parse_filter(lisp) == expected, variant
        assert parse_filter(array, style="json") == expected, variant
        assert parse_filter(obj, style="json") == expected, variant


def _code_tokens(markdown: str) -> set[str]:
    """The tokens inside `code spans` and fenced code blocks of a markdown text."""
    blocks = re.findall(r"```.*?```", markdown, flags=re.DOTALL)
    rest = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    code = blocks + re.findall(r"`([^`\n]+)`", rest)
    return {tok for chunk in code for tok in re.split(r"[\s()\[\],`]+", chunk) if tok}


def test_docs_list_every_operator_and_alias_with_an_example() -> None:
    text = DOCS.read_text(encoding="utf-8")
    tokens = _code_tokens(text)
    missing = [name for op in crudql.operators.OPERATORS for name in op.names if name not in tokens]
    assert missing == []
    # Every canonical operator has an example form, like `(ilike name "%an%")`.
    no_example = [op.name for op in crudql.operators.OPERATORS if f"({op.name} " not in text]
    assert no_example == []


def _lisp_examples(markdown: str) -> list[str]:
    """The top-level forms of the ```lisp blocks of a markdown text (strings and comments skipped)."""
    forms = []
    for block in re.findall(r"```lisp\n(.*?)```", markdown, flags=re.DOTALL):
        depth, start = 0, 0
        for m in re.finditer(r'"(?:[^"\\]|\\.)*"|;[^\n]*|[()]', block):
            if m.group() == "(":
                start = m.start() if depth == 0 else start
                depth += 1
            elif m.group() == ")":
                depth -= 1
                if depth == 0:
                    forms.append(block[start : m.end()])
    return forms


def test_docs_lisp_examples_parse_against_contact() -> None:
    examples = _lisp_examples(DOCS.read_text(encoding="utf-8"))
    assert len(examples) > 30
    for example in examples:
        fields = _fields(parse_filter(example, schema=SCHEMA))
        # Checked against Contact: every field carries its type and JSON path.
        assert fields and all(f.type is not None and f.json_path is not None for f in fields), example


def _fields(node: Any) -> list[Field]:
    if isinstance(node, (And, Or)):
        return [f for child in node.children for f in _fields(child)]
    if isinstance(node, Not):
        return _fields(node.child)
    if isinstance(node, Quantified):
        return [node.field, *_fields(node.condition)]
    assert isinstance(node, Predicate), node
    return [node.field]


# --------------------------------------------------------------------------- lexical rules


def test_whitespace_newlines_and_comments_are_free() -> None:
    text = """
    ; the partner filter
    (and   (= info.partner "AWS")   ; a comment after a form
           (>= info.cosellPartnerMetrics.accountCount
               10)
           ; a comment on its own line, with ( and ) and "quotes"
    )
    ; trailing comment without a newline"""
    assert parse_filter(text) == And(
        (P("=", "info.partner", "AWS"), P(">=", "info.cosellPartnerMetrics.accountCount", 10))
    )
    assert parse_filter('\t(=\tname\r\n"x")\n') == P("=", "name", "x")


def test_a_semicolon_inside_a_string_is_not_a_comment() -> None:
    assert parse_filter('(= name "a;b")') == P("=", "name", "a;b")


def test_quoted_field_names_in_field_position() -> None:
    assert parse_filter('(= "info.companyName" "Acme")') == parse_filter('(= info.companyName "Acme")')
    assert parse_filter('(exists "tags")') == P("exists", "tags")
    assert parse_filter('(any "info.cosellPartnerMetrics.accounts" (= "industry" "x"))') == Quantified(
        "any", F(ACCOUNTS), P("=", "industry", "x")
    )
    # A quoted field may spell a name that would otherwise read as a literal.
    assert parse_filter('(= "true" 1)') == P("=", "true", 1)


@pytest.mark.parametrize(
    "text,value",
    [
        ('"plain"', "plain"),
        ('""', ""),
        ('"say \\"hi\\""', 'say "hi"'),
        ('"back\\\\slash"', "back\\slash"),
        ('"a\\/b"', "a/b"),
        ('"\\b\\f\\n\\r\\t"', "\b\f\n\r\t"),
        ('"\\u00e9\\u00C9"', "éÉ"),
        ('"\\ud83d\\ude00"', "\U0001f600"),
        ('"Zoë Ångström 日本"', "Zoë Ångström 日本"),
        ("-1", -1),
        ("0", 0),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        ("-2.5E-3", -0.0025),
        ("9223372036854775807", 9223372036854775807),
        ("true", True),
        ("false", False),
        ("null", None),
    ],
)
def test_literals(text: str, value: Any) -> None:
    node = parse_filter(f"(= f {text})")
    assert isinstance(node, Predicate)
    (lit,) = node.args
    assert isinstance(lit, Literal)
    assert lit.value == value and type(lit.value) is type(value)
    # The same literal in JSON gives the same tree.
    assert parse_filter(J(["=", "f", value]), style="json") == node


@pytest.mark.parametrize(
    "text",
    [
        '(= f "\\ud800")',
        '(= f "a\\udc00b")',
        '(= f "\ud800")',
        "(exists a\udfff)",
        '(exists "x.\\ud800")',
        '(exists "x.\ud800")',
    ],
)
def test_unpaired_surrogates_are_errors_raw_or_escaped(text: str) -> None:
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter(text)
    assert exc.value.code == "syntax"


def test_numbers_keep_their_type() -> None:
    # 1, 1.0 and true are equal in Python but are different literals.
    one, one_float, true = (parse_filter(f"(= f {v})") for v in ("1", "1.0", "true"))
    assert one != one_float and one != true and one_float != true
    assert parse_filter("(= f 1e3)") == parse_filter("(= f 1000.0)") != parse_filter("(= f 1000)")


@pytest.mark.parametrize("opening,closing", [("(", ")"), ("[", "]")])
def test_lists_in_either_bracket(opening: str, closing: str) -> None:
    assert parse_filter(f'(in info.partner {opening}"AWS" "GCP"{closing})') == P("in", "info.partner", LV("AWS", "GCP"))
    assert parse_filter(f"(in f {opening}1 2.5 true null{closing})") == P("in", "f", LV(1, 2.5, True, None))
    assert parse_filter(f"(in f {opening}{closing})") == P("in", "f", LV())
    assert parse_filter(f"(in f {opening} ; comment\n {closing})") == P("in", "f", LV())
    assert parse_filter(f"(nin f {opening}-1{closing})") == P("nin", "f", LV(-1))


def test_empty_lists_in_every_list_operator() -> None:
    for op in ("in", "nin", "has-any", "has-all"):
        expected = P(op, "tags" if op.startswith("has") else "name", LV())
        text = f"({op} {expected.field.dotted} ())"
        assert parse_filter(text) == expected
        assert parse_filter(J([op, expected.field.dotted, []]), style="json") == expected
        assert parse_filter(J({op: [expected.field.dotted, []]}), style="json") == expected
        checked = parse_filter(text, schema=SCHEMA)
        assert isinstance(checked, Predicate) and checked.args == (LV(),)


def test_blank_filters_match_all() -> None:
    for text in (None, "", "   ", "\n\t", "; only a comment", "; one\n; two\n"):
        assert parse_filter(text) is None
        assert parse_filter(text, schema=SCHEMA) is None


def test_style_name_is_case_insensitive() -> None:
    assert parse_filter('(= name "x")', style="LISP") == parse_filter('["=", "name", "x"]', style="Json")


def test_and_or_are_n_ary_and_keep_order() -> None:
    node = parse_filter("(or (= a 1) (= b 2) (= c 3) (= d 4))")
    assert node == Or(tuple(P("=", n, i) for i, n in enumerate("abcd", 1)))
    assert parse_filter("(and (= a 1))") == And((P("=", "a", 1),))
    # Nesting is kept as written, not flattened.
    assert parse_filter("(and (and (= a 1)) (= b 2))") == And((And((P("=", "a", 1),)), P("=", "b", 2)))


# --------------------------------------------------------------------------- field paths


def test_fields_are_path_tuples() -> None:
    node = parse_filter("(= info.cosellPartnerMetrics.pipeline.USD 5)")
    assert isinstance(node, Predicate)
    assert node.field.path == ("info", "cosellPartnerMetrics", "pipeline", "USD")


@pytest.mark.parametrize(
    "spelling",
    [
        "info.cosellPartnerMetrics.accountCount",
        "info.cosell_partner_metrics.account_count",
        "info.cosellPartnerMetrics.account_count",
        "info.cosell_partner_metrics.accountCount",
    ],
)
def test_mixed_python_name_and_alias_segments(spelling: str) -> None:
    checked = parse_filter(f"(>= {spelling} 10)", schema=SCHEMA)
    assert isinstance(checked, Predicate)
    # Checked trees name fields canonically (Python names) and carry the JSON path and type.
    assert checked.field.path == ("info", "cosell_partner_metrics", "account_count")
    assert checked.field.json_path == ("info", "cosellPartnerMetrics", "accountCount")
    assert checked.field.type is not None and checked.field.type.kind is crudql.operators.Kind.INT
    assert checked == parse_filter(J([">=", spelling, 10]), style="json", schema=SCHEMA)


def test_top_level_alias_and_python_name() -> None:
    pairs = [
        ("organization_id", "organizationID", '"x"'),
        ("company_contact_id", "companyContactId", '"x"'),
        ("email_address", "emailAddress", '"x"'),
        ("creation_time", "creationTime", '"2024-01-01"'),
        ("last_update_time", "lastUpdateTime", '"2024-01-01"'),
    ]
    for python, alias, value in pairs:
        a = parse_filter(f"(= {python} {value})", schema=SCHEMA)
        assert a == parse_filter(f"(= {alias} {value})", schema=SCHEMA)
        assert isinstance(a, Predicate) and a.field.path == (python,) and a.field.json_path == (alias,)


def test_nested_alias_spellings_of_the_reference() -> None:
    for python, alias in (("linked_in", "linkedIn"), ("s3_key_picture", "s3KeyPicture")):
        a = parse_filter(f'(= info.enriched_contact_info.{python} "x")', schema=SCHEMA)
        b = parse_filter(f'(= info.enrichedContactInfo.{alias} "x")', schema=SCHEMA)
        assert a == b
        assert isinstance(a, Predicate) and a.field.json_path == ("info", "enrichedContactInfo", alias)


def test_dict_key_paths() -> None:
    checked = parse_filter("(> info.cosellPartnerMetrics.pipeline.USD 100000.5)", schema=SCHEMA)
    assert isinstance(checked, Predicate)
    assert checked.field.path == ("info", "cosell_partner_metrics", "pipeline", "USD")
    assert checked.field.json_path == ("info", "cosellPartnerMetrics", "pipeline", "USD")
    # Keys are case-sensitive data, not names: they are kept as written.
    lower = parse_filter("(exists info.cosellPartnerMetrics.closedWonAmount.usd)", schema=SCHEMA)
    assert isinstance(lower, Predicate) and lower.field.path[-1] == "usd"
    # The map's values are numbers.
    with pytest.raises(crudql.QueryError) as exc:
        parse_filter('(= info.cosellPartnerMetrics.pipeline.USD "x")', schema=SCHEMA)
    assert exc.value.code == "type"


def test_field_names_are_case_sensitive() -> None:
    for text in ('(= Name "x")', '(= INFO.partner "AWS")', '(= info.Partner "AWS")', '(= creationtime "2024-01-01")'):
        with pytest.raises(crudql.QueryError) as exc:
            parse_filter(text, schema=SCHEMA)
        assert exc.value.code == "unknown_field"


# --------------------------------------------------------------------------- any / all / *


def test_nested_any_all() -> None:
    text = f'(all {ACCOUNTS} (or (= type "Customer") (any opportunities (and (>= probability 50) (= stageName "Closed Won")))))'
    expected = Quantified(
        "all",
        F(ACCOUNTS),
        Or(
            (
                P("=", "type", "Customer"),
                Quantified(
                    "any", F("opportunities"), And((P(">=", "probability", 50), P("=", "stageName", "Closed Won")))
                ),
            )
        ),
    )
    assert parse_filter(text) == expected
    array = [
        "all",
        ACCOUNTS,
        [
            "or",
            ["=", "type", "Customer"],
            ["any", "opportunities", ["and", [">=", "probability", 50], ["=", "stageName", "Closed Won"]]],
        ],
    ]
    obj = {
        "all": [
            ACCOUNTS,
            {
                "or": [
                    {"=": ["type", "Customer"]},
                    {
                        "any": [
                            "opportunities",
                            {"and": [{">=": ["probability", 50]}, {"=": ["stageName", "Closed Won"]}]},
                        ]
                    },
                ]
            },
        ]
    }
    assert parse_filter(J(array), style="json") == expected == parse_filter(J(obj), style="json")
    checked = parse_filter(text, schema=SCHEMA)
    assert (
        checked
        == parse_filter(J(array), style="json", schema=SCHEMA)
        == parse_filter(J(obj), style="json", schema=SCHEMA)
    )
    # Fields inside any/all are element-relative and resolve against the element model.
    assert isinstance(checked, Quantified)
    inner = checked.condition.children[1]  # type: ignore[union-attr]
    assert inner.field.path == ("opportunities",)
    assert inner.condition.children[1].field.path == ("stage_name",)
    assert inner.condition.children[1].field.json_path == ("stageName",)


def test_star_paths_parse_unchanged_without_a_schema() -> None:
    node = parse_filter(f'(= {ACCOUNTS}.*.industry "Software")')
    assert node == P("=", f"{ACCOUNTS}.*.industry", "Software")


def _checked(text: str) -> Any:
    return parse_filter(text, schema=SCHEMA)


def test_star_paths_become_any_when_checked() -> None:
    assert _checked(f'(= {ACCOUNTS}.*.industry "Software")') == _checked(f'(any {ACCOUNTS} (= industry "Software"))')
    assert _checked(f'(in {ACCOUNTS}.*.type ("Customer"))') == _checked(f'(any {ACCOUNTS} (in type ("Customer")))')
    assert _checked(f"(> {ACCOUNTS}.*.opportunities.*.amount 5)") == _checked(
        f"(any {ACCOUNTS} (any opportunities (> amount 5)))"
    )


def test_star_negations_become_not_any() -> None:
    # `*` negations mean "no element": (not (any ...)).
    assert _checked(f'(!= {ACCOUNTS}.*.industry "Software")') == _checked(
        f'(not (any {ACCOUNTS} (= industry "Software")))'
    )
    assert _checked(f'(ne {ACCOUNTS}.*.industry "Software")') == _checked(
        f'(not (any {ACCOUNTS} (= industry "Software")))'
    )
    assert _checked(f'(nin {ACCOUNTS}.*.type ("A" "B"))') == _checked(f'(not (any {ACCOUNTS} (in type ("A" "B"))))')
    assert _checked(f'(not-in {ACCOUNTS}.*.type ("A"))') == _checked(f'(not (any {ACCOUNTS} (in type ("A"))))')
    assert _checked(f'(not (= {ACCOUNTS}.*.type "A"))') == _checked(f'(not (any {ACCOUNTS} (= type "A")))')
    assert _checked(f"(!= {ACCOUNTS}.*.opportunities.*.amount 5)") == _checked(
        f"(not (any {ACCOUNTS} (any opportunities (= amount 5))))"
    )


def test_star_paths_with_null_tests_mean_some_element() -> None:
    # Decision (docs/language.md): exists/is-null under `*` ask about some element.
    assert _checked(f"(exists {ACCOUNTS}.*.industry)") == _checked(f"(any {ACCOUNTS} (exists industry))")
    assert _checked(f"(is-null {ACCOUNTS}.*.industry)") == _checked(f"(any {ACCOUNTS} (is-null industry))")
    assert _checked(f"(= {ACCOUNTS}.*.industry null)") == _checked(f"(any {ACCOUNTS} (= industry null))")


def test_star_paths_in_json_styles() -> None:
    lisp = _checked(f'(!= {ACCOUNTS}.*.industry "Software")')
    assert lisp == parse_filter(J(["!=", f"{ACCOUNTS}.*.industry", "Software"]), style="json", schema=SCHEMA)
    assert lisp == parse_filter(J({"!=": [f"{ACCOUNTS}.*.industry", "Software"]}), style="json", schema=SCHEMA)


def test_star_under_any_and_all() -> None:
    assert _checked(f"(all {ACCOUNTS}.*.opportunities (> amount 5))") == _checked(
        f"(any {ACCOUNTS} (all opportunities (> amount 5)))"
    )
    nested = _checked(f'(any {ACCOUNTS} (= opportunities.*.stageName "Won"))')
    assert nested == _checked(f'(any {ACCOUNTS} (any opportunities (= stageName "Won")))')


def test_checked_literals_are_coerced() -> None:
    checked = _checked('(between creation_time "2024-01-01" "2024-06-30T12:00:00+02:00")')
    assert isinstance(checked, Predicate)
    low, high = (a.value for a in checked.args)  # type: ignore[union-attr]
    assert low == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert high == dt.datetime(2024, 6, 30, 10, tzinfo=dt.timezone.utc)
    assert low.utcoffset() == dt.timedelta(0) and high.utcoffset() == dt.timedelta(0)


def test_the_spec_examples() -> None:
    section2 = """(and (= organization_id "org-1")
         (in info.partner ("AWS" "GCP"))
         (>= info.cosellPartnerMetrics.accountCount 10)
         (ilike name "%an%")
         (not (has tags "churned")))"""
    expected = And(
        (
            P("=", "organization_id", "org-1"),
            P("in", "info.partner", LV("AWS", "GCP")),
            P(">=", "info.cosellPartnerMetrics.accountCount", 10),
            P("ilike", "name", "%an%"),
            Not(P("has", "tags", "churned")),
        )
    )
    assert parse_filter(section2) == expected
    assert crudql.to_lisp(parse_filter(section2, schema=SCHEMA)) == (
        '(and (= organization_id "org-1") (in info.partner ("AWS" "GCP")) '
        '(>= info.cosell_partner_metrics.account_count 10) (ilike name "%an%") (not (has tags "churned")))'
    )  # checked: aliases resolved to the model's names
    section3_array = '["and", ["=", "name", "x"], ["in", "info.partner", ["AWS", "GCP"]]]'
    assert parse_filter(section3_array, style="json") == parse_filter(
        '(and (= name "x") (in info.partner ("AWS" "GCP")))'
    )
    section3_object = '{"and": [{"=": ["name", "x"]}, {"not": {"has": ["tags", "churned"]}}]}'
    assert parse_filter(section3_object, style="json") == parse_filter('(and (= name "x") (not (has tags "churned")))')
    assert parse_filter('{"exists": "tags"}', style="json") == P("exists", "tags")
    issue = '(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 10))'
    assert parse_filter(issue, schema=SCHEMA) == parse_filter(
        '["and", ["=", "info.partner", "AWS"], [">=", "info.cosellPartnerMetrics.accountCount", 10]]',
        style="json",
        schema=SCHEMA,
    )


def test_parsed_trees_are_immutable_and_hashable() -> None:
    a = parse_filter('(and (= name "x") (in tags ("a")))')
    b = parse_filter('["and", ["=", "name", "x"], ["in", "tags", ["a"]]]', style="json")
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        a.children = ()  # type: ignore[union-attr, misc]


def test_spans_take_no_part_in_equality() -> None:
    a = parse_filter('(= name "x")')
    b = parse_filter('   (=   name\n"x"  )')
    assert a == b
    assert a.span != b.span  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        '(and (= info.partner "AWS") (or (>= info.cosellPartnerMetrics.accountCount 10) (not (has tags "x"))))',
        '(any info.cosellPartnerMetrics.accounts (= industry "Software"))',
        '(and (= name "a") oops)',
        "(and (= name 1)",
    ],
)
def test_lisp_parses_alike_through_lark_own_front_end(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The direct call into Lark's LALR parser relies on Lark internals; without them crudql
    # goes through Lark.parse, which must give the same trees and the same errors.
    from crudql.parse import parse_filter_uncached
    from crudql.syntax import lisp

    def outcome() -> Any:
        try:
            return parse_filter_uncached(text, "lisp", None, crudql.DEFAULT_LIMITS)
        except crudql.QueryError as exc:
            return type(exc), str(exc)

    direct = outcome()
    assert lisp._lalr() is not None
    monkeypatch.setattr(lisp, "_lalr", lambda: None)
    assert outcome() == direct
