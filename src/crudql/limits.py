"""Input limits (docs/spec/LANGUAGE.md §6, docs/spec/SERVICE.md §3). Over a limit is a `LimitError`, never a crash."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LimitError

__all__ = ["DEFAULT_LIMITS", "Limits", "check_length"]


@dataclass(frozen=True, slots=True)
class Limits:
    """How much a client may ask for. Each limit bounds a unit of work some stage does."""

    max_length: int = 10_000  # characters of filter or sort text
    max_depth: int = 32  # nesting: each operator form and each list is one level
    max_list: int = 1_000  # items in one list
    max_sort_keys: int = 32

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
