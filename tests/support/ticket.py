"""A second model for the cross-backend tests, written the way users write models, with the
traps of docs/spec/SERVICE.md §1: defaults (a list, two enums, a nested model, fields of array
elements), UUID and Decimal, an IntEnum, an untyped `dict[str, Any]` holding nested objects,
arrays of scalars and arrays of objects, a non-ASCII field name and a non-ASCII alias, and a
hidden field. `TICKETS` are hand-written records that hit each trap.

    from support.ticket import TICKETS, Ticket  # tests/ is on pythonpath
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ALL_TICKETS",
    "DEEP_PATH",
    "REFS",
    "TICKETS",
    "Customer",
    "Line",
    "Priority",
    "Status",
    "Ticket",
    "deep_extra",
]


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 10  # 10 < 2 as text, 10 > 2 as a number: ordering must be numeric everywhere


class Status(str, enum.Enum):
    OPEN = "OPEN"
    PENDING = "PENDING"
    CLOSED = "CLOSED"


class Line(BaseModel):
    """An element of a typed array of objects: its own defaults hold inside `any`."""

    sku: str
    qty: int = 1
    price: Decimal | None = None


class Customer(BaseModel):
    """A nested model with a default of its own (`tier`), and a None default (`name`)."""

    model_config = ConfigDict(populate_by_name=True)

    name: str | None = None
    tier: str = "free"
    vip_since: dt.datetime | None = Field(default=None, alias="vipSince")


class Ticket(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    tenant_id: int = Field(alias="tenantId")
    ref: uuid.UUID | None = None
    amount: Decimal | None = None
    priority: Priority = Priority.NORMAL
    status: Status = Status.OPEN
    labels: list[str] = []
    extra: dict[str, Any] = {}
    café: str | None = None
    note: str | None = Field(default=None, alias="naïveNote")
    secret: str | None = Field(default=None, exclude=True)
    opened_at: dt.datetime | None = Field(default=None, alias="openedAt")
    customer: Customer = Field(default_factory=Customer)
    lines: list[Line] = []


# Literals are canonical lowercase text; records give them in upper case too.
REFS = (
    "123e4567-e89b-12d3-a456-426614174000",
    "00000000-0000-0000-0000-00000000000a",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "a0000000-0000-0000-0000-000000000000",
)

# A path of 16 segments below `extra` (the limit): extra.deep.k2...k15.
DEEP_PATH = "extra." + ".".join(["deep", *(f"k{i}" for i in range(2, 16))])


def deep_extra(leaf: Any) -> dict[str, Any]:
    """The `extra` value whose DEEP_PATH holds `leaf`."""
    node: Any = leaf
    for key in reversed(DEEP_PATH.split(".")[1:]):
        node = {key: node}
    return node  # type: ignore[no-any-return]


TICKETS: list[dict[str, Any]] = [
    {
        # Everything set, by alias; the UUID in upper case; a secret that must stay hidden.
        "id": "t01",
        "tenantId": 1,
        "ref": REFS[0].upper(),
        "amount": "12.5",
        "priority": 3,
        "status": "CLOSED",
        "labels": ["billing", "vip"],
        "extra": {
            "source": "email",
            "score": 7,
            "list": ["x", "y"],
            "objs": [{"k": "v"}, {"k": "w"}],
            "nested": {"a": {"b": "c"}},
            **deep_extra("bottom"),
        },
        "café": "crème",
        "naïveNote": "first",
        "secret": "s3cr3t-aaa",
        "openedAt": "2024-01-31T12:00:00.5Z",
        "customer": {"name": "Zoë", "tier": "gold", "vipSince": "2023-06-01"},
        "lines": [{"sku": "A-1", "qty": 2, "price": "0.25"}, {"sku": "B-2"}],
    },
    {
        # Nothing but the required fields: every default holds (priority, status, labels,
        # extra, customer.tier, lines) and every None default stays absent.
        "id": "t02",
        "tenantId": 1,
    },
    {
        # Explicit nulls and empties, by Python name.
        "id": "t03",
        "tenant_id": 2,
        "ref": None,
        "amount": None,
        "labels": [],
        "extra": {"list": [], "objs": [], "score": None},
        "café": None,
        "note": None,
        "opened_at": None,
        "customer": {"name": None},
        "lines": [],
    },
    {
        "id": "t04",
        "tenantId": 2,
        "ref": REFS[1].upper().replace("-", ""),  # hex without hyphens
        "amount": 0.1,
        "priority": 10,
        "status": "PENDING",
        "labels": ["billing"],
        "extra": {"source": "web", "score": 7.0, "list": "x", "objs": {"k": "v"}, "nested": {"a": "b"}, **deep_extra(5)},
        "café": "café",
        "openedAt": "2024-01-31T14:00:00+02:00",  # the same instant as t01's, without the .5
        "customer": {"name": "Ann"},
        "lines": [{"sku": "A-1", "price": 100.0}],
        "secret": "s3cr3t-bbb",
    },
    {
        "id": "t05",
        "tenantId": 3,
        "ref": REFS[2],
        "amount": "100.0",
        "priority": 1,
        "labels": ["Billing", "urgent"],
        "extra": {"source": "Email", "score": "7", "list": [["x"]], "objs": [{"k": ["v"]}], "flag": True},
        "naïveNote": "dernière",
        "openedAt": "2023-12-31T23:59:59.999Z",
        "customer": {"tier": "free", "vipSince": "2024-02-29T00:00:00Z"},
        "lines": [{"sku": "C-3", "qty": 5, "price": "12.5"}, {"sku": "A-1", "qty": 1}],
    },
    {
        "id": "T06",
        "tenantId": 3,
        "ref": REFS[3].upper(),
        "amount": "0.25",
        "priority": 2,
        "status": "OPEN",
        "labels": ["vip"],
        "extra": {"source": None, "score": 12.5, "nested": {"a": {"b": "C"}}, **deep_extra("Bottom")},
        "café": "",
        "openedAt": "2024-02-29",
        "customer": {"name": "zoë", "tier": "silver"},
    },
    {
        "id": "t07",
        "tenantId": 1,
        "amount": "-0.25",
        "priority": 3,
        "labels": ["billing", "billing"],
        "extra": {"objs": [{"k": "v", "n": 1}, None, 3], "list": ["y", None]},
        "note": None,
        "customer": {"name": "Ann", "tier": "gold"},
        "lines": [{"sku": "B-2", "qty": 0}],
    },
]
ALL_TICKETS = frozenset(t["id"] for t in TICKETS)
