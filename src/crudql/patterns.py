"""SQL LIKE patterns, parsed once and matched without backtracking.

A LIKE pattern is a sequence of segments separated by `%`; each segment is literal characters
and `_` (exactly one character), so every segment has a fixed length. Matching places the
first segment at the start, the last at the end, and each middle one at its leftmost
occurrence after the previous: greedy leftmost placement is optimal for `%`-only wildcards,
so no regex ever backtracks across `%` (a pattern like `%a%a%a...%b` stays linear per
segment instead of exploding, as `.*a.*a.*b` does in a backtracking engine).

Case-insensitive matching folds case per character with Python's `re.IGNORECASE`, which
covers every Unicode letter and keeps lengths fixed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .cache import WeightedLRU

__all__ = ["LikePattern", "escape_like", "like_matcher", "parse_like"]

WILDCARD_ONE = object()  # `_`


@dataclass(frozen=True, slots=True)
class LikePattern:
    """`segments[i]` is a tuple of items: a literal `str` run or `WILDCARD_ONE`.

    `anchored_start`/`anchored_end` are False when the pattern starts/ends with `%`.
    A pattern without `%` has one segment and both anchors.
    """

    segments: tuple[tuple[object, ...], ...]

    @property
    def has_percent(self) -> bool:
        return len(self.segments) > 1

    def literal(self) -> str | None:
        """The text the pattern matches exactly, if it has no wildcards at all."""
        if len(self.segments) == 1 and all(isinstance(i, str) for i in self.segments[0]):
            return "".join(self.segments[0])  # type: ignore[arg-type]
        return None


def parse_like(pattern: str) -> LikePattern:
    """Split a LIKE pattern (`%`, `_`, `\\` escapes) into fixed-length segments.

    The parser rejects a trailing lone `\\` before this is reached.
    """
    segments: list[tuple[object, ...]] = []
    items: list[object] = []
    run: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            run.append(pattern[i + 1])
            i += 2
            continue
        if c == "%":
            if run:
                items.append("".join(run))
                run = []
            segments.append(tuple(items))
            items = []
        elif c == "_":
            if run:
                items.append("".join(run))
                run = []
            items.append(WILDCARD_ONE)
        else:
            run.append(c)
        i += 1
    if run:
        items.append("".join(run))
    segments.append(tuple(items))
    return LikePattern(tuple(segments))


def escape_like(text: str) -> str:
    """A LIKE pattern matching `text` literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _segment_source(segment: tuple[object, ...]) -> str:
    return "".join("." if item is WILDCARD_ONE else re.escape(str(item)) for item in segment)


def _segment_regex(segment: tuple[object, ...], flags: int) -> re.Pattern[str]:
    return re.compile(_segment_source(segment), flags)


def _segment_length(segment: tuple[object, ...]) -> int:
    return sum(1 if item is WILDCARD_ONE else len(str(item)) for item in segment)


# Matchers by (pattern, ignore_case), bounded by pattern size: a compiled regex holds a few
# hundred bytes per pattern character.
_MATCHERS: WeightedLRU[tuple[str, bool], Callable[[str], object | None]] = WeightedLRU(4 << 20)


def like_matcher(pattern: str, ignore_case: bool = False) -> Callable[[str], object | None]:
    """`_like_matcher`, cached."""
    return _MATCHERS.get_or_build(
        (pattern, ignore_case), lambda: _like_matcher(pattern, ignore_case), lambda _: 1024 + 256 * len(pattern)
    )


def _like_matcher(pattern: str, ignore_case: bool) -> Callable[[str], object | None]:
    """A function of a string that returns None unless the whole string matches the pattern.

    Where one regex cannot backtrack badly (at most one `%`, or a single `%text%`), this is a
    compiled regex's own method, called from C; otherwise a walk over the segments.
    """
    parsed = parse_like(pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    segments = parsed.segments
    if len(segments) == 1:
        return _segment_regex(segments[0], flags).fullmatch
    if len(segments) == 2:
        first, last = segments
        # One `.*` backtracks at most once over the string: linear.
        return re.compile(_segment_source(first) + ".*" + _segment_source(last), flags).fullmatch
    first, *middle, last = segments
    middle = [seg for seg in middle if seg]
    if not first and not last and len(middle) == 1:
        return _segment_regex(middle[0], flags).search
    if not middle:
        return re.compile(_segment_source(first) + ".*" + _segment_source(last), flags).fullmatch
    first_re, last_re = _segment_regex(first, flags), _segment_regex(last, flags)
    first_len, last_len = _segment_length(first), _segment_length(last)
    middle_res = [_segment_regex(seg, flags) for seg in middle]

    def match(s: str) -> object | None:
        end = len(s) - last_len
        if end < first_len:
            return None
        if first_len and first_re.match(s, 0, first_len) is None:
            return None
        if last_len and last_re.match(s, end) is None:
            return None
        pos = first_len
        for regex in middle_res:
            m = regex.search(s, pos, end)
            if m is None:
                return None
            pos = m.end()
        return True

    return match
