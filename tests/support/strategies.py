"""Hypothesis strategies shared by the differential tests of every backend.

    from support.strategies import contacts, filters, sorts  # tests/ is on pythonpath

- `contacts()`  lists of alias-shaped `Contact` dicts with unique ids;
- `filters()`   checked filter ASTs over `Contact` (`filter_texts()` gives their lisp text);
- `sorts()`     checked lists of `SortKey`.

Records and filters draw from the same small value pools, so generated filters actually hit
some records and miss others: a differential test over random strings would compare empty
results most of the time. The pools hold the cases backends get wrong: missing vs null vs
empty, `%`/`_`/`\\` and quotes in strings, unicode that needs case folding, ids whose
code-point order differs from a locale's, equal instants written with different offsets.
"""

from __future__ import annotations

import copy
import functools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

import crudql
from crudql.models import Contact, EnrichmentStatus, Partner

__all__ = [
    "IDS",
    "INSTANTS",
    "NAMES",
    "ORGS",
    "PARTNERS",
    "SCHEMA",
    "STRINGS",
    "TAGS",
    "contact",
    "contacts",
    "filter_texts",
    "filters",
    "like_escape",
    "sort_texts",
    "sorts",
]

SCHEMA = crudql.Schema.from_model(Contact)

# ----------------------------------------------------------------------------- value pools
# Small on purpose: equal values across records make sort ties and filter hits likely.

# Code-point order: "10" < "9" < "A" < "B" < "C05" < "C10" < "C5" < "Z" < "_x" < "a" < ... < "Ä1" < "é".
IDS = ("C05", "c01", "c10", "c9", "C5", "C10", "a", "A", "b", "B", "Z", "z", "10", "9", "Ä1", "é", "_x", "%y", "a b")
ORGS = ("org-1", "org-2", "org_3", "ORG-1")
# Letters with 1:1 case mappings only (å/Å, ö/Ö, ë/Ë, ω/Ω): "ß" or "İ" fold to several characters,
# which the spec does not pin down, so they would make backends "disagree" about nothing.
NAMES = (
    "Zoë Ångström",
    "ÅNGSTRÖM",
    "zoë ångström",
    "Ann",
    "ann",
    "Anna_Lee",
    "AnnaXLee",
    "50% off",
    "500 off",
    "back\\slash",
    'quote "q"',
    "it's",
    "multi\nline",
    "",
    "Ωmega",
    " Ann ",
)
STRINGS = ("", "Acme", "acme", "ACME Corp", "Acme ", "a%b", "a_b", "axb", "a\\b", "Ωmega", "ωMEGA", "x\ny")
EMAILS = ("ann@example.com", "ANN@Example.com", "zoë@exämple.org", "a_b@example.com", "a%b@example.com", "")
TAGS = ("partner", "Partner", "vip", "churned", "", "a%b", "new")
INDUSTRIES = ("Software", "software", "Retail", "Health_Care", "HealthXCare", "")
ACCOUNT_TYPES = ("Customer", "Prospect", "Target")
STAGES = ("Prospecting", "Closed Won", "Closed Lost")
CURRENCIES = ("USD", "EUR", "CAD")
SOURCES = ("Referral", "Predicted", "")
PERIODS = ("2024-01", "2024-02", "2024-03")
# A subset of the enum keeps hits likely; filters may still name any member.
PARTNERS = ("", "AWS", "GCP", "AZURE", "AWS_CHINA", "SALESFORCE")
ALL_PARTNERS = tuple(p.value for p in Partner)
STATUSES = tuple(s.value for s in EnrichmentStatus)
# Negative, zero, and one integer a double cannot hold exactly (a backend that goes through float
# would tie it with 2**53).
INTS = (-3, -1, 0, 1, 2, 5, 10, 11, 100, 2**53, 2**53 + 1)
FLOATS = (0, 0.0, -0.5, 12.5, 50, 50.0, 66.66666666666667, 100.0)
# Instants: 12:00Z written three ways, fractions that must not be truncated, a naive time (UTC).
INSTANTS = (
    "2024-01-31T12:00:00Z",
    "2024-01-31T14:00:00+02:00",
    "2024-01-31T07:00:00-05:00",
    "2024-01-31T12:00:00.5Z",
    "2024-01-31T12:00:00.000001Z",
    "2024-01-31T12:00:00.123456+00:00",
    "2023-12-31T23:59:59.999999Z",
    "2024-02-29T00:00:00Z",
    "2024-01-31T12:00:00",
)
# Filter literals for datetimes: the stored instants, plus a date alone (midnight UTC).
INSTANT_LITERALS = (*INSTANTS, "2024-01-31", "2024-02-29", "2024-01-31T13:00:00+01:00")


# ----------------------------------------------------------------------------- records
#
# Speed: Hypothesis costs ~30-100 µs per draw, and differential tests draw hundreds of record
# lists, so a record is 9 draws, not ~100: one per top-level key (absent, null or a pool value;
# these shrink well), and `tags` and `info` drawn whole from pools built once, with a fixed
# seed, by the same rules (absent / null / empty / 1-3 elements, every key sometimes absent).
# Pools start with their minimal entries, which is what failing examples shrink to.

_ABSENT = object()  # marks a key to leave out of the generated object


def _leaf(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One draw: absent, null or a pool value (shrinks to absent)."""
    return st.sampled_from((_ABSENT, None, *values))


def _drop_absent(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not _ABSENT}


def _object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields).map(_drop_absent)


class _Builder:
    """Builds pool entries from the value pools with a seeded `random.Random`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def leaf(self, values: tuple[Any, ...]) -> Any:
        roll = self.rng.random()
        return _ABSENT if roll < 0.2 else None if roll < 0.3 else self.rng.choice(values)

    def array(self, make: Callable[[], Any], max_size: int) -> Any:
        roll = self.rng.random()
        if roll < 0.2:
            return _ABSENT if roll < 0.1 else None
        return [make() for _ in range(self.rng.randint(0, max_size))]

    def usually(self, make: Callable[[], Any]) -> Any:
        roll = self.rng.random()
        return make() if roll >= 0.25 else _ABSENT if roll < 0.125 else None

    def pool(self, count: int, make: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], ...]:
        return ({}, *(make() for _ in range(count - 1)))

    def obj(self, **fields: Any) -> dict[str, Any]:
        return _drop_absent(fields)

    def money(self) -> dict[str, Any]:
        return {c: self.rng.choice(FLOATS) for c in self.rng.sample(CURRENCIES, self.rng.randint(0, 3))}

    def opportunity(self) -> dict[str, Any]:
        return self.obj(
            amount=self.leaf(FLOATS), stageName=self.leaf(STAGES), currencyIsoCode=self.leaf(CURRENCIES)
        )

    def account(self) -> dict[str, Any]:
        return self.obj(
            industry=self.leaf(INDUSTRIES),
            type=self.leaf(ACCOUNT_TYPES),
            name=self.leaf(NAMES),
            opportunities=self.array(self.opportunity, 2),
        )

    def metrics(self) -> dict[str, Any]:
        b = self
        return b.obj(
            accountCount=b.leaf(INTS),
            successRate=b.leaf(FLOATS),
            closedWonCount=b.leaf(INTS),
            source=b.leaf(SOURCES),
            pipeline=b.usually(b.money),
            closedWonAmount=b.usually(b.money),
            industries=b.array(lambda: b.rng.choice(INDUSTRIES), 3),
            accounts=b.array(b.account, 3),
            engagementTimeSeries=b.array(lambda: b.obj(cosellDeals=b.leaf(INTS), period=b.leaf(PERIODS)), 2),
            oppOwners=b.array(lambda: b.obj(email=b.leaf(EMAILS), name=b.leaf(NAMES)), 2),
        )

    def enriched(self) -> dict[str, Any]:
        b = self
        info = b.usually(
            lambda: b.obj(
                isPrimary=b.leaf((True, False)),
                workExperiences=b.array(lambda: b.obj(current=b.leaf((True, False)), title=b.leaf(STRINGS)), 2),
            )
        )
        return b.obj(
            firstName=b.leaf(NAMES), status=b.leaf(STATUSES), creationTime=b.leaf(INSTANTS), info=info
        )

    def info(self) -> dict[str, Any]:
        return self.obj(
            partner=self.leaf(PARTNERS),
            companyName=self.leaf(STRINGS),
            cosellPartnerMetrics=self.usually(self.metrics),
            enrichedContactInfo=self.usually(self.enriched),
        )


_BUILDER = _Builder(20240131)
# `info` carries the deep fields (cosellPartnerMetrics with accounts and opportunities,
# enrichedContactInfo with work experiences); 200 entries give every filter something to hit.
# Absent and null are repeated so that each is ~1 record in 10 (`sampled_from` is uniform).
INFO_POOL: tuple[Any, ...] = ((_ABSENT, None) * 12 + _BUILDER.pool(200, _BUILDER.info))
TAGS_POOL: tuple[Any, ...] = (
    _ABSENT,
    None,
    [],
    *(_BUILDER.rng.sample(TAGS, _BUILDER.rng.randint(1, 3)) for _ in range(13)),
)

_record = _object(
    {
        "name": _leaf(NAMES),
        "emailAddress": _leaf(EMAILS),
        "organizationID": _leaf(ORGS),
        "companyContactId": _leaf(STRINGS),
        "creationTime": _leaf(INSTANTS),
        "lastUpdateTime": _leaf(INSTANTS),
        "tags": st.sampled_from(TAGS_POOL),
        "info": st.sampled_from(INFO_POOL),
    }
)


def _fresh(record: dict[str, Any]) -> dict[str, Any]:
    # Pool entries are shared between draws; callers (Mongo's insert adds `_id`, tests that
    # edit records) must be free to mutate what they get.
    return copy.deepcopy(record)


def contact(ids: tuple[str, ...] = IDS) -> st.SearchStrategy[dict[str, Any]]:
    """One alias-shaped Contact dict (id from `ids`)."""
    return st.builds(lambda id_, rest: _fresh({"id": id_, **rest}), st.sampled_from(ids), _record)


def contacts(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of alias-shaped Contact dicts with unique ids (at most len(IDS) of them)."""
    if max_size > len(IDS):
        raise ValueError(f"contacts(max_size={max_size}): ids come from a pool of {len(IDS)}")
    return st.lists(contact(), min_size=min_size, max_size=max_size, unique_by=lambda r: r["id"])


# ----------------------------------------------------------------------------- field catalog
#
# Which fields filters may name, of what kind, and which literals hit them. Object arrays carry
# the catalog of their elements, used for `any`/`all` conditions and for `*` paths.

STR, INT, FLOAT, BOOL, DT, ENUM, STRARRAY, OBJARRAY, OBJECT, MAP = (
    "str", "int", "float", "bool", "datetime", "enum", "strarray", "objarray", "object", "map",
)


@dataclass(frozen=True)
class _Field:
    path: str  # alias spelling, relative to the enclosing object
    kind: str
    pool: tuple[Any, ...] = ()
    enum: tuple[str, ...] = ()  # every allowed value, for =, !=, in, nin
    element: tuple[_Field, ...] = field(default=())  # the element fields of an object array


def _s(path: str, pool: tuple[Any, ...]) -> _Field:
    return _Field(path, STR, pool)


_OPP_FIELDS = (_Field("amount", FLOAT, FLOATS), _s("stageName", STAGES), _s("currencyIsoCode", CURRENCIES))
_ACCOUNT_FIELDS = (
    _s("industry", INDUSTRIES),
    _s("type", ACCOUNT_TYPES),
    _s("name", NAMES),
    _Field("opportunities", OBJARRAY, element=_OPP_FIELDS),
)
_M = "info.cosellPartnerMetrics."
_E = "info.enrichedContactInfo."
ROOT_FIELDS: tuple[_Field, ...] = (
    _s("id", IDS),
    _s("name", NAMES),
    _s("emailAddress", EMAILS),
    _s("organizationID", ORGS),
    _s("companyContactId", STRINGS),
    _Field("creationTime", DT, INSTANT_LITERALS),
    _Field("lastUpdateTime", DT, INSTANT_LITERALS),
    _Field("tags", STRARRAY, TAGS),
    _Field("info", OBJECT),
    _Field("info.partner", ENUM, PARTNERS, ALL_PARTNERS),
    _s("info.companyName", STRINGS),
    _Field(_M.rstrip("."), OBJECT),
    _Field(_M + "accountCount", INT, INTS),
    _Field(_M + "successRate", FLOAT, FLOATS),
    _Field(_M + "closedWonCount", INT, INTS),
    _s(_M + "source", SOURCES),
    _Field(_M + "pipeline", MAP),
    _Field(_M + "pipeline.USD", FLOAT, FLOATS),
    _Field(_M + "closedWonAmount.EUR", FLOAT, FLOATS),
    _Field(_M + "industries", STRARRAY, INDUSTRIES),
    _Field(_M + "accounts", OBJARRAY, element=_ACCOUNT_FIELDS),
    _Field(
        _M + "engagementTimeSeries",
        OBJARRAY,
        element=(_Field("cosellDeals", INT, INTS), _s("period", PERIODS)),
    ),
    _Field(_M + "oppOwners", OBJARRAY, element=(_s("email", EMAILS), _s("name", NAMES))),
    _Field(_E.rstrip("."), OBJECT),
    _Field(_E + "status", ENUM, STATUSES, STATUSES),
    _s(_E + "firstName", NAMES),
    _Field(_E + "creationTime", DT, INSTANT_LITERALS),
    _Field(_E + "info.isPrimary", BOOL, (True, False)),
    _Field(
        _E + "info.workExperiences",
        OBJARRAY,
        element=(_Field("current", BOOL, (True, False)), _s("title", STRINGS)),
    ),
)


def _python_spelling(path: str, schema: crudql.Schema) -> str:
    """The snake_case spelling of an alias path (dict keys and '*' stay as they are)."""
    return schema.field(tuple(path.split("."))).dotted


def _spellings(fields: tuple[_Field, ...], schema: crudql.Schema, key: str = "") -> dict[str, tuple[str, ...]]:
    """Catalog key -> the distinct ways to write the field (alias, Python name).

    Keys of element fields are "parent/child" (`info.cosellPartnerMetrics.accounts/industry`):
    their paths are relative to the element, and the same name may mean different fields.
    """
    out: dict[str, tuple[str, ...]] = {}
    for f in fields:
        spellings = tuple(dict.fromkeys((f.path, _python_spelling(f.path, schema))))
        out[key + f.path] = spellings
        if f.kind == OBJARRAY:
            item = schema.field(tuple(f.path.split("."))).type.item  # type: ignore[union-attr]
            out.update(_spellings(f.element, schema.nested(item), f"{key}{f.path}/"))  # type: ignore[arg-type]
    return out


_SPELLINGS = _spellings(ROOT_FIELDS, SCHEMA)


# ----------------------------------------------------------------------------- filters

# Operator spellings: canonical names, aliases and odd case, all the same operator.
_OP_NAMES: dict[str, tuple[str, ...]] = {
    "=": ("=", "eq", "=="),
    "!=": ("!=", "ne", "<>"),
    "<": ("<", "lt"),
    "<=": ("<=", "lte"),
    ">": (">", "GT"),
    ">=": (">=", "ge"),
    "nin": ("nin", "not-in"),
    "starts-with": ("starts-with", "startswith"),
    "ends-with": ("ends-with", "ENDSWITH"),
}
_ORDER_OPS = ("<", "<=", ">", ">=")
_TEXT_OPS = ("like", "ilike", "contains", "icontains", "starts-with", "ends-with")
_NULL_OPS = ("exists", "is-null", "= null", "!= null")
_OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    STR: ("=", "!=", *_ORDER_OPS, "between", "in", "nin", *_TEXT_OPS, *_NULL_OPS),
    ENUM: ("=", "!=", *_ORDER_OPS, "between", "in", "nin", *_TEXT_OPS, *_NULL_OPS),
    INT: ("=", "!=", *_ORDER_OPS, "between", "in", "nin", *_NULL_OPS),
    FLOAT: ("=", "!=", *_ORDER_OPS, "between", "in", "nin", *_NULL_OPS),
    DT: ("=", "!=", *_ORDER_OPS, "between", "in", "nin", *_NULL_OPS),
    BOOL: ("=", "!=", "in", "nin", *_NULL_OPS),
    STRARRAY: ("has", "has-any", "has-all", "contains", "icontains", *_NULL_OPS),
    OBJARRAY: ("any", "all", "*", *_NULL_OPS),
    OBJECT: _NULL_OPS,
    MAP: _NULL_OPS,
}


def like_escape(text: str) -> str:
    """`text` as a LIKE pattern that matches exactly it."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _lit(value: Any) -> str:
    # JSON literals are lisp literals (strings with JSON escapes, numbers, true/false/null).
    return json.dumps(value, ensure_ascii=False)


def _list(values: list[Any]) -> str:
    return "(" + " ".join(_lit(v) for v in values) + ")"


@functools.cache
def _base_string(pool: tuple[Any, ...]) -> st.SearchStrategy[str]:
    """A string of the pool, half the time one holding `%`, `_`, `\\`, a quote or a newline when
    the pool has any (what a backend must escape; random substrings rarely catch them)."""
    strings = [v for v in pool if isinstance(v, str)] or [""]
    special = [v for v in strings if any(c in v for c in '%_\\"\n')]
    return st.sampled_from(strings) | st.sampled_from(special) if special else st.sampled_from(strings)


@st.composite
def _pattern(draw: st.DrawFn, pool: tuple[Any, ...], fold: bool) -> str:
    """A LIKE pattern built around a piece of a pool value, so it often matches."""
    base = draw(_base_string(pool))
    lo = draw(st.integers(0, len(base)))
    hi = draw(st.integers(lo, len(base)))
    out = []
    for ch in base[lo:hi]:
        roll = draw(st.integers(0, 9))
        if roll == 0:
            out.append("_")  # one character, whatever it is
        elif roll == 1 and fold:
            out.append(like_escape(ch.swapcase()))
        else:
            out.append(like_escape(ch))
    prefix = "%" if lo > 0 or draw(st.booleans()) else ""
    suffix = "%" if hi < len(base) or draw(st.booleans()) else ""
    if draw(st.integers(0, 5)) == 0:
        prefix = "_" * (lo if lo < 3 else 1)  # exact-length wildcard (may not match: fine)
    return prefix + "".join(out) + suffix


@st.composite
def _text_value(draw: st.DrawFn, pool: tuple[Any, ...], fold: bool) -> str:
    """A literal substring for contains/starts-with/ends-with (no wildcards)."""
    base = draw(_base_string(pool))
    lo = draw(st.integers(0, len(base)))
    hi = draw(st.integers(lo, len(base)))
    piece = base[lo:hi]
    return piece.swapcase() if fold and draw(st.booleans()) else piece


def _field_text(key: str, prefix: str, draw: st.DrawFn) -> str:
    path = draw(st.sampled_from(_SPELLINGS[key]))
    return json.dumps(prefix + path) if draw(st.integers(0, 9)) == 0 else prefix + path


def _op(name: str, draw: st.DrawFn) -> str:
    return draw(st.sampled_from(_OP_NAMES.get(name, (name,))))


def _values(f: _Field) -> tuple[Any, ...]:
    return f.pool or f.enum


@st.composite
def _predicate(draw: st.DrawFn, f: _Field, key: str, prefix: str, depth: int, op: str | None = None) -> str:
    """One test `op` (drawn when None) on field `f` (spelled from `key`), written with its
    path relative to `prefix`.

    `depth` bounds the nesting of `any`/`all` conditions; at 0 an object array is only
    tested for null or stepped into with a `*` path.
    """
    if op is None:
        op = draw(st.sampled_from(_ops_for(f, depth)))
    fld = _field_text(key, prefix, draw)
    pool = _values(f)
    value = st.sampled_from(pool) if pool else st.nothing()
    # Enums take their own members for equality; ordering and text operators take any string.
    exact = st.sampled_from(f.enum) if f.enum else value
    if op in ("exists", "is-null"):
        return f"({op} {fld})"
    if op in ("= null", "!= null"):
        return f"({_op(op.split()[0], draw)} {fld} null)"
    if op in ("=", "!="):
        return f"({_op(op, draw)} {fld} {_lit(draw(exact))})"
    if op in _ORDER_OPS:
        return f"({_op(op, draw)} {fld} {_lit(draw(value))})"
    if op == "between":
        return f"(between {fld} {_lit(draw(value))} {_lit(draw(value))})"
    if op in ("in", "nin"):
        items = draw(st.lists(exact, max_size=3, unique=True))
        if draw(st.integers(0, 3)) == 0:
            items.insert(draw(st.integers(0, len(items))), None)  # null in the list: missing or null
        return f"({_op(op, draw)} {fld} {_list(items)})"
    if op in ("like", "ilike"):
        return f"({op} {fld} {_lit(draw(_pattern(pool, op == 'ilike')))})"
    if op in ("contains", "icontains") and f.kind == STRARRAY:
        # On arrays: element equality (icontains: ignoring case) with a whole pool value.
        v = draw(value)
        return f"({op} {fld} {_lit(v.swapcase() if op == 'icontains' and draw(st.booleans()) else v)})"
    if op in _TEXT_OPS:
        return f"({_op(op, draw)} {fld} {_lit(draw(_text_value(pool, op == 'icontains')))})"
    if op == "has":
        return f"(has {fld} {_lit(draw(value))})"
    if op in ("has-any", "has-all"):
        return f"({op} {fld} {_list(draw(st.lists(value, max_size=3, unique=True)))})"
    if op in ("any", "all"):
        condition = draw(_expr(f.element, key + "/", "", depth - 1))
        return f"({op} {fld} {condition})"
    if op == "*":
        # Some element's field: accounts.*.industry, accounts.*.opportunities.*.stageName.
        sub = draw(st.sampled_from(f.element))
        inner_prefix = prefix + draw(st.sampled_from(_SPELLINGS[key])) + ".*."
        return draw(_predicate(sub, f"{key}/{sub.path}", inner_prefix, depth - 1))
    raise AssertionError(op)


@st.composite
def _expr(draw: st.DrawFn, fields: tuple[_Field, ...], key_prefix: str, prefix: str, depth: int) -> str:
    """An expression over `fields`; `key_prefix` names the catalog level (for spellings)."""
    if depth > 0 and draw(st.integers(0, 2)) == 0:
        form = draw(st.sampled_from(("and", "or", "not")))
        if form == "not":
            return f"(not {draw(_expr(fields, key_prefix, prefix, depth - 1))})"
        children = draw(st.lists(_expr(fields, key_prefix, prefix, depth - 1), min_size=1, max_size=3))
        return f"({draw(st.sampled_from((form, form.upper())))} {' '.join(children)})"
    # Operator first, then a field that takes it: every operator gets an equal share, not
    # one proportional to how many fields of its type the model happens to have.
    by_op = _fields_by_op(fields, depth > 0)
    op = draw(st.sampled_from(sorted(by_op)))
    f = draw(st.sampled_from(by_op[op]))
    return draw(_predicate(f, key_prefix + f.path, prefix, depth, op))


def _ops_for(f: _Field, depth: int) -> tuple[str, ...]:
    ops = _OPS_BY_KIND[f.kind]
    return ops if f.kind != OBJARRAY or depth > 0 else tuple(o for o in ops if o not in ("any", "all"))


@functools.cache
def _fields_by_op(fields: tuple[_Field, ...], quantifiers: bool) -> dict[str, tuple[_Field, ...]]:
    out: dict[str, list[_Field]] = {}
    for f in fields:
        for op in _ops_for(f, 1 if quantifiers else 0):
            out.setdefault(op, []).append(f)
    return {op: tuple(fs) for op, fs in out.items()}


def filter_texts(max_depth: int = 3) -> st.SearchStrategy[str]:
    """Lisp text of filters that check against `Contact` (see `filters`)."""
    return _expr(ROOT_FIELDS, "", "", max_depth)


def _check(text: str) -> Any:
    return crudql.parse_filter(text, schema=SCHEMA)


def filters(max_depth: int = 3) -> st.SearchStrategy[crudql.ast.Expr]:
    """Checked filter ASTs over `Contact`: every operator, on fields of the types it accepts."""
    return filter_texts(max_depth).map(_check)


# ----------------------------------------------------------------------------- sorts

SORT_FIELDS = (
    "id",
    "name",
    "emailAddress",
    "organizationID",
    "creationTime",
    "lastUpdateTime",
    "info.partner",
    "info.companyName",
    _M + "accountCount",
    _M + "successRate",
    _M + "pipeline.USD",
    _M + "closedWonAmount.EUR",
    _E + "status",
    _E + "creationTime",
    _E + "info.isPrimary",
)
_SORT_SPELLINGS = {f: tuple(dict.fromkeys((f, _python_spelling(f, SCHEMA)))) for f in SORT_FIELDS}


@st.composite
def sort_texts(draw: st.DrawFn, max_size: int = 3) -> tuple[str, str]:
    """(text, style) of a sort over distinct sortable fields, in either sort style and every
    key form (`f`, `+f`, `-f`, `f:asc`, `f:DESC`; in JSON also `{"field": f, "order": ...}`)."""
    chosen = draw(st.lists(st.sampled_from(SORT_FIELDS), max_size=max_size, unique=True))
    as_json = draw(st.booleans())
    keys: list[Any] = []
    for f in chosen:
        path = draw(st.sampled_from(_SORT_SPELLINGS[f]))
        desc = draw(st.booleans())
        form = draw(st.integers(0, 3 if as_json else 2))
        if form == 0:
            keys.append(("-" if desc else "") + path)
        elif form == 1:
            keys.append(("-" if desc else "+") + path)
        elif form == 2:
            keys.append(f"{path}:{draw(st.sampled_from(('desc', 'DESC') if desc else ('asc', 'Asc')))}")
        else:
            keys.append({"field": path, "order": "desc"} if desc else {"field": path})
    if as_json:
        return json.dumps(keys, ensure_ascii=False), "json"
    return ",".join(keys), "simple"


def _sort(pair: tuple[str, str]) -> list[crudql.SortKey]:
    return crudql.parse_sort(pair[0], pair[1], schema=SCHEMA)


def sorts(max_size: int = 3) -> st.SearchStrategy[list[crudql.SortKey]]:
    """Checked sort keys over sortable scalar fields (nested, dict keys, datetimes, enums, bools)."""
    return sort_texts(max_size).map(_sort)

