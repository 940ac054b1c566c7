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
import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar.params import QueryParameter

from careclub.core.errors import ValidationFailed

CAP = 10_000
MAX_OFFSET = 10_000

After = Annotated[str | None, QueryParameter(description="the `next_after` of the previous page: "
                                        "the page after it", max_length=120)]
BoundedOffset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description=(
    f"rows to skip, at most {MAX_OFFSET:,}; page further with `after`"))]


def encode_cursor(row: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{row['created_at'].isoformat()}|{row['id']}".encode()).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not value:
        return None
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        when, _, ident = text.partition("|")
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("after is not a cursor this API gave", field="after") from None


def next_after(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Rows fetched with `limit + 1` → the page and the cursor of the next one (None on the last)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1])
    return rows, None


def capped(counted: int, cap: int = CAP) -> tuple[int, bool]:
    """A count made with `LIMIT cap + 1` → (total to show, whether there are more)."""
    return min(counted, cap), counted > cap
