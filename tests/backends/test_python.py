"""The Python backend: every operator on an adversarial fixture, against hand-computed answers;
an independent naive evaluator as a differential oracle; model instances agree with dicts;
generated code never contains client text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from pydantic import BaseModel

import crudql
from crudql.ast import And, Expr, Field, Not, Or, Predicate, Quantified
from crudql.backends.python import compile_filter, sort_records, source_of
from crudql.models import Contact
from crudql.request import effective_sort
from support.conformance import CASES, FIXTURE
from support.strategies import SCHEMA, contacts, filters, sorts

# The adversarial fixture and its hand-computed table live in support/conformance.py: the SQL
# and MongoDB tests run the same cases.


@pytest.fixture(scope="module")
def models() -> list[Contact]:
    return [Contact.model_validate(r) for r in FIXTURE]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_operator_semantics(text: str, expected: set[str], models: list[Contact]) -> None:
    expr = crudql.parse_filter(text, schema=SCHEMA)
    predicate = compile_filter(expr)
    assert {r["id"] for r in FIXTURE if predicate(r)} == expected
    assert {m.id for m in models if predicate(m)} == expected
    assert {r["id"] for r in FIXTURE if oracle(expr, r)} == expected


def test_every_operator_is_covered_by_the_fixture() -> None:
    ops: set[str] = set()
    for text, _ in CASES:
        _collect_ops(crudql.parse_filter(text), ops)
    names = {op.name for op in crudql.operators.OPERATORS}
    assert names - ops == set(), f"operators without a hand-computed case: {names - ops}"


def _collect_ops(node: Any, out: set[str]) -> None:
    if isinstance(node, (And, Or)):
        out.add("and" if isinstance(node, And) else "or")
        for c in node.children:
            _collect_ops(c, out)
    elif isinstance(node, Not):
        out.add("not")
        _collect_ops(node.child, out)
    elif isinstance(node, Quantified):
        out.add(node.op)
        _collect_ops(node.condition, out)
    elif isinstance(node, Predicate):
        out.add(node.op)


# ----------------------------------------------------------------------------- sort


def _order(text: str | None, records: list[Any]) -> list[str]:
    keys = effective_sort(crudql.parse_sort(text, schema=SCHEMA), SCHEMA)
    return [r["id"] if isinstance(r, dict) else r.id for r in sort_records(records, keys)]


def test_sort_nulls_lowest_and_id_tiebreak(models: list[Contact]) -> None:
    # c01 and C05 have the same instant: the id tiebreak orders them by code point.
    assert _order("creation_time", FIXTURE) == ["a b", "c9", "c10", "C05", "c01"]
    assert _order("-creation_time", FIXTURE) == ["C05", "c01", "c10", "a b", "c9"]
    assert _order("-creation_time", models) == ["C05", "c01", "c10", "a b", "c9"]
    assert _order(None, FIXTURE) == ["C05", "a b", "c01", "c10", "c9"]
    assert _order("name", FIXTURE)[0] == "c9"
    assert _order("-name", FIXTURE)[-1] == "c9"


def test_sort_by_nested_enum_and_map_key(models: list[Contact]) -> None:
    assert _order("info.partner", models) == ["a b", "c9", "c10", "c01", "C05"]
    assert _order("info.partner", FIXTURE) == ["a b", "c9", "c10", "c01", "C05"]
    assert _order("-info.cosellPartnerMetrics.pipeline.USD", FIXTURE)[0] == "c01"


@pytest.mark.slow
@given(contacts(), sorts())
def test_sort_same_on_models_and_dicts(records: list[dict[str, Any]], keys: list[crudql.SortKey]) -> None:
    order = effective_sort(keys, SCHEMA)
    as_models = [Contact.model_validate(r) for r in records]
    assert [m.id for m in sort_records(as_models, order)] == [r["id"] for r in sort_records(records, order)]
    # The heap path (top-k) agrees with the full sort.
    full = [r["id"] for r in sort_records(records, order)]
    for limit in (1, 2, 5):
        assert [r["id"] for r in sort_records(records, order, limit)] == full[:limit]


# ----------------------------------------------------------------------------- differential


@pytest.mark.slow
@given(contacts(), filters())
def test_compiled_predicate_matches_oracle_on_models_and_dicts(records: list[dict[str, Any]], expr: Expr) -> None:
    predicate = compile_filter(expr)
    expected = [r["id"] for r in records if oracle(expr, r)]
    assert [r["id"] for r in records if predicate(r)] == expected
    assert [m.id for m in (Contact.model_validate(r) for r in records) if predicate(m)] == expected


# ----------------------------------------------------------------------------- generated code safety

HOSTILE = [
    '"); __import__("os").system("echo pwned"); ("',
    "'\n__import__('os')\n'",
    "\\' or 1 or \\'",
    "__class__",
    "{__import__}",
    "\x00",
]


def _model_attribute_names() -> set[str]:
    return {sf.name for sf in SCHEMA.walk()}


def _assert_only_trusted_tokens(source: str) -> None:
    """Generated code may hold only keywords, operators, our own names and model attributes:
    no string or number literal, so no client value can be spelled into it."""
    import io
    import keyword
    import tokenize

    trusted = _model_attribute_names() | {"any", "all", "map", "isinstance", "str", "getattr", "None", "get",
                                          "startswith", "endswith", "isdisjoint", "issubset", "__class__"}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        assert tok.type not in (tokenize.STRING, tokenize.NUMBER), tok
        if tok.type == tokenize.NAME:
            assert (
                keyword.iskeyword(tok.string)
                or tok.string in trusted
                or re.fullmatch(r"_(c|t|f)\d+|_(dict|list|instant|date|enum|same|order_any)", tok.string)
                or tok.string in ("r", "e", "x")
            ), tok.string


@pytest.mark.parametrize("value", HOSTILE)
def test_no_client_text_in_generated_source(value: str) -> None:
    import json

    key = value.replace(".", "")
    text = json.dumps(
        ["and", ["=", "name", value], ["like", "info.companyName", value.replace("\\", "\\\\")],
         ["in", "info.role", [value, "x"]], [">", f"info.cosellPartnerMetrics.pipeline.{key}", 1]]
    )
    expr = crudql.parse_filter(text, style="json", schema=SCHEMA)
    for shape in ("model", "dict"):
        _assert_only_trusted_tokens(source_of(expr, shape))
    predicate = compile_filter(expr)
    assert predicate({"id": "x", "name": value}) is False
    matching = {"id": "x", "name": value, "info": {"companyName": value, "role": value,
                "cosellPartnerMetrics": {"pipeline": {key: 2.0}}}}
    assert predicate(matching) is True
    assert predicate(Contact.model_validate(matching)) is True


def test_dunder_paths_are_unknown_fields() -> None:
    for path in ("__class__", "info.__dict__", "name.__len__", "model_config", "__init__"):
        with pytest.raises(crudql.QueryError) as err:
            crudql.parse_filter(f"(exists {path})", schema=SCHEMA)
        assert err.value.code == "unknown_field"


def test_deep_filters_compile_without_hitting_parser_limits() -> None:
    text = "(not " * 30 + '(= name "x")' + ")" * 30
    predicate = compile_filter(crudql.parse_filter(text, schema=SCHEMA))
    assert predicate({"id": "a", "name": "x"}) is True  # an even number of negations
    chain = "(and " * 31 + '(= info.cosellPartnerMetrics.accounts.*.industry "x")' + ")" * 31
    assert compile_filter(crudql.parse_filter(chain, schema=SCHEMA))({"id": "a"}) is False


def test_wrong_shapes_in_json_records_count_as_missing() -> None:
    predicate = compile_filter(crudql.parse_filter("(exists info.cosellPartnerMetrics.accountCount)", schema=SCHEMA))
    for info in ("text", 3, [1], None, {"cosellPartnerMetrics": "x"}, {"cosellPartnerMetrics": None}):
        assert predicate({"id": "a", "info": info}) is False
    any_expr = crudql.parse_filter('(any info.cosellPartnerMetrics.accounts (= industry "x"))', schema=SCHEMA)
    assert compile_filter(any_expr)({"id": "a", "info": {"cosellPartnerMetrics": {"accounts": [None, {"industry": "x"}]}}}) is True


# ----------------------------------------------------------------------------- the oracle
# A deliberately naive evaluator, written from docs/spec/LANGUAGE.md §2 alone, over JSON dicts.


def _get(record: Any, path: tuple[str, ...]) -> Any:
    value = record
    for segment in path:
        if not isinstance(value, dict):
            return None
        value = value.get(segment)
    return value


def _norm(field: Field, value: Any) -> Any:
    from crudql.fieldtypes import Kind
    from crudql.values import parse_datetime

    if value is None or field.type is None:
        return value
    if field.type.kind is Kind.DATETIME and isinstance(value, str):
        return parse_datetime(value)
    return value


def _like(pattern: str, value: Any, fold: bool) -> bool:
    if not isinstance(value, str):
        return False
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if c == "%" else "." if c == "_" else re.escape(c)
        i += 1
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if fold else 0)) is not None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def oracle(expr: Expr, record: Any) -> bool:
    if isinstance(expr, And):
        return all(oracle(c, record) for c in expr.children)
    if isinstance(expr, Or):
        return any(oracle(c, record) for c in expr.children)
    if isinstance(expr, Not):
        return not oracle(expr.child, record)
    f = expr.field
    assert f.json_path is not None
    raw = _get(record, f.json_path)
    if isinstance(expr, Quantified):
        elements = raw if isinstance(raw, list) else []
        if expr.op == "any":
            return any(oracle(expr.condition, e) for e in elements)
        return all(oracle(expr.condition, e) for e in elements)
    value = _norm(f, raw)
    args = [a.values if hasattr(a, "items") else a.value for a in expr.args]
    op = expr.op
    if op == "exists":
        return value is not None
    if op == "is-null":
        return value is None
    if op == "!=":
        return not oracle(Predicate("=", f, expr.args), record)
    if op == "nin":
        return not oracle(Predicate("in", f, expr.args), record)
    if op == "=":
        return value is None if args[0] is None else value is not None and value == args[0]
    if op == "in":
        return (value is None and None in args[0]) or (value is not None and value in [a for a in args[0] if a is not None])
    if op == "has-all":
        return all(isinstance(value, list) and a in value for a in args[0])
    if value is None:
        return False
    if op == "<":
        return bool(value < args[0])
    if op == "<=":
        return bool(value <= args[0])
    if op == ">":
        return bool(value > args[0])
    if op == ">=":
        return bool(value >= args[0])
    if op == "between":
        return bool(args[0] <= value <= args[1])
    if op == "like":
        return _like(args[0], value, False)
    if op == "ilike":
        return _like(args[0], value, True)
    if op == "starts-with":
        return isinstance(value, str) and value.startswith(args[0])
    if op == "ends-with":
        return isinstance(value, str) and value.endswith(args[0])
    if op in ("contains", "has"):
        if isinstance(value, list):
            return args[0] in value
        return isinstance(value, str) and args[0] in value
    if op == "icontains":
        if isinstance(value, list):
            return any(_like(_escape(args[0]), e, True) for e in value)
        return _like("%" + _escape(args[0]) + "%", value, True)
    if op == "has-any":
        return isinstance(value, list) and any(a in value for a in args[0])
    raise AssertionError(f"oracle does not know {op}")



def test_untyped_fields_with_mixed_types_sort_without_errors() -> None:
    from typing import Any as AnyType

    from pydantic import BaseModel

    class Doc(BaseModel):
        id: str
        extra: AnyType = None

    schema = crudql.Schema.from_model(Doc)
    records = [{"id": "a", "extra": "x"}, {"id": "b", "extra": 2}, {"id": "c", "extra": True},
               {"id": "d"}, {"id": "e", "extra": {"k": 1}}, {"id": "f", "extra": 1.5}]
    order = effective_sort(crudql.parse_sort("extra", schema=schema), schema)
    assert [r["id"] for r in sort_records(records, order)] == ["d", "f", "b", "a", "c", "e"]
    assert [r["id"] for r in sort_records(records, order, limit=1)] == ["d"]



# --------------------------------------------------------------------------- one model's code never serves another
# Compiled predicates and sort keys are cached by checked tree. The same filter text over two
# models may reach `meta.k` as an attribute of a nested model or as a key of a map: the trees
# differ (Field.keyed), so each model gets its own code, whichever runs first.


class _Meta(BaseModel):
    k: str | None = None


class _WithModel(BaseModel):
    id: str
    meta: _Meta | None = None


class _WithMap(BaseModel):
    id: str
    meta: dict[str, str] = {}


def _two_sources() -> tuple[Any, Any]:
    with_model = crudql.sources.InMemory(
        [{"id": "m1", "meta": {"k": "v"}}, {"id": "m2", "meta": {"k": "w"}}, {"id": "m3"}], model=_WithModel
    )
    with_map = crudql.sources.InMemory(
        [{"id": "d1", "meta": {"k": "v"}}, {"id": "d2", "meta": {"x": "v"}}, {"id": "d3"}], model=_WithMap
    )
    return with_model, with_map


def _clear_compiled() -> None:
    from crudql.backends.python import filter as python_filter
    from crudql.backends.python import sort as python_sort

    for cache in (python_filter._PREDICATES, python_filter._SCANS, python_sort._RANKS):
        cache.clear()


@pytest.mark.parametrize("first", ["model", "map"])
@pytest.mark.parametrize(
    ("q", "s", "model_ids", "map_ids"),
    [
        ('(= meta.k "v")', None, ["m1"], ["d1"]),
        ('(!= meta.k "v")', None, ["m2", "m3"], ["d2", "d3"]),
        ("(exists meta.k)", "-meta.k", ["m2", "m1"], ["d1"]),
        ('(in meta.k ("v" "w"))', "meta.k", ["m1", "m2"], ["d1"]),
        (None, "-meta.k,id", ["m2", "m1", "m3"], ["d1", "d2", "d3"]),
    ],
)
def test_compiled_code_is_not_shared_across_models(
    first: str, q: str | None, s: str | None, model_ids: list[str], map_ids: list[str]
) -> None:
    _clear_compiled()
    with_model, with_map = _two_sources()
    order = [(with_model, model_ids), (with_map, map_ids)]
    if first == "map":
        order.reverse()
    for source, expected in order * 2:
        page = crudql.run_query(crudql.PageRequest(q=q, s=s), source)
        assert [r.id for r in page.data] == expected
        assert page.total_count == len(expected)


def test_checked_fields_differ_by_how_segments_are_reached() -> None:
    on_model = crudql.parse_filter('(= meta.k "v")', schema=_WithModel)
    on_map = crudql.parse_filter('(= meta.k "v")', schema=_WithMap)
    assert isinstance(on_model, Predicate) and isinstance(on_map, Predicate)
    assert on_model.field.path == on_map.field.path == ("meta", "k")
    assert (on_model.field.keyed, on_map.field.keyed) == ((False, False), (False, True))
    assert on_model != on_map and on_model.field != on_map.field
    # Dict-shaped records go through the same caches (compile_filter): still apart.
    record = {"id": "x", "meta": {"k": "v"}}
    assert compile_filter(on_model)(record) and compile_filter(on_map)(record)
    assert compile_filter(on_model)(_WithModel.model_validate(record))
    assert compile_filter(on_map)(_WithMap.model_validate(record))


def test_non_ascii_field_names_compile() -> None:
    """A field named `café` used to raise NameError in the generated code (no getattr)."""

    class Menu(BaseModel):
        id: str
        café: str | None = None  # noqa: PLC2401
        crème: dict[str, int] = {}  # noqa: PLC2401

    source = crudql.sources.InMemory(
        [{"id": "a", "café": "noir", "crème": {"brûlée": 2}}, {"id": "b", "café": "au lait"}, {"id": "c"}], model=Menu
    )
    page = crudql.run_query(crudql.PageRequest(q='(or (like café "au%") (= crème.brûlée 2))', s="-café"), source)
    assert [m.id for m in page.data] == ["a", "b"]
    assert crudql.run_query(crudql.PageRequest(s="-crème.brûlée,café"), source).data[0].id == "a"
    assert "café" not in source_of(crudql.parse_filter('(= café "x")', schema=Menu))  # a constant, not a name
