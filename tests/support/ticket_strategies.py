"""Hypothesis strategies over `support.ticket.Ticket` for the differential tests of every
backend: records with fields missing, null, defaulted or set, UUIDs in any case, decimals,
untyped `extra` values holding objects, arrays of scalars and arrays of objects; filters built
from templates (one per trap) with drawn literals; sorts over the sortable fields.

Values come from small pools shared by records and filters, so that filters hit some records
and miss others. Left out on purpose (documented differences, not bugs to find again):
integers beyond 2**53 below `extra` (engines compare untyped numbers as doubles), instants finer
than a millisecond (MongoDB's BSON dates), and sorting `extra` keys that hold objects or arrays
(MongoDB orders those by its own rules).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from .ticket import DEEP_PATH, REFS, deep_extra

__all__ = ["SORT_FIELDS", "filter_texts", "sort_texts", "tickets"]

_ABSENT = object()

IDS = ("t01", "T02", "t10", "t9", "a", "A", "é", "_x", "Z", "a b")
TENANTS = (1, 2, 3)
REF_VALUES = (*REFS, REFS[0].upper(), REFS[1].upper().replace("-", ""), REFS[3].upper())
AMOUNTS = ("12.5", "0.25", "100.0", 100.0, "0.1", 0.1, "-0.25", "0.0", 12.5)
PRIORITIES = (1, 2, 3, 10)
STATUSES = ("OPEN", "PENDING", "CLOSED")
LABELS = ("billing", "Billing", "vip", "urgent", "", "a%b")
CAFES = ("", "café", "crème", "CAFÉ", "x_y", "xay")
NOTES = ("first", "dernière", "DERNIÈRE", "a\\b")
SECRETS = ("s3cr3t", "hash")
# Milliseconds at most (MongoDB stores BSON dates); offsets, a naive time and a date alone.
INSTANTS = (
    "2024-01-31T12:00:00Z",
    "2024-01-31T14:00:00+02:00",
    "2024-01-31T12:00:00.5Z",
    "2024-01-31T12:00:00.25",
    "2023-12-31T23:59:59.999Z",
    "2024-02-29",
)
TIERS = ("free", "gold", "silver", "Gold")
NAMES = ("Zoë", "zoë", "Ann", "")
SKUS = ("A-1", "B-2", "a-1", "C_3")
QTYS = (0, 1, 2, 5)
PRICES = ("0.25", "12.5", 100.0, "0.1")
SOURCES = ("email", "Email", "web", "")
SCORES = (7, 7.0, "7", 12.5, -1, 0, True, False, "x")
LISTS = (["x", "y"], [], "x", [["x"]], ["y", None], [1, "x"], [7], ["X"])
OBJS = ([{"k": "v"}], {"k": "v"}, [], [{"k": ["v"]}], {"k": "w"}, [{"k": "v"}, None, 3], {"k": None})
NESTED = ({"a": {"b": "c"}}, {"a": "b"}, {"a": {"b": None}}, {"a": {"b": 1}}, {"a": {"b": "C"}}, {"a": None})
DEEP_LEAVES = ("bottom", "Bottom", 5, None)


def _leaf(values: tuple[Any, ...], nullable: bool = True) -> st.SearchStrategy[Any]:
    return st.sampled_from((_ABSENT, None, *values) if nullable else (_ABSENT, *values))


def _object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not _ABSENT})


_deep = st.sampled_from(DEEP_LEAVES).map(lambda leaf: deep_extra(leaf)["deep"])
_extra = _object(
    {
        "source": _leaf(SOURCES),
        "score": _leaf(SCORES),
        "list": _leaf(LISTS),
        "objs": _leaf(OBJS),
        "nested": _leaf(NESTED),
        "deep": st.one_of(st.just(_ABSENT), _deep),
    }
)
_customer = _object({"name": _leaf(NAMES), "tier": _leaf(TIERS, nullable=False), "vipSince": _leaf(INSTANTS)})
_line = _object({"sku": st.sampled_from(SKUS), "qty": _leaf(QTYS, nullable=False), "price": _leaf(PRICES)})

_record = _object(
    {
        "tenantId": st.sampled_from(TENANTS),
        "ref": _leaf(REF_VALUES),
        "amount": _leaf(AMOUNTS),
        "priority": _leaf(PRIORITIES, nullable=False),
        "status": _leaf(STATUSES, nullable=False),
        "labels": st.one_of(st.just(_ABSENT), st.lists(st.sampled_from(LABELS), max_size=3)),
        "extra": st.one_of(st.just(_ABSENT), _extra),
        "café": _leaf(CAFES),
        "naïveNote": _leaf(NOTES),
        "secret": _leaf(SECRETS),
        "openedAt": _leaf(INSTANTS),
        "customer": st.one_of(st.just(_ABSENT), _customer),
        "lines": st.one_of(st.just(_ABSENT), st.lists(_line, max_size=3)),
    }
)


def tickets(max_size: int = 8) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of alias-shaped Ticket dicts with unique ids."""
    records = st.builds(lambda id_, rest: {"id": id_, **rest}, st.sampled_from(IDS), _record)
    return st.lists(records, max_size=max_size, unique_by=lambda r: r["id"])


# ----------------------------------------------------------------------------- filters


def _lit(value: Any) -> str:
    return "null" if value is None else "true" if value is True else "false" if value is False else json.dumps(value)


def _list(values: list[Any]) -> str:
    return "(" + " ".join(_lit(v) for v in values) + ")"


_ORDER_OPS = ("<", "<=", ">", ">=")
_UUID_LITERALS = (*REFS, REFS[0].upper(), "00000000000000000000000000000000", "80000000-0000-0000-0000-000000000000")
_AMOUNT_LITERALS = (0.1, 0.25, 12.5, 100, -0.25, 0, 1e2, 50, 0.10)
_STRINGS = ("x", "y", "v", "email", "Email", "bottom", "7", "c", "")


def _pick(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def _template(fmt: Callable[..., str], *parts: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map(lambda drawn: fmt(*drawn))


_values = st.lists(st.one_of(_pick(_UUID_LITERALS), st.none()), min_size=0, max_size=3)

LEAVES: list[st.SearchStrategy[str]] = [
    # defaults and the null tests
    _template(lambda f: f"(exists {f})", _pick(("labels", "extra", "café", "naïveNote", "ref", "amount", "lines",
                                                "customer.name", "customer.vipSince", "extra.score", "extra.list",
                                                "extra.nested.a", DEEP_PATH, "opened_at"))),
    _template(lambda f: f"(is-null {f})", _pick(("ref", "amount", "extra.source", "customer.name", "café"))),
    _template(lambda v: f"(= status {_lit(v)})", _pick(STATUSES)),
    _template(lambda vs: f"(in status {_list(vs)})", st.lists(_pick(STATUSES), max_size=2)),
    _template(lambda v: f'(= customer.tier "{v}")', _pick(TIERS)),
    # the IntEnum
    _template(lambda v: f"(= priority {v})", _pick(PRIORITIES)),
    _template(lambda op, v: f"({op} priority {v})", _pick(_ORDER_OPS), _pick((1, 2, 3, 5, 10))),
    _template(lambda vs: f"(nin priority {_list(vs)})", st.lists(_pick(PRIORITIES), max_size=2)),
    # UUIDs
    _template(lambda v: f"(= ref {_lit(v)})", _pick(_UUID_LITERALS)),
    _template(lambda op, v: f"({op} ref {_lit(v)})", _pick(_ORDER_OPS), _pick(_UUID_LITERALS)),
    _template(lambda vs: f"(in ref {_list(vs)})", _values),
    # decimals
    _template(lambda v: f"(= amount {v})", _pick(_AMOUNT_LITERALS)),
    _template(lambda op, v: f"({op} amount {v})", _pick(_ORDER_OPS), _pick(_AMOUNT_LITERALS)),
    _template(lambda a, b: f"(between amount {a} {b})", _pick(_AMOUNT_LITERALS), _pick(_AMOUNT_LITERALS)),
    _template(lambda vs: f"(in amount {_list(vs)})", st.lists(_pick(_AMOUNT_LITERALS), max_size=3)),
    # arrays of the model, and its element defaults
    _template(lambda v: f"(has labels {_lit(v)})", _pick(LABELS)),
    _template(lambda v: f"(icontains labels {_lit(v)})", _pick(("BILLING", "vip", "a%b", ""))),
    _template(lambda vs: f"(has-all labels {_list(vs)})", st.lists(_pick(LABELS), max_size=2)),
    _template(lambda v: f"(= lines.*.qty {v})", _pick(QTYS)),
    _template(lambda v: f"(!= lines.*.sku {_lit(v)})", _pick(SKUS)),
    _template(lambda s, p: f"(any lines (and (= sku {_lit(s)}) (< price {p})))", _pick(SKUS), _pick((0.2, 1, 100.5))),
    _template(lambda q: f"(all lines (>= qty {q}))", _pick(QTYS)),
    # untyped values
    _template(lambda v: f"(= extra.source {_lit(v)})", _pick(SOURCES)),
    _template(lambda v: f"(ilike extra.source {_lit(v)})", _pick(("EMAIL", "%e%", "_eb"))),
    _template(lambda v: f"(= extra.score {_lit(v)})", _pick((7, 7.0, "7", 12.5, True, 0, "x"))),
    _template(lambda op, v: f"({op} extra.score {_lit(v)})", _pick(_ORDER_OPS), _pick((7, 0, 12.5, "7", "a"))),
    _template(lambda v: f"(has extra.list {_lit(v)})", _pick(("x", "y", 7, 1, "X"))),
    _template(lambda v: f"(= extra.list {_lit(v)})", _pick(("x", "y"))),
    _template(lambda v: f"(= extra.list.0 {_lit(v)})", _pick(("x", "y", 1))),
    _template(lambda v: f"(= extra.objs.k {_lit(v)})", _pick(("v", "w"))),
    _template(lambda v: f"(= extra.objs.0.k {_lit(v)})", _pick(("v",))),
    _template(lambda v: f"(= extra.nested.a.b {_lit(v)})", _pick(("c", "C", 1, "b"))),
    _template(lambda v: f"(= extra.nested.a {_lit(v)})", _pick(("b", "c"))),
    _template(lambda v: f"(= {DEEP_PATH} {_lit(v)})", _pick(("bottom", "Bottom", 5))),
    _template(lambda v: f"(like {DEEP_PATH} {_lit(v)})", _pick(("b%", "%ottom", "_"))),
    # non-ASCII names, datetimes, a nested model
    _template(lambda v: f"(= café {_lit(v)})", _pick(CAFES)),
    _template(lambda v: f"(ilike café {_lit(v)})", _pick(("CAF%", "%È%", "x_y", "%"))),
    _template(lambda v: f"(starts-with naïveNote {_lit(v)})", _pick(("f", "d", "D", "a\\"))),
    _template(lambda op, v: f"({op} opened_at {_lit(v)})", _pick(("=", *_ORDER_OPS)), _pick(INSTANTS)),
    _template(lambda v: f"(= customer.vipSince {_lit(v)})", _pick(INSTANTS)),
    _template(lambda v: f"(ilike customer.name {_lit(v)})", _pick(("ZOË", "ann", "%"))),
    _template(lambda v: f"(= tenant_id {v})", _pick(TENANTS)),
]

_leaf_texts = st.one_of(*LEAVES)


def _tree(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        children.map(lambda c: f"(not {c})"),
        st.lists(children, min_size=1, max_size=3).map(lambda cs: "(and " + " ".join(cs) + ")"),
        st.lists(children, min_size=1, max_size=3).map(lambda cs: "(or " + " ".join(cs) + ")"),
    )


def filter_texts() -> st.SearchStrategy[str]:
    """Lisp filters over Ticket: a leaf from the templates, or and/or/not of them (depth 3)."""
    return st.recursive(_leaf_texts, _tree, max_leaves=5)


# ----------------------------------------------------------------------------- sorts

SORT_FIELDS = (
    "id",
    "tenant_id",
    "ref",
    "amount",
    "priority",
    "status",
    "café",
    "naïveNote",
    "opened_at",
    "customer.tier",
    "customer.name",
    "customer.vipSince",
    "extra.source",
    "extra.score",
    "extra.nested.a.b",
    DEEP_PATH,
)


def sort_texts() -> st.SearchStrategy[str]:
    """Simple sorts of up to three distinct keys over Ticket's sortable fields."""
    keys = st.lists(st.tuples(st.sampled_from(SORT_FIELDS), st.booleans()), max_size=3, unique_by=lambda k: k[0])
    return keys.map(lambda ks: ",".join(("-" if desc else "") + f for f, desc in ks))
