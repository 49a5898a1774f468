"""The performance goals in one run: every figure a ratio against its baseline, timed interleaved.

    python benchmarks/bench_goals.py                       # 100,000 contacts; SQLite, PostgreSQL, MariaDB
    python benchmarks/bench_goals.py --n 20000 --engines sqlite --no-write

The spec's five-clause filter throughout:

- parsing: crudql's cold parse (schema check included, and without it) against pygeofilter's
  CQL2-text and CQL2-JSON parse of the same clauses (`bench_python.py` (c)), and the cached parse;
- a whole request over `sources.InMemory` against hand-written Python (`bench_python.py` (a));
- page + count through `run_query` on a `SQL.from_records` table against hand-written SQL with
  the engine's own case-insensitive `LIKE`/`ILIKE` (`bench_sql.py`), per engine.

Writes the `## Goals` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

import bench_python as bp
import crudql
from bench_scale import HAND
from bench_sql import FIVE_CLAUSES, GOALS, HAND_WRITTEN, hand_written, load, measure, raw_connection, through_crudql
from crudql import sample
from crudql.models import Contact
from docs_section import DOCS, ROOT, write_section

TITLE = "## Goals"
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB"}
ENGINE_GOALS = {"sqlite": 1.05, "postgresql": 1.05, "mysql": 1.1}


@dataclass(frozen=True)
class Goal:
    work: str
    crudql: float  # seconds
    baseline: str
    other: float | None  # seconds; None for an absolute bound
    goal: float  # a ratio bound, or microseconds when `other` is None

    @property
    def met(self) -> bool:
        return (self.crudql / self.other if self.other else self.crudql * 1e6) <= self.goal


def parsing(repeat: int) -> list[Goal]:
    from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
    from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

    limits, schema = crudql.DEFAULT_LIMITS, bp.SCHEMA
    lisp, json_text = bp.PARSE_LISP, crudql.to_json(crudql.parse_filter(bp.PARSE_LISP))
    cql_text: Callable[[], Any] = lambda: parse_cql2_text(bp.PARSE_CQL2_TEXT)  # noqa: E731
    cql_json: Callable[[], Any] = lambda: parse_cql2_json(bp.PARSE_CQL2_JSON)  # noqa: E731

    def timed(mine: Callable[[], Any], other: Callable[[], Any]) -> tuple[float, float]:
        # Many short rounds, interleaved: a round must be shorter than the machine's load swings.
        ours, theirs = bp.compare(mine, other, repeat * 8, max(1, bp.calls_for(mine, 0.05)))
        assert theirs is not None
        return ours, theirs

    cached = bp.best(lambda: crudql.parse_filter(lisp, schema=schema), repeat * 8, 20_000)
    return [
        Goal(
            "cold lisp parse + schema check",
            *_pair(
                timed(lambda: bp._parse_uncached(lisp, "lisp", schema, limits), cql_text), "pygeofilter CQL2-text parse"
            ),
            0.5,
        ),
        Goal(
            "cold JSON parse + schema check",
            *_pair(
                timed(lambda: bp._parse_uncached(json_text, "json", schema, limits), cql_json),
                "pygeofilter CQL2-JSON parse (checks nothing)",
            ),
            1.0,
        ),
        Goal(
            "cold JSON parse, no schema",
            *_pair(timed(lambda: bp._parse_uncached(json_text, "json", None, limits), cql_json), "same"),
            1.0,
        ),
        Goal("cached parse", cached, "", None, 5.0),
    ]


def _pair(times: tuple[float, float], baseline: str) -> tuple[float, str, float]:
    return times[0], baseline, times[1]


def in_memory(models: list[Contact], repeat: int) -> Goal:
    case = bp.CASES[0]
    source = crudql.sources.InMemory(models, model=Contact)
    request = case.request()
    mine, theirs = bp.crudql_request(source, request), bp.hand_request(models, case)
    assert (bp._ids(mine[0]), mine[1]) == (bp._ids(theirs[0]), theirs[1])
    ours, hand = bp.compare(lambda: bp.crudql_request(source, request), lambda: bp.hand_request(models, case), repeat)
    assert hand is not None
    return Goal("whole request over InMemory", ours, "hand-written null-safe filter + sort + slice", hand, 1.15)


def sql_engine(engine_name: str, url: str, records: list[dict[str, Any]], repeat: int) -> list[Goal]:
    """The five clauses (the hand-written SQL of `bench_scale`) and the three typical requests
    of `bench_sql` (its hand-written SQL), each against its baseline."""
    engine = sa.create_engine(url)
    table = f"bench_goals_{uuid.uuid4().hex[:8]}"
    source, _ = load(engine, records, table)
    raw = raw_connection(engine_name, url)
    label = ENGINE_NAMES[engine_name]
    cases = [(FIVE_CLAUSES, HAND[engine_name])] + [(req, HAND_WRITTEN[engine_name][req.name]) for req in GOALS[1:]]
    goals = []
    try:
        for req, sql in cases:
            ours, total = through_crudql(source, req)
            theirs, their_total = hand_written(engine_name, raw, table, sql, req)
            assert [c.id for c in ours] == [c.id for c in theirs] and total == their_total, (engine_name, req.name)
            m = measure(
                {
                    "crudql": lambda req=req: through_crudql(source, req),
                    "hand": lambda req=req, sql=sql: hand_written(engine_name, raw, table, sql, req),
                },
                repeat,
            )
            work = "page + count, `run_query` on `from_records`" if req is FIVE_CLAUSES else f"\"{req.name}\""
            goals.append(
                Goal(
                    f"{label} {work}",
                    m["crudql"] / 1000,
                    "hand-written SQL over the same table",
                    m["hand"] / 1000,
                    ENGINE_GOALS[engine_name],
                )
            )
    finally:
        raw.close()
        source.table.drop(engine)
        engine.dispose()
    return goals


def _time(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:,.1f} ms"


def markdown(goals: list[Goal], n: int, repeat: int) -> str:
    lines = [
        TITLE,
        "",
        f"`python benchmarks/bench_goals.py --n {n} --repeat {repeat}` — {n:,} sample contacts, Python "
        f"{sys.version.split()[0]}, SQLAlchemy {sa.__version__}, {time.strftime('%Y-%m-%d')}. One run, each pair "
        "interleaved: parsing and InMemory best of the rounds, SQL lower quartile. The spec's five-clause filter "
        "throughout, then the three typical requests of `bench_sql.py`; hand-written SQL uses the engine's "
        "`LIKE`/`ILIKE` (see `bench_sql.py`). The garbage collector runs, as in a service.",
        "",
        "| work | crudql | baseline | ratio | goal | |",
        "|---|---:|---|---:|---|---|",
    ]
    for g in goals:
        if g.other is None:
            lines.append(f"| {g.work} | {_time(g.crudql)} | | | ≤ {g.goal:g} µs | {'✅' if g.met else '❌'} |")
        else:
            lines.append(
                f"| {g.work} | {_time(g.crudql)} | {g.baseline} {_time(g.other)} | {g.crudql / g.other:.2f}× "
                f"| ≤ {g.goal:g}× | {'✅' if g.met else '❌'} |"
            )
    lines += ["", *NOTES]
    return "\n".join(lines) + "\n"


# What the figures stood at before the work that met them, measured with this script on the
# same machine (2026-11-30, 20,000 contacts), and what changed.
NOTES = [
    "Before (this script, 20,000 contacts, the code before this work, 729f000): lisp + check 0.77×, JSON + check 2.47×, "
    "JSON without schema 1.27×, SQLite 1.11×, PostgreSQL 1.56×, MariaDB 0.97×. What changed: a filter "
    'with a schema is parsed and checked in one pass (docs/architecture.md, "One pass from text to checked '
    "tree\"), the reference path reporting every error; `ilike` runs as the engine's own case-insensitive "
    "`LIKE`/`ILIKE` where that is exact for the pattern (docs/sql.md), PostgreSQL's LIKE without an `ESCAPE` "
    "clause; JSON columns are decoded by pydantic-core; the look-ahead row that shows another page follows "
    "builds no model; the timeout watchdog wakes only when an earlier alarm is armed. Then (docs/sql.md, "
    '"Performance"): cached statements run on the DBAPI cursor from their second run, an offset page learns '
    "from its count whether more follow, and models are built once the connection is back in the pool. "
    "Then: a request's checked filter and sort are cached as one, a page's statements from their third run "
    "take a pooled connection without a `Connection`, and records are built by the model's validator itself. "
    "Then: a nested model is read from its JSON column's text in one pass (PostgreSQL: through a cursor that "
    "returns JSONB as text), tree nodes keep their hash, cache hits allocate nothing, cursors are signed from "
    "kept HMAC states.",
    "The SQL rows of a few milliseconds or more run the same statements on both sides: their ratios move by "
    "±5% from run to run on this machine (SQLite \"org + partner in\" 1.01×, 1.03× and 1.06× in three runs "
    "of the same day). MariaDB \"org, newest first\" (3 ms) is 1.15–1.17×: the pool rolls back the "
    "connection a page returns, a round trip (130 µs here) the autocommit baseline does not make, and "
    "switching the pool's connections to autocommit and back would be two (docs/benchmarks.md, \"What is "
    "left\").",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (SQL: interleaved runs x 6)")
    parser.add_argument("--engines", default="sqlite,postgresql,mysql")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("CRUDQL_TEST_POSTGRES_DSN") or "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument(
        "--mysql-dsn", default=os.environ.get("CRUDQL_TEST_MYSQL_DSN") or "mysql+pymysql://root@127.0.0.1:3306/test"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    goals = parsing(args.repeat)
    records = sample.contacts(args.n)
    models = [Contact.model_validate(r) for r in records]
    goals.append(in_memory(models, args.repeat))
    del models
    for engine_name in args.engines.split(","):
        if engine_name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                goals.extend(sql_engine("sqlite", f"sqlite:///{tmp}/goals.db", records, args.repeat * 6))
        else:
            url = args.dsn if engine_name == "postgresql" else args.mysql_dsn
            goals.extend(sql_engine(engine_name, url, records, args.repeat * 6))
    text = markdown(goals, args.n, args.repeat)
    print(text)
    if not args.no_write:
        write_section(TITLE, text)
        print(f"written to {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0 if all(g.met for g in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
