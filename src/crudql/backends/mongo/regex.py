"""LIKE patterns and literal text as MongoDB regular expressions that cannot backtrack.

Regexes are built only from escaped literal pieces (no client regex, no ReDoS), read alike by
MongoDB's PCRE and by Python's `re` (mongomock and montydb compile `$regex` with it).
"""

from __future__ import annotations

from typing import Any

from ...errors import LimitError
from ...patterns import WILDCARD_ONE, LikePattern

__all__ = ["END", "MAX_REGEX_BYTES", "escape", "like_regex", "regex", "uses_dot"]

# MongoDB refuses a $regex pattern longer than 16 KiB (error 51091); say so as a client error.
MAX_REGEX_BYTES = 16384
# LIKE regexes run with the `s` option, so `.` is one character, newlines included.
_ANY_CHAR = "."
# MongoDB: `$` also matches before a final newline in PCRE (and Python), and `\z` is not
# Python syntax (mongomock and montydb compile $regex with Python's `re`). "No character
# follows" means the same in both engines. Without `s` (contains, starts-with, ends-with
# have no wildcards), a newline could follow, so the class spells out every character.
_END_DOTALL = "(?!.)"
END = r"(?![\s\S])"


# Case-insensitive matching: Python's re (the Python backend, mongomock, montydb) treats
# I, i, İ (U+0130) and ı (U+0131) as one letter; PCRE2 (MongoDB) folds only I with i. Across
# all of Unicode these four are the only difference (checked code point by code point against
# PCRE2), so under `i` each of them is spelled as the whole class, which both engines read alike.
_FOLD_CLASS = "[Iiİı]"
_FOLD_AS_PYTHON = frozenset("Iiİı")


def escape(text: str, fold: bool = False) -> str:
    """`text` as regex source matching it literally, read the same by PCRE and Python's re.

    A backslash before ASCII punctuation is literal in both; control characters become \\xHH
    (a raw NUL cannot be sent to the server); letters, digits and non-ASCII characters are
    literal as they are. With `fold` (for the `i` option), see `_FOLD_CLASS`.
    """
    out = []
    for ch in text:
        if fold and ch in _FOLD_AS_PYTHON:
            out.append(_FOLD_CLASS)
        elif not ch.isascii() or ch.isalnum():
            out.append(ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append("\\" + ch)
    return "".join(out)


def _segment(items: tuple[object, ...], fold: bool) -> str:
    """One fixed-length LIKE segment: literal runs and `_` (one character each)."""
    out: list[str] = []
    wild = 0
    for item in (*items, None):
        if item is WILDCARD_ONE:
            wild += 1
            continue
        if wild:
            out.append(_ANY_CHAR if wild == 1 else f"{_ANY_CHAR}{{{wild}}}")
            wild = 0
        if isinstance(item, str):
            out.append(escape(item, fold))
    return "".join(out)


def like_regex(pattern: LikePattern, fold: bool = False) -> str:
    """An anchored regex matching what the LIKE pattern matches, without backtracking across %.

    As in `crudql.patterns`: the first segment sits at the start, the last at the end, each
    middle one at its leftmost place after the previous. A middle segment is matched inside a
    lookahead whose capture is then consumed by a backreference, `(?=(?P<m1>.*?SEG))(?P=m1)`:
    lookaheads are atomic in PCRE and Python alike, so a failed match never retries a middle
    segment further right, and `%a%a%a...%b` stays linear instead of exploding. (Atomic
    groups `(?>...)` would say the same but need Python 3.11 under mongomock.)
    """
    segments = pattern.segments
    if len(segments) == 1:
        return "^" + _segment(segments[0], fold) + _END_DOTALL
    first, *middle, last = segments
    middle = [m for m in middle if m]  # `%%` leaves empty segments
    if not middle:
        head = "^" + _segment(first, fold) if first else ""
        tail = _segment(last, fold) + _END_DOTALL if last else ""
        return head + (_ANY_CHAR + "*" if head and tail else "") + tail
    if not first and not last and len(middle) == 1:
        return _segment(middle[0], fold)  # %text%: a plain search, nothing to backtrack
    out = ["^", _segment(first, fold)]
    for i, seg in enumerate(middle, 1):
        out.append(f"(?=(?P<m{i}>{_ANY_CHAR}*?{_segment(seg, fold)}))(?P=m{i})")
    if last:
        out.append(f"{_ANY_CHAR}*{_segment(last, fold)}{_END_DOTALL}")
    return "".join(out)


def uses_dot(source: str) -> bool:
    """Whether the regex has an unescaped `.` (and so needs the `s` option)."""
    i = 0
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] == ".":
            return True
        i += 1
    return False


def regex(source: str, ignore_case: bool, span: Any, *, dotall: bool = False) -> dict[str, Any]:
    if len(source.encode("utf-8", "surrogatepass")) > MAX_REGEX_BYTES:
        raise LimitError(
            f"the pattern becomes a regular expression longer than MongoDB's {MAX_REGEX_BYTES} bytes; "
            "use a shorter pattern",
            position=span.start if span is not None else None,
            length=span.length if span is not None else 1,
        )
    test: dict[str, Any] = {"$regex": source}
    # MongoDB's PCRE runs in UTF mode: `.` is one character (not one byte), and `i` folds case
    # for every Unicode letter, character by character, as Python's re.IGNORECASE does in the
    # Python backend.
    options = ("i" if ignore_case else "") + ("s" if dotall else "")
    if options:
        test["$options"] = options
    return test
