"""A helpdesk service that serves its own tickets with crudql: one pydantic model, its data in
SQLite, one query route scoped by an integer tenant id, and a health check.

    pip install -e '.[http]'
    python examples/fastapi_app/app.py                  # or: uvicorn examples.fastapi_app.app:app --port 8001
    curl 'http://127.0.0.1:8001/tenants/1/tickets?q=(= status "open")&s=-priority'
"""

import datetime as dt
import enum
import os

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel

import crudql
from crudql.integrations.fastapi import add_health_route, add_query_route


class Status(str, enum.Enum):
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


class Ticket(BaseModel):
    id: int
    tenant_id: int
    title: str
    status: Status
    priority: int  # 1 (urgent) .. 5
    tags: list[str]
    opened_at: dt.datetime


def _ticket(id: int, tenant: int, title: str, status: str, priority: int, tags: list[str], day: int) -> Ticket:
    opened = dt.datetime(2025, 3, day, 9, 30, tzinfo=dt.timezone.utc)
    return Ticket(
        id=id, tenant_id=tenant, title=title, status=Status(status), priority=priority, tags=tags, opened_at=opened
    )


TICKETS = [
    _ticket(1, 1, "Login page times out", "open", 1, ["web", "auth"], 1),
    _ticket(2, 1, "Export to CSV drops accents", "pending", 3, ["export"], 2),
    _ticket(3, 1, "Invoice PDF has the wrong VAT", "open", 2, ["billing"], 3),
    _ticket(4, 1, "Dark mode contrast", "closed", 5, ["web"], 4),
    _ticket(5, 2, "SSO with Okta fails", "open", 1, ["auth"], 2),
    _ticket(6, 2, "Webhook retries twice", "open", 4, ["api"], 5),
]

# An in-memory SQLite database shared by every worker thread: one connection (StaticPool).
engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False})
source = crudql.sources.SQL.from_records(engine, TICKETS, model=Ticket)

app = FastAPI(title="Helpdesk")
add_query_route(app, "/tenants/{tenant_id}/tickets", source, scope_field="tenant_id", summary="query tickets")
add_health_route(app, source)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8001")))
