"""Hostile inputs: the worst parse, check and compile times over a corpus of crafted filters and
sorts, how closely each engine keeps a query timeout, and how much memory distinct
maximum-size filters can pin in crudql's caches.

    python benchmarks/bench_hostile.py                 # writes "## Hostile inputs" in docs/benchmarks.md
    python benchmarks/bench_hostile.py --no-write      # print only
    python benchmarks/bench_hostile.py --filters 2000  # fewer distinct filters for the memory figure

Targets (docs/spec/SERVICE.md §3): parse + check + compile of any input within the limits
under 50 ms per stage; a 10,000-character sort parsed in under 10 ms; 10,000 distinct
maximum-size filters grow the process by less than 100 MB; a slow query stops at its timeout.
PostgreSQL parts use CRUDQL_BENCH_POSTGRES_DSN or CRUDQL_TEST_POSTGRES_DSN and are skipped
without a server.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

import crudql
from crudql.backends.mongo import compile_filter as mongo_filter
from crudql.backends.python import FilterGenerator
from crudql.backends.sql import SQLSource, dialect_for, table_for_model
from crudql.models import Contact
from crudql.parse import parse_filter_uncached
from crudql.sample import contacts
from docs_section import write_section

SECTION = "## Hostile inputs"
SCHEMA = crudql.Schema.from_model(Contact)
LIMIT = 50.0  # ms per stage


def _or(parts: list[str]) -> str:
    return "(or " + " ".join(parts) + ")"


# (name, filter text) within the limits: the shapes audits found expensive, at the limits.
FILTERS: list[tuple[str, str]] = [
    ("256 icontains on tags under or", _or([f'(icontains tags "t{i}")' for i in range(256)])),
    ("256 ilike on name under or", _or([f'(ilike name "%a{i}%b%")' for i in range(256)])),
    (
        "140 `*`-path negations",
        "(and " + " ".join(f'(!= info.cosellPartnerMetrics.accounts.*.industry "s{i}")' for i in range(140)) + ")",
    ),
    (
        "128 alternating and/or icontains (nothing to merge)",
        _or([f'(and (icontains tags "a{i}") (icontains tags "b{i}"))' for i in range(128)]),
    ),
    (
        "64 any over accounts, nested and",
        _or([f'(any info.cosellPartnerMetrics.accounts (and (= industry "x{i}") (= type "Customer")))' for i in range(64)]),
    ),
    ("200 = on map keys", _or([f"(= info.cosellPartnerMetrics.pipeline.K{i} {i})" for i in range(200)])),
    ("1,000-item in list", "(in name (" + " ".join(f'"n{i}"' for i in range(1000)) + "))"),
    ("32-deep nesting", "(not " * 31 + '(= name "x")' + ")" * 31),
    ("9,990-character string", '(= name "' + "x" * 9980 + '")'),
    ("LIKE with 4,000 wildcards", '(ilike name "' + "%a" * 4000 + '")'),
    ("300 paths through arrays with `*` under and", "(and " + " ".join(f'(= info.cosellPartnerMetrics.accounts.*.opportunities.*.name "o{i}")' for i in range(100)) + ")"),
]
# (name, text, style) that must fail fast with a QueryError: over a limit, or malformed.
REJECTED: list[tuple[str, str, str]] = [
    ("4,990-segment path", "(= info.cosellPartnerMetrics.pipeline." + ".".join(["a"] * 4990) + " 1)", "lisp"),
    ("400 icontains (over 256 predicates)", _or([f'(icontains tags "t{i}")' for i in range(400)]), "lisp"),
    ("a million '('", "(" * 1_000_000, "lisp"),
    ("1,100-deep JSON array", "[" * 1100 + "]" * 1100, "json"),
    ("JSON prescan trap", '"[]"' * 66 + '"' + '\\"' * 4900, "json"),
    ("huge integer", "(= name " + "9" * 5000 + ")", "lisp"),
]
SORTS: list[tuple[str, str, str]] = [
    ("spaces then a colon", " " * 9999 + ":", "simple"),
    ("32 keys", ",".join(f"-info.cosellPartnerMetrics.pipeline.K{i}" for i in range(32)), "simple"),
    ("JSON prescan trap", "[]" * 66 + '"' + '\\"' * 4900, "json"),
    ("10,000 commas", "," * 9999, "simple"),
]


def best_ms(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.disable()
        t = time.perf_counter()
        try:
            fn()
        except crudql.QueryError:
            pass
        best = min(best, time.perf_counter() - t)
        gc.enable()
    return best * 1000


def stages(text: str, sqlite: SQLSource, postgres: SQLSource, repeat: int) -> dict[str, float]:
    tree = parse_filter_uncached(text, "lisp", SCHEMA)
    assert tree is not None
    out = {"parse + check": best_ms(lambda: parse_filter_uncached(text, "lisp", SCHEMA), repeat)}
    out["Python"] = best_ms(lambda: FilterGenerator("model").build_scan(tree), repeat)
    for name, source in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        dialect = source.bind.dialect  # statements built and rendered to SQL text, as on first use
        out[name] = best_ms(lambda s=source, d=dialect: str(s._build(tree, ()).page.compile(dialect=d)), repeat)
    out["MongoDB"] = best_ms(lambda: mongo_filter(tree), repeat)
    return out


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def max_size_filter(i: int) -> str:
    """A distinct filter of about 10,000 characters and 250 conditions."""
    parts: list[str] = []
    size = 5
    k = 0
    while True:
        part = (
            f'(= name "n{i}-{k}")',
            f'(icontains info.companyName "c{i}{k}")',
            f"(>= info.cosellPartnerMetrics.accountCount {k})",
        )[k % 3]
        if size + len(part) + 1 > 9_990 or len(parts) == 250:
            return "(or " + " ".join(parts) + ")"
        parts.append(part)
        size += len(part) + 1
        k += 1


def memory(n: int) -> tuple[float, float]:
    """RSS growth (MB) after `n` distinct maximum-size filters through parse, an InMemory
    source and a SQLite source; and the growth over the second half alone (flat = bounded)."""
    records = contacts(200, seed=3)
    memory_source = crudql.sources.InMemory(records, model=Contact)
    sql_source = SQLSource.from_records(sa.create_engine("sqlite://"), records, model=Contact)
    gc.collect()
    before = _rss_mb()
    half = before
    for i in range(n):
        request = crudql.PageRequest(q=max_size_filter(i))
        crudql.run_query(request, memory_source)
        crudql.run_query(request, sql_source)
        if i == n // 2:
            gc.collect()
            half = _rss_mb()
    gc.collect()
    after = _rss_mb()
    return after - before, after - half


def timeouts(dsn: str | None) -> list[tuple[str, float, float]]:
    """(engine, timeout s, elapsed s) for a query far slower than its timeout."""
    records = contacts(20_000, seed=5)
    # Patterns with ſ (long s) need the full Unicode fold, never the engine's own LIKE: ~6 s on
    # SQLite here, where ASCII patterns finish in 0.7 s, under the longest timeout below.
    heavy = "(or " + " ".join(f'(and (ilike name "%q{i}ſ%") (ilike info.companyName "%z{i}ſ%"))' for i in range(120)) + ")"
    engines: list[tuple[str, Any]] = [("SQLite", sa.create_engine("sqlite://"))]
    if dsn:
        engines.append(("PostgreSQL", sa.create_engine(dsn)))
    rows = []
    for name, engine in engines:
        table = f"bench_timeout_{uuid.uuid4().hex[:8]}"
        source = SQLSource.from_records(engine, records, model=Contact, table_name=table)
        for seconds in (0.1, 0.5, 1.0):
            slow_source = SQLSource(source.bind, source.table, Contact, timeout=seconds)
            t = time.perf_counter()
            try:
                crudql.run_query(crudql.PageRequest(q=heavy), slow_source)
                elapsed = float("nan")  # finished before its timeout: nothing to measure
            except crudql.QueryTimeoutError:
                elapsed = time.perf_counter() - t
            rows.append((name, seconds, elapsed))
        if name == "PostgreSQL":
            source.table.drop(source.bind)
    in_memory = crudql.sources.InMemory(records * 5, model=Contact)
    for seconds in (0.1, 0.5):
        source = crudql.sources.InMemory(in_memory.items, model=Contact, timeout=seconds)
        t = time.perf_counter()
        try:
            crudql.run_query(crudql.PageRequest(q=heavy), source)
            elapsed = float("nan")
        except crudql.QueryTimeoutError:
            elapsed = time.perf_counter() - t
        rows.append(("Python (InMemory)", seconds, elapsed))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--filters", type=int, default=10_000, help="distinct filters for the memory figure")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    dsn = os.environ.get("CRUDQL_BENCH_POSTGRES_DSN") or os.environ.get("CRUDQL_TEST_POSTGRES_DSN")

    sqlite = SQLSource.from_records(sa.create_engine("sqlite://"), [], model=Contact)
    mock = sa.create_mock_engine("postgresql+psycopg://", executor=lambda *a, **k: None)
    postgres = SQLSource(mock, table_for_model(Contact, sa.MetaData(), "contact", dialect_for(mock)), Contact)  # type: ignore[arg-type]

    lines = [
        SECTION,
        "",
        f"`python benchmarks/bench_hostile.py` — best of {args.repeat}; Python {platform.python_version()}, "
        f"SQLAlchemy {sa.__version__}. Compile = building the backend's query (SQL: the statement, rendered "
        "to SQL text as on its first execution).",
        "",
        "| input (within the limits) | chars | parse + check | Python | SQLite | PostgreSQL | MongoDB | worst ≤ 50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    worst = 0.0
    for name, text in FILTERS:
        times = stages(text, sqlite, postgres, args.repeat)
        top = max(times.values())
        worst = max(worst, top)
        cells = " | ".join(f"{v:.1f} ms" for v in times.values())
        lines.append(f"| {name} | {len(text):,} | {cells} | {'✅' if top <= LIMIT else '❌'} |")
    lines += ["", f"Worst stage over the corpus: **{worst:.1f} ms**.", ""]
    lines += ["| rejected input | chars | time to the QueryError |", "|---|---:|---:|"]
    for name, text, style in REJECTED:
        ms = best_ms(lambda t=text, s=style: parse_filter_uncached(t, s, SCHEMA), args.repeat)
        lines.append(f"| {name} | {len(text):,} | {ms:.1f} ms |")
    lines += ["", "| sort | chars | parse + check | ≤ 10 ms |", "|---|---:|---:|---|"]
    for name, text, style in SORTS:
        ms = best_ms(lambda t=text, s=style: crudql.parse.SORT_CACHE.clear() or crudql.parse_sort(t, s, SCHEMA), args.repeat)
        lines.append(f"| {name} | {len(text):,} | {ms:.2f} ms | {'✅' if ms <= 10 else '❌'} |")

    lines += ["", "Timeouts (a query far slower than its timeout; elapsed until `QueryTimeoutError`):", ""]
    lines += ["| engine | timeout | elapsed | over by |", "|---|---:|---:|---:|"]
    for engine, seconds, elapsed in timeouts(dsn):
        lines.append(f"| {engine} | {seconds:.1f} s | {elapsed:.3f} s | {1000 * (elapsed - seconds):.0f} ms |")

    growth, second_half = memory(args.filters)
    lines += [
        "",
        f"Memory: {args.filters:,} distinct filters of about 10,000 characters and 250 conditions each, through "
        f"`run_query` on an InMemory and a SQLite source: the process grew by **{growth:.0f} MB** "
        f"(target < 100 MB), {second_half:.0f} MB of it over the second half (the caches are full and stay so).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print("written to docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
