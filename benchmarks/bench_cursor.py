"""Deep pages: page N of 25 rows by cursor (keyset) and by page_number (OFFSET), on SQLite and
PostgreSQL, over 100,000 sample contacts.

    python benchmarks/bench_cursor.py                       # 100,000 contacts, both engines
    python benchmarks/bench_cursor.py --n 20000 --pages 1,100,800 --engines sqlite
    python benchmarks/bench_cursor.py --no-write            # print only

For each sort, the script first walks every page by cursor through `crudql.run_query` (and
checks the walk returns every record once, in the order the offset pages give), keeping the
cursors that lead to the measured pages. Then, for each measured page N, it times, interleaved:

- by offset: `run_query(PageRequest(page_number=N, page_size=25, s=...))`;
- by cursor: `run_query(PageRequest(cursor=<cursor of page N-1>, page_size=25, s=...))`;

both whole requests (parse from the cache, page query, count query, 25 `Contact` models), and
the page query alone (`SQLSource.page` minus the count: its statement executed directly), and
checks both give the same page. Times are the lower quartile of the interleaved runs.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

import crudql
from crudql.backends.sql import SQLSource
from crudql.cursor import binding, cursor_key, decode_cursor
from crudql.models import Contact
from crudql.request import PageRequest, effective_sort, run_query
from crudql.sample import contacts
from docs_section import write_section

PAGE_SIZE = 25
SORTS = [None, "-creation_time"]


def _quartile_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.quantiles(times, n=4)[0] if len(times) > 1 else times[0]


def measure(pairs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Lower quartile of interleaved runs of each function (ms)."""
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(repeat):
        for name, fn in pairs.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) * 1000)
    return {name: statistics.quantiles(ts, n=4)[0] for name, ts in times.items()}


def walk(source: SQLSource, sort: str | None, wanted: set[int]) -> tuple[dict[int, str | None], list[str], float]:
    """Every page by cursor: the cursor leading to each wanted page, every id, and seconds."""
    cursors: dict[int, str | None] = {1: None}
    ids: list[str] = []
    cursor = None
    page_number = 1
    t = time.perf_counter()
    while True:
        page = run_query(PageRequest(s=sort, page_size=PAGE_SIZE, cursor=cursor), source)
        assert page.page_number == page_number
        ids += [c.id for c in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
        page_number += 1
        if page_number in wanted:
            cursors[page_number] = cursor
    return cursors, ids, time.perf_counter() - t


def page_query(source: SQLSource, sort: str | None, page: int, cursor: str | None) -> Callable[[], list[Any]]:
    """The page statements alone, as `SQLSource.page` runs them (no count, no models)."""
    schema = source.schema
    order = effective_sort(crudql.parse_sort(sort, schema=schema), schema)
    limit = PAGE_SIZE + 1
    if cursor is None:
        statements = (source.statements(None, order).page,)
        params: dict[str, Any] = {"crudql_offset": (page - 1) * PAGE_SIZE}
    else:
        position = decode_cursor(cursor, cursor_key(source), binding(None, order, PAGE_SIZE), order)
        statements, params = source._after_statements(None, order, position.values, False)

    def run() -> list[Any]:
        rows: list[Any] = []
        with source._running() as conn:
            for statement in statements:
                rows += conn.execute(statement, {**params, "crudql_limit": limit - len(rows)}).all()
                if len(rows) >= limit:
                    break
        return rows

    return run


def run_engine(name: str, url: str, records: list[dict[str, Any]], pages: list[int], repeat: int) -> list[str]:
    engine = sa.create_engine(url)
    table = f"bench_cursor_{uuid.uuid4().hex[:8]}"
    t = time.perf_counter()
    source = SQLSource.from_records(engine, records, Contact, table_name=table)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE {table}")
    loaded = time.perf_counter() - t
    lines = [
        f"### {name}: {len(records):,} contacts (loaded, with the model's indexes, in {loaded:.1f} s)",
        "",
        "| sort | page | offset rows skipped | by offset: request ms | by cursor: request ms | by offset: page query ms "
        "| by cursor: page query ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    deepest: dict[str | None, str | None] = {}
    summary: list[str] = []
    try:
        for sort in SORTS:
            queries: dict[int, dict[str, float]] = {}
            cursors, ids, seconds = walk(source, sort, set(pages))
            deepest[sort] = cursors.get(max(pages))
            assert len(ids) == len(records) and len(set(ids)) == len(ids), "the walk returned every record once"
            for page in pages:
                if page not in cursors:
                    continue
                by_offset = PageRequest(s=sort, page_size=PAGE_SIZE, page_number=page)
                by_cursor = PageRequest(s=sort, page_size=PAGE_SIZE, cursor=cursors[page])
                a, b = run_query(by_offset, source), run_query(by_cursor, source)
                assert (
                    [c.id for c in a.data] == [c.id for c in b.data] == ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
                )
                assert a.page_number == b.page_number == page and a.total_count == b.total_count
                m = measure(
                    {
                        "offset": lambda r=by_offset: run_query(r, source),
                        "cursor": lambda r=by_cursor: run_query(r, source),
                        "offset query": page_query(source, sort, page, None),
                        "cursor query": page_query(source, sort, page, cursors[page]),
                    },
                    repeat,
                )
                queries[page] = m
                lines.append(
                    f"| `{sort or 'id'}` | {page:,} | {(page - 1) * PAGE_SIZE:,} | {m['offset']:.2f} | {m['cursor']:.2f} "
                    f"| {m['offset query']:.2f} | {m['cursor query']:.2f} |"
                )
                print(lines[-1], flush=True)
            first, last = queries[min(queries)], queries[max(queries)]
            summary.append(
                f"- `{sort or 'id'}`: the page query of page {max(queries):,} costs "
                f"{last['cursor query'] / first['cursor query']:.1f}× page {min(queries):,}'s by cursor, "
                f"{last['offset query'] / first['offset query']:.0f}× by offset; the whole request "
                f"{last['cursor'] / first['cursor']:.1f}× and {last['offset'] / first['offset']:.1f}×."
            )
            lines.append(
                f"| `{sort or 'id'}`: the whole walk | {len(ids) // PAGE_SIZE:,} pages | | | "
                f"{seconds * 1000 / (len(ids) / PAGE_SIZE):.2f} per page | | |"
            )
        lines += ["", *summary, "", *plans(source, deepest), ""]
    finally:
        source.table.drop(engine)
        engine.dispose()
    return lines


def plans(source: SQLSource, cursors: dict[str | None, str | None]) -> list[str]:
    """EXPLAIN of the deepest cursor page of each sort."""
    lines = []
    for sort, cursor in cursors.items():
        if cursor is None:
            continue
        schema = source.schema
        order = effective_sort(crudql.parse_sort(sort, schema=schema), schema)
        position = decode_cursor(cursor, cursor_key(source), binding(None, order, PAGE_SIZE), order)
        lines += [f"EXPLAIN of a cursor page sorted by `{sort or 'id'}`:", "", "```"]
        lines += source.explain(None, order, 0, PAGE_SIZE + 1, after=position.values)
        lines += ["```", ""]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pages", default="1,100,1000,4000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("CRUDQL_BENCH_POSTGRES_DSN")
        or os.environ.get("CRUDQL_TEST_POSTGRES_DSN")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args(argv)
    pages = [int(p) for p in args.pages.split(",")]
    records = contacts(args.n, args.seed)
    out = [
        "## Deep pages",
        "",
        f"`benchmarks/bench_cursor.py`: page N of {PAGE_SIZE} rows over {args.n:,} sample contacts (seed {args.seed}), "
        "by `page_number` (OFFSET) and by `cursor` (keyset, docs/api.md#cursors), through `run_query` on a `SQL` "
        "source made by `SQL.from_records` (its default indexes: the primary key `id`, `creation_time`, "
        f"`organization_id`). Lower quartile of {args.repeat} interleaved runs; Python {sys.version.split()[0]}, "
        f"SQLAlchemy {sa.__version__}, SQLite {sqlite3.sqlite_version}. A request is the page query, the count "
        "query (`total_count` counts every match on every page, cursor or not: most of a request's time here) "
        "and 25 models; the page query columns time the page statements alone. Page 1 is one request both ways "
        "(there is no cursor before it). The walk row is the mean cost per page of walking every page by cursor "
        "(`next_cursor` to `next_cursor`). The machine is shared (2 cores): compare the columns of one table, "
        "not times across runs.",
        "",
    ]
    engines = args.engines.split(",")
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory() as tmp:
            out += run_engine("SQLite", f"sqlite:///{tmp}/bench.db", records, pages, args.repeat)
    if "postgresql" in engines:
        out += run_engine("PostgreSQL", args.dsn, records, pages, args.repeat)
    text = "\n".join(out)
    print(text)
    if not args.no_write:
        write_section("## Deep pages", text)


if __name__ == "__main__":
    main()
