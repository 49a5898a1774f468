"""Page items from mapped tables: model records assembled from columns and related rows.

The page statement selects every column of the root row and of its to-one rows (outer-joined,
see `crudql.backends.sql.scope`); each to-many relationship is then ONE more statement that
reads the related rows of every item of the page at once (`WHERE key IN (...)`), recursively
for to-many relationships of related rows. A page costs 1 + (number of to-many relationships in
the mapping) statements, never one per row. Values keep their column types (SQLAlchemy converts
them); naive datetimes are UTC.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ...fieldtypes import Kind
from .mapping import Array, Json, Scalar, Scalars, ToMany, ToOne, Virtual
from .scope import Bound, bind_node
from .storage import decode_json

__all__ = ["Loader"]


@dataclass(eq=False)
class _Plan:
    """How to build one object from a row: values by label, nested objects, related rows."""

    values: list[tuple[str, str, Kind, bool]] = field(default_factory=list)  # (label, alias, kind, json)
    objects: list[tuple[str, _Plan, str | None]] = field(default_factory=list)  # (alias, plan, presence label)
    many: list[_Many] = field(default_factory=list)


@dataclass(eq=False)
class _Many:
    """A to-many relationship (or a column of related rows) of the object being built."""

    alias: str
    keys: list[str]  # labels of the parent's side of the relationship in the parent's statement
    statement: sa.Select[Any]  # the related rows of a list of parent keys, with their keys
    key_labels: list[str]
    plan: _Plan | None  # for objects; None for a column of scalars
    value_label: str | None  # for scalars
    value_kind: Kind = Kind.ANY


class _Columns:
    """The labelled columns of one statement."""

    def __init__(self) -> None:
        self.columns: list[ColumnElement[Any]] = []

    def add(self, expr: ColumnElement[Any]) -> str:
        label = f"c{len(self.columns)}"
        self.columns.append(expr.label(label))
        return label


class Loader:
    """Builds the page statement's columns and the records of its rows."""

    def __init__(self, root: Bound) -> None:
        self._columns = _Columns()
        self.plan = _plan(root, self._columns)

    @property
    def columns(self) -> list[ColumnElement[Any]]:
        return self._columns.columns

    def records(self, conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """The JSON-shaped records of the page's rows, related rows loaded."""
        return _build(conn, self.plan, [row._mapping for row in rows])


def _plan(bound: Bound, columns: _Columns) -> _Plan:
    plan = _Plan()
    for name, mf in bound.node.fields.items():
        if isinstance(mf, (Scalar, Json, Array)):
            label = columns.add(bound.column(mf.expr))
            plan.values.append((label, mf.alias, mf.type.kind, isinstance(mf, Json)))
        elif isinstance(mf, Virtual):
            plan.objects.append((mf.alias, _plan(bound.children[name], columns), None))
        elif isinstance(mf, ToOne):
            child = bound.children[name]
            key = next(iter(mf.node.key))
            presence = columns.add(child.selectable.c[_key(key)])
            plan.objects.append((mf.alias, _plan(child, columns), presence))
        elif isinstance(mf, ToMany):
            plan.many.append(_to_many(bound, mf, columns))
        elif isinstance(mf, Scalars):
            plan.many.append(_scalars(bound, mf, columns))
    return plan


def _keys(bound: Bound, pairs: Any, columns: _Columns) -> list[str]:
    return [columns.add(bound.column(local)) for local, _ in pairs]


def _to_many(bound: Bound, mf: ToMany, columns: _Columns) -> _Many:
    alias = mf.node.table.alias()
    child = bind_node(mf.node, alias, None, stable=False)
    inner = _Columns()
    key_labels = [inner.add(alias.c[_key(remote)]) for _, remote in mf.pairs]
    plan = _plan(child, inner)
    statement = (
        sa.select(*inner.columns)
        .select_from(child.from_clause())
        .where(_in([alias.c[_key(remote)] for _, remote in mf.pairs]))
        .order_by(*(alias.c[_key(c)] for c in mf.node.key))
    )
    return _Many(mf.alias, _keys(bound, mf.pairs, columns), statement, key_labels, plan, None)


def _scalars(bound: Bound, mf: Scalars, columns: _Columns) -> _Many:
    alias = mf.table.alias()
    inner = _Columns()
    key_labels = [inner.add(alias.c[_key(remote)]) for _, remote in mf.pairs]
    value = inner.add(sa.sql.util.ClauseAdapter(alias).traverse(mf.column))
    statement = (
        sa.select(*inner.columns)
        .where(_in([alias.c[_key(remote)] for _, remote in mf.pairs]))
        .order_by(*(alias.c[_key(c)] for c in mf.order))
    )
    return _Many(mf.alias, _keys(bound, mf.pairs, columns), statement, key_labels, None, value, mf.type.item_kind)


def _in(columns: list[ColumnElement[Any]]) -> ColumnElement[bool]:
    keys: Any = sa.bindparam("crudql_keys", expanding=True)
    return columns[0].in_(keys) if len(columns) == 1 else sa.tuple_(*columns).in_(keys)


def _build(conn: Connection, plan: _Plan, rows: list[Any]) -> list[dict[str, Any]]:
    records = [_object(plan, row) for row in rows]
    _load_many(conn, plan, rows, records)
    return [r if r is not None else {} for r in records]


def _object(plan: _Plan, row: Any) -> dict[str, Any] | None:
    """The object a row holds, None when none of its fields is present (same-row objects)."""
    out: dict[str, Any] = {}
    for label, alias, kind, is_json in plan.values:
        value = row[label]
        if value is not None:
            out[alias] = _value(value, kind, is_json)
    for alias, nested, presence in plan.objects:
        if presence is not None and row[presence] is None:
            continue  # no related row
        obj = _object(nested, row)
        if obj is not None or presence is not None:
            out[alias] = obj if obj is not None else {}
    if not out and not plan.many:
        return None
    return out


def _value(value: Any, kind: Kind, is_json: bool) -> Any:
    if is_json and isinstance(value, (str, bytes)):
        return decode_json(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)  # naive means UTC
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _load_many(conn: Connection, plan: _Plan, rows: list[Any], records: list[dict[str, Any] | None]) -> None:
    """Fill the to-many fields of `records` (built from `rows` with `plan`), one statement per
    relationship; then the same, recursively, for same-row and to-one objects' relationships."""
    for many in plan.many:
        keys: dict[int, tuple[Any, ...]] = {i: tuple(row[label] for label in many.keys) for i, row in enumerate(rows)}
        wanted = sorted({k for k in keys.values() if None not in k}, key=repr)
        children: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        if wanted:
            bound = [k[0] for k in wanted] if len(many.keys) == 1 else wanted
            related = [r._mapping for r in conn.execute(many.statement, {"crudql_keys": bound})]
            if many.plan is not None:
                built = _build(conn, many.plan, related)
                for row, child in zip(related, built):
                    children[tuple(row[label] for label in many.key_labels)].append(child)
            else:
                assert many.value_label is not None
                for row in related:
                    value = row[many.value_label]
                    if value is not None:
                        children[tuple(row[label] for label in many.key_labels)].append(
                            _value(value, many.value_kind, False)
                        )
        for i, record in enumerate(records):
            if record is not None and None not in keys[i]:
                record[many.alias] = children.get(keys[i], [])
    for alias, nested, _ in plan.objects:
        inner = [r.get(alias) if r is not None else None for r in records]
        _load_many(conn, nested, rows, inner)


def _key(column: Any) -> str:
    """A column's key in a FROM item's `.c` collection."""
    return str(column.key)
