"""Request time against table size: crudql vs hand-written SQL on SQLite and PostgreSQL, plotted.

    python benchmarks/bench_scale.py                                # 10k, 100k, 1M contacts; SQLite + PostgreSQL
    python benchmarks/bench_scale.py --sizes 10000,50000 --engines sqlite --no-write
    CRUDQL_BENCH_POSTGRES_DSN=postgresql+psycopg://postgres@127.0.0.1:5432/test python benchmarks/bench_scale.py

One request, the spec's five-clause filter sorted newest first and a page of 20, page +
count, at each table size: through `crudql.run_query` on a `SQL.from_records` table, and as
the SQL an engineer writes by hand for it (plain `LIKE` on SQLite, `ILIKE` on PostgreSQL), run
on the DBAPI connection (see `bench_sql.py` for how the two sides are paired and timed). Both
sides must return the same page and count before they are timed.

Writes the `## Request time against table size` section of docs/benchmarks.md and the plot
`docs/benchmarks-scale.png` (needs matplotlib: `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench_sql import FIVE_CLAUSES, HAND_WRITTEN, hand_written, load, measure, raw_connection, through_crudql
from crudql.sample import contacts
from docs_section import DOCS, ROOT, write_section

TITLE = "## Request time against table size"
PLOT = ROOT / "docs" / "benchmarks-scale.png"

# The spec's five clauses and what a careful engineer writes for them by hand (the engine's own
# case-insensitive LIKE), as bench_sql.py times them.
HAND = {dialect: sql[FIVE_CLAUSES.name] for dialect, sql in HAND_WRITTEN.items()}


@dataclass(frozen=True)
class Point:
    engine: str
    size: int
    matches: int
    crudql_ms: float
    hand_ms: float

    @property
    def ratio(self) -> float:
        return self.crudql_ms / self.hand_ms


def replicate(engine: sa.Engine, table: sa.Table, copies: int) -> None:
    """Add `copies - 1` copies of every row with fresh ids (`<id>~<k>`), in SQL: loading a million
    records through `from_records` takes longer than the whole benchmark."""
    k = sa.union_all(*(sa.select(sa.literal(i, sa.Integer).label("k")) for i in range(1, copies))).cte("copies")
    columns = list(table.c)
    fresh_id = sa.cast(table.c.id + "~" + sa.cast(k.c.k, sa.String), table.c.id.type)
    select = sa.select(*(fresh_id if c.name == "id" else c for c in columns)).select_from(table.join(k, sa.true()))
    with engine.begin() as conn:
        conn.execute(sa.insert(table).from_select([c.name for c in columns], select))
        conn.exec_driver_sql(f"ANALYZE {table.name}")


def measure_engine(engine_name: str, url: str, records: list[dict[str, Any]], size: int, repeat: int) -> Point:
    engine = sa.create_engine(url)
    table = f"bench_scale_{uuid.uuid4().hex[:8]}"
    source, seconds = load(engine, records, table)
    if size > len(records):
        started = time.perf_counter()
        replicate(engine, source.table, size // len(records))
        seconds += time.perf_counter() - started
    raw = raw_connection(engine_name, url)
    sql = HAND[engine_name]
    try:
        ours, total = through_crudql(source, FIVE_CLAUSES)
        theirs, their_total = hand_written(engine_name, raw, table, sql, FIVE_CLAUSES)
        assert [c.id for c in ours] == [c.id for c in theirs] and total == their_total, (engine_name, len(records))
        m = measure(
            {
                "crudql": lambda: through_crudql(source, FIVE_CLAUSES),
                "hand": lambda: hand_written(engine_name, raw, table, sql, FIVE_CLAUSES),
            },
            repeat,
        )
        point = Point(engine_name, size, total, m["crudql"], m["hand"])
        print(
            f"{engine_name:>10} {size:>9,} rows (loaded in {seconds:.0f} s): {total:,} matches, "
            f"crudql {point.crudql_ms:.2f} ms, hand-written {point.hand_ms:.2f} ms, {point.ratio:.2f}×",
            flush=True,
        )
        return point
    finally:
        raw.close()
        source.table.drop(engine)
        engine.dispose()


def plot(points: list[Point], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    styles = {"sqlite": "tab:blue", "postgresql": "tab:orange"}
    for engine_name in dict.fromkeys(p.engine for p in points):
        mine = [p for p in points if p.engine == engine_name]
        sizes = [p.size for p in mine]
        color = styles.get(engine_name, "tab:gray")
        ax.plot(sizes, [p.crudql_ms for p in mine], "o-", color=color, label=f"{engine_name}: crudql")
        ax.plot(
            sizes, [p.hand_ms for p in mine], "s--", color=color, alpha=0.7, label=f"{engine_name}: hand-written SQL"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("contacts in the table")
    ax.set_ylabel("page + count, ms (lower quartile)")
    ax.set_title("Five-clause filter, page of 20 + total count")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(points: list[Point], repeat: int) -> str:
    lines = [
        TITLE,
        "",
        f"`python benchmarks/bench_scale.py` — Python {sys.version.split()[0]}, SQLAlchemy {sa.__version__}, "
        f"{time.strftime('%Y-%m-%d')}; lower quartile of {repeat} interleaved runs per point (fewer at 1M rows). "
        "The spec's five-clause filter (`organization_id` = org_acme, partner in AWS/GCP, accountCount ≥ 2, "
        '`ilike name "%an%"`, not tagged churned), newest first, page of 20, page + count, through `run_query` '
        "on a `SQL.from_records` table vs the hand-written SQL (engine `LIKE`/`ILIKE`) on the DBAPI connection. "
        "Tables larger than 100,000 rows hold the 100,000 sample contacts repeated with fresh ids (`<id>~<k>`), "
        "so matches grow in proportion.",
        "",
        f"![request time against table size]({PLOT.relative_to(DOCS.parent).as_posix()})",
        "",
        "| engine | contacts | matches | crudql ms | hand-written ms | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        lines.append(
            f"| {p.engine} | {p.size:,} | {p.matches:,} | {p.crudql_ms:.2f} | {p.hand_ms:.2f} | {p.ratio:.2f}× |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--repeat",
        type=int,
        default=20,
        help="interleaved runs per point; about a third of that at 1M rows (at least 5)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--distinct",
        type=int,
        default=100_000,
        help="distinct sample contacts; larger tables repeat them with fresh ids",
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("CRUDQL_BENCH_POSTGRES_DSN")
        or os.environ.get("CRUDQL_TEST_POSTGRES_DSN")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)
    points: list[Point] = []
    for size in (int(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        records = contacts(min(size, args.distinct), args.seed)
        print(f"{len(records):,} contacts generated in {time.perf_counter() - started:.0f} s", flush=True)
        repeat = args.repeat if size < 1_000_000 else max(5, args.repeat // 10 * 3)
        for engine_name in args.engines.split(","):
            if engine_name == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    points.append(measure_engine("sqlite", f"sqlite:///{tmp}/scale.db", records, size, repeat))
            else:
                points.append(measure_engine(engine_name, args.dsn, records, size, repeat))
        del records
    points.sort(key=lambda p: (p.engine, p.size))
    text = markdown(points, args.repeat)
    print("\n" + text)
    if not args.no_write:
        plot(points, PLOT)
        write_section(TITLE, text)
        print(f"wrote {PLOT.relative_to(ROOT)} and the section of {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
