"""Keyset paging, one way for every list.

A list is read newest first by `(created_at, id)`; a page hands out the cursor of its last row
(`next_after`), and the next page starts strictly after it, so the database walks an index from
that point instead of counting past `OFFSET` rows (at a million rows, the difference between
0.1 ms and a second). Totals are counted only up to `CAP`: past ten thousand, "10,000+" says all
a person can use, and counting a million rows for it is not worth the time. `OFFSET` survives for
the few pages that let a person jump to a page number, bounded by `MAX_OFFSET`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

from litestar.params import QueryParameter

from careclub.core.errors import ValidationFailed

CAP = 10_000
MAX_OFFSET = 10_000

After = Annotated[str | None, QueryParameter(description="the `next_after` of the previous page: "
                                        "the page after it", max_length=120)]
BoundedOffset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description=(
    f"rows to skip, at most {MAX_OFFSET:,}; page further with `after`"))]


Key = datetime | date | str | uuid.UUID | int


def encode_keys(*values: Key) -> str:
    """A cursor for a list ordered by any tuple of typed values (a list's order columns, its id last): the
    values joined by `|`, text quoted so a `|` in it cannot move the split."""
    text = "|".join(quote(v, safe="") if isinstance(v, str) else v.isoformat() if isinstance(v, date) else str(v)
                    for v in values)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_keys(value: str | None, *types: type) -> tuple[Any, ...] | None:
    """The values `encode_keys` put in a cursor, each of its type (datetime: with a zone); a cursor this API
    did not give is the caller's 422 naming `after`."""
    if not value:
        return None
    try:
        parts = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split("|")
        if len(parts) != len(types):
            raise ValueError("parts")
        out: list[Any] = []
        for part, kind in zip(parts, types, strict=True):
            if kind is datetime:
                moment = datetime.fromisoformat(part)
                if moment.tzinfo is None:
                    raise ValueError("naive")
                out.append(moment)
            elif kind is date:
                out.append(date.fromisoformat(part))
            elif kind is str:
                out.append(unquote(part))
            else:
                out.append(kind(part))
        return tuple(out)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValidationFailed("after is not a cursor this API gave", field="after") from None


def encode_cursor(row: dict[str, Any]) -> str:
    """The cursor of a list ordered newest first by (created_at, id)."""
    return encode_keys(row["created_at"], row["id"])


def decode_cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    keys = decode_keys(value, datetime, uuid.UUID)
    return None if keys is None else (keys[0], keys[1])


def next_after(rows: list[dict[str, Any]], limit: int, encode: Callable[[dict[str, Any]], str] = encode_cursor
               ) -> tuple[list[dict[str, Any]], str | None]:
    """Rows fetched with `limit + 1` → the page and the cursor of the next one (None on the last); `encode`
    makes the cursor of a list in another order than (created_at, id)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode(rows[-1])
    return rows, None


def capped(counted: int, cap: int = CAP) -> tuple[int, bool]:
    """A count made with `LIMIT cap + 1` → (total to show, whether there are more)."""
    return min(counted, cap), counted > cap
