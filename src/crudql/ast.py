"""The filter AST: small, immutable, hashable nodes with structural equality.

Source spans are kept for error messages but take no part in equality or hashing, so the
lisp text, the JSON array form and the JSON object form of one filter parse to equal trees.

A tree straight from the parser names fields as written. A tree checked against a
`crudql.Schema` names them canonically (the model's Python names) and carries each field's
type and JSON (alias) path, so no backend resolves names again.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import inspect
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, Union

from .errors import QueryTypeError
from .fieldtypes import FieldType

__all__ = [
    "And",
    "Arg",
    "Expr",
    "Field",
    "ListValue",
    "Literal",
    "Not",
    "Now",
    "Or",
    "Predicate",
    "Quantified",
    "Scalar",
    "SortKey",
    "Span",
    "now_values",
]


@dataclass(frozen=True, slots=True)
class Now:
    """`(now)` / `(now "-7d")`: the instant a request runs at, shifted by `amount` `unit`s.

    A value of a `Literal`, resolved when the request runs (`at`), never when it is parsed:
    parsed trees, compiled predicates and SQL statements hold the `Now`, not an instant, so
    they stay valid (and cached) from one request to the next. A zero offset is `Now()`, so
    `(now)`, `(now "+0d")` and `{"now": null}` are one value.
    """

    amount: int = 0
    unit: str = "s"

    UNITS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

    def __post_init__(self) -> None:
        if self.unit not in self.UNITS:
            raise ValueError(f"unit must be one of {', '.join(self.UNITS)}, got {self.unit!r}")
        if self.amount == 0 and self.unit != "s":
            object.__setattr__(self, "unit", "s")

    @property
    def offset(self) -> _dt.timedelta:
        return _dt.timedelta(seconds=self.amount * self.UNITS[self.unit])

    @property
    def text(self) -> str | None:
        """The canonical offset (`-7d`, `+30m`), None for no offset."""
        if self.amount == 0:
            return None
        return f"{'-' if self.amount < 0 else '+'}{abs(self.amount)}{self.unit}"

    def at(self, instant: _dt.datetime) -> _dt.datetime:
        """The instant this value stands for when the request runs at `instant` (aware UTC)."""
        base = instant.replace(tzinfo=_dt.timezone.utc) if instant.tzinfo is None else instant
        try:
            return (base + self.offset).astimezone(_dt.timezone.utc)
        except OverflowError:
            raise QueryTypeError(f"(now {self.text!r}) is outside the years 1 to 9999") from None

    def __str__(self) -> str:
        return "(now)" if self.text is None else f'(now "{self.text}")'


_C = TypeVar("_C", bound=type)


def _fast_init(cls: _C, post: str = "", env: dict[str, Any] | None = None) -> _C:
    """Give a frozen, slotted dataclass an `__init__` that stores each field through its slot's
    descriptor, where the generated one calls `object.__setattr__` per field (to get past the
    frozen `__setattr__`): the same object, made in about 60% of the time, and a parse makes
    dozens of nodes. The parameters are the generated ones (checked here, at import). `post`:
    a line doing what `__post_init__` does, inline (names from `env`)."""
    generated = cls.__init__  # type: ignore[misc]
    fields = [f for f in dataclasses.fields(cls) if f.init]
    namespace: dict[str, Any] = dict(env or {})
    params = []
    for f in fields:
        if f.default_factory is not dataclasses.MISSING or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields and defaults")
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = [f"    _set_{f.name}(self, {f.name})" for f in fields]
    if post:
        body.append(f"    {post}")
    elif hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"]), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = generated.__doc__
    mine = [(p.name, p.kind, p.default) for p in inspect.signature(init).parameters.values()]
    theirs = [(p.name, p.kind, p.default) for p in inspect.signature(generated).parameters.values()]
    if mine != theirs:
        raise TypeError(f"{cls.__name__}: fast __init__ {mine} differs from the generated {theirs}")
    cls.__init__ = init  # type: ignore[misc]
    return cls


class _Node:
    """Base of the tree's nodes: the slot each keeps its hash in once computed. One checked tree
    keys several caches (statements, cursor bindings) request after request, and hashing it
    anew walks every node: tens of microseconds for a filter of a few clauses. Not a dataclass
    field, so equality, `dataclasses.fields`, pickling and copies leave it out."""

    __slots__ = ("_hash",)


_set_hash = _Node.__dict__["_hash"].__set__


def _hash_once(cls: _C) -> _C:
    """Replace a frozen dataclass's generated `__hash__` (the hash of the tuple of its compared
    fields, computed on every call) by one that computes that same hash once per node."""
    names = tuple(f.name for f in dataclasses.fields(cls) if (f.compare if f.hash is None else f.hash))
    values = operator.attrgetter(*names)
    single = len(names) == 1

    def __hash__(self: Any) -> int:
        try:
            return self._hash  # type: ignore[no-any-return]
        except AttributeError:
            found = hash((values(self),) if single else values(self))
            _set_hash(self, found)
            return found

    __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
    cls.__hash__ = __hash__  # type: ignore[assignment]
    return cls


Scalar = Union[None, bool, int, float, Decimal, str, _dt.datetime, _dt.date, Now]


@_fast_init
@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range [start, end) in the query text."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return max(1, self.end - self.start)


def _span() -> Span | None:
    return dataclasses.field(default=None, compare=False, hash=False, repr=False)  # type: ignore[no-any-return]


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class Field(_Node):
    """A field path. `path` is a tuple of segments: ("info", "companyName").

    After checking, `path` holds the canonical (Python) names, `json_path` the alias names
    used in JSON documents, `type` the field's `FieldType`, and `keyed` how each segment is
    reached (attribute or key).
    """

    path: tuple[str, ...]
    span: Span | None = _span()
    type: FieldType | None = None
    json_path: tuple[str, ...] | None = None
    # Per segment: True where it is a key of a map (or of an untyped value) rather than a
    # model attribute. Part of equality: compiled forms are cached by tree, and two models may
    # reach the same path one through attributes and the other through keys.
    keyed: tuple[bool, ...] | None = dataclasses.field(default=None, repr=False)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        return self.dotted


_TAGS: dict[type, str] = {
    type(None): "null",
    bool: "bool",
    int: "int",
    float: "float",
    Decimal: "decimal",
    str: "string",
    _dt.datetime: "datetime",
    _dt.date: "date",
    Now: "now",
}


def _type_tag(value: object) -> str:
    tag = _TAGS.get(type(value))
    if tag is not None:
        return tag
    # Subclasses (enums, str subclasses): bool before int, datetime before date.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, _dt.date):
        return "date"
    if isinstance(value, Now):
        return "now"
    raise TypeError(f"not a crudql literal: {value!r}")


@dataclass(frozen=True, slots=True)
class Literal(_Node):
    """A scalar value. `tag` keeps `true`, `1` and `1.0` apart, which Python's `==` would not.
    A `Now` value (tag "now") is an instant resolved when the request runs."""

    value: Scalar
    span: Span | None = _span()
    tag: str = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        _set_tag(self, _TAGS.get(type(self.value)) or _type_tag(self.value))


_set_tag = Literal.__dict__["tag"].__set__
_hash_once(
    _fast_init(
        Literal,
        post="_set_tag(self, _TAGS.get(type(value)) or _type_tag(value))",
        env={"_set_tag": _set_tag, "_TAGS": _TAGS, "_type_tag": _type_tag},
    )
)


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class ListValue(_Node):
    """A list of literals, the argument of `in`, `nin`, `has-any`, `has-all`."""

    items: tuple[Literal, ...]
    span: Span | None = _span()

    @property
    def values(self) -> tuple[Scalar, ...]:
        return tuple(item.value for item in self.items)


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class And(_Node):
    children: tuple[Expr, ...]
    span: Span | None = _span()


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class Or(_Node):
    children: tuple[Expr, ...]
    span: Span | None = _span()


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class Not(_Node):
    child: Expr
    span: Span | None = _span()


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class Predicate(_Node):
    """A field test: `op` is the canonical operator name of `crudql.operators`."""

    op: str
    field: Field
    args: tuple[Literal | ListValue, ...] = ()
    span: Span | None = _span()


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class Quantified(_Node):
    """`any` / `all` over an array of objects; fields in `condition` are element-relative."""

    op: str
    field: Field
    condition: Expr
    span: Span | None = _span()


Expr = Union[And, Or, Not, Predicate, Quantified]
Arg = Union[Expr, Field, Literal, ListValue]


@_hash_once
@_fast_init
@dataclass(frozen=True, slots=True)
class SortKey(_Node):
    """One sort key. `field` is the dotted path (canonical when checked against a schema);
    `resolved` carries the checked `Field` for backends and takes no part in equality."""

    field: str
    descending: bool = False
    resolved: Field | None = dataclasses.field(default=None, compare=False, repr=False)
    span: Span | None = _span()

    @property
    def path(self) -> tuple[str, ...]:
        return self.resolved.path if self.resolved is not None else tuple(self.field.split("."))


def now_values(expr: Expr | None) -> tuple[Now, ...]:
    """The distinct `Now` values of a tree, in order of appearance (an iterative walk)."""
    found: dict[Now, None] = {}
    for lit in _literals(expr):
        if type(lit.value) is Now:
            found[lit.value] = None
    return tuple(found)


def _literals(expr: Expr | None) -> Iterator[Literal]:
    stack: list[object] = [] if expr is None else [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (And, Or)):
            stack.extend(reversed(node.children))
        elif isinstance(node, Not):
            stack.append(node.child)
        elif isinstance(node, Quantified):
            stack.append(node.condition)
        elif isinstance(node, Predicate):
            for arg in node.args:
                yield from arg.items if isinstance(arg, ListValue) else (arg,)
