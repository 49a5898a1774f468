"""Least-recently-used caches bounded by an estimate of the memory they hold, not by count.

A count bound alone lets hostile traffic pin memory: 1,024 distinct 10,000-character filters
keep 1,024 large trees (and their compiled code) alive. Each entry here carries a weight (an
estimate in bytes, from the size of the text or tree it was made from), and the cache evicts
the least recently used entries while the total is over its budget. Thread-safe: one source
serves a threaded server.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from .ast import And, Expr, ListValue, Not, Or, Predicate, Quantified

__all__ = ["MISSING", "CompiledCache", "WeightedLRU", "text_weight", "tree_weight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MISSING = object()

# Measured with tracemalloc on checked trees of generated filters: about 0.5 KB per node of a
# checked tree, and about 60 bytes per character of query text once parsed and checked.
_BYTES_PER_NODE = 600
_BYTES_PER_CHARACTER = 64
_ENTRY_OVERHEAD = 512


def text_weight(text: str) -> int:
    """The estimated memory held for the result of parsing `text`."""
    return _ENTRY_OVERHEAD + _BYTES_PER_CHARACTER * len(text)


def tree_weight(expr: Expr | None) -> int:
    """The estimated memory of what is compiled from a tree: proportional to its nodes and
    list items (an iterative walk: any depth is safe)."""
    if expr is None:
        return _ENTRY_OVERHEAD
    count = 0
    stack: list[object] = [expr]
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, (And, Or)):
            stack.extend(node.children)
        elif isinstance(node, Not):
            stack.append(node.child)
        elif isinstance(node, Quantified):
            stack.append(node.condition)
        elif isinstance(node, Predicate):
            count += sum(len(a.items) for a in node.args if isinstance(a, ListValue))
    return _ENTRY_OVERHEAD + _BYTES_PER_NODE * count


class WeightedLRU(Generic[K, V]):
    """An LRU map whose entries' weights sum to at most `budget` (an entry heavier than the
    whole budget is not kept)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.weight = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | object:
        """The value for `key` (now the most recently used), or `MISSING`."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return MISSING
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, weight: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            if weight > self.budget:
                return
            self._entries[key] = (value, weight)
            self.weight += weight
            while self.weight > self.budget:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.weight -= dropped

    def get_or_build(self, key: K, build: Callable[..., V], weigh: Callable[..., int], *args: Any) -> V:
        """The cached value, or `build(*args)` cached with weight `weigh(value, *args)`.
        Unhashable keys (a literal that cannot be hashed) are built without caching. (`args`
        rather than closures: a hit then allocates nothing, on the path of every request.)"""
        try:
            found = self.get(key)
        except TypeError:
            return build(*args)
        if found is not MISSING:
            return found  # type: ignore[return-value]
        value = build(*args)
        self.put(key, value, weigh(value, *args))
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.weight = 0


class CompiledCache:
    """A weighted LRU in the shape SQLAlchemy's `compiled_cache` execution option asks for
    (`get` and item assignment), so each SQL source keeps its compiled statements within a
    memory budget instead of in the engine's count-bound cache (a compiled statement holds
    about 25 bytes per character of its SQL)."""

    def __init__(self, budget: int) -> None:
        self.lru: WeightedLRU[object, object] = WeightedLRU(budget)

    def get(self, key: object, default: object = None) -> object:
        found = self.lru.get(key)
        return default if found is MISSING else found

    def __setitem__(self, key: object, value: object) -> None:
        text = getattr(value, "string", "")
        self.lru.put(key, value, _ENTRY_OVERHEAD * 8 + 32 * len(text if isinstance(text, str) else ""))

    def __len__(self) -> int:
        return len(self.lru)
