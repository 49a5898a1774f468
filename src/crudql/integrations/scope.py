"""A path parameter that scopes every query to one tenant (docs/spec/SERVICE.md §5).

`/org/{orgId}/contact/query` with `scope_field="organization_id"`: the path's `orgId` becomes
`(= organization_id <orgId>)`, and-ed outside the client's filter, so no filter can reach
another tenant's rows. Everything that can be wrong with that configuration is found when
the route is added (fail closed: a scope that cannot apply must stop the app at start, not
serve everything); at request time only the client's path value can be wrong (a 400).

The scope is the server's, not the client's: it is checked against the model's schema in the
default `queryable="all"` mode, so a source that only lets clients filter on marked fields
(`queryable="marked"`) can still be scoped by an unmarked tenant field. A field marked
`Queryable(filter=False)` explicitly cannot be a scope (the checker refuses it; the route says
so when it is added).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..ast import Expr, Field, Literal, Predicate
from ..check.checker import check_filter
from ..check.schema import Schema
from ..errors import QueryError, RequestError
from ..fieldtypes import FieldType, Kind

__all__ = ["Scope", "path_parameters"]

# Path parameters as Starlette writes them: `{name}` or `{name:convertor}`.
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-zA-Z_][a-zA-Z0-9_]*)?}")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")

# A value of each kind, to try the scope against the schema when the route is added: a field
# the checker refuses (a type `=` cannot compare, a field policy) fails then, not per request.
_TRIAL_VALUES: dict[Kind, Any] = {
    Kind.INT: 0,
    Kind.FLOAT: 0,
    Kind.DECIMAL: 0,
    Kind.UUID: "00000000-0000-0000-0000-000000000000",
    Kind.BOOL: True,
    Kind.DATETIME: "2000-01-01T00:00:00Z",
    Kind.DATE: "2000-01-01",
}

# How each kind is documented in OpenAPI (other kinds are strings).
_OPENAPI_TYPES = {Kind.INT: "integer", Kind.FLOAT: "number", Kind.DECIMAL: "number", Kind.BOOL: "boolean"}


def path_parameters(path: str) -> list[str]:
    """The names of a route path's parameters, in order."""
    return _PARAM.findall(path)


@dataclass(frozen=True)
class Scope:
    """`param` of the path is the value of `field` (a scalar field of the model)."""

    param: str
    field: str  # as the route was given it
    dotted: str  # canonical
    type: FieldType
    schema: Schema  # the model's schema as the server sees it (see the module docstring)

    @classmethod
    def for_route(cls, path: str, schema: Schema, field: str, param: str | None) -> Scope:
        """The scope of a route, or ValueError saying what is misconfigured."""
        schema = Schema.from_model(schema.model)  # the server's view: no deny-by-default
        params = path_parameters(path)
        if param is None:
            if len(params) != 1:
                found = ", ".join(params) or "none"
                raise ValueError(
                    f"scope_field={field!r} needs the path parameter holding its value: the path {path!r} has "
                    f"{'several' if params else 'no'} parameters ({found}); name one with scope_param="
                )
            param = params[0]
        elif param not in params:
            raise ValueError(f"scope_param={param!r} is not a parameter of the path {path!r}")
        try:
            resolved = schema.resolve(field)
        except QueryError as exc:
            raise ValueError(f"scope_field={field!r}: {exc.message}") from None
        if resolved.star is not None or not resolved.type.is_scalar:
            raise ValueError(f"scope_field={field!r} must be a single value, not {resolved.type.describe()}")
        scope = cls(param, field, ".".join(resolved.path), resolved.type, schema)
        trial = _TRIAL_VALUES.get(resolved.type.kind, "x")
        if resolved.type.kind is Kind.ENUM and resolved.type.enum_values:
            trial = resolved.type.enum_values[0]
        try:
            scope._checked(trial)
        except QueryError as exc:
            raise ValueError(f"scope_field={field!r} cannot scope a query: {exc.message}") from None
        return scope

    def openapi_type(self) -> str:
        return _OPENAPI_TYPES.get(self.type.kind, "string")

    def filter(self, path_params: Mapping[str, Any]) -> Expr:
        """The checked scope filter for a request's path values; a value that does not
        convert to the field's type is a `RequestError` (a 400)."""
        raw = path_params.get(self.param)
        if raw is None:  # the route matched, so Starlette found it: a server bug, not a 400
            raise LookupError(f"path parameter {self.param!r} missing")
        text = str(raw)
        try:
            return self._checked(self._convert(text))
        except (QueryError, ValueError) as exc:
            message = exc.message if isinstance(exc, QueryError) else str(exc)
            raise RequestError(f"path parameter {self.param}: {message}", param=self.param) from None

    def _convert(self, text: str) -> Any:
        kind = self.type.kind
        if kind is Kind.INT:
            if not _INTEGER.fullmatch(text):
                raise ValueError(f"expected an integer, got {text[:40]!r}")
            return int(text)
        if kind is Kind.FLOAT:
            if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
                raise ValueError(f"expected a number, got {text[:40]!r}")
            return float(text)
        if kind is Kind.DECIMAL:
            if not _NUMBER.fullmatch(text) or len(text) > 100:
                raise ValueError(f"expected a number, got {text[:40]!r}")
            return Decimal(text)  # exactly as written
        if kind is Kind.BOOL:
            if text not in ("true", "false"):
                raise ValueError(f"expected true or false, got {text[:40]!r}")
            return text == "true"
        # Strings, enums, UUIDs, datetimes, dates: the checker coerces and validates the text.
        return text

    def _checked(self, value: Any) -> Expr:
        return check_filter(Predicate("=", Field(tuple(self.field.split("."))), (Literal(value),)), self.schema)
