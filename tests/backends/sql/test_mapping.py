"""SQL sources over tables and ORM classes of your own (docs/embedding.md): the mapping, column
types as they are, computed fields, related rows without duplicates, a bounded number of
statements per page, errors at construction, and async equal to sync."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import uuid
from typing import Annotated, Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import crudql
from crudql.ast import Not
from crudql.models import Contact
from crudql.request import effective_sort
from support.normalized import load, memory, normalized, round_trip
from support.sql import statements_run
from support.strategies import SCHEMA, contacts, filters, sorts

DIFFERENTIAL_EXAMPLES = settings().max_examples


def _page(source: Any, q: str | None = None, s: str | None = None, size: int = 1000) -> crudql.Page[Any]:
    return crudql.run_query(crudql.PageRequest(q=q, s=s, page_size=size), source)


# ---------------------------------------------------------------------------- the normalized schema


@pytest.mark.slow
@settings(max_examples=DIFFERENTIAL_EXAMPLES)
@given(records=contacts(), where=st.none() | filters(), keys=sorts(), offset=st.integers(0, 6), limit=st.integers(1, 8))
def test_differential_on_your_own_tables(
    engine: sa.Engine, records: Any, where: Any, keys: Any, offset: int, limit: int
) -> None:
    load(engine, records)
    source = normalized(engine)
    held = round_trip(source)
    order = effective_sort(keys, SCHEMA)
    expected, expected_total = memory(held).page(where, order, offset, limit)
    got, total = source.page(where, order, offset, limit)
    context = f"q={crudql.to_lisp(where) if where else None} s={[(k.field, k.descending) for k in keys]}"
    assert [r.id for r in got] == [r.id for r in expected], context
    assert total == expected_total, context
    assert [r.model_dump() for r in got] == [r.model_dump() for r in expected], context
    if where is not None:  # the complement is exact: no row lost to UNKNOWN or to a join
        assert source.page(Not(where), order, 0, 1)[1] == len(held) - expected_total, context


@pytest.fixture
def crm(engine: sa.Engine) -> Any:
    records = crudql.sample.contacts(120, seed=11)
    load(engine, records)
    return normalized(engine)


@pytest.mark.parametrize(
    "q, s",
    [(None, "-creation_time"), ('(ilike name "%a%")', "name"), (None, "-info.cosellPartnerMetrics.accountCount"),
     ('(any info.cosellPartnerMetrics.accounts (= type "Customer"))', "-info.partner"), (None, "info.enrichedContactInfo.creationTime")],
)
def test_cursor_pages_on_your_own_tables_are_the_offset_pages(crm: Any, q: str | None, s: str) -> None:
    by_cursor, cursor = [], None
    while True:
        page = crudql.run_query(crudql.PageRequest(q=q, s=s, page_size=17, cursor=cursor), crm)
        by_cursor.append(([c.id for c in page.data], page.page_number, page.total_count))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    by_offset = []
    for n in range(1, len(by_cursor) + 1):
        page = crudql.run_query(crudql.PageRequest(q=q, s=s, page_size=17, page_number=n), crm)
        by_offset.append(([c.id for c in page.data], page.page_number, page.total_count))
    assert by_cursor == by_offset
    assert len(by_cursor) > 1


def test_now_on_naive_and_aware_datetime_columns(crm: Any) -> None:
    """`creation_time` is a DATETIME without a zone (UTC wall time), `last_update_time` one with
    a zone: `now` is bound per request in each column's form."""
    held = round_trip(crm)
    instants = sorted(c["creationTime"] for c in held if c.get("creationTime"))
    at = dt.datetime.fromisoformat(instants[len(instants) // 2].replace("Z", "+00:00")) + dt.timedelta(days=3)
    for q in ['(>= creation_time (now "-3d"))', '(< creation_time (now "-3d"))', '(<= last_update_time (now "-10d"))',
              '(in creation_time ((now "-3d") "2024-01-31"))']:
        got = crudql.run_query(crudql.PageRequest(q=q, page_size=1000), crm, now=at)
        expected = crudql.run_query(crudql.PageRequest(q=q, page_size=1000), memory(held), now=at)
        assert [c.id for c in got.data] == [c.id for c in expected.data], q
    assert 0 < crudql.run_query(crudql.PageRequest(q='(>= creation_time (now "-3d"))'), crm, now=at).total_count < len(held)


def test_to_many_filters_never_duplicate_rows_or_inflate_counts(crm: Any) -> None:
    held = round_trip(crm)
    many = [r for r in held if sum(1 for a in r.get("info", {}).get("cosellPartnerMetrics", {}).get("accounts", [])) > 1]
    assert many, "the sample must have contacts with several accounts"
    q = "(exists info.cosellPartnerMetrics.accounts.*.name)"
    page = _page(crm, q)
    assert page.total_count == len({c.id for c in page.data}) == _page(memory(held), q).total_count
    assert page.total_count >= len(many)


def test_a_page_costs_one_statement_per_to_many_relationship(engine: sa.Engine, crm: Any) -> None:
    seen, stop = statements_run(engine)
    try:
        page = _page(crm, "(exists info.cosellPartnerMetrics)", "-creation_time", size=25)
    finally:
        stop()
    # The page, the count (a full page), and one statement per to-many relationship: accounts,
    # their opportunities, the industries. Never one per row.
    assert len(page.data) == 25
    assert len(seen) == 2 + 3 == crm.statements_per_page
    assert sum(1 for s in seen if "crm_opportunity" in s and s.lstrip().upper().startswith("SELECT")) == 1


def test_a_mapped_source_creates_and_migrates_nothing(engine: sa.Engine, crm: Any) -> None:
    seen, stop = statements_run(engine)
    try:
        normalized(engine)
    finally:
        stop()
    assert seen == []


# ---------------------------------------------------------------------------- mapping errors


class Person(BaseModel):
    id: int
    name: str | None = None
    email: str | None = None
    nickname: str | None = None


def _people(metadata: sa.MetaData, *columns: sa.Column[Any]) -> sa.Table:
    return sa.Table("people", metadata, sa.Column("id", sa.Integer, primary_key=True), *columns)


def test_a_field_that_resolves_nowhere_stops_the_source_naming_it() -> None:
    table = _people(sa.MetaData(), sa.Column("full_name", sa.Text))
    with pytest.raises(ValueError, match=r"Person fields with no column.*'people'.*: name, email, nickname"):
        crudql.sources.SQL(sa.create_engine("sqlite://"), table, model=Person)


def test_fields_must_name_fields_of_the_model() -> None:
    table = _people(sa.MetaData(), *(sa.Column(n, sa.Text) for n in ("name", "email", "nickname")))
    with pytest.raises(ValueError, match="'nick' is not a field of Person"):
        crudql.sources.SQL(sa.create_engine("sqlite://"), table, model=Person, fields={"nick": table.c.nickname})


def test_renamed_columns_and_computed_fields_filter_and_sort(sqlite_engine: sa.Engine) -> None:
    metadata = sa.MetaData()
    table = _people(metadata, sa.Column("full_name", sa.Text), sa.Column("mail", sa.Text), sa.Column("nick", sa.Text))
    metadata.create_all(sqlite_engine)
    rows = [
        {"id": 1, "full_name": "Ann", "mail": "a@x", "nick": None},
        {"id": 2, "full_name": "Bob", "mail": None, "nick": "bobby"},
        {"id": 3, "full_name": None, "mail": "c@x", "nick": None},
    ]
    with sqlite_engine.begin() as conn:
        conn.execute(table.insert(), rows)
    source = crudql.sources.SQL(
        sqlite_engine,
        table,
        model=Person,
        fields={
            "name": table.c.full_name,
            "email": table.c.mail,
            # A computed field: any SQL expression over the row filters and sorts like a column.
            "nickname": sa.func.coalesce(table.c.nick, table.c.full_name),
        },
    )
    try:
        assert [p.nickname for p in _page(source, s="-nickname").data] == ["bobby", "Ann", None]
        assert [p.id for p in _page(source, '(starts-with nickname "b")').data] == [2]
        assert [p.id for p in _page(source, "(is-null nickname)").data] == [3]
        assert [p.id for p in _page(source, '(!= nickname "Ann")').data] == [2, 3]
    finally:
        metadata.drop_all(sqlite_engine)


# ---------------------------------------------------------------------------- column types


class Level(str, enum.Enum):
    LOW = "low"
    HIGH = "high"
    NONE = ""  # a value that is not its name: stored by name, compared by value


class Item(BaseModel):
    id: int
    big: int | None = None
    price: decimal.Decimal | None = None
    ratio: float | None = None
    active: bool | None = None
    code: str | None = None
    note: str | None = None
    level: Level | None = None
    day: dt.date | None = None
    seen_utc: dt.datetime | None = None
    seen: dt.datetime | None = None
    ref: uuid.UUID | None = None
    data: dict[str, Any] | None = None
    labels: Annotated[list[str] | None, Field()] = None


def _items_table(metadata: sa.MetaData, dialect: str) -> sa.Table:
    json_type = sa.dialects.postgresql.JSONB if dialect == "postgresql" else sa.JSON
    labels_type: Any = sa.ARRAY(sa.Text) if dialect == "postgresql" else sa.JSON
    return sa.Table(
        "typed_items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("big", sa.BigInteger),
        sa.Column("price", sa.Numeric(12, 4)),
        sa.Column("ratio", sa.Float),
        sa.Column("active", sa.Boolean),
        sa.Column("code", sa.String(20)),
        sa.Column("note", sa.Text),
        sa.Column("level", sa.Enum(Level, name="level")),
        sa.Column("day", sa.Date),
        sa.Column("seen_utc", sa.DateTime(timezone=False)),
        sa.Column("seen", sa.DateTime(timezone=True)),
        sa.Column("ref", sa.Uuid),
        sa.Column("data", json_type),
        sa.Column("labels", labels_type),
    )


ITEMS: list[dict[str, Any]] = [
    {"id": 1, "big": 2**62, "price": decimal.Decimal("12.5000"), "ratio": 0.5, "active": True, "code": "B",
     "note": "Straße", "level": Level.LOW, "day": dt.date(2024, 1, 31),
     "seen_utc": dt.datetime(2024, 1, 31, 12), "seen": dt.datetime(2024, 1, 31, 14, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "ref": uuid.UUID("123e4567-e89b-12d3-a456-426614174000"), "data": {"k": [1, 2], "s": "x"}, "labels": ["a", "VIP"]},
    {"id": 2, "big": -5, "price": decimal.Decimal("0.1000"), "ratio": None, "active": False, "code": "a",
     "note": "STRASSE", "level": Level.NONE, "day": None, "seen_utc": dt.datetime(2023, 12, 31, 23, 59, 59),
     "seen": None, "ref": uuid.UUID("f23e4567-e89b-12d3-a456-426614174000"), "data": None, "labels": []},
    {"id": 3, "big": None, "price": None, "ratio": 2.25, "active": None, "code": None, "note": None,
     "level": Level.HIGH, "day": dt.date(2023, 5, 1), "seen_utc": None,
     "seen": dt.datetime(2024, 1, 31, 12, tzinfo=dt.timezone.utc), "ref": None, "data": {"k": "x"}, "labels": None},
]

TYPED_REQUESTS = [
    ("(> big 0)", "-big"), ("(= price 0.1)", None), ("(between price 0.1 12.5)", "price"), ("(< ratio 1)", "-ratio"),
    ("(= active false)", "active"), ("(!= active true)", None), ('(> code "B")', "code"), ('(ilike note "%strasse%")', "note"),
    ('(= level "")', "level"), ('(in level ("low" "high"))', "-level"), ('(< level "low")', None), ('(like level "h%")', None),
    ('(>= day "2024-01-01")', "day"), ('(= seen_utc "2024-01-31T12:00:00Z")', "-seen_utc"),
    ('(= seen "2024-01-31T12:00:00Z")', "seen"), ('(< seen_utc "2024-01-01")', None),
    ('(= ref "123E4567-E89B-12D3-A456-426614174000")', "-ref"), ('(< ref "f0000000-0000-0000-0000-000000000000")', "ref"),
    ('(= data.s "x")', None), ("(has data.k 2)", None), ('(exists data.k)', None),
    ('(has labels "VIP")', None), ('(icontains labels "vip")', None), ("(exists labels)", None), ('(has-all labels ("a" "VIP"))', None),
    ("(is-null labels)", None), (None, "-seen"),
]


@pytest.fixture
def typed(engine: sa.Engine) -> Any:
    metadata = sa.MetaData()
    table = _items_table(metadata, engine.dialect.name)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), ITEMS)
    yield crudql.sources.SQL(engine, table, model=Item)
    metadata.drop_all(engine)


def test_columns_keep_their_own_types(typed: Any) -> None:
    held = [i.model_dump() for i in _page(typed).data]
    assert held[0]["seen_utc"] == dt.datetime(2024, 1, 31, 12, tzinfo=dt.timezone.utc)  # naive means UTC
    assert held[1]["level"] is Level.NONE and held[1]["labels"] == []
    reference = crudql.sources.InMemory(held, model=Item)
    for q, s in TYPED_REQUESTS:
        got, expected = _page(typed, q, s), _page(reference, q, s)
        assert [i.id for i in got.data] == [i.id for i in expected.data], (q, s)
        assert got.total_count == expected.total_count, (q, s)


# ---------------------------------------------------------------------------- relationships on a small ORM


class Base(DeclarativeBase):
    type_annotation_map = {str: sa.String(200)}  # a length MariaDB's VARCHAR needs


class TeamRow(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None]
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id", use_alter=True, name="fk_team_lead"))
    lead: Mapped[MemberRow | None] = relationship(foreign_keys=[lead_id])
    members: Mapped[list[MemberRow]] = relationship(foreign_keys="MemberRow.team_id", order_by="MemberRow.id")


class MemberRow(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    name: Mapped[str | None]
    age: Mapped[int | None]


class Member(BaseModel):
    name: str | None = None
    age: int | None = None


class Team(BaseModel):
    id: int
    title: str | None = None
    lead: Member | None = None
    members: list[Member] | None = None
    member_names: list[str] | None = None


@pytest.fixture
def teams(engine: sa.Engine) -> Any:
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        people = [MemberRow(id=i, name=n, age=a) for i, (n, a) in enumerate([("Ann", 30), ("Bob", None), ("Cy", 41)], 1)]
        session.add_all(people)
        session.flush()
        session.add_all(
            [
                TeamRow(id=1, title="core", lead_id=1, members=[people[0], people[1]]),
                TeamRow(id=2, title="edge", lead_id=None, members=[people[2]]),
                TeamRow(id=3, title=None, lead_id=3, members=[]),
            ]
        )
        session.commit()
    source = crudql.sources.SQL(
        engine, TeamRow, model=Team, fields={"member_names": MemberRow.name, "lead": TeamRow.lead}
    )
    yield source
    Base.metadata.drop_all(engine)


def test_to_one_to_many_and_scalar_columns_of_related_rows(teams: Any) -> None:
    held = [t.model_dump(mode="json", exclude_none=True) for t in _page(teams).data]
    assert held == [
        {"id": 1, "title": "core", "lead": {"name": "Ann", "age": 30},
         "members": [{"name": "Ann", "age": 30}, {"name": "Bob"}], "member_names": ["Ann", "Bob"]},
        {"id": 2, "title": "edge", "members": [{"name": "Cy", "age": 41}], "member_names": ["Cy"]},
        {"id": 3, "lead": {"name": "Cy", "age": 41}, "members": [], "member_names": []},
    ]
    reference = crudql.sources.InMemory(held, model=Team)
    for q, s in [
        ('(= lead.name "Ann")', None), ("(is-null lead)", None), ("(> lead.age 35)", "-lead.age"),
        ("(any members (is-null age))", None), ("(all members (exists age))", None), ('(has member_names "Cy")', None),
        ('(!= members.*.name "Ann")', None), ("(exists members)", "lead.name"), ('(nin lead.name ("Ann"))', "-title"),
    ]:
        assert [t.id for t in _page(teams, q, s).data] == [t.id for t in _page(reference, q, s).data], (q, s)


# ---------------------------------------------------------------------------- async


def test_async_engines_answer_like_sync_ones(engine: sa.Engine, crm: Any, tmp_path: Any) -> None:
    pytest.importorskip("greenlet")
    from sqlalchemy.ext.asyncio import create_async_engine

    if engine.dialect.name == "sqlite":
        pytest.importorskip("aiosqlite")
        sync = sa.create_engine(f"sqlite:///{tmp_path}/crm.db")
        load(sync, crudql.sample.contacts(120, seed=11))
        url = f"sqlite+aiosqlite:///{tmp_path}/crm.db"
        reference = normalized(sync)
        options: dict[str, Any] = {}
    elif engine.dialect.name == "mysql":
        pytest.importorskip("aiomysql")
        url = engine.url.set(drivername="mysql+aiomysql")  # the session's own database
        reference = crm
        options = {}
    else:
        url = engine.url.set(drivername="postgresql+psycopg")
        reference = crm
        with engine.connect() as conn:  # the session's own schema (tests/conftest.py)
            options = {"options": f"-csearch_path={conn.exec_driver_sql('SELECT current_schema()').scalar_one()}"}

    async def answers() -> list[Any]:
        async_engine = create_async_engine(url, connect_args=options)
        try:
            source = normalized(async_engine)
            out = []
            for q, s in [(None, "-creation_time"), ('(any info.cosellPartnerMetrics.accounts (= type "Customer"))', "name"),
                         ('(ilike name "%an%")', None)]:
                out.append(await crudql.run_query_async(crudql.PageRequest(q=q, s=s, page_size=7, page_number=2), source))
            return out
        finally:
            await async_engine.dispose()

    for got, (q, s) in zip(asyncio.run(answers()), [(None, "-creation_time"), ('(any info.cosellPartnerMetrics.accounts (= type "Customer"))', "name"), ('(ilike name "%an%")', None)]):
        expected = crudql.run_query(crudql.PageRequest(q=q, s=s, page_size=7, page_number=2), reference)
        assert [c.model_dump() for c in got.data] == [c.model_dump() for c in expected.data]
        assert got.total_count == expected.total_count


def test_a_sync_call_on_an_async_source_says_what_to_do(tmp_path: Any) -> None:
    pytest.importorskip("aiosqlite")
    from sqlalchemy.ext.asyncio import create_async_engine

    sync = sa.create_engine(f"sqlite:///{tmp_path}/crm.db")
    load(sync, [])
    source = normalized(create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/crm.db"))
    with pytest.raises(TypeError, match="run_query_async"):
        crudql.run_query(crudql.PageRequest(), source)


def test_run_query_async_runs_sync_sources_in_a_thread() -> None:
    source = crudql.sources.InMemory(crudql.sample.contacts(20, seed=1), model=Contact)
    got = asyncio.run(crudql.run_query_async(crudql.PageRequest(s="name"), source))
    assert got == crudql.run_query(crudql.PageRequest(s="name"), source)
