"""Field policy: what clients may do with each field (docs/spec/SERVICE.md §1).

    class User(BaseModel):
        email: Annotated[str, crudql.Queryable(operators=["=", "in"])]
        name: Annotated[str, crudql.Queryable(sort=True)]
        password_hash: str = Field(exclude=True)          # hidden: an unknown field

`Schema.from_model(model, queryable="all")` allows every visible field unless a marker narrows
it; `queryable="marked"` allows only marked fields (deny by default). A marker on a nested model
field applies to its subfields unless they carry their own. Using a visible field in a way its
policy forbids is a `QueryError` with code `not_allowed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..operators import lookup

__all__ = ["ALLOW_ALL", "DENY_ALL", "QUERYABLE_MODES", "Policy", "Queryable"]

QUERYABLE_MODES = ("all", "marked")


class Queryable:
    """A marker for `typing.Annotated[T, Queryable(...)]` on a model field.

    `filter`: whether filters may test the field; `sort`: whether sorts may use it;
    `operators`: the operator names (aliases allowed) filters may apply to it, None for any.
    """

    __slots__ = ("filter", "operators", "sort")

    def __init__(self, filter: bool = True, sort: bool = True, operators: Iterable[str] | None = None) -> None:
        self.filter = filter
        self.sort = sort
        self.operators: frozenset[str] | None = None
        if operators is not None:
            if isinstance(operators, str):
                raise TypeError("Queryable(operators=...) takes a list of operator names, not one string")
            names = []
            for name in operators:
                op = lookup(name)
                if op is None:
                    raise ValueError(f"Queryable(operators=...): unknown operator {name!r}")
                names.append(op.name)
            self.operators = frozenset(names)

    def __repr__(self) -> str:
        ops = "None" if self.operators is None else sorted(self.operators)
        return f"Queryable(filter={self.filter}, sort={self.sort}, operators={ops})"

    @property
    def policy(self) -> Policy:
        return Policy(self.filter, self.sort, self.operators)


@dataclass(frozen=True, slots=True)
class Policy:
    """The effective policy of one field path."""

    filter: bool = True
    sort: bool = True
    operators: frozenset[str] | None = None

    def allows(self, operator: str) -> bool:
        return self.filter and (self.operators is None or operator in self.operators)

    def allowed_text(self) -> str:
        return ", ".join(sorted(self.operators or ()))


ALLOW_ALL = Policy()
DENY_ALL = Policy(filter=False, sort=False, operators=frozenset())
