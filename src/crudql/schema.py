"""Field resolution and type checks against any pydantic v2 model.

The schema is the allow-list for filters and sorts: a path that does not resolve is an error,
never a silently empty result. `Schema.check` turns a parsed tree into a checked tree whose
fields carry canonical (Python) paths, JSON (alias) paths and types, whose literals are coerced
(ISO-8601 strings to aware UTC datetimes, enum values checked), and whose `*` paths are
rewritten to `any`, so backends have nothing left to resolve.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import enum
import json
import types
import typing
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, Union, get_args, get_origin

from pydantic import BaseModel

from .ast import And, Expr, Field, ListValue, Literal, Not, Or, Predicate, Quantified, Span
from .errors import QueryError, QueryTypeError, UnknownFieldError
from .operators import ORDERED_KINDS, SCALAR_KINDS, TEXT_KINDS, Kind, Operator, lookup

__all__ = ["Schema", "FieldType", "SchemaField", "ResolvedPath"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class FieldType:
    """A field's type: its `kind`, plus the element type of arrays and maps, the allowed
    values of enums, and the nested schema of objects."""

    kind: Kind
    item: FieldType | None = None
    enum_values: tuple[str, ...] = ()
    schema: Schema | None = field(default=None, compare=False)
    # Identity of the nested model keeps object types comparable without walking the schema.
    model: type | None = None

    @property
    def is_scalar(self) -> bool:
        return self.kind in SCALAR_KINDS

    @property
    def is_object_array(self) -> bool:
        return self.kind is Kind.ARRAY and self.item is not None and self.item.kind is Kind.OBJECT

    @property
    def is_scalar_array(self) -> bool:
        return self.kind is Kind.ARRAY and self.item is not None and self.item.is_scalar

    def describe(self) -> str:
        if self.kind is Kind.ARRAY and self.item is not None:
            return f"array of {self.item.describe()}s" if self.item.kind is not Kind.OBJECT else "array of objects"
        if self.kind is Kind.DICT and self.item is not None:
            return f"map of {self.item.describe()}s"
        return self.kind.value


@dataclass(frozen=True, slots=True)
class SchemaField:
    name: str  # Python attribute name (canonical)
    alias: str  # JSON name
    type: FieldType


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    path: tuple[str, ...]  # canonical
    json_path: tuple[str, ...]
    type: FieldType
    star: int | None = None  # index of the first '*' segment, if any
    keyed: tuple[bool, ...] = ()  # per segment: a map key rather than a model attribute


ANY_TYPE = FieldType(Kind.ANY)
_SCALARS: dict[type, Kind] = {
    bool: Kind.BOOL,
    int: Kind.INT,
    float: Kind.FLOAT,
    decimal.Decimal: Kind.FLOAT,
    str: Kind.STRING,
    uuid.UUID: Kind.STRING,
    dt.datetime: Kind.DATETIME,
    dt.date: Kind.DATE,
}


class Schema:
    """The fields of a pydantic model, resolvable by Python name or JSON alias.

    Build it with `Schema.from_model(Model)`; schemas are cached per model, so this is cheap
    and two schemas of the same model are the same object.
    """

    _cache: typing.ClassVar[dict[type, Schema]] = {}

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.fields: dict[str, SchemaField] = {}
        self._lookup: dict[str, SchemaField] = {}
        self._resolved: dict[tuple[str, ...], ResolvedPath] = {}

    def __repr__(self) -> str:
        return f"Schema({self.model.__name__})"

    @classmethod
    def from_model(cls, model: type[BaseModel]) -> Schema:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"Schema.from_model needs a pydantic model class, got {model!r}")
        cached = cls._cache.get(model)
        if cached is not None:
            return cached
        schema = cls(model)
        cls._cache[model] = schema  # registered before filling, so recursive models terminate
        for name, info in model.model_fields.items():
            alias = info.serialization_alias or info.alias or name
            sf = SchemaField(name, alias, _type_of(info.annotation))
            schema.fields[name] = sf
        for sf in schema.fields.values():
            schema._lookup.setdefault(sf.name, sf)
        for sf in schema.fields.values():
            schema._lookup.setdefault(sf.alias, sf)
        return schema

    def get(self, segment: str) -> SchemaField | None:
        return self._lookup.get(segment)

    def names(self) -> list[str]:
        return list(self._lookup)

    def walk(self) -> Iterator[SchemaField]:
        """Every field of this schema and of the models nested in it (each model once)."""
        pending, seen = [self], set()
        while pending:
            schema = pending.pop()
            if id(schema) in seen:
                continue
            seen.add(id(schema))
            for sf in schema.fields.values():
                yield sf
                inner = sf.type.item if sf.type.item is not None else sf.type
                if inner.schema is not None:
                    pending.append(inner.schema)

    # ------------------------------------------------------------------ paths

    def resolve(self, path: tuple[str, ...] | str, span: Span | None = None) -> ResolvedPath:
        """Resolve a path (segments by Python name or alias, mixed freely)."""
        if isinstance(path, str):
            path = tuple(path.split("."))
        # Paths repeat across queries and the schema never changes: remember what resolved.
        # Bounded, since map keys make the set of valid paths unbounded.
        known = self._resolved.get(path)
        if known is not None:
            return known
        resolved = self._resolve(path, span)
        if len(self._resolved) < 4096:
            self._resolved[path] = resolved
        return resolved

    def _resolve(self, path: tuple[str, ...], span: Span | None) -> ResolvedPath:
        canonical: list[str] = []
        json_path: list[str] = []
        keyed: list[bool] = []
        star: int | None = None
        current: FieldType = FieldType(Kind.OBJECT, schema=self, model=self.model)
        for i, segment in enumerate(path):
            kind = current.kind
            if kind is Kind.OBJECT:
                assert current.schema is not None
                sf = current.schema.get(segment)
                if sf is None:
                    raise self._unknown(path, i, current.schema, span)
                canonical.append(sf.name)
                json_path.append(sf.alias)
                keyed.append(False)
                current = sf.type
            elif kind is Kind.DICT:
                if segment == "*":
                    raise _fail(UnknownFieldError, f"'*' steps through arrays, but '{_dotted(path[:i])}' is a map", span)
                canonical.append(segment)
                json_path.append(segment)
                keyed.append(True)
                current = current.item or ANY_TYPE
            elif kind is Kind.ANY:
                canonical.append(segment)
                json_path.append(segment)
                keyed.append(True)
            elif kind is Kind.ARRAY:
                item = current.item or ANY_TYPE
                where = _dotted(path[:i])
                if segment != "*":
                    hint = (
                        f"use {where}.*.{segment} or (any {where} ...)"
                        if item.kind is Kind.OBJECT
                        else f"use has, has-any, has-all or contains on {where}"
                    )
                    raise _fail(UnknownFieldError, f"'{where}' is an array and has no field '{segment}'; {hint}", span)
                if item.kind is not Kind.OBJECT:
                    raise _fail(
                        UnknownFieldError,
                        f"'*' steps into arrays of objects, but '{where}' is an {current.describe()}; "
                        f"use has, has-any, has-all or contains",
                        span,
                    )
                if i == len(path) - 1:
                    raise _fail(UnknownFieldError, f"'{_dotted(path)}' must name a field after '*'", span)
                if star is None:
                    star = i
                canonical.append("*")
                json_path.append("*")
                keyed.append(False)
                current = item
            else:
                raise _fail(
                    UnknownFieldError,
                    f"'{_dotted(path[:i])}' is a {current.describe()} and has no field '{segment}'",
                    span,
                )
        return ResolvedPath(tuple(canonical), tuple(json_path), current, star, tuple(keyed))

    def _unknown(self, path: tuple[str, ...], i: int, schema: Schema, span: Span | None) -> QueryError:
        segment = path[i]
        names = schema.names()
        suggestion = _closest(segment, names)
        message = f"unknown field '{_dotted(path)}'"
        if suggestion is not None:
            message += f"; did you mean '{_dotted((*path[:i], suggestion, *path[i + 1:]))}'?"
        elif i > 0:
            message += f"; '{_dotted(path[:i])}' has: {', '.join(sorted({sf.alias for sf in schema.fields.values()}))}"
        return _fail(UnknownFieldError, message, span)

    def field(self, path: tuple[str, ...] | str, span: Span | None = None) -> Field:
        """A checked `Field` for a path without '*' (sorting uses this)."""
        r = self.resolve(path, span)
        return Field(r.path, span, r.type, r.json_path, r.keyed)

    # ------------------------------------------------------------------ checking

    def check(self, expr: Expr) -> Expr:
        """The checked form of a parsed tree; raises `QueryError` with the offending span."""
        return _check(expr, self)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _closest(word: str, candidates: list[str]) -> str | None:
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return lowered[word.lower()]
    folded = {c.lower().replace("_", ""): c for c in candidates}
    if word.lower().replace("_", "") in folded:
        return folded[word.lower().replace("_", "")]
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.7)
    return lowered[match[0]] if match else None


def _fail(cls: type[QueryError], message: str, span: Span | None) -> QueryError:
    if span is None:
        return cls(message)
    return cls(message, position=span.start, length=span.length)


# ---------------------------------------------------------------------- annotations -> types

_NONE = type(None)


def _type_of(annotation: Any) -> FieldType:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_of(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        members = [a for a in get_args(annotation) if a is not _NONE]
        return _type_of(members[0]) if len(members) == 1 else ANY_TYPE
    if origin is typing.Literal:
        values = get_args(annotation)
        if all(isinstance(v, str) for v in values):
            return FieldType(Kind.ENUM, enum_values=tuple(values))
        if all(isinstance(v, bool) for v in values):
            return FieldType(Kind.BOOL)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return FieldType(Kind.INT)
        return ANY_TYPE
    if origin in (list, set, frozenset, tuple) or _is_abc(origin, ("Sequence", "Set", "MutableSequence")):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        return FieldType(Kind.ARRAY, item=_type_of(args[0]) if args else ANY_TYPE)
    if origin is dict or _is_abc(origin, ("Mapping", "MutableMapping")):
        args = get_args(annotation)
        return FieldType(Kind.DICT, item=_type_of(args[1]) if len(args) == 2 else ANY_TYPE)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return FieldType(Kind.OBJECT, schema=Schema.from_model(annotation), model=annotation)
        if issubclass(annotation, enum.Enum):
            values = [m.value for m in annotation]
            if all(isinstance(v, str) for v in values):
                return FieldType(Kind.ENUM, enum_values=tuple(values))
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                return FieldType(Kind.INT)
            return ANY_TYPE
        for base, kind in _SCALARS.items():
            if issubclass(annotation, base) and not (base is int and issubclass(annotation, bool)):
                if base is dt.date and issubclass(annotation, dt.datetime):
                    return FieldType(Kind.DATETIME)
                return FieldType(kind)
        if annotation in (list, tuple, set):
            return FieldType(Kind.ARRAY, item=ANY_TYPE)
        if annotation is dict:
            return FieldType(Kind.DICT, item=ANY_TYPE)
    return ANY_TYPE


def _is_abc(origin: Any, names: tuple[str, ...]) -> bool:
    return origin is not None and getattr(origin, "__module__", "") == "collections.abc" and origin.__name__ in names


# ---------------------------------------------------------------------- the checker


def _check(expr: Expr, schema: Schema) -> Expr:
    if isinstance(expr, And):
        return And(tuple(_check(c, schema) for c in expr.children), expr.span)
    if isinstance(expr, Or):
        return Or(tuple(_check(c, schema) for c in expr.children), expr.span)
    if isinstance(expr, Not):
        return Not(_check(expr.child, schema), expr.span)
    if isinstance(expr, Quantified):
        return _check_quantified(expr, schema)
    if isinstance(expr, Predicate):
        return _check_predicate(expr, schema)
    raise TypeError(f"not a crudql expression: {expr!r}")


def _split_star(expr: Predicate | Quantified, schema: Schema) -> tuple[ResolvedPath, Field, Field] | None:
    """For a path with '*': the resolved path, the array field before it and the rest."""
    r = schema.resolve(expr.field.path, expr.field.span)
    if r.star is None:
        return None
    raw = expr.field.path
    span = expr.field.span
    return r, Field(raw[: r.star], span), Field(raw[r.star + 1 :], span)


def _check_quantified(expr: Quantified, schema: Schema) -> Expr:
    split = _split_star(expr, schema)
    if split is not None:
        # (all a.*.b P) is "some element of a whose b all satisfy P".
        _, outer, rest = split
        inner = Quantified(expr.op, rest, expr.condition, expr.span)
        return _check(Quantified("any", outer, inner, expr.span), schema)
    f = schema.field(expr.field.path, expr.field.span)
    assert f.type is not None
    if not f.type.is_object_array:
        raise _fail(
            QueryTypeError,
            f"'{expr.op}' needs an array of objects, but '{f.dotted}' is {_a(f.type.describe())}"
            + ("; use has-any or has-all" if f.type.kind is Kind.ARRAY else ""),
            expr.field.span,
        )
    assert f.type.item is not None and f.type.item.schema is not None
    return Quantified(expr.op, f, _check(expr.condition, f.type.item.schema), expr.span)


def _check_predicate(expr: Predicate, schema: Schema) -> Expr:
    op = lookup(expr.op)
    assert op is not None
    split = _split_star(expr, schema)
    if split is not None:
        _, outer, rest = split
        if op.negates is not None:
            # (!= a.*.b v) means no element has b = v.
            positive = Predicate(op.negates, rest, expr.args, expr.span)
            return _check(Not(Quantified("any", outer, positive, expr.span), expr.span), schema)
        return _check(Quantified("any", outer, Predicate(expr.op, rest, expr.args, expr.span), expr.span), schema)
    f = schema.field(expr.field.path, expr.field.span)
    ftype = f.type
    assert ftype is not None
    value_type = _operand_type(op, f, ftype, expr)
    args = tuple(_coerce_arg(a, value_type, op, f) for a in expr.args)
    return Predicate(op.name, f, args, expr.span)


def _a(text: str) -> str:
    return ("an " if text[:1] in "aeiou" else "a ") + text


def _operand_type(op: Operator, f: Field, ftype: FieldType, expr: Predicate) -> FieldType:
    """The type the operator's values must have, or a type error for this field."""
    kind = ftype.kind
    if op.array_only or (op.array_element and kind is Kind.ARRAY):
        if ftype.is_scalar_array:
            assert ftype.item is not None
            if op.name == "icontains" and ftype.item.kind not in TEXT_KINDS:
                raise _type_error(op, f, ftype, expr, "it takes string fields and arrays of strings")
            return ftype.item
        if kind is Kind.ANY:
            return ANY_TYPE
        hint = "use has, has-any or has-all on arrays" if op.array_only else ""
        if ftype.is_object_array:
            hint = f"use (any {f.dotted} ...) or a path like {f.dotted}.*.<field>"
        elif op.array_only:
            hint = "it takes arrays of scalars, like tags"
        raise _type_error(op, f, ftype, expr, hint)
    if op.null_value and expr.args and isinstance(expr.args[0], Literal) and expr.args[0].value is None:
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
        raise _type_error(op, f, ftype, expr, hint)
    return ftype


def _type_error(op: Operator, f: Field, ftype: FieldType, expr: Predicate, hint: str) -> QueryError:
    message = f"'{op.name}' does not apply to {ftype.describe()} field '{f.dotted}'"
    if hint:
        message += f"; {hint}"
    span = expr.field.span
    return _fail(QueryTypeError, message, span)


def _coerce_arg(arg: Literal | ListValue, ftype: FieldType, op: Operator, f: Field) -> Literal | ListValue:
    if isinstance(arg, ListValue):
        # null in an `in` list matches missing or null; elsewhere lists hold values only.
        allow_null = op.name in ("in", "nin")
        return ListValue(tuple(_coerce(item, ftype, op, f, allow_null) for item in arg.items), arg.span)
    return _coerce(arg, ftype, op, f, op.null_value)


def _coerce(lit: Literal, ftype: FieldType, op: Operator, f: Field, allow_null: bool) -> Literal:
    value = lit.value
    kind = ftype.kind
    if value is None:
        if allow_null:
            return lit
        raise _fail(QueryTypeError, f"'{op.name}' cannot take null", lit.span)
    pattern_like = op.args[-1].value in ("pattern", "string") or (
        op.array_element and f.type is not None and f.type.kind is not Kind.ARRAY
    )
    if pattern_like:
        if not isinstance(value, str):
            raise _literal_error(lit, "a string", op, f)
        return lit
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise _fail(QueryTypeError, f"integer {value} is out of the signed 64-bit range", lit.span)
    if kind is Kind.ANY:
        return lit
    if kind is Kind.STRING:
        if isinstance(value, str):
            return lit
        raise _literal_error(lit, "a string", op, f)
    if kind is Kind.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return lit
        raise _literal_error(lit, "an integer", op, f)
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
        if op.field_kinds is ORDERED_KINDS and op.name not in ("=", "!="):
            return lit  # ordering compares enums by their string value
        if value not in ftype.enum_values:
            allowed = ", ".join(json.dumps(v) for v in ftype.enum_values)
            raise _fail(
                QueryTypeError,
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
        raise _literal_error(lit, "an ISO-8601 datetime like \"2024-01-31T12:00:00Z\" or a date like \"2024-01-31\"", op, f)
    if kind is Kind.DATE:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return lit
        if isinstance(value, str):
            try:
                return Literal(dt.date.fromisoformat(value), lit.span)
            except ValueError:
                pass
        raise _literal_error(lit, "an ISO-8601 date like \"2024-01-31\"", op, f)
    raise _fail(QueryTypeError, f"'{op.name}' cannot compare '{f.dotted}' with a value", lit.span)


def parse_datetime(text: str) -> dt.datetime | None:
    """ISO-8601 text as an aware UTC datetime: a date alone is midnight UTC, a naive time is UTC."""
    text = text.strip()
    if len(text) < 10 or not text[:4].isdigit():
        return None
    try:
        if len(text) == 10:
            d = dt.date.fromisoformat(text)
            return dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc)
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:
        return None


def _literal_error(lit: Literal, expected: str, op: Operator, f: Field) -> QueryError:
    got = "null" if lit.value is None else f"{lit.tag} {json.dumps(lit.value) if isinstance(lit.value, str) else lit.value}"
    assert f.type is not None
    return _fail(QueryTypeError, f"'{f.dotted}' is {_a(f.type.describe())} field: expected {expected}, got {got}", lit.span)

