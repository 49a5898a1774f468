"""Text -> AST: the lisp and JSON filter syntaxes, the sort syntaxes, and the printers back."""

from .json_filter import parse_json_filter
from .lisp import parse_lisp
from .printer import format_literal, sort_to_json, sort_to_simple, to_json, to_json_value, to_lisp
from .sort import SORT_STYLES, parse_sort_text

__all__ = [
    "SORT_STYLES",
    "format_literal",
    "parse_json_filter",
    "parse_lisp",
    "parse_sort_text",
    "sort_to_json",
    "sort_to_simple",
    "to_json",
    "to_json_value",
    "to_lisp",
]
