"""Money as people type it on a page: yuan, with or without thousands separators and the currency sign,
never fen; a comma only between groups of three, so "5,00" is refused rather than read as 500 yuan."""

from __future__ import annotations

import pytest

from careclub.core.errors import ValidationFailed
from careclub.core.money import format_grouped, parse_typed


@pytest.mark.parametrize(("typed", "minor"), [
    ("20", 2000), ("20.5", 2050), ("0.01", 1), ("1,314,000.00", 131400000), ("¥ 365", 36500), ("￥365", 36500),
    ("365元", 36500), ("1，314.50", 131450), (" 99.9 ", 9990), ("1,000", 100000),
])
def test_yuan_as_typed(typed: str, minor: int) -> None:
    assert parse_typed(typed, field="fee") == minor


@pytest.mark.parametrize("typed", ["5,00", "1,31", "12,3456", ",100", "abc", "-1", "1.234", "1e3", "", "¥", "20 yuan"])
def test_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_typed(typed, field="fee")
    assert caught.value.field == "fee" and caught.value.message.startswith("fee must be an amount in yuan")


def test_what_is_shown_can_be_typed_back() -> None:
    for minor in (0, 1, 99, 100000, 131400000, 99999999999):
        assert parse_typed(format_grouped(minor)) == minor
