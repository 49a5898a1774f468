"""Instants as crudql reads them (crudql.values), the same on every Python from 3.10: ISO-8601
with 1 to 9 fractional digits (3.10's `fromisoformat` took only 3 or 6), `Z` or offsets, a
date alone (midnight UTC), a naive time (UTC) — as filter literals, in JSON-dict records of the
Python backend, and in records every source stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import crudql
from crudql.backends.python import compile_filter
from crudql.values import UTC, instant_text, parse_datetime, parse_instant_text, rfc3339


def at(micro: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, 1, 31, hour, 0, 0, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31T12:00:00.5Z", at(500_000)),
        ("2024-01-31T12:00:00.12Z", at(120_000)),
        ("2024-01-31T12:00:00.123Z", at(123_000)),
        ("2024-01-31T12:00:00.1234Z", at(123_400)),
        ("2024-01-31T12:00:00.12345Z", at(123_450)),
        ("2024-01-31T12:00:00.123456Z", at(123_456)),
        ("2024-01-31T12:00:00.1234567Z", at(123_456)),  # digits past the microsecond are cut
        ("2024-01-31T12:00:00.123456789Z", at(123_456)),
        ("2024-01-31T12:00:00,25Z", at(250_000)),  # ISO-8601 allows a comma
        ("2024-01-31T14:00:00.5+02:00", at(500_000)),
        ("2024-01-31T14:00:00.5+0200", at(500_000)),
        ("2024-01-31T14:00:00.5+02", at(500_000)),
        ("2024-01-31T07:00:00.25-05:00", at(250_000)),
        ("2024-01-31T12:00:00.5", at(500_000)),  # naive: UTC
        ("2024-01-31T12:00", at(0)),
        ("2024-01-31", at(0, hour=0)),
        ("2024-01-31t12:00:00.5z", at(500_000)),
        ("2024-01-31 12:00:00.5Z", at(500_000)),
    ],
)
def test_parse_datetime(text: str, expected: dt.datetime) -> None:
    got = parse_datetime(text)
    assert got == expected and got is not None and got.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31T12:00:00.Z",  # a point without digits
        "2024-01-31T12:00:00.1234567890Z",  # ten digits
        "2024-02-30",
        "0000-01-01",
        "2024-1-31",
        "2024-01-31T24:00:00Z",
        "2024-01-31T12:00:00+25:00",
        "31/01/2024",
        "",
        "2024-01-31T12:00:00.5ZZ",
        "９９９９-01-01",  # non-ASCII digits
    ],
)
def test_parse_datetime_refuses(text: str) -> None:
    assert parse_datetime(text) is None


def test_storage_text_round_trips_and_prints() -> None:
    value = parse_datetime("2024-01-31T14:00:00.12345+02:00")
    assert value is not None
    assert instant_text(value) == "2024-01-31T12:00:00.123450Z"
    assert parse_instant_text(instant_text(value)) == value
    assert rfc3339(value) == "2024-01-31T12:00:00.12345Z"
    assert instant_text(dt.datetime(1, 1, 1)) < instant_text(dt.datetime(9999, 12, 31))


@given(st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
def test_storage_text_is_fixed_width_utc(value: dt.datetime) -> None:
    try:
        instant = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError:
        return  # past year 9999 or before year 1 once in UTC
    i = instant
    expected = f"{i.year:04d}-{i.month:02d}-{i.day:02d}T{i.hour:02d}:{i.minute:02d}:{i.second:02d}.{i.microsecond:06d}Z"
    assert instant_text(value) == expected and parse_instant_text(expected) == instant


class Event(BaseModel):
    id: str
    at: dt.datetime | None = None
    data: dict[str, Any] = {}


RECORDS = [
    {"id": "e1", "at": "2024-01-31T12:00:00.5Z"},
    {"id": "e2", "at": "2024-01-31T12:00:00.12Z"},
    {"id": "e4", "at": "2024-01-31T12:00:00.1234Z"},
    {"id": "e5", "at": "2024-01-31T14:00:00.12345+02:00"},
    {"id": "e0", "at": "2024-01-31T12:00:00Z"},
]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('(= at "2024-01-31T12:00:00.50Z")', ["e1"]),
        ('(= at "2024-01-31T12:00:00.1200Z")', ["e2"]),
        ('(= at "2024-01-31T13:00:00.1234+01:00")', ["e4"]),
        ('(= at "2024-01-31T12:00:00.12345")', ["e5"]),
        ('(> at "2024-01-31T12:00:00.1234Z")', ["e5", "e1"]),
        ('(between at "2024-01-31T12:00:00.1Z" "2024-01-31T12:00:00.2Z")', ["e2", "e4", "e5"]),
        ('(< at "2024-01-31T12:00:00.00001Z")', ["e0"]),
    ],
)
def test_fractional_literals_on_every_source(q: str, expected: list[str], sqlite_engine: Any) -> None:
    mongomock = pytest.importorskip("mongomock")
    import uuid

    sources = [
        crudql.sources.InMemory(RECORDS, model=Event),
        crudql.sources.SQL.from_records(sqlite_engine, RECORDS, Event, f"events_{uuid.uuid4().hex[:10]}"),
        crudql.sources.Mongo.from_records(
            mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"], RECORDS, model=Event, instants="string"
        ),
    ]
    for source in sources:
        page = crudql.run_query(crudql.PageRequest(q=q, s="at"), source)
        assert [e.id for e in page.data] == expected, source


def test_json_dict_records_read_fractions_like_literals() -> None:
    """The Python backend reads instants in JSON-dict records (and untyped values) with the
    same rules as literals."""
    schema = crudql.Schema.from_model(Event)
    predicate = compile_filter(crudql.parse_filter('(= at "2024-01-31T12:00:00.12Z")', schema=schema), "dict")
    assert predicate({"id": "x", "at": "2024-01-31T13:00:00.12+01:00"})
    assert predicate({"id": "x", "at": "2024-01-31T12:00:00.120000Z"})
    assert not predicate({"id": "x", "at": "2024-01-31T12:00:00.1201Z"})
    assert not predicate({"id": "x", "at": "not a time"})
