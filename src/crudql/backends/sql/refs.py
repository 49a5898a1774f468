"""Where a field's value lives in SQL: a plain column, or a path inside a JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql import ColumnElement

from ...fieldtypes import FieldType, Kind

__all__ = ["FAMILY_KIND", "Ref", "family"]


@dataclass(frozen=True)
class Ref:
    """`steps` are (JSON name, keyed) pairs below `doc`; keyed steps are map keys, which come
    from the client and are bound, never rendered.

    A field of a mapped table may also be an object of related or same-row columns (`object`:
    its `crudql.backends.sql.scope.Bound`) or an array of related rows or of an array column
    (`many`: the binding it hangs from and its `MappedField`). `stable`: built on the source's
    main statement, so expressions over it may be cached.
    """

    kind: Kind
    type: FieldType
    column: ColumnElement[Any] | None = None  # a scalar column or SQL expression
    doc: ColumnElement[Any] | None = None  # a JSON document (column or array element)
    steps: tuple[tuple[str, bool], ...] = ()
    nullable: bool = True
    stable: bool = False
    object: Any = None
    many: Any = None

    @property
    def item_kind(self) -> Kind:
        return self.type.item_kind


_FAMILY_OF: dict[type, str] = {bool: "bool", int: "number", float: "number", str: "string"}
# The kind a family's values compare as.
FAMILY_KIND: dict[str, Kind] = {"bool": Kind.BOOL, "number": Kind.FLOAT, "string": Kind.STRING}


def family(value: Any) -> str | None:
    """The JSON family of a literal, for untyped (Any) fields: true != 1, "1" != 1, 1 == 1.0."""
    for cls, name in _FAMILY_OF.items():
        if isinstance(value, cls):
            return name
    return None
