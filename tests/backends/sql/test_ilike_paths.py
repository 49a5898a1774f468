"""`ilike` takes an engine's cheap case-insensitive form where that is exact, and answers like
the Python backend on every engine either way.

- The facts the fast forms rest on (`casefold.folds_as_ascii`, `casefold.merges_classes`),
  checked over every code point.
- Patterns (hand-picked and generated from letters with non-ASCII case partners: K KELVIN SIGN,
  ſ, İ, ı, ß/ẞ, σ/ς/Σ, ΐ, ﬁ, ǅ, fullwidth letters) against names made of the same letters, on a
  column and on a JSON field, each also negated: the same ids as the Python backend.
- Which form a pattern gets: the engine's own LIKE/ILIKE for `%an%`, the exact fold otherwise.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

import crudql
from crudql.backends.sql import FOLD_FROM, FOLD_TO, SQLSource, fold
from crudql.backends.sql.casefold import ASCII_EXACT, folds_as_ascii, merges_classes
from crudql.models import Contact
from crudql.request import effective_sort
from support.sql import ids, python_ids

_CODE_POINTS = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]


def _lower(c: str) -> str:
    import _sre

    return chr(_sre.unicode_tolower(ord(c)))


def test_ascii_exact_characters_have_no_other_case_partner() -> None:
    """For an ASCII_EXACT character, the characters that fold like it are itself and its ASCII
    other case; every other ASCII character (i, k, s) has a partner outside ASCII."""
    classes: dict[str, set[str]] = {}
    for d in _CODE_POINTS:
        folded = fold.__wrapped__(d)  # type: ignore[attr-defined]  # no cache churn
        if folded.isascii():
            classes.setdefault(folded, set()).add(d)
    for c in map(chr, range(1, 128)):
        ascii_class = {c, c.lower(), c.upper()}
        assert (classes[fold(c)] == ascii_class) == (c in ASCII_EXACT), c
    assert set(map(chr, range(1, 128))) - ASCII_EXACT == set("IKSiks")


def test_merging_classes_matters_only_for_their_representatives() -> None:
    """fold is the simple lowercase, then members of re's extra classes mapped to their class's
    representative (FOLD_FROM -> FOLD_TO): wherever fold differs from lower, fold is such a
    representative, and no character folds to a FOLD_FROM member. So when no pattern literal
    folds to a representative, `lower(d) == fold(c)` iff `fold(d) == fold(c)`."""
    representatives = set(FOLD_TO)
    for d in _CODE_POINTS:
        folded, lowered = fold.__wrapped__(d), _lower(d)  # type: ignore[attr-defined]
        assert folded not in FOLD_FROM
        if folded != lowered:
            assert folded in representatives and lowered in FOLD_FROM, d
    assert not merges_classes(["an%", "kelvn", "é", "K"])
    assert merges_classes(["S"]) and merges_classes(["ſ"]) and merges_classes(["Σ"]) and merges_classes(["ı"])


def test_folds_as_ascii() -> None:
    assert folds_as_ascii(["an", "50% off_\\", ""])
    assert not folds_as_ascii(["ban", "kin"])  # k has K KELVIN SIGN
    assert not folds_as_ascii(["is"]) and not folds_as_ascii(["é"]) and not folds_as_ascii(["\x00"])


# ---------------------------------------------------------------------------- agreement

# Letters with case partners outside ASCII, their partners, and plain letters around them.
ALPHABET = [
    *"anANkKsSiIxXé",
    "K",
    "ſ",
    "İ",
    "ı",
    "ß",
    "ẞ",
    "σ",
    "ς",
    "Σ",
    "ΐ",
    "ﬁ",
    "ǅ",
    "ǆ",
    "Ǆ",
    "ａ",
    "Ａ",
    "\n",
    "_",
]
NAMES = [
    "an",
    "AN",
    "bAnana",
    "Ån",
    "ａｎ",
    "kiln",
    "KILN",
    "Kiln",
    "KIln",
    "ſix",
    "six",
    "SIX",
    "İstanbul",
    "istanbul",
    "ıslak",
    "ISLAK",
    "Straße",
    "STRASSE",
    "STRAẞE",
    "ὈΔΌΣ",
    "ὀδός",
    "οδοσ",
    "ΐ",
    "ΐ",
    "ﬁne",
    "FINE",
    "ǅemal",
    "ǆemal",
    "x\ny",
    "50% off",
    "a_b",
    "axb",
    "back\\slash",
    "é",
    "É",
    "",
    " an ",
]
HAND_PICKED = [
    "%an%",
    "%AN%",
    "an",
    "%a_",
    "_n",
    "%n",
    "k%",
    "%K%",
    "%K%",
    "%s%",
    "%ſ%",
    "%S%",
    "%i%",
    "%İ%",
    "%ı%",
    "%I%",
    "%ß%",
    "%ẞ%",
    "%σ%",
    "%ς%",
    "%Σ%",
    "%ΐ%",
    "%ﬁ%",
    "%FI%",
    "%ǅ%",
    "%ǆ%",
    "%ａ%",
    "%Ａ%",
    "%é%",
    "%É%",
    "%50\\%%",
    "a\\_b",
    "%\\\\%",
    "x_y",
    "x%y",
    "%",
    "_",
    "",
    "%x\ny%",
    "%ÅN%",
]


def _generated(count: int, seed: int = 14) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.2:
                parts.append("%")
            elif roll < 0.3:
                parts.append("_")
            elif roll < 0.35:
                parts.append("\\_")
            else:
                parts.append(rng.choice(ALPHABET).replace("_", "\\_"))
        out.append("".join(parts))
    return out


PATTERNS = list(dict.fromkeys(HAND_PICKED + _generated(150)))


def _records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"id": f"r{i:02d}", "name": name, "info": {"companyName": name[::-1]}} for i, name in enumerate(NAMES)
    ]
    records.append({"id": "null", "info": {"companyName": None}})
    records.append({"id": "missing"})
    return records


def _quote(pattern: str) -> str:
    return pattern.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@pytest.fixture
def folding_source(make_source: Any) -> SQLSource:
    return make_source(_records())  # type: ignore[no-any-return]


@pytest.mark.parametrize("field", ["name", "info.companyName"])
def test_ilike_agrees_with_python_on_every_pattern(folding_source: SQLSource, field: str) -> None:
    records = _records()
    different = []
    for pattern in PATTERNS:
        for text in (f'(ilike {field} "{_quote(pattern)}")', f'(not (ilike {field} "{_quote(pattern)}"))'):
            want = sorted(python_ids(records, text))
            if sorted(ids(folding_source, text)) != want:
                different.append(text)
    assert different == []


def test_icontains_and_alternatives_agree_with_python(folding_source: SQLSource) -> None:
    records = _records()
    texts = [f'(icontains name "{_quote(t)}")' for t in ("an", "AN", "k", "K", "s", "ſ", "ı", "ß", "σ", "50%")]
    texts += ['(or (ilike name "%an%") (ilike name "k%"))', '(or (ilike name "%an%") (ilike name "%é"))']
    for text in texts:
        assert sorted(ids(folding_source, text)) == sorted(python_ids(records, text)), text
        negated = f"(not {text})"
        assert sorted(ids(folding_source, negated)) == sorted(python_ids(records, negated)), negated


def _where_sql(source: SQLSource, text: str) -> str:
    schema = source.schema
    where = crudql.parse_filter(text, schema=schema)
    order = effective_sort(crudql.parse_sort(None, schema=schema), schema)
    statement = source._build(where, order).page
    engine: sa.Engine = source.bind  # type: ignore[assignment]
    return str(statement.compile(dialect=engine.dialect))


def test_ascii_exact_patterns_take_the_engines_own_form(folding_source: SQLSource) -> None:
    fast = _where_sql(folding_source, '(ilike name "%an%")')
    exact = _where_sql(folding_source, '(ilike name "%kan%")')
    merged = _where_sql(folding_source, '(ilike name "%san%")')
    engine = folding_source.bind.dialect.name  # type: ignore[union-attr]
    if engine == "sqlite":
        assert "crudql_ilike" not in fast and " LIKE " in fast
        assert "crudql_ilike" in exact and "crudql_ilike" in merged
    elif engine == "postgresql":
        assert "ILIKE" in fast and "lower(" not in fast
        assert "lower(" in exact and "translate(" not in exact
        assert "translate(" in merged
    else:
        assert "REPLACE(" not in fast and "LOWER(" in fast
        assert "REPLACE(" not in exact
        assert "REPLACE(" in merged


def test_sqlite_fast_form_survives_case_sensitive_like(tmp_path: Any) -> None:
    """SQLite's LIKE is the fast form only while it folds ASCII case: a connection that turned
    `case_sensitive_like` on gets it turned off when crudql prepares it."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/csl.db")
    sa.event.listen(
        engine, "connect", lambda dbapi_connection, _: dbapi_connection.execute("PRAGMA case_sensitive_like = ON")
    )
    records = _records()
    source = SQLSource.from_records(engine, records, Contact, table_name="csl")
    try:
        for text in ('(ilike name "%AN%")', '(ilike name "%an%")', '(not (ilike name "%An%"))'):
            assert sorted(ids(source, text)) == sorted(python_ids(records, text)), text
    finally:
        engine.dispose()
