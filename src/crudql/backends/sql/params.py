"""Values bound when a statement runs, not when it is built: `now` and keyset positions.

A statement is built once per (filter, sort) and cached, with SQLAlchemy's compiled form of it;
what changes from one request to the next is bound by name at execution, as LIMIT and OFFSET
are:

- a `(now ...)` value is a named parameter `crudql_now_<offset>_<form>_<type>` whose default
  value is the `Now` itself; `now_bindings` reads them off a built statement once, and
  `now_values` resolves them to the request's instant for each execution, in the form the
  compared values are stored in (`column`: `SQLDialect.literal_value`, `json`:
  `SQLDialect.json_literal`, `naive`: UTC wall time, for a DATETIME column without a zone);
- the position after which a cursor's page starts is `crudql_after_<i>`, one per ORDER BY
  term (`crudql.backends.sql.keyset`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, visitors
from sqlalchemy.sql.elements import BindParameter

from ...ast import Now

__all__ = ["AFTER_PREFIX", "FORMS", "NOW_PREFIX", "after_param", "now_bindings", "now_param", "now_values"]

NOW_PREFIX = "crudql_now_"
FORMS = ("column", "json", "naive")
AFTER_PREFIX = "crudql_after_"


def now_param(now: Now, type_: sa.types.TypeEngine[Any], form: str) -> ColumnElement[Any]:
    """A `now` value as a named parameter of `type_`, compared with values stored in `form`
    (`column`, `json` or `naive`). One name per (value, form, type): the same `now` compared in two
    forms (a column, text inside JSON) is two parameters, each with one type."""
    assert form in FORMS
    offset = "0" if now.amount == 0 else f"{'m' if now.amount < 0 else 'p'}{abs(now.amount)}{now.unit}"
    kind = f"{type(type_).__name__.lower()}_{hashlib.sha1(repr(type_).encode()).hexdigest()[:4]}"
    return sa.bindparam(f"{NOW_PREFIX}{offset}_{form}_{kind}", now, type_=type_)


def now_bindings(*elements: ColumnElement[Any] | None) -> tuple[tuple[str, Now, str], ...]:
    """The `now` parameters of built statements or conditions: (name, value, form) triples."""
    found: dict[str, tuple[str, Now, str]] = {}
    for element in elements:
        if element is None:
            continue
        for node in visitors.iterate(element):
            if isinstance(node, BindParameter) and isinstance(node.value, Now):
                form = node.key[len(NOW_PREFIX) :].split("_")[1]
                found[node.key] = (node.key, node.value, form)
    return tuple(found.values())


def now_values(
    bindings: Iterable[tuple[str, Now, str]], instant: dt.datetime, stored: Callable[[str, dt.datetime], Any]
) -> dict[str, Any]:
    """The execution parameters of `now` for a request running at `instant`; `stored(form,
    instant)` writes an instant as values of that form are stored."""
    return {name: stored(form, now.at(instant)) for name, now, form in bindings}


def after_param(i: int, type_: sa.types.TypeEngine[Any]) -> ColumnElement[Any]:
    """The i-th value of a keyset position (bound per page)."""
    return sa.bindparam(f"{AFTER_PREFIX}{i}", type_=type_)
