"""`now` when requests run (SERVICE.md §4): every source agrees on records around the boundary,
one instant per request serves the page and its count, and compiled forms (generated Python,
SQL statements) are reused whatever the instant."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine.default import CACHE_HIT

import crudql
import crudql.request
from crudql import PageRequest, QueryError, run_query
from crudql.backends.python import compile_filter, compile_scan
from crudql.backends.python.filter import FilterGenerator
from crudql.models import Contact
from crudql.sources import InMemory

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 3, 10, 12, 0, 0, tzinfo=UTC)
WEEK_AGO = NOW - dt.timedelta(days=7)


def _at(delta: dt.timedelta) -> str:
    return (WEEK_AGO + delta).isoformat().replace("+00:00", "Z")


# Records around `now - 7d` (seconds and a millisecond either side, exactly on it), and around
# `now` itself, in a column (creation_time) and inside JSON (info.enrichedContactInfo).
OFFSETS = {
    "minus1s": dt.timedelta(seconds=-1),
    "minus1ms": dt.timedelta(milliseconds=-1),
    "exact": dt.timedelta(0),
    "plus1ms": dt.timedelta(milliseconds=1),
    "plus1s": dt.timedelta(seconds=1),
    "now": dt.timedelta(days=7),
    "future": dt.timedelta(days=7, minutes=30),
}
RECORDS: list[dict[str, Any]] = [
    {
        "id": name,
        "creationTime": _at(delta),
        "info": {"enrichedContactInfo": {"creationTime": _at(delta - dt.timedelta(hours=1))}},
    }
    for name, delta in OFFSETS.items()
] + [{"id": "missing"}, {"id": "null", "creationTime": None, "info": {"enrichedContactInfo": {"creationTime": None}}}]

FILTERS: list[tuple[str, set[str]]] = [
    ('(< creation_time (now "-7d"))', {"minus1s", "minus1ms"}),
    ('(<= creation_time (now "-7d"))', {"minus1s", "minus1ms", "exact"}),
    ('(> creation_time (now "-7d"))', {"plus1ms", "plus1s", "now", "future"}),
    ('(>= creation_time (now "-1w"))', {"exact", "plus1ms", "plus1s", "now", "future"}),
    ('(= creation_time (now "-168h"))', {"exact"}),
    ('(!= creation_time (now "-10080m"))', set(OFFSETS) - {"exact"} | {"missing", "null"}),
    ('(between creation_time (now "-604800s") (now))', {"exact", "plus1ms", "plus1s", "now"}),
    ('(in creation_time ((now) (now "-7d") "2000-01-01"))', {"exact", "now"}),
    ('(nin creation_time ((now) null))', set(OFFSETS) - {"now"}),
    ('(not (< creation_time (now "+29m")))', {"future", "missing", "null"}),
    ('(< info.enrichedContactInfo.creationTime (now "-169h"))', {"minus1s", "minus1ms"}),
    ('(>= info.enrichedContactInfo.creationTime (now "-169h"))', {"exact", "plus1ms", "plus1s", "now", "future"}),
    ('(in info.enrichedContactInfo.creationTime ((now "-1h")))', {"now"}),
    (
        '["and", [">", "creation_time", {"now": "-8d"}], ["<", "creation_time", {"now": "-7d"}]]',
        {"minus1s", "minus1ms"},
    ),
]


def _sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    sources: dict[str, Any] = {"memory": InMemory(RECORDS, model=Contact)}
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        table = f"now_{uuid.uuid4().hex[:10]}"
        sources[name.removesuffix("_engine")] = crudql.sources.SQL.from_records(engine, RECORDS, model=Contact, table_name=table)
        request.addfinalizer(lambda e=engine, t=table: sa.Table(t, sa.MetaData()).drop(e, checkfirst=True))
    mongomock = pytest.importorskip("mongomock")
    for instants in ("date", "string"):
        collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]
        sources[f"mongo-{instants}"] = crudql.sources.Mongo.from_records(collection, RECORDS, model=Contact, instants=instants)
    return sources


@pytest.fixture(scope="module")
def sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _sources(request)


@pytest.mark.parametrize(("q", "expected"), FILTERS)
def test_every_source_agrees_around_the_boundary(sources: dict[str, Any], q: str, expected: set[str]) -> None:
    qs = "json" if q.startswith("[") else "lisp"
    for name, source in sources.items():
        page = run_query(PageRequest(q=q, qs=qs, page_size=100), source, now=NOW)
        assert {c.id for c in page.data} == expected, name
        assert page.total_count == len(expected), name


def test_the_window_moves_with_the_clock(sources: dict[str, Any]) -> None:
    q = '(>= creation_time (now "-7d"))'
    for name, source in sources.items():
        counts = [
            run_query(PageRequest(q=q, page_size=1), source, now=NOW + dt.timedelta(seconds=s)).total_count
            for s in (0, 1, 2, 60 * 60 * 24 * 7)
        ]
        assert counts == [5, 3, 2, 2], name


def test_now_defaults_to_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    source = InMemory(RECORDS, model=Contact)
    monkeypatch.setattr(crudql.request, "clock", lambda: NOW)
    assert run_query(PageRequest(q='(< creation_time (now "-7d"))'), source).total_count == 2
    monkeypatch.undo()
    # The real clock is years past these records.
    assert run_query(PageRequest(q='(< creation_time (now "-7d"))'), source).total_count == 7


def test_one_instant_per_request_for_the_page_and_the_count(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock is read once per request; the page query and the count query of a SQL page
    are bound to that one instant, even when the clock moves between them."""
    readings: list[dt.datetime] = []

    def clock() -> dt.datetime:
        readings.append(NOW + dt.timedelta(days=len(readings)))  # a day later at every reading
        return readings[-1]

    monkeypatch.setattr(crudql.request, "clock", clock)
    sources = _sources(request)
    for name, source in sources.items():
        readings.clear()
        page = run_query(PageRequest(q='(< creation_time (now "-7d"))', page_size=1), source)
        assert len(readings) == 1, name
        assert page.total_count == 2 and len(page.data) == 1, name
    engine_names = [n for n in ("sqlite_engine", "postgres_engine") if n.removesuffix("_engine") in sources]
    for name in engine_names:
        engine = request.getfixturevalue(name)
        bound: list[Any] = []

        def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any, bound: Any = bound) -> None:
            if "creation_time <" in statement:
                bound.append(parameters)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            page = run_query(PageRequest(q='(< creation_time (now "-7d"))', page_size=1), sources[name.removesuffix("_engine")], now=NOW)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        assert page.total_count == 2 and len(page.data) == 1
        assert len(bound) == 2  # the page and the count, each with the instant
        instants = [_now_param(p) for p in bound]
        assert instants[0] and instants[0] == instants[1], instants


def _now_param(parameters: Any) -> Any:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return [v for v in values if isinstance(v, (str, dt.datetime)) and str(v).startswith("2024-03-03")]


def test_sql_statements_are_reused_across_instants(request: pytest.FixtureRequest) -> None:
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        source = crudql.sources.SQL.from_records(engine, RECORDS, model=Contact, table_name=f"now_{uuid.uuid4().hex[:10]}")
        hits: list[Any] = []

        def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *args: Any, hits: Any = hits) -> None:
            hits.append(context.cache_hit)

        q = '(and (< creation_time (now "-7d")) (>= info.enrichedContactInfo.creationTime (now "-30d")))'
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            totals = [
                run_query(PageRequest(q=q, page_size=1), source, now=NOW + dt.timedelta(days=d)).total_count
                for d in (0, 1, 2)
            ]
            statements = len(source._statements)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
            source.table.drop(engine)
        assert totals == [2, 5, 5], name
        assert statements == 1, name  # one statement for the filter, whatever the instant
        assert hits[2:] == [CACHE_HIT] * (len(hits) - 2), (name, hits)  # compiled once (page, count)


def test_generated_python_is_reused_across_instants(monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []
    build_scan = FilterGenerator.build_scan
    monkeypatch.setattr(FilterGenerator, "build_scan", lambda self, expr: builds.append(expr) or build_scan(self, expr))
    source = InMemory(RECORDS, model=Contact)
    q = f'(< creation_time (now "-{uuid.uuid4().int % 1000 + 7000}m"))'  # a tree no other test compiled
    totals = [run_query(PageRequest(q=q), source, now=NOW + dt.timedelta(days=d)).total_count for d in (-1, 0, 1, 30)]
    assert len(builds) == 1
    assert totals[0] < totals[-1]
    expr = crudql.parse_filter(q, schema=Contact)
    later = compile_filter(expr, now=NOW + dt.timedelta(days=30))
    assert later(Contact(id="x", creation_time=NOW)) and not compile_filter(expr, now=NOW)(Contact(id="x", creation_time=NOW))
    assert compile_scan(expr, "dict", now=NOW)(RECORDS) == [r for r in RECORDS if r["id"] in {"minus1s", "minus1ms", "exact", "plus1ms", "plus1s"}][: totals[1]]


def test_an_instant_out_of_range_is_a_client_error() -> None:
    source = InMemory(RECORDS, model=Contact)
    with pytest.raises(QueryError) as exc:
        run_query(PageRequest(q='(< creation_time (now "+52000w"))'), source, now=dt.datetime(9990, 1, 1, tzinfo=UTC))
    assert exc.value.code == "type" and "years 1 to 9999" in exc.value.message


def test_bad_offsets_through_a_request() -> None:
    with pytest.raises(QueryError) as exc:
        run_query(PageRequest(q='(< creation_time (now "7 days ago"))'), InMemory(RECORDS, model=Contact))
    assert (exc.value.code, exc.value.param, exc.value.position, exc.value.column) == ("type", "q", 22, 23)


def test_cursors_page_a_now_filter(sources: dict[str, Any]) -> None:
    q = '(> creation_time (now "-8d"))'
    for name, source in sources.items():
        first = run_query(PageRequest(q=q, page_size=3, s="-creation_time"), source, now=NOW)
        second = run_query(PageRequest(q=q, page_size=3, s="-creation_time", cursor=first.next_cursor), source, now=NOW)
        assert [c.id for c in first.data + second.data] == ["future", "now", "plus1s", "plus1ms", "exact", "minus1ms"], name


# Generated boundaries: records a few units either side of `now + offset`, in a column and in
# JSON, against every comparison; every source must give the Python backend's answer.
NOW_EXAMPLES = max(10, settings().max_examples // 3)  # ci: 100 per source, dev: 13
DELTAS = [dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(seconds=-1), dt.timedelta(minutes=1),
          dt.timedelta(hours=-1), dt.timedelta(days=1), dt.timedelta(days=-7), dt.timedelta(milliseconds=1)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mongo"])
def load_now(request: pytest.FixtureRequest) -> Any:
    if request.param == "mongo":
        mongomock = pytest.importorskip("mongomock")
        collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]

        def into_mongo(records: list[dict[str, Any]]) -> Any:
            collection.delete_many({})
            return crudql.sources.Mongo.from_records(collection, records, model=Contact)

        return into_mongo
    from support.sql import shared

    engine = request.getfixturevalue({"sqlite": "sqlite_engine", "postgresql": "postgres_engine"}[request.param])
    source = shared(engine)

    def into_sql(records: list[dict[str, Any]]) -> Any:
        with engine.begin() as conn:
            conn.execute(source.table.delete())
        source.insert(records)
        return source

    return into_sql


@pytest.mark.slow
@settings(max_examples=NOW_EXAMPLES)
@given(
    amount=st.integers(-100, 100),
    unit=st.sampled_from("smhdw"),
    deltas=st.lists(st.sampled_from(DELTAS), min_size=1, max_size=6),
    op=st.sampled_from(["<", "<=", ">", ">=", "=", "!="]),
    field=st.sampled_from(["creation_time", "info.enrichedContactInfo.creationTime"]),
    seconds=st.integers(0, 10**6),
)
def test_generated_boundaries_agree(load_now: Any, amount: int, unit: str, deltas: Any, op: str, field: str, seconds: int) -> None:
    now = NOW + dt.timedelta(seconds=seconds)
    boundary = crudql.ast.Now(amount, unit).at(now)
    records = [
        {"id": f"r{i}", "creationTime": _text(boundary + d), "info": {"enrichedContactInfo": {"creationTime": _text(boundary - d)}}}
        for i, d in enumerate(deltas)
    ]
    offset = crudql.ast.Now(amount, unit).text
    q = f"({op} {field} (now{'' if offset is None else f' {json.dumps(offset)}'}))"
    expected = run_query(PageRequest(q=q, page_size=100), InMemory(records, model=Contact), now=now)
    got = run_query(PageRequest(q=q, page_size=100), load_now(records), now=now)
    assert sorted(c.id for c in got.data) == sorted(c.id for c in expected.data), q
    assert got.total_count == expected.total_count


def _text(instant: dt.datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")
