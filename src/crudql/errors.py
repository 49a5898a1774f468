"""The one error hierarchy of crudql: every client mistake is a `QueryError`.

Each error has a stable `code`, a `message` a user can act on, and, when it comes from
query text, a 0-based `position` (plus 1-based `line`/`column`) and a caret excerpt in `str()`.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

__all__ = [
    "ArityError",
    "CursorError",
    "LimitError",
    "QueryError",
    "QuerySyntaxError",
    "QueryTimeoutError",
    "QueryTypeError",
    "RequestError",
    "SortError",
    "UnknownFieldError",
    "UnknownOperatorError",
    "caret_excerpt",
    "line_column",
]


def line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def caret_excerpt(text: str, position: int, length: int = 1, width: int = 100) -> str:
    """The source line holding `position`, with carets under `length` characters.

    Long lines are cut to a window around the position so an excerpt of a 10,000-character
    query stays readable.
    """
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    if end == -1:
        end = len(text)
    line = text[start:end]
    col = position - start
    length = max(1, min(length, len(line) - col if col < len(line) else 1))
    if len(line) > width:
        lo = max(0, min(col - width // 3, len(line) - width))
        prefix = "..." if lo > 0 else ""
        suffix = "..." if lo + width < len(line) else ""
        line = prefix + line[lo : lo + width] + suffix
        col = col - lo + len(prefix)
        length = min(length, width - (col - len(prefix)))
    # Tabs keep their width in the caret line so the carets stay under the token.
    pad = "".join(c if c == "\t" else " " for c in line[:col])
    return f"  {line}\n  {pad}{'^' * max(1, length)}"


class SpanLike(Protocol):
    """Where an error points: `crudql.ast.Span` or anything with `start` and `length`."""

    @property
    def start(self) -> int: ...

    @property
    def length(self) -> int: ...


E = TypeVar("E", bound="QueryError")


class QueryError(ValueError):
    """A client error: bad filter, sort or request parameter.

    Attributes:
        code: stable machine-readable kind (`syntax`, `unknown_field`, `type`, `limit`, ...).
        message: what is wrong and, where possible, how to fix it.
        position: 0-based offset in `text`, or None when the error has no place in text.
        line, column: 1-based, derived from `position`.
        length: how many characters the offending token spans (for the carets).
        text: the query text the position refers to.
        param: which request parameter the text came from (`q`, `s`, ...), if known.
    """

    code: str = "query"

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        length: int = 1,
        text: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.position = position
        self.length = length
        self.text = text
        self.param = param

    @classmethod
    def at(cls: type[E], message: str, span: SpanLike | None, **kwargs: Any) -> E:
        """An error pointing at `span` (a node's or token's place in the text), if known."""
        if span is None:
            return cls(message, **kwargs)
        return cls(message, position=span.start, length=span.length, **kwargs)

    @property
    def line(self) -> int | None:
        if self.position is None or self.text is None:
            return None
        return line_column(self.text, self.position)[0]

    @property
    def column(self) -> int | None:
        if self.position is None or self.text is None:
            return None
        return line_column(self.text, self.position)[1]

    def located(self, text: str, param: str | None = None) -> QueryError:
        """Attach the query text (and parameter name) this error's position refers to."""
        if self.text is None:
            self.text = text
        if param is not None and self.param is None:
            self.param = param
        return self

    def headline(self) -> str:
        where = []
        if self.param:
            where.append(f"in {self.param}")
        if self.position is not None and self.text is not None:
            line, column = line_column(self.text, self.position)
            where.append(f"line {line}, column {column}")
        elif self.position is not None:
            where.append(f"offset {self.position}")
        msg = self.message
        if where:
            # Insert the location after the first clause so hints stay at the end:
            # "unknown field 'x' (line 1, column 8); did you mean 'y'?"
            head, sep, tail = msg.partition("; ")
            msg = f"{head} ({', '.join(where)}){sep}{tail}"
        return msg

    def __str__(self) -> str:
        if self.position is not None and self.text is not None:
            return f"{self.headline()}\n{caret_excerpt(self.text, self.position, self.length)}"
        return self.headline()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description, for HTTP error bodies and logs."""
        return {
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "position": self.position,
            "line": self.line,
            "column": self.column,
            "detail": str(self),
        }


class QuerySyntaxError(QueryError):
    code = "syntax"


class UnknownFieldError(QueryError):
    code = "unknown_field"


class UnknownOperatorError(QueryError):
    code = "unknown_operator"


class ArityError(QueryError):
    code = "arity"


class QueryTypeError(QueryError):
    code = "type"


class LimitError(QueryError):
    code = "limit"


class RequestError(QueryError):
    code = "request"


class SortError(QueryError):
    code = "sort"


class NotAllowedError(QueryError):
    """A visible field used in a way its policy forbids (`crudql.Queryable`)."""

    code = "not_allowed"


class QueryTimeoutError(QueryError):
    """The engine ran out of the source's `timeout`: the query was cancelled (HTTP 503)."""

    code = "timeout"


class CursorError(QueryError):
    """A `cursor` that this request cannot follow: altered, truncated, signed with another key,
    or made for another filter, sort or page size (HTTP 400; start again from the first page)."""

    code = "cursor"
