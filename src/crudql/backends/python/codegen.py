"""Generated Python source for reading fields of records: the Python backend's shared part.

Records are model instances (attributes by Python name) or JSON dicts in alias shape. A
filter or a sort key compiles once into a Python function (generated source, `compile()`d),
so evaluating it costs about what the same code written by hand costs.

`now`: a filter with `(now ...)` values compiles to a factory, `_bind(_now)`, which resolves
each of them once (`_n0 = _resolve(_c0, _now)`) and returns the predicate, a closure over the
resolved instants. The factory is what is cached; binding it per request costs a function call,
so the generated code is reused however the instant changes.

Safety: no client text ever enters the source. Literal values, dict keys and JSON names are
bound through the function's namespace as constants (`_c0`, `_c1`, ...); the only names
written into the source are our own temporaries and model attribute names, which come from the
schema and are checked to be plain ASCII identifiers.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from itertools import count
from typing import Any

from ...ast import Field
from ...fieldtypes import Kind
from . import values

__all__ = ["DICT", "MODEL", "SHAPES", "Codegen"]

MODEL = "model"
DICT = "dict"
SHAPES = ("auto", MODEL, DICT)


def _plain_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") and name.isascii()


class Codegen:
    """The namespace and functions of one generated module, and field access in it."""

    def __init__(self, shape: str) -> None:
        self.shape = shape
        self.namespace: dict[str, Any] = {
            "_instant": values.instant,
            "_date": values.date,
            "_uuid": values.uuid_text,
            "_decimal": values.decimal,
            "_enum": values.enum_value,
            "_same": values.same,
            "_order_any": values.order_any,
            "_typed_rank": values.typed_rank,
            "_resolve": values.resolve_now,
            "_dict": dict,
            "_list": list,
            "__builtins__": {
                "any": any,
                "all": all,
                "map": map,
                "isinstance": isinstance,
                "str": str,
                "getattr": getattr,
            },
        }
        self.functions: list[str] = []
        self.late: list[str] = []  # assignments of the values `now` resolves to, per binding
        self._ids = count()

    def const(self, value: Any) -> str:
        name = f"_c{next(self._ids)}"
        self.namespace[name] = value
        if values.holds_now(value):
            # Not a constant: a name the factory binds per request (see the module's docstring).
            late = f"_n{next(self._ids)}"
            self.late.append(f"{late} = _resolve({name}, _now)")
            return late
        return name

    def temp(self) -> str:
        return f"_t{next(self._ids)}"

    def function(self, var: str, body: str) -> str:
        name = f"_f{next(self._ids)}"
        self.functions.append(f"def {name}({var}):\n    return {body}\n")
        return name

    def source(self, name: str = "") -> str:
        """The generated source; with values that `now` resolves, the factory returning `name`."""
        if not self.late:
            return "\n".join(self.functions)
        body = [*self.late, *(line for f in self.functions for line in f.rstrip("\n").split("\n")), f"return {name}"]
        return "def _bind(_now):\n" + "".join(f"    {line}\n" for line in body)

    def load(self, name: str) -> Callable[..., Any]:
        """Compile the functions written so far and return the one named `name`."""
        exec(compile(self.source(), "<crudql filter>", "exec"), self.namespace)
        return self.namespace[name]  # type: ignore[no-any-return]

    def load_bound(self, name: str) -> Callable[[Any], Callable[..., Any]]:
        """A factory: the instant a request runs at -> the function named `name`, with the
        values of `now` resolved. Without `now` values the function is compiled once and the
        factory returns it whatever the instant."""
        if not self.late:
            function = self.load(name)
            return lambda now: function
        exec(compile(self.source(name), "<crudql filter>", "exec"), self.namespace)
        return self.namespace["_bind"]  # type: ignore[no-any-return]

    # -------------------------------------------------------------- field access

    def steps(self, f: Field) -> list[tuple[str, bool]]:
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

    def normalize(self, f: Field, read: str) -> str:
        """The value as it compares with literals (instants, dates)."""
        kind = f.type.kind if f.type is not None else Kind.ANY
        if kind is Kind.DATETIME:
            return f"_instant({read})"
        if kind is Kind.DATE:
            return f"_date({read})"
        if kind is Kind.UUID:
            return f"_uuid({read})"
        if kind is Kind.DECIMAL:
            return f"_decimal({read})"
        return read

    def guarded(self, f: Field, var: str, test: Callable[[str], str]) -> str:
        """`test(value)` on the field's value; false when the value or any container on the
        way is missing, null or of the wrong shape. Flat `and` chains: no nesting per segment."""
        steps = self.steps(f)
        parts = []
        if self.needs_dict(steps[0][1]) and var != "r":
            # Array elements may be null in JSON; the record itself is known to be a dict.
            parts.append(f"{var}.__class__ is _dict")
        container = var
        for i, (name, keyed) in enumerate(steps):
            read = self.read(container, name, keyed)
            temp = self.temp()
            if i == len(steps) - 1:
                parts.append(f"({temp} := {self.normalize(f, read)}) is not None")
                check = test(temp)
                if check:
                    parts.append(check)
            elif self.needs_dict(steps[i + 1][1]):
                parts.append(f"({temp} := {read}).__class__ is _dict")
            else:
                parts.append(f"({temp} := {read}) is not None")
            container = temp
        return "(" + " and ".join(parts) + ")"

    def value_expression(self, f: Field, var: str) -> str:
        """An expression for the field's value, None when it or a container is missing;
        untyped values as `(type rank, value)` so that mixed types order without raising."""
        expr = var
        for i, (name, keyed) in enumerate(self.steps(f)):
            if i == 0 and not self.needs_dict(keyed):
                expr = self.read(var, name, keyed)  # the record itself is never None
                continue
            temp = self.temp()
            guard = (
                f"({temp} := {expr}).__class__ is _dict"
                if self.needs_dict(keyed)
                else f"({temp} := {expr}) is not None"
            )
            expr = f"({self.read(temp, name, keyed)} if {guard} else None)"
        expr = self.normalize(f, expr)
        if f.type is None or f.type.kind is Kind.ANY:
            expr = f"_typed_rank({expr})"
        return expr
