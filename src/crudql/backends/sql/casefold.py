"""Unicode case folding exactly as Python's `re.IGNORECASE`, for SQL engines to reproduce.

`ilike`/`icontains` must fold case for every Unicode letter in every backend (docs/spec/LANGUAGE.md §2),
and the Python backend's answer is the reference. `re.IGNORECASE` matches two characters when
their simple lowercase mappings are equal or are listed together in re's table of extra cases
(s/ſ, σ/ς, θ/ϑ, ...). `fold` maps a character to one representative of that class; engines
apply the same map (PostgreSQL: `translate(lower(x), FOLD_FROM, FOLD_TO)`).
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["FOLD_FROM", "FOLD_TO", "fold", "fold_text"]


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
