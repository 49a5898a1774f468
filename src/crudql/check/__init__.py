"""AST -> checked AST: fields resolved against a pydantic model, literals typed."""

from .checker import check_filter, check_sort
from .schema import ResolvedPath, Schema, SchemaField

__all__ = ["ResolvedPath", "Schema", "SchemaField", "check_filter", "check_sort"]
