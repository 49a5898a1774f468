"""Every backend answers requests over a model written the way users write models (`Ticket`:
defaults, UUID, Decimal, an IntEnum, an untyped `dict[str, Any]` holding arrays, non-ASCII
names, a hidden field) with the same page: the same records in the same order, the same total,
the same records and the same JSON response body (docs/spec/SERVICE.md §1).

Each request targets one trap; where a wrong answer could be the same on every backend, the
ids are also pinned by hand. Sources: InMemory, SQLite, PostgreSQL (when a DSN is set), MongoDB
(mongomock, instants as BSON dates and as text).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

import crudql
from crudql.values import UTC, instant_text, parse_datetime
from support.ticket import ALL_TICKETS, DEEP_PATH, TICKETS, Ticket

# (q, qs, s, ss, the ids the unpaged answer must have in this order, or None when not pinned)
Request = tuple[str | None, str, str | None, str, list[str] | None]

REQUESTS: list[Request] = [
    (None, "lisp", None, "simple", ["T06", "t01", "t02", "t03", "t04", "t05", "t07"]),
    # Defaults are values: t02 left labels, status, priority, extra and customer out.
    ("(exists labels)", "lisp", None, "simple", sorted(ALL_TICKETS)),
    ("(not (exists labels))", "lisp", None, "simple", []),
    ("(is-null extra)", "lisp", None, "simple", []),
    ('(= status "OPEN")', "lisp", "-id", "simple", ["t07", "t05", "t03", "t02", "T06"]),
    ('(!= status "CLOSED")', "lisp", None, "simple", ["T06", "t02", "t03", "t04", "t05", "t07"]),
    ('(nin status ("OPEN" "PENDING"))', "lisp", None, "simple", ["t01"]),
    ("(= priority 2)", "lisp", None, "simple", ["T06", "t02", "t03"]),
    ('(= customer.tier "free")', "lisp", None, "simple", ["t02", "t03", "t04", "t05"]),
    ("(is-null customer.name)", "lisp", None, "simple", ["t02", "t03", "t05"]),
    ("(exists customer)", "lisp", None, "simple", sorted(ALL_TICKETS)),
    ("(any lines (= qty 1))", "lisp", None, "simple", ["t01", "t04", "t05"]),  # an element's default
    ("(all lines (= qty 1))", "lisp", None, "simple", ["T06", "t02", "t03", "t04"]),
    ("(not (any lines (exists price)))", "lisp", None, "simple", ["T06", "t02", "t03", "t07"]),
    # IntEnum: numeric order (10 > 3), allowed values, sort.
    ("(> priority 2)", "lisp", "-priority", "simple", ["t04", "t01", "t07"]),
    ("(in priority (1 10))", "lisp", None, "simple", ["t04", "t05"]),
    ("(between priority 2 10)", "lisp", "-priority,status", "simple", ["t04", "t01", "t07", "T06", "t02", "t03"]),
    (None, "lisp", "priority", "simple", ["t05", "T06", "t02", "t03", "t01", "t07", "t04"]),
    (None, "lisp", "-status,-priority", "simple", None),
    # UUID: canonical lowercase text, whatever the case (or hyphens) of the input and the literal.
    ('(= ref "123E4567-E89B-12D3-A456-426614174000")', "lisp", None, "simple", ["t01"]),
    ('(in ref ("00000000-0000-0000-0000-00000000000A" "ffffffff-ffff-ffff-ffff-ffffffffffff"))', "lisp", None, "simple", ["t04", "t05"]),
    ('(nin ref ("123e4567-e89b-12d3-a456-426614174000" null))', "lisp", None, "simple", ["T06", "t04", "t05"]),
    ('(!= ref "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF")', "lisp", None, "simple", ["T06", "t01", "t02", "t03", "t04", "t07"]),
    ('(<= ref "a0000000-0000-0000-0000-000000000000")', "lisp", "-ref", "simple", ["T06", "t01", "t04"]),
    ("(= ref null)", "lisp", None, "simple", ["t02", "t03", "t07"]),
    (None, "lisp", "-ref", "simple", ["t05", "T06", "t01", "t04", "t02", "t03", "t07"]),
    # Decimal: exact where the engine can; 0.1 is the same value everywhere.
    ("(= amount 0.1)", "lisp", None, "simple", ["t04"]),
    ("(= amount 0.10)", "lisp", None, "simple", ["t04"]),
    ("(= amount 100)", "lisp", None, "simple", ["t05"]),
    ("(in amount (0.1 0.25 1e2))", "lisp", None, "simple", ["T06", "t04", "t05"]),
    ("(< amount 0.25)", "lisp", "amount", "simple", ["t07", "t04"]),
    ("(between amount 0.1 12.5)", "lisp", "-amount", "simple", ["t01", "T06", "t04"]),
    ("(not (between amount 0 12.5))", "lisp", None, "simple", ["t02", "t03", "t05", "t07"]),
    (None, "lisp", "amount", "simple", ["t02", "t03", "t07", "t04", "T06", "t01", "t05"]),
    ('(any lines (and (= sku "A-1") (= price 100)))', "lisp", None, "simple", ["t04"]),
    ("(= lines.*.price 12.5)", "lisp", None, "simple", ["t05"]),
    # Untyped values: dotted paths never step into arrays; numbers, strings and booleans apart.
    ('(= extra.list.0 "x")', "lisp", None, "simple", []),
    ("(exists extra.list.0)", "lisp", None, "simple", []),
    ('(= extra.objs.0.k "v")', "lisp", None, "simple", []),
    ('(= extra.objs.k "v")', "lisp", None, "simple", ["t04"]),  # objs is an object only there
    ('(= extra.list "x")', "lisp", None, "simple", ["t04"]),
    ('(has extra.list "y")', "lisp", None, "simple", ["t01", "t07"]),
    ('(not (has extra.list "y"))', "lisp", None, "simple", ["T06", "t02", "t03", "t04", "t05"]),
    ("(= extra.score 7)", "lisp", None, "simple", ["t01", "t04"]),
    ('(= extra.score "7")', "lisp", None, "simple", ["t05"]),
    ("(> extra.score 7)", "lisp", None, "simple", ["T06"]),
    ("(= extra.flag true)", "lisp", None, "simple", ["t05"]),
    ("(is-null extra.score)", "lisp", None, "simple", ["t02", "t03", "t07"]),
    ('(in extra.source ("email" null))', "lisp", None, "simple", ["T06", "t01", "t02", "t03", "t07"]),
    ('(ilike extra.source "EMAIL")', "lisp", None, "simple", ["t01", "t05"]),
    ('(= extra.nested.a.b "c")', "lisp", None, "simple", ["t01"]),
    ("(exists extra.nested.a)", "lisp", None, "simple", ["T06", "t01", "t04"]),
    # Mixed JSON types sort by family (numbers, strings, booleans), then within it.
    (None, "lisp", "extra.score", "simple", ["t02", "t03", "t07", "t01", "t04", "T06", "t05"]),
    (None, "lisp", "-extra.score,-id", "simple", ["t05", "T06", "t04", "t01", "t07", "t03", "t02"]),
    (None, "lisp", "extra.source", "simple", ["T06", "t02", "t03", "t07", "t05", "t01", "t04"]),
    # 16 segments below an untyped field: the limit, on every backend, in filters and sorts.
    (f'(= {DEEP_PATH} "bottom")', "lisp", None, "simple", ["t01"]),
    (f"(= {DEEP_PATH} 5)", "lisp", None, "simple", ["t04"]),
    (f"(exists {DEEP_PATH})", "lisp", None, "simple", ["T06", "t01", "t04"]),
    (f'(not (= {DEEP_PATH} "bottom"))', "lisp", None, "simple", ["T06", "t02", "t03", "t04", "t05", "t07"]),
    (f'(ilike {DEEP_PATH} "BOTTOM")', "lisp", f"-{DEEP_PATH}", "simple", ["t01", "T06"]),
    (None, "lisp", f"-{DEEP_PATH}", "simple", None),
    # Non-ASCII field names and aliases.
    ("(exists café)", "lisp", "café", "simple", ["T06", "t04", "t01"]),
    ('(like café "cr%")', "lisp", None, "simple", ["t01"]),
    ('(= café "")', "lisp", None, "simple", ["T06"]),
    ('(ilike naïveNote "%NIÈRE")', "lisp", None, "simple", ["t05"]),
    ('(= note "first")', "lisp", "naïveNote,-id", "simple", ["t01"]),
    (None, "lisp", "-café", "simple", ["t01", "t04", "T06", "t02", "t03", "t05", "t07"]),
    # Datetimes (a naive value and a date alone are UTC) and a nested model's datetime.
    ('(= opened_at "2024-01-31T12:00:00Z")', "lisp", None, "simple", ["t04"]),
    ('(< opened_at "2024-01-31T12:00:00.5Z")', "lisp", "-opened_at", "simple", ["t04", "t05"]),
    ('(= opened_at "2024-02-29")', "lisp", None, "simple", ["T06"]),
    ('(= customer.vipSince "2023-06-01")', "lisp", None, "simple", ["t01"]),
    (None, "lisp", "-customer.vip_since", "simple", ["t05", "t01", "T06", "t02", "t03", "t04", "t07"]),
    # Negations and arrays of the model.
    ('(!= lines.*.sku "A-1")', "lisp", None, "simple", ["T06", "t02", "t03", "t07"]),
    ('(not (has labels "vip"))', "lisp", None, "simple", ["t02", "t03", "t04", "t05", "t07"]),
    ('(icontains labels "BILLING")', "lisp", None, "simple", ["t01", "t04", "t05", "t07"]),
    ('(not (= customer.tier "gold"))', "lisp", "customer.tier,-opened_at", "simple", ["t04", "t05", "t02", "t03", "T06"]),
    ("(= tenant_id 1)", "lisp", "-amount", "simple", ["t01", "t07", "t02"]),
    # The JSON styles reach the same traps.
    (
        '["and", ["=", "status", "OPEN"], ["in", "ref", ["A0000000-0000-0000-0000-000000000000", null]]]',
        "json",
        '[{"field": "amount", "order": "desc"}]',
        "json",
        ["T06", "t07", "t02", "t03"],
    ),
    ('{"or": [{"exists": "café"}, {"any": ["lines", {"=": ["qty", 0]}]}]}', "json", '["-priority", "café"]', "json", None),
]


# --------------------------------------------------------------------------- sources


def _sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    sources: dict[str, Any] = {"memory": crudql.sources.InMemory(TICKETS, model=Ticket)}
    sa = pytest.importorskip("sqlalchemy")
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        table = f"tickets_{uuid.uuid4().hex[:10]}"
        sources[name.removesuffix("_engine")] = crudql.sources.SQL.from_records(engine, TICKETS, Ticket, table)
        request.addfinalizer(lambda e=engine, t=table: sa.Table(t, sa.MetaData()).drop(e, checkfirst=True))
    mongomock = pytest.importorskip("mongomock")
    client = mongomock.MongoClient()
    sources["mongo"] = crudql.sources.Mongo.from_records(client.db[f"c{uuid.uuid4().hex}"], TICKETS, model=Ticket)
    sources["mongo-text-instants"] = crudql.sources.Mongo.from_records(
        client.db[f"c{uuid.uuid4().hex}"], TICKETS, model=Ticket, instants="string"
    )
    return sources


@pytest.fixture(scope="module")
def sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _sources(request)


def test_postgresql_stores_uuid_natively(sources: dict[str, Any]) -> None:
    if "postgres" not in sources:
        pytest.skip("no PostgreSQL")
    import sqlalchemy as sa

    source = sources["postgres"]
    with source.bind.connect() as conn:
        (kind,) = conn.execute(
            sa.text("SELECT data_type FROM information_schema.columns WHERE table_name = :t AND column_name = 'ref'"),
            {"t": source.table.name},
        ).one()
    assert kind == "uuid"


# --------------------------------------------------------------------------- comparing answers
#
# Two differences are the storage's, not the answer's: SQL has one NULL for "missing" and
# "null", so an explicit top-level null comes back absent (`_comparable`); and stored instants
# come back in UTC, where InMemory keeps the offset (or the naive value) the input had
# (`_utc`, `_json_instants`). Everything else must be equal. (Decimals in TICKETS are written
# as they come back from a double, "100.0" rather than "100": SQLite and MongoDB store doubles,
# and a Decimal's JSON text keeps its exponent.)

_INSTANT_KEYS = ("openedAt", "vipSince")


def _utc(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: _utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc(v) for v in value]
    return value


def _json_instants(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _INSTANT_KEYS and isinstance(v, str):
                parsed = parse_datetime(v)
                assert parsed is not None, v
                out[k] = instant_text(parsed)
            else:
                out[k] = _json_instants(v)
        return out
    if isinstance(value, list):
        return [_json_instants(v) for v in value]
    return value


def _comparable(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def _page(source: Any, q: str | None, qs: str, s: str | None, ss: str, size: int = 100, number: int = 1) -> Any:
    return crudql.run_query(crudql.PageRequest(q=q, qs=qs, s=s, ss=ss, page_size=size, page_number=number), source)


def _request_id(request: Request) -> str:
    q, _, s, _, _ = request
    return f"{q or ''}|{s or ''}".replace(DEEP_PATH, "extra.deep…k15")


@pytest.mark.parametrize(("q", "qs", "s", "ss", "expected"), REQUESTS, ids=[_request_id(r) for r in REQUESTS])
def test_every_backend_returns_the_same_page(
    sources: dict[str, Any], q: str | None, qs: str, s: str | None, ss: str, expected: list[str] | None
) -> None:
    if expected is not None:
        assert [t.id for t in _page(sources["memory"], q, qs, s, ss).data] == expected
    for size, number in ((3, 1), (3, 2), (100, 1)):
        answers = {name: _page(source, q, qs, s, ss, size, number) for name, source in sources.items()}
        reference = answers.pop("memory")
        body = reference.to_json_dict()
        for name, got in answers.items():
            where = f"{name}: page {number} of {size}"
            assert [t.id for t in got.data] == [t.id for t in reference.data], where
            assert got.total_count == reference.total_count, where
            assert [_utc(t.model_dump()) for t in got.data] == [_utc(t.model_dump()) for t in reference.data], where
            got_body = got.to_json_dict()
            assert {k: v for k, v in got_body.items() if k != "data"} == {k: v for k, v in body.items() if k != "data"}
            assert [_comparable(_json_instants(i)) for i in got_body["data"]] == [
                _comparable(_json_instants(i)) for i in body["data"]
            ], where


def test_the_requests_are_not_trivial(sources: dict[str, Any]) -> None:
    totals = [_page(sources["memory"], q, qs, s, ss).total_count for q, qs, s, ss, _ in REQUESTS]
    assert sum(1 for t in totals if 0 < t < len(TICKETS)) >= len(REQUESTS) * 2 // 3


# --------------------------------------------------------------------------- response bodies

# What every backend answers for the record that gave only its required fields: the defaults,
# and no None default (docs/spec/SERVICE.md §1).
T02_BODY = {
    "id": "t02",
    "tenantId": 1,
    "priority": 2,
    "status": "OPEN",
    "labels": [],
    "extra": {},
    "customer": {"tier": "free"},
    "lines": [],
}


def _body_of(source: Any, record_id: str) -> dict[str, Any]:
    page = _page(source, f'(= id "{record_id}")', "lisp", None, "simple")
    (item,) = page.to_json_dict()["data"]
    return item  # type: ignore[no-any-return]


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres", "mongo", "mongo-text-instants"])
def test_defaults_appear_in_the_body_and_unset_none_defaults_do_not(sources: dict[str, Any], backend: str) -> None:
    if backend not in sources:
        pytest.skip(f"{backend} is not available")
    source = sources[backend]
    assert _body_of(source, "t02") == T02_BODY
    first = _body_of(source, "t01")
    # Hidden fields are stored but never answered; element defaults are filled in.
    assert "secret" not in first and "s3cr3t-aaa" not in repr(first)
    assert first["lines"] == [{"sku": "A-1", "qty": 2, "price": "0.25"}, {"sku": "B-2", "qty": 1}]
    assert first["ref"] == "123e4567-e89b-12d3-a456-426614174000"  # canonical, from upper case
    assert first["customer"] == {"name": "Zoë", "tier": "gold", "vipSince": first["customer"]["vipSince"]}
    # A nested null the input set stays (it is inside JSON on every backend).
    assert _body_of(source, "t03")["customer"] == {"name": None, "tier": "free"}
    assert _body_of(source, "t04")["ref"] == "00000000-0000-0000-0000-00000000000a"


def test_hidden_fields_are_stored_but_not_queryable(sources: dict[str, Any]) -> None:
    """The secret is stored (a service may need it) and never reachable from a request."""
    for name, source in sources.items():
        for request in (
            crudql.PageRequest(q='(like secret "s3cr3t-a%")'),
            crudql.PageRequest(q='(exists secret)'),
            crudql.PageRequest(s="secret"),
        ):
            with pytest.raises(crudql.QueryError) as exc:
                crudql.run_query(request, source)
            assert exc.value.code == "unknown_field", name
            assert "did you mean" not in exc.value.message
        # Read back, a record holds what it held (a service may check a hash against it).
        (first,) = _page(source, '(= id "t01")', "lisp", None, "simple").data
        assert first.secret == "s3cr3t-aaa", name
    if "sqlite" in sources:
        import sqlalchemy as sa

        source = sources["sqlite"]
        with source.bind.connect() as conn:
            stored = dict(conn.execute(sa.select(source.table.c.id, source.table.c.secret)).all())
        assert stored["t01"] == "s3cr3t-aaa" and stored["t02"] is None
    document = sources["mongo"].collection.find_one({"id": "t04"})
    assert document["secret"] == "s3cr3t-bbb"


def test_a_uuid_on_a_text_column_answers_as_a_native_one(request: pytest.FixtureRequest) -> None:
    """docs/spec/SERVICE.md §1: UUID compares by canonical text on a native uuid column, a text
    column and in Python (a table of your own whose column is text)."""
    sa = pytest.importorskip("sqlalchemy")
    from pydantic import BaseModel

    class Keyed(BaseModel):
        id: str
        ref: uuid.UUID | None = None

    rows = [
        {"id": "a", "ref": "123e4567-e89b-12d3-a456-426614174000"},
        {"id": "b", "ref": "ffffffff-ffff-ffff-ffff-ffffffffffff"},
        {"id": "c", "ref": None},
    ]
    memory = crudql.sources.InMemory(rows, model=Keyed)
    requests = [
        ('(= ref "123E4567-E89B-12D3-A456-426614174000")', None),
        ('(in ref ("123E4567-E89B-12D3-A456-426614174000" "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"))', None),
        ('(nin ref ("123E4567-E89B-12D3-A456-426614174000"))', None),
        ('(> ref "1a000000-0000-0000-0000-000000000000")', "-ref"),
        (None, "ref"),
    ]
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        table = sa.Table(
            f"text_uuid_{uuid.uuid4().hex[:10]}",
            sa.MetaData(),
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("ref", sa.Text),
        )
        table.create(engine)
        try:
            with engine.begin() as conn:
                conn.execute(table.insert(), rows)
            source = crudql.sources.SQL(engine, table, model=Keyed)
            for q, s in requests:
                got = [r.id for r in _page(source, q, "lisp", s, "simple").data]
                assert got == [r.id for r in _page(memory, q, "lisp", s, "simple").data], (name, q, s)
        finally:
            table.drop(engine)


def test_decimals_compare_exactly_where_the_engine_can(request: pytest.FixtureRequest) -> None:
    """Python and PostgreSQL (NUMERIC) compare decimals exactly; SQLite and MongoDB store a
    double, so a value no double holds compares as the nearest one (docs/language.md)."""
    records = [
        {"id": "x", "tenantId": 1, "amount": "1.00000000000000000001"},
        {"id": "y", "tenantId": 1, "amount": "1"},
    ]
    exact = {"(> amount 1)": ["x"], "(= amount 1)": ["y"], "(<= amount 1)": ["y"]}
    doubles = {"(> amount 1)": [], "(= amount 1)": ["x", "y"], "(<= amount 1)": ["x", "y"]}
    sources = {"memory": (crudql.sources.InMemory(records, model=Ticket), exact)}
    sa = pytest.importorskip("sqlalchemy")
    for name, answers in (("sqlite_engine", doubles), ("postgres_engine", exact)):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        table = f"decimals_{uuid.uuid4().hex[:10]}"
        sources[name] = (crudql.sources.SQL.from_records(engine, records, Ticket, table), answers)
        request.addfinalizer(lambda e=engine, t=table: sa.Table(t, sa.MetaData()).drop(e, checkfirst=True))
    mongomock = pytest.importorskip("mongomock")
    collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]
    sources["mongo"] = (crudql.sources.Mongo.from_records(collection, records, model=Ticket), doubles)
    for name, (source, answers) in sources.items():
        for q, expected in answers.items():
            assert [t.id for t in _page(source, q, "lisp", None, "simple").data] == expected, (name, q)
    # PostgreSQL keeps every digit.
    if "postgres_engine" in sources:
        (first,) = _page(sources["postgres_engine"][0], '(= id "x")', "lisp", None, "simple").data
        assert str(first.amount) == "1.00000000000000000001"
