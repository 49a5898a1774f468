"""Benchmark of crudql's Python backend against hand-written Python, mongoquery and pygeofilter.

    python benchmarks/bench_python.py             # 100,000 sample contacts
    python benchmarks/bench_python.py --n 20000 --repeat 3
    python benchmarks/bench_python.py --only parse    # (c) and (d) alone, in seconds; prints only

Prints, and writes to docs/benchmarks.md (section "## Python backend"):

(a) a whole request through `crudql.run_query` over `InMemory` (filter, sort the matches, cut
    the page, count) vs the same work hand-written in plain Python over the same model
    instances (target <= 1.15x);
(b) crudql's compiled predicate alone (and its whole-list scan) vs a hand-written function
    doing the same checks;
(c) cold lisp and cold JSON parse (`crudql.parse.parse_filter_uncached`, without and with the schema
    check) vs pygeofilter's CQL2-text and CQL2-JSON parse of the equivalent filter (targets
    <= 0.5x and <= 1x, with and without the check);
(d) a cached parse (`crudql.parse_filter` repeated; target <= 5 us);
(e) the same filter through mongoquery (on JSON dicts) and pygeofilter's native backend
    (on model instances), where they can express and evaluate it.

Every hand-written and third-party result is checked against crudql's before it is timed,
so a ratio never compares different work. Times are the best of `--repeat` runs
(`time.perf_counter`, garbage collector off while timing, as `timeit` does).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import crudql
import crudql.values
from crudql import sample
from crudql.backends.python import compile_filter, compile_scan
from crudql.models import Contact
from crudql.parse import parse_filter_uncached as _parse_uncached
from docs_section import write_section

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Python backend"
SCHEMA = crudql.Schema.from_model(Contact)

Page = tuple[list[Any], int]


# ---------------------------------------------------------------------------- timing


def best(fn: Callable[[], Any], repeat: int, number: int = 1) -> float:
    """Best time of one call, over `repeat` rounds of `number` calls, GC off."""
    return compare(fn, None, repeat, number)[0]


def compare(
    mine: Callable[[], Any], other: Callable[[], Any] | None, repeat: int, number: int = 1
) -> tuple[float, float | None]:
    """Best time of one call of each, GC off, their rounds interleaved (A B A B ...), so a
    change in the machine's load during the run affects both sides alike."""
    times: dict[int, list[float]] = {0: [], 1: []}
    sides = [mine] if other is None else [mine, other]
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for side, fn in enumerate(sides):
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                times[side].append((time.perf_counter() - start) / number)
    finally:
        if enabled:
            gc.enable()
    return min(times[0]), (min(times[1]) if other is not None else None)


def calls_for(fn: Callable[[], Any], budget: float = 0.2) -> int:
    """How many calls of `fn` fill about `budget` seconds (for microsecond-scale work)."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, min(200_000, int(budget / once)))


# ---------------------------------------------------------------------------- hand-written work
#
# What a careful programmer writes for each query without crudql: direct attribute access,
# None checks where the data may be missing (the spec's semantics: a comparison with a
# missing value is false), and the same sort rules (missing/null lowest, id tiebreak).


def _present(value: Any) -> tuple[bool, Any]:
    # Sort key with missing/null lowest; (False, None) never compares None with a value.
    return (value is not None, value)


def _by_id(m: Contact) -> str:
    return m.id


def hand_q1(m: Contact) -> bool:
    info = m.info
    if m.organization_id != "org_acme" or info is None or info.partner not in ("AWS", "GCP"):
        return False
    metrics = info.cosell_partner_metrics
    if metrics is None or metrics.account_count is None or metrics.account_count < 2:
        return False
    name = m.name
    if name is None or "an" not in name.casefold():
        return False
    return m.tags is None or "churned" not in m.tags


def page_q1(matches: list[Contact], offset: int, size: int) -> list[Contact]:
    # creation_time descending (missing last), then id ascending: two stable sorts.
    matches.sort(key=_by_id)
    matches.sort(key=lambda m: _present(m.creation_time), reverse=True)
    return matches[offset : offset + size]


def hand_q2(m: Contact) -> bool:
    info = m.info
    if info is None or info.cosell_partner_metrics is None:
        return False
    accounts = info.cosell_partner_metrics.accounts
    return accounts is not None and any(a.industry == "Software" and a.type == "Customer" for a in accounts)


def page_q2(matches: list[Contact], offset: int, size: int) -> list[Contact]:
    # accountCount descending, name ascending, id ascending: three stable sorts.
    matches.sort(key=_by_id)
    matches.sort(key=lambda m: _present(m.name))
    matches.sort(key=lambda m: _present(m.info.cosell_partner_metrics.account_count), reverse=True)  # type: ignore[union-attr]
    return matches[offset : offset + size]


def hand_q3(m: Contact) -> bool:
    info = m.info
    return info is None or info.partner is None or info.partner != "AWS"


def page_q3(matches: list[Contact], offset: int, size: int) -> list[Contact]:
    # name ascending, id ascending: one direction, so the top of the list from a heap.
    return heapq.nsmallest(offset + size, matches, key=lambda m: (_present(m.name), m.id))[offset:]


Q4_LOW = crudql.values.parse_datetime("2024-01-01")
Q4_HIGH = crudql.values.parse_datetime("2024-06-30T23:59:59Z")


def hand_q4(m: Contact) -> bool:
    created = m.creation_time
    if created is None or not Q4_LOW <= created <= Q4_HIGH:  # type: ignore[operator]
        return False
    info = m.info
    enriched = info.enriched_contact_info if info is not None else None
    title = enriched.job_title if enriched is not None else None
    return title is not None and "manager" in title.casefold()


def page_q4(matches: list[Contact], offset: int, size: int) -> list[Contact]:
    # last_update_time descending, id ascending.
    matches.sort(key=_by_id)
    matches.sort(key=lambda m: _present(m.last_update_time), reverse=True)
    return matches[offset : offset + size]


@dataclass(frozen=True)
class Case:
    name: str
    q: str
    s: str
    page_size: int
    page_number: int
    hand: Callable[[Contact], bool]
    hand_page: Callable[[list[Contact], int, int], list[Contact]]
    mongo: dict[str, Any] | None  # the query as a MongoDB filter, for mongoquery (None: not expressible)
    cql2: str | None  # the query as CQL2 text, for pygeofilter (None: not expressible)
    mongo_caveat: str = ""  # why mongoquery's answer differs, when it is known to


    def request(self) -> crudql.PageRequest:
        return crudql.PageRequest(q=self.q, s=self.s, page_size=self.page_size, page_number=self.page_number)


CASES = (
    Case(
        "spec example (5 clauses)",
        '(and (= organization_id "org_acme") (in info.partner ("AWS" "GCP")) '
        '(>= info.cosellPartnerMetrics.accountCount 2) (ilike name "%an%") (not (has tags "churned")))',
        "-creation_time",
        20,
        1,
        hand_q1,
        page_q1,
        {
            "organizationID": "org_acme",
            "info.partner": {"$in": ["AWS", "GCP"]},
            "info.cosellPartnerMetrics.accountCount": {"$gte": 2},
            "name": {"$regex": re.compile("an", re.IGNORECASE)},
            "tags": {"$ne": "churned"},
        },
        "organization_id = 'org_acme' AND info.partner IN ('AWS', 'GCP') AND "
        "info.cosell_partner_metrics.account_count >= 2 AND name LIKE '%an%' AND NOT (tags = 'churned')",
        "mongoquery's `$ne` compares a whole array with the value, where MongoDB tests each element",
    ),
    Case(
        "any over accounts",
        '(any info.cosellPartnerMetrics.accounts (and (= industry "Software") (= type "Customer")))',
        "-info.cosellPartnerMetrics.accountCount,name",
        50,
        2,
        hand_q2,
        page_q2,
        {"info.cosellPartnerMetrics.accounts": {"$elemMatch": {"industry": "Software", "type": "Customer"}}},
        None,
    ),
    Case(
        "negation, broad (most records match)",
        '(or (is-null info.partner) (!= info.partner "AWS"))',
        "name",
        20,
        1,
        hand_q3,
        page_q3,
        {"$or": [{"info.partner": None}, {"info.partner": {"$ne": "AWS"}}]},
        "info.partner IS NULL OR info.partner <> 'AWS'",
    ),
    Case(
        "datetime range + icontains",
        '(and (between creation_time "2024-01-01" "2024-06-30T23:59:59Z") '
        '(icontains info.enrichedContactInfo.jobTitle "manager"))',
        "-last_update_time",
        20,
        1,
        hand_q4,
        page_q4,
        {
            # The JSON records hold the reference's fixed-width UTC text, whose order is time order.
            "creationTime": {"$gte": "2024-01-01T00:00:00.000Z", "$lte": "2024-06-30T23:59:59.999Z"},
            "info.enrichedContactInfo.jobTitle": {"$regex": re.compile("manager", re.IGNORECASE)},
        },
        "creation_time BETWEEN TIMESTAMP('2024-01-01T00:00:00Z') AND TIMESTAMP('2024-06-30T23:59:59Z') "
        "AND info.enriched_contact_info.job_title LIKE '%anager%'",
    ),
)

# The spec example in each parser's syntax, for (c).
PARSE_LISP = CASES[0].q
PARSE_CQL2_TEXT = CASES[0].cql2 or ""
PARSE_CQL2_JSON = json.dumps(
    {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "organization_id"}, "org_acme"]},
            {"op": "in", "args": [{"property": "info.partner"}, ["AWS", "GCP"]]},
            {"op": ">=", "args": [{"property": "info.cosellPartnerMetrics.accountCount"}, 2]},
            {"op": "like", "args": [{"op": "casei", "args": [{"property": "name"}]}, "%an%"]},
            {"op": "not", "args": [{"op": "a_contains", "args": [{"property": "tags"}, ["churned"]]}]},
        ],
    }
)


def hand_request(models: list[Contact], case: Case) -> Page:
    matches = list(filter(case.hand, models))
    total = len(matches)
    offset = (case.page_number - 1) * case.page_size
    return (case.hand_page(matches, offset, case.page_size) if offset < total else []), total


def crudql_request(source: crudql.sources.InMemory, request: crudql.PageRequest) -> Page:
    page = crudql.run_query(request, source)
    return page.data, page.total_count


# ---------------------------------------------------------------------------- the runs


@dataclass
class Row:
    label: str
    crudql: float  # seconds
    other: float | None  # seconds, None when the other side could not run
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.other is None else self.crudql / self.other


def _ids(items: Sequence[Any]) -> list[str]:
    return [m.id if isinstance(m, Contact) else m["id"] for m in items]


def run_requests(models: list[Contact], repeat: int) -> list[Row]:
    source = crudql.sources.InMemory(models, model=Contact)
    rows = []
    for case in CASES:
        request = case.request()
        mine, theirs = crudql_request(source, request), hand_request(models, case)
        assert (_ids(mine[0]), mine[1]) == (_ids(theirs[0]), theirs[1]), f"{case.name}: hand-written differs"
        timed = compare(lambda: crudql_request(source, request), lambda: hand_request(models, case), repeat)
        rows.append(Row(f"(a) request: {case.name} — {mine[1]:,} matches, page {case.page_number}", *timed, "≤ 1.15×"))
    return rows


def run_predicates(models: list[Contact], repeat: int) -> list[Row]:
    rows = []
    for case in CASES:
        where = crudql.parse_filter(case.q, schema=SCHEMA)
        predicate, scan = compile_filter(where, "model"), compile_scan(where, "model")
        expected = _ids(list(filter(case.hand, models)))
        assert _ids(list(filter(predicate, models))) == expected and _ids(scan(models)) == expected, case.name
        hand = lambda: list(filter(case.hand, models))  # noqa: E731
        rows.append(Row(f"(b) predicate: {case.name}", *compare(lambda: list(filter(predicate, models)), hand, repeat)))
        rows.append(
            Row(
                f"(b) whole-list scan (`compile_scan`): {case.name}",
                *compare(lambda: scan(models), hand, repeat),
                note="test inlined in one comprehension",
            )
        )
    return rows


def run_parsing(repeat: int) -> list[Row]:
    from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
    from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

    limits = crudql.DEFAULT_LIMITS
    json_text = crudql.to_json(crudql.parse_filter(PARSE_LISP))

    def cold_lisp() -> Any:
        return _parse_uncached(PARSE_LISP, "lisp", SCHEMA, limits)

    def cold_json() -> Any:
        return _parse_uncached(json_text, "json", SCHEMA, limits)

    def cached() -> Any:
        return crudql.parse_filter(PARSE_LISP, schema=SCHEMA)

    assert cold_lisp() == cold_json() == cached()
    parse_cql2_text(PARSE_CQL2_TEXT), parse_cql2_json(PARSE_CQL2_JSON)  # they parse, before timing

    def timed(mine: Callable[[], Any], other: Callable[[], Any] | None) -> tuple[float, float | None]:
        # Short rounds, many of them: interleaving only helps if a round is shorter than the
        # load's swings.
        return compare(mine, other, repeat * 4, max(1, calls_for(mine, 0.05)))

    def parse_only_lisp() -> Any:
        return _parse_uncached(PARSE_LISP, "lisp", None, limits)

    def parse_only_json() -> Any:
        return _parse_uncached(json_text, "json", None, limits)

    like_for_like = "text to AST, as pygeofilter's parser does (no schema)"
    checked = "text to checked AST: crudql also resolves fields and coerces literals against Contact"
    cql_text, cql_json = (lambda: parse_cql2_text(PARSE_CQL2_TEXT)), (lambda: parse_cql2_json(PARSE_CQL2_JSON))
    return [
        Row("(c) cold parse, lisp vs pygeofilter CQL2-text", *timed(parse_only_lisp, cql_text), "≤ 0.5×", like_for_like),
        Row("(c) cold parse, JSON vs pygeofilter CQL2-JSON", *timed(parse_only_json, cql_json), "≤ 1×", like_for_like),
        Row("(c) cold parse + schema check, lisp vs CQL2-text", *timed(cold_lisp, cql_text), "≤ 0.5×", checked),
        Row("(c) cold parse + schema check, JSON vs CQL2-JSON", *timed(cold_json, cql_json), "≤ 1×", checked),
        Row("(d) cached parse (`crudql.parse_filter`)", *timed(cached, None), "≤ 5 µs"),
    ]


def run_others(models: list[Contact], records: list[dict[str, Any]], repeat: int) -> list[Row]:
    from mongoquery import Query
    from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

    try:
        from pygeofilter.backends.native.evaluate import NativeEvaluator
    except ModuleNotFoundError as exc:  # the native backend imports shapely
        NativeEvaluator = None  # noqa: N806
        missing = f"needs {exc.name} (pip install {exc.name})"

    rows = []
    for case in CASES:
        where = crudql.parse_filter(case.q, schema=SCHEMA)
        on_dicts, on_models = compile_filter(where, "dict"), compile_filter(where, "model")
        expected = _ids(list(filter(on_dicts, records)))
        mine = lambda: list(filter(on_dicts, records))  # noqa: E731
        if case.mongo is None:
            rows.append(Row(f"(e) mongoquery: {case.name}", best(mine, repeat), None, note="not expressible"))
        else:
            match = Query(case.mongo).match
            got = _ids(list(filter(match, records)))
            note = "" if got == expected else f"different result: {len(got):,} vs {len(expected):,} matches"
            if note and case.mongo_caveat:
                note += f" ({case.mongo_caveat})"
            timed = compare(mine, lambda: list(filter(match, records)), repeat)
            rows.append(Row(f"(e) mongoquery (JSON dicts): {case.name}", *timed, note=note))
        label = f"(e) pygeofilter native (models): {case.name}"
        mine_models = lambda: list(filter(on_models, models))  # noqa: E731
        if case.cql2 is None:
            rows.append(Row(label, best(mine_models, repeat), None, note="not expressible (no quantifier over arrays)"))
            continue
        if NativeEvaluator is None:
            rows.append(Row(label, best(mine_models, repeat), None, note=missing))
            continue
        evaluate = NativeEvaluator(use_getattr=True).evaluate(parse_cql2_text(case.cql2))
        try:
            got = _ids(list(filter(evaluate, models)))
        except Exception as exc:  # noqa: BLE001 - reporting how it fails is the point
            rows.append(Row(label, best(mine_models, repeat), None, note=f"fails on this data: {type(exc).__name__}: {exc}"))
            continue
        expected_models = _ids(list(filter(on_models, models)))
        note = "" if got == expected_models else f"different result: {len(got):,} vs {len(expected_models):,} matches"
        rows.append(Row(label, *compare(mine_models, lambda: list(filter(evaluate, models)), repeat), note=note))
    return rows


# ---------------------------------------------------------------------------- report


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} µs"
    return f"{seconds * 1e3:,.1f} ms"


def _verdict(row: Row) -> str:
    if not row.target:
        return ""
    bound = float(re.sub(r"[^0-9.]", "", row.target))
    value = row.ratio if row.other is not None else row.crudql * 1e6  # (d): µs against the bound
    return "✅" if value is not None and value <= bound else "❌"


def markdown(rows: list[Row], n: int, repeat: int, only: Sequence[str] = ()) -> str:
    flags = "".join(f" --only {name}" for name in only)
    lines = [
        SECTION,
        "",
        f"`python benchmarks/bench_python.py --n {n} --repeat {repeat}{flags}` — {n:,} sample contacts "
        f"(`crudql.sample.contact_models(n)`), best of {repeat}; Python {platform.python_version()}, "
        f"{platform.machine()}, {time.strftime('%Y-%m-%d')}. Ratio = crudql time / other time "
        "(below 1: crudql is faster). Every compared result is checked equal before timing.",
        "",
        "| measurement | crudql | other | ratio | target | |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        label = row.label + (f" — {row.note}" if row.note else "")
        lines.append(f"| {label} | {_time(row.crudql)} | {_time(row.other)} | {ratio} | {row.target} | {_verdict(row)} |")
    lines += [
        "",
        "Other = (a)/(b) hand-written Python doing the same checks and sort rules; (c) pygeofilter 0.4 parsing "
        "the same five clauses as CQL2; (e) mongoquery 1.4 / pygeofilter's `NativeEvaluator` running the same filter.",
        "",
    ]
    return "\n".join(lines)


RUNS = ("requests", "predicates", "parse", "others")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="sample contacts (default 100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds; the best counts (default 5)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {DOCS.relative_to(ROOT)} alone")
    parser.add_argument(
        "--only",
        choices=RUNS,
        action="append",
        help="run only these parts (repeatable): requests (a), predicates (b), parse (c, d), others (e); "
        f"prints only: a partial table never replaces the section of {DOCS.relative_to(ROOT)}",
    )
    args = parser.parse_args(argv)
    only = set(args.only or RUNS)

    models: list[Contact] = []
    records: list[dict[str, Any]] = []
    if only - {"parse"}:  # the parse timings need no data
        start = time.perf_counter()
        records = sample.contacts(args.n)
        print(f"sample: {args.n:,} dicts in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        start = time.perf_counter()
        models = [Contact.model_validate(r) for r in records]
        print(f"        validated into models in {time.perf_counter() - start:.1f} s", file=sys.stderr)

    rows: list[Row] = []
    for name, title, run in (
        ("requests", "requests", lambda: run_requests(models, args.repeat)),
        ("predicates", "predicates", lambda: run_predicates(models, args.repeat)),
        ("parse", "parsing", lambda: run_parsing(args.repeat)),
        ("others", "mongoquery / pygeofilter", lambda: run_others(models, records, args.repeat)),
    ):
        if name not in only:
            continue
        print(f"timing {title} ...", file=sys.stderr)
        rows.extend(run())
    text = markdown(rows, args.n, args.repeat, args.only or ())
    print(text)
    if not args.no_write and args.only is None:
        write_section(SECTION, text)
        print(f"written to {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
