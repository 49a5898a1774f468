"""SQL dialects, one module each, found by the SQLAlchemy dialect name of an engine.

Adding an engine is one module here: a `SQLDialect` subclass whose `names` lists the
SQLAlchemy dialect names it serves. Every module of this package is imported on the first
lookup and its dialects registered, so nothing else needs an edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import sqlalchemy as sa

from .base import SQLDialect

__all__ = ["SQLDialect", "dialect_for", "dialect_names"]

_REGISTRY: dict[str, type[SQLDialect]] = {}


def _load() -> dict[str, type[SQLDialect]]:
    if not _REGISTRY:
        for info in pkgutil.iter_modules(__path__):
            if info.name == "base":
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, SQLDialect) and value.__module__ == module.__name__:
                    for name in value.names:
                        _REGISTRY[name] = value
    return _REGISTRY


def dialect_names() -> list[str]:
    """The SQLAlchemy dialect names crudql's SQL backend supports."""
    return sorted(_load())


def dialect_for(bind: Any) -> SQLDialect:
    """The dialect of an Engine, Connection or AsyncEngine, of a SQLAlchemy dialect, or of a
    dialect name ("sqlite", "postgresql", ...)."""
    if isinstance(bind, SQLDialect):
        return bind
    if isinstance(bind, str):
        name, engine_dialect = bind, None
    else:
        engine_dialect = bind if isinstance(bind, sa.Dialect) else bind.dialect
        name = engine_dialect.name
    cls = _load().get(name)
    if cls is None:
        raise ValueError(f"crudql's SQL backend supports {', '.join(dialect_names())}, not {name}")
    return cls(engine_dialect)
