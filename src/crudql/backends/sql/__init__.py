"""The SQL backend: checked filters and sorts compiled to SQLAlchemy Core, and the SQL source.

storage    stored values and crudql's column layout
tables     tables for models, their indexes, field -> column mapping, loading records
elements   small SQLAlchemy building blocks (bound values, schema text, junctions)
logic      the two-valued tests (positive / negative rendering)
refs       where a field's value lives (column or JSON path)
casefold   Unicode case folding equal to Python's re.IGNORECASE
likes      LIKE / GLOB rendering
compiler   the filter and sort compiler
execution  cached statements run straight on the DBAPI cursor
dialects/  one module per engine over the `SQLDialect` contract
source     `crudql.sources.SQL`
"""

from .casefold import FOLD_FROM, FOLD_TO, fold, fold_text
from .compiler import FilterCompiler, compile_filter, compile_order
from .dialects import SQLDialect, dialect_for, dialect_names
from .dialects.sqlite import register_sqlite_functions
from .mapping import Node, build_mapping
from .source import SQLSource, Statements
from .storage import storage_json, to_row
from .tables import create_indexes, default_table_name, model_indexes, table_for_model

__all__ = [
    "FOLD_FROM",
    "FOLD_TO",
    "FilterCompiler",
    "Node",
    "SQLDialect",
    "SQLSource",
    "Statements",
    "build_mapping",
    "compile_filter",
    "compile_order",
    "create_indexes",
    "default_table_name",
    "dialect_for",
    "dialect_names",
    "fold",
    "fold_text",
    "model_indexes",
    "register_sqlite_functions",
    "storage_json",
    "table_for_model",
    "to_row",
]
