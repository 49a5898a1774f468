"""The fields of a pydantic v2 model, resolvable by path: the allow-list of filters and sorts.

A path that does not resolve is an error with a did-you-mean, never a silently empty result.
Each segment may be the Python name or the JSON alias; map keys and values below untyped
fields are segments too. `crudql.check.checker` uses this to turn a parsed tree into a checked
one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import enum
import types
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from ..ast import Field, Span
from ..errors import UnknownFieldError
from ..fieldtypes import ANY_TYPE, FieldType, Kind

__all__ = ["ResolvedPath", "Schema", "SchemaField", "dotted"]


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
                nested = self.nested(sf.type.item if sf.type.item is not None else sf.type)
                if nested is not None:
                    pending.append(nested)

    @staticmethod
    def nested(ftype: FieldType) -> Schema | None:
        """The schema of an object type's model (None for other types)."""
        if ftype.kind is Kind.OBJECT and ftype.model is not None:
            return Schema.from_model(ftype.model)
        return None

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
        current: FieldType = FieldType(Kind.OBJECT, model=self.model)
        for i, segment in enumerate(path):
            kind = current.kind
            if kind is Kind.OBJECT:
                schema = self if current.model is self.model else Schema.nested(current)
                assert schema is not None
                sf = schema.get(segment)
                if sf is None:
                    raise self._unknown(path, i, schema, span)
                canonical.append(sf.name)
                json_path.append(sf.alias)
                keyed.append(False)
                current = sf.type
            elif kind is Kind.DICT:
                if segment == "*":
                    raise UnknownFieldError.at(f"'*' steps through arrays, but '{dotted(path[:i])}' is a map", span)
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
                where = dotted(path[:i])
                if segment != "*":
                    hint = (
                        f"use {where}.*.{segment} or (any {where} ...)"
                        if item.kind is Kind.OBJECT
                        else f"use has, has-any, has-all or contains on {where}"
                    )
                    raise UnknownFieldError.at(f"'{where}' is an array and has no field '{segment}'; {hint}", span)
                if item.kind is not Kind.OBJECT:
                    raise UnknownFieldError.at(
                        f"'*' steps into arrays of objects, but '{where}' is an {current.describe()}; "
                        f"use has, has-any, has-all or contains",
                        span,
                    )
                if i == len(path) - 1:
                    raise UnknownFieldError.at(f"'{dotted(path)}' must name a field after '*'", span)
                if star is None:
                    star = i
                canonical.append("*")
                json_path.append("*")
                keyed.append(False)
                current = item
            else:
                raise UnknownFieldError.at(
                    f"'{dotted(path[:i])}' is a {current.describe()} and has no field '{segment}'",
                    span,
                )
        return ResolvedPath(tuple(canonical), tuple(json_path), current, star, tuple(keyed))

    def _unknown(self, path: tuple[str, ...], i: int, schema: Schema, span: Span | None) -> UnknownFieldError:
        segment = path[i]
        names = schema.names()
        suggestion = _closest(segment, names)
        message = f"unknown field '{dotted(path)}'"
        if suggestion is not None:
            message += f"; did you mean '{dotted((*path[:i], suggestion, *path[i + 1 :]))}'?"
        elif i > 0:
            message += f"; '{dotted(path[:i])}' has: {', '.join(sorted({sf.alias for sf in schema.fields.values()}))}"
        return UnknownFieldError.at(message, span)

    def field(self, path: tuple[str, ...] | str, span: Span | None = None) -> Field:
        """A checked `Field` for a path without '*' (sorting uses this)."""
        r = self.resolve(path, span)
        return Field(r.path, span, r.type, r.json_path, r.keyed)


def dotted(path: tuple[str, ...]) -> str:
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
        items = [a for a in get_args(annotation) if a is not Ellipsis]
        return FieldType(Kind.ARRAY, item=_type_of(items[0]) if items else ANY_TYPE)
    if origin is dict or _is_abc(origin, ("Mapping", "MutableMapping")):
        key_value = get_args(annotation)
        return FieldType(Kind.DICT, item=_type_of(key_value[1]) if len(key_value) == 2 else ANY_TYPE)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return FieldType(Kind.OBJECT, model=annotation)
        if issubclass(annotation, enum.Enum):
            members = [m.value for m in annotation]
            if all(isinstance(v, str) for v in members):
                return FieldType(Kind.ENUM, enum_values=tuple(members))
            if all(isinstance(v, int) and not isinstance(v, bool) for v in members):
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
