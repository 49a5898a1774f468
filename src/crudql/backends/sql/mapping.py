"""Where each field of a model lives in a database: columns, JSON columns, related rows.

A `Node` maps one model onto one table (or onto the same row, for a nested model whose fields
are columns of its parent's row). Each field of the model is one `MappedField`:

    Scalar     a column of the row, or any SQL expression over it (a computed field)
    Json       a JSON column holding the field's value (objects, arrays, maps, untyped values)
    Virtual    a nested model whose fields live in the same row
    ToOne      a nested model in a related row (a to-one relationship)
    ToMany     an array of objects in related rows (a to-many relationship)
    Scalars    an array of scalars: one column of related rows
    Array      an array of scalars in an array column (PostgreSQL ARRAY)

`build_mapping` makes the tree from a `sa.Table` or an ORM mapped class, the model and the
`fields` a caller names (`{"info.partner": ContactRow.partner, ...}`); unnamed fields resolve by
Python name or alias against the row's columns and the class's relationships; a nested model
with no mapping reads a JSON column. A field that resolves nowhere stops the source at
construction, naming every such field. crudql's own tables (`SQL.from_records`) are the flat
case: every field a column or a JSON column of one table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import InstrumentedAttribute, Mapper, RelationshipProperty
from sqlalchemy.sql import ColumnElement

from ...check.schema import Schema, SchemaField
from ...fieldtypes import FieldType, Kind
from .storage import JSON_KINDS

__all__ = [
    "Array",
    "Json",
    "MappedField",
    "Node",
    "Scalar",
    "Scalars",
    "ToMany",
    "ToOne",
    "Virtual",
    "build_mapping",
]

Pairs = tuple[tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]], ...]  # (parent column, related column)


@dataclass(frozen=True, eq=False)
class MappedField:
    name: str  # Python name
    alias: str  # JSON name
    type: FieldType


@dataclass(frozen=True, eq=False)
class Scalar(MappedField):
    expr: ColumnElement[Any]  # over the node's table
    computed: bool = False  # an expression, not a column: read-only, never stored


@dataclass(frozen=True, eq=False)
class Json(MappedField):
    expr: ColumnElement[Any]


@dataclass(frozen=True, eq=False)
class Virtual(MappedField):
    node: Node


@dataclass(frozen=True, eq=False)
class ToOne(MappedField):
    node: Node
    pairs: Pairs


@dataclass(frozen=True, eq=False)
class ToMany(MappedField):
    node: Node
    pairs: Pairs


@dataclass(frozen=True, eq=False)
class Scalars(MappedField):
    table: sa.Table
    column: ColumnElement[Any]  # over `table`
    pairs: Pairs
    order: tuple[ColumnElement[Any], ...]  # the related rows' primary key: a stable element order


@dataclass(frozen=True, eq=False)
class Array(MappedField):
    expr: ColumnElement[Any]


@dataclass(eq=False)
class Node:
    """One model on one table. `key` is the table's primary key (to find related rows)."""

    model: type[BaseModel]
    schema: Schema
    table: sa.Table
    fields: dict[str, MappedField] = field(default_factory=dict)

    @property
    def key(self) -> tuple[sa.Column[Any], ...]:
        return tuple(self.table.primary_key.columns)

    def walk(self) -> Iterator[tuple[Node, MappedField]]:
        """Every (node, field) of this tree, parents first."""
        for mf in self.fields.values():
            yield self, mf
            if isinstance(mf, (Virtual, ToOne, ToMany)):
                yield from mf.node.walk()

    @property
    def flat(self) -> bool:
        """Every field a column or a JSON column of this table: crudql's own layout."""
        return all(isinstance(mf, (Json, Scalar)) and not getattr(mf, "computed", False) for mf in self.fields.values())


# ---------------------------------------------------------------------------- building


def build_mapping(
    target: sa.Table | type,
    model: type[BaseModel],
    fields: Mapping[str, Any] | None = None,
    *,
    queryable: str = "all",
    dialect: sa.Dialect | None = None,
) -> Node:
    """The mapping of `model` onto `target` (a table or a mapped class), `fields` naming where
    dotted API paths live; `dialect` resolves per-engine column types (`with_variant`). Raises
    ValueError naming every field that resolves nowhere."""
    schema = Schema.from_model(model, queryable)
    spec = _spec(schema, fields or {})
    missing: list[str] = []
    table, mapper = _table_and_mapper(target)
    _DIALECT.value = dialect
    try:
        node = _node(schema, table, mapper, (), spec, missing)
    finally:
        _DIALECT.value = None
    unused = sorted(".".join(p) for p in spec if not _used(node, p))
    if unused:
        raise ValueError(f"fields= names paths that are not fields of {model.__name__}: {', '.join(unused)}")
    if missing:
        where = table.name
        raise ValueError(
            f"{model.__name__} fields with no column, relationship or mapping in {where!r}: {', '.join(missing)}; "
            "name them in fields= (a column, a relationship, or any SQL expression)"
        )
    return node


def _table_and_mapper(target: sa.Table | type) -> tuple[sa.Table, Mapper[Any] | None]:
    if isinstance(target, sa.Table):
        return target, None
    mapper: Any = sa.inspect(target, raiseerr=False)
    if not isinstance(mapper, Mapper):
        raise TypeError(f"expected a sa.Table, a table name or an ORM mapped class, got {target!r}")
    table = mapper.local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{target!r} is not mapped to a single table")
    return table, mapper


def _spec(schema: Schema, fields: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """`fields` by canonical (Python name) path. Segments are Python names or aliases; the
    fields of an array's objects follow the array's name (`accounts.id`, or `accounts.*.id`).
    A key that is no field of the model is an error."""
    out: dict[tuple[str, ...], Any] = {}
    for dotted, target in fields.items():
        current: Schema | None = schema
        path: list[str] = []
        for segment in dotted.split("."):
            if segment == "*" and path:
                continue
            sf = current.get(segment) if current is not None else None
            if sf is None:
                raise ValueError(f"fields={{{dotted!r}: ...}}: {segment!r} is not a field of {_where(schema, path)}")
            path.append(sf.name)
            item = sf.type.item if sf.type.is_object_array else sf.type
            current = schema.nested(item) if item is not None else None
        out[tuple(path)] = target
    return out


def _where(schema: Schema, path: list[str]) -> str:
    return f"{schema.model.__name__}.{'.'.join(path)}" if path else schema.model.__name__


def _used(node: Node, path: tuple[str, ...]) -> bool:
    current: Node | None = node
    for i, segment in enumerate(path):
        if current is None or segment not in current.fields:
            return False
        mf = current.fields[segment]
        current = mf.node if isinstance(mf, (Virtual, ToOne, ToMany)) else None
        if current is None and i < len(path) - 1:
            return False
    return True


def _node(
    schema: Schema,
    table: sa.Table,
    mapper: Mapper[Any] | None,
    prefix: tuple[str, ...],
    spec: dict[tuple[str, ...], Any],
    missing: list[str],
) -> Node:
    node = Node(schema.model, schema, table)
    for name, sf in schema.stored.items():
        path = (*prefix, name)
        mf = _field(sf, path, schema, table, mapper, spec, missing)
        if mf is not None:
            node.fields[name] = mf
    return node


def _field(
    sf: SchemaField,
    path: tuple[str, ...],
    schema: Schema,
    table: sa.Table,
    mapper: Mapper[Any] | None,
    spec: dict[tuple[str, ...], Any],
    missing: list[str],
) -> MappedField | None:
    kind = sf.type.kind
    if path in spec:
        return _mapped(sf, path, spec[path], schema, table, mapper, spec, missing)
    below = any(p[: len(path)] == path and len(p) > len(path) for p in spec)
    if below and kind is Kind.OBJECT:  # a nested model whose fields the caller placed in this row
        nested = schema.nested(sf.type)
        assert nested is not None
        return Virtual(sf.name, sf.alias, sf.type, _node(nested, table, mapper, path, spec, missing))
    if below and sf.type.is_object_array:
        missing.append(f"{'.'.join(path)} (its fields are mapped: map the array itself to a relationship)")
        return None
    column = _column_named(table, sf)
    if column is not None:
        return _column_field(sf, column, computed=False)
    relationship = _relationship_named(mapper, sf)
    if relationship is not None:
        return _mapped(sf, path, relationship, schema, table, mapper, spec, missing)
    if not sf.hidden:  # a hidden field is read where a column holds it, and never queried
        missing.append(".".join(path))
    return None


def _column_named(table: sa.Table, sf: SchemaField) -> sa.Column[Any] | None:
    column = table.c.get(sf.name)
    return column if column is not None else table.c.get(sf.alias)


def _relationship_named(mapper: Mapper[Any] | None, sf: SchemaField) -> RelationshipProperty[Any] | None:
    if mapper is None:
        return None
    for name in (sf.name, sf.alias):
        prop = mapper.relationships.get(name)
        if prop is not None:
            return prop
    return None


class _Dialect(threading.local):
    value: sa.Dialect | None = None


_DIALECT = _Dialect()  # the engine's dialect while a mapping is built (resolves type variants)


def _column_type(expr: ColumnElement[Any]) -> Any:
    dialect = _DIALECT.value
    return expr.type if dialect is None else expr.type.dialect_impl(dialect)


def _column_field(sf: SchemaField, expr: ColumnElement[Any], computed: bool) -> MappedField:
    if sf.type.kind in JSON_KINDS:
        if sf.type.is_scalar_array and isinstance(_column_type(expr), sa.ARRAY):
            return Array(sf.name, sf.alias, sf.type, expr)
        return Json(sf.name, sf.alias, sf.type, expr)
    return Scalar(sf.name, sf.alias, sf.type, expr, computed)


def _mapped(
    sf: SchemaField,
    path: tuple[str, ...],
    target: Any,
    schema: Schema,
    table: sa.Table,
    mapper: Mapper[Any] | None,
    spec: dict[tuple[str, ...], Any],
    missing: list[str],
) -> MappedField | None:
    where = ".".join(path)
    prop = _property(target)
    if isinstance(prop, RelationshipProperty):
        return _related(sf, path, prop, schema, spec, missing)
    expr = _expression(target)
    if expr is None:
        raise ValueError(f"fields={{{where!r}: {target!r}}}: expected a column, a relationship or a SQL expression")
    tables = {c.table for c in _columns_of(expr)}
    if tables and tables != {table}:
        # A column of a related class: an array of scalars through the relationship to it.
        other = next(iter(tables))
        if len(tables) == 1 and sf.type.is_scalar_array and mapper is not None:
            return _scalars(sf, where, expr, other, mapper)
        raise ValueError(
            f"fields={{{where!r}: ...}}: the expression reads {', '.join(sorted(str(t) for t in tables))}, "
            f"not {table.name!r}; map a relationship to reach related rows"
        )
    computed = not (isinstance(expr, sa.Column) and expr.table is table)
    return _column_field(sf, expr, computed)


def _property(target: Any) -> Any:
    if isinstance(target, RelationshipProperty):
        return target
    if isinstance(target, InstrumentedAttribute):
        return target.property
    return None


def _expression(target: Any) -> ColumnElement[Any] | None:
    if isinstance(target, InstrumentedAttribute):
        target = target.expression
    if isinstance(target, ColumnElement):
        return target
    clause = getattr(target, "__clause_element__", None)
    return clause() if callable(clause) else None  # type: ignore[no-any-return]


def _columns_of(expr: ColumnElement[Any]) -> list[sa.Column[Any]]:
    from sqlalchemy.sql.visitors import iterate

    return [e for e in iterate(expr) if isinstance(e, sa.Column) and isinstance(getattr(e, "table", None), sa.Table)]


def _pairs(prop: RelationshipProperty[Any]) -> Pairs:
    if prop.secondary is not None:
        raise ValueError(f"relationship {prop}: many-to-many (secondary) relationships are not supported")
    return tuple((local, remote) for local, remote in prop.local_remote_pairs or ())


def _related(
    sf: SchemaField,
    path: tuple[str, ...],
    prop: RelationshipProperty[Any],
    schema: Schema,
    spec: dict[tuple[str, ...], Any],
    missing: list[str],
) -> MappedField | None:
    where = ".".join(path)
    related_table = prop.mapper.local_table
    assert isinstance(related_table, sa.Table)
    pairs = _pairs(prop)
    if sf.type.kind is Kind.OBJECT:
        if prop.uselist:
            raise ValueError(f"fields={{{where!r}: {prop}}}: an object needs a to-one relationship (uselist=False)")
        nested = schema.nested(sf.type)
        assert nested is not None
        node = _node(nested, related_table, prop.mapper, path, spec, missing)
        return ToOne(sf.name, sf.alias, sf.type, node, pairs)
    if sf.type.is_object_array:
        if not prop.uselist:
            raise ValueError(f"fields={{{where!r}: {prop}}}: an array needs a to-many relationship")
        assert sf.type.item is not None
        nested = schema.nested(sf.type.item)
        assert nested is not None
        node = _node(nested, related_table, prop.mapper, path, spec, missing)
        return ToMany(sf.name, sf.alias, sf.type, node, pairs)
    raise ValueError(
        f"fields={{{where!r}: {prop}}}: a {sf.type.describe()} cannot be a relationship"
        + ("; map it to a column of the related class" if sf.type.is_scalar_array else "")
    )


def _scalars(sf: SchemaField, where: str, column: ColumnElement[Any], table: sa.Table, mapper: Mapper[Any]) -> Scalars:
    found = [p for p in mapper.relationships if p.mapper.local_table is table and p.uselist]
    if len(found) != 1:
        raise ValueError(
            f"fields={{{where!r}: ...}}: {len(found)} to-many relationships lead to {table.name!r}; "
            "exactly one is needed to read an array of its column"
        )
    return Scalars(sf.name, sf.alias, sf.type, table, column, _pairs(found[0]), tuple(table.primary_key.columns))
