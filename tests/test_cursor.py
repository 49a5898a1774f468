"""Keyset cursors (SERVICE.md §4, docs/api.md "Cursors"): walking every page by cursor gives
the offset pages on every source; a cursor is bound to its filter, sort, page size and key,
and any other use, or any change to it, is a `CursorError` (code `cursor`)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import crudql
import crudql.cursor
import crudql.sample
from crudql import CursorError, PageRequest, QueryError, run_query
from crudql.models import Contact
from crudql.sources import InMemory
from support.strategies import contacts, filter_texts, sort_texts

RECORDS = crudql.sample.contacts(60, seed=11)
SORT = "-creation_time,name"


def _memory(**kw: Any) -> InMemory:
    return InMemory(RECORDS, model=Contact, **kw)


def _cursor(source: Any = None, **request: Any) -> str:
    page = run_query(PageRequest(page_size=5, s=SORT, **request), source or MEMORY)
    assert page.next_cursor is not None
    return page.next_cursor


MEMORY = _memory()


def _rejected(cursor: Any, source: Any = None, **request: Any) -> CursorError:
    with pytest.raises(CursorError) as exc:
        run_query(PageRequest(page_size=5, s=SORT, cursor=cursor, **request), source or MEMORY)
    assert exc.value.code == "cursor" and exc.value.param == "cursor"
    return exc.value


# ----------------------------------------------------------------------------- walking


def walk_by_cursor(source: Any, **request: Any) -> list[crudql.Page[Any]]:
    pages = [run_query(PageRequest(**request), source)]
    while pages[-1].next_cursor is not None:
        assert len(pages) <= 1000
        pages.append(run_query(PageRequest(**request, cursor=pages[-1].next_cursor), source))
    return pages


def walk_by_offset(source: Any, **request: Any) -> list[crudql.Page[Any]]:
    pages = [run_query(PageRequest(**request, page_number=1), source)]
    while pages[-1].data and pages[-1].page_number * pages[-1].page_size < pages[-1].total_count:
        pages.append(run_query(PageRequest(**request, page_number=len(pages) + 1), source))
    return pages


def assert_same_walk(source: Any, **request: Any) -> list[str]:
    """Walking by cursor gives the offset pages: same items, numbers and totals, and a
    next_cursor on every page but the last."""
    by_cursor, by_offset = walk_by_cursor(source, **request), walk_by_offset(source, **request)
    assert [[c.id for c in p.data] for p in by_cursor] == [[c.id for c in p.data] for p in by_offset], request
    assert [p.page_number for p in by_cursor] == list(range(1, len(by_offset) + 1))
    assert {p.total_count for p in by_cursor} == {by_offset[0].total_count}
    assert [p.next_cursor is None for p in by_cursor] == [False] * (len(by_cursor) - 1) + [True]
    ids = [c.id for p in by_cursor for c in p.data]
    assert len(ids) == len(set(ids)) == by_offset[0].total_count
    return ids


def test_walk_every_page_of_the_sample() -> None:
    ids = assert_same_walk(MEMORY, page_size=7, s=SORT)
    assert len(ids) == len(RECORDS)


def test_a_page_that_shows_the_end_has_no_next_cursor() -> None:
    assert run_query(PageRequest(page_size=60), MEMORY).next_cursor is None  # exactly every record
    assert run_query(PageRequest(page_size=61), MEMORY).next_cursor is None
    assert run_query(PageRequest(page_size=59), MEMORY).next_cursor is not None
    assert run_query(PageRequest(page_size=10, page_number=6), MEMORY).next_cursor is None
    assert run_query(PageRequest(page_size=10, page_number=99), MEMORY).next_cursor is None
    assert run_query(PageRequest(q='(= name "nobody")'), MEMORY).next_cursor is None


def test_a_cursor_counts_pages_on_and_keeps_the_total() -> None:
    page3 = run_query(PageRequest(page_size=5, s=SORT, page_number=3), MEMORY)
    assert page3.next_cursor is not None
    page4 = run_query(PageRequest(page_size=5, s=SORT, cursor=page3.next_cursor), MEMORY)
    assert page4.page_number == 4 and page4.total_count == len(RECORDS)
    assert page4.data == run_query(PageRequest(page_size=5, s=SORT, page_number=4), MEMORY).data


# Every source: InMemory, SQLite, PostgreSQL (with a DSN), MongoDB (mongomock). Each loader
# puts records into its source and returns it; the SQL ones reuse one table per engine.
SOURCES = ["memory", "sqlite", "postgresql", "mongo"]


@pytest.fixture(scope="module", params=SOURCES)
def load(request: pytest.FixtureRequest) -> Iterator[Callable[[list[dict[str, Any]]], Any]]:
    kind = request.param
    if kind == "memory":
        yield lambda records: InMemory(records, model=Contact)
        return
    if kind == "mongo":
        mongomock = pytest.importorskip("mongomock")
        collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]

        def into_mongo(records: list[dict[str, Any]]) -> Any:
            collection.delete_many({})
            return crudql.sources.Mongo.from_records(collection, records, model=Contact)

        yield into_mongo
        return
    from support.sql import shared

    engine = request.getfixturevalue({"sqlite": "sqlite_engine", "postgresql": "postgres_engine"}[kind])
    source = shared(engine)

    def into_sql(records: list[dict[str, Any]]) -> Any:
        with engine.begin() as conn:
            conn.execute(source.table.delete())
        source.insert(records)
        return source

    yield into_sql


CURSOR_EXAMPLES = settings().max_examples  # ci: 300 per source, dev: 40


@pytest.mark.slow
@settings(max_examples=CURSOR_EXAMPLES)
@given(
    records=contacts(min_size=3, max_size=19),
    q=st.one_of(st.none(), st.none(), filter_texts(max_depth=2)),  # most walks cover many pages
    sort=sort_texts(),
    page_size=st.integers(1, 4),
)
def test_walking_by_cursor_gives_the_offset_pages(
    load: Callable[[list[dict[str, Any]]], Any], records: Any, q: str | None, sort: tuple[str, str], page_size: int
) -> None:
    """Generated contacts (nulls, missing fields, ties on small value pools), filters and
    sorts (mixed directions, dict-key paths, enums, datetimes, booleans)."""
    source = load(records)
    ids = assert_same_walk(source, q=q, s=sort[0], ss=sort[1], page_size=page_size)
    pages = -(-len(ids) // page_size)
    event(f"pages: {pages if pages < 4 else '4+'}")


# ----------------------------------------------------------------------------- typed values


class Shade(str, enum.Enum):
    DARK = "dark"
    LIGHT = "Light"
    PALE = "pale"


class Typed(BaseModel):
    id: str
    when: dt.datetime | None = None
    day: dt.date | None = None
    amount: Decimal | None = None
    ref: uuid.UUID | None = None
    shade: Shade | None = None
    flag: bool | None = None
    ratio: float | None = None
    count: int | None = None
    name: str | None = None
    extra: dict[str, float] | None = None


def typed_records() -> list[dict[str, Any]]:
    base = dt.datetime(2024, 1, 31, 12, tzinfo=dt.timezone.utc)
    values: list[dict[str, Any]] = []
    for i in range(23):
        k = i % 5
        values.append(
            {
                "id": f"t{i:02d}",
                "when": None if k == 0 else (base + dt.timedelta(microseconds=1000 * (i % 3))).isoformat(),
                "day": None if k == 1 else f"2024-02-{1 + i % 4:02d}",
                "amount": None if k == 2 else str(Decimal("0.1") * (i % 4) - Decimal("0.2")),
                "ref": None if k == 3 else str(uuid.UUID(int=(i % 3) * 2**120 + 7)),
                "shade": None if k == 4 else ["dark", "Light", "pale"][i % 3],
                "flag": None if k == 0 else i % 2 == 0,
                "ratio": None if k == 1 else [-0.5, 0.0, 12.5][i % 3],
                "count": None if k == 2 else [-(2**63), 0, 2**53 + 1][i % 3],
                "name": None if k == 3 else ["é", "Z", "a", "😀"][i % 4],
                "extra": None if k == 4 else ({"USD": float(i % 3)} if i % 2 else {}),
            }
        )
    return values


def typed_sources(request: pytest.FixtureRequest) -> dict[str, Any]:
    records = typed_records()
    sources: dict[str, Any] = {"memory": InMemory(records, model=Typed)}
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        table = f"typed_{uuid.uuid4().hex[:10]}"
        sources[name] = crudql.sources.SQL.from_records(engine, records, model=Typed, table_name=table)
        request.addfinalizer(lambda s=sources[name], e=engine: s.table.drop(e))
    mongomock = pytest.importorskip("mongomock")
    collection = mongomock.MongoClient().db[f"c{uuid.uuid4().hex}"]
    sources["mongo"] = crudql.sources.Mongo.from_records(collection, records, model=Typed, instants="string")
    return sources


@pytest.fixture(scope="module")
def typed(request: pytest.FixtureRequest) -> dict[str, Any]:
    return typed_sources(request)


@pytest.mark.parametrize(
    "sort",
    ["when", "-when", "day", "-day", "amount", "-amount", "ref", "-ref", "shade", "-shade", "flag", "-flag",
     "ratio", "-ratio", "count", "-count", "name", "-name", "extra.USD", "-extra.USD", "-flag,when,-shade"],
)
def test_cursors_hold_every_kind_of_value(typed: dict[str, Any], sort: str) -> None:
    walks = {name: assert_same_walk(source, s=sort, page_size=2) for name, source in typed.items()}
    expected = walks.pop("memory")
    for name, ids in walks.items():
        assert ids == expected, name


def test_sort_values_are_typed_faithfully() -> None:
    source = InMemory(typed_records(), model=Typed)
    order = crudql.request.effective_sort(crudql.parse_sort("when,day,amount,ref,shade,flag,ratio,count,extra.USD", schema=source.schema), source.schema)
    values = crudql.cursor.sort_values(source.items[6], order)
    assert values == (
        dt.datetime(2024, 1, 31, 12, 0, 0, tzinfo=dt.timezone.utc),
        None,
        Decimal("0.0"),
        str(uuid.UUID(int=7)),
        "dark",
        True,
        None,
        -(2**63),
        None,
        "t06",
    )
    assert crudql.cursor.sort_values(source.items[13], order) == (
        dt.datetime(2024, 1, 31, 12, 0, 0, 1000, tzinfo=dt.timezone.utc),
        dt.date(2024, 2, 2),
        Decimal("-0.1"),
        None,
        "Light",
        False,
        0.0,
        0,
        1.0,
        "t13",
    )
    key, bound = b"k", crudql.cursor.binding(None, order, 5)
    token = crudql.cursor.encode_cursor(crudql.cursor.Position(3, values), key, bound, order)
    position = crudql.cursor.decode_cursor(token, key, bound, order)
    assert position.page_number == 3 and position.values == values
    assert [type(v) for v in position.values] == [type(v) for v in values]
    assert len(token) < 200


# ----------------------------------------------------------------------------- binding


def test_lisp_and_json_forms_of_one_filter_share_cursors() -> None:
    lisp = '(and (exists info.partner) (>= creation_time "2021-01-01"))'
    json_text = '{"and": [{"exists": "info.partner"}, [">=", "creationTime", "2021-01-01T00:00:00+00:00"]]}'
    cursor = _cursor(q=lisp)
    a = run_query(PageRequest(page_size=5, s=SORT, q=lisp, cursor=cursor), MEMORY)
    b = run_query(PageRequest(page_size=5, s=SORT, q=json_text, qs="json", cursor=cursor), MEMORY)
    assert a.data == b.data and a.page_number == b.page_number == 2
    # ... and the spellings of one sort
    c = run_query(PageRequest(page_size=5, s='[{"field": "creationTime", "order": "desc"}, "name"]', ss="json", q=lisp, cursor=cursor), MEMORY)
    assert c.data == a.data


@pytest.mark.parametrize(
    "other",
    [
        {"q": '(exists info.partner)'},
        {"s": "-creation_time"},
        {"s": "creation_time,name"},
        {"s": "-creation_time,name,id"},  # the same order, but another sort text: still another sort? no: see below
        {"page_size": 6},
    ],
)
def test_a_cursor_belongs_to_its_filter_sort_and_page_size(other: dict[str, Any]) -> None:
    cursor = _cursor()
    request = {"page_size": 5, "s": SORT, **other}
    if other.get("s") == "-creation_time,name,id":
        # id ends every sort already: spelling it out is the same sort, and the cursor holds.
        assert run_query(PageRequest(**request, cursor=cursor), MEMORY).page_number == 2
        return
    with pytest.raises(CursorError):
        run_query(PageRequest(**request, cursor=cursor), MEMORY)


def test_a_cursor_belongs_to_the_server_scope() -> None:
    schema = MEMORY.schema
    org_a = crudql.parse_filter('(= organization_id "org_acme")', schema=schema)
    org_b = crudql.parse_filter('(= organization_id "org_globex")', schema=schema)
    page = run_query(PageRequest(page_size=2, s=SORT), MEMORY, scope=org_a)
    assert page.next_cursor is not None
    assert run_query(PageRequest(page_size=2, s=SORT, cursor=page.next_cursor), MEMORY, scope=org_a).page_number == 2
    with pytest.raises(CursorError):
        run_query(PageRequest(page_size=2, s=SORT, cursor=page.next_cursor), MEMORY, scope=org_b)


def test_every_single_bit_flip_is_rejected() -> None:
    cursor = _cursor()
    run_query(PageRequest(page_size=5, s=SORT, cursor=cursor), MEMORY)  # the real one works
    flipped = 0
    for i, char in enumerate(cursor):
        for bit in range(8):
            _rejected(cursor[:i] + chr(ord(char) ^ (1 << bit)) + cursor[i + 1 :])
            flipped += 1
    assert flipped == 8 * len(cursor)


def test_truncated_and_extended_cursors_are_rejected() -> None:
    cursor = _cursor()
    for n in range(1, len(cursor)):
        _rejected(cursor[:n])
        _rejected(cursor[n:])
    for extra in ("A", "AA", "AAAA", "=", "==", "-", " "):
        _rejected(cursor + extra)


@pytest.mark.parametrize(
    "garbage",
    ["x", "AAAA", "A" * 40, "not a cursor", "é", "\x00", "=" * 8, "eyJwYWdlIjo1fQ", "🙂" * 3, "AQ" + "A" * 10_000],
)
def test_garbage_is_rejected(garbage: str) -> None:
    _rejected(garbage)


def test_a_cursor_past_the_length_limit() -> None:
    error = _rejected("A" * (crudql.cursor.MAX_CURSOR_LENGTH + 1))
    assert "longer than" in error.message


def test_a_forged_cursor_is_rejected() -> None:
    """A well-formed token with the right values, signed with another key."""
    order = crudql.request.effective_sort(crudql.parse_sort(SORT, schema=MEMORY.schema), MEMORY.schema)
    last = run_query(PageRequest(page_size=5, s=SORT), MEMORY).data[-1]
    position = crudql.cursor.Position(1, crudql.cursor.sort_values(last, order))
    bound = crudql.cursor.binding(None, order, 5)
    forged = crudql.cursor.encode_cursor(position, b"guessed key", bound, order)
    _rejected(forged)
    genuine = crudql.cursor.encode_cursor(position, crudql.cursor.cursor_key(MEMORY), bound, order)
    assert genuine == _cursor()


@given(key=st.binary(min_size=1, max_size=200), message=st.binary(max_size=300))
def test_the_tag_is_hmac_sha256(key: bytes, message: bytes) -> None:
    """The signature is RFC 2104 HMAC-SHA256 over the domain, binding and body, for keys
    shorter and longer than SHA-256's block (hashed first), the same as `hmac.digest`."""
    import hmac

    expected = hmac.digest(key, crudql.cursor._DOMAIN + b"bound" + message, "sha256")[:16]
    assert crudql.cursor._tag(key, b"bound", message) == expected
    assert crudql.cursor._tag(key, b"bound", message) == expected  # from the kept states


def test_keys_come_from_the_source_then_the_environment_then_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crudql.cursor.CURSOR_KEY_ENV, raising=False)
    keyed, other, unkeyed = _memory(cursor_key="s3cret"), _memory(cursor_key=b"other"), _memory()
    cursor = _cursor(keyed)
    assert run_query(PageRequest(page_size=5, s=SORT, cursor=cursor), _memory(cursor_key=b"s3cret")).page_number == 2
    _rejected(cursor, other)
    _rejected(cursor, unkeyed)
    # Without a source key: one process key for every source of this process ...
    assert run_query(PageRequest(page_size=5, s=SORT, cursor=_cursor(unkeyed)), _memory()).page_number == 2
    # ... or the environment's, when set.
    monkeypatch.setenv(crudql.cursor.CURSOR_KEY_ENV, "from the environment")
    from_env = _cursor(unkeyed)
    assert from_env != _cursor(keyed)
    assert run_query(PageRequest(page_size=5, s=SORT, cursor=from_env), _memory(cursor_key="from the environment")).page_number == 2
    monkeypatch.delenv(crudql.cursor.CURSOR_KEY_ENV)
    _rejected(from_env, unkeyed)


@pytest.mark.parametrize("key", ["", b"", 5, ["k"]])
def test_bad_cursor_keys(key: Any) -> None:
    with pytest.raises(ValueError, match="cursor_key"):
        InMemory([], model=Contact, cursor_key=key)


# ----------------------------------------------------------------------------- the request


def test_cursor_with_a_page_number_past_one_is_an_error() -> None:
    cursor = _cursor()
    with pytest.raises(QueryError) as exc:
        PageRequest(cursor=cursor, page_number=2)
    assert exc.value.code == "request" and exc.value.param == "cursor"
    assert PageRequest(cursor=cursor, page_number=1).cursor == cursor
    with pytest.raises(QueryError) as exc:
        PageRequest.from_params({"cursor": cursor, "page_number": "3"})
    assert exc.value.param == "cursor"


def test_from_params_takes_a_cursor() -> None:
    cursor = _cursor()
    request = PageRequest.from_params({"cursor": cursor, "page_size": "5", "s": SORT})
    assert request.cursor == cursor and run_query(request, MEMORY).page_number == 2
    assert PageRequest.from_params({"cursor": "  "}).cursor is None
    with pytest.raises(QueryError) as exc:
        PageRequest(cursor=5)
    assert exc.value.param == "cursor"


def test_the_json_body_is_unchanged() -> None:
    page = run_query(PageRequest(page_size=5), MEMORY)
    assert page.next_cursor is not None
    assert set(page.to_json_dict()) == {"data", "page_number", "page_size", "total_count"}


class NoId(BaseModel):
    name: str | None = None


def test_models_without_id_have_no_cursors() -> None:
    source = InMemory([{"name": str(i)} for i in range(5)], model=NoId)
    assert run_query(PageRequest(page_size=2), source).next_cursor is None
    with pytest.raises(CursorError, match="'id' field"):
        run_query(PageRequest(page_size=2, cursor="AAAA"), source)


class Loose(BaseModel):
    id: str
    value: Any = None


LOOSE = [
    {"id": f"l{i:02d}", **({} if v == "absent" else {"value": v})}
    for i, v in enumerate(["absent", None, 1, 2.5, -3, "a", "B", "", True, False, {"k": 1}, [1, 2], 1.0, "a", {"x": None}, 2, "absent"])
]


def test_untyped_sort_keys(request: pytest.FixtureRequest) -> None:
    """Untyped values order by JSON family, then value; the SQL keyset says "after" exactly
    that way, and MongoDB, which orders mixed types otherwise, refuses such cursors."""
    memory = InMemory(LOOSE, model=Loose)
    expected = {s: assert_same_walk(memory, s=s, page_size=2) for s in ("value", "-value")}
    for name in ("sqlite_engine", "postgres_engine"):
        try:
            engine = request.getfixturevalue(name)
        except pytest.skip.Exception:
            continue
        source = crudql.sources.SQL.from_records(engine, LOOSE, model=Loose, table_name=f"loose_{uuid.uuid4().hex[:8]}")
        try:
            for s, ids in expected.items():
                assert assert_same_walk(source, s=s, page_size=2) == ids, (name, s)
        finally:
            source.table.drop(engine)
    mongomock = pytest.importorskip("mongomock")
    mongo = crudql.sources.Mongo.from_records(mongomock.MongoClient().db.loose, LOOSE, model=Loose)
    page = run_query(PageRequest(page_size=2, s="value"), mongo)
    assert page.next_cursor is not None
    with pytest.raises(CursorError, match="untyped field 'value'"):
        run_query(PageRequest(page_size=2, s="value", cursor=page.next_cursor), mongo)
    assert assert_same_walk(mongo, s="id", page_size=5) == [r["id"] for r in LOOSE]


class OldSource:
    """A source written before cursors and `now`: page(where, order, offset, limit)."""

    def __init__(self) -> None:
        self.inner = InMemory(RECORDS, model=Contact)
        self.model, self.schema = Contact, self.inner.schema

    def page(self, where: Any, order: Any, offset: int, limit: int) -> tuple[list[Any], int]:
        return self.inner.page(where, order, offset, limit)


def test_a_source_of_the_old_protocol_still_serves_pages() -> None:
    source = OldSource()
    page = run_query(PageRequest(page_size=5, q="(exists name)", s=SORT, page_number=2), source)
    assert page.data == run_query(PageRequest(page_size=5, q="(exists name)", s=SORT, page_number=2), MEMORY).data
    assert page.next_cursor is not None  # issued; following it needs `after`
    with pytest.raises(TypeError):
        run_query(PageRequest(page_size=5, q="(exists name)", s=SORT, cursor=page.next_cursor), source)
