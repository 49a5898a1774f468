"""AST -> checked AST: fields resolved against a pydantic model, literals typed."""

from .checker import check_filter, check_sort
from .policy import Policy, Queryable
from .schema import ResolvedPath, Schema, SchemaField

__all__ = ["Policy", "Queryable", "ResolvedPath", "Schema", "SchemaField", "check_filter", "check_sort"]
