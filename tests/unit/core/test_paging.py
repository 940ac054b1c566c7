"""Keyset cursors over any tuple of typed values: what goes in comes out, typed; text holding the separator
stays whole; anything this API did not give is a 422 naming `after`, never a 500."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime

import pytest

from careclub.core.errors import ValidationFailed
from careclub.core.paging import decode_cursor, decode_keys, encode_cursor, encode_keys


def test_keys_come_back_with_their_types() -> None:
    ident = uuid.uuid4()
    moment = datetime(2026, 12, 1, 10, 30, 5, 123456, tzinfo=UTC)
    keys = (date(2026, 10, 1), "rent|share 5%", ident, 42, moment)
    assert decode_keys(encode_keys(*keys), date, str, uuid.UUID, int, datetime) == keys
    assert decode_keys(None, date) is None and decode_keys("", date) is None


def test_the_created_at_cursor_is_the_same_cursor_as_before() -> None:
    row = {"created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "id": uuid.uuid4()}
    old = base64.urlsafe_b64encode(f"{row['created_at'].isoformat()}|{row['id']}".encode()).decode().rstrip("=")
    assert encode_cursor(row) == old  # cursors handed out before still page on
    assert decode_cursor(old) == (row["created_at"], row["id"])


@pytest.mark.parametrize("value", [
    "not base64 at all!!", base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode(),  # not a uuid
    base64.urlsafe_b64encode(b"2026-01-01T00:00:00|" + str(uuid.uuid4()).encode()).decode(),  # no zone
    base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00").decode(),  # one part of two
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not text
])
def test_a_cursor_this_api_did_not_give_names_after(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(value)
    assert caught.value.field == "after"
