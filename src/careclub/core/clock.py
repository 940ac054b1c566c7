"""The one source of 'now', so tests and jobs can move time."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def travel(delta: timedelta) -> None:
    """Move the application's clock (tests and the demo only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


# The tenant's zone for what leaves the system (API bodies, pages); storage stays UTC.
_display_zone: ContextVar[str] = ContextVar("careclub_display_zone", default="UTC")


def set_display_zone(name: str) -> None:
    _display_zone.set(name)


def local(dt: datetime | None, zone: str | None = None) -> datetime | None:
    if dt is None:
        return None
    return dt.astimezone(ZoneInfo(zone or _display_zone.get()))
