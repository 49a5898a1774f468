"""Records as every source takes them: model instances, or dicts validated into the model."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import RequestError

__all__ = ["default_table_name", "dump", "require_model", "unset_nones", "validated"]


def require_model(model: Any, source: str) -> type[BaseModel]:
    """`model` if it is a pydantic model class; otherwise a TypeError that says what to pass."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model
    if model is None:
        raise TypeError(f"{source} needs model=: the pydantic model of the records, e.g. {source}(..., model=Contact)")
    raise TypeError(f"{source}: model= must be a pydantic model class, got {model!r}")


def validated(model: type[BaseModel], records: Iterable[Any]) -> Iterator[BaseModel]:
    """Each record as a model instance (dicts validated by alias or Python name); an invalid
    one is a `RequestError` naming its position."""
    for i, record in enumerate(records):
        if isinstance(record, model):
            yield record
            continue
        try:
            yield model.model_validate(record)
        except ValidationError as exc:
            raise RequestError(f"item {i} is not a valid {model.__name__}: {exc.errors()[0]['msg']}") from None


def default_table_name(model: type[BaseModel]) -> str:
    """Where a model's records are stored unless told otherwise (a table, a collection): the
    model's name in snake case, `ContactRecord` -> `contact_record`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", model.__name__).lower()


def unset_nones(record: BaseModel) -> dict[Any, Any]:
    """The `exclude` of `model_dump` that leaves out, at every level, the fields the input did
    not set and whose value is None (a None default): what "absent" means for a record."""
    excluded: dict[Any, Any] = {}
    for name in type(record).model_fields:
        value = getattr(record, name, None)
        if value is None:
            if name not in record.model_fields_set:
                excluded[name] = True
        elif isinstance(value, BaseModel):
            if inner := unset_nones(value):
                excluded[name] = inner
        elif isinstance(value, (list, tuple, dict)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            nested = {k: inner for k, v in items if isinstance(v, BaseModel) and (inner := unset_nones(v))}
            if nested:
                excluded[name] = nested
    return excluded


def dump(record: BaseModel, mode: str = "python", *, hidden: bool = False) -> dict[str, Any]:
    """A record in its JSON (alias) shape as it is stored and answered: fields the input set
    and fields with a default value (defaults are values, docs/spec/SERVICE.md §1), but not a
    None default the input left unset. `hidden=True` adds the top-level fields pydantic never
    serializes (`exclude=True`), for storage: they are stored, not answered."""
    data = record.model_dump(mode=mode, by_alias=True, exclude=unset_nones(record) or None)
    if hidden:
        for name, info in type(record).model_fields.items():
            if info.exclude and (name in record.model_fields_set or getattr(record, name) is not None):
                value = getattr(record, name)
                alias = info.serialization_alias or info.alias or name
                data[alias] = value.model_dump(mode=mode, by_alias=True) if isinstance(value, BaseModel) else value
    return data
