"""Hostile input (docs/spec/SERVICE.md §3, LANGUAGE.md §6): every request of the corpus in
tests/support/hostile.py, on every backend, is answered with a page or a `crudql.QueryError` —
never another exception (no RecursionError, MemoryError, OperationalError, no crash). Limits
are checked before any backend work. Distinct maximum-size filters cannot make the caches grow
past their memory budgets.

No timings here: benchmarks/bench_hostile.py measures how fast each stage refuses or answers.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

import crudql
from crudql.ast import Expr, SortKey
from support.hostile import CORPUS, PAGE, Hostile, deep_path, ors
from support.ticket import TICKETS, Ticket

SCHEMA = crudql.Schema.from_model(Ticket)


def _request(h: Hostile) -> crudql.PageRequest:
    return crudql.PageRequest(q=h.q, qs=h.qs, s=h.s, ss=h.ss)


def _outcome(call: Any) -> str:
    """PAGE, or the code of the QueryError; anything else fails the test."""
    try:
        call()
    except crudql.QueryError as exc:
        assert exc.code and exc.message, exc
        assert exc.position is None or exc.position >= 0
        return exc.code
    return PAGE


def _check(h: Hostile, outcome: str, where: str) -> None:
    if h.expect is not None:
        assert outcome == h.expect, f"{h.name} on {where}: {outcome}"


@pytest.fixture(scope="module")
def sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    found: dict[str, Any] = {"memory": crudql.sources.InMemory(TICKETS, model=Ticket)}
    sa = pytest.importorskip("sqlalchemy")
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        table = f"hostile_{uuid.uuid4().hex[:10]}"
        found[name.removesuffix("_engine")] = crudql.sources.SQL.from_records(engine, TICKETS, Ticket, table)
        request.addfinalizer(lambda e=engine, t=table: sa.Table(t, sa.MetaData()).drop(e, checkfirst=True))
    mongomock = pytest.importorskip("mongomock")
    found["mongo"] = crudql.sources.Mongo.from_records(mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"], TICKETS, model=Ticket)
    return found


@pytest.mark.parametrize("h", CORPUS, ids=[h.name for h in CORPUS])
def test_parse_and_check_answer_or_refuse(h: Hostile) -> None:
    def parse() -> None:
        if h.q is not None:
            crudql.parse_filter(h.q, h.qs, schema=SCHEMA)
        if h.s is not None:
            crudql.parse_sort(h.s, h.ss, schema=SCHEMA)

    outcome = _outcome(parse)
    if h.expect not in (PAGE, None, "request"):  # a refusal happens in parse or check
        assert outcome == h.expect, f"{h.name}: {outcome}"


@pytest.mark.parametrize("h", CORPUS, ids=[h.name for h in CORPUS])
def test_every_backend_answers_or_refuses(sources: dict[str, Any], h: Hostile) -> None:
    outcomes = {name: _outcome(lambda s=source: crudql.run_query(_request(h), s)) for name, source in sources.items()}
    for name, outcome in outcomes.items():
        _check(h, outcome, name)


class _Spy:
    """A source that records whether a page was asked of it."""

    def __init__(self) -> None:
        self.inner = crudql.sources.InMemory(TICKETS, model=Ticket)
        self.model = Ticket
        self.schema = self.inner.schema
        self.calls = 0

    def page(self, where: Expr | None, order: Sequence[SortKey], offset: int, limit: int) -> tuple[list[Any], int]:
        self.calls += 1
        return self.inner.page(where, order, offset, limit)


@pytest.mark.parametrize("h", [h for h in CORPUS if h.expect not in (PAGE, None)], ids=lambda h: h.name)
def test_refusals_come_before_any_backend_work(h: Hostile) -> None:
    spy = _Spy()
    assert _outcome(lambda: crudql.run_query(_request(h), spy)) == h.expect
    assert spy.calls == 0


# --------------------------------------------------------------------------- the new limits


def test_path_segments_limit_position_and_message() -> None:
    text = f'(and (exists café) (= {deep_path(17)} 1))'
    with pytest.raises(crudql.QueryError) as exc:
        crudql.parse_filter(text, schema=SCHEMA)
    e = exc.value
    assert (e.code, e.message) == ("limit", "field path has 17 segments; the limit is 16")
    assert text[e.position :].startswith("extra.a.a")
    with pytest.raises(crudql.QueryError) as exc:
        crudql.parse_sort(f"café,-{deep_path(17)}", schema=SCHEMA)
    assert (exc.value.code, exc.value.position) == ("limit", 6)
    # Unchecked trees are held to it too, and `any` paths count.
    with pytest.raises(crudql.QueryError) as exc:
        crudql.parse_filter(f"(any {deep_path(17, 'a')} (exists b))")
    assert exc.value.code == "limit"


def test_predicates_limit_points_at_the_first_one_over() -> None:
    text = ors(257, '(= café "{}")')
    with pytest.raises(crudql.QueryError) as exc:
        crudql.parse_filter(text, schema=SCHEMA)
    e = exc.value
    assert e.code == "limit" and "more than 256 conditions" in e.message
    assert text[e.position :].startswith('(= café "256")')
    # Conditions inside any and under not count; the JSON form is counted alike.
    nested = "(and " + " ".join(f'(not (any lines (= sku "{i}")))' for i in range(257)) + ")"
    with pytest.raises(crudql.QueryError):
        crudql.parse_filter(nested, schema=SCHEMA)
    assert crudql.parse_filter(ors(256, '(= café "{}")'), schema=SCHEMA) is not None


def test_the_new_limits_are_configurable() -> None:
    limits = crudql.Limits(max_path_segments=3, max_predicates=2)
    assert crudql.parse_filter("(= extra.a.b 1)", schema=SCHEMA, limits=limits) is not None
    with pytest.raises(crudql.QueryError):
        crudql.parse_filter("(= extra.a.b.c 1)", schema=SCHEMA, limits=limits)
    with pytest.raises(crudql.QueryError):
        crudql.parse_sort("extra.a.b.c", schema=SCHEMA, limits=limits)
    with pytest.raises(crudql.QueryError):
        crudql.parse_filter('(or (= café "a") (= café "b") (= café "c"))', schema=SCHEMA, limits=limits)
    assert crudql.DEFAULT_LIMITS.max_path_segments == 16 and crudql.DEFAULT_LIMITS.max_predicates == 256


def test_path_segments_cannot_be_raised_past_what_every_backend_takes() -> None:
    """64 segments: SQLite joins at most 64 tables (one per map key), and the Python backend's
    generated sort code nests one expression per segment."""
    assert crudql.Limits(max_path_segments=64).max_path_segments == 64
    for bad in (0, 65, 4990):
        with pytest.raises(ValueError, match="max_path_segments"):
            crudql.Limits(max_path_segments=bad)


def test_every_backend_takes_paths_at_the_raised_cap(sources: dict[str, Any]) -> None:
    limits = crudql.Limits(max_path_segments=64)
    path = deep_path(64)
    requests = [
        crudql.PageRequest(q=f"(= {path} 1)", s=f"-{path}"),
        crudql.PageRequest(q=f'(or (has {path} "x") (not (exists {path})))', s=f"{path},-{deep_path(63)}"),
    ]
    for name, source in sources.items():
        for request in requests:
            page = crudql.run_query(request, source, limits=limits)
            assert page.total_count in (0, len(TICKETS)), name


def test_costly_filters_run_when_the_limits_are_raised(sources: dict[str, Any]) -> None:
    """The audit's slow shapes, past the default limits on purpose, on small data: answered
    alike (their cost on large tables is what the timeout bounds)."""
    limits = crudql.Limits(max_predicates=1_000, max_length=30_000)
    requests = [
        ors(400, '(icontains labels "{}")'),
        ors(430, '(ilike café "%{}%")'),
        "(and " + " ".join(f'(!= lines.*.sku "s{i}")' for i in range(300)) + ")",
        json.dumps(["or", *(["has", "labels", f"l{i}"] for i in range(500))]),
    ]
    for q in requests:
        qs = "json" if q.startswith("[") else "lisp"
        answers = {name: crudql.run_query(crudql.PageRequest(q=q, qs=qs), source, limits=limits) for name, source in sources.items()}
        expected = answers.pop("memory")
        for name, page in answers.items():
            assert [t.id for t in page.data] == [t.id for t in expected.data], name


# --------------------------------------------------------------------------- memory


def _max_filter(i: int) -> str:
    """A distinct filter of close to 10,000 characters and 250 conditions (one a list of 200
    values), mixing what each cache keeps: a parsed tree, generated code, LIKE matchers, SQL."""
    tags = " ".join(f'"t{i:03d}.{k}"' for k in range(200))
    parts = [f"(has-any labels ({tags}))"]
    for j in range(249):
        if j % 12 == 0:
            parts.append(f'(ilike naïveNote "%{i:04d}_{j:03d}%needle%in%a%haystack%")')
        else:
            parts.append(
                [
                    f'(= café "c{i:04d}x{j:03d}_a_fairly_long_value_okay")',
                    f"(> tenant_id {1_000_000 + i * 1000 + j})",
                    f'(has labels "l{i:04d}.{j:03d}")',
                ][j % 3]
            )
    return "(or " + " ".join(parts) + ")"


def _caches(sql_source: Any) -> dict[str, Any]:
    from crudql import parse, patterns, request
    from crudql.backends.python import filter as python_filter
    from crudql.backends.python import sort as python_sort

    return {
        "parsed filters": parse.FILTER_CACHE,
        "parsed sorts": parse.SORT_CACHE,
        "checked requests": request._CHECKED,
        "python predicates": python_filter._PREDICATES,
        "python scans": python_filter._SCANS,
        "python sort keys": python_sort._RANKS,
        "LIKE matchers": patterns._MATCHERS,
        "SQL statements": sql_source._statements,
        "SQL compiled": sql_source._compiled.lru,
    }


def test_distinct_maximum_size_filters_stay_within_the_cache_budgets(sqlite_engine: Any) -> None:
    """SERVICE.md §3: caches are bounded by memory. Enough distinct maximum-size filters to
    overflow every cache several times over (each evicts), measured with tracemalloc: the
    process grows by far less than the 100 MB that 10,000 such filters may cost."""
    memory = crudql.sources.InMemory(TICKETS, model=Ticket)
    sql = crudql.sources.SQL.from_records(sqlite_engine, TICKETS, Ticket, f"memory_{uuid.uuid4().hex[:10]}")
    assert 9_800 < len(_max_filter(0)) <= 10_000
    for source in (memory, sql):  # imports and one-time setup are not the caches' growth
        crudql.run_query(crudql.PageRequest(q=_max_filter(999), s="-café"), source)
    in_memory, in_sql = 40, 12  # SQL statements are heavier: fewer overflow their budget
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(in_memory):
            page = crudql.run_query(crudql.PageRequest(q=_max_filter(i), s=f"-tenant_id,café,extra.k{i}"), memory)
            assert page.total_count == 0
        for i in range(in_sql):
            page = crudql.run_query(crudql.PageRequest(q=_max_filter(i), s=f"-tenant_id,café,extra.k{i}"), sql)
            assert page.total_count == 0
        gc.collect()
        grown, peak = (m - base for m in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
        sql.table.drop(sqlite_engine)
    assert grown < 40 << 20, f"caches grew by {grown / 2**20:.1f} MB"
    assert peak < 60 << 20, f"peak {peak / 2**20:.1f} MB"
    caches = _caches(sql)
    for name, cache in caches.items():
        assert 0 <= cache.weight <= cache.budget, name
    # Every large cache was overflowed, and evicted instead of growing.
    assert len(caches["parsed filters"]) < in_memory
    assert len(caches["checked requests"]) < in_memory
    assert len(caches["python scans"]) < in_memory
    assert len(caches["SQL statements"]) < in_sql
    assert caches["LIKE matchers"].weight > caches["LIKE matchers"].budget * 0.9
