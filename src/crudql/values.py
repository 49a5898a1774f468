"""Datetime values as crudql reads, compares, stores and prints them (one place for all).

Datetimes are instants (LANGUAGE.md §2): a date alone is midnight UTC, a naive time is UTC,
offsets count. Backends that store instants as text use `instant_text`, whose fixed width
makes text order time order for every year 1..9999.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["UTC", "instant_text", "parse_datetime", "parse_instant_text", "rfc3339", "utc"]

UTC = dt.timezone.utc


def utc(value: dt.datetime) -> dt.datetime:
    """The instant as an aware UTC datetime (a naive value is UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_datetime(text: str) -> dt.datetime | None:
    """ISO-8601 text as an aware UTC datetime, or None when it is not one."""
    text = text.strip()
    if len(text) < 10 or not text[:4].isdigit():
        return None
    try:
        if len(text) == 10:
            d = dt.date.fromisoformat(text)
            return dt.datetime(d.year, d.month, d.day, tzinfo=UTC)
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    try:
        return utc(value)
    except OverflowError:  # an offset that moves the instant out of years 1..9999
        return None


def instant_text(value: dt.datetime) -> str:
    """Fixed-width UTC text, `2024-01-31T12:00:00.000000Z`: text order is time order."""
    v = utc(value)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}Z"


def parse_instant_text(text: str) -> dt.datetime:
    """The inverse of `instant_text`."""
    return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def rfc3339(value: dt.datetime) -> str:
    """RFC 3339 UTC with the fraction trimmed, as the reference endpoint prints instants:
    `2026-04-08T06:06:53.671Z`, `2024-01-31T12:00:00Z`."""
    v = utc(value).replace(tzinfo=None)
    return v.isoformat(timespec="microseconds").rstrip("0").rstrip(".") + "Z"
