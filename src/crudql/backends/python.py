"""Python backend: a checked AST compiled into a predicate and sort keys for Python objects.

Records are model instances (attributes by Python name) or JSON dicts in alias shape. Each
filter compiles once into a Python function (generated source, `compile()`d), so evaluation
costs about what the same checks written by hand cost.

Safety of generated code: no client text ever enters the source. Literal values, dict keys
and JSON names are bound through the function's namespace as constants (`_c0`, `_c1`, ...);
the only names written into the source are our own temporaries and model attribute names,
which come from the schema and are checked to be plain identifiers.

Semantics (spec section 2): every test is false on a missing or null value, except the null
tests; negations are plain `not`. A path through a missing object, or through a value of the
wrong shape, is missing.
"""

from __future__ import annotations

import datetime as dt
import enum
import heapq
import keyword
from functools import lru_cache
from itertools import count
from typing import Any, Callable, Iterable, Sequence

from ..ast import And, Expr, Field, Not, Or, Predicate, Quantified
from ..operators import Kind, lookup
from ..patterns import escape_like, like_matcher
from ..schema import parse_datetime
from ..sort import SortKey

__all__ = ["compile_filter", "compile_scan", "compile_sort_key", "sort_records", "source_of"]

MODEL = "model"
DICT = "dict"
_SHAPES = ("auto", MODEL, DICT)
_HOIST_EVERY = 12  # nesting levels per generated function: stays far below Python's parser limit


# ------------------------------------------------------------------ value normalization


@lru_cache(maxsize=65536)
def _parse_instant(text: str) -> dt.datetime | None:
    return parse_datetime(text)


def _instant(value: Any) -> dt.datetime | None:
    """A datetime field's value as an aware UTC datetime (None when missing or unreadable)."""
    if value.__class__ is dt.datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        return _parse_instant(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _enum_value(value: Any) -> Any:
    # str-mixin enums hash by member name, not value: compare and hash their values.
    return value.value if isinstance(value, enum.Enum) else value


def _family(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "datetime"
    return None


def _same(value: Any, constant: Any) -> bool:
    """Equality for untyped (Any) fields: like JSON, 1 == 1.0 but true != 1 and "1" != 1."""
    value = _enum_value(value)
    family = _family(value)
    return family is not None and family == _family(constant) and value == constant


def _order_any(value: Any, constant: Any, op: str) -> bool:
    value = _enum_value(value)
    family = _family(value)
    if family is None or family != _family(constant) or family == "bool":
        return False
    if op == "<":
        return bool(value < constant)
    if op == "<=":
        return bool(value <= constant)
    if op == ">":
        return bool(value > constant)
    return bool(value >= constant)


# ------------------------------------------------------------------ code generation


def _plain_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") and name.isascii()


class _Generator:
    """Builds the source of one predicate (plus helper functions for `any`/`all` bodies)."""

    def __init__(self, shape: str) -> None:
        self.shape = shape
        self.namespace: dict[str, Any] = {
            "_instant": _instant,
            "_date": _date,
            "_enum": _enum_value,
            "_same": _same,
            "_order_any": _order_any,
            "_dict": dict,
            "_list": list,
            "__builtins__": {"any": any, "all": all, "map": map, "isinstance": isinstance, "str": str},
        }
        self.functions: list[str] = []
        self._ids = count()

    def const(self, value: Any) -> str:
        name = f"_c{next(self._ids)}"
        self.namespace[name] = value
        return name

    def temp(self) -> str:
        return f"_t{next(self._ids)}"

    def function(self, var: str, body: str) -> str:
        name = f"_f{next(self._ids)}"
        self.functions.append(f"def {name}({var}):\n    return {body}\n")
        return name

    def build(self, expr: Expr) -> Callable[[Any], bool]:
        main = self.function("r", self.expr(expr, "r", 0))
        return self._exec()[main]  # type: ignore[no-any-return]

    def build_scan(self, expr: Expr) -> Callable[[Iterable[Any]], list[Any]]:
        """A function filtering a whole list, with the test inlined in a comprehension:
        no Python call per record."""
        name = f"_f{next(self._ids)}"
        self.functions.append(f"def {name}(items):\n    return [r for r in items if {self.expr(expr, 'r', 0)}]\n")
        return self._exec()[name]  # type: ignore[no-any-return]

    def _exec(self) -> dict[str, Any]:
        source = "\n".join(self.functions)
        exec(compile(source, "<crudql filter>", "exec"), self.namespace)  # noqa: S102 - no client text in source
        return self.namespace

    # -------------------------------------------------------------- field access

    def _steps(self, f: Field) -> list[tuple[str, bool]]:
        names = f.path if self.shape == MODEL else (f.json_path or f.path)
        keyed = f.keyed or (False,) * len(names)
        return list(zip(names, keyed))

    def needs_dict(self, keyed: bool) -> bool:
        """Whether a segment is read from a dict (map keys; every segment of a JSON record)."""
        return keyed or self.shape == DICT

    def read(self, container: str, name: str, keyed: bool) -> str:
        if self.needs_dict(keyed):
            return f"{container}.get({self.const(name)})"
        if _plain_identifier(name):
            return f"{container}.{name}"
        return f"getattr({container}, {self.const(name)}, None)"

    def guarded(self, f: Field, var: str, test: Callable[[str], str]) -> str:
        """`test(value)` on the field's value; false when the value or any container on the
        way is missing, null or of the wrong shape. Flat `and` chains: no nesting per segment."""
        steps = self._steps(f)
        parts = []
        if self.needs_dict(steps[0][1]) and var != "r":
            # Array elements may be null in JSON; the record itself is known to be a dict.
            parts.append(f"{var}.__class__ is _dict")
        container = var
        for i, (name, keyed) in enumerate(steps):
            read = self.read(container, name, keyed)
            temp = self.temp()
            if i == len(steps) - 1:
                parts.append(f"({temp} := {self._normalize(f, read)}) is not None")
                check = test(temp)
                if check:
                    parts.append(check)
            elif self.needs_dict(steps[i + 1][1]):
                parts.append(f"({temp} := {read}).__class__ is _dict")
            else:
                parts.append(f"({temp} := {read}) is not None")
            container = temp
        return "(" + " and ".join(parts) + ")"

    def _normalize(self, f: Field, read: str) -> str:
        kind = f.type.kind if f.type is not None else Kind.ANY
        if kind is Kind.DATETIME:
            return f"_instant({read})"
        if kind is Kind.DATE:
            return f"_date({read})"
        return read

    def exists(self, f: Field, var: str) -> str:
        return self.guarded(f, var, lambda v: "")

    # -------------------------------------------------------------- expressions

    def expr(self, node: Expr, var: str, depth: int) -> str:
        if depth and depth % _HOIST_EVERY == 0:
            # Deep trees become nested function calls rather than deeply nested source.
            return f"{self.function(var, self._expr(node, var, depth + 1))}({var})"
        return self._expr(node, var, depth + 1)

    def _expr(self, node: Expr, var: str, depth: int) -> str:
        if isinstance(node, And):
            return "(" + " and ".join(self.expr(c, var, depth) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " or ".join(self.expr(c, var, depth) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(not {self.expr(node.child, var, depth)})"
        if isinstance(node, Quantified):
            return self.quantified(node, var, depth)
        if isinstance(node, Predicate):
            return self.predicate(node, var)
        raise TypeError(f"not a crudql expression: {node!r}")

    def quantified(self, node: Quantified, var: str, depth: int) -> str:
        element = self.temp()
        body = self.function(element, self.expr(node.condition, element, depth))
        if node.op == "any":
            return self.guarded(node.field, var, lambda v: f"any(map({body}, {v}))")
        # (all f P) is (not (any f (not P))): true for a missing or empty array.
        return f"(not {self.guarded(node.field, var, lambda v: f'not all(map({body}, {v}))')})"

    def predicate(self, node: Predicate, var: str) -> str:
        op = lookup(node.op)
        assert op is not None
        if op.negates is not None:
            return f"(not {self.predicate(Predicate(op.negates, node.field, node.args), var)})"
        method = getattr(self, "op_" + op.name.replace("-", "_").replace("=", "eq").replace("<", "lt").replace(">", "gt"))
        return method(node.field, node.args, var)  # type: ignore[no-any-return]

    def _kind(self, f: Field) -> Kind:
        return f.type.kind if f.type is not None else Kind.ANY

    def _item_kind(self, f: Field) -> Kind:
        item = f.type.item if f.type is not None else None
        return item.kind if item is not None else Kind.ANY

    # -------------------------------------------------------------- one method per operator

    def op_eq(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        value = args[0].value
        if value is None:
            return f"(not {self.exists(f, var)})"
        c = self.const(value)
        if self._kind(f) is Kind.ANY:
            return self.guarded(f, var, lambda v: f"_same({v}, {c})")
        return self.guarded(f, var, lambda v: f"{v} == {c}")

    def _order(self, f: Field, args: tuple[Any, ...], var: str, symbol: str) -> str:
        c = self.const(args[0].value)
        if self._kind(f) is Kind.ANY:
            return self.guarded(f, var, lambda v: f"_order_any({v}, {c}, {symbol!r})")
        return self.guarded(f, var, lambda v: f"{v} {symbol} {c}")

    def op_lt(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return self._order(f, args, var, "<")

    def op_lteq(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return self._order(f, args, var, "<=")

    def op_gt(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return self._order(f, args, var, ">")

    def op_gteq(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return self._order(f, args, var, ">=")

    def op_between(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        if self._kind(f) is Kind.ANY:
            low = self._order(f, args[:1], var, ">=")
            return f"({low} and {self._order(f, args[1:], var, '<=')})"
        lo, hi = self.const(args[0].value), self.const(args[1].value)
        return self.guarded(f, var, lambda v: f"{lo} <= {v} <= {hi}")

    def op_in(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        values = args[0].values
        present = [v for v in values if v is not None]
        if self._kind(f) is Kind.ANY:
            c = self.const(tuple(present))
            test = self.guarded(f, var, lambda v: f"any(_same({v}, x) for x in {c})")
        elif len(present) <= 8 or self._kind(f) is Kind.ENUM and self.shape == MODEL:
            # A short tuple beats hashing; and str-mixin enum members hash by name, so
            # they must meet their values through ==, never through a set.
            c = self.const(tuple(present))
            test = self.guarded(f, var, lambda v: f"{v} in {c}")
        else:
            c = self.const(frozenset(present))
            test = self.guarded(f, var, lambda v: f"{v} in {c}")
        if None in values:
            return f"({test} or not {self.exists(f, var)})"
        return test

    def _elements(self, f: Field, v: str) -> str:
        """The array's elements, as values comparable with literals."""
        kind = self._item_kind(f)
        if kind is Kind.ENUM and self.shape == MODEL:
            return f"map(_enum, {v})"
        if kind is Kind.DATETIME:
            return f"map(_instant, {v})"
        if kind is Kind.DATE:
            return f"map(_date, {v})"
        return v

    def _is_list(self, v: str) -> str:
        return f"{v}.__class__ is _list"

    def op_like(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return self._like(f, args[0].value, False, var)

    def op_ilike(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return self._like(f, args[0].value, True, var)

    def _like(self, f: Field, pattern: str, ignore_case: bool, var: str) -> str:
        m = self.const(like_matcher(pattern, ignore_case))
        return self.guarded(f, var, lambda v: f"isinstance({v}, str) and {m}({v}) is not None")

    def op_contains(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        if self._kind(f) is Kind.ARRAY:
            return self.op_has(f, args, var)
        c = self.const(args[0].value)
        return self.guarded(f, var, lambda v: f"isinstance({v}, str) and {c} in {v}")

    def op_icontains(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        text = args[0].value
        if self._kind(f) is Kind.ARRAY:
            # Case-insensitive element equality: the element matches the text as a whole.
            m = self.const(like_matcher(escape_like(text), True))
            return self.guarded(
                f, var, lambda v: f"{self._is_list(v)} and any(isinstance(e, str) and {m}(e) is not None for e in {v})"
            )
        return self._like(f, "%" + escape_like(text) + "%", True, var)

    def op_starts_with(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        c = self.const(args[0].value)
        return self.guarded(f, var, lambda v: f"isinstance({v}, str) and {v}.startswith({c})")

    def op_ends_with(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        c = self.const(args[0].value)
        return self.guarded(f, var, lambda v: f"isinstance({v}, str) and {v}.endswith({c})")

    def op_has(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        value = args[0].value
        if self._item_kind(f) is Kind.ANY:
            c = self.const(value)
            return self.guarded(f, var, lambda v: f"{self._is_list(v)} and any(_same(e, {c}) for e in {v})")
        c = self.const(value)
        return self.guarded(f, var, lambda v: f"{self._is_list(v)} and {c} in {self._elements(f, v)}")

    def op_has_any(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        values = args[0].values
        if not values:
            return "False"
        if self._item_kind(f) is Kind.ANY:
            c = self.const(tuple(values))
            return self.guarded(
                f, var, lambda v: f"{self._is_list(v)} and any(_same(e, x) for e in {v} for x in {c})"
            )
        c = self.const(frozenset(values))
        return self.guarded(f, var, lambda v: f"{self._is_list(v)} and not {c}.isdisjoint({self._elements(f, v)})")

    def op_has_all(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        values = args[0].values
        if not values:
            return "True"  # the empty conjunction, even for a missing array
        if self._item_kind(f) is Kind.ANY:
            c = self.const(tuple(values))
            return self.guarded(
                f, var, lambda v: f"{self._is_list(v)} and all(any(_same(e, x) for e in {v}) for x in {c})"
            )
        c = self.const(frozenset(values))
        return self.guarded(f, var, lambda v: f"{self._is_list(v)} and {c}.issubset({self._elements(f, v)})")

    def op_exists(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return self.exists(f, var)

    def op_is_null(self, f: Field, args: tuple[Any, ...], var: str) -> str:
        return f"(not {self.exists(f, var)})"


# ------------------------------------------------------------------ public API


def compile_filter(expr: Expr | None, shape: str = "auto") -> Callable[[Any], bool]:
    """A predicate for a checked filter (None matches everything).

    `shape` is "model" (model instances), "dict" (JSON dicts in alias shape) or "auto"
    (either, decided per record). Compiled functions are cached by tree.
    """
    if shape not in _SHAPES:
        raise ValueError(f"shape must be one of {_SHAPES}")
    if expr is None:
        return _always
    return _compile(expr, shape)


def _always(record: Any) -> bool:
    return True


@lru_cache(maxsize=512)
def _compile(expr: Expr, shape: str) -> Callable[[Any], bool]:
    if shape == "auto":
        on_model, on_dict = _compile(expr, MODEL), _compile(expr, DICT)

        def predicate(record: Any) -> bool:
            return on_dict(record) if record.__class__ is dict else on_model(record)

        return predicate
    return _Generator(shape).build(expr)


def compile_scan(expr: Expr | None, shape: str = MODEL) -> Callable[[Iterable[Any]], list[Any]]:
    """A function returning the records of an iterable that match (shape "model" or "dict")."""
    if shape not in (MODEL, DICT):
        raise ValueError("compile_scan needs shape 'model' or 'dict'")
    if expr is None:
        return list
    return _compile_scan(expr, shape)


@lru_cache(maxsize=512)
def _compile_scan(expr: Expr, shape: str) -> Callable[[Iterable[Any]], list[Any]]:
    return _Generator(shape).build_scan(expr)


def compile_sort_key(key: SortKey, shape: str = MODEL) -> Callable[[Any], Any]:
    """The value a record sorts by for one key (None when missing)."""
    return _compile_ranks((_sort_field(key),), shape, False)


def _sort_field(key: SortKey) -> Field:
    return key.resolved if key.resolved is not None else Field(key.path)


_TYPE_RANK = {"number": 1, "string": 2, "bool": 4, "datetime": 5}


def _typed_rank(value: Any) -> tuple[int, Any] | None:
    """Untyped values may mix types, which Python cannot order: order them by type first, as
    MongoDB does (numbers, strings, booleans, datetimes), and never raise."""
    if value is None:
        return None
    value = _enum_value(value)
    rank = _TYPE_RANK.get(_family(value) or "")
    return (rank, value) if rank is not None else (9, 0)


def _value_expression(gen: _Generator, f: Field, var: str) -> str:
    """An expression for the field's value, None when it or a container is missing."""
    expr = var
    steps = gen._steps(f)
    for i, (name, keyed) in enumerate(steps):
        if i == 0 and not gen.needs_dict(keyed):
            expr = gen.read(var, name, keyed)  # the record itself is never None
            continue
        temp = gen.temp()
        guard = f"({temp} := {expr}).__class__ is _dict" if gen.needs_dict(keyed) else f"({temp} := {expr}) is not None"
        expr = f"({gen.read(temp, name, keyed)} if {guard} else None)"
    expr = gen._normalize(f, expr)
    if f.type is None or f.type.kind is Kind.ANY:
        expr = f"_typed_rank({expr})"
    return expr


@lru_cache(maxsize=512)
def _compile_ranks(fields: tuple[Field, ...], shape: str, flagged: bool) -> Callable[[Any], Any]:
    """One generated function: the value of a single field, or (flagged) the flat tuple
    (present?, value, present?, value, ...) that orders records by every field, missing lowest."""
    gen = _Generator(shape)
    gen.namespace["_typed_rank"] = _typed_rank
    if not flagged:
        (only,) = fields
        body = _value_expression(gen, only, "r")
    else:
        parts = []
        for f in fields:
            v = gen.temp()
            parts.append(f"({v} := {_value_expression(gen, f, 'r')}) is not None, {v}")
        body = "(" + ", ".join(parts) + ",)"
    gen.functions.append(f"def _rank(r):\n    return {body}\n")
    return gen._exec()["_rank"]  # type: ignore[no-any-return]


def _shape_of(records: Sequence[Any]) -> str:
    return DICT if records and records[0].__class__ is dict else MODEL


def sort_records(records: Iterable[Any], order: Sequence[SortKey], limit: int | None = None) -> list[Any]:
    """Records in sort order, missing/null lowest (first ascending, last descending).

    With `limit`, only the first `limit` records are guaranteed (and returned).
    """
    items = list(records)
    if not order or not items:
        return items[:limit] if limit is not None else items
    shape = _shape_of(items)
    fields = tuple(_sort_field(k) for k in order)
    directions = {k.descending for k in order}
    if limit is not None and limit < len(items) // 4:
        if len(directions) == 1:
            # Every key the same way: one pass with a heap on one composite key.
            pick = heapq.nlargest if order[0].descending else heapq.nsmallest
            return pick(limit, items, key=_compile_ranks(fields, shape, True))
        items = _candidates(items, order[0].descending, _compile_ranks(fields[:1], shape, True), limit)
    # Stable sorts from the last key to the first: each pass keeps the order of the ones after it.
    for key, f in zip(reversed(order), reversed(fields)):
        getter = _compile_ranks((f,), shape, False)
        decorated = [(getter(r), r) for r in items]
        missing = [r for v, r in decorated if v is None]
        present = [(v, r) for v, r in decorated if v is not None]
        present.sort(key=_first, reverse=key.descending)
        ordered = [r for _, r in present]
        items = ordered + missing if key.descending else missing + ordered
    return items[:limit] if limit is not None else items


def _candidates(items: list[Any], descending: bool, rank: Callable[[Any], Any], limit: int) -> list[Any]:
    """The records that can reach the first `limit` places: those whose first key is at least
    as good as the limit-th best (ties at the boundary included, for the later keys to order).
    One pass and a heap, instead of sorting every match for one page."""
    ranked = list(map(rank, items))
    pick = heapq.nlargest if descending else heapq.nsmallest
    boundary = pick(limit, ranked)[-1]
    if descending:
        return [r for key, r in zip(ranked, items) if key >= boundary]
    return [r for key, r in zip(ranked, items) if key <= boundary]


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def source_of(expr: Expr | None, shape: str = MODEL) -> str:
    """The generated source of a filter, for `crudql explain` and debugging."""
    if expr is None:
        return "def _f(r):\n    return True\n"
    gen = _Generator(shape)
    gen.function("r", gen.expr(expr, "r", 0))
    return "\n".join(gen.functions)

