"""The one operator table, shared by both filter syntaxes, the checker, the backends and the docs.

Each row says everything the rest of crudql needs to know about an operator: its names, its
arguments, the field kinds it applies to, the node it builds, how it treats null and missing
values, and the backend method that compiles it (`method`: every backend defines `op_<method>`,
and `crudql.backends.base.Compiler` refuses at import a backend that lacks one).

Adding an operator means: one `Operator` row here, one method per backend, and tests.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .fieldtypes import ALL_KINDS, ORDERED_KINDS, SCALAR_KINDS, TEXT_KINDS, Kind

__all__ = ["OPERATORS", "PREDICATES", "ArgKind", "Form", "Operator", "lookup", "suggest_operator"]


class ArgKind(Enum):
    FIELD = "field"
    VALUE = "value"  # one literal (null allowed where the operator says so)
    LIST = "list"  # a list of literals
    PATTERN = "pattern"  # a LIKE pattern: a string literal
    STRING = "string"  # a string literal
    EXPR = "expression"


class Form(Enum):
    """The AST node an operator builds."""

    AND = "and"
    OR = "or"
    NOT = "not"
    QUANTIFIED = "quantified"  # any / all over an array of objects
    PREDICATE = "predicate"  # a test of one field


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    aliases: tuple[str, ...]
    args: tuple[ArgKind, ...]
    summary: str
    example: str
    form: Form = Form.PREDICATE
    method: str | None = None  # backends compile it with `op_<method>` (None: not a predicate)
    variadic: bool = False  # the last argument kind repeats (at least once)
    field_kinds: frozenset[Kind] = frozenset()  # kinds the field may have
    array_element: bool = False  # also valid on an array of scalars (element semantics)
    array_only: bool = False  # only valid on arrays of scalars
    text_elements: bool = False  # on an array, its elements must be text
    null_value: bool = False  # accepts `null` as its value (the null tests)
    null_in_list: bool = False  # a `null` in its list matches missing or null
    ordering: bool = False  # compares by order: an enum value need not be one of the enum's
    missing_holds: bool = False  # true for a missing or null value (is-null)
    empty_list_holds: bool = False  # true for an empty list, even on a missing value (has-all)
    negates: str | None = None  # defined as (not (negates ...)); compiled through that operator

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def holds_when_missing(self, args: tuple[Any, ...]) -> bool:
        """Whether this (positive) predicate is true for a missing or null field (docs/spec/LANGUAGE.md §2):
        only the null tests, a null among `in`'s values and the empty conjunction hold."""
        if self.missing_holds:
            return True
        if self.null_value and args and getattr(args[0], "value", 0) is None:
            return True
        values = getattr(args[0], "values", None) if args else None
        if values is not None:
            if self.null_in_list and None in values:
                return True
            if self.empty_list_holds and not values:
                return True
        return False

    @property
    def arity_text(self) -> str:
        if self.variadic:
            return f"1 or more {self.args[-1].value}s"
        return ", ".join(a.value for a in self.args) or "no arguments"


F, V, L, P, S, E = ArgKind.FIELD, ArgKind.VALUE, ArgKind.LIST, ArgKind.PATTERN, ArgKind.STRING, ArgKind.EXPR

# fmt: off
OPERATORS: tuple[Operator, ...] = (
    Operator("and", (), (E,), "true when every expression is true", "(and (= a 1) (= b 2))",
             form=Form.AND, variadic=True),
    Operator("or", (), (E,), "true when some expression is true", "(or (= a 1) (= b 2))",
             form=Form.OR, variadic=True),
    Operator("not", (), (E,), "negation", "(not (has tags \"churned\"))", form=Form.NOT),
    Operator("=", ("eq", "=="), (F, V), "equal; (= f null) tests for null", '(= info.partner "AWS")',
             method="eq", field_kinds=SCALAR_KINDS, null_value=True),
    Operator("!=", ("ne", "neq", "<>"), (F, V), "not equal: (not (= f v)); (!= f null) tests for a value",
             '(!= info.partner "AWS")', field_kinds=SCALAR_KINDS, null_value=True, negates="="),
    Operator("<", ("lt",), (F, V), "less than", "(< info.cosellPartnerMetrics.accountCount 10)",
             method="lt", field_kinds=ORDERED_KINDS, ordering=True),
    Operator("<=", ("lte", "le"), (F, V), "less than or equal", '(<= creation_time "2024-01-01")',
             method="lte", field_kinds=ORDERED_KINDS, ordering=True),
    Operator(">", ("gt",), (F, V), "greater than", "(> info.cosellPartnerMetrics.successRate 50)",
             method="gt", field_kinds=ORDERED_KINDS, ordering=True),
    Operator(">=", ("gte", "ge"), (F, V), "greater than or equal", "(>= info.cosellPartnerMetrics.accountCount 10)",
             method="gte", field_kinds=ORDERED_KINDS, ordering=True),
    Operator("between", (), (F, V, V), "low <= f <= high", '(between creation_time "2024-01-01" "2024-12-31")',
             method="between", field_kinds=ORDERED_KINDS, ordering=True),
    Operator("in", (), (F, L), "one of the values; null in the list matches missing or null",
             '(in info.partner ("AWS" "GCP"))', method="in", field_kinds=SCALAR_KINDS, null_in_list=True),
    Operator("nin", ("not-in",), (F, L), "none of the values: (not (in f list))", '(nin info.partner ("AWS"))',
             field_kinds=SCALAR_KINDS, null_in_list=True, negates="in"),
    Operator("like", (), (F, P), "SQL LIKE over the whole string: % any run, _ one character, \\ escapes",
             '(like name "Jo%")', method="like", field_kinds=TEXT_KINDS),
    Operator("ilike", (), (F, P), "LIKE ignoring case", '(ilike name "%an%")', method="ilike",
             field_kinds=TEXT_KINDS),
    Operator("contains", (), (F, V), "substring of a string; on an array, an element equals the value",
             '(contains info.companyName "Acme")', method="contains", field_kinds=TEXT_KINDS, array_element=True),
    Operator("icontains", (), (F, V), "contains ignoring case", '(icontains info.companyName "acme")',
             method="icontains", field_kinds=TEXT_KINDS, array_element=True, text_elements=True),
    Operator("starts-with", ("startswith",), (F, S), "literal prefix, no wildcards", '(starts-with name "Jo")',
             method="starts_with", field_kinds=TEXT_KINDS),
    Operator("ends-with", ("endswith",), (F, S), "literal suffix, no wildcards",
             '(ends-with email_address "@example.com")', method="ends_with", field_kinds=TEXT_KINDS),
    Operator("has", (), (F, V), "the array has an element equal to the value", '(has tags "partner")',
             method="has", array_only=True),
    Operator("has-any", (), (F, L), "the array has some of the values; false for an empty list",
             '(has-any tags ("partner" "vip"))', method="has_any", array_only=True),
    Operator("has-all", (), (F, L), "the array has every value; true for an empty list",
             '(has-all tags ("partner" "vip"))', method="has_all", array_only=True, empty_list_holds=True),
    Operator("exists", (), (F,), "present and not null", "(exists info.cosellPartnerMetrics)",
             method="exists", field_kinds=ALL_KINDS),
    Operator("is-null", (), (F,), "absent or null", "(is-null info.partner)", method="is_null",
             field_kinds=ALL_KINDS, missing_holds=True),
    Operator("any", (), (F, E), "some element of an array of objects satisfies the expression",
             '(any info.cosellPartnerMetrics.accounts (= industry "Software"))', form=Form.QUANTIFIED),
    Operator("all", (), (F, E), "every element satisfies the expression; true for an empty array",
             '(all info.cosellPartnerMetrics.accounts (= type "Customer"))', form=Form.QUANTIFIED),
)

# The field predicates a backend compiles itself: those with a method (negations are rewritten).
PREDICATES: tuple[Operator, ...] = tuple(op for op in OPERATORS if op.method is not None)

_BY_NAME: dict[str, Operator] = {name: op for op in OPERATORS for name in op.names}
# Canonical names only: how backends find the row of a checked node's `op`.
BY_CANONICAL: dict[str, Operator] = {op.name: op for op in OPERATORS}


def lookup(name: str) -> Operator | None:
    """The operator for a name or alias, case-insensitively."""
    op = _BY_NAME.get(name)
    if op is None:
        op = _BY_NAME.get(name.lower())
    return op


def suggest_operator(name: str) -> str | None:
    matches = difflib.get_close_matches(name.lower(), list(_BY_NAME), n=1, cutoff=0.6)
    return matches[0] if matches else None
