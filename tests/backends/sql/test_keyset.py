"""Keyset pages in SQL (`crudql.backends.sql.keyset`): no OFFSET, statements reused from page
to page, rows written between pages shift nothing, and the engine serves a cursor page from
an index range (EXPLAIN), on every engine."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.default import CACHE_HIT

import crudql
from crudql.backends.sql import SQLSource
from crudql.request import PageRequest, effective_sort, run_query
from support.sql import statements_run
from support.strategies import SCHEMA

RECORDS = [
    {
        "id": f"r{i:03d}",
        **({} if i % 7 == 0 else {"creationTime": f"2024-01-{1 + i % 9:02d}T00:00:00Z"}),
        "name": ["b", "a", "c"][i % 3],
    }
    for i in range(40)
]


def _walk(source: Any, **request: Any) -> tuple[list[str], list[str | None]]:
    ids: list[str] = []
    cursors: list[str | None] = [None]
    while True:
        page = run_query(PageRequest(cursor=cursors[-1], **request), source)
        ids += [c.id for c in page.data]
        if page.next_cursor is None:
            return ids, cursors
        cursors.append(page.next_cursor)


def test_cursor_pages_have_no_offset(engine: sa.Engine, make_source: Any) -> None:
    source = make_source(RECORDS)
    first = run_query(PageRequest(page_size=5, s="-creation_time"), source)
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        run_query(PageRequest(page_size=5, s="-creation_time", cursor=first.next_cursor), source)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    pages = [(s, p) for s, p in seen if "ORDER BY" in s]
    assert pages
    for statement, parameters in pages:
        if engine.dialect.name == "sqlite":
            # SQLAlchemy writes LIMIT ? OFFSET ? on SQLite, with a literal 0 for no offset.
            assert statement.endswith("LIMIT ? OFFSET ?") and parameters[-1] == 0
        else:
            assert "OFFSET" not in statement
    assert any("count(*)" in s for s, _ in seen)  # total_count still counts every match


def test_a_row_written_between_pages_shifts_nothing(make_source: Any) -> None:
    source = make_source(RECORDS)
    order = {"page_size": 6, "s": "-creation_time,name"}
    before = [c.id for n in range(1, 8) for c in run_query(PageRequest(page_number=n, **order), source).data]
    page1 = run_query(PageRequest(**order), source)
    page2 = run_query(PageRequest(cursor=page1.next_cursor, **order), source)
    # Rows that sort before the cursor's position (newer, and first by name) arrive, and one
    # row of a later page goes: later pages neither repeat a row nor skip one.
    source.insert([{"id": "new1", "creationTime": "2024-02-01T00:00:00Z"}, {"id": "new2", "creationTime": "2024-01-09T00:00:00Z", "name": "a"}])
    with source.bind.begin() as conn:  # type: ignore[union-attr]
        conn.execute(source.table.delete().where(source.table.c.id == before[20]))
    rest: list[str] = []
    cursor = page2.next_cursor
    while cursor is not None:
        page = run_query(PageRequest(cursor=cursor, **order), source)
        rest += [c.id for c in page.data]
        cursor = page.next_cursor
    walked = [c.id for c in page1.data] + [c.id for c in page2.data] + rest
    assert walked == [i for i in before if i != before[20]]
    # Offset pages after the same writes would have repeated rows (two arrived before page 3).
    shifted = [c.id for n in range(3, 9) for c in run_query(PageRequest(page_number=n, **order), source).data]
    assert set(shifted) & set(walked[:12])


def test_statements_are_reused_from_page_to_page(engine: sa.Engine, make_source: Any) -> None:
    source: SQLSource = make_source(RECORDS)
    hits: list[Any] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "ORDER BY" in statement:
            hits.append(context.cache_hit)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        ids, cursors = _walk(source, page_size=4, s="name")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(ids) == len(RECORDS) and len(cursors) == 10
    # One statement per shape of the position (here: one), built once and compiled once.
    assert len(source._after_cache) == 1
    assert hits[2:] == [CACHE_HIT] * (len(hits) - 2)


def test_a_nullable_descending_first_key_runs_in_two_segments(engine: sa.Engine, make_source: Any) -> None:
    """-creation_time from a value: the rest of the values (an index range), then, only when
    they do not fill the page, the nulls."""
    source = make_source(RECORDS)
    ids, _ = _walk(source, page_size=5, s="-creation_time")
    values = run_query(PageRequest(page_size=100, s="-creation_time"), source).data
    assert ids == [c.id for c in values]
    order = effective_sort(crudql.parse_sort("-creation_time", schema=SCHEMA), SCHEMA)
    nulls = sum(1 for c in values if c.creation_time is None)
    seen, stop = statements_run(engine)
    try:
        # A position among the values, far from the nulls: one statement (and the count).
        source.page(None, order, 0, 5, (values[3].creation_time, values[3].id))
        deep = len(seen)
        # Three values left: the page goes on into the nulls, with a second statement.
        at = len(values) - nulls - 4
        items, _ = source.page(None, order, 0, 5, (values[at].creation_time, values[at].id))
    finally:
        stop()
    assert deep == 2
    assert len(seen) == deep + 3
    assert [c.id for c in items] == [c.id for c in values[at + 1 : at + 6]]


def test_explain_shows_an_index_range(engine: sa.Engine, make_source: Any) -> None:
    source = make_source([{"id": f"r{i:04d}", "creationTime": f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"} for i in range(2000)])
    with engine.begin() as conn:
        analyze = "ANALYZE TABLE" if engine.dialect.name in ("mysql", "mariadb") else "ANALYZE"
        conn.exec_driver_sql(f"{analyze} {source.table.name}")
    order = effective_sort([], SCHEMA)
    plan = "\n".join(source.explain(None, order, 0, 26, after=("r1500",)))
    mariadb = engine.dialect.name in ("mysql", "mariadb")
    if engine.dialect.name == "sqlite":
        assert "SEARCH" in plan and "(id>?)" in plan, plan
    elif mariadb:  # EXPLAIN's rows: type `range` on the key
        assert "| range |" in plan and "| PRIMARY |" in plan, plan
    else:
        assert "Index" in plan and "id >" in plan, plan
    by_time = effective_sort(crudql.parse_sort("-creation_time", schema=SCHEMA), SCHEMA)
    last = run_query(PageRequest(page_size=1, page_number=1500, s="-creation_time"), source).data[0]
    plan = "\n".join(source.explain(None, by_time, 0, 26, after=(last.creation_time, last.id)))
    if mariadb:
        assert "| range |" in plan and "creation_time |" in plan, plan
    else:
        assert "creation_time" in plan and ("creation_time<" in plan or "creation_time <=" in plan), plan
