"""Unicode case folding exactly as Python's `re.IGNORECASE`, for SQL engines to reproduce.

`ilike`/`icontains` must fold case for every Unicode letter in every backend (docs/spec/LANGUAGE.md §2),
and the Python backend's answer is the reference. `re.IGNORECASE` matches two characters when
their simple lowercase mappings are equal or are listed together in re's table of extra cases
(s/ſ, σ/ς, θ/ϑ, ...). `fold` maps a character to one representative of that class; engines
apply the same map (PostgreSQL: `translate(lower(x), FOLD_FROM, FOLD_TO)`).

Two facts let an engine use a cheaper form for many patterns, with the same answers:

- `folds_as_ascii`: every literal character of the pattern is ASCII and none of i, k, s (any
  case). Such a character's class is itself and its ASCII other case, nothing more (K KELVIN
  SIGN folds to k, İ and ı to i, ſ to s: those three are the only ASCII letters with a
  non-ASCII partner; tests check it over every code point). So an engine's ASCII-only
  case-insensitive match (SQLite's LIKE, ILIKE under PostgreSQL's "C" collation) is exactly
  the fold: a literal matches the same characters either way, `_` and `%` match anything.
- `merges_classes`: some literal folds to a representative of one of re's extra classes
  (s/ſ, σ/ς, ...). When none does, the `translate`/REPLACE step cannot change whether a row
  matches: it maps each class member to that representative, one character for one, and a
  character outside those classes compares the same before and after.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

__all__ = ["ASCII_EXACT", "FOLD_FROM", "FOLD_TO", "fold", "fold_text", "folds_as_ascii", "merges_classes"]


def _extra_cases() -> dict[int, tuple[int, ...]]:
    try:
        from re import _casefix  # type: ignore[attr-defined]  # Python 3.11+

        return dict(_casefix._EXTRA_CASES)
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_compile

        return {k: tuple(v) for k, v in getattr(sre_compile, "_ignorecase_fixes", {}).items()}


def _class_representatives() -> dict[str, str]:
    reps: dict[str, str] = {}
    for lower, others in _extra_cases().items():
        group = {lower, *others}
        rep = chr(min(group))
        for code in group:
            if chr(code) != rep:
                reps[chr(code)] = rep
    return reps


_CLASS_REP = _class_representatives()
# For PostgreSQL: translate(lower(x), FROM, TO) applies the same representatives in SQL.
FOLD_FROM = "".join(sorted(_CLASS_REP))
FOLD_TO = "".join(_CLASS_REP[c] for c in sorted(_CLASS_REP))
_REPRESENTATIVES = frozenset(FOLD_TO)

# ASCII characters whose fold class holds nothing but themselves and their ASCII other case
# (NUL aside: stored text holds none). i, k and s have non-ASCII partners (İ ı, K, ſ).
ASCII_EXACT = frozenset(map(chr, range(1, 128))) - frozenset("IKSiks")


def _simple_lower(c: str) -> str:
    try:
        import _sre  # type: ignore[import-not-found]

        return chr(_sre.unicode_tolower(ord(c)))  # exactly what re.IGNORECASE uses
    except (ImportError, AttributeError):  # pragma: no cover - other Pythons
        lowered = c.lower()
        return lowered if len(lowered) == 1 else c


@lru_cache(maxsize=4096)
def fold(c: str) -> str:
    lowered = _simple_lower(c)
    return _CLASS_REP.get(lowered, lowered)


def fold_text(text: str) -> str:
    return "".join(fold(c) for c in text)


def folds_as_ascii(texts: Iterable[str]) -> bool:
    """Whether ASCII-only case-insensitive matching of these pattern literals is `fold`'s."""
    return all(ASCII_EXACT.issuperset(text) for text in texts)


def merges_classes(texts: Iterable[str]) -> bool:
    """Whether some literal folds into one of re's extra case classes (s/ſ, σ/ς, ...): only
    then does a match need those classes merged (`FOLD_FROM` -> `FOLD_TO`) on the value."""
    return any(fold(c) in _REPRESENTATIVES for text in texts for c in text)
