"""A club's growth projection: the new members a month its business plan expects (seed 002 part 5: the
car club's 300 a month for five years), a setting of each club, empty when the club has none.

One rule for every way in (the API, the club's edit page, tenant files): a whole number, 0 or more
(at most MAX_MONTHLY_JOINS), or empty. Pure: no I/O."""

from __future__ import annotations

import re
from typing import Any

from careclub.core.errors import ValidationFailed

FIELD = "projected_monthly_joins"
# A bound a plan never reaches (a million new members a month), well inside the integer column.
MAX_MONTHLY_JOINS = 1_000_000

_GROUPED = re.compile(r"\d{1,3}(,\d{3})+")


def check_monthly_joins(value: Any) -> int | None:
    """The setting as stored: None (no projection) or a whole number in 0..MAX_MONTHLY_JOINS."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MONTHLY_JOINS:
        raise ValidationFailed("projected new members a month must be a whole number, 0 or more, or empty",
                               code="projection_invalid", field=FIELD)
    return value


def parse_monthly_joins(text: str | None) -> int | None:
    """What someone typed on a form: empty for none, else digits ("300", "1,200" and "1200" alike)."""
    typed = (text or "").strip().replace("，", ",")
    if not typed:
        return None
    if _GROUPED.fullmatch(typed):
        typed = typed.replace(",", "")
    if not typed.isascii() or not typed.isdigit():
        raise ValidationFailed("projected new members a month must be a whole number, 0 or more, or empty",
                               code="projection_invalid", field=FIELD)
    return check_monthly_joins(int(typed))


__all__ = ["FIELD", "MAX_MONTHLY_JOINS", "check_monthly_joins", "parse_monthly_joins"]
