"""Stored values: how records become the column values of crudql's own tables.

Layout (`SQL.from_records`): every top-level field of the model is one column, named by its
Python name. Scalars are typed columns; objects, arrays, maps and untyped values are one JSON
column each. Inside JSON, instants are fixed-width UTC text (`crudql.values.instant_text`),
whose text order is time order, and enums their values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
import uuid
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic_core import from_json

from ...fieldtypes import FieldType, Kind
from ...records import dump
from ...values import instant_text, parse_instant_text, utc

__all__ = [
    "JSON_KINDS",
    "TEXT_STORED_KINDS",
    "InstantText",
    "UnstorableValue",
    "UuidHex",
    "UuidText",
    "decode_json",
    "storage_json",
    "to_row",
]

JSON_KINDS = frozenset({Kind.OBJECT, Kind.ARRAY, Kind.DICT, Kind.ANY})
TEXT_STORED_KINDS = frozenset({Kind.STRING, Kind.ENUM})


class InstantText(sa.types.TypeDecorator[dt.datetime]):
    """An aware instant stored as fixed-width UTC text (for engines without a time zone type)."""

    impl = sa.String(27)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or isinstance(value, str):
            return value  # already stored form (a comparison against preformatted text)
        return instant_text(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_instant_text(value)
        return utc(value)


class UuidHex(sa.types.TypeDecorator[Any]):
    """A UUID (or its text) bound to a CHAR(32) column as the 32 hex digits crudql stores
    there (a table read back by name has a plain CHAR(32), not SQLAlchemy's Uuid type)."""

    impl = sa.String()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if isinstance(value, str):
            return uuid.UUID(value).hex
        return value.hex if isinstance(value, uuid.UUID) else value


class UuidText(sa.types.TypeDecorator[Any]):
    """A UUID bound to any other text column as its canonical text."""

    impl = sa.String()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return str(value) if isinstance(value, uuid.UUID) else value


class DecimalAsDouble(sa.types.TypeDecorator[float]):
    """A Decimal stored and compared as the nearest double (engines without exact decimals)."""

    impl = sa.Double()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else float(value)


class UnstorableValue(ValueError):
    pass


def _storage_text(text: str, where: str) -> str:
    # SQLite's JSON and pattern functions stop at NUL, PostgreSQL rejects it: refuse it on load.
    if "\x00" in text:
        raise UnstorableValue(f"{where}: strings with a NUL character cannot be stored in SQL")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableValue(f"{where}: strings with unpaired surrogates cannot be stored in SQL") from None
    return text


def storage_json(value: Any, where: str) -> Any:
    """A value as JSON for storage: instants as fixed-width UTC text, enums as their values."""
    try:
        return _plain_json(value)
    except UnstorableValue:
        return _json_at(value, where)  # again, naming where the bad value is


def _plain_json(value: Any) -> Any:
    # The loading hot path: plain JSON types by exact type, no path strings (they are built
    # only when a value cannot be stored); anything else takes the general walk.
    kind = type(value)
    if kind is str:
        return _storage_text(value, "")
    if kind is dict:
        return {_storage_text(k if type(k) is str else str(k), ""): _plain_json(v) for k, v in value.items()}
    if kind is list:
        return [_plain_json(v) for v in value]
    if value is None or kind is int or kind is bool:
        return value
    return _json_at(value, "")


def _json_at(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, str):
        return _storage_text(value.value if isinstance(value, enum.Enum) else str(value), where)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableValue(f"{where}: {value} is not a JSON number")
        return value
    if isinstance(value, enum.Enum):
        return _json_at(value.value, where)
    if isinstance(value, dt.datetime):
        return instant_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {_storage_text(str(k), where): _json_at(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_at(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, decimal.Decimal):
        return _json_at(float(value), where)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return _json_at(dump(value), where)
    raise UnstorableValue(f"{where}: cannot store a {type(value).__name__} in SQL")


def _storage_scalar(value: Any, kind: Kind, where: str) -> Any:
    """A top-level scalar column's value."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    if kind is Kind.DATETIME:
        return utc(value)
    if kind in TEXT_STORED_KINDS:
        return _storage_text(str(value), where)
    if kind is Kind.FLOAT and not math.isfinite(value):
        raise UnstorableValue(f"{where}: {value} cannot be compared like the other backends do")
    if kind is Kind.DECIMAL and not value.is_finite():
        raise UnstorableValue(f"{where}: {value} cannot be compared like the other backends do")
    return value


def to_row(record: BaseModel, columns: dict[str, tuple[str, FieldType]]) -> dict[str, Any]:
    """One record as column values (`columns`: column name -> (alias, field type))."""
    dumped = dump(record, hidden=True)
    row: dict[str, Any] = {}
    for column, (alias, ftype) in columns.items():
        value = dumped.get(alias)
        if ftype.kind in JSON_KINDS:
            row[column] = None if value is None else storage_json(value, alias)
        else:
            row[column] = _storage_scalar(value, ftype.kind, alias)
    return row


def decode_json(text: str | bytes) -> Any:
    """JSON text read back from a column, as `json.loads` reads it: pydantic-core's parser (about
    twice as fast, the same values: floats correctly rounded, big integers, NaN and Infinity,
    the last of duplicate keys), and `json.loads` itself for whatever that parser refuses (a
    lone surrogate escape, bytes in another encoding, invalid text), so its values and its
    errors are `json.loads`'s."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)
