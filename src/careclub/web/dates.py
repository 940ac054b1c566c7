"""Dates people pick in a page's filters (`<input type="date">`), read in the company's time zone."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from careclub.core.i18n import gettext as _


def local_day(text: str, zone: str, field: str, errors: dict[str, str]) -> datetime | None:
    """A date picked in the company's zone (`YYYY-MM-DD`), as the instant its day starts; none when
    blank. Text that is no such date puts the reason under `errors[field]` and answers none."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = _("Use the form YYYY-MM-DD.")
        return None
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))
