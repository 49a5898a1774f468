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
import sys
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
from .policy import ALLOW_ALL, DENY_ALL, QUERYABLE_MODES, Policy, Queryable

__all__ = ["ResolvedPath", "Schema", "SchemaField", "dotted"]


@dataclass(frozen=True, slots=True)
class SchemaField:
    name: str  # Python attribute name (canonical)
    alias: str  # JSON name
    type: FieldType
    marker: Queryable | None = None  # the field's own policy marker, if any
    hidden: bool = False  # `exclude=True`: never serialized, so never filtered or sorted


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    path: tuple[str, ...]  # canonical
    json_path: tuple[str, ...]
    type: FieldType
    star: int | None = None  # index of the first '*' segment, if any
    keyed: tuple[bool, ...] = ()  # per segment: a map key rather than a model attribute
    policy: Policy = ALLOW_ALL  # what clients may do with the field


_SCALARS: dict[type, Kind] = {
    bool: Kind.BOOL,
    int: Kind.INT,
    float: Kind.FLOAT,
    decimal.Decimal: Kind.DECIMAL,
    str: Kind.STRING,
    uuid.UUID: Kind.UUID,
    dt.datetime: Kind.DATETIME,
    dt.date: Kind.DATE,
}


class Schema:
    """The fields of a pydantic model, resolvable by Python name or JSON alias.

    Build it with `Schema.from_model(Model, queryable="all" | "marked")`; schemas are cached
    per model and mode, so this is cheap and two schemas of the same model are the same object.
    `fields` holds the visible fields; `stored` every field (hidden ones too), for storage.
    """

    _cache: typing.ClassVar[dict[tuple[type, str], Schema]] = {}

    def __init__(self, model: type[BaseModel], queryable: str = "all") -> None:
        self.model = model
        self.queryable = queryable
        self.fields: dict[str, SchemaField] = {}
        self.stored: dict[str, SchemaField] = {}
        self._lookup: dict[str, SchemaField] = {}
        self._resolved: dict[tuple[tuple[str, ...], Policy | None], ResolvedPath] = {}

    def __repr__(self) -> str:
        return f"Schema({self.model.__name__})" if self.queryable == "all" else f"Schema({self.model.__name__}, marked)"

    @classmethod
    def from_model(cls, model: type[BaseModel], queryable: str = "all") -> Schema:
        """The schema of a pydantic model class. `queryable="all"`: every visible field may be
        filtered and sorted unless a `crudql.Queryable` marker narrows it; `"marked"`: only
        fields marked `Queryable` (or below a marked field) may be."""
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"Schema.from_model needs a pydantic model class, got {model!r}")
        if queryable not in QUERYABLE_MODES:
            raise ValueError(f"queryable must be one of {', '.join(QUERYABLE_MODES)}, got {queryable!r}")
        cached = cls._cache.get((model, queryable))
        if cached is not None:
            return cached
        schema = cls(model, queryable)
        cls._cache[(model, queryable)] = schema  # registered before filling, so recursive models terminate
        for name, info in model.model_fields.items():
            alias = info.serialization_alias or info.alias or name
            sf = SchemaField(name, alias, _type_of(info.annotation, model), _marker(info), bool(info.exclude))
            schema.stored[name] = sf
            if not sf.hidden:
                schema.fields[name] = sf
        for sf in schema.fields.values():
            schema._lookup.setdefault(sf.name, sf)
        for sf in schema.fields.values():
            schema._lookup.setdefault(sf.alias, sf)
        return schema

    @property
    def base_policy(self) -> Policy:
        """The policy of a field no marker speaks for."""
        return ALLOW_ALL if self.queryable == "all" else DENY_ALL

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

    def nested(self, ftype: FieldType) -> Schema | None:
        """The schema (in this schema's mode) of an object type's model (None for other types)."""
        if ftype.kind is Kind.OBJECT and ftype.model is not None:
            return Schema.from_model(ftype.model, self.queryable)
        return None

    # ------------------------------------------------------------------ paths

    def resolve(
        self, path: tuple[str, ...] | str, span: Span | None = None, base: Policy | None = None
    ) -> ResolvedPath:
        """Resolve a path (segments by Python name or alias, mixed freely). `base` is the policy
        the path starts with (an array element inherits its array's), else the mode's."""
        if isinstance(path, str):
            path = tuple(path.split("."))
        # Paths repeat across queries and the schema never changes: remember what resolved.
        # Bounded, since map keys make the set of valid paths unbounded.
        known = self._resolved.get((path, base))
        if known is not None:
            return known
        resolved = self._resolve(path, span, self.base_policy if base is None else base)
        if len(self._resolved) < 4096:
            self._resolved[(path, base)] = resolved
        return resolved

    def _resolve(self, path: tuple[str, ...], span: Span | None, policy: Policy) -> ResolvedPath:
        canonical: list[str] = []
        json_path: list[str] = []
        keyed: list[bool] = []
        star: int | None = None
        current: FieldType = FieldType(Kind.OBJECT, model=self.model)
        for i, segment in enumerate(path):
            kind = current.kind
            if kind is Kind.OBJECT:
                schema = self if current.model is self.model else self.nested(current)
                assert schema is not None
                sf = schema.get(segment)
                if sf is None:
                    raise self._unknown(path, i, schema, span)
                canonical.append(sf.name)
                json_path.append(sf.alias)
                keyed.append(False)
                current = sf.type
                if sf.marker is not None:  # a marker speaks for its field and what is below it
                    policy = sf.marker.policy
            elif kind is Kind.DICT:
                if segment == "*":
                    raise UnknownFieldError.at(f"'*' steps through arrays, but '{dotted(path[:i])}' is a map", span)
                canonical.append(segment)
                json_path.append(segment)
                keyed.append(True)
                current = current.item or ANY_TYPE
            elif kind is Kind.ANY:
                if segment == "*":
                    # An untyped value has no element fields to step through (and MongoDB
                    # would read '*' as a key while the others step nowhere): as for maps.
                    raise UnknownFieldError.at(
                        f"'*' steps through arrays of objects, but '{dotted(path[:i])}' is untyped", span
                    )
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
        return ResolvedPath(tuple(canonical), tuple(json_path), current, star, tuple(keyed), policy)

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


def _type_of(annotation: Any, owner: type[BaseModel] | None = None) -> FieldType:
    if isinstance(annotation, (str, typing.ForwardRef)):
        annotation = _forward(annotation, owner)
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_of(get_args(annotation)[0], owner)
    if origin is Union or origin is types.UnionType:
        members = [a for a in get_args(annotation) if a is not _NONE]
        return _type_of(members[0], owner) if len(members) == 1 else ANY_TYPE
    if origin is typing.Literal:
        values = get_args(annotation)
        if all(isinstance(v, str) for v in values):
            return FieldType(Kind.ENUM, enum_values=tuple(values))
        if all(isinstance(v, bool) for v in values):
            return FieldType(Kind.BOOL)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return FieldType(Kind.INT, enum_values=tuple(values))
        return ANY_TYPE
    if origin in (list, set, frozenset, tuple) or _is_abc(origin, ("Sequence", "Set", "MutableSequence")):
        items = [a for a in get_args(annotation) if a is not Ellipsis]
        return FieldType(Kind.ARRAY, item=_type_of(items[0], owner) if items else ANY_TYPE)
    if origin is dict or _is_abc(origin, ("Mapping", "MutableMapping")):
        key_value = get_args(annotation)
        return FieldType(Kind.DICT, item=_type_of(key_value[1], owner) if len(key_value) == 2 else ANY_TYPE)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return FieldType(Kind.OBJECT, model=annotation)
        if issubclass(annotation, enum.Enum):
            members = [m.value for m in annotation]
            if all(isinstance(v, str) for v in members):
                return FieldType(Kind.ENUM, enum_values=tuple(members))
            if all(isinstance(v, int) and not isinstance(v, bool) for v in members):
                return FieldType(Kind.INT, enum_values=tuple(members))  # an IntEnum
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


def _forward(reference: str | typing.ForwardRef, owner: type[BaseModel] | None) -> Any:
    """A type written as a string inside a generic (`list["Node"]`), which pydantic resolves
    for validation but, on Python 3.10, leaves as text in the field's annotation. Resolved in
    the model's module, with the model's own name; unresolvable means untyped."""
    name = reference.__forward_arg__ if isinstance(reference, typing.ForwardRef) else reference
    if owner is None:
        return Any
    namespace = {**vars(sys.modules.get(owner.__module__, typing)), owner.__name__: owner}
    try:
        return eval(name, namespace)
    except Exception:
        return Any


def _is_abc(origin: Any, names: tuple[str, ...]) -> bool:
    return origin is not None and getattr(origin, "__module__", "") == "collections.abc" and origin.__name__ in names


def _marker(info: Any) -> Queryable | None:
    """The `Queryable` marker of a field: in its metadata (`Annotated[T, Queryable(...)]`, which
    pydantic moves there), or inside an optional (`Annotated[T, Queryable()] | None`)."""
    for item in info.metadata:
        if isinstance(item, Queryable):
            return item
    pending = [info.annotation]
    while pending:
        annotation = pending.pop()
        if get_origin(annotation) is typing.Annotated:
            args = get_args(annotation)
            found = next((a for a in args[1:] if isinstance(a, Queryable)), None)
            if found is not None:
                return found
            pending.append(args[0])
        elif get_origin(annotation) in (Union, types.UnionType):
            pending.extend(get_args(annotation))
    return None
