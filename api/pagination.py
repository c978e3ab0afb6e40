"""Relay-style cursor connections (edges / node / cursor / pageInfo) with keyset cursors.

A cursor is the base64 of the ordering key of its row (here the sample id); ``after`` continues
strictly after it, so pages stay stable while rows are added elsewhere.
"""

from __future__ import annotations

import base64
import binascii
from typing import Generic, TypeVar

import strawberry

from rskg.errors import ValidationError

N = TypeVar("N")
MAX_PAGE = 500
_PREFIX = "rskg:"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + key).encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"invalid cursor {cursor[:40]!r}",
                              "Pass a cursor exactly as returned in edges.cursor or pageInfo.endCursor.") from exc
    if not raw.startswith(_PREFIX):
        raise ValidationError(f"invalid cursor {cursor[:40]!r}",
                              "Pass a cursor exactly as returned in edges.cursor or pageInfo.endCursor.")
    return raw[len(_PREFIX):]


def check_first(first: int) -> int:
    if first < 0 or first > MAX_PAGE:
        raise ValidationError(f"first={first} is out of range", f"Ask for 0..{MAX_PAGE} items per page.")
    return first


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    node: N
    cursor: str
