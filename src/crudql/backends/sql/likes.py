"""LIKE patterns rendered for SQL engines: canonical LIKE (`%`, `_`, `\\` escapes) and GLOB."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ...patterns import WILDCARD_ONE, LikePattern, escape_like

__all__ = ["pattern_literals", "render_glob", "render_like"]


def render_like(pattern: LikePattern, literal: Callable[[str], str] = escape_like) -> str:
    """A LIKE pattern in canonical form (only `%`, `_` and `\\` escaped)."""
    return "%".join(
        "".join("_" if item is WILDCARD_ONE else literal(item) for item in segment)  # type: ignore[arg-type]
        for segment in pattern.segments
    )


def _glob_literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def render_glob(pattern: LikePattern) -> str:
    """The same pattern as an SQLite GLOB (case-sensitive, `?` is one character)."""
    return "*".join(
        "".join("?" if item is WILDCARD_ONE else _glob_literal(item) for item in segment)  # type: ignore[arg-type]
        for segment in pattern.segments
    )


def pattern_literals(pattern: LikePattern) -> Iterator[str]:
    for segment in pattern.segments:
        for item in segment:
            if isinstance(item, str):
                yield item
