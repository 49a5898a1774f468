"""Keyset pages in SQL: "the rows after this position in the sort" as a WHERE condition, so a
cursor's page is `WHERE <filter> AND <after> ORDER BY <keys> LIMIT n`, with no OFFSET.

For ORDER BY terms t_1..t_n (each ascending or descending, nulls lowest) and a position
(v_1..v_n), a row is after the position when

    (t_1 after v_1) OR (t_1 = v_1 AND t_2 after v_2) OR ... OR (t_1 = v_1 AND ... AND t_n after v_n)

where, with nulls lowest (first ascending, last descending):

    | term       | v present             | v null (missing) |
    |------------|-----------------------|------------------|
    | ascending  | t > v                 | t IS NOT NULL    |
    | descending | t < v OR t IS NULL    | nothing is after |
    | equal      | t = v                 | t IS NULL        |

The last key is the `id` tiebreak, so the order is total and the position is one row. The
terms are the very expressions ORDER BY uses (`FilterCompiler.ordered`: the same JSON paths and
collations), so the engine compares as it sorts and an index on the sort serves both; one
redundant conjunct on the first term gives the engine a range to start the index scan at
(`t_1 >= v_1` ascending, `t_1 IS NULL` descending from null, `t_1 <= v_1` descending on a NOT
NULL column). Where no one range exists (a nullable first term, at a position where its nulls
and values meet), `keyset_segments` splits the condition in two, run one after the other.
Untyped keys order by four terms (`FilterCompiler.untyped_terms`: the family's
rank, then the value as a number, a string or a boolean); for a position only the rank and the
term of its own family can differ between rows of equal rank, so the others are left out.

Which values are null changes the condition's shape, not its values: statements are cached by
shape, and every value is a parameter bound per page (`crudql_after_<i>`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...ast import SortKey
from ...fieldtypes import Kind
from .compiler import FilterCompiler
from .dialects.base import BIND_TYPES
from .elements import junction
from .params import AFTER_PREFIX, after_param
from .refs import Ref, family

__all__ = ["SKIP", "Term", "keyset_condition", "keyset_segments", "keyset_terms", "position_values"]

SKIP = object()  # a term that cannot tell rows of an equal position apart: left out


@dataclass(frozen=True)
class Term:
    """One ORDER BY term: its expression, direction, whether it can be NULL, the type its
    position value binds as, and how the sort key's value becomes that value (None for a
    null, `SKIP` for a term that does not matter at this position)."""

    expr: ColumnElement[Any]
    descending: bool
    nullable: bool
    type: sa.types.TypeEngine[Any]
    value: Callable[[Any], Any]
    key: int  # which sort key the term belongs to


def keyset_terms(compiler: FilterCompiler, order: Sequence[SortKey]) -> tuple[Term, ...]:
    """The ORDER BY terms of a sort, in order, with how a position binds each."""
    terms: list[Term] = []
    dialect = compiler.dialect
    for i, key in enumerate(order):
        ref = compiler.sort_ref(key)
        if ref.kind is Kind.ANY:
            terms.extend(_untyped_terms(compiler, ref, key.descending, i))
            continue
        kind = ref.kind
        stored = dialect.literal_value if ref.column is not None else dialect.json_literal
        terms.append(
            Term(
                compiler.ordered(ref),
                key.descending,
                ref.nullable,
                dialect.bind_type(ref, kind),
                lambda v, stored=stored, kind=kind: None if v is None else stored(v, kind),  # type: ignore[misc]
                i,
            )
        )
    return tuple(terms)


def _rank(value: Any) -> int | None:
    if value is None:
        return None
    fam = family(value)
    return dict(FilterCompiler.FAMILY_RANKS).get(fam, FilterCompiler.OTHER_RANK) if fam else FilterCompiler.OTHER_RANK


def _untyped_terms(compiler: FilterCompiler, ref: Ref, descending: bool, i: int) -> list[Term]:
    rank, number, string, boolean = compiler.untyped_terms(ref)

    def only(name: str) -> Callable[[Any], Any]:
        def value(v: Any) -> Any:
            if family(v) != name:
                return SKIP  # another family (or null, or an object): equal ranks settle it
            return compiler.dialect.check_text(v) if isinstance(v, str) else v

        return value

    return [
        Term(rank, descending, True, sa.Integer(), _rank, i),
        Term(number, descending, True, BIND_TYPES[Kind.FLOAT], only("number"), i),
        Term(string, descending, True, sa.String(), only("string"), i),
        Term(boolean, descending, True, BIND_TYPES[Kind.BOOL], only("bool"), i),
    ]


def position_values(terms: Sequence[Term], position: Sequence[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """(shape, parameters) of a position: per term its bound value, None or `SKIP` (the shape
    marks which: it picks the statement), and the values to bind, by parameter name."""
    values = tuple(term.value(position[term.key]) for term in terms)
    shape = tuple(SKIP if v is SKIP else v is None for v in values)
    params = {f"{AFTER_PREFIX}{j}": v for j, v in enumerate(values) if v is not SKIP and v is not None}
    return shape, params


def keyset_condition(terms: Sequence[Term], shape: Sequence[Any]) -> ColumnElement[bool]:
    """The rows after a position of this shape, as one condition (see the module's docstring)."""
    condition = _after(terms, shape, 0)
    first = _first(terms, shape)
    if first is None or _first(terms, shape, first[0] + 1) is None:
        return condition  # one term: the condition is its range already
    j, term = first
    t, v = term.expr, after_param(j, term.type)
    # The first term bounds an index range (the condition implies it).
    if shape[j] is False and not term.descending:
        return sa.and_(t >= v, condition)
    if shape[j] is True and term.descending:
        return sa.and_(t.is_(None), condition)
    if shape[j] is False and not term.nullable:
        return sa.and_(t <= v, condition)
    return condition


def keyset_segments(terms: Sequence[Term], shape: Sequence[Any]) -> tuple[ColumnElement[bool], ...]:
    """The rows after a position as consecutive segments of the order, each an index range.

    Where the first term is nullable and the position lies where the nulls and the values
    meet the condition has no one range: descending from a value (the rest of the values, and
    then every null), or ascending from a null (the rest of the nulls, and then every value).
    Run as two statements, the first scans the index from the position and the second, asked
    only when the first does not fill the page, starts the other part; one condition would
    scan from the start of the index, at a cost growing with the page's depth.
    """
    first = _first(terms, shape)
    if first is None:
        return (keyset_condition(terms, shape),)
    j, term = first
    t, v = term.expr, after_param(j, term.type)
    rest = _after(terms, shape, j + 1)
    if term.nullable and term.descending and shape[j] is False:
        return sa.and_(t <= v, sa.or_(t < v, sa.and_(t == v, rest))), t.is_(None)
    if term.nullable and not term.descending and shape[j] is True:
        return sa.and_(t.is_(None), rest), t.is_not(None)
    return (keyset_condition(terms, shape),)


def _first(terms: Sequence[Term], shape: Sequence[Any], base: int = 0) -> tuple[int, Term] | None:
    return next(((j, terms[j]) for j in range(base, len(terms)) if shape[j] is not SKIP), None)


def _after(terms: Sequence[Term], shape: Sequence[Any], base: int) -> ColumnElement[bool]:
    """(t_b after v_b) OR (t_b = v_b AND t_b+1 after v_b+1) OR ..., for the terms from `base`."""
    branches: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for j in range(base, len(terms)):
        term, null = terms[j], shape[j]
        if null is SKIP:
            continue
        t = term.expr
        v = after_param(j, term.type)
        after: ColumnElement[bool] | None
        same: ColumnElement[bool]
        if null:
            after = None if term.descending else t.is_not(None)
            same = t.is_(None)
        else:
            if term.descending:
                after = sa.or_(t < v, t.is_(None)) if term.nullable else t < v
            else:
                after = t > v
            same = t == v
        if after is not None:
            branches.append(sa.and_(*equal, after) if equal else after)
        equal.append(same)
    return junction(sa.or_, branches) if branches else sa.false()
