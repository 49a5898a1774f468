"""A parsed tree -> a checked tree, against a `Schema`.

Checked fields carry canonical (Python) paths, JSON (alias) paths and types; literals are
coerced (ISO-8601 strings to aware UTC datetimes, enum values checked); `*` paths become
`any`. Backends then have nothing left to resolve. Sort keys are checked here too. Every
mistake is a `QueryError` pointing at the offending token.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from ..ast import And, Expr, Field, ListValue, Literal, Not, Now, Or, Predicate, Quantified, SortKey, Span
from ..errors import NotAllowedError, QueryError, QueryTypeError, SortError
from ..fieldtypes import ANY_TYPE, ORDERED_KINDS, TEXT_KINDS, FieldType, Kind
from ..operators import BY_CANONICAL, Operator, lookup
from ..values import parse_datetime
from .policy import Policy
from .schema import ResolvedPath, Schema, dotted

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Prepared",
    "check_filter",
    "check_sort",
    "coerce",
    "coerce_arg",
    "prepare_predicate",
    "quantified_field",
    "resolve_allowed",
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def check_filter(expr: Expr, schema: Schema) -> Expr:
    """The checked form of a parsed tree; raises `QueryError` with the offending span."""
    return _check(expr, schema, None)


def _check(expr: Expr, schema: Schema, base: Policy | None) -> Expr:
    """`base`: the policy paths start with (inside `any`, the array's), None for the schema's."""
    t = type(expr)
    if t is Predicate:
        return _check_predicate(expr, schema, base)  # type: ignore[arg-type]
    if t is And:
        return And(tuple([_check(c, schema, base) for c in expr.children]), expr.span)  # type: ignore[union-attr]
    if t is Or:
        return Or(tuple([_check(c, schema, base) for c in expr.children]), expr.span)  # type: ignore[union-attr]
    if t is Not:
        return Not(_check(expr.child, schema, base), expr.span)  # type: ignore[union-attr]
    if t is Quantified:
        return _check_quantified(expr, schema, base)  # type: ignore[arg-type]
    return _check_subclass(expr, schema, base)


def _check_subclass(expr: Expr, schema: Schema, base: Policy | None) -> Expr:
    if isinstance(expr, And):
        return And(tuple(_check(c, schema, base) for c in expr.children), expr.span)
    if isinstance(expr, Or):
        return Or(tuple(_check(c, schema, base) for c in expr.children), expr.span)
    if isinstance(expr, Not):
        return Not(_check(expr.child, schema, base), expr.span)
    if isinstance(expr, Quantified):
        return _check_quantified(expr, schema, base)
    if isinstance(expr, Predicate):
        return _check_predicate(expr, schema, base)
    raise TypeError(f"not a crudql expression: {expr!r}")


def _resolve(expr: Predicate | Quantified, schema: Schema, base: Policy | None) -> ResolvedPath:
    """The node's field resolved; a `NotAllowedError` when its policy forbids the operator."""
    return resolve_allowed(expr.op, expr.field.path, expr.field.span, schema, base)


def resolve_allowed(
    op: str, path: tuple[str, ...], span: Span | None, schema: Schema, base: Policy | None
) -> ResolvedPath:
    """`path` resolved; a `NotAllowedError` when its policy forbids the operator `op`."""
    r = schema.resolve(path, span, base)
    if not r.policy.filter:
        raise NotAllowedError.at(f"'{dotted(r.path)}' cannot be filtered", span)
    if not r.policy.allows(op):
        allowed = r.policy.allowed_text()
        raise NotAllowedError.at(
            f"'{op}' is not allowed on '{dotted(r.path)}'; " + (f"allowed: {allowed}" if allowed else "no operator is"),
            span,
        )
    return r


def _split_star(r: ResolvedPath, expr: Predicate | Quantified) -> tuple[Field, Field] | None:
    """For a path with '*': the array field before it and the rest."""
    if r.star is None:
        return None
    raw, span = expr.field.path, expr.field.span
    return Field(raw[: r.star], span), Field(raw[r.star + 1 :], span)


def _field(r: ResolvedPath, span: Span | None) -> Field:
    return Field(r.path, span, r.type, r.json_path, r.keyed)


def _check_quantified(expr: Quantified, schema: Schema, base: Policy | None) -> Expr:
    """Field policy speaks for the conditions inside (each checked with the array's policy, or
    its own field's), not for the quantifier: `(any a (= b v))` is allowed exactly when
    `(= a.*.b v)` is, since the two are one checked tree."""
    r = schema.resolve(expr.field.path, expr.field.span, base)
    split = _split_star(r, expr)
    if split is not None:
        # (all a.*.b P) is "some element of a whose b all satisfy P".
        outer, rest = split
        inner = Quantified(expr.op, rest, expr.condition, expr.span)
        return _check_quantified(Quantified("any", outer, inner, expr.span), schema, base)
    f, element = quantified_field(expr.op, r, expr.field.span, schema)
    return Quantified(expr.op, f, _check(expr.condition, element, r.policy), expr.span)


def quantified_field(op: str, r: ResolvedPath, span: Span | None, schema: Schema) -> tuple[Field, Schema]:
    """The checked field of `(any|all path ...)` (`r`: the path resolved, without '*') and the
    schema of its elements, where the condition's paths start (with the policy `r.policy`)."""
    f = _field(r, span)
    if not r.type.is_object_array:
        raise QueryTypeError.at(
            f"'{op}' needs an array of objects, but '{f.dotted}' is {_a(r.type.describe())}"
            + ("; use has-any or has-all" if r.type.kind is Kind.ARRAY else ""),
            span,
        )
    assert r.type.item is not None
    element = schema.nested(r.type.item)
    assert element is not None
    return f, element


@dataclass(frozen=True, slots=True)
class Prepared:
    """What checking a predicate needs from the schema, the same for every `(op path ...)` of
    one operator, path and starting policy: computed once per schema (`prepare_predicate`)."""

    op: Operator
    field: Field  # checked, without a span
    value_type: FieldType  # the type its values must have
    pattern_like: bool  # its values are strings whatever the field's type (LIKE, contains ...)


# (schema, operator as written, path as written, starting policy, whether the first value is
# null) -> Prepared. Bounded like `Schema.resolve`'s memory: map keys make paths unbounded.
_PREPARED: dict[tuple[Schema, str, tuple[str, ...], Policy | None, bool], Prepared] = {}
_PREPARED_MAX = 8192


def prepare_predicate(
    op: Operator, name: str, path: tuple[str, ...], span: Span | None, schema: Schema, base: Policy | None, null: bool
) -> Prepared | None:
    """The `Prepared` of `(name path v ...)` (`op`: the operator `name` looks up; `null`: the
    first value is a null literal), or None when the path holds a '*' (a quantifier then).
    Raises what the check of such a predicate raises, pointing at `span`."""
    key = (schema, name, path, base, null)
    prepared = _PREPARED.get(key)
    if prepared is not None:
        return prepared
    r = resolve_allowed(name, path, span, schema, base)
    if r.star is not None:
        return None
    f = _field(r, None)
    assert f.type is not None
    value_type = _operand_type(op, f, f.type, null, span)
    pattern_like = op.args[-1].value in ("pattern", "string") or (op.array_element and f.type.kind is not Kind.ARRAY)
    prepared = Prepared(op, f, value_type, pattern_like)
    if len(_PREPARED) < _PREPARED_MAX:
        _PREPARED[key] = prepared
    return prepared


def _check_predicate(expr: Predicate, schema: Schema, base: Policy | None) -> Expr:
    op = BY_CANONICAL.get(expr.op) or lookup(expr.op)
    assert op is not None
    args = expr.args
    null = op.null_value and bool(args) and isinstance(args[0], Literal) and args[0].value is None
    span = expr.field.span
    prepared = prepare_predicate(op, expr.op, expr.field.path, span, schema, base, null)
    if prepared is None:
        r = _resolve(expr, schema, base)
        split = _split_star(r, expr)
        assert split is not None
        outer, rest = split
        if op.negates is not None:
            # (!= a.*.b v) means no element has b = v.
            positive = Quantified("any", outer, Predicate(op.negates, rest, expr.args, expr.span), expr.span)
            return Not(_check_quantified(positive, schema, base), expr.span)
        quantified = Quantified("any", outer, Predicate(expr.op, rest, expr.args, expr.span), expr.span)
        return _check_quantified(quantified, schema, base)
    f = prepared.field
    if span is not None:
        f = Field(f.path, span, f.type, f.json_path, f.keyed)
    return Predicate(op.name, f, tuple([coerce_arg(a, prepared, f) for a in args]), expr.span)


def _a(text: str) -> str:
    return ("an " if text[:1] in "aeiou" else "a ") + text


def _operand_type(op: Operator, f: Field, ftype: FieldType, null: bool, span: Span | None) -> FieldType:
    """The type the operator's values must have, or a type error for this field."""
    kind = ftype.kind
    if op.array_only or (op.array_element and kind is Kind.ARRAY):
        if ftype.is_scalar_array:
            assert ftype.item is not None
            if op.text_elements and ftype.item.kind not in TEXT_KINDS:
                raise _type_error(op, f, ftype, span, "it takes string fields and arrays of strings")
            return ftype.item
        if kind is Kind.ANY:
            return ANY_TYPE
        hint = "use has, has-any or has-all on arrays" if op.array_only else ""
        if ftype.is_object_array:
            hint = f"use (any {f.dotted} ...) or a path like {f.dotted}.*.<field>"
        elif op.array_only:
            hint = "it takes arrays of scalars, like tags"
        raise _type_error(op, f, ftype, span, hint)
    if null:
        return ftype  # (= f null) / (!= f null) apply to every field
    if kind not in op.field_kinds:
        if kind is Kind.ARRAY:
            hint = (
                f"use (any {f.dotted} ...) or a path like {f.dotted}.*.<field>"
                if ftype.is_object_array
                else "use has, has-any, has-all or contains on arrays"
            )
        elif kind in (Kind.OBJECT, Kind.DICT):
            hint = f"compare one of its fields, like {f.dotted}.<field>, or test (exists {f.dotted})"
        elif op.field_kinds == TEXT_KINDS:
            hint = "it takes string fields"
        elif op.field_kinds == ORDERED_KINDS:
            hint = "it takes numbers, strings, enums and datetimes" + (
                "; booleans take = != in nin" if kind is Kind.BOOL else ""
            )
        else:
            hint = ""
        raise _type_error(op, f, ftype, span, hint)
    return ftype


def _type_error(op: Operator, f: Field, ftype: FieldType, span: Span | None, hint: str) -> QueryError:
    message = f"'{op.name}' does not apply to {ftype.describe()} field '{f.dotted}'"
    if hint:
        message += f"; {hint}"
    return QueryTypeError.at(message, span)


def coerce_arg(arg: Literal | ListValue, prepared: Prepared, f: Field) -> Literal | ListValue:
    """A value of a prepared predicate on the checked field `f`, coerced to its type."""
    if isinstance(arg, ListValue):
        # null in an `in` list matches missing or null; elsewhere lists hold values only.
        allow_null = prepared.op.null_in_list
        items = tuple([coerce(item, prepared, f, allow_null) for item in arg.items])
        if all(new is old for new, old in zip(items, arg.items)):
            return arg  # nothing coerced: the same list
        return ListValue(items, arg.span)
    return coerce(arg, prepared, f, prepared.op.null_value)


def coerce(lit: Literal, prepared: Prepared, f: Field, allow_null: bool) -> Literal:
    """One literal coerced to the prepared value type (the common cases first)."""
    value = lit.value
    t = type(value)
    ftype = prepared.value_type
    kind = ftype.kind
    if t is str:
        if prepared.pattern_like or kind is Kind.STRING or kind is Kind.ANY:
            return lit
        if kind is Kind.ENUM and (prepared.op.ordering or value in ftype.enum_values):
            return lit
    elif t is int and not prepared.pattern_like and INT64_MIN <= value <= INT64_MAX:  # type: ignore[operator]
        if (
            kind is Kind.ANY
            or kind is Kind.FLOAT
            or (kind is Kind.INT and (not ftype.enum_values or prepared.op.ordering or value in ftype.enum_values))
        ):
            return lit
    return _coerce(lit, ftype, prepared.op, f, allow_null, prepared.pattern_like)


def _coerce(lit: Literal, ftype: FieldType, op: Operator, f: Field, allow_null: bool, pattern_like: bool) -> Literal:
    value = lit.value
    kind = ftype.kind
    if isinstance(value, Now):
        # A datetime resolved per request: only a datetime field compares with it (not an
        # array of datetimes, not an untyped value, not a text operator).
        assert f.type is not None
        if f.type.kind is Kind.DATETIME and kind is Kind.DATETIME:
            return lit
        raise QueryTypeError.at(
            f"{value} is a datetime: it compares only with datetime fields, "
            f"not with '{f.dotted}' ({f.type.describe()})",
            lit.span,
        )
    if value is None:
        if allow_null:
            return lit
        raise QueryTypeError.at(f"'{op.name}' cannot take null", lit.span)
    if pattern_like:
        if not isinstance(value, str):
            raise _literal_error(lit, "a string", op, f)
        return lit
    if kind is Kind.DECIMAL:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            # The shortest text of the literal, exactly: 0.1 is one tenth, not the nearest double.
            return lit if isinstance(value, Decimal) else Literal(Decimal(str(value)), lit.span)
        raise _literal_error(lit, "a number", op, f)
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise QueryTypeError.at(f"integer {value} is out of the signed 64-bit range", lit.span)
    if kind is Kind.ANY:
        return lit
    if kind is Kind.UUID:
        if isinstance(value, str):
            try:
                return Literal(str(uuid.UUID(value)), lit.span)  # canonical: lowercase, hyphenated
            except ValueError:
                pass
        raise _literal_error(lit, 'a UUID like "123e4567-e89b-12d3-a456-426614174000"', op, f)
    if kind is Kind.STRING:
        if isinstance(value, str):
            return lit
        raise _literal_error(lit, "a string", op, f)
    if kind is Kind.INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _literal_error(lit, "an integer", op, f)
        if ftype.enum_values and not op.ordering and value not in ftype.enum_values:
            allowed = ", ".join(str(v) for v in ftype.enum_values)
            raise QueryTypeError.at(f"{value} is not a value of '{f.dotted}'; allowed values: {allowed}", lit.span)
        return lit
    if kind is Kind.FLOAT:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return lit
        raise _literal_error(lit, "a number", op, f)
    if kind is Kind.BOOL:
        if isinstance(value, bool):
            return lit
        raise _literal_error(lit, "true or false", op, f)
    if kind is Kind.ENUM:
        if not isinstance(value, str):
            raise _literal_error(lit, "a string", op, f)
        if op.ordering:
            return lit  # ordering compares enums by their string value
        if value not in ftype.enum_values:
            allowed = ", ".join(json.dumps(v) for v in ftype.enum_values)
            raise QueryTypeError.at(
                f"{json.dumps(value)} is not a value of '{f.dotted}'; allowed values: {allowed}",
                lit.span,
            )
        return lit
    if kind is Kind.DATETIME:
        if isinstance(value, dt.datetime):
            return lit
        if isinstance(value, str):
            parsed = parse_datetime(value)
            if parsed is not None:
                return Literal(parsed, lit.span)
        raise _literal_error(lit, 'an ISO-8601 datetime like "2024-01-31T12:00:00Z" or a date like "2024-01-31"', op, f)
    if kind is Kind.DATE:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return lit
        if isinstance(value, str):
            try:
                return Literal(dt.date.fromisoformat(value), lit.span)
            except ValueError:
                pass
        raise _literal_error(lit, 'an ISO-8601 date like "2024-01-31"', op, f)
    raise QueryTypeError.at(f"'{op.name}' cannot compare '{f.dotted}' with a value", lit.span)


def _literal_error(lit: Literal, expected: str, op: Operator, f: Field) -> QueryError:
    got = (
        "null"
        if lit.value is None
        else f"{lit.tag} {json.dumps(lit.value) if isinstance(lit.value, str) else lit.value}"
    )
    assert f.type is not None
    return QueryTypeError.at(f"'{f.dotted}' is {_a(f.type.describe())} field: expected {expected}, got {got}", lit.span)


def check_sort(keys: list[SortKey], schema: Schema) -> list[SortKey]:
    """Sort keys resolved against the schema: sortable (scalar) fields, each at most once."""
    seen: set[str] = set()
    out = []
    for key in keys:
        r = schema.resolve(key.path, key.span)
        f = _field(r, key.span)
        assert f.type is not None
        if not r.policy.sort:
            raise NotAllowedError.at(f"'{f.dotted}' cannot be sorted", key.span)
        if f.type.kind in (Kind.ARRAY, Kind.OBJECT, Kind.DICT):
            raise SortError.at(
                f"'{key.field}' is {_a(f.type.describe())} and is not sortable"
                + ("; sort by one of its fields" if f.type.kind is not Kind.ARRAY else ""),
                key.span,
            )
        if f.dotted in seen:
            raise SortError.at(f"'{f.dotted}' appears twice in the sort", key.span)
        seen.add(f.dotted)
        out.append(SortKey(f.dotted, key.descending, f, key.span))
    return out
