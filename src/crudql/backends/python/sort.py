"""Python backend: records in sort order, missing and null lowest (docs/spec/LANGUAGE.md §4).

A page needs only its first `offset + limit` records: with one direction for every key, a
heap picks them in one pass over a generated composite key; with mixed directions a heap on
the first key narrows the candidates, and stable sorts from the last key to the first order them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ...ast import Field, SortKey
from ...cache import WeightedLRU
from ...fieldtypes import Kind
from .codegen import DICT, MODEL, Codegen
from .values import enum_value, typed_rank

__all__ = ["compile_sort_key", "records_after", "sort_records"]


def compile_sort_key(key: SortKey, shape: str = MODEL) -> Callable[[Any], Any]:
    """The value a record sorts by for one key (None when missing)."""
    return _compile_ranks((_sort_field(key),), shape, False)


def _sort_field(key: SortKey) -> Field:
    return key.resolved if key.resolved is not None else Field(key.path)


# Rank functions by (fields, shape, flagged); a sort has at most 32 keys of 16 segments.
_RANKS: WeightedLRU[tuple[Any, ...], Callable[[Any], Any]] = WeightedLRU(4 << 20)


def _compile_ranks(fields: tuple[Field, ...], shape: str, flagged: bool) -> Callable[[Any], Any]:
    return _RANKS.get_or_build(
        (fields, shape, flagged),
        lambda: _build_ranks(fields, shape, flagged),
        lambda _: 2048 + 1024 * sum(len(f.path) for f in fields),
    )


def _build_ranks(fields: tuple[Field, ...], shape: str, flagged: bool) -> Callable[[Any], Any]:
    """One generated function: the value of a single field, or (flagged) the flat tuple
    (present?, value, present?, value, ...) that orders records by every field, missing lowest."""
    gen = Codegen(shape)
    if not flagged:
        (only,) = fields
        body = gen.value_expression(only, "r")
    else:
        parts = []
        for f in fields:
            v = gen.temp()
            parts.append(f"({v} := {gen.value_expression(f, 'r')}) is not None, {v}")
        body = "(" + ", ".join(parts) + ",)"
    gen.functions.append(f"def _rank(r):\n    return {body}\n")
    return gen.load("_rank")


def _shape_of(records: Sequence[Any]) -> str:
    return DICT if records and records[0].__class__ is dict else MODEL


def sort_records(records: Iterable[Any], order: Sequence[SortKey], limit: int | None = None) -> list[Any]:
    """Records in sort order, missing/null lowest (first ascending, last descending).

    With `limit`, only the first `limit` records are guaranteed (and returned).
    """
    items = list(records)
    if not order or not items:
        return items[:limit] if limit is not None else items
    shape = _shape_of(items)
    fields = tuple(_sort_field(k) for k in order)
    directions = {k.descending for k in order}
    if limit is not None and limit < len(items) // 4:
        if len(directions) == 1:
            # Every key the same way: one pass with a heap on one composite key.
            pick = heapq.nlargest if order[0].descending else heapq.nsmallest
            return pick(limit, items, key=_compile_ranks(fields, shape, True))
        items = _candidates(items, order[0].descending, _compile_ranks(fields[:1], shape, True), limit)
    # Stable sorts from the last key to the first: each pass keeps the order of the ones after it.
    for key, f in zip(reversed(order), reversed(fields)):
        getter = _compile_ranks((f,), shape, False)
        decorated = [(getter(r), r) for r in items]
        missing = [r for v, r in decorated if v is None]
        present = [(v, r) for v, r in decorated if v is not None]
        present.sort(key=_first, reverse=key.descending)
        ordered = [r for _, r in present]
        items = ordered + missing if key.descending else missing + ordered
    return items[:limit] if limit is not None else items


def _candidates(items: list[Any], descending: bool, rank: Callable[[Any], Any], limit: int) -> list[Any]:
    """The records that can reach the first `limit` places: those whose first key is at least
    as good as the limit-th best (ties at the boundary included, for the later keys to order).
    One pass and a heap, instead of sorting every match for one page."""
    ranked = list(map(rank, items))
    pick = heapq.nlargest if descending else heapq.nsmallest
    boundary = pick(limit, ranked)[-1]
    if descending:
        return [r for key, r in zip(ranked, items) if key >= boundary]
    return [r for key, r in zip(ranked, items) if key <= boundary]


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def records_after(records: Iterable[Any], order: Sequence[SortKey], position: Sequence[Any]) -> list[Any]:
    """The records after `position` in the sort `order` (a keyset page's candidates).

    `position` holds one value per key, as `crudql.cursor.sort_values` reads them (None for
    missing or null). A record is after it when, at the first key where the two differ, the
    record's value is greater (ascending) or smaller (descending), missing and null lowest.
    """
    items = list(records)
    if not items:
        return items
    shape = _shape_of(items)
    fields = tuple(_sort_field(k) for k in order)
    target = tuple(_rank_value(f, v) for f, v in zip(fields, position))
    if len({k.descending for k in order}) == 1:
        # One direction: compare the generated composite ranks (present?, value, ...) at once.
        flat = tuple(x for v in target for x in (v is not None, v))
        rank = _compile_ranks(fields, shape, True)
        if order[0].descending:
            return [r for r in items if rank(r) < flat]
        return [r for r in items if rank(r) > flat]
    getters = [(_compile_ranks((f,), shape, False), k.descending, t) for f, k, t in zip(fields, order, target)]
    return [r for r in items if _after(r, getters)]


def _rank_value(f: Field, value: Any) -> Any:
    """A position's value as the rank functions give record values (untyped: by type first)."""
    if value is None:
        return None
    if f.type is None or f.type.kind is Kind.ANY:
        return typed_rank(value)
    return enum_value(value)


def _after(record: Any, getters: list[tuple[Callable[[Any], Any], bool, Any]]) -> bool:
    for get, descending, target in getters:
        value = get(record)
        if value == target:
            continue
        if value is None:
            return descending  # missing is lowest: after the position only when descending
        if target is None:
            return not descending
        return bool(value < target) if descending else bool(value > target)
    return False  # the position's own record
