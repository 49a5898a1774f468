"""Datetime values as crudql reads, compares, stores and prints them (one place for all).

Datetimes are instants (docs/spec/LANGUAGE.md §2): a date alone is midnight UTC, a naive time is UTC,
offsets count. Backends that store instants as text use `instant_text`, whose fixed width
makes text order time order for every year 1..9999.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["UTC", "clock", "instant_text", "parse_datetime", "parse_instant_text", "rfc3339", "utc"]

UTC = dt.timezone.utc


def clock() -> dt.datetime:
    """The current instant (aware UTC): what `now` stands for in a request.

    `crudql.run_query` reads it once per request (pass `now=` to run_query to fix the instant,
    as tests do); backends read it only when called without an instant.
    """
    return dt.datetime.now(UTC)


def utc(value: dt.datetime) -> dt.datetime:
    """The instant as an aware UTC datetime (a naive value is UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# ISO-8601 extended format, the same on every Python: a date, or a date and a time to the
# minute, second or any fraction of a second (digits past the microsecond are cut), with `Z`
# or an offset `+hh`, `+hh:mm`, `+hhmm`. One anchored pass: no backtracking on any input.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?)?\Z",
    re.ASCII,  # \d is 0-9 only, as in fromisoformat: not "９９９９-01-31"
)


def parse_datetime(text: str) -> dt.datetime | None:
    """ISO-8601 text as an aware UTC datetime, or None when it is not one (or names no instant
    of years 1..9999)."""
    m = _ISO.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    try:
        value = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(offset),
        )
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _zone(offset: str | None) -> dt.tzinfo:
    if offset is None or offset in ("Z", "z"):
        return UTC  # a naive time is UTC
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
    return dt.timezone((-1 if offset[0] == "-" else 1) * dt.timedelta(minutes=minutes))


def instant_text(value: dt.datetime) -> str:
    """Fixed-width UTC text, `2024-01-31T12:00:00.000000Z`: text order is time order."""
    # isoformat pads the year to four digits and, with this timespec, always shows microseconds:
    # 26 characters before the offset (+00:00).
    return utc(value).isoformat(timespec="microseconds")[:26] + "Z"


def parse_instant_text(text: str) -> dt.datetime:
    """The inverse of `instant_text`."""
    return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def rfc3339(value: dt.datetime) -> str:
    """RFC 3339 UTC with the fraction trimmed, as the reference endpoint prints instants:
    `2026-04-08T06:06:53.671Z`, `2024-01-31T12:00:00Z`."""
    v = utc(value).replace(tzinfo=None)
    return v.isoformat(timespec="microseconds").rstrip("0").rstrip(".") + "Z"
