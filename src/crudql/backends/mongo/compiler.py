"""MongoDB backend: a checked filter compiled into a filter document and a sort specification.

The compiled query is plain pymongo API (`find`, `sort`, `skip`, `limit`, `count_documents`; no
`$where`, no JavaScript, no `$expr`), so it runs unchanged on a real MongoDB, on mongomock and
on montydb. MongoDB's own semantics already give most of docs/spec/LANGUAGE.md §2 (a comparison with a
missing or null value is false, `$nor` is plain negation). Where they differ, the compiler
works around the difference; each place is marked "MongoDB:" and listed in docs/mongo.md.

Safety: field names come from the schema (`Field.json_path`); literal values only ever appear
as operands of `$eq`, `$in`, `$lt`, ... (never as a bare value, which MongoDB would read as an
operator document); LIKE and friends become regular expressions built from escaped literal
pieces, so no client text is ever read as a regex or as an operator.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ...ast import And, Expr, Field, Not, Now, Or, Predicate, Quantified, SortKey
from ...fieldtypes import FieldType, Kind
from ...patterns import parse_like
from ...values import clock, instant_text
from ..base import Compiler, text_of, value_of, values_of
from .documents import addressable, codec
from .logic import Compiled, Filter, all_of, any_of, as_filter, negate
from .regex import END, escape, like_regex, regex, uses_dot

__all__ = ["FilterCompiler", "compile_filter", "compile_sort", "explain", "explain_json", "field_path"]


def field_path(f: Field) -> str | None:
    """The dotted JSON path of a checked field, or None when MongoDB cannot address it."""
    segments = f.json_path if f.json_path is not None else f.path
    if "*" in segments:
        raise ValueError(f"'{f.dotted}': '*' paths must be checked into 'any' before compiling")
    return ".".join(segments) if all(addressable(s) for s in segments) else None


def _kind(t: FieldType | None) -> Kind:
    return t.kind if t is not None else Kind.ANY


_MONGO_ORDER = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
# A datetime literal between two milliseconds: x < v ⟺ x <= floor(v), x >= v ⟺ x > floor(v)
# for every millisecond-precision x; <= and > already hold with floor(v).
_INEXACT_ORDER = {"<": "$lte", "<=": "$lte", ">": "$gt", ">=": "$gt"}


class FilterCompiler(Compiler[Any, Compiled, Compiled]):
    """Compiles a checked filter AST into a MongoDB filter, one small method per node kind
    and per operator. Paths are relative to the current document; inside `any`/`all` the
    element is the current document (`$elemMatch`), so the same methods serve both."""

    def __init__(self, instants: str = "date", *, now: dt.datetime | None = None) -> None:
        self.instants = codec(instants)
        # The instant `(now ...)` values stand for. MongoDB queries are compiled per request,
        # so `now` is resolved here, into the filter sent (default: the clock, when first needed).
        self.now = now

    def compile(self, expr: Expr | None) -> Filter:
        return as_filter(True if expr is None else self.visit(expr, None))

    # ------------------------------------------------------------------ node kinds

    def visit_and(self, node: And, ctx: Any) -> Compiled:
        return all_of(self.visit(c, ctx) for c in node.children)

    def visit_or(self, node: Or, ctx: Any) -> Compiled:
        return any_of(self.visit(c, ctx) for c in node.children)

    def visit_not(self, node: Not, ctx: Any) -> Compiled:
        return negate(self.visit(node.child, ctx))

    def visit_quantified(self, node: Quantified, ctx: Any) -> Compiled:
        if node.op == "any":
            return self._some_element(node.field, self.visit(node.condition, ctx))
        # MongoDB: no "every element" operator ($all of $elemMatch needs one element per
        # clause). (all f P) is (not (any f (not P))): true for a missing, null or empty array.
        return negate(self._some_element(node.field, negate(self.visit(node.condition, ctx))))

    def _some_element(self, f: Field, condition: Compiled) -> Compiled:
        path = field_path(f)
        if path is None or condition is False:
            return False
        if condition is True:
            # Some element, whatever it is: a non-empty array. (`$elemMatch: {}` is not
            # understood by montydb.)
            return {path + ".0": {"$exists": True}}
        return {path: {"$elemMatch": condition}}

    def visit_predicate(self, node: Predicate, ctx: Any) -> Compiled:
        path = field_path(node.field)
        if path is None:
            return self.holds_when_missing(node)  # a field MongoDB cannot address is missing
        return self.predicate(node, path)

    def reached(self, node: Predicate, leaf: Compiled, path: str) -> Compiled:
        # MongoDB: a dotted path steps into arrays (`a.0` is an index, `a.k` reaches the
        # elements' `k`); below an untyped value the language calls such a field missing. So
        # every prefix a key is looked up in must not be an array: where one is, the test
        # is what it is for a missing field.
        f = node.field
        keyed = f.keyed or ()
        segments = f.json_path or f.path
        guards = [
            {".".join(segments[: i + 1]): {"$not": {"$type": "array"}}}
            for i in range(len(segments) - 1)
            if i + 1 < len(keyed) and keyed[i + 1]
        ]
        if not guards:
            return leaf
        if self.holds_when_missing(node):
            return any_of([negate(all_of(guards)), leaf])
        return all_of([*guards, leaf])

    def negate(self, leaf: Compiled) -> Compiled:
        # != and nin are defined as negations (docs/spec/LANGUAGE.md §2): the same rule as `not`.
        return negate(leaf)

    # ------------------------------------------------------------------ values

    def value(self, value: Any) -> tuple[Any, bool]:
        """A literal as stored (BSON), and whether it is exactly storable."""
        if isinstance(value, Now):
            if self.now is None:
                self.now = clock()
            value = value.at(self.now)
        if isinstance(value, dt.datetime):
            return self.instants.literal(value)
        if isinstance(value, dt.date):
            return value.isoformat(), True  # BSON has no date: stored as ISO text, in date order
        if isinstance(value, enum.Enum):
            return value.value, True
        if value is None or isinstance(value, (bool, int, float, str)):
            return value, True
        if isinstance(value, Decimal):
            return float(value), True  # stored as a double (docs/mongo.md)
        raise TypeError(f"not a crudql literal: {value!r}")  # never a dict: no operator injection

    def exact_values(self, values: Iterable[Any]) -> list[Any]:
        """The storable values (an inexact datetime equals no stored one)."""
        out = []
        for v in values:
            stored, exact = self.value(v)
            if exact:
                out.append(stored)
        return out

    # ------------------------------------------------------------------ scalar tests

    def _scalar(self, path: str, f: Field, test: Filter) -> Filter:
        if _kind(f.type) is Kind.ANY:
            # MongoDB: a field test also matches an array holding a matching element; the
            # Python backend compares an untyped value as a whole. Typed scalar fields hold
            # no arrays (documents are validated by the model), so only Any needs the guard.
            test = {**test, "$not": {"$type": "array"}}
        return {path: test}

    def op_eq(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        if value_of(node) is None:
            return self.op_is_null(node, path)
        stored, exact = self.value(value_of(node))
        if not exact:
            return False
        # MongoDB: always {$eq: v}, never {path: v}: a value can never be read as operators.
        return self._scalar(path, f, {"$eq": stored})

    def _order(self, path: str, f: Field, symbol: str, value: Any) -> Compiled:
        if isinstance(value, bool):
            return False  # booleans are not ordered (the checker allows them only on Any fields)
        # MongoDB brackets comparisons by type ($lt: 5 never matches a string or null), which
        # is the spec's rule: no cross-type ordering, false on missing or null.
        stored, exact = self.value(value)
        return self._scalar(path, f, {(_MONGO_ORDER if exact else _INEXACT_ORDER)[symbol]: stored})

    def op_lt(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        return self._order(path, f, "<", value_of(node))

    def op_lte(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        return self._order(path, f, "<=", value_of(node))

    def op_gt(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        return self._order(path, f, ">", value_of(node))

    def op_gte(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        return self._order(path, f, ">=", value_of(node))

    def op_between(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        low = self._order(path, f, ">=", value_of(node))
        high = self._order(path, f, "<=", value_of(node, 1))
        if isinstance(low, bool) or isinstance(high, bool):
            return all_of((low, high))
        return {path: {**low[path], **high[path]}}  # one field test: {$gte: lo, $lte: hi}

    def op_in(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        values = values_of(node)
        present = self.exact_values(v for v in values if v is not None)
        test = self._scalar(path, f, {"$in": present}) if present else False
        if None not in values:
            return test
        # A null in the list matches missing or null. MongoDB's own `$in: [null]` means that
        # too, but mongomock does not match it through a null parent object ({"a": null}
        # for "a.b"), so the null part is spelled as is-null, which both engines agree on.
        return any_of((test, self.op_is_null(node, path)))

    # ------------------------------------------------------------------ text tests

    def _text(
        self, path: str, f: Field, source: str, ignore_case: bool, node: Predicate, dotall: bool = False
    ) -> Compiled:
        return self._scalar(path, f, regex(source, ignore_case, node.args[0].span, dotall=dotall))

    def op_like(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        pattern = parse_like(text_of(node))
        literal = pattern.literal()
        if literal is not None:
            return self._scalar(path, f, {"$eq": literal})  # no wildcard: plain equality
        source = like_regex(pattern)
        return self._text(path, f, source, False, node, dotall=uses_dot(source))

    def op_ilike(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        source = like_regex(parse_like(text_of(node)), fold=True)
        return self._text(path, f, source, True, node, dotall=uses_dot(source))

    def op_contains(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        if _kind(f.type) is Kind.ARRAY:
            return self.op_has(node, path)
        return self._text(path, f, escape(text_of(node)), False, node)

    def op_icontains(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        source = escape(text_of(node), fold=True)
        if _kind(f.type) is Kind.ARRAY:
            # Case-insensitive element equality. MongoDB: a $regex on an array tests elements.
            return self._array(path, f, regex("^" + source + END, True, node.args[0].span))
        return self._text(path, f, source, True, node)

    def op_starts_with(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        return self._text(path, f, "^" + escape(text_of(node)), False, node)

    def op_ends_with(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        return self._text(path, f, escape(text_of(node)) + END, False, node)

    # ------------------------------------------------------------------ array tests

    def _array(self, path: str, f: Field, test: Filter) -> Filter:
        # MongoDB: {$eq: v} / {$in: [...]} on an array test its elements, which is exactly
        # has / has-any; they also match a non-array equal to v, which a typed array field
        # never holds. An untyped field may, so it must be an array first.
        if _kind(f.type) is not Kind.ARRAY:
            test = {**test, "$type": "array"}
        return {path: test}

    def op_has(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        stored, exact = self.value(value_of(node))
        return self._array(path, f, {"$eq": stored}) if exact else False

    def op_has_any(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        values = self.exact_values(values_of(node))
        return self._array(path, f, {"$in": values}) if values else False

    def op_has_all(self, node: Predicate, path: str) -> Compiled:
        f = node.field
        if not values_of(node):
            # The empty conjunction is true, even for a missing array. MongoDB: `$all: []`
            # matches nothing (mongomock: everything), so it is never sent.
            return True
        values = self.exact_values(values_of(node))
        if len(values) < len(values_of(node)):
            return False
        return self._array(path, f, {"$all": values})

    # ------------------------------------------------------------------ null tests

    def op_exists(self, node: Predicate, path: str) -> Compiled:
        kind = _kind(node.field.type)
        if kind is Kind.ARRAY:
            # MongoDB: {$ne: null} is false for [null] (a null element "equals" null), but an
            # array is present and not null. A typed array field is an array, null or missing.
            return {path: {"$type": "array"}}
        # Present and not null. MongoDB's `$ne: null` alone says it (false on missing), but
        # mongomock matches it through a null parent object ({"a": null} for "a.b"); with
        # `$exists: true` both engines agree.
        present = {path: {"$exists": True, "$ne": None}}
        if kind is Kind.ANY:
            return {"$or": [{path: {"$type": "array"}}, present]}
        return present

    def op_is_null(self, node: Predicate, path: str) -> Compiled:
        return negate(self.op_exists(node, path))


# ---------------------------------------------------------------------------- sort


def compile_sort(order: Sequence[SortKey]) -> list[tuple[str, int]]:
    """The sort specification: [(json path, 1 or -1), ...].

    MongoDB already sorts null and missing together below every value (first ascending, last
    descending) and compares strings by their UTF-8 bytes, which is code-point order. A key
    MongoDB cannot address is missing in every document: it orders nothing, so it is left out.
    """
    spec: list[tuple[str, int]] = []
    for key in order:
        f = key.resolved if key.resolved is not None else Field(key.path)
        path = field_path(f)
        if path is not None:
            spec.append((path, -1 if key.descending else 1))
    return spec


# ---------------------------------------------------------------------------- public compile API


def compile_filter(where: Expr | None, *, instants: str = "date", now: dt.datetime | None = None) -> Filter:
    """The MongoDB filter document for a checked filter (None: match all, `{}`); `(now ...)`
    values are the instants they stand for at `now` (default: the clock)."""
    return FilterCompiler(instants, now=now).compile(where)


def explain(where: Expr | None, order: Sequence[SortKey] = (), *, instants: str = "date") -> dict[str, Any]:
    """What the Mongo source sends: {"filter": <find filter>, "sort": [[path, 1 | -1], ...]}.

    Values are as pymongo sends them (datetimes as `datetime`); `explain_json` renders the same
    as MongoDB Extended JSON.
    """
    return {
        "filter": compile_filter(where, instants=instants),
        "sort": [[path, direction] for path, direction in compile_sort(order)],
    }


def _extended_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # Fixed width: strftime's %Y does not pad years before 1000 on every platform.
        return {"$date": instant_text(value)[:-4] + "Z"}
    raise TypeError(f"not JSON serializable: {value!r}")


def explain_json(
    where: Expr | None, order: Sequence[SortKey] = (), *, instants: str = "date", indent: int | None = 2
) -> str:
    """`explain` as MongoDB (relaxed) Extended JSON text, ready to paste into mongosh."""
    return json.dumps(
        explain(where, order, instants=instants), default=_extended_json, ensure_ascii=False, indent=indent
    )
