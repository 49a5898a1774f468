"""The crudql HTTP route against a bare FastAPI handler running hand-written SQL, over loopback.

    python benchmarks/bench_http.py                       # 20,000 contacts, 200 requests per side and query
    python benchmarks/bench_http.py --n 100000 --requests 1000
    python benchmarks/bench_http.py --no-write            # print only

One uvicorn server process (a subprocess of this script, on a free 127.0.0.1 port) serves both
routes from the same SQLite file of `crudql.sample.contacts(n)` (the embedded default of
`crudql serve`), in the same run:

- crudql: `GET /org/{orgId}/contact/query?q=...&s=...`, `add_query_route` over
  `crudql.sources.SQL`: parse and check, scope, statements, page query and count, `Contact`
  models, JSON, in a worker thread.
- bare: `GET /bare/org/{orgId}/contact/{query}`, a plain sync FastAPI handler (also run in a
  worker thread) with the SQL an engineer writes by hand for the same three requests (same
  null and collation semantics), run on a per-thread sqlite3 connection, the same count rule,
  the rows validated into `Contact` and dumped by alias: the same JSON, checked equal first.

The client (this process, httpx, keep-alive) alternates the two sides request by request, so
both see the same machine load. Sequential requests give latency (mean, p50, p99; req/s is
1/mean); a second phase with `--concurrency` client threads gives throughput. Bounded: at
most `--requests` per side and query in each phase, and `--max-seconds` for the whole run.
Loopback only. Writes the `## HTTP` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docs_section import DOCS, ROOT, write_section

SECTION = "## HTTP"
ORG = "org_acme"


@dataclass(frozen=True)
class Query:
    key: str
    title: str
    q: str | None
    s: str | None
    where: str  # hand-written, after "organization_id = ? AND" ('' for none)
    order: str
    params: tuple[Any, ...] = ()


_M = "$.cosellPartnerMetrics"
QUERIES = [
    Query("newest", "newest first (no filter)", None, "-creation_time", "", "creation_time DESC, id"),
    Query(
        "partners",
        "partner in (AWS, GCP) + accountCount ≥ 1, by accountCount",
        '(and (in info.partner ("AWS" "GCP")) (>= info.cosellPartnerMetrics.accountCount 1))',
        "-info.cosellPartnerMetrics.accountCount",
        f"json_extract(info, '$.partner') IN (?, ?) AND json_extract(info, '{_M}.accountCount') >= ?",
        f"json_extract(info, '{_M}.accountCount') DESC, id",
        ("AWS", "GCP", 1),
    ),
    Query("ilike", "ilike name, by name", '(ilike name "%an%")', "name", "crudql_ilike(name, ?) = 1", "name, id", ("%an%",)),
]


# ---------------------------------------------------------------------------- the server side


def build_app(database: str) -> Any:
    """Both routes over one SQLite file (run inside the server process)."""
    import sqlalchemy as sa
    from fastapi import FastAPI, Response
    from pydantic import TypeAdapter

    from crudql.backends.sql import register_sqlite_functions
    from crudql.integrations.fastapi import add_query_route
    from crudql.models import Contact
    from crudql.sources import SQL

    engine = sa.create_engine(f"sqlite:///{database}")
    source = SQL(engine, "contact", model=Contact)
    app = FastAPI()
    add_query_route(app, "/org/{orgId}/contact/query", source, scope_field="organization_id")

    aliases = [(name, info.alias or name) for name, info in Contact.model_fields.items()]
    columns = ", ".join(name for name, _ in aliases)
    json_columns = {"info", "tags"}
    items = TypeAdapter(list[Contact])
    queries = {q.key: q for q in QUERIES}
    local = threading.local()

    def connection() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(database, check_same_thread=False)
            register_sqlite_functions(conn)
        return conn

    def bare(orgId: str, query: str, page_size: int = 20, page_number: int = 1) -> Response:
        spec = queries[query]
        where = "organization_id = ?" + (f" AND {spec.where}" if spec.where else "")
        params = (orgId, *spec.params)
        offset = (page_number - 1) * page_size
        conn = connection()
        rows = conn.execute(
            f"SELECT {columns} FROM contact WHERE {where} ORDER BY {spec.order} LIMIT ? OFFSET ?",
            (*params, page_size, offset),
        ).fetchall()
        if (rows and len(rows) < page_size) or (not rows and offset == 0):
            total = offset + len(rows)
        else:
            total = conn.execute(f"SELECT count(*) FROM contact WHERE {where}", params).fetchone()[0]
        models = []
        for row in rows:
            data = {}
            for (name, alias), value in zip(aliases, row):
                if value is not None:
                    data[alias] = json.loads(value) if name in json_columns else value
            models.append(Contact.model_validate(data))
        body = items.dump_json(models, by_alias=True, exclude_unset=True)
        tail = f',"page_number":{page_number},"page_size":{page_size},"total_count":{total}}}'
        return Response(b'{"data":' + body + tail.encode(), media_type="application/json")

    app.add_api_route("/bare/org/{orgId}/contact/{query}", bare, methods=["GET"], response_model=None)
    return app


def serve(database: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(database), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------------------- the client side


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def crudql_target(q: Query) -> tuple[str, dict[str, str]]:
    params = {k: v for k, v in (("q", q.q), ("s", q.s)) if v is not None}
    return f"/org/{ORG}/contact/query", params


def bare_target(q: Query) -> tuple[str, dict[str, str]]:
    return f"/bare/org/{ORG}/contact/{q.key}", {}


def sequential(client: Any, query: Query, count: int, deadline: float) -> dict[str, list[float]]:
    """Latencies (s) of alternating requests, one at a time."""
    samples: dict[str, list[float]] = {"crudql": [], "bare": []}
    targets = {"crudql": crudql_target(query), "bare": bare_target(query)}
    for i in range(count):
        if time.monotonic() > deadline:
            break
        for side in ("crudql", "bare") if i % 2 == 0 else ("bare", "crudql"):
            path, params = targets[side]
            start = time.perf_counter()
            response = client.get(path, params=params)
            samples[side].append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
    return samples


def concurrent(base: str, query: Query, side: str, count: int, threads: int, deadline: float) -> float:
    """Requests per second with `threads` clients sharing `count` requests."""
    import httpx

    path, params = crudql_target(query) if side == "crudql" else bare_target(query)
    remaining = [count]
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                assert client.get(path, params=params).status_code == 200

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return (count - max(remaining[0], 0)) / (time.perf_counter() - start)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> str:
    import httpx

    import crudql
    from crudql.integrations.server import sample_database

    deadline = time.monotonic() + args.max_seconds
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        url = sample_database(Path(tmp), args.n)
        print(f"{args.n:,} sample contacts written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", url.removeprefix("sqlite:///"), "--port", str(port)], env=env
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                for _ in range(300):
                    try:
                        client.get("/openapi.json")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                rows = []
                for query in QUERIES:
                    ours = client.get(crudql_target(query)[0], params=crudql_target(query)[1]).json()
                    theirs = client.get(bare_target(query)[0]).json()
                    assert ours == theirs, f"{query.key}: the two sides answer differently"
                    sequential(client, query, 20, deadline)  # warm both sides
                    samples = sequential(client, query, args.requests, deadline)
                    rps = {
                        side: concurrent(base, query, side, args.requests, args.concurrency, deadline)
                        for side in ("crudql", "bare")
                    }
                    rows.append((query, ours["total_count"], samples, rps))
                    print(f"{query.key}: done", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=20)
    return markdown(rows, args, crudql.__version__)


def markdown(rows: list[Any], args: argparse.Namespace, version: str) -> str:
    import fastapi
    import uvicorn

    lines = [
        SECTION,
        "",
        f"`python benchmarks/bench_http.py --n {args.n} --requests {args.requests} --concurrency {args.concurrency}` — "
        f"one uvicorn server (1 worker) on 127.0.0.1 serving both routes from one SQLite file of {args.n:,} sample "
        f"contacts, scoped to `{ORG}`; the client alternates the sides request by request over keep-alive. "
        f"Python {sys.version.split()[0]}, FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, crudql {version}, 2 cores shared with the client.",
        "",
        "| request | matches | side | mean | p50 | p99 | req/s (1 client) | req/s "
        f"({args.concurrency} clients) | mean ratio | target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    ratios = []
    for query, total, samples, rps in rows:
        mean = {side: statistics.fmean(v) for side, v in samples.items()}
        ratio = mean["crudql"] / mean["bare"]
        ratios.append(ratio)
        for side in ("crudql", "bare"):
            v = samples[side]
            cells = [
                f"{mean[side] * 1000:.2f} ms",
                f"{percentile(v, 50) * 1000:.2f} ms",
                f"{percentile(v, 99) * 1000:.2f} ms",
                f"{1 / mean[side]:.0f}",
                f"{rps[side]:.0f}",
            ]
            first = side == "crudql"
            lines.append(
                f"| {query.title if first else ''} | {f'{total:,}' if first else ''} | {side} | "
                + " | ".join(cells)
                + (f" | {ratio:.2f}× | ≤ 1.3× {'✅' if ratio <= 1.3 else '❌'} |" if first else " | | |")
            )
    lines += [
        "",
        f"Geometric mean of the mean-latency ratios: **{statistics.geometric_mean(ratios):.2f}×**. "
        "Both sides run their query in a worker thread, validate the rows into `Contact` and dump them "
        "by alias with pydantic; crudql also parses and checks the filter and sort (cached after the "
        "first request), adds the scope and builds or reuses its statements. The client shares the "
        "machine's 2 cores with the server, so the throughput column is noisier than the latency ones.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="sample contacts (default 20,000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per side and query, per phase (default 200)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads of the throughput phase (default 4)")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop sending after this long (default 600)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    text = run(args)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print(f"written to {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
