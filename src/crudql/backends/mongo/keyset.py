"""Keyset pages in MongoDB: "the documents after this position in the sort" as a filter
document, so a cursor's page is `find({$and: [<filter>, <after>]}).sort(...).limit(n)`, with no
`skip`.

For sort keys k_1..k_n (each ascending or descending) and a position (v_1..v_n):

    {$or: [<k_1 after v_1>, {$and: [<k_1 = v_1>, <k_2 after v_2>]}, ...]}

MongoDB sorts null and missing together below every value, which is the spec's rule, so:

    | key        | v present                        | v null (missing)       |
    |------------|----------------------------------|------------------------|
    | ascending  | {k: {$gt: v}}                    | k present and not null |
    | descending | {$or: [{k: {$lt: v}}, k missing]} | nothing is after       |
    | equal      | {k: {$eq: v}}                    | k missing or null      |

`$gt`/`$lt` compare within one BSON type, as the sort does for the typed fields a sort may name.
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

__all__ = ["after_filter"]

_INEXACT = {"$gt": "$gt", "$lt": "$lte"}  # x > v ⟺ x > floor(v) and x < v ⟺ x <= floor(v), for ms-precision x


def after_filter(compiler: FilterCompiler, order: Sequence[SortKey], position: Sequence[Any]) -> Compiled:
    """The documents after `position` (one value per key of `order`, None for null/missing)."""
    branches: list[Compiled] = []
    equal: list[Compiled] = []
    start: Compiled = True
    for i, (key, value) in enumerate(zip(order, position)):
        f = key.resolved if key.resolved is not None else Field(key.path)
        if f.type is None or f.type.kind is Kind.ANY:
            raise CursorError(
                f"MongoDB cannot page by cursor a sort on the untyped field '{f.dotted}' (it orders mixed types "
                "unlike the other backends); page it with page_number, or sort by typed fields"
            )
        after, same = _key(compiler, field_path(f), key.descending, value)
        if i == 0 and value is not None and not key.descending and isinstance(after, dict):
            start = {k: {"$gte" if op == "$gt" else op: v for op, v in test.items()} for k, test in after.items()}
        branches.append(all_of([*equal, after]))
        equal.append(same)
    return all_of([start, any_of(branches)])


def _key(compiler: FilterCompiler, path: str | None, descending: bool, value: Any) -> tuple[Compiled, Compiled]:
    """(after, equal) for one key."""
    if path is None:
        # A key MongoDB cannot address is missing in every document (the sort leaves it out).
        return False, value is None
    present = {path: {"$exists": True, "$ne": None}}  # mongomock needs $exists (see op_exists)
    missing = negate(present)
    if value is None:
        return (False if descending else present), missing
    stored, exact = compiler.value(value)
    op = "$lt" if descending else "$gt"
    test = {path: {(op if exact else _INEXACT[op]): stored}}
    after = any_of([test, missing]) if descending else test
    return after, ({path: {"$eq": stored}} if exact else False)
