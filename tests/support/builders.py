"""Short constructors for unchecked ASTs in tests: F("info.partner"), P("in", "tags", ["a"])."""

from __future__ import annotations

from typing import Any

from crudql.ast import Field, ListValue, Literal, Predicate


def F(dotted: str) -> Field:
    return Field(tuple(dotted.split(".")))


def P(op: str, field: str, *args: Any) -> Predicate:
    """A predicate; a Python list argument becomes a ListValue."""
    return Predicate(
        op,
        F(field),
        tuple(ListValue(tuple(Literal(v) for v in a)) if isinstance(a, list) else Literal(a) for a in args),
    )
