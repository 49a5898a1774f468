"""Boolean structure of MongoDB filters: constants folded, `$and`/`$or` flattened, plain
negation with `$nor` (or the one-operator opposite where MongoDB has one)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Union

__all__ = ["MATCH_NONE", "Compiled", "Filter", "all_of", "any_of", "as_filter", "negate"]

Filter = dict[str, Any]
# A compiled expression: a filter document, or a constant (True: every document, False: none).
# Constants fold away inside and/or/not, so they never reach MongoDB below the top level.
Compiled = Union[Filter, bool]

# Every stored document has an _id, so this matches nothing on every engine ({"$expr": false}
# is not understood by montydb, and an empty $in cannot be written without naming a field).
MATCH_NONE: Filter = {"_id": {"$exists": False}}


def all_of(parts: Iterable[Compiled]) -> Compiled:
    out: list[Filter] = []
    for part in parts:
        if part is False:
            return False
        if part is True:
            continue
        assert isinstance(part, dict)
        # Nested $and flattens: fewer BSON levels (MongoDB caps nesting at 100).
        out.extend(part["$and"] if list(part) == ["$and"] else [part])
    if not out:
        return True
    return out[0] if len(out) == 1 else {"$and": out}


def any_of(parts: Iterable[Compiled]) -> Compiled:
    out: list[Filter] = []
    for part in parts:
        if part is True:
            return True
        if part is False:
            continue
        assert isinstance(part, dict)
        out.extend(part["$or"] if list(part) == ["$or"] else [part])
    if not out:
        return False
    return out[0] if len(out) == 1 else {"$or": out}


# Operators whose negation MongoDB spells as one operator with the same missing-field rule:
# `$ne`/`$nin` match a missing field, exactly like `$nor` of `$eq`/`$in`.
_OPPOSITE = {"$eq": "$ne", "$ne": "$eq", "$in": "$nin", "$nin": "$in"}


def negate(part: Compiled) -> Compiled:
    """Plain negation. MongoDB: `$not` is a field-level operator with caveats (no `$not` of
    `$regex` strings before 4.0.7, none of a whole expression), so whole expressions are
    negated with `$nor`, which is true for documents where the expression is false, missing
    fields included."""
    if isinstance(part, bool):
        return not part
    if list(part) == ["$nor"]:
        return any_of(part["$nor"])  # (not (nor a b)) is (or a b): also keeps nesting shallow
    if len(part) == 1:
        ((path, test),) = part.items()
        if not path.startswith("$") and isinstance(test, dict) and len(test) == 1:
            ((op, value),) = test.items()
            if op in _OPPOSITE:
                return {path: {_OPPOSITE[op]: value}}
    return {"$nor": [part]}


def as_filter(part: Compiled) -> Filter:
    if part is True:
        return {}
    if part is False:
        return dict(MATCH_NONE)
    assert isinstance(part, dict)
    return part
