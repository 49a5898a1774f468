"""The Python backend: checked filters and sorts compiled to Python functions over model
instances or JSON dicts (`crudql.sources.InMemory` runs on it)."""

from .filter import FilterGenerator, compile_filter, compile_scan, source_of
from .sort import compile_sort_key, records_after, sort_records

__all__ = [
    "FilterGenerator",
    "compile_filter",
    "compile_scan",
    "compile_sort_key",
    "records_after",
    "sort_records",
    "source_of",
]
