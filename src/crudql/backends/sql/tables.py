"""crudql's own tables (`SQL.from_records`), their indexes, which column holds which field, and
loading records into them.

A model's table has one column per top-level field, by Python name: scalars in typed columns
(types from the dialect: code-point collation for text, instants, 64-bit integers), objects,
arrays, maps and untyped values in one JSON column each. `id` (when the model has it) is the
primary key; required fields are NOT NULL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine

from ...check.schema import Schema
from ...fieldtypes import FieldType
from ...records import default_table_name, validated
from .mapping import Json, Node, Scalar
from .storage import UnstorableValue, to_row

if TYPE_CHECKING:
    from .dialects.base import SQLDialect

__all__ = [
    "create_indexes",
    "default_table_name",
    "insert_records",
    "model_indexes",
    "reflect_table",
    "storage_columns",
    "table_for_model",
    "transaction",
]

IndexSpec = Sequence[str | Sequence[str]]


def model_indexes(model: type[BaseModel]) -> tuple[tuple[str, ...], ...]:
    """The indexes a model asks for: its `crudql_indexes` class variable, a sequence of field
    names or tuples of field names (composite indexes). None when it asks for none."""
    return _normalize(getattr(model, "crudql_indexes", ()))


def _normalize(indexes: IndexSpec) -> tuple[tuple[str, ...], ...]:
    return tuple((spec,) if isinstance(spec, str) else tuple(spec) for spec in indexes)


def table_for_model(
    model: type[BaseModel],
    metadata: sa.MetaData,
    name: str,
    dialect: SQLDialect,
    *,
    schema: str | None = None,
    indexes: IndexSpec = (),
) -> sa.Table:
    """The table crudql stores a model in, with the dialect's column types. `indexes`: the
    indexes it will get (`create_indexes`), whose columns may need a type an index can hold."""
    indexed = {"id", *(n for spec in _normalize(indexes) for n in spec)}
    columns = []
    # Hidden fields (`exclude=True`) are stored too: never queried or answered, but a record
    # read back holds what it held, as in the other sources.
    for fname, sf in Schema.from_model(model).stored.items():
        ctype = dialect.column_type(sf.type.kind, indexed=fname in indexed)
        required = model.model_fields[fname].is_required()
        columns.append(sa.Column(fname, ctype, primary_key=fname == "id", nullable=not required and fname != "id"))
    return sa.Table(name, metadata, *columns, schema=schema)


def create_indexes(table: sa.Table, conn: Connection, dialect: SQLDialect, indexes: IndexSpec) -> None:
    """One index per entry of `indexes` (a column name, or a tuple of names for a composite
    index); the dialect says how each column is indexed (PostgreSQL: nulls first, the order
    crudql sorts in). Names that are not columns of the table are an error."""
    for spec in _normalize(indexes):
        unknown = [n for n in spec if n not in table.c]
        if unknown:
            raise ValueError(f"cannot index {', '.join(unknown)}: not a column of {table.name!r}")
        parts = [dialect.index_part(table.c[n]) for n in spec]
        sa.Index(f"ix_{table.name}_{'_'.join(spec)}", *parts).create(conn)


def storage_columns(mapping: Node) -> dict[str, tuple[str, FieldType]]:
    """Column key -> (alias, field type) of a flat mapping: what `to_row` writes."""
    out: dict[str, tuple[str, FieldType]] = {}
    for mf in mapping.fields.values():
        if not isinstance(mf, (Scalar, Json)) or not isinstance(mf.expr, sa.Column):
            raise ValueError(f"{mapping.model.__name__}: records are stored only in crudql's own layout")
        out[mf.expr.key] = (mf.alias, mf.type)
    return out


def insert_records(
    conn: Connection,
    table: sa.Table,
    model: type[BaseModel],
    columns: dict[str, tuple[str, FieldType]],
    records: Iterable[Any],
    batch_size: int,
) -> int:
    """Validate `records` into `model` and insert them in batches; returns how many."""
    batch: list[dict[str, Any]] = []
    n = 0
    for n, record in enumerate(validated(model, records), 1):
        try:
            batch.append(to_row(record, columns))
        except UnstorableValue as exc:
            raise ValueError(f"item {n - 1}: {exc}") from None
        if len(batch) >= batch_size:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
    return n


def reflect_table(bind: Any, name: str) -> sa.Table:
    """A table of the database by name (a synchronous bind: reflection runs statements)."""
    if not isinstance(bind, (Engine, Connection)):
        raise TypeError("an AsyncEngine cannot reflect a table here: pass a sa.Table or a mapped class")
    return sa.Table(name, sa.MetaData(), autoload_with=bind)


@contextmanager
def transaction(bind: Engine | Connection, dialect: SQLDialect) -> Iterator[Connection]:
    """A transaction on `bind` (a Connection's own when it has one open), committed at the end."""
    if isinstance(bind, Connection):
        if bind.in_transaction():
            yield bind
        else:
            with bind.begin():
                yield bind
    else:
        with dialect.exclusive(bind), bind.begin() as conn:
            yield conn
