"""Which HTTP status an exception becomes (docs/spec/SERVICE.md §5), for any web framework.

- a client mistake (`QueryError`, except a timeout) is 400 with the message and caret excerpt;
- a query cancelled by the source's timeout, or a database that cannot be reached, is 503
  with `Retry-After`: the request was fine and may succeed later;
- anything else is 500 with a generic body, logged here with its traceback: a server bug must
  not reach the client as a traceback, SQL text or a driver's message (which may name hosts).

Every body is a JSON string, as the reference endpoint's 400 and 500 are. Driver exceptions are
recognised through the modules already imported (`sys.modules`), so this module imports no
driver and a service without SQLAlchemy or pymongo pays nothing for them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field

from ..errors import QueryError, QueryTimeoutError

__all__ = ["RETRY_AFTER_SECONDS", "ErrorReply", "error_reply", "is_unavailable"]

logger = logging.getLogger("crudql.http")

# How long a client should wait before retrying a 503. A timed-out query or a database that
# is restarting is rarely fixed sooner; a load balancer's retry loop must not hammer it.
RETRY_AFTER_SECONDS = 5

UNAVAILABLE = "the database is unavailable; try again later"
INTERNAL = "internal server error"

# Exception classes, by module, that mean "the database could not be reached or dropped the
# connection": the request may succeed once it is back.
_UNAVAILABLE_CLASSES: dict[str, tuple[str, ...]] = {
    # TimeoutError here is the connection pool's "no connection free within pool_timeout".
    "sqlalchemy.exc": ("OperationalError", "DisconnectionError", "TimeoutError"),
    # ConnectionFailure covers AutoReconnect, NetworkTimeout and ServerSelectionTimeoutError;
    # ExecutionTimeout is the server's max_time_ms.
    "pymongo.errors": ("ConnectionFailure", "ExecutionTimeout"),
}


@dataclass(frozen=True)
class ErrorReply:
    """What to answer for an exception: the status, a JSON string body and extra headers."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def is_unavailable(exc: BaseException) -> bool:
    """True for an exception that means the database is down, unreachable or dropped the
    connection (including a SQLAlchemy error that invalidated its connection)."""
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True
    if getattr(exc, "connection_invalidated", False) is True:  # sqlalchemy.exc.DBAPIError
        return True
    for module_name, names in _UNAVAILABLE_CLASSES.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue  # never imported: no exception of it can exist
        classes = tuple(c for c in (getattr(module, n, None) for n in names) if isinstance(c, type))
        if classes and isinstance(exc, classes):
            return True
    return False


def error_reply(exc: Exception, where: str = "request") -> ErrorReply:
    """The reply for an exception raised while answering a request (`where` names the route
    in the server's log)."""
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if isinstance(exc, QueryTimeoutError):
        logger.warning("crudql %s: query timed out: %s", where, exc.message)
        return ErrorReply(503, str(exc), retry)
    if isinstance(exc, QueryError):
        return ErrorReply(400, str(exc))
    if is_unavailable(exc):
        # The driver's text can name hosts and users: log it, do not send it.
        logger.warning("crudql %s: database unavailable: %s: %s", where, type(exc).__name__, exc)
        return ErrorReply(503, UNAVAILABLE, retry)
    logger.error("crudql %s: unexpected error", where, exc_info=exc)
    return ErrorReply(500, INTERNAL)
