"""Field policy and the checks of models as users write them (docs/spec/SERVICE.md §1):
`crudql.Queryable` markers and `queryable="all" | "marked"`, nested markers (inside `any` and
`*` paths too), sort policy, hidden fields (`exclude=True`) as unknown fields that no
did-you-mean suggests, IntEnum allowed values, UUID and Decimal literals. Every refusal is a
`QueryError` with a stable code and the position of the offending token.
"""

from __future__ import annotations

import enum
import uuid
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

import crudql
from crudql import Queryable, QueryError
from crudql.ast import Literal, Predicate


class Address(BaseModel):
    city: str | None = None
    zip: Annotated[str | None, Queryable(operators=["="])] = None  # its own marker wins
    geo_hash: str | None = Field(default=None, exclude=True, alias="geoHash")


class Item(BaseModel):
    sku: str
    qty: Annotated[int, Queryable(operators=["<", "in"])] = 1
    cost: Annotated[float | None, Queryable(filter=False)] = None


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 5


class User(BaseModel):
    id: Annotated[str, Queryable()]
    email: Annotated[str, Queryable(operators=["eq", "in"])] = ""  # aliases resolve: =, in
    name: Annotated[str | None, Queryable(sort=False)] = None
    nickname: str | None = None  # unmarked
    password_hash: str | None = Field(default=None, exclude=True)
    password_hint: str | None = None
    address: Annotated[Address | None, Queryable(operators=["=", "like", "exists"])] = None
    items: Annotated[list[Item], Queryable(operators=["="])] = []
    others: list[Item] = []  # unmarked; Item.qty carries its own marker
    locked: Annotated[list[Item], Queryable(filter=False, sort=False)] = []
    level: Level = Level.LOW
    meta: Annotated[dict[str, Any], Queryable(operators=["=", "exists"])] = {}
    tags: Annotated[list[str], Queryable(operators=["has", "has-any"])] = []
    nothing: Annotated[str | None, Queryable(operators=[])] = None
    ref: uuid.UUID | None = None
    balance: Decimal | None = None


ALL = crudql.Schema.from_model(User)
MARKED = crudql.Schema.from_model(User, queryable="marked")


def ok(text: str, schema: crudql.Schema = ALL) -> Any:
    return crudql.parse_filter(text, schema=schema)


def refused(text: str, schema: crudql.Schema = ALL, code: str = "not_allowed") -> QueryError:
    with pytest.raises(QueryError) as exc:
        crudql.parse_filter(text, schema=schema)
    assert exc.value.code == code, exc.value.message
    return exc.value


def refused_sort(text: str, schema: crudql.Schema = ALL, code: str = "not_allowed") -> QueryError:
    with pytest.raises(QueryError) as exc:
        crudql.parse_sort(text, schema=schema)
    assert exc.value.code == code, exc.value.message
    return exc.value


# --------------------------------------------------------------------------- the marker


def test_queryable_resolves_operator_aliases() -> None:
    marker = Queryable(operators=["eq", "not-in", "GTE", "startswith"])
    assert marker.operators == frozenset({"=", "nin", ">=", "starts-with"})
    assert (marker.filter, marker.sort) == (True, True)
    assert Queryable().operators is None
    assert "operators=['=', '>=', 'nin', 'starts-with']" in repr(marker)


def test_queryable_refuses_bad_operator_lists() -> None:
    with pytest.raises(TypeError, match="list of operator names"):
        Queryable(operators="=")
    with pytest.raises(ValueError, match="unknown operator 'frob'"):
        Queryable(operators=["=", "frob"])


def test_schema_modes() -> None:
    with pytest.raises(ValueError, match="queryable must be one of all, marked"):
        crudql.Schema.from_model(User, queryable="none")
    assert crudql.Schema.from_model(User, queryable="marked") is MARKED
    assert crudql.Schema.from_model(User) is ALL and MARKED is not ALL


# --------------------------------------------------------------------------- messages and positions


def test_operator_not_allowed_message_and_position() -> None:
    text = '(like email "a%")'
    e = refused(text)
    assert e.message == "'like' is not allowed on 'email'; allowed: =, in"
    assert (e.position, e.line, e.column) == (6, 1, 7)  # the field
    assert text[e.position :].startswith("email")
    assert "^" in str(e)  # a caret excerpt
    assert ok('(in email ("a" "b"))') is not None
    assert ok('(eq email "a")') == ok('(= email "a")')


def test_negative_operators_must_be_allowed_by_name() -> None:
    """`!=` and `nin` are operators of their own in a policy; `not` is structure."""
    assert refused('(!= email "a")').message == "'!=' is not allowed on 'email'; allowed: =, in"
    refused('(nin email ("a"))')
    assert ok('(not (= email "a"))') is not None


def test_no_operator_at_all() -> None:
    assert refused('(= nothing "x")').message == "'=' is not allowed on 'nothing'; no operator is"


def test_sort_policy() -> None:
    e = refused_sort("name")
    assert (e.message, e.position) == ("'name' cannot be sorted", 0)
    e = refused_sort("id,-name")
    assert e.position == 4 and "'name' cannot be sorted" == e.message
    with pytest.raises(QueryError) as exc:
        crudql.parse_sort('[{"field": "name", "order": "desc"}]', style="json", schema=ALL)
    assert exc.value.code == "not_allowed"
    assert ok('(= name "x")') is not None  # sort=False still filters
    assert [k.field for k in crudql.parse_sort("-email,address.city,meta.a", schema=ALL)] == [
        "email",
        "address.city",
        "meta.a",
    ]
    assert refused_sort("locked").code == "not_allowed"  # refused before "not sortable"


def test_filter_false() -> None:
    e = refused('(any locked (= sku "x"))')
    assert e.message == "'sku' cannot be filtered"
    assert refused('(exists locked.*.sku)').message == "'locked.*.sku' cannot be filtered"
    assert refused("(< others.*.cost 1)").message == "'others.*.cost' cannot be filtered"


# --------------------------------------------------------------------------- nested markers


def test_a_marker_on_a_nested_model_applies_to_its_subfields() -> None:
    assert ok('(like address.city "Par%")') is not None
    assert ok("(exists address)") is not None
    e = refused('(in address.city ("Paris"))')
    assert e.message == "'in' is not allowed on 'address.city'; allowed: =, exists, like"
    assert e.position == 4


def test_a_subfield_marker_overrides_its_parents() -> None:
    assert ok('(= address.zip "75001")') is not None
    assert refused('(like address.zip "75%")').message == "'like' is not allowed on 'address.zip'; allowed: ="
    assert refused("(exists address.zip)").code == "not_allowed"


def test_map_keys_inherit_the_maps_marker() -> None:
    assert ok("(= meta.a.b 1)") is not None and ok("(exists meta.x)") is not None
    assert refused("(< meta.a 1)").message == "'<' is not allowed on 'meta.a'; allowed: =, exists"


def test_array_operators() -> None:
    assert ok('(has-any tags ("a"))') is not None
    assert refused('(has-all tags ("a"))').message == "'has-all' is not allowed on 'tags'; allowed: has, has-any"


# `*` paths are `any` with one condition: the checked trees are equal, so the policy answers
# for both spellings alike, in either mode.
STAR_AND_ANY = [
    ('(= items.*.sku "x")', '(any items (= sku "x"))'),
    ('(in items.*.sku ("x"))', '(any items (in sku ("x")))'),
    ("(< items.*.qty 2)", "(any items (< qty 2))"),
    ("(= items.*.qty 2)", "(any items (= qty 2))"),
    ("(< others.*.qty 2)", "(any others (< qty 2))"),
    ('(= others.*.sku "x")', '(any others (= sku "x"))'),
    ("(< others.*.cost 2)", "(any others (< cost 2))"),
    ('(= locked.*.sku "x")', '(any locked (= sku "x"))'),
    ("(in locked.*.qty (1))", "(any locked (in qty (1)))"),
]


@pytest.mark.parametrize("schema", [ALL, MARKED], ids=["all", "marked"])
@pytest.mark.parametrize(("star", "quantified"), STAR_AND_ANY)
def test_star_paths_and_any_answer_alike(schema: crudql.Schema, star: str, quantified: str) -> None:
    outcomes = []
    for text in (star, quantified):
        try:
            outcomes.append(crudql.parse_filter(text, schema=schema))
        except QueryError as exc:
            assert exc.code == "not_allowed", exc.message
            outcomes.append("not_allowed")
    assert outcomes[0] == outcomes[1]


def test_inside_any_the_arrays_marker_applies_and_positions_point_inside() -> None:
    text = '(any items (in sku ("x")))'
    e = refused(text)
    assert e.message == "'in' is not allowed on 'sku'; allowed: ="
    assert text[e.position :].startswith("sku")
    assert ok('(any items (= sku "x"))') == ok('(= items.*.sku "x")')
    # Item.qty's own marker speaks for it wherever Item appears.
    e = refused("(any items (= qty 1))")
    assert e.message == "'=' is not allowed on 'qty'; allowed: <, in"
    assert ok("(any locked (< qty 1))") is not None
    assert ok('(all items (= sku "x"))') is not None


# --------------------------------------------------------------------------- queryable="marked"


def test_marked_mode_denies_unmarked_fields() -> None:
    for text, field in [('(= nickname "x")', "nickname"), ("(= level 1)", "level"), ('(= ref null)', "ref")]:
        e = refused(text, MARKED)
        assert e.message == f"'{field}' cannot be filtered"
        assert text[e.position :].startswith(field)
        assert ok(text) is not None  # allowed in "all" mode
    assert refused_sort("-nickname", MARKED).message == "'nickname' cannot be sorted"
    assert refused_sort("level", MARKED).position == 0


def test_marked_mode_allows_marked_fields_and_what_is_below_them() -> None:
    assert ok('(and (= id "u1") (in email ("a")) (like address.city "P%") (= meta.k 1))', MARKED) is not None
    assert [k.field for k in crudql.parse_sort("id,-email,address.city", schema=MARKED)] == ["id", "email", "address.city"]
    # An unmarked array of a model whose field is marked: that field only.
    assert ok("(< others.*.qty 2)", MARKED) is not None
    assert refused('(= others.*.sku "x")', MARKED).message == "'others.*.sku' cannot be filtered"
    assert refused("(exists others)", MARKED).message == "'others' cannot be filtered"


def test_sources_take_the_mode() -> None:
    records = [{"id": "u1", "email": "a@x", "nickname": "n"}, {"id": "u2", "email": "b@x"}]
    marked = crudql.sources.InMemory(records, model=User, queryable="marked")
    assert marked.schema is MARKED
    page = crudql.run_query(crudql.PageRequest(q='(= email "b@x")', s="-id"), marked)
    assert [u.id for u in page.data] == ["u2"]
    with pytest.raises(QueryError) as exc:
        crudql.run_query(crudql.PageRequest(q='(= nickname "n")'), marked)
    assert (exc.value.code, exc.value.param, exc.value.position) == ("not_allowed", "q", 3)
    with pytest.raises(QueryError) as exc:
        crudql.run_query(crudql.PageRequest(s="nickname"), marked)
    assert (exc.value.code, exc.value.param) == ("not_allowed", "s")
    # The default mode allows the unmarked field; markers still narrow the marked ones.
    every = crudql.sources.InMemory(records, model=User)
    assert crudql.run_query(crudql.PageRequest(q='(= nickname "n")'), every).total_count == 1
    with pytest.raises(QueryError) as exc:
        crudql.run_query(crudql.PageRequest(s="name"), every)
    assert exc.value.code == "not_allowed"


def test_not_allowed_is_a_client_error_in_to_dict() -> None:
    e = refused('(like email "a%")')
    body = e.to_dict()
    assert body["code"] == "not_allowed" and body["position"] == 6


# --------------------------------------------------------------------------- hidden fields

HIDDEN_SPELLINGS = [
    "password_hash",
    "passwordHash",
    "password_hashh",
    "pasword_hash",
    "PASSWORD_HASH",
    "passwordhash",
    "address.geo_hash",
    "address.geoHash",
    "address.geohash",
]


@pytest.mark.parametrize("schema", [ALL, MARKED], ids=["all", "marked"])
@pytest.mark.parametrize("path", HIDDEN_SPELLINGS)
def test_hidden_fields_are_unknown_and_never_suggested(schema: crudql.Schema, path: str) -> None:
    for text in (f'(like {path} "$2b$12$a%")', f"(exists {path})", f'(= "{path}" "x")'):
        e = refused(text, schema, code="unknown_field")
        assert "hash" not in e.message.lower().replace(path.lower(), ""), e.message
        assert e.position is not None
    e = refused_sort(path, schema, code="unknown_field")
    assert "hash" not in e.message.lower().replace(path.lower(), "")


def test_did_you_mean_suggests_visible_fields_only() -> None:
    e = refused('(= password_hin "x")', code="unknown_field")
    assert "did you mean 'password_hint'?" in e.message
    e = refused('(= address.qqqq "x")', code="unknown_field")
    assert "'address' has: city, zip" in e.message and "geo" not in e.message.lower()


def test_hidden_fields_stay_out_of_the_schema() -> None:
    assert "password_hash" not in ALL.fields and "password_hash" in ALL.stored
    assert "password_hash" not in ALL.names() and "passwordHash" not in ALL.names()
    assert all(sf.name != "geo_hash" for sf in ALL.walk())


# --------------------------------------------------------------------------- IntEnum


def test_intenum_lists_its_allowed_values() -> None:
    e = refused("(= level 3)", code="type")
    assert e.message == "3 is not a value of 'level'; allowed values: 1, 5"
    assert e.position == 9
    text = "(in level (1 7))"
    e = refused(text, code="type")
    assert e.message == "7 is not a value of 'level'; allowed values: 1, 5" and text[e.position :].startswith("7")
    refused("(nin level (2))", code="type")
    assert "expected an integer" in refused('(= level "LOW")', code="type").message
    # Ordering compares numbers: any integer bound is fine.
    assert ok("(between level 2 4)") is not None and ok("(< level 3)") is not None


# --------------------------------------------------------------------------- UUID and Decimal literals


@pytest.mark.parametrize(
    "written",
    [
        "123E4567-E89B-12D3-A456-426614174000",
        "123e4567e89b12d3a456426614174000",
        "{123e4567-e89b-12d3-a456-426614174000}",
        "urn:uuid:123E4567-E89B-12D3-A456-426614174000",
    ],
)
def test_uuid_literals_become_canonical_text(written: str) -> None:
    node = ok(f'(= ref "{written}")')
    assert isinstance(node, Predicate) and node.args[0] == Literal("123e4567-e89b-12d3-a456-426614174000")
    listed = ok(f'(in ref ("{written}" null))')
    assert [item.value for item in listed.args[0].items] == ["123e4567-e89b-12d3-a456-426614174000", None]


def test_uuid_literal_errors() -> None:
    text = '(in ref ("123e4567-e89b-12d3-a456-426614174000" "x"))'
    e = refused(text, code="type")
    assert e.message == (
        "'ref' is a UUID field: expected a UUID like \"123e4567-e89b-12d3-a456-426614174000\", got string \"x\""
    )
    assert text[e.position :].startswith('"x"')
    assert "got int 5" in refused("(= ref 5)", code="type").message
    for op in ("like", "ilike", "contains", "icontains", "starts-with", "ends-with"):
        e = refused(f'({op} ref "1%")', code="type")
        assert e.message.startswith(f"'{op}' does not apply to UUID field 'ref'"), e.message
    assert refused('(has ref "1")', code="type").code == "type"
    assert ok('(< ref "80000000-0000-0000-0000-000000000000")') is not None  # ordering: canonical text


def test_decimal_literals_are_exact() -> None:
    assert ok("(= balance 0.1)").args[0].value == Decimal("0.1")  # not the double nearest 0.1
    assert ok("(= balance 100)").args[0].value == Decimal(100)
    assert ok("(< balance 0.25)").args[0].value == Decimal("0.25")
    json_node = crudql.parse_filter('["between", "balance", 0.1, 0.3]', style="json", schema=ALL)
    assert [a.value for a in json_node.args] == [Decimal("0.1"), Decimal("0.3")]
    assert all(isinstance(a.value, Decimal) for a in json_node.args)


def test_decimal_literal_errors() -> None:
    e = refused('(= balance "1")', code="type")
    assert e.message == "'balance' is a decimal field: expected a number, got string \"1\"" and e.position == 11
    refused("(= balance true)", code="type")
    refused("(= balance 1e999)", code="type")
    assert refused('(like balance "1%")', code="type").message.startswith("'like' does not apply to decimal field")
