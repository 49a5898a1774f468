"""Schemas from any pydantic v2 model (docs/spec/LANGUAGE.md §5): field resolution by Python name or alias,
nested models, lists of models, dicts, Optional, enums, Literal, datetimes and dates; literal
coercion; operator-type rules; unknown fields with a did-you-mean."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Literal, Optional, Union

import pytest
from pydantic import BaseModel, ConfigDict, Field

import crudql
from crudql import QueryError, parse_filter
from crudql.ast import Not, Predicate, Quantified
from crudql.fieldtypes import Kind

UTC = dt.timezone.utc


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Item(BaseModel):
    sku: str
    qty: int = 0
    price: Optional[float] = None
    labels: list[str] = []


class Address(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    zip_code: Optional[str] = Field(None, alias="zipCode")
    items: list[Item] = []


class Order(BaseModel):
    id: int
    title: Optional[str] = None
    color: Optional[Color] = None
    mode: Literal["fast", "slow"] = "fast"
    flag: bool = False
    placed_at: Optional[dt.datetime] = Field(None, alias="placedAt")
    day: Optional[dt.date] = None
    address: Optional[Address] = None
    addresses: list[Address] = []
    scores: dict[str, int] = {}
    rates: Optional[dict[str, float]] = None
    meta: dict[str, Any] = {}
    nums: list[int] = []
    anything: Union[int, str, None] = None
    ratio: float = 0.0
    note: Optional[str] = Field(None, serialization_alias="noteText")


S = crudql.Schema.from_model(Order)


def check(text: str) -> Any:
    return parse_filter(text, schema=S)


def error(text: str, schema: Any = S) -> QueryError:
    with pytest.raises(QueryError) as exc:
        parse_filter(text, schema=schema)
    return exc.value


def value_of(text: str) -> Any:
    node = check(text)
    assert isinstance(node, Predicate)
    return node.args[0].value  # type: ignore[union-attr]


# --------------------------------------------------------------------------- resolution


def test_from_model_accepts_only_pydantic_models() -> None:
    with pytest.raises(TypeError):
        crudql.Schema.from_model(dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        crudql.Schema.from_model(Order(id=1))  # type: ignore[arg-type]


def test_from_model_is_cached() -> None:
    assert crudql.Schema.from_model(Order) is S


@pytest.mark.parametrize(
    "path,canonical,json_path,kind",
    [
        ("id", ("id",), ("id",), Kind.INT),
        ("title", ("title",), ("title",), Kind.STRING),
        ("color", ("color",), ("color",), Kind.ENUM),
        ("mode", ("mode",), ("mode",), Kind.ENUM),
        ("flag", ("flag",), ("flag",), Kind.BOOL),
        ("placed_at", ("placed_at",), ("placedAt",), Kind.DATETIME),
        ("placedAt", ("placed_at",), ("placedAt",), Kind.DATETIME),
        ("day", ("day",), ("day",), Kind.DATE),
        ("address", ("address",), ("address",), Kind.OBJECT),
        ("address.zipCode", ("address", "zip_code"), ("address", "zipCode"), Kind.STRING),
        ("address.zip_code", ("address", "zip_code"), ("address", "zipCode"), Kind.STRING),
        ("address.items", ("address", "items"), ("address", "items"), Kind.ARRAY),
        ("addresses", ("addresses",), ("addresses",), Kind.ARRAY),
        ("scores", ("scores",), ("scores",), Kind.DICT),
        ("scores.math", ("scores", "math"), ("scores", "math"), Kind.INT),
        ("rates.USD", ("rates", "USD"), ("rates", "USD"), Kind.FLOAT),
        ("meta.a.b", ("meta", "a", "b"), ("meta", "a", "b"), Kind.ANY),
        ("nums", ("nums",), ("nums",), Kind.ARRAY),
        ("anything", ("anything",), ("anything",), Kind.ANY),
        ("ratio", ("ratio",), ("ratio",), Kind.FLOAT),
        ("note", ("note",), ("noteText",), Kind.STRING),
        ("noteText", ("note",), ("noteText",), Kind.STRING),
    ],
)
def test_resolution(path: str, canonical: tuple[str, ...], json_path: tuple[str, ...], kind: Kind) -> None:
    f = S.field(path)
    assert f.path == canonical
    assert f.json_path == json_path
    assert f.type is not None and f.type.kind is kind


def test_array_types_carry_their_items() -> None:
    nums = S.field("nums").type
    assert nums is not None and nums.item is not None and nums.item.kind is Kind.INT
    addresses = S.field("addresses").type
    assert addresses is not None and addresses.item is not None and addresses.item.kind is Kind.OBJECT
    color = S.field("color").type
    assert color is not None and set(color.enum_values) == {"red", "green"}
    mode = S.field("mode").type
    assert mode is not None and set(mode.enum_values) == {"fast", "slow"}


def test_checked_fields_carry_canonical_path_json_path_and_type() -> None:
    node = check('(= address.zipCode "x")')
    assert isinstance(node, Predicate)
    assert node.field.path == ("address", "zip_code")
    assert node.field.json_path == ("address", "zipCode")
    assert node.field.type is not None and node.field.type.kind is Kind.STRING
    assert node == check('(= address.zip_code "x")')


def test_element_relative_fields_inside_any() -> None:
    node = check('(any addresses (any items (has labels "x")))')
    assert isinstance(node, Quantified) and isinstance(node.condition, Quantified)
    leaf = node.condition.condition
    assert isinstance(leaf, Predicate)
    assert leaf.field.path == ("labels",)
    assert node.condition.field.path == ("items",)


def test_star_paths_in_any_model() -> None:
    assert check('(= addresses.*.items.*.sku "x")') == check('(any addresses (any items (= sku "x")))')
    assert check('(nin addresses.*.zipCode ("1"))') == check('(not (any addresses (in zip_code ("1"))))')
    assert check('(= address.items.*.qty 2)') == check("(any address.items (= qty 2))")
    negated = check("(!= address.items.*.qty 2)")
    assert isinstance(negated, Not) and isinstance(negated.child, Quantified)


def test_a_model_may_refer_to_itself() -> None:
    class Node(BaseModel):
        name: str
        children: list["Node"] = []
        parent: Optional["Node"] = None

    Node.model_rebuild()
    schema = crudql.Schema.from_model(Node)
    node = parse_filter('(any children (= parent.parent.name "x"))', schema=schema)
    assert isinstance(node, Quantified) and node.field.path == ("children",)
    leaf = node.condition
    assert isinstance(leaf, Predicate) and leaf.field.path == ("parent", "parent", "name")
    assert leaf.field.type is not None and leaf.field.type.kind is Kind.STRING
    star = parse_filter('(= children.*.children.*.name "x")', schema=schema)
    assert star == parse_filter('(any children (any children (= name "x")))', schema=schema)


# --------------------------------------------------------------------------- unknown fields


@pytest.mark.parametrize(
    "text,suggestion",
    [
        ('(= titel "x")', "title"),
        ('(= Title "x")', "title"),
        ('(= address.zipcode "x")', "address.zipCode"),
        ('(= address.zip_Code "x")', "address.zip_code"),
        ('(= adress.zipCode "x")', "address.zipCode"),
        ('(= addresses.*.items.*.skus "x")', "addresses.*.items.*.sku"),
        ('(any addresses (= zipcod "x"))', "zipCode"),
    ],
)
def test_unknown_fields_get_a_did_you_mean(text: str, suggestion: str) -> None:
    exc = error(text)
    assert exc.code == "unknown_field"
    assert f"did you mean '{suggestion}'?" in exc.message


def test_unknown_field_without_a_close_name() -> None:
    exc = error('(= qqqqqqq "x")')
    assert exc.code == "unknown_field"
    assert "qqqqqqq" in exc.message and "did you mean" not in exc.message


@pytest.mark.parametrize(
    "text",
    [
        '(= title.x "a")',  # a scalar has no fields
        '(= addresses.zipCode "a")',  # an array needs * or any
        '(= nums.*.x 1)',  # * into an array of scalars
        "(= scores.* 1)",  # * into a map
        '(= addresses.* "a")',  # nothing after *
        "(= rates.USD.x 1)",
    ],
)
def test_paths_that_do_not_resolve(text: str) -> None:
    assert error(text).code == "unknown_field"


# --------------------------------------------------------------------------- operator-type rules


@pytest.mark.parametrize(
    "text",
    [
        '(like id "1%")',  # like on a number
        '(ilike ratio "1%")',
        '(starts-with flag "t")',
        '(contains id 1)',
        '(has title "x")',  # has on a scalar
        '(has-any id (1))',
        '(has-all address ("x"))',
        '(has addresses "x")',  # has on an array of objects
        "(< flag true)",  # < on a bool
        "(between flag false true)",
        '(= address "x")',  # comparisons on objects, maps and arrays
        "(= scores 1)",
        "(= nums 1)",
        '(in addresses ("x"))',
        '(any address (= zip_code "x"))',  # any on an object
        "(any nums (= x 1))",  # any on an array of scalars
        '(any title (= x 1))',
        "(icontains nums 1)",
    ],
)
def test_operators_not_valid_for_the_type(text: str) -> None:
    assert error(text).code == "type"


@pytest.mark.parametrize(
    "text",
    [
        '(= title "x")',
        '(like title "x%")',
        '(like color "r%")',  # enums are strings
        '(< color "m")',
        '(contains title "x")',
        '(contains nums 1)',  # element membership on arrays
        '(icontains address.items.*.labels "X")',
        "(has nums 1)",
        "(has-any nums (1 2))",
        "(has-all nums ())",
        '(< placed_at "2024-01-01")',
        '(between day "2024-01-01" "2024-12-31")',
        "(between ratio 1 2.5)",
        "(= flag false)",
        "(in flag (true))",
        "(exists address)",
        "(exists addresses)",
        "(exists scores)",
        "(is-null nums)",
        "(= address null)",
        "(!= addresses null)",
        "(= nums null)",
        '(= anything "x")',
        "(= anything 1)",
        '(= meta.deep.key "x")',
        '(= noteText "x")',
    ],
)
def test_operators_valid_for_the_type(text: str) -> None:
    node = check(text)
    # Accepted as written: the operator is kept (a * path becomes `any` around it) and the
    # field carries its type from the schema.
    while isinstance(node, Quantified):
        assert node.op == "any" and node.field.type is not None and node.field.type.kind is Kind.ARRAY
        node = node.condition
    assert isinstance(node, Predicate)
    assert node.op == text[1 : text.index(" ")]
    assert node.field.type is not None


# --------------------------------------------------------------------------- literal coercion


@pytest.mark.parametrize(
    "text",
    [
        '(= id "1")',  # integer fields take integer literals only
        "(= id 1.0)",
        "(= id 1.5)",
        "(= id true)",
        "(in id (1 2.5))",
        '(= ratio "1")',  # float fields take numbers
        "(= ratio true)",
        "(= flag 1)",  # booleans only true/false
        '(= flag "true")',
        "(= title 1)",
        "(= title true)",
        '(= color "RED")',  # enum values are case-sensitive
        '(= color "blue")',
        '(in color ("red" "blue"))',
        '(= mode "FAST")',
        "(= color 1)",
        '(= placed_at "yesterday")',
        '(= placed_at "2024-02-30")',
        '(= placed_at "01/02/2024")',
        '(= placed_at "20240101")',
        "(= placed_at 1704067200)",
        '(= day "2024-01-01T00:00:00")',  # a date field takes a date
        '(= day "2024-13-01")',
        "(= scores.math 1.5)",
        '(has nums "1")',
        "(has-any nums (1 2.5))",
        "(= id 9223372036854775808)",
        "(= id -9223372036854775809)",
        "(= ratio 1e999)",
        '(like title 1)',
        "(has nums null)",
        "(> id null)",
        "(between id 1 null)",
        "(has-any nums (null))",
    ],
)
def test_wrong_literal_types(text: str) -> None:
    assert error(text).code == "type"


@pytest.mark.parametrize(
    "text,value",
    [
        ("(= ratio 1)", 1),  # float fields take integers
        ("(= ratio -2.5e-3)", -0.0025),
        ("(= id 9223372036854775807)", 9223372036854775807),
        ("(= id -9223372036854775808)", -9223372036854775808),
        ('(= color "red")', "red"),
        ('(= mode "slow")', "slow"),
        ("(= flag true)", True),
        ('(= day "2024-02-29")', dt.date(2024, 2, 29)),
        ("(= id null)", None),
    ],
)
def test_accepted_literals(text: str, value: Any) -> None:
    got = value_of(text)
    assert got == value and type(got) is type(value)


def test_enum_errors_list_the_allowed_values() -> None:
    exc = error('(= color "blue")')
    assert '"red"' in exc.message and '"green"' in exc.message
    exc = error('(= mode "medium")')
    assert '"fast"' in exc.message and '"slow"' in exc.message


def test_null_in_in_lists_is_allowed() -> None:
    node = check("(in id (1 null))")
    assert isinstance(node, Predicate)
    assert node.args[0].values == (1, None)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text,expected",
    [
        # A date alone is midnight UTC.
        ("2024-01-31", dt.datetime(2024, 1, 31, tzinfo=UTC)),
        # A naive time is UTC.
        ("2024-01-31T12:30:00", dt.datetime(2024, 1, 31, 12, 30, tzinfo=UTC)),
        ("2024-01-31T12:30", dt.datetime(2024, 1, 31, 12, 30, tzinfo=UTC)),
        ("2024-01-31T12:30:00Z", dt.datetime(2024, 1, 31, 12, 30, tzinfo=UTC)),
        ("2024-01-31T12:30:00z", dt.datetime(2024, 1, 31, 12, 30, tzinfo=UTC)),
        # Offsets count.
        ("2024-01-31T12:30:00+02:00", dt.datetime(2024, 1, 31, 10, 30, tzinfo=UTC)),
        ("2024-01-31T00:30:00-05:30", dt.datetime(2024, 1, 31, 6, 0, tzinfo=UTC)),
        ("2024-01-01T01:00:00+02:00", dt.datetime(2023, 12, 31, 23, 0, tzinfo=UTC)),
        # Fractional seconds count.
        ("2024-01-31T12:30:00.5Z", dt.datetime(2024, 1, 31, 12, 30, 0, 500000, tzinfo=UTC)),
        ("2024-01-31T12:30:00.123456+00:00", dt.datetime(2024, 1, 31, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2026-04-08T06:06:53.671Z", dt.datetime(2026, 4, 8, 6, 6, 53, 671000, tzinfo=UTC)),
    ],
)
def test_iso_8601_datetimes_become_aware_utc_instants(text: str, expected: dt.datetime) -> None:
    got = value_of(f'(= placed_at "{text}")')
    assert isinstance(got, dt.datetime)
    assert got == expected
    assert got.utcoffset() == dt.timedelta(0)
    # Same in JSON and in lists.
    assert parse_filter(f'["=", "placedAt", "{text}"]', style="json", schema=S) == check(f'(= placed_at "{text}")')
    listed = check(f'(in placed_at ("{text}"))')
    assert listed.args[0].values == (expected,)  # type: ignore[union-attr]


def test_equal_instants_give_equal_trees() -> None:
    assert check('(= placed_at "2024-01-31T12:00:00+02:00")') == check('(= placed_at "2024-01-31T10:00:00Z")')
    assert check('(= placed_at "2024-01-31")') == check('(= placed_at "2024-01-31T00:00:00")')


def test_ordering_on_enums_compares_strings() -> None:
    # Enums compare by their string value, so a bound need not be a member: it stays a str.
    below = check('(< color "m")')
    assert isinstance(below, Predicate) and below.field.type is not None and below.field.type.kind is Kind.ENUM
    assert [(a.value, type(a.value)) for a in below.args] == [("m", str)]  # type: ignore[union-attr]
    between = check('(between color "a" "z")')
    assert isinstance(between, Predicate)
    assert [(a.value, type(a.value)) for a in between.args] == [("a", str), ("z", str)]  # type: ignore[union-attr]


def test_a_datetime_literal_is_only_a_string_in_unchecked_trees() -> None:
    node = parse_filter('(= placed_at "2024-01-31")')
    assert isinstance(node, Predicate) and node.args[0].value == "2024-01-31"  # type: ignore[union-attr]


def test_like_patterns_are_not_coerced() -> None:
    assert value_of('(like title "100\\\\%")') == "100\\%"


def test_checking_is_idempotent() -> None:
    for text in (
        '(and (= address.zipCode "x") (< placedAt "2024-01-01") (!= addresses.*.items.*.sku "y"))',
        '(all addresses (or (= zipCode null) (has-any items.*.labels ("a"))))',
    ):
        once = check(text)
        assert crudql.check_filter(once, S) == once


# --------------------------------------------------------------------------- forward references
# Python 3.10 leaves string references inside generics (`list["Tree"]`) as text in a field's
# annotation; they resolve in the model's module, or to the model itself.


class Tree(BaseModel):
    name: str
    children: list["Tree"] = []
    by_name: dict[str, "Tree"] = {}
    parent: Optional["Tree"] = None
    leaves: list["Leaf"] = []  # defined below


class Leaf(BaseModel):
    color: str | None = None


Tree.model_rebuild()


def test_string_references_inside_generics_resolve() -> None:
    schema = crudql.Schema.from_model(Tree)
    assert schema.fields["children"].type.is_object_array
    assert schema.fields["children"].type.item.model is Tree  # type: ignore[union-attr]
    assert schema.fields["leaves"].type.item.model is Leaf  # type: ignore[union-attr]
    by_name = parse_filter('(= by_name.root.children.*.name "x")', schema=schema)
    assert by_name == parse_filter('(any by_name.root.children (= name "x"))', schema=schema)
    assert isinstance(parse_filter('(any leaves (= color "red"))', schema=schema), Quantified)
    with pytest.raises(QueryError) as exc:
        parse_filter('(any children (= colour "red"))', schema=schema)
    assert exc.value.code == "unknown_field"


def test_self_referencing_models_answer_any_on_every_depth() -> None:
    records = [
        {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]},
        {"name": "d", "children": [{"name": "e", "leaves": [{"color": "red"}]}]},
        {"name": "f"},
    ]
    source = crudql.sources.InMemory(records, model=Tree)
    deep = crudql.run_query(crudql.PageRequest(q='(= children.*.children.*.name "c")'), source)
    assert [t.name for t in deep.data] == ["a"]
    red = crudql.run_query(crudql.PageRequest(q='(any children (any leaves (= color "red")))'), source)
    assert [t.name for t in red.data] == ["d"]
    # A child's `children` defaults to [], which exists: every tree qualifies, f vacuously.
    every = crudql.run_query(crudql.PageRequest(q="(all children (exists children))", s="-name"), source)
    assert [t.name for t in every.data] == ["f", "d", "a"]
    grandchildren = crudql.run_query(crudql.PageRequest(q="(any children (any children (exists name)))"), source)
    assert [t.name for t in grandchildren.data] == ["a"]
