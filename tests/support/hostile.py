"""A corpus of hostile requests over `support.ticket.Ticket`: the inputs of the production
hardening audit (issue 9) and their kin. Each is a filter and/or a sort with its style, and what
every backend must answer: a page, a `QueryError` of a given code, or either (`None`: engines
may legitimately differ, e.g. PostgreSQL refuses a NUL that the others compare).

Nothing here may ever produce another exception (RecursionError, MemoryError, a driver's
OperationalError) or take the process down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .ticket import DEEP_PATH

__all__ = ["CORPUS", "Hostile", "deep_path", "ors"]

PAGE = "page"


@dataclass(frozen=True)
class Hostile:
    name: str
    q: str | None = None
    qs: str = "lisp"
    s: str | None = None
    ss: str = "simple"
    expect: str | None = PAGE  # PAGE, a QueryError code, or None for either


def deep_path(segments: int, root: str = "extra") -> str:
    """A path of `segments` segments below an untyped field."""
    return ".".join([root, *(["a"] * (segments - 1))])


def ors(n: int, make: str) -> str:
    """`(or ...)` of n conditions; `make` is a format string taking the index."""
    return "(or " + " ".join(make.format(i) for i in range(n)) + ")"


def _json_ors(n: int) -> str:
    return json.dumps(["or", *(["=", "café", f"v{i}"] for i in range(n))])


def _nots(n: int) -> str:
    return "(not " * n + "(exists café)" + ")" * n


CORPUS: list[Hostile] = [
    # Paths: 16 segments below an untyped field work everywhere; more is a limit, at any length.
    Hostile("4,990-segment path", q=f"(= {deep_path(4990)} 1)", expect="limit"),
    Hostile("4,990-segment path, sorted", s=deep_path(4990), expect="limit"),
    Hostile("4,990-segment path, JSON", q=json.dumps(["=", deep_path(4990), 1]), qs="json", expect="limit"),
    Hostile("400-segment path in exists", q=f"(exists {deep_path(400)})", expect="limit"),
    Hostile("17-segment path", q=f"(= {deep_path(17)} 1)", expect="limit"),
    Hostile("17-segment path, sorted", s=f"-{deep_path(17)}", expect="limit"),
    Hostile("17-segment path in has", q=f'(has {deep_path(17)} "x")', expect="limit"),
    Hostile("16-segment path", q=f"(and (= {deep_path(16)} 1) (not (exists {DEEP_PATH})))"),
    Hostile("16-segment path, sorted", s=f"-{deep_path(16)},{DEEP_PATH}"),
    Hostile("32 sort keys of 16 segments", s=",".join(f"{deep_path(15)}.k{i}" for i in range(32))),
    # Predicates: 256 at most.
    Hostile("257 predicates", q=ors(257, '(= café "{}")'), expect="limit"),
    Hostile("257 predicates, JSON", q=_json_ors(257), qs="json", expect="limit"),
    Hostile("256 predicates", q=ors(256, '(= café "{}")')),
    Hostile("400 icontains under or", q=ors(400, '(icontains labels "{}")'), expect="limit"),
    Hostile("256 icontains under or", q=ors(256, '(icontains labels "t{}")')),
    Hostile("430 ilike", q=ors(430, '(ilike café "%{}")'), expect="limit"),
    Hostile("250 ilike with wildcards", q=ors(250, '(ilike café "%a{}%b%")')),
    Hostile("140 *-path negations", q="(and " + " ".join(f'(!= lines.*.sku "s{i}")' for i in range(140)) + ")"),
    Hostile("128 any with and", q=ors(128, '(any lines (and (= sku "x{}") (< qty 3)))')),
    Hostile("200 map keys", q=ors(200, "(= extra.k{0} {0})")),
    Hostile("200 deep map keys", q=ors(60, f"(= {deep_path(15)}.k{{0}} {{0}})")),
    # Quadratic lexing traps, as filters and as sorts.
    Hostile("sort key regex trap", s=" " * 9999 + ":", expect="sort"),
    Hostile("sort key regex trap as a filter", q=" " * 9999 + ":", expect="syntax"),
    Hostile("sort key regex trap, JSON sort", s=json.dumps([" " * 9990 + ":"]), ss="json", expect="sort"),
    Hostile("JSON prescan trap", q="[]" * 66 + '"' + '\\"' * 4900, qs="json", expect="syntax"),
    Hostile("JSON prescan trap as a sort", s="[]" * 66 + '"' + '\\"' * 4900, ss="json", expect="syntax"),
    Hostile("JSON prescan trap, quoted", q='"[]"' * 66 + '"' + '\\"' * 4800, qs="json", expect="syntax"),
    Hostile("10,000 commas", s="," * 9999, expect="sort"),
    Hostile("10,000 backslashes in a string", q='(= café "' + "\\\\" * 4990 + '")'),
    # Nesting and length.
    Hostile("a million (", q="(" * 1_000_000, expect="limit"),
    Hostile("a million ( as JSON", q="[" * 1_000_000, qs="json", expect="limit"),
    Hostile("1,100-deep JSON array", q="[" * 1100 + "]" * 1100, qs="json", expect="limit"),
    Hostile("1,100-deep JSON array as a sort", s="[" * 1100 + "]" * 1100, ss="json", expect="limit"),
    Hostile("1,100-deep JSON objects", q='{"not": ' * 1100 + '{"exists": "café"}' + "}" * 1100, qs="json", expect="limit"),
    Hostile("32 nested not", q=_nots(31)),
    Hostile("33 nested not", q=_nots(32), expect="limit"),
    Hostile("2,000 nested not", q=_nots(1500), expect="limit"),
    Hostile("40 nested any", q="(any lines " * 40 + "(exists sku)" + ")" * 40, expect="limit"),
    Hostile("10,001 characters", q='(= café "' + "x" * 9991 + '")', expect="limit"),
    Hostile("9,990-character string", q='(= café "' + "x" * 9980 + '")'),
    Hostile("LIKE with 4,990 wildcards", q='(like café "' + "%_" * 4990 + '")', expect=None),
    Hostile("1,000-item list", q="(in café (" + " ".join(f'"{i}"' for i in range(1000)) + "))"),
    Hostile("1,000 UUIDs", q="(nin ref (" + " ".join(f'"{i:08x}-0000-0000-0000-000000000000"' for i in range(250)) + "))"),
    Hostile("1,001-item list", q="(in café (" + " ".join(f'"{i}"' for i in range(1001)) + "))", expect="limit"),
    Hostile("33 sort keys", s=",".join(f"extra.k{i}" for i in range(33)), expect="limit"),
    # Numbers.
    Hostile("huge integer", q="(= tenant_id 99999999999999999999999999)", expect="type"),
    Hostile("huge integer below extra", q="(> extra.score 99999999999999999999999999)", expect="type"),
    Hostile("5,000-digit integer", q="(= priority " + "9" * 5000 + ")", expect="type"),
    Hostile("1e999", q="(< amount 1e999)", expect="type"),
    Hostile("-1e999 below extra", q="(> extra.score -1e999)", expect="type"),
    Hostile("1e-999999 decimal", q="(< amount 1e-999999)"),
    Hostile("5,000 decimal digits", q="(= amount 0." + "1" * 5000 + ")"),
    Hostile("NaN", q='["=", "amount", NaN]', qs="json", expect="syntax"),
    Hostile("Infinity", q='["<", "extra.score", Infinity]', qs="json", expect="syntax"),
    Hostile("-Infinity", q='["<", "amount", -Infinity]', qs="json", expect="syntax"),
    Hostile("400-digit JSON number", q='["=", "tenant_id", 1' + "0" * 400 + "]", qs="json", expect="type"),
    Hostile("2**63", q=f"(= tenant_id {2**63})", expect="type"),
    Hostile("-2**63", q=f"(= tenant_id {-(2**63)})"),
    # Text the engines must never see raw.
    Hostile("escaped lone surrogate", q='(= café "\\ud800")', expect="syntax"),
    Hostile("raw lone surrogate", q='(= café "\ud800x")', expect="syntax"),
    Hostile("raw lone surrogate in a path", q="(= extra.\udfff 1)", expect="syntax"),
    Hostile("raw lone surrogate in a sort", s="extra.\ud800", expect="syntax"),
    Hostile("raw lone surrogate in JSON", q='["=", "café", "\ud800"]', qs="json", expect="syntax"),
    Hostile("NUL in a string", q='(= café "a\\u0000b")', expect=None),
    Hostile("raw NUL in a string", q='(= naïveNote "a\x00b")', expect=None),
    Hostile("NUL in a LIKE", q='(ilike café "%\\u0000%")', expect=None),
    Hostile("NUL in a map key", q='(= "extra.a\\u0000b" 1)', expect=None),
    Hostile("NUL in a sort key", s="extra.a\x00b", expect=None),
    Hostile("control characters", q='(= café "\\u0001\\u001b[31m\\r\\n")'),
    Hostile("byte order mark", q='\ufeff(= café "x")', expect="syntax"),
    Hostile("SQL in a string", q="(= café \"x' OR 1=1 --\")"),
    Hostile("SQL in a map key", q="(= \"extra.x') OR 1=1 --\" 1)"),
    Hostile("JSON path syntax in a map key", q='(= "extra.$[0]" 1)'),
    Hostile("$where as a map key", q="(= extra.$where 1)"),
    Hostile("an operator object as a value", q='["=", "café", {"$ne": 1}]', qs="json", expect="syntax"),
    Hostile("$where as an operator", q='{"$where": "sleep(1000)"}', qs="json", expect="unknown_operator"),
    Hostile("unknown operator", q='(frobnicate café "x")', expect="unknown_operator"),
    Hostile("unknown operator in JSON", q='["regex", "café", ".*"]', qs="json", expect="unknown_operator"),
    Hostile("empty path segment", q='(= "extra..a" 1)', expect="syntax"),
    Hostile("* below an untyped field", q='(= extra.objs.*.k "v")', expect="unknown_field"),
    Hostile("a 9,990-character field name", q="(= " + "a" * 9990 + " 1)", expect="unknown_field"),
    # Fields a client must not reach.
    Hostile("hidden field in a filter", q='(like secret "s3%")', expect="unknown_field"),
    Hostile("hidden field in a sort", s="-secret", expect="unknown_field"),
    Hostile("like on a UUID", q='(like ref "123%")', expect="type"),
    Hostile("an IntEnum value that is not one", q="(= priority 7)", expect="type"),
    Hostile("February 30th", q='(= opened_at "2024-02-30")', expect="type"),
    Hostile("year zero", q='(= opened_at "0000-01-01")', expect="type"),
    Hostile("5,000 fractional digits", q='(= opened_at "2024-01-31T12:00:00.' + "9" * 5000 + 'Z")', expect="type"),
    Hostile("bad styles", q="<a/>", qs="xml", expect="request"),
    Hostile("bad sort style", s="café", ss="yaml", expect="request"),
]
