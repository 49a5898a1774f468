"""Input limits (docs/spec/LANGUAGE.md §6, docs/spec/SERVICE.md §3).

Over a limit is a `LimitError`, never a crash. Each limit bounds a unit of work some stage
does: text length the lexers, depth the walks, list length the bound parameters, path segments
and leaf conditions the subqueries and joins a backend builds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ast import And, Expr, Field, Not, Or, Predicate, Quantified
from .errors import LimitError

__all__ = ["DEFAULT_LIMITS", "Limits", "check_cost", "check_length", "check_path"]


@dataclass(frozen=True, slots=True)
class Limits:
    """How much a client may ask for. Each limit bounds a unit of work some stage does."""

    max_length: int = 10_000  # characters of filter or sort text
    max_depth: int = 32  # nesting: each operator form and each list is one level
    max_list: int = 1_000  # items in one list
    max_sort_keys: int = 32
    max_path_segments: int = 16  # segments of one field path, map keys included
    max_predicates: int = 256  # leaf conditions of one filter

    def __post_init__(self) -> None:
        # Checking and printing walk the tree recursively; keep far from Python's stack limit.
        if not 1 <= self.max_depth <= 200:
            raise ValueError("max_depth must be between 1 and 200")


DEFAULT_LIMITS = Limits()


def check_length(text: str, limits: Limits, what: str = "query") -> None:
    if len(text) > limits.max_length:
        raise LimitError(
            f"{what} is {len(text):,} characters long; the limit is {limits.max_length:,}",
            position=limits.max_length,
        )


def check_path(field: Field, limits: Limits) -> None:
    """A field path within `max_path_segments` (each segment may cost a join or a subquery)."""
    if len(field.path) > limits.max_path_segments:
        raise LimitError.at(
            f"field path has {len(field.path):,} segments; the limit is {limits.max_path_segments}", field.span
        )


def check_cost(expr: Expr, limits: Limits) -> Expr:
    """The tree within `max_predicates` leaf conditions and `max_path_segments` per path: what
    every backend's work grows with. An iterative walk, before anything else sees the tree."""
    count = 0
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Predicate):
            count += 1
            if count > limits.max_predicates:
                raise LimitError.at(
                    f"the filter has more than {limits.max_predicates} conditions; combine values with "
                    "in, has-any or has-all",
                    node.span,
                )
            check_path(node.field, limits)
        elif isinstance(node, (And, Or)):
            stack.extend(reversed(node.children))  # in text order: the error points at the 257th
        elif isinstance(node, Not):
            stack.append(node.child)
        elif isinstance(node, Quantified):
            check_path(node.field, limits)
            stack.append(node.condition)
    return expr
