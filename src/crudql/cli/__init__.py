"""The `crudql` command line: `parse`, `query`, `explain`."""

from .common import CLIError
from .main import main

__all__ = ["CLIError", "main"]
