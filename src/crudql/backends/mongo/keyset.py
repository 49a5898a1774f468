"""Keyset pages in MongoDB: "the documents after this position in the sort" as filter
documents, so a cursor's page is `find({$and: [<filter>, <after>]}).sort(...).limit(n)`, with
no `skip`.

For sort keys k_1..k_n (each ascending or descending) and a position (v_1..v_n):

    {$or: [<k_1 after v_1>, {$and: [<k_1 = v_1>, <k_2 after v_2>]}, ...]}

MongoDB sorts null and missing together below every value, which is the spec's rule, so:

    | key        | v present                         | v null (missing)       |
    |------------|-----------------------------------|------------------------|
    | ascending  | {k: {$gt: v}}                     | k present and not null |
    | descending | {$or: [{k: {$lt: v}}, k missing]} | nothing is after       |
    | equal      | {k: {$eq: v}}                     | k missing or null      |

`$gt`/`$lt` compare within one BSON type, as the sort does for the typed fields a sort may name.
As in SQL (`crudql.backends.sql.keyset`), a position where the first key's nulls and values
meet (descending from a value, ascending from a null) is split in two filters run one after
the other, each an index range: the rest of the values, then the nulls (or the other way).
Untyped (Any) keys are refused: MongoDB orders mixed types by BSON type (objects and arrays
between strings and booleans, arrays by an element) where the other backends order by JSON
family, so no filter could say "after" as they do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...ast import Field, SortKey
from ...errors import CursorError
from ...fieldtypes import Kind
from .compiler import FilterCompiler, field_path
from .logic import Compiled, all_of, any_of, negate

__all__ = ["after_filters"]

# For a datetime between two milliseconds (BSON dates hold milliseconds), for stored x:
# x > v ⟺ x > floor(v), x < v ⟺ x <= floor(v), and no x equals v.
_INEXACT = {"$gt": "$gt", "$lt": "$lte"}


def after_filters(
    compiler: FilterCompiler, order: Sequence[SortKey], position: Sequence[Any], *, split: bool = True
) -> list[Compiled]:
    """The documents after `position` (one value per key of `order`, None for null or
    missing), as consecutive segments of the order: one filter, or two (see above; never with
    `split=False`, for a skip that must count across both)."""
    keys = [_Key(compiler, key, value) for key, value in zip(order, position)]
    first, rest = keys[0], _after(keys[1:])
    if not split:
        return [_after(keys)]
    if first.path is not None and first.descending and first.value is not None:
        # The rest of the values (an index range from the position), then every null.
        return [all_of([first.at_most(), any_of([first.before(), all_of([first.same(), rest])])]), first.missing()]
    if first.path is not None and not first.descending and first.value is None:
        # The rest of the nulls, then every value.
        return [all_of([first.missing(), rest]), first.present()]
    start = first.at_least() if first.value is not None and not first.descending and len(keys) > 1 else True
    return [all_of([start, _after(keys)])]


class _Key:
    """One sort key at a position: its path, direction and stored value."""

    def __init__(self, compiler: FilterCompiler, key: SortKey, value: Any) -> None:
        f = key.resolved if key.resolved is not None else Field(key.path)
        if f.type is None or f.type.kind is Kind.ANY:
            raise CursorError(
                f"MongoDB cannot page by cursor a sort on the untyped field '{f.dotted}' (it orders mixed "
                "types unlike the other backends); page it with page_number, or sort by typed fields",
                param="cursor",
            )
        self.path = field_path(f)  # None: MongoDB cannot address it, missing in every document
        self.descending = key.descending
        self.value = value
        self.stored: Any = None
        self.exact = True
        if value is not None:
            self.stored, self.exact = compiler.value(value)

    def _test(self, op: str) -> Compiled:
        assert self.path is not None
        return {self.path: {(op if self.exact else _INEXACT.get(op, op)): self.stored}}

    def present(self) -> Compiled:
        # Present and not null; mongomock needs $exists with $ne (see FilterCompiler.op_exists).
        return False if self.path is None else {self.path: {"$exists": True, "$ne": None}}

    def missing(self) -> Compiled:
        return negate(self.present())

    def same(self) -> Compiled:
        if self.value is None:
            return self.missing()
        return False if self.path is None or not self.exact else self._test("$eq")

    def before(self) -> Compiled:
        """Strictly after the position in the order, among the values (not the nulls)."""
        if self.path is None or self.value is None:
            return False
        return self._test("$lt" if self.descending else "$gt")

    def after(self) -> Compiled:
        if self.value is None:
            return False if self.descending else self.present()
        if self.descending:
            return any_of([self.before(), self.missing()])
        return self.before()

    def at_least(self) -> Compiled:
        return self._test("$gte") if self.exact else self._test("$gt")

    def at_most(self) -> Compiled:
        return self._test("$lte")


def _after(keys: Sequence[_Key]) -> Compiled:
    """(k_1 after v_1) OR (k_1 = v_1 AND k_2 after v_2) OR ..."""
    branches: list[Compiled] = []
    equal: list[Compiled] = []
    for key in keys:
        branches.append(all_of([*equal, key.after()]))
        equal.append(key.same())
    return any_of(branches)
