"""Record values as the Python backend compares them: instants, dates, enums, untyped values.

Generated predicates call these by name (`_instant`, `_same`, ...); each is small, total
(never raises on a value of the wrong shape: that value is simply missing or unequal) and
agrees with the SQL and MongoDB backends on untyped (Any) values: 1 == 1.0, true != 1, "1" != 1.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from ...ast import Now
from ...values import UTC, parse_datetime

__all__ = ["date", "enum_value", "holds_now", "instant", "order_any", "resolve_now", "same", "typed_rank"]


@lru_cache(maxsize=65536)
def _parse_instant(text: str) -> dt.datetime | None:
    return parse_datetime(text)


def instant(value: Any) -> dt.datetime | None:
    """A datetime field's value as an aware UTC datetime (None when missing or unreadable)."""
    if value.__class__ is dt.datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return _parse_instant(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None


def date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


@lru_cache(maxsize=65536)
def _canonical_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def uuid_text(value: Any) -> str | None:
    """A UUID field's value as its canonical lowercase text (None when it is none)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return _canonical_uuid(value)
    return None


def decimal(value: Any) -> Decimal | None:
    """A Decimal field's value, exactly: a JSON number as the decimal its text spells."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, (float, str)):
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def enum_value(value: Any) -> Any:
    # str-mixin enums hash by member name, not value: compare and hash their values.
    return value.value if isinstance(value, enum.Enum) else value


def _family(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "datetime"
    return None


def same(value: Any, constant: Any) -> bool:
    """Equality for untyped (Any) fields: like JSON, 1 == 1.0 but true != 1 and "1" != 1."""
    value = enum_value(value)
    family = _family(value)
    return family is not None and family == _family(constant) and value == constant


def order_any(value: Any, constant: Any, op: str) -> bool:
    """`value op constant` for untyped fields: within one family, never for booleans."""
    value = enum_value(value)
    family = _family(value)
    if family is None or family != _family(constant) or family == "bool":
        return False
    if op == "<":
        return bool(value < constant)
    if op == "<=":
        return bool(value <= constant)
    if op == ">":
        return bool(value > constant)
    return bool(value >= constant)


_TYPE_RANK = {"number": 1, "string": 2, "bool": 4, "datetime": 5}


def typed_rank(value: Any) -> tuple[int, Any] | None:
    """Untyped values may mix types, which Python cannot order: order them by type first, as
    MongoDB does (numbers, strings, booleans, datetimes), and never raise."""
    if value is None:
        return None
    value = enum_value(value)
    rank = _TYPE_RANK.get(_family(value) or "")
    return (rank, value) if rank is not None else (9, 0)


def holds_now(value: Any) -> bool:
    """Whether a constant of generated code is, or holds, a `now` value resolved per request."""
    if value.__class__ is Now:
        return True
    return value.__class__ in (tuple, frozenset) and any(v.__class__ is Now for v in value)


def resolve_now(value: Any, now: dt.datetime) -> Any:
    """The constant with its `now` values resolved to instants (`now` is the request's)."""
    if value.__class__ is Now:
        return value.at(now)
    if value.__class__ is tuple:
        return tuple(resolve_now(v, now) for v in value)
    if value.__class__ is frozenset:
        return frozenset(resolve_now(v, now) for v in value)
    return value
