"""The MongoDB backend: checked filters and sorts compiled to pymongo queries, and the source.

documents  how records are stored (alias-shaped documents, instants as dates or text)
regex      LIKE and literal text as regexes that cannot backtrack
logic      $and / $or / $nor structure and constant folding
compiler   the filter and sort compiler
source     `crudql.sources.Mongo`
"""

from .compiler import FilterCompiler, compile_filter, compile_sort, explain, explain_json
from .documents import INSTANT_STYLES, from_document, to_document
from .logic import MATCH_NONE
from .regex import MAX_REGEX_BYTES
from .source import SIMPLE_COLLATION, MongoSource

__all__ = [
    "INSTANT_STYLES",
    "MATCH_NONE",
    "MAX_REGEX_BYTES",
    "SIMPLE_COLLATION",
    "FilterCompiler",
    "MongoSource",
    "compile_filter",
    "compile_sort",
    "explain",
    "explain_json",
    "from_document",
    "to_document",
]
