"""MongoDB backend: a checked AST compiled into a filter document and a sort specification.

Documents are stored in the model's JSON (alias) shape, as `MongoSource.from_records` writes
them: absent fields stay absent, datetimes are BSON dates (or, opt-in, fixed-width UTC
strings), enums their values, dates ISO strings. The compiled query is plain pymongo API
(`find`, `sort`, `skip`, `limit`, `count_documents`; no `$where`, no JavaScript, no `$expr`),
so it runs unchanged on a real MongoDB, on mongomock and on montydb.

MongoDB's own semantics already give most of spec section 2 (a comparison with a missing or
null value is false, `$nor` is plain negation). Where they differ, the compiler works around
the difference; each place is marked "MongoDB:" below and listed in docs/mongo.md.

Safety: field names come from the schema (`Field.json_path`); literal values only ever appear
as operands of `$eq`, `$in`, `$lt`, ... (never as a bare value, which MongoDB would read as an
operator document); LIKE and friends become regular expressions built from escaped literal
pieces, so no client text is ever read as a regex or as an operator.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Sequence, Union

from pydantic import BaseModel, ValidationError

from ..ast import And, Expr, Field, Not, Or, Predicate, Quantified
from ..errors import LimitError, RequestError
from ..operators import Kind, lookup
from ..patterns import WILDCARD_ONE, LikePattern, parse_like
from ..schema import FieldType, Schema
from ..sort import SortKey

__all__ = [
    "MongoSource",
    "compile_filter",
    "compile_sort",
    "explain",
    "explain_json",
    "to_document",
    "from_document",
    "INSTANT_STYLES",
    "MATCH_NONE",
    "MAX_REGEX_BYTES",
    "SIMPLE_COLLATION",
]

Filter = dict[str, Any]
Document = dict[str, Any]
# A compiled expression: a filter document, or a constant (True: every document, False: none).
# Constants fold away inside and/or/not, so they never reach MongoDB below the top level.
Compiled = Union[Filter, bool]

# Every stored document has an _id, so this matches nothing on every engine ({"$expr": false}
# is not understood by montydb, and an empty $in cannot be written without naming a field).
MATCH_NONE: Filter = {"_id": {"$exists": False}}
# MongoDB refuses a $regex pattern longer than 16 KiB (error 51091); say so as a client error.
MAX_REGEX_BYTES = 16384

_UTC = dt.timezone.utc
# LIKE regexes run with the `s` option, so `.` is one character, newlines included.
_ANY_CHAR = "."
# MongoDB: `$` also matches before a final newline in PCRE (and Python), and `\z` is not
# Python syntax (mongomock and montydb compile $regex with Python's `re`). "No character
# follows" means the same in both engines. Without `s` (contains, starts-with, ends-with
# have no wildcards), a newline could follow, so the class spells out every character.
_END_DOTALL = "(?!.)"
_END = r"(?![\s\S])"


# ---------------------------------------------------------------------------- datetimes


class _Instants:
    """How datetimes are stored. MongoDB: a BSON date has millisecond precision."""

    name = ""

    def store(self, value: dt.datetime) -> Any:
        raise NotImplementedError

    def literal(self, value: dt.datetime) -> tuple[Any, bool]:
        """The stored form of a filter literal, and whether it is exact (storable as is)."""
        raise NotImplementedError


def _utc(value: dt.datetime) -> dt.datetime:
    # A naive datetime is UTC (spec section 2), as in the Python backend.
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


class _DateInstants(_Instants):
    """BSON dates (the default): naive UTC, truncated to the millisecond as BSON does."""

    name = "date"

    def store(self, value: dt.datetime) -> dt.datetime:
        # Naive UTC: pymongo reads it as UTC, and mongomock cannot compare aware with naive.
        value = _utc(value).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond - value.microsecond % 1000)

    def literal(self, value: dt.datetime) -> tuple[Any, bool]:
        return self.store(value), _utc(value).microsecond % 1000 == 0


class _StringInstants(_Instants):
    """Fixed-width UTC text, `2024-01-31T12:00:00.000001Z`: microsecond-exact, and its
    string order is time order (years 1-9999)."""

    name = "string"

    def store(self, value: dt.datetime) -> str:
        v = _utc(value)
        return (
            f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
            f".{v.microsecond:06d}Z"
        )

    def literal(self, value: dt.datetime) -> tuple[Any, bool]:
        return self.store(value), True


_INSTANTS: dict[str, _Instants] = {codec.name: codec for codec in (_DateInstants(), _StringInstants())}
INSTANT_STYLES = tuple(_INSTANTS)


def _codec(instants: str) -> _Instants:
    try:
        return _INSTANTS[instants]
    except KeyError:
        raise ValueError(f"instants must be one of {', '.join(INSTANT_STYLES)}, got {instants!r}") from None


# ---------------------------------------------------------------------------- field paths


def _addressable(segment: str) -> bool:
    # MongoDB: a dotted path cannot reach a key that starts with '$' (it needs $getField) or
    # holds '.'; BSON cannot hold NUL. Such a segment (a map key from the client) names a
    # value no document can have, so the field is missing everywhere (and to_document refuses
    # to store such keys, so this agrees with the Python backend on stored data).
    return bool(segment) and not segment.startswith("$") and "." not in segment and "\x00" not in segment


def _path(f: Field) -> str | None:
    """The dotted JSON path of a checked field, or None when MongoDB cannot address it."""
    segments = f.json_path if f.json_path is not None else f.path
    if "*" in segments:
        raise ValueError(f"'{f.dotted}': '*' paths must be checked into 'any' before compiling")
    return ".".join(segments) if all(_addressable(s) for s in segments) else None


def _kind(t: FieldType | None) -> Kind:
    return t.kind if t is not None else Kind.ANY


# ---------------------------------------------------------------------------- constants and logic


def _all_of(parts: Iterable[Compiled]) -> Compiled:
    out: list[Filter] = []
    for part in parts:
        if part is False:
            return False
        if part is True:
            continue
        assert isinstance(part, dict)
        # Nested $and flattens: fewer BSON levels (MongoDB caps nesting at 100).
        out.extend(part["$and"] if list(part) == ["$and"] else [part])
    if not out:
        return True
    return out[0] if len(out) == 1 else {"$and": out}


def _any_of(parts: Iterable[Compiled]) -> Compiled:
    out: list[Filter] = []
    for part in parts:
        if part is True:
            return True
        if part is False:
            continue
        assert isinstance(part, dict)
        out.extend(part["$or"] if list(part) == ["$or"] else [part])
    if not out:
        return False
    return out[0] if len(out) == 1 else {"$or": out}


# Operators whose negation MongoDB spells as one operator with the same missing-field rule:
# `$ne`/`$nin` match a missing field, exactly like `$nor` of `$eq`/`$in`.
_OPPOSITE = {"$eq": "$ne", "$ne": "$eq", "$in": "$nin", "$nin": "$in"}


def _negate(part: Compiled) -> Compiled:
    """Plain negation. MongoDB: `$not` is a field-level operator with caveats (no `$not` of
    `$regex` strings before 4.0.7, none of a whole expression), so whole expressions are
    negated with `$nor`, which is true for documents where the expression is false, missing
    fields included."""
    if isinstance(part, bool):
        return not part
    if list(part) == ["$nor"]:
        return _any_of(part["$nor"])  # (not (nor a b)) is (or a b): also keeps nesting shallow
    if len(part) == 1:
        (path, test), = part.items()
        if not path.startswith("$") and isinstance(test, dict) and len(test) == 1:
            (op, value), = test.items()
            if op in _OPPOSITE:
                return {path: {_OPPOSITE[op]: value}}
    return {"$nor": [part]}


def _as_filter(part: Compiled) -> Filter:
    if part is True:
        return {}
    if part is False:
        return dict(MATCH_NONE)
    assert isinstance(part, dict)
    return part


# ---------------------------------------------------------------------------- regular expressions


# Case-insensitive matching: Python's re (the Python backend, mongomock, montydb) treats
# I, i, İ (U+0130) and ı (U+0131) as one letter; PCRE2 (MongoDB) folds only I with i. Across
# all of Unicode these four are the only difference (checked code point by code point against
# PCRE2), so under `i` each of them is spelled as the whole class, which both engines read alike.
_FOLD_CLASS = "[Iiİı]"
_FOLD_AS_PYTHON = frozenset("Iiİı")


def _escape(text: str, fold: bool = False) -> str:
    """`text` as regex source matching it literally, read the same by PCRE and Python's re.

    A backslash before ASCII punctuation is literal in both; control characters become \\xHH
    (a raw NUL cannot be sent to the server); letters, digits and non-ASCII characters are
    literal as they are. With `fold` (for the `i` option), see `_FOLD_CLASS`.
    """
    out = []
    for ch in text:
        if fold and ch in _FOLD_AS_PYTHON:
            out.append(_FOLD_CLASS)
        elif not ch.isascii() or ch.isalnum():
            out.append(ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append("\\" + ch)
    return "".join(out)


def _segment(items: tuple[object, ...], fold: bool) -> str:
    """One fixed-length LIKE segment: literal runs and `_` (one character each)."""
    out: list[str] = []
    wild = 0
    for item in (*items, None):
        if item is WILDCARD_ONE:
            wild += 1
            continue
        if wild:
            out.append(_ANY_CHAR if wild == 1 else f"{_ANY_CHAR}{{{wild}}}")
            wild = 0
        if isinstance(item, str):
            out.append(_escape(item, fold))
    return "".join(out)


def _like_regex(pattern: LikePattern, fold: bool = False) -> str:
    """An anchored regex matching what the LIKE pattern matches, without backtracking across %.

    As in `crudql.patterns`: the first segment sits at the start, the last at the end, each
    middle one at its leftmost place after the previous. A middle segment is matched inside a
    lookahead whose capture is then consumed by a backreference, `(?=(?P<m1>.*?SEG))(?P=m1)`:
    lookaheads are atomic in PCRE and Python alike, so a failed match never retries a middle
    segment further right, and `%a%a%a...%b` stays linear instead of exploding. (Atomic
    groups `(?>...)` would say the same but need Python 3.11 under mongomock.)
    """
    segments = pattern.segments
    if len(segments) == 1:
        return "^" + _segment(segments[0], fold) + _END_DOTALL
    first, *middle, last = segments
    middle = [m for m in middle if m]  # `%%` leaves empty segments
    if not middle:
        head = "^" + _segment(first, fold) if first else ""
        tail = _segment(last, fold) + _END_DOTALL if last else ""
        return head + (_ANY_CHAR + "*" if head and tail else "") + tail
    if not first and not last and len(middle) == 1:
        return _segment(middle[0], fold)  # %text%: a plain search, nothing to backtrack
    out = ["^", _segment(first, fold)]
    for i, seg in enumerate(middle, 1):
        out.append(f"(?=(?P<m{i}>{_ANY_CHAR}*?{_segment(seg, fold)}))(?P=m{i})")
    if last:
        out.append(f"{_ANY_CHAR}*{_segment(last, fold)}{_END_DOTALL}")
    return "".join(out)


def _uses_dot(source: str) -> bool:
    """Whether the regex has an unescaped `.` (and so needs the `s` option)."""
    i = 0
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] == ".":
            return True
        i += 1
    return False


def _regex(source: str, ignore_case: bool, span: Any, *, dotall: bool = False) -> Filter:
    if len(source.encode("utf-8", "surrogatepass")) > MAX_REGEX_BYTES:
        raise LimitError(
            f"the pattern becomes a regular expression longer than MongoDB's {MAX_REGEX_BYTES} bytes; "
            "use a shorter pattern",
            position=span.start if span is not None else None,
            length=span.length if span is not None else 1,
        )
    test: Filter = {"$regex": source}
    # MongoDB's PCRE runs in UTF mode: `.` is one character (not one byte), and `i` folds case
    # for every Unicode letter, character by character, as Python's re.IGNORECASE does in the
    # Python backend.
    options = ("i" if ignore_case else "") + ("s" if dotall else "")
    if options:
        test["$options"] = options
    return test


# ---------------------------------------------------------------------------- the filter compiler

_MONGO_ORDER = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
# A datetime literal between two milliseconds: x < v ⟺ x <= floor(v), x >= v ⟺ x > floor(v)
# for every millisecond-precision x; <= and > already hold with floor(v).
_INEXACT_ORDER = {"<": "$lte", "<=": "$lte", ">": "$gt", ">=": "$gt"}


class FilterCompiler:
    """Compiles a checked filter AST into a MongoDB filter, one small method per node kind
    and per operator. Paths are relative to the current document; inside `any`/`all` the
    element is the current document (`$elemMatch`), so the same methods serve both."""

    def __init__(self, instants: str = "date") -> None:
        self.instants = _codec(instants)

    def compile(self, expr: Expr | None) -> Filter:
        return _as_filter(True if expr is None else self.visit(expr))

    # ------------------------------------------------------------------ node kinds

    def visit(self, node: Expr) -> Compiled:
        if isinstance(node, And):
            return self.visit_and(node)
        if isinstance(node, Or):
            return self.visit_or(node)
        if isinstance(node, Not):
            return self.visit_not(node)
        if isinstance(node, Quantified):
            return self.visit_quantified(node)
        if isinstance(node, Predicate):
            return self.visit_predicate(node)
        raise TypeError(f"not a crudql expression: {node!r}")

    def visit_and(self, node: And) -> Compiled:
        return _all_of(self.visit(c) for c in node.children)

    def visit_or(self, node: Or) -> Compiled:
        return _any_of(self.visit(c) for c in node.children)

    def visit_not(self, node: Not) -> Compiled:
        return _negate(self.visit(node.child))

    def visit_quantified(self, node: Quantified) -> Compiled:
        if node.op == "any":
            return self._some_element(node.field, self.visit(node.condition))
        # MongoDB: no "every element" operator ($all of $elemMatch needs one element per
        # clause). (all f P) is (not (any f (not P))): true for a missing, null or empty array.
        return _negate(self._some_element(node.field, _negate(self.visit(node.condition))))

    def _some_element(self, f: Field, condition: Compiled) -> Compiled:
        path = _path(f)
        if path is None or condition is False:
            return False
        if condition is True:
            # Some element, whatever it is: a non-empty array. (`$elemMatch: {}` is not
            # understood by montydb.)
            return {path + ".0": {"$exists": True}}
        return {path: {"$elemMatch": condition}}

    def visit_predicate(self, node: Predicate) -> Compiled:
        op = lookup(node.op)
        if op is None:
            raise ValueError(f"unknown operator {node.op!r}")
        if op.negates is not None:
            # != and nin are defined as negations (spec section 2): the same rule as `not`.
            return _negate(self.visit_predicate(Predicate(op.negates, node.field, node.args, node.span)))
        path = _path(node.field)
        if path is None:
            return _holds_when_missing(op.name, node.args)
        method: Callable[[str, Field, tuple[Any, ...], Predicate], Compiled] = getattr(
            self, "op_" + _METHOD_NAMES[op.name]
        )
        return method(path, node.field, node.args, node)

    # ------------------------------------------------------------------ values

    def value(self, value: Any) -> tuple[Any, bool]:
        """A literal as stored (BSON), and whether it is exactly storable."""
        if isinstance(value, dt.datetime):
            return self.instants.literal(value)
        if isinstance(value, dt.date):
            return value.isoformat(), True  # BSON has no date: stored as ISO text, in date order
        if isinstance(value, enum.Enum):
            return value.value, True
        if value is None or isinstance(value, (bool, int, float, str)):
            return value, True
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

    def op_eq(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        if args[0].value is None:
            return self.op_is_null(path, f, args, node)
        stored, exact = self.value(args[0].value)
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

    def op_lt(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        return self._order(path, f, "<", args[0].value)

    def op_lte(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        return self._order(path, f, "<=", args[0].value)

    def op_gt(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        return self._order(path, f, ">", args[0].value)

    def op_gte(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        return self._order(path, f, ">=", args[0].value)

    def op_between(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        low = self._order(path, f, ">=", args[0].value)
        high = self._order(path, f, "<=", args[1].value)
        if isinstance(low, bool) or isinstance(high, bool):
            return _all_of((low, high))
        return {path: {**low[path], **high[path]}}  # one field test: {$gte: lo, $lte: hi}

    def op_in(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        values = args[0].values
        present = self.exact_values(v for v in values if v is not None)
        test = self._scalar(path, f, {"$in": present}) if present else False
        if None not in values:
            return test
        # A null in the list matches missing or null. MongoDB's own `$in: [null]` means that
        # too, but mongomock does not match it through a null parent object ({"a": null}
        # for "a.b"), so the null part is spelled as is-null, which both engines agree on.
        return _any_of((test, self.op_is_null(path, f, args, node)))

    # ------------------------------------------------------------------ text tests

    def _text(
        self, path: str, f: Field, source: str, ignore_case: bool, node: Predicate, dotall: bool = False
    ) -> Compiled:
        return self._scalar(path, f, _regex(source, ignore_case, node.args[0].span, dotall=dotall))

    def op_like(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        pattern = parse_like(args[0].value)
        literal = pattern.literal()
        if literal is not None:
            return self._scalar(path, f, {"$eq": literal})  # no wildcard: plain equality
        source = _like_regex(pattern)
        return self._text(path, f, source, False, node, dotall=_uses_dot(source))

    def op_ilike(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        source = _like_regex(parse_like(args[0].value), fold=True)
        return self._text(path, f, source, True, node, dotall=_uses_dot(source))

    def op_contains(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        if _kind(f.type) is Kind.ARRAY:
            return self.op_has(path, f, args, node)
        return self._text(path, f, _escape(args[0].value), False, node)

    def op_icontains(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        source = _escape(args[0].value, fold=True)
        if _kind(f.type) is Kind.ARRAY:
            # Case-insensitive element equality. MongoDB: a $regex on an array tests elements.
            return self._array(path, f, _regex("^" + source + _END, True, args[0].span))
        return self._text(path, f, source, True, node)

    def op_starts_with(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        return self._text(path, f, "^" + _escape(args[0].value), False, node)

    def op_ends_with(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        return self._text(path, f, _escape(args[0].value) + _END, False, node)

    # ------------------------------------------------------------------ array tests

    def _array(self, path: str, f: Field, test: Filter) -> Filter:
        # MongoDB: {$eq: v} / {$in: [...]} on an array test its elements, which is exactly
        # has / has-any; they also match a non-array equal to v, which a typed array field
        # never holds. An untyped field may, so it must be an array first.
        if _kind(f.type) is not Kind.ARRAY:
            test = {**test, "$type": "array"}
        return {path: test}

    def op_has(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        stored, exact = self.value(args[0].value)
        return self._array(path, f, {"$eq": stored}) if exact else False

    def op_has_any(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        values = self.exact_values(args[0].values)
        return self._array(path, f, {"$in": values}) if values else False

    def op_has_all(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        if not args[0].values:
            # The empty conjunction is true, even for a missing array. MongoDB: `$all: []`
            # matches nothing (mongomock: everything), so it is never sent.
            return True
        values = self.exact_values(args[0].values)
        if len(values) < len(args[0].values):
            return False
        return self._array(path, f, {"$all": values})

    # ------------------------------------------------------------------ null tests

    def op_exists(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        kind = _kind(f.type)
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

    def op_is_null(self, path: str, f: Field, args: tuple[Any, ...], node: Predicate) -> Compiled:
        return _negate(self.op_exists(path, f, args, node))


_METHOD_NAMES = {
    "=": "eq",
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "between": "between",
    "in": "in",
    "like": "like",
    "ilike": "ilike",
    "contains": "contains",
    "icontains": "icontains",
    "starts-with": "starts_with",
    "ends-with": "ends_with",
    "has": "has",
    "has-any": "has_any",
    "has-all": "has_all",
    "exists": "exists",
    "is-null": "is_null",
}


def _holds_when_missing(op: str, args: tuple[Any, ...]) -> bool:
    """A positive operator on a missing value (spec section 2): only the null tests and the
    empty conjunction hold."""
    if op == "is-null":
        return True
    if op == "=":
        return args[0].value is None
    if op == "in":
        return None in args[0].values
    if op == "has-all":
        return not args[0].values
    return False


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
        path = _path(f)
        if path is not None:
            spec.append((path, -1 if key.descending else 1))
    return spec


# ---------------------------------------------------------------------------- public compile API


def compile_filter(where: Expr | None, *, instants: str = "date") -> Filter:
    """The MongoDB filter document for a checked filter (None: match all, `{}`)."""
    return FilterCompiler(instants).compile(where)


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
        v = _utc(value)
        # Fixed width: strftime's %Y does not pad years before 1000 on every platform.
        return {"$date": _StringInstants().store(v)[:-4] + "Z"}
    raise TypeError(f"not JSON serializable: {value!r}")


def explain_json(where: Expr | None, order: Sequence[SortKey] = (), *, instants: str = "date", indent: int | None = 2) -> str:
    """`explain` as MongoDB (relaxed) Extended JSON text, ready to paste into mongosh."""
    return json.dumps(explain(where, order, instants=instants), default=_extended_json, ensure_ascii=False, indent=indent)


# ---------------------------------------------------------------------------- documents


def _bson_value(value: Any, instants: _Instants, where: str) -> Any:
    if value is None or value.__class__ in (bool, int, float, str):
        return value
    if isinstance(value, enum.Enum):
        return _bson_value(value.value, instants, where)
    if isinstance(value, dt.datetime):
        return instants.store(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not _addressable(k):
                raise ValueError(
                    f"key {k!r} in {where or 'the record'} cannot be stored for querying: MongoDB "
                    "cannot address field names that are empty, start with '$' or hold '.' or NUL"
                )
            out[k] = _bson_value(v, instants, f"{where}.{k}" if where else k)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_bson_value(v, instants, where) for v in value]
    if isinstance(value, (bool, int, float, str)):
        return _builtin(value)
    if isinstance(value, decimal.Decimal):
        return float(value)  # the schema treats Decimal as a float
    if isinstance(value, uuid.UUID):
        return str(value)  # the schema treats UUID as a string
    raise TypeError(f"cannot store {type(value).__name__} at {where or 'the record'} in MongoDB")


def _builtin(value: bool | int | float | str) -> bool | int | float | str:
    # Subclasses of the JSON scalars (not enums) as their plain type: BSON encodes those.
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    raise TypeError(value)


def to_document(record: BaseModel | Mapping[str, Any], model: type[BaseModel], *, instants: str = "date") -> Document:
    """A record (model instance or alias-shaped dict) as the document `from_records` stores:
    validated by the model, alias-shaped, absent fields absent."""
    codec = _codec(instants)
    if not isinstance(record, model):
        record = model.model_validate(record)
    dumped = record.model_dump(mode="python", by_alias=True, exclude_unset=True)
    return _bson_value(dumped, codec, "")  # type: ignore[no-any-return]


def _from_bson(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _from_bson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_bson(v) for v in value]
    if isinstance(value, dt.datetime):
        return _utc(value)  # pymongo returns BSON dates as naive UTC
    return value


def from_document(document: Mapping[str, Any], model: type[BaseModel]) -> BaseModel:
    """A stored document as a model instance (its `_id` dropped)."""
    data = _from_bson({k: v for k, v in document.items() if k != "_id"})
    return model.model_validate(data)


# ---------------------------------------------------------------------------- the source

# MongoDB: a collection may have a default collation (say, case-insensitive English), which
# would change every string comparison and the sort; crudql compares by code point.
SIMPLE_COLLATION: dict[str, str] = {"locale": "simple"}


def _has_default_collation(collection: Any) -> bool:
    """Whether the collection was created with a non-simple default collation."""
    try:
        infos = list(collection.database.list_collections(filter={"name": collection.name}))
    except Exception:  # noqa: BLE001 - engines without listCollections (mongomock, montydb) have no collations
        return False
    options = infos[0].get("options", {}) if infos else {}
    collation = options.get("collation") if isinstance(options, Mapping) else None
    return bool(collation) and collation.get("locale") != "simple"


class MongoSource:
    """A pymongo-compatible collection of documents in the model's JSON (alias) shape.

    `instants="date"` (default) reads and writes datetimes as BSON dates, whose precision is
    one millisecond; `instants="string"` as fixed-width UTC text, exact to the microsecond.
    `simple_collation`: send `collation={"locale": "simple"}` with every query (True), never
    (False), or only when the collection has a default collation of its own (None: asked once).
    """

    def __init__(
        self,
        collection: Any,
        model: type[BaseModel] | None = None,
        *,
        instants: str = "date",
        simple_collation: bool | None = None,
    ) -> None:
        from ..models import Contact

        self.collection = collection
        self.model: type[BaseModel] = model or Contact
        self.schema = Schema.from_model(self.model)
        self.instants = _codec(instants).name
        self.simple_collation = simple_collation
        self._compiler = FilterCompiler(self.instants)

    def __repr__(self) -> str:
        return f"MongoSource({getattr(self.collection, 'full_name', self.collection)!r}, {self.model.__name__})"

    @classmethod
    def from_records(
        cls,
        collection: Any,
        records: Iterable[BaseModel | Mapping[str, Any]],
        model: type[BaseModel] | None = None,
        *,
        instants: str = "date",
        simple_collation: bool | None = None,
    ) -> MongoSource:
        """Validate the records with the model, store them in `collection`, return the source."""
        source = cls(collection, model, instants=instants, simple_collation=simple_collation)
        documents = []
        for i, record in enumerate(records):
            try:
                documents.append(to_document(record, source.model, instants=source.instants))
            except ValidationError as exc:
                raise RequestError(
                    f"item {i} is not a valid {source.model.__name__}: {exc.errors()[0]['msg']}"
                ) from None
        if documents:
            collection.insert_many(documents)
        if "id" in source.schema.fields:
            # The default sort ends with id; an index lets MongoDB sort without a blocking sort.
            collection.create_index([(source.schema.fields["id"].alias, 1)])
        return source

    def explain(self, where: Expr | None, order: Sequence[SortKey] = ()) -> dict[str, Any]:
        return explain(where, order, instants=self.instants)

    def page(self, where: Expr | None, order: Sequence[SortKey], offset: int, limit: int) -> tuple[list[Any], int]:
        compiled = True if where is None else self._compiler.visit(where)
        if compiled is False:
            return [], 0  # nothing can match: no round trip
        query = _as_filter(compiled)
        options = self._query_options()
        total = self.collection.count_documents(query, **options)
        if offset >= total or limit <= 0:
            return [], total
        cursor = self.collection.find(query, {"_id": False}, **options)
        spec = compile_sort(order)
        if spec:
            cursor = cursor.sort(spec)
        cursor = cursor.skip(offset).limit(limit)
        return [from_document(doc, self.model) for doc in cursor], total

    def _query_options(self) -> dict[str, Any]:
        if self.simple_collation is None:
            self.simple_collation = _has_default_collation(self.collection)
        return {"collation": SIMPLE_COLLATION} if self.simple_collation else {}
