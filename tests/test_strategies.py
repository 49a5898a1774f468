"""The shared strategies produce what the differential tests rely on: valid records, checked
filters that round-trip, and filters that split the records instead of always or never matching."""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crudql
from crudql.ast import And, Expr, Not, Or, Predicate, Quantified
from crudql.models import Contact
from support.strategies import IDS, SCHEMA, contacts, filter_texts, filters, sorts


def _walk(expr: Expr) -> list[Expr]:
    out, stack = [], [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (And, Or)):
            stack.extend(node.children)
        elif isinstance(node, Not):
            stack.append(node.child)
        elif isinstance(node, Quantified):
            stack.append(node.condition)
    return out


def _collect(strategy: st.SearchStrategy[Any], examples: int, sink: Callable[[Any], None]) -> None:
    """Feed `examples` derandomized draws to `sink` (a fixed sample, so coverage checks are stable)."""

    @settings(max_examples=examples, derandomize=True, database=None)
    @given(strategy)
    def run(value: Any) -> None:
        sink(value)

    run()


@given(contacts())
def test_contacts_validate_with_unique_ids(records: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    for record in records:
        assert Contact.model_validate(record).id == record["id"]


@pytest.mark.slow
def test_contacts_cover_missing_null_empty_and_full() -> None:
    tags: Counter[str] = Counter()
    partners: set[Any] = set()
    sizes: set[int] = set()

    def sink(records: list[dict[str, Any]]) -> None:
        sizes.add(len(records))
        for r in records:
            t = r.get("tags", "absent")
            tags["absent" if t == "absent" else "null" if t is None else "empty" if t == [] else "full"] += 1
            info = r.get("info")
            if isinstance(info, dict):
                partners.add(info.get("partner", "absent"))

    _collect(contacts(), 200, sink)
    assert set(tags) == {"absent", "null", "empty", "full"}
    assert {"", "AWS", None, "absent"} <= partners
    assert 0 in sizes and max(sizes) >= 8


def test_contacts_rejects_more_records_than_ids() -> None:
    with pytest.raises(ValueError):
        contacts(max_size=len(IDS) + 1)


@given(filters())
def test_filters_are_checked_and_round_trip(expr: Expr) -> None:
    for node in _walk(expr):
        if isinstance(node, (Predicate, Quantified)):
            assert node.field.type is not None, f"unchecked field in {crudql.to_lisp(expr)}"
            assert "*" not in node.field.path  # the checker rewrote '*' paths to `any`
    assert crudql.parse_filter(crudql.to_lisp(expr), schema=SCHEMA) == expr
    assert crudql.parse_filter(crudql.to_json(expr), "json", schema=SCHEMA) == expr


@pytest.mark.slow
def test_filters_use_every_operator_and_star_paths() -> None:
    ops: set[str] = set()
    texts: list[str] = []

    def sink(text: str) -> None:
        texts.append(text)
        expr = crudql.parse_filter(text, schema=SCHEMA)
        for node in _walk(expr):
            ops.add(node.op if isinstance(node, (Predicate, Quantified)) else type(node).__name__.lower())

    _collect(filter_texts(), 400, sink)
    every = {op.name for op in crudql.operators.OPERATORS}
    assert every <= ops, f"never generated: {sorted(every - ops)}"
    joined = "\n".join(texts)
    assert ".*." in joined and " null)" in joined and "%" in joined
    # Backslashes, quotes and newlines from the pools reach the text only as JSON escapes.
    assert "\\\\" in joined and '\\"' in joined and "\\n" in joined
    assert all("\n" not in t for t in texts)
    assert "info.cosell_partner_metrics" in joined and "info.cosellPartnerMetrics" in joined


@given(sorts())
def test_sorts_are_checked_distinct_scalar_keys(keys: list[crudql.SortKey]) -> None:
    assert len({k.field for k in keys}) == len(keys)
    for key in keys:
        assert key.resolved is not None and key.resolved.type is not None
        assert key.resolved.type.is_scalar
    assert crudql.parse_sort(crudql.sort_to_json(keys), "json", schema=SCHEMA) == keys


_HAS_PYTHON_BACKEND = importlib.util.find_spec("crudql.backends.python") is not None


@pytest.mark.slow
@pytest.mark.skipif(not _HAS_PYTHON_BACKEND, reason="crudql.backends.python is not written yet")
def test_filters_split_the_generated_records() -> None:
    from crudql.backends.python import compile_filter

    outcomes: Counter[str] = Counter()

    def sink(case: tuple[list[dict[str, Any]], Expr]) -> None:
        records, expr = case
        models = [Contact.model_validate(r) for r in records]
        hits = sum(1 for m in models if compile_filter(expr)(m))
        outcomes["none" if hits == 0 else "all" if hits == len(models) else "some"] += 1

    _collect(st.tuples(contacts(min_size=4, max_size=8), filters()), 150, sink)
    total = sum(outcomes.values())
    # Random filters over random data mostly match nothing; the shared pools must do better.
    assert outcomes["some"] >= 0.3 * total, dict(outcomes)
    assert outcomes["none"] >= 0.05 * total and outcomes["all"] >= 0.05 * total, dict(outcomes)
