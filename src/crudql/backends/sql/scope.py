"""A mapping over a FROM item: the table or an alias of it, the outer joins of its to-one
relationships, and when its row exists.

The main statement binds the root node to the table itself; each to-one relationship is a LEFT
OUTER JOIN of an alias of the related table (at most one row, so it never duplicates rows or
changes counts, and a missing related row reads as NULLs: the language's missing values). A
subquery over a to-many relationship binds the child node to a fresh alias, correlated to the
parent row. Bindings of the main statement are made once per source and never change, so
expressions built on them may be cached; those inside a subquery belong to one statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from .mapping import MappedField, Node, Pairs, ToOne, Virtual

__all__ = ["Bound", "bind_node", "correlate"]


@dataclass(eq=False)
class Bound:
    node: Node
    selectable: sa.FromClause  # the node's table, or an alias of it
    present: ColumnElement[bool] | None  # when the row exists (None: always)
    stable: bool  # part of the source's main statement: expressions on it may be cached
    own_row: bool = True  # False for a nested model stored in its parent's row
    children: dict[str, Bound] = field(default_factory=dict)  # virtual and to-one fields
    joins: list[tuple[sa.FromClause, ColumnElement[bool]]] = field(default_factory=list)

    def column(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        """An expression over the node's table, read from this binding's FROM item."""
        if self.selectable is self.node.table:
            return expr
        return ClauseAdapter(self.selectable).traverse(expr)  # type: ignore[no-any-return]

    def from_clause(self) -> sa.FromClause:
        """The FROM item with the outer joins of every to-one relationship below it."""
        clause: sa.FromClause = self.selectable
        for target, on in self.joins:
            clause = sa.outerjoin(clause, target, on)
        return clause

    def field(self, name: str) -> MappedField:
        return self.node.fields[name]


def correlate(parent: Bound, child: sa.FromClause, pairs: Pairs) -> ColumnElement[bool]:
    """The join condition of a relationship between `parent`'s row and an alias of the related
    table."""
    return sa.and_(*(parent.column(local) == child.c[_key(remote)] for local, remote in pairs))


def bind_node(node: Node, selectable: sa.FromClause, present: ColumnElement[bool] | None, stable: bool) -> Bound:
    """Bind `node` to `selectable`, with an outer-joined alias for each to-one relationship
    (recursively) and the same row for each virtual (same-row) nested model."""
    root = Bound(node, selectable, present, stable)
    _bind_children(root, root)
    return root


def _bind_children(bound: Bound, root: Bound) -> None:
    for name, mf in bound.node.fields.items():
        if isinstance(mf, Virtual):
            child = Bound(mf.node, bound.selectable, bound.present, bound.stable, own_row=False)
            bound.children[name] = child
            _bind_children(child, root)
        elif isinstance(mf, ToOne):
            alias = mf.node.table.alias()
            on = correlate(bound, alias, mf.pairs)
            key = next(iter(mf.node.key), None)
            if key is None:
                raise ValueError(f"table {mf.node.table.name!r} has no primary key: a to-one relationship needs one")
            exists = alias.c[_key(key)].is_not(None)
            present = exists if bound.present is None else sa.and_(bound.present, exists)
            root.joins.append((alias, on))
            child = Bound(mf.node, alias, present, bound.stable)
            bound.children[name] = child
            _bind_children(child, root)


def _key(column: Any) -> str:
    """A column's key in a FROM item's `.c` collection."""
    return str(column.key)
