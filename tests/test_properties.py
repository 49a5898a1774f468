"""Property tests (hypothesis):

- random raw ASTs round-trip through both printers, and lisp ≡ JSON array ≡ JSON object form;
- random lisp layouts (whitespace, comments, either bracket) do not change the tree;
- random well-typed Contact filters check, and checked trees round-trip with the schema;
- random and mutated query texts raise `QueryError` and nothing else;
- sorts round-trip through `sort_to_simple` / `sort_to_json`.

The strategies here are built from `crudql.ast` constructors and the spec alone (not from
tests/support/strategies.py, which serves the backend tests).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

import crudql
from crudql import QueryError, SortKey, parse_filter, parse_sort, sort_to_json, sort_to_simple, to_json, to_lisp
from crudql.ast import And, Field, ListValue, Literal, Not, Now, Or, Predicate, Quantified
from crudql.models import Contact, EnrichmentStatus, Partner
from crudql.operators import OPERATORS, ArgKind

# Every test here is a hypothesis property; at the ci profile's 300 examples each they add up.
pytestmark = pytest.mark.slow

SCHEMA = crudql.Schema.from_model(Contact)
UTC = dt.timezone.utc

# --------------------------------------------------------------------------- raw ASTs

_HEAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
ascii_segment = st.builds(
    str.__add__, st.sampled_from(_HEAD), st.text(st.sampled_from(_HEAD + "0123456789"), max_size=7)
)
unicode_segment = st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=5)
segment = st.one_of(ascii_segment, ascii_segment, unicode_segment, st.sampled_from(["true", "null", "and", "USD", "_"]))


@st.composite
def fields(draw: Any) -> Field:
    first = draw(segment)
    rest = draw(st.lists(st.one_of(segment, st.just("*")), max_size=3))
    return Field((first, *rest))


special_strings = st.sampled_from(
    ["", '"', "\\", '\\"', "\n", "\r\n", "\t", "\x00", "\x1f", "\u2028", ";", "(", ")", "[", "]", "%_", "é", "😀", "null"]
)
strings = st.one_of(st.text(max_size=12), special_strings, st.lists(special_strings, max_size=4).map("".join))
ints = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63), 2**63, 10**40]),
)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e300, -1e300, -0.0, 0.0, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 1e16, 123456789.125]),
)
# `now` values stand wherever a value does (the checker, not the syntax, limits them to datetimes).
nows = st.builds(Now, st.integers(-5000, 5000), st.sampled_from("smhdw"))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, strings, nows)
non_null = st.one_of(st.booleans(), ints, floats, strings, nows)
literals = scalars.map(Literal)
lists = st.lists(literals, max_size=5).map(lambda items: ListValue(tuple(items)))


def _lone_backslash(s: str) -> bool:
    return (len(s) - len(s.rstrip("\\"))) % 2 == 1


patterns = strings.filter(lambda s: not _lone_backslash(s))

PREDICATE_OPS = [op for op in OPERATORS if op.args and op.args[0] is ArgKind.FIELD and ArgKind.EXPR not in op.args]


def _arg(op: Any, kind: ArgKind) -> Any:
    if kind is ArgKind.LIST:
        return lists
    if kind is ArgKind.PATTERN:
        return patterns.map(Literal)
    if kind is ArgKind.STRING:
        return strings.map(Literal)
    return (scalars if op.null_value else non_null).map(Literal)


@st.composite
def predicates(draw: Any) -> Predicate:
    op = draw(st.sampled_from(PREDICATE_OPS))
    args = tuple(draw(_arg(op, kind)) for kind in op.args[1:])
    return Predicate(op.name, draw(fields()), args)


def _extend(children: Any) -> Any:
    many = st.lists(children, min_size=1, max_size=4).map(tuple)
    return st.one_of(
        many.map(And),
        many.map(Or),
        children.map(Not),
        st.builds(Quantified, st.sampled_from(["any", "all"]), fields(), children),
    )


def depth(node: Any) -> int:
    if isinstance(node, (And, Or)):
        return 1 + max(depth(c) for c in node.children)
    if isinstance(node, Not):
        return 1 + depth(node.child)
    if isinstance(node, Quantified):
        return 1 + depth(node.condition)
    return 1 + any(isinstance(a, ListValue) for a in node.args)


raw_asts = st.recursive(predicates(), _extend, max_leaves=10).filter(lambda n: depth(n) <= 32)


# Printers of our own, for the forms crudql does not print itself.


def to_object_form(node: Any, rnd: random.Random) -> Any:
    """The JSON object form, choosing the shorthands at random."""
    if isinstance(node, (And, Or)):
        return {"and" if isinstance(node, And) else "or": [to_object_form(c, rnd) for c in node.children]}
    if isinstance(node, Not):
        inner = to_object_form(node.child, rnd)
        return {"not": inner if rnd.random() < 0.5 else [inner]}
    if isinstance(node, Quantified):
        return {node.op: [node.field.dotted, to_object_form(node.condition, rnd)]}
    args = [tuple(map(_json_value, a.values)) if isinstance(a, ListValue) else _json_value(a.value) for a in node.args]
    values = [list(v) if isinstance(v, tuple) else v for v in args]
    if not values and rnd.random() < 0.5:
        return {node.op: node.field.dotted}
    return {node.op: [node.field.dotted, *values]}


def to_array_form(node: Any, rnd: random.Random) -> Any:
    """The JSON array form with operator aliases in random case (mixed with object nodes)."""
    name = _alias(node, rnd)
    if isinstance(node, (And, Or)):
        return [name, *(to_array_form(c, rnd) for c in node.children)]
    if isinstance(node, Not):
        child = node.child
        return [name, to_object_form(child, rnd) if rnd.random() < 0.5 else to_array_form(child, rnd)]
    if isinstance(node, Quantified):
        return [name, node.field.dotted, to_array_form(node.condition, rnd)]
    return [
        name,
        node.field.dotted,
        *([_json_value(v) for v in a.values] if isinstance(a, ListValue) else _json_value(a.value) for a in node.args),
    ]


def _json_value(value: Any) -> Any:
    """A literal's value in a JSON document: `now` as {"now": offset}, in random case."""
    if isinstance(value, Now):
        return {random.choice(["now", "NOW", "Now"]): value.text}
    return value


def _alias(node: Any, rnd: random.Random) -> str:
    canonical = "and" if isinstance(node, And) else "or" if isinstance(node, Or) else "not" if isinstance(node, Not) else node.op
    op = crudql.operators.lookup(canonical)
    assert op is not None
    name = rnd.choice(op.names)
    return "".join(c.upper() if rnd.random() < 0.5 else c for c in name) if rnd.random() < 0.5 else name


SEPARATORS = [" ", "  ", "\n", "\t", "\r\n", " ; comment\n", ";(not) \"a comment\"\n", "\n;;\n "]


def to_lisp_layout(node: Any, rnd: random.Random) -> str:
    """Lisp text with random whitespace and comments between tokens, aliases, quoted fields and [] lists."""

    def sep() -> str:
        return rnd.choice(SEPARATORS)

    def opt() -> str:
        return rnd.choice(["", "", " ", "\n", " ;c\n"])

    def field(f: Field) -> str:
        bare = to_lisp(Predicate("exists", f))[len("(exists ") : -1]
        return json.dumps(f.dotted, ensure_ascii=False) if rnd.random() < 0.5 else bare

    def value(a: Any) -> str:
        if isinstance(a, ListValue):
            o, c = rnd.choice(["()", "[]"])
            items = [to_lisp(Predicate("=", Field(("f",)), (i,)))[len("(= f ") : -1] for i in a.items]
            return o + opt() + sep().join(items) + opt() + c
        return to_lisp(Predicate("=", Field(("f",)), (a,)))[len("(= f ") : -1]

    def go(n: Any) -> str:
        head = "(" + opt() + _alias(n, rnd)
        if isinstance(n, (And, Or)):
            parts = [go(c) for c in n.children]
        elif isinstance(n, Not):
            parts = [go(n.child)]
        elif isinstance(n, Quantified):
            parts = [field(n.field), go(n.condition)]
        else:
            parts = [field(n.field), *(value(a) for a in n.args)]
        return head + "".join(sep() + p for p in parts) + opt() + ")"

    return opt() + go(node) + opt()


@given(raw_asts)
def test_raw_asts_round_trip_through_both_printers(node: Any) -> None:
    lisp = to_lisp(node)
    note(lisp)
    assert parse_filter(lisp) == node
    text = to_json(node)
    assert isinstance(json.loads(text), list)
    assert parse_filter(text, style="json") == node
    assert parse_filter(json.loads(text), style="json") == node
    # The canonical text is a fixed point.
    assert to_lisp(parse_filter(lisp)) == lisp
    assert to_json(parse_filter(text, style="json")) == text


@given(raw_asts, st.randoms(use_true_random=False))
def test_lisp_equals_json_array_equals_json_object(node: Any, rnd: random.Random) -> None:
    obj = to_object_form(node, rnd)
    arr = to_array_form(node, rnd)
    note(json.dumps(obj, ensure_ascii=False))
    assert parse_filter(json.dumps(obj, ensure_ascii=False), style="json") == node
    assert parse_filter(json.dumps(arr), style="json") == node
    assert parse_filter(to_lisp(node)) == parse_filter(json.dumps(obj), style="json")


@given(raw_asts, st.randoms(use_true_random=False))
def test_lisp_layout_does_not_matter(node: Any, rnd: random.Random) -> None:
    text = to_lisp_layout(node, rnd)
    note(text)
    assert parse_filter(text) == node


# --------------------------------------------------------------------------- checked Contact filters

ACCOUNTS = "info.cosellPartnerMetrics.accounts"
instants = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.sampled_from(
        [UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
    ) | st.none()
)
iso_datetimes = st.one_of(instants.map(lambda d: d.isoformat()), st.dates(dt.date(1971, 1, 1)).map(lambda d: d.isoformat()))
small_ints = st.integers(-(2**63), 2**63 - 1)
numbers = st.one_of(small_ints, st.floats(allow_nan=False, allow_infinity=False))
partners = st.sampled_from([p.value for p in Partner])
statuses = st.sampled_from([s.value for s in EnrichmentStatus])

# field spelling -> (kind, value strategy)
TYPED_FIELDS: dict[str, tuple[str, Any]] = {
    "name": ("string", strings),
    "info.companyName": ("string", strings),
    "info.company_name": ("string", strings),
    "organizationID": ("string", strings),
    f"{ACCOUNTS}.*.industry": ("string", strings),
    "info.enrichedContactInfo.linkedIn": ("string", strings),
    "info.cosellPartnerMetrics.accountCount": ("int", small_ints),
    "info.cosell_partner_metrics.closed_won_count": ("int", small_ints),
    "info.cosellPartnerMetrics.successRate": ("number", numbers),
    "info.cosellPartnerMetrics.pipeline.USD": ("number", numbers),
    f"{ACCOUNTS}.*.opportunities.*.amount": ("number", numbers),
    "info.enrichedContactInfo.info.isPrimary": ("bool", st.booleans()),
    "creation_time": ("datetime", iso_datetimes),
    "creationTime": ("datetime", iso_datetimes),
    "info.enrichedContactInfo.info.workExperiences.*.startDate": ("datetime", iso_datetimes),
    "info.partner": ("enum", partners),
    "info.enrichedContactInfo.status": ("enum", statuses),
    "tags": ("strings", strings),
    "info.cosellPartnerMetrics.industries": ("strings", strings),
}
ORDERED = ["<", "<=", ">", ">=", "between"]
OPS_BY_KIND = {
    "string": ["=", "!=", *ORDERED, "in", "nin", "like", "ilike", "contains", "icontains", "starts-with", "ends-with"],
    "int": ["=", "!=", *ORDERED, "in", "nin"],
    "number": ["=", "!=", *ORDERED, "in", "nin"],
    "bool": ["=", "!=", "in", "nin"],
    "datetime": ["=", "!=", *ORDERED, "in", "nin"],
    "enum": ["=", "!=", "in", "nin", "like", "ilike", "starts-with", "ends-with", "contains"],
    "strings": ["has", "has-any", "has-all", "contains", "icontains"],
}


@st.composite
def typed_predicates(draw: Any) -> Predicate:
    path = draw(st.sampled_from(sorted(TYPED_FIELDS)))
    kind, values = TYPED_FIELDS[path]
    f = Field(tuple(path.split(".")))
    op = draw(st.sampled_from([*OPS_BY_KIND[kind], "exists", "is-null", "null-test"]))
    if op in ("exists", "is-null"):
        return Predicate(op, f)
    if op == "null-test":
        return Predicate(draw(st.sampled_from(["=", "!="])), f, (Literal(None),))
    if op in ("like", "ilike"):
        return Predicate(op, f, (Literal(draw(patterns)),))
    if op in ("starts-with", "ends-with", "contains", "icontains") and kind != "strings":
        return Predicate(op, f, (Literal(draw(strings)),))
    if op in ("in", "nin", "has-any", "has-all"):
        items = draw(st.lists(values, max_size=4))
        if op in ("in", "nin") and draw(st.booleans()):
            items.append(None)
        return Predicate(op, f, (ListValue(tuple(Literal(v) for v in items)),))
    if op == "between":
        return Predicate(op, f, (Literal(draw(values)), Literal(draw(values))))
    return Predicate(op, f, (Literal(draw(values)),))


@st.composite
def account_conditions(draw: Any) -> Any:
    """Element-relative conditions over an account (and its opportunities)."""
    leaf = st.one_of(
        strings.map(lambda s: Predicate("=", Field(("industry",)), (Literal(s),))),
        strings.map(lambda s: Predicate("!=", Field(("type",)), (Literal(s),))),
        numbers.map(lambda n: Predicate(">", Field(("opportunities", "*", "amount")), (Literal(n),))),
        numbers.map(lambda n: Quantified("all", Field(("opportunities",)), Predicate("<=", Field(("probability",)), (Literal(n),)))),
        st.just(Predicate("exists", Field(("domain",)))),
    )
    children = draw(st.lists(leaf, min_size=1, max_size=3))
    return children[0] if len(children) == 1 else And(tuple(children))


typed_leaves = st.one_of(
    typed_predicates(),
    typed_predicates(),
    st.builds(Quantified, st.sampled_from(["any", "all"]), st.just(Field(tuple(ACCOUNTS.split(".")))), account_conditions()),
)
typed_asts = st.recursive(
    typed_leaves,
    lambda c: st.one_of(st.lists(c, min_size=1, max_size=3).map(lambda x: And(tuple(x))),
                        st.lists(c, min_size=1, max_size=3).map(lambda x: Or(tuple(x))), c.map(Not)),
    max_leaves=6,
)


@given(typed_asts)
def test_well_typed_filters_check_and_round_trip(node: Any) -> None:
    text = to_lisp(node)
    note(text)
    checked = parse_filter(text, schema=SCHEMA)
    assert checked == crudql.check_filter(node, SCHEMA)
    assert checked == parse_filter(to_json(node), style="json", schema=SCHEMA)
    # Checked trees print canonically and parse back (with the schema) to themselves.
    assert parse_filter(to_lisp(checked), schema=SCHEMA) == checked
    assert parse_filter(to_json(checked), style="json", schema=SCHEMA) == checked
    assert crudql.check_filter(checked, SCHEMA) == checked


@given(instants)
def test_datetime_literals_become_utc_instants(value: dt.datetime) -> None:
    checked = parse_filter(f'(= creation_time "{value.isoformat()}")', schema=SCHEMA)
    got = checked.args[0].value  # type: ignore[union-attr]
    expected = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    assert got == expected and got.utcoffset() == dt.timedelta(0)


# --------------------------------------------------------------------------- nothing but QueryError

SYNTAX = [*'()[]{}";\\:,.*-+ \n\t0123456789eE', "null", "true", "and", "not", "=", "in", "\u00e9", "\x00", "\u2028"]


@st.composite
def mutated(draw: Any, source: str) -> str:
    text = list(source)
    for _ in range(draw(st.integers(1, 5))):
        action = draw(st.sampled_from(["delete", "insert", "swap", "duplicate"]))
        if action == "delete" and text:
            del text[draw(st.integers(0, len(text) - 1))]
        elif action == "insert":
            piece = draw(st.one_of(st.sampled_from(SYNTAX), st.characters()))
            text.insert(draw(st.integers(0, len(text))), piece)
        elif action == "swap" and len(text) > 1:
            i, j = draw(st.integers(0, len(text) - 1)), draw(st.integers(0, len(text) - 1))
            text[i], text[j] = text[j], text[i]
        elif action == "duplicate" and text:
            i = draw(st.integers(0, len(text) - 1))
            j = draw(st.integers(i, min(len(text), i + 20)))
            text[i:i] = text[i:j]
    return "".join(text)


def only_query_errors(text: Any, style: str) -> None:
    for schema in (None, SCHEMA):
        try:
            result = parse_filter(text, style=style, schema=schema)
        except QueryError as exc:
            assert exc.code and exc.message
            str(exc)  # the caret excerpt renders
            if exc.position is not None and isinstance(text, str):
                assert 0 <= exc.position <= len(text)
                assert exc.line is not None and exc.column is not None and exc.line >= 1 and exc.column >= 1
        else:
            if result is not None:  # whatever parses, prints and parses back
                assert parse_filter(to_lisp(result), schema=schema) == result


@given(st.data())
def test_mutated_lisp_raises_only_query_errors(data: Any) -> None:
    source = to_lisp(data.draw(st.one_of(raw_asts, typed_asts)))
    only_query_errors(data.draw(mutated(source)), "lisp")


@given(st.data())
def test_mutated_json_raises_only_query_errors(data: Any) -> None:
    node = data.draw(st.one_of(raw_asts, typed_asts))
    source = data.draw(st.sampled_from([to_json(node), json.dumps(to_object_form(node, data.draw(st.randoms(use_true_random=False))))]))
    only_query_errors(data.draw(mutated(source)), "json")


@given(st.text(max_size=60), st.sampled_from(["lisp", "json"]))
def test_random_text_raises_only_query_errors(text: str, style: str) -> None:
    only_query_errors(text, style)


@given(st.lists(st.sampled_from(SYNTAX), max_size=40).map("".join), st.sampled_from(["lisp", "json"]))
def test_random_syntax_soup_raises_only_query_errors(text: str, style: str) -> None:
    only_query_errors(text, style)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
              st.sampled_from(["and", "not", "=", "in", "any", "exists", "name", "tags", "info.partner"])),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from(["and", "not", "=", "in", "exists", "x"]), c, max_size=2)),
    max_leaves=12,
)


@given(json_values)
def test_random_json_values_raise_only_query_errors(value: Any) -> None:
    only_query_errors(value, "json")
    try:
        text = json.dumps(value)
    except ValueError:
        return
    only_query_errors(text, "json")


@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from([*SYNTAX, "name", "id", "asc", "desc", "{", "}", "field", "order"]), max_size=20).map("".join)),
       st.sampled_from(["simple", "json"]))
def test_random_sorts_raise_only_query_errors(text: str, style: str) -> None:
    for schema in (None, SCHEMA):
        try:
            keys = parse_sort(text, style=style, schema=schema)
        except QueryError as exc:
            str(exc)
        else:
            assert parse_sort(sort_to_simple(keys), schema=schema) == keys


# --------------------------------------------------------------------------- sorts

sort_fields = st.lists(ascii_segment, min_size=1, max_size=3).map(".".join)


@given(st.lists(st.tuples(sort_fields, st.booleans()), max_size=32, unique_by=lambda t: t[0]))
def test_sorts_round_trip(pairs: list[tuple[str, bool]]) -> None:
    keys = [SortKey(f, d) for f, d in pairs]
    assert parse_sort(sort_to_simple(keys)) == keys
    assert parse_sort(sort_to_json(keys), style="json") == keys
    assert parse_sort(json.loads(sort_to_json(keys)), style="json") == keys


# canonical name -> spellings (Python names and aliases, mixed per segment)
SORTABLE = {
    "id": ["id"],
    "name": ["name"],
    "creation_time": ["creation_time", "creationTime"],
    "organization_id": ["organization_id", "organizationID"],
    "info.company_name": ["info.company_name", "info.companyName"],
    "info.partner": ["info.partner"],
    "info.cosell_partner_metrics.account_count": [
        "info.cosellPartnerMetrics.accountCount", "info.cosell_partner_metrics.accountCount", "info.cosellPartnerMetrics.account_count",
    ],
    "info.cosell_partner_metrics.pipeline.USD": ["info.cosellPartnerMetrics.pipeline.USD"],
    "info.enriched_contact_info.info.is_primary": ["info.enrichedContactInfo.info.isPrimary"],
}


@st.composite
def written_sorts(draw: Any) -> tuple[str, str, list[SortKey]]:
    names = draw(st.lists(st.sampled_from(sorted(SORTABLE)), unique=True, max_size=len(SORTABLE)))
    simple, objects, expected = [], [], []
    for name in names:
        spelling = draw(st.sampled_from(SORTABLE[name]))
        desc = draw(st.booleans())
        if desc:
            simple.append(draw(st.sampled_from([f"-{spelling}", f"{spelling}:desc", f"{spelling}:DESC", f"{spelling}:Desc"])))
            objects.append(draw(st.sampled_from([{"field": spelling, "order": "desc"}, {"field": spelling, "order": "DESC"}, f"-{spelling}"])))
        else:
            simple.append(draw(st.sampled_from([spelling, f"+{spelling}", f"{spelling}:asc", f"{spelling}:ASC"])))
            objects.append(draw(st.sampled_from([{"field": spelling}, {"field": spelling, "order": "asc"}, spelling])))
        expected.append(SortKey(name, desc))
    sep = draw(st.sampled_from([",", " , ", ", "]))
    return sep.join(simple), json.dumps(objects), expected


@given(written_sorts())
def test_checked_sorts_in_both_styles(case: tuple[str, str, list[SortKey]]) -> None:
    simple, as_json, expected = case
    assume(simple.strip() or not expected)
    got = parse_sort(simple, schema=SCHEMA)
    assert got == expected
    assert parse_sort(as_json, style="json", schema=SCHEMA) == expected
    assert parse_sort(sort_to_simple(got), schema=SCHEMA) == expected
    assert parse_sort(sort_to_json(got), style="json", schema=SCHEMA) == expected
