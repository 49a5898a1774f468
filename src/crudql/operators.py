"""The one operator table, shared by both filter syntaxes, the checker, the backends and the docs.

Adding an operator means: one `Operator` row here, one method per backend, and tests.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum

__all__ = ["ArgKind", "Kind", "Operator", "OPERATORS", "lookup", "suggest_operator", "SCALAR_KINDS"]


class ArgKind(Enum):
    FIELD = "field"
    VALUE = "value"  # one literal (null allowed where the operator says so)
    LIST = "list"  # a list of literals
    PATTERN = "pattern"  # a LIKE pattern: a string literal
    STRING = "string"  # a string literal
    EXPR = "expression"


class Kind(Enum):
    """Field types as the checker and backends see them."""

    STRING = "string"
    INT = "integer"
    FLOAT = "number"
    BOOL = "boolean"
    DATETIME = "datetime"
    DATE = "date"
    ENUM = "enum"
    OBJECT = "object"
    ARRAY = "array"
    DICT = "map"
    ANY = "any"


SCALAR_KINDS = frozenset(
    {Kind.STRING, Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.DATETIME, Kind.DATE, Kind.ENUM, Kind.ANY}
)
ORDERED_KINDS = frozenset({Kind.STRING, Kind.INT, Kind.FLOAT, Kind.DATETIME, Kind.DATE, Kind.ENUM, Kind.ANY})
TEXT_KINDS = frozenset({Kind.STRING, Kind.ENUM, Kind.ANY})
ALL_KINDS = frozenset(Kind)


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    aliases: tuple[str, ...]
    args: tuple[ArgKind, ...]
    summary: str
    example: str
    variadic: bool = False  # the last argument kind repeats (at least once)
    field_kinds: frozenset[Kind] = frozenset()  # kinds the field may have
    array_element: bool = False  # also valid on an array of scalars (element semantics)
    array_only: bool = False  # only valid on arrays of scalars
    null_value: bool = False  # accepts `null` as its value (the null tests)
    negates: str | None = None  # defined as (not (negates ...))

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def arity_text(self) -> str:
        if self.variadic:
            return f"1 or more {self.args[-1].value}s"
        return ", ".join(a.value for a in self.args) or "no arguments"


F, V, L, P, S, E = ArgKind.FIELD, ArgKind.VALUE, ArgKind.LIST, ArgKind.PATTERN, ArgKind.STRING, ArgKind.EXPR

OPERATORS: tuple[Operator, ...] = (
    Operator("and", (), (E,), "true when every expression is true", "(and (= a 1) (= b 2))", variadic=True),
    Operator("or", (), (E,), "true when some expression is true", "(or (= a 1) (= b 2))", variadic=True),
    Operator("not", (), (E,), "negation", "(not (has tags \"churned\"))"),
    Operator("=", ("eq", "=="), (F, V), "equal; (= f null) tests for null", '(= info.partner "AWS")',
             field_kinds=SCALAR_KINDS, null_value=True),
    Operator("!=", ("ne", "neq", "<>"), (F, V), "not equal: (not (= f v)); (!= f null) tests for a value",
             '(!= info.partner "AWS")', field_kinds=SCALAR_KINDS, null_value=True, negates="="),
    Operator("<", ("lt",), (F, V), "less than", "(< info.cosellPartnerMetrics.accountCount 10)",
             field_kinds=ORDERED_KINDS),
    Operator("<=", ("lte", "le"), (F, V), "less than or equal", '(<= creation_time "2024-01-01")',
             field_kinds=ORDERED_KINDS),
    Operator(">", ("gt",), (F, V), "greater than", "(> info.cosellPartnerMetrics.successRate 50)",
             field_kinds=ORDERED_KINDS),
    Operator(">=", ("gte", "ge"), (F, V), "greater than or equal", "(>= info.cosellPartnerMetrics.accountCount 10)",
             field_kinds=ORDERED_KINDS),
    Operator("between", (), (F, V, V), "low <= f <= high", '(between creation_time "2024-01-01" "2024-12-31")',
             field_kinds=ORDERED_KINDS),
    Operator("in", (), (F, L), "one of the values; null in the list matches missing or null",
             '(in info.partner ("AWS" "GCP"))', field_kinds=SCALAR_KINDS),
    Operator("nin", ("not-in",), (F, L), "none of the values: (not (in f list))", '(nin info.partner ("AWS"))',
             field_kinds=SCALAR_KINDS, negates="in"),
    Operator("like", (), (F, P), "SQL LIKE over the whole string: % any run, _ one character, \\ escapes",
             '(like name "Jo%")', field_kinds=TEXT_KINDS),
    Operator("ilike", (), (F, P), "LIKE ignoring case", '(ilike name "%an%")', field_kinds=TEXT_KINDS),
    Operator("contains", (), (F, V), "substring of a string; on an array, an element equals the value",
             '(contains info.companyName "Acme")', field_kinds=TEXT_KINDS, array_element=True),
    Operator("icontains", (), (F, V), "contains ignoring case", '(icontains info.companyName "acme")',
             field_kinds=TEXT_KINDS, array_element=True),
    Operator("starts-with", ("startswith",), (F, S), "literal prefix, no wildcards", '(starts-with name "Jo")',
             field_kinds=TEXT_KINDS),
    Operator("ends-with", ("endswith",), (F, S), "literal suffix, no wildcards",
             '(ends-with email_address "@example.com")', field_kinds=TEXT_KINDS),
    Operator("has", (), (F, V), "the array has an element equal to the value", '(has tags "partner")',
             array_only=True),
    Operator("has-any", (), (F, L), "the array has some of the values; false for an empty list",
             '(has-any tags ("partner" "vip"))', array_only=True),
    Operator("has-all", (), (F, L), "the array has every value; true for an empty list",
             '(has-all tags ("partner" "vip"))', array_only=True),
    Operator("exists", (), (F,), "present and not null", "(exists info.cosellPartnerMetrics)",
             field_kinds=ALL_KINDS),
    Operator("is-null", (), (F,), "absent or null", "(is-null info.partner)", field_kinds=ALL_KINDS),
    Operator("any", (), (F, E), "some element of an array of objects satisfies the expression",
             '(any info.cosellPartnerMetrics.accounts (= industry "Software"))'),
    Operator("all", (), (F, E), "every element satisfies the expression; true for an empty array",
             '(all info.cosellPartnerMetrics.accounts (= type "Customer"))'),
)

_BY_NAME: dict[str, Operator] = {name: op for op in OPERATORS for name in op.names}


def lookup(name: str) -> Operator | None:
    """The operator for a name or alias, case-insensitively."""
    op = _BY_NAME.get(name)
    if op is None:
        op = _BY_NAME.get(name.lower())
    return op


def suggest_operator(name: str) -> str | None:
    matches = difflib.get_close_matches(name.lower(), list(_BY_NAME), n=1, cutoff=0.6)
    return matches[0] if matches else None

