"""The types a field can have, as the checker and every backend see them.

A `FieldType` is derived from a pydantic annotation by `crudql.check.schema` and travels on
every checked `crudql.ast.Field`, so no backend resolves names or types again. It names a
nested model by its class (`model`), not by its schema, which keeps this module free of the
checker: `Schema.from_model(ftype.model)` finds the nested fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["ALL_KINDS", "ANY_TYPE", "ORDERED_KINDS", "SCALAR_KINDS", "TEXT_KINDS", "FieldType", "Kind"]


class Kind(Enum):
    """Field kinds. `ANY` is an untyped value (`Any`, a union of several types)."""

    STRING = "string"
    INT = "integer"
    FLOAT = "number"
    BOOL = "boolean"
    DATETIME = "datetime"
    DATE = "date"
    ENUM = "enum"
    UUID = "UUID"  # compared and sorted by its canonical lowercase text
    DECIMAL = "decimal"  # compared exactly where the engine can
    OBJECT = "object"
    ARRAY = "array"
    DICT = "map"
    ANY = "any"


SCALAR_KINDS = frozenset(
    {
        Kind.STRING,
        Kind.INT,
        Kind.FLOAT,
        Kind.DECIMAL,
        Kind.BOOL,
        Kind.DATETIME,
        Kind.DATE,
        Kind.ENUM,
        Kind.UUID,
        Kind.ANY,
    }
)
ORDERED_KINDS = frozenset(
    {Kind.STRING, Kind.INT, Kind.FLOAT, Kind.DECIMAL, Kind.DATETIME, Kind.DATE, Kind.ENUM, Kind.UUID, Kind.ANY}
)
TEXT_KINDS = frozenset({Kind.STRING, Kind.ENUM, Kind.ANY})
ALL_KINDS = frozenset(Kind)


@dataclass(frozen=True, slots=True)
class FieldType:
    """A field's type: its `kind`, plus the element type of arrays and maps, the allowed
    values of enums (strings; integers for an IntEnum, whose kind is INT), and the model class
    of nested objects."""

    kind: Kind
    item: FieldType | None = None
    enum_values: tuple[str | int, ...] = ()
    model: type | None = None

    @property
    def is_scalar(self) -> bool:
        return self.kind in SCALAR_KINDS

    @property
    def is_object_array(self) -> bool:
        return self.kind is Kind.ARRAY and self.item is not None and self.item.kind is Kind.OBJECT

    @property
    def is_scalar_array(self) -> bool:
        return self.kind is Kind.ARRAY and self.item is not None and self.item.is_scalar

    @property
    def item_kind(self) -> Kind:
        """The element kind of an array or map (ANY when untyped)."""
        return self.item.kind if self.item is not None else Kind.ANY

    def describe(self) -> str:
        if self.kind is Kind.ARRAY and self.item is not None:
            return f"array of {self.item.describe()}s" if self.item.kind is not Kind.OBJECT else "array of objects"
        if self.kind is Kind.DICT and self.item is not None:
            return f"map of {self.item.describe()}s"
        return self.kind.value


ANY_TYPE = FieldType(Kind.ANY)
