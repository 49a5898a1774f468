"""Models from raw rows (`crudql.backends.sql.rows`): a nested model read from its JSON text in
one pass is the model the plain way builds (values and the fields the input set), only for
models whose validation cannot tell the two apart, and a row the one pass refuses is built, or
refused, the plain way."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from hypothesis import given
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crudql.backends.sql.rows import RowReader, reads_alike
from crudql.models import Contact
from crudql.models.contact import ContactInfo
from crudql.records import dump
from support.strategies import contact

ALIASES = [(info.alias or name) for name, info in Contact.model_fields.items()]
JSON_COLUMNS = {"info", "tags"}


def _readers(model: type[BaseModel], aliases: list[str], json_columns: set[str]) -> tuple[RowReader, RowReader]:
    columns = [(alias, alias in json_columns) for alias in aliases]
    validate = model.__pydantic_validator__.validate_python
    return RowReader(model, columns, validate), RowReader(model, columns, validate, nested=False)


def _row(record: dict[str, Any], aliases: list[str], json_columns: set[str]) -> tuple[Any, ...]:
    """A record as a row of crudql's own table: NULL for absent, JSON text for JSON columns."""
    return tuple(
        None if record.get(a) is None else json.dumps(record[a]) if a in json_columns else record[a] for a in aliases
    )


ONE_PASS, PLAIN = _readers(Contact, ALIASES, JSON_COLUMNS)


def test_contact_info_is_read_in_one_pass() -> None:
    assert ONE_PASS.one_pass == ("info",) and PLAIN.one_pass == ()
    assert reads_alike(ContactInfo)


@given(contact())
def test_one_pass_builds_the_plain_model(record: dict[str, Any]) -> None:
    row = _row(Contact.model_validate(record).model_dump(mode="json", by_alias=True, exclude_unset=True), ALIASES, JSON_COLUMNS)
    fast, plain = ONE_PASS.record(row), PLAIN.record(row)
    assert fast == plain
    assert dump(fast, "json") == dump(plain, "json")  # the fields the input set, at every level
    assert fast.info is None or fast.info.model_fields_set == plain.info.model_fields_set


def test_records_drop_each_row_once_read() -> None:
    rows = [_row({"id": f"c{i}", "info": {"companyName": "Acme"}}, ALIASES, JSON_COLUMNS) for i in range(3)]
    models = ONE_PASS.records(rows)
    assert [m.id for m in models] == ["c0", "c1", "c2"] and rows == [None, None, None]
    assert models[0].info is not None and models[0].info.company_name == "Acme"


def test_values_a_driver_decoded_are_taken_as_they_are() -> None:
    row = _row({"id": "c1"}, ALIASES, JSON_COLUMNS)
    decoded = tuple({"companyName": "Acme"} if a == "info" else ["x"] if a == "tags" else v for a, v in zip(ALIASES, row))
    assert ONE_PASS.record(decoded) == PLAIN.record(decoded) == Contact.model_validate({"id": "c1", "info": {"companyName": "Acme"}, "tags": ["x"]})


def test_what_the_one_pass_refuses_is_built_the_plain_way() -> None:
    # A lone surrogate escape: pydantic-core's JSON refuses it, json.loads (the plain way) reads it.
    row = tuple('{"companyName": "\\ud800"}' if a == "info" else "c1" if a == "id" else None for a in ALIASES)
    assert ONE_PASS.record(row).info.company_name == "\ud800" == PLAIN.record(row).info.company_name


@pytest.mark.parametrize(
    "info",
    [
        '{"companyName": "a", "companyName": "b", "cosellPartnerMetrics": {"accountCount": 1, "accountCount": 2}}',
        '{"company_name": "by name", "companyName": "by alias"}',
        '{"partner": "AWS", "cosellPartnerMetrics": {"successRate": 1e400, "accountCount": 3.0, "pipeline": {"USD": 12345678901234567890}}}',
        '{"enrichedContactInfo": {"creationTime": "2026-01-01T10:00:00+02:00", "info": {"workExperiences": [{"current": "true"}]}}}',
        '{"unknown": [1, {"x": null}], "role": ""}',
    ],
)
def test_edge_documents_read_alike(info: str) -> None:
    row = tuple(info if a == "info" else "c1" if a == "id" else None for a in ALIASES)
    fast, plain = ONE_PASS.record(row), PLAIN.record(row)
    assert fast == plain and dump(fast, "json") == dump(plain, "json")


@pytest.mark.parametrize(
    "info",
    ['{"companyName": 5}', '{"partner": "NOPE"}', '{"cosellPartnerMetrics": []}', "{", '{"a": 1} trailing', "[]"],
)
def test_bad_rows_fail_as_they_did(info: str) -> None:
    row = tuple(info if a == "info" else "c1" if a == "id" else None for a in ALIASES)
    with pytest.raises(ValueError) as plain:
        PLAIN.record(row)
    with pytest.raises(ValueError) as fast:
        ONE_PASS.record(row)
    assert type(fast.value) is type(plain.value) and str(fast.value) == str(plain.value)
    if isinstance(plain.value, ValidationError):
        assert fast.value.errors() == plain.value.errors()


# ----------------------------------------------------------------------------- which models


class Plain(BaseModel):
    name: str | None = None
    count: int = 0
    tags: list[str] | None = None


class Strict(BaseModel):
    model_config = ConfigDict(strict=True)
    name: str | None = None


class StrictField(BaseModel):
    count: int = Field(default=0, strict=True)


class Before(BaseModel):
    name: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return value


class Revalidated(BaseModel):
    model_config = ConfigDict(revalidate_instances="always")
    name: str | None = None


class Bytes(BaseModel):
    data: bytes | None = None


class Either(BaseModel):
    value: int | str | None = None


class OwnInit(BaseModel):
    name: str | None = None

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)


class AfterWithInfo(BaseModel):
    name: str | None = None

    @field_validator("name", mode="after")
    @classmethod
    def _name(cls, value: Any, info: ValidationInfo) -> Any:
        return f"{value} ({info.mode})"  # would read "json" in one pass


class AfterWithoutInfo(BaseModel):
    name: Annotated[str | None, AfterValidator(lambda v: v)] = None


class Tree(BaseModel):
    name: str | None = None
    children: list[Tree] | None = None


@pytest.mark.parametrize(
    ("model", "alike"),
    [
        (Plain, True),
        (Tree, True),
        (Strict, False),
        (StrictField, False),
        (Before, False),
        (Revalidated, False),
        (Bytes, False),
        (Either, False),
        (OwnInit, False),
        (AfterWithInfo, False),
        (AfterWithoutInfo, True),
    ],
)
def test_reads_alike(model: type[BaseModel], alike: bool) -> None:
    assert reads_alike(model) is alike


def _parent(nested: Any, **validators: Any) -> type[BaseModel]:
    namespace: dict[str, Any] = {"__annotations__": {"id": str, "doc": nested | None}, "doc": None, **validators}
    return type("Parent", (BaseModel,), namespace)


def _before_doc(cls: Any, value: Any) -> Any:
    assert isinstance(value, dict), "a validator of the parent sees the dict"
    return value


def _before_model(cls: Any, data: Any) -> Any:
    assert isinstance(data["doc"], dict), "a validator of the parent sees the dict"
    return data


@pytest.mark.parametrize(
    ("parent", "one_pass"),
    [
        (_parent(Plain), ("doc",)),
        (_parent(Tree), ("doc",)),
        (_parent(Strict), ()),
        (_parent(Plain, _doc=field_validator("doc", mode="before")(classmethod(_before_doc))), ()),
        (_parent(Plain, _all=model_validator(mode="before")(classmethod(_before_model))), ()),
        (_parent(Plain, _after=model_validator(mode="after")(lambda self: self)), ("doc",)),
    ],
)
def test_which_columns_are_read_in_one_pass(parent: type[BaseModel], one_pass: tuple[str, ...]) -> None:
    fast, plain = _readers(parent, ["id", "doc"], {"doc"})
    assert fast.one_pass == one_pass
    row = ("p1", '{"name": "x", "children": [{"name": "y"}]}' if "Tree" in str(parent.model_fields["doc"].annotation) else '{"name": "x"}')
    assert fast.record(row) == plain.record(row)
