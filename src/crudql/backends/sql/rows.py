"""Models from the raw rows of crudql's own tables (`SQLSource.from_records`).

A row is one value per column; a JSON column holds JSON text. The plain way to a model decodes
that text to dicts and lists, then validates those: the document is walked twice and every
object of the first walk is thrown away. Where a JSON column holds a nested model (`info:
ContactInfo | None`), the nested model's own validator reads the text in one pass (pydantic-core
in JSON mode), and the parent takes the instance as it is: about a tenth less time per Contact
and fewer objects for the garbage collector (docs/sql.md, "Performance").

That is the same model only where JSON mode reads what Python mode reads, so the one pass is
taken only for a nested model whose schema holds nothing that could tell the two apart or see
the instance instead of a dict (`reads_alike`): no validator before, around or instead of
pydantic's (after-validators without `info` see the same values), no strict mode, no custom `__init__`, no
bytes, unions or decimals, nothing revalidated. A row the one pass refuses (invalid or
unusual data) is built the plain way, so it fails, or not, exactly as it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from .storage import decode_json

__all__ = ["RowReader", "reads_alike"]

# Schema nodes that read JSON as they read the Python values `json.loads` makes (lax mode).
_ALIKE = frozenset(
    {
        "any",
        "bool",
        "date",
        "datetime",
        "default",
        "definition-ref",
        "dict",
        "enum",
        "float",
        "function-after",
        "int",
        "list",
        "literal",
        "model",
        "model-field",
        "model-fields",
        "none",
        "nullable",
        "str",
        "time",
        "timedelta",
        "uuid",
    }
)
# The keys under which a node of `_ALIKE` holds the schemas it validates with.
_CHILDREN = ("schema", "items_schema", "keys_schema", "values_schema", "extras_schema")
_Readers = tuple[tuple[str, Callable[[Any], Any] | None], ...]


class RowReader:
    """Builds the model of each raw row; `columns`: each column's alias and whether it holds
    JSON text."""

    __slots__ = ("_plain", "_readers", "_validate", "one_pass")

    def __init__(
        self,
        model: type[BaseModel],
        columns: Sequence[tuple[str, bool]],
        validate: Callable[[Any], Any],
        *,
        nested: bool = True,
    ) -> None:
        """`validate`: how a record's dict becomes the model; `nested=False` (a model with a
        `model_validate` of its own, say) reads every column the plain way."""
        self._validate = validate
        models = _nested_models(model) if nested else {}
        # Per column: its alias and what reads its value (None: the value as it is).
        self._plain: _Readers = tuple((alias, decode_json if is_json else None) for alias, is_json in columns)
        # The aliases of the JSON columns read in one pass.
        self.one_pass = tuple(alias for alias, is_json in columns if is_json and alias in models)
        readers = tuple(
            (alias, models[alias].__pydantic_validator__.validate_json if alias in self.one_pass else read)
            for alias, read in self._plain
        )
        self._readers = readers if self.one_pass else None

    def records(self, rows: list[Any]) -> list[Any]:
        """Models of raw rows; each row is dropped once its model is built, so a page holds one
        copy of its records at a time (and the collector has that much less to walk)."""
        record = self.record
        models = []
        for i, row in enumerate(rows):
            rows[i] = None
            models.append(record(row))
        return models

    def record(self, row: Sequence[Any]) -> Any:
        """The model of one row. A NULL column is an absent field (SQL has one NULL for
        "missing" and "null")."""
        if self._readers is not None:
            try:
                return self._validate(_fields(self._readers, row))
            except (ValidationError, ValueError, TypeError):
                pass  # the plain way says what is wrong, as it always has
        return self._validate(_fields(self._plain, row))


def _fields(readers: _Readers, row: Sequence[Any]) -> dict[str, Any]:
    data = {}
    for (alias, read), value in zip(readers, row):
        if value is None:
            continue
        if read is None:
            data[alias] = value
        elif isinstance(value, (str, bytes)):
            data[alias] = read(value)
        else:
            data[alias] = value  # decoded by the driver already
    return data


def _nested_models(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The fields (by alias) whose value the parent takes as a ready instance of a nested model
    that `reads_alike`, for a parent whose validation nothing but pydantic's sees."""
    schema = model.__pydantic_core_schema__
    definitions = _definitions(schema, {})
    root = _resolve(schema, definitions)
    while root.get("type") == "function-after":  # model validators (after): they see the model
        root = _resolve(root["schema"], definitions)
    if root.get("type") != "model" or root.get("cls") is not model or not _plain_model(root):
        return {}
    fields = _resolve(root["schema"], definitions)
    if fields.get("type") != "model-fields":
        return {}
    found: dict[str, type[BaseModel]] = {}
    for name, field in fields["fields"].items():
        inner = _resolve(field["schema"], definitions)
        if inner.get("type") == "default":
            inner = _resolve(inner["schema"], definitions)
        if inner.get("type") == "nullable":
            inner = _resolve(inner["schema"], definitions)
        cls = inner.get("cls")
        if inner.get("type") == "model" and isinstance(cls, type) and _plain_model(inner) and reads_alike(cls):
            alias = field.get("validation_alias")
            found[alias if isinstance(alias, str) else name] = cls
    return found


def reads_alike(model: type[BaseModel]) -> bool:
    """Whether the model's validator reads JSON text into the same instance as it reads the
    Python values `json.loads` makes of it (see the module docstring)."""
    schema = model.__pydantic_core_schema__
    definitions = _definitions(schema, {})
    seen: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            return False
        kind = node.get("type")
        if kind == "definitions":
            stack.append(node["schema"])
            continue
        if kind == "definition-ref":
            ref = node.get("schema_ref")
            if ref not in seen:
                if ref not in definitions:
                    return False
                seen.add(ref)
                stack.append(definitions[ref])
            continue
        if kind not in _ALIKE or node.get("strict") or (kind == "model" and not _plain_model(node)):
            return False
        if kind == "function-after" and (node.get("function") or {}).get("type") != "no-info":
            return False  # a validator given `info` could read `info.mode`, which would be "json"
        if kind == "model-fields":
            stack.extend(field for field in node["fields"].values())
        stack.extend(node[key] for key in _CHILDREN if node.get(key) is not None)
    return True


def _plain_model(node: Mapping[str, Any]) -> bool:
    config = node.get("config") or {}
    return (
        not node.get("custom_init")
        and not node.get("root_model")
        and not config.get("strict")
        and config.get("revalidate_instances", "never") == "never"
    )


def _definitions(schema: Mapping[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "definitions":
        for definition in schema.get("definitions", ()):
            if isinstance(definition, Mapping) and "ref" in definition:
                found[definition["ref"]] = definition
    return found


def _resolve(node: Any, definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(node, Mapping) and node.get("type") == "definitions":
        node = node["schema"]
    if isinstance(node, Mapping) and node.get("type") == "definition-ref":
        node = definitions.get(node.get("schema_ref", ""), {})
    return node if isinstance(node, Mapping) else {}
