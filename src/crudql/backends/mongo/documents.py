"""How records are stored in MongoDB: documents in the model's JSON (alias) shape.

`to_document` is what `Mongo.from_records` writes: validated by the model, absent fields absent,
datetimes as BSON dates (default; millisecond precision) or fixed-width UTC text
(`instants="string"`, microsecond-exact, string order is time order), enums their values,
dates ISO strings.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ...records import dump
from ...values import instant_text, utc

__all__ = ["INSTANT_STYLES", "Instants", "addressable", "codec", "from_document", "to_document"]

Document = dict[str, Any]


class Instants:
    """How datetimes are stored. MongoDB: a BSON date has millisecond precision."""

    name = ""

    def store(self, value: dt.datetime) -> Any:
        raise NotImplementedError

    def literal(self, value: dt.datetime) -> tuple[Any, bool]:
        """The stored form of a filter literal, and whether it is exact (storable as is)."""
        raise NotImplementedError


class _DateInstants(Instants):
    """BSON dates (the default): naive UTC, truncated to the millisecond as BSON does."""

    name = "date"

    def store(self, value: dt.datetime) -> dt.datetime:
        # Naive UTC: pymongo reads it as UTC, and mongomock cannot compare aware with naive.
        value = utc(value).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond - value.microsecond % 1000)

    def literal(self, value: dt.datetime) -> tuple[Any, bool]:
        return self.store(value), utc(value).microsecond % 1000 == 0


class _StringInstants(Instants):
    """Fixed-width UTC text, `2024-01-31T12:00:00.000001Z`: microsecond-exact, and its
    string order is time order (years 1-9999)."""

    name = "string"

    def store(self, value: dt.datetime) -> str:
        return instant_text(value)

    def literal(self, value: dt.datetime) -> tuple[Any, bool]:
        return self.store(value), True


_INSTANTS: dict[str, Instants] = {codec.name: codec for codec in (_DateInstants(), _StringInstants())}
INSTANT_STYLES = tuple(_INSTANTS)


def codec(instants: str) -> Instants:
    try:
        return _INSTANTS[instants]
    except KeyError:
        raise ValueError(f"instants must be one of {', '.join(INSTANT_STYLES)}, got {instants!r}") from None


def addressable(segment: str) -> bool:
    # MongoDB: a dotted path cannot reach a key that starts with '$' (it needs $getField) or
    # holds '.'; BSON cannot hold NUL. Such a segment (a map key from the client) names a
    # value no document can have, so the field is missing everywhere (and to_document refuses
    # to store such keys, so this agrees with the Python backend on stored data).
    return bool(segment) and not segment.startswith("$") and "." not in segment and "\x00" not in segment


def _bson_value(value: Any, instants: Instants, where: str) -> Any:
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
            if not isinstance(k, str) or not addressable(k):
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
    store = codec(instants)
    if not isinstance(record, model):
        record = model.model_validate(record)
    dumped = dump(record, hidden=True)
    return _bson_value(dumped, store, "")  # type: ignore[no-any-return]


def _from_bson(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _from_bson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_bson(v) for v in value]
    if isinstance(value, dt.datetime):
        return utc(value)  # pymongo returns BSON dates as naive UTC
    return value


def from_document(document: Mapping[str, Any], model: type[BaseModel]) -> BaseModel:
    """A stored document as a model instance (its `_id` dropped)."""
    data = _from_bson({k: v for k, v in document.items() if k != "_id"})
    return model.model_validate(data)
