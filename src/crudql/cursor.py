"""Keyset cursors: opaque, URL-safe, signed tokens that say "the page after this item".

A cursor holds the number of the page it came from and the values of that page's last item
under the sort keys (`sort_values`), and is signed with HMAC-SHA256 (truncated to 128 bits)
over those and over what it is bound to (`binding`): the checked filter, as its canonical lisp
text (so the lisp and JSON forms of one filter share cursors; a server `scope` is part of the
filter), the effective sort and the page size. A cursor used with another filter, sort, page
size or key, or altered in any bit, fails the signature check: `CursorError` (code `cursor`).

The token is base64url, without padding, of

    version (1 byte) | JSON [page_number, v_1, ..., v_n] | tag (16 bytes)

with each value in the JSON form of its field's kind (instants as fixed-width UTC text, dates,
decimals and UUIDs as text, enums as their values; untyped values as JSON, a datetime as
{"t": text}, an object or array, which all sort alike, as {}), read back by the same kind. The
values are not secret (they are the item's), only unforgeable.

The key: the source's `cursor_key=`, else the environment variable `CRUDQL_CURSOR_KEY`, else a
random key made when this module is imported: cursors then die with the process, and the
workers of a multi-process server do not accept each other's.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from .ast import Expr, Field, SortKey
from .cache import WeightedLRU, tree_weight
from .errors import CursorError
from .fieldtypes import Kind
from .syntax.printer import to_lisp
from .values import instant_text, parse_datetime, utc

__all__ = [
    "CURSOR_KEY_ENV",
    "MAX_CURSOR_LENGTH",
    "Position",
    "binding",
    "check_cursor_key",
    "cursor_key",
    "decode_cursor",
    "encode_cursor",
    "sort_values",
]

CURSOR_KEY_ENV = "CRUDQL_CURSOR_KEY"
# Sort values are stored data (a long name is a long cursor); far past that, a cursor is junk.
MAX_CURSOR_LENGTH = 16384
_VERSION = 1
_TAG_BYTES = 16
_DOMAIN = b"crudql cursor v1\x00"
_PROCESS_KEY = secrets.token_bytes(32)
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\Z")
# json.dumps with these options builds an encoder per call: one, made once (every page's cursor).
_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_INVALID = (
    "invalid cursor: it was altered or cut short, or it belongs to another filter, sort, page size or "
    "server key; request the first page again, without a cursor"
)


@dataclass(frozen=True, slots=True)
class Position:
    """What a cursor says: the page it came from, and its last item's sort values."""

    page_number: int
    values: tuple[Any, ...]


# ---------------------------------------------------------------------------- keys


def check_cursor_key(key: bytes | str | None) -> bytes | None:
    """A source's `cursor_key=` as bytes (str as UTF-8), refusing an empty or non-text key."""
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or not key:
        raise ValueError("cursor_key must be a non-empty str or bytes (a secret shared by the servers)")
    return key


def cursor_key(source: object) -> bytes:
    """The key a source's cursors are signed with: its `cursor_key`, else $CRUDQL_CURSOR_KEY,
    else this process's random key."""
    key = check_cursor_key(getattr(source, "cursor_key", None))
    if key is not None:
        return key
    env = os.environ.get(CURSOR_KEY_ENV)
    return env.encode("utf-8") if env else _PROCESS_KEY


# Digests by (filter, sort, page size): printing a large filter costs more than hashing it. The
# key holds the tree, so an entry weighs what the tree does.
_BINDINGS: WeightedLRU[tuple[Any, ...], bytes] = WeightedLRU(8 << 20)


def binding(where: Expr | None, order: Sequence[SortKey], page_size: int) -> bytes:
    """The digest of what a cursor is bound to: the checked filter's canonical lisp text, the
    sort (canonical paths and directions) and the page size."""
    return _BINDINGS.get_or_build((where, tuple(order), page_size), _binding, _binding_weight, where, order, page_size)


def _binding_weight(_: bytes, where: Expr | None, order: Sequence[SortKey], page_size: int) -> int:
    return tree_weight(where)


def _binding(where: Expr | None, order: Sequence[SortKey], page_size: int) -> bytes:
    sort = [[list(k.path), k.descending] for k in order]
    text = json.dumps([to_lisp(where), sort, page_size], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _tag(key: bytes, bound_to: bytes, body: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of the binding and body, truncated: from the key's padded inner
    and outer SHA-256 states, made once per key. `hmac.digest` sets the key up on every call,
    which with OpenSSL 3 costs four times the hashing itself."""
    pads = _PADS.get(key)
    if pads is None:
        pads = _pads(key)
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(_DOMAIN + bound_to + body)
    outer.update(inner.digest())
    return outer.digest()[:_TAG_BYTES]


# Keys' HMAC states: a source's key, the environment's, the process's (a few, but bounded).
_PADS: dict[bytes, tuple[Any, Any]] = {}
_MAX_PADS = 64


def _pads(key: bytes) -> tuple[Any, Any]:
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    pads = (
        hashlib.sha256(bytes(b ^ 0x36 for b in padded)),
        hashlib.sha256(bytes(b ^ 0x5C for b in padded)),
    )
    if len(_PADS) >= _MAX_PADS:
        _PADS.clear()
    _PADS[key] = pads
    return pads


# ---------------------------------------------------------------------------- sort values


def _field(key: SortKey) -> Field:
    return key.resolved if key.resolved is not None else Field(key.path)


def _kind(f: Field) -> Kind:
    return f.type.kind if f.type is not None else Kind.ANY


def sort_values(item: Any, order: Sequence[SortKey]) -> tuple[Any, ...]:
    """An item's values under the sort keys (None where missing or null), typed as the
    backends compare them: aware UTC datetimes, dates, Decimals, UUIDs as canonical text,
    enums as their values. `item` is a model instance or a JSON dict in alias shape."""
    return tuple(_normalized(_kind(f), _read(item, f)) for f in map(_field, order))


def _read(item: Any, f: Field) -> Any:
    names = f.path
    keyed = f.keyed or (False,) * len(names)
    json_names = f.json_path or names
    value = item
    for name, json_name, is_key in zip(names, json_names, keyed):
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get(name if is_key else json_name)
        elif isinstance(value, BaseModel) and not is_key:
            value = getattr(value, name, None)
        else:
            return None
    return value


def _normalized(kind: Kind, value: Any) -> Any:
    """A value as the backends order it (None when missing, null or unreadable)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        if kind is Kind.DATETIME:
            if isinstance(value, dt.datetime):
                return utc(value)
            return parse_datetime(value) if isinstance(value, str) else None
        if kind is Kind.DATE:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            return dt.date.fromisoformat(value) if isinstance(value, str) else None
        if kind is Kind.UUID:
            return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))
        if kind is Kind.DECIMAL:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
            return number if number.is_finite() and not isinstance(value, bool) else None
        if kind is Kind.INT:
            return int(value) if isinstance(value, int) and not isinstance(value, bool) else None
        if kind is Kind.FLOAT:
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if kind is Kind.BOOL:
            return value if isinstance(value, bool) else None
        if kind in (Kind.STRING, Kind.ENUM):
            return str(value) if isinstance(value, str) else value if kind is Kind.ENUM else None
    except (ValueError, TypeError, AttributeError, InvalidOperation):
        return None
    return value  # untyped: as it is


# ---------------------------------------------------------------------------- tokens


def encode_cursor(position: Position, key: bytes, bound_to: bytes, order: Sequence[SortKey]) -> str:
    """The token for a position (its values as `sort_values` reads them off the item)."""
    values = [_encoded(_kind(_field(k)), v) for k, v in zip(order, position.values)]
    text = _compact_json([position.page_number, *values])
    body = bytes([_VERSION]) + text.encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(body + _tag(key, bound_to, body)).rstrip(b"=").decode("ascii")


def _encoded(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is Kind.DATETIME:
        return instant_text(value)
    if kind in (Kind.DATE, Kind.UUID, Kind.DECIMAL):
        return str(value)
    if kind is Kind.ANY:
        if value is True or value is False or isinstance(value, (int, float, str)):
            return value
        if isinstance(value, dt.datetime):
            return {"t": instant_text(value)}
        return {}  # objects, arrays and the rest tie: only their family counts
    return value


def decode_cursor(token: Any, key: bytes, bound_to: bytes, order: Sequence[SortKey]) -> Position:
    """The position a token holds, or `CursorError` when it is not one of ours for this
    filter, sort and page size (altered, cut short, or signed with another key)."""
    if not isinstance(token, str) or not token:
        raise CursorError("cursor must be a non-empty string", param="cursor")
    if len(token) > MAX_CURSOR_LENGTH:
        raise CursorError(f"cursor is longer than {MAX_CURSOR_LENGTH:,} characters", param="cursor")
    if _TOKEN.match(token) is None:
        raise CursorError(_INVALID, param="cursor")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise CursorError(_INVALID, param="cursor") from None
    # Canonical encodings only: the unused low bits of the last character must be zero, so
    # no two tokens hold one value (every bit of a token matters).
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token or len(raw) <= 1 + _TAG_BYTES:
        raise CursorError(_INVALID, param="cursor")
    body, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(key, bound_to, body)) or body[0] != _VERSION:
        raise CursorError(_INVALID, param="cursor")
    try:
        payload = json.loads(body[1:].decode("utf-8", "surrogatepass"))
        if not isinstance(payload, list) or len(payload) != 1 + len(order):
            raise ValueError("shape")
        page = payload[0]
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise ValueError("page")
        values = tuple(_decoded(_kind(_field(k)), v) for k, v in zip(order, payload[1:]))
    except (ValueError, TypeError, UnicodeDecodeError):
        # Signed by us yet unreadable: a key shared with another (incompatible) version.
        raise CursorError(_INVALID, param="cursor") from None
    return Position(page, values)


def _decoded(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is Kind.DATETIME:
        instant = parse_datetime(value) if isinstance(value, str) else None
        if instant is None:
            raise ValueError("datetime")
        return instant
    if kind is Kind.DATE:
        return dt.date.fromisoformat(_text(value))
    if kind is Kind.UUID:
        return str(uuid.UUID(_text(value)))
    if kind is Kind.DECIMAL:
        try:
            return Decimal(_text(value))
        except InvalidOperation:
            raise ValueError("decimal") from None
    if kind is Kind.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError("integer")
    if kind is Kind.FLOAT:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ValueError("number")
    if kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
        raise ValueError("boolean")
    if kind in (Kind.STRING, Kind.ENUM):
        if isinstance(value, str) or (kind is Kind.ENUM and isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ValueError("string")
    if isinstance(value, dict):
        if set(value) == {"t"}:
            instant = parse_datetime(_text(value["t"]))
            if instant is None:
                raise ValueError("datetime")
            return instant
        if not value:
            return {}
        raise ValueError("value")
    if isinstance(value, list):
        raise ValueError("value")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("text")
    return value
