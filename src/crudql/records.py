"""Records as every source takes them: model instances, or dicts validated into the model."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import RequestError

__all__ = ["default_table_name", "require_model", "validated"]


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
