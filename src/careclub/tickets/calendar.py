"""The working-time calendar the ticket SLA clocks count in. Pure: no I/O, no database.

A company answers within its service hours (08:30–17:30 by default) on its working days, so a repair
reported on Friday at 17:00 with an hour's budget is due on Monday at 09:00, not on Friday at 18:00. Which
days are working days follows the State Council's published calendar, with the make-up working weekend
days (调休) that go with each long holiday, as the `chinese-calendar` package carries it; a company may
mark any day otherwise (`overrides`, its `service_calendar_day` rows). Urgent repairs run on `ALWAYS`,
plain calendar time.

The State Council publishes a year's calendar late in the year before. For a year the package has no data
for yet, "official" falls back to Monday–Friday with no holidays and `official_year_known` says so, so the
calendar page can ask the company to add that year's holidays as overrides until the package is updated.

Clock semantics: `add(a, m)` is the earliest moment by which `m` working minutes have passed since `a`;
so `add(a, 0) == a` even outside service hours, and for m > 0 the answer always lies inside (or at the
close of) a service window. `between(a, b)` counts the working time in [a, b), floored to whole minutes.
Both are exact (microseconds), which gives `between(a, add(a, m)) == m` and
`add(add(a, m1), m2) == add(a, m1 + m2)`. Time is real elapsed time: a service window that a daylight-saving
change cuts into is shorter (Asia/Shanghai has none). Cost is linear in the days spanned, never the minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

# official: State Council working days (Mon–Fri, less the statutory holiday period days, plus make-up days);
# all_but_holidays: every day but the days of a statutory holiday period (make-up days work here too, as
# every non-holiday day does); every_day: every day of the year.
DAY_RULES: Final = ("official", "all_but_holidays", "every_day")

_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
_NO_OVERRIDES: Mapping[date, bool] = MappingProxyType({})


# The years the installed `chinese-calendar` carries the State Council's calendar for: its own holiday table.
_KNOWN_YEARS = frozenset(day.year for day in chinese_calendar.constants.holidays)


def official_year_known(year: int) -> bool:
    """Whether the installed `chinese-calendar` has the State Council's calendar for `year`."""
    return year in _KNOWN_YEARS


@lru_cache(maxsize=16384)
def _rule_says_working(day: date, days: str) -> bool:
    if days == "every_day":
        return True
    if not official_year_known(day.year):
        return days == "all_but_holidays" or day.weekday() < 5
    if days == "official":
        return bool(chinese_calendar.is_workday(day))
    # get_holiday_detail answers (True, name) only for days of a holiday period, weekend days inside it included;
    # a plain weekend is (True, None) and a make-up day (False, name).
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return not (on_holiday and name is not None)


@lru_cache(maxsize=16384)
def _window(zone: str, start: time, end: time, day: date) -> tuple[datetime, datetime]:
    # Cached because a long span asks for the same days' windows again and again (each ticket's clock);
    # ZoneInfo itself is cached by the zoneinfo module.
    tz = ZoneInfo(zone)
    opens = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
    return opens, max(opens, closes)  # a window a DST gap swallows is empty, never negative


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


class Clock(Protocol):
    """What an SLA clock needs: a `WorkCalendar` (working time) or `ALWAYS` (calendar time)."""

    def add(self, start: datetime, minutes: int) -> datetime: ...

    def between(self, a: datetime, b: datetime) -> int: ...


@dataclass(frozen=True)
class WorkCalendar:
    """A company's service hours and working days in its zone (see the module docstring for the clock rules)."""

    zone: str  # IANA zone, e.g. "Asia/Shanghai": days and hours are the company's local ones
    start: time = time(8, 30)
    end: time = time(17, 30)
    days: str = "official"
    # True: a working day, False: a day off, whatever the rule says. Kept as a read-only copy so a frozen
    # calendar cannot change under a cached clock; left out of the hash (a mapping has none), kept in ==.
    overrides: Mapping[date, bool] = field(default_factory=lambda: _NO_OVERRIDES, hash=False)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {self.zone!r} (expected an IANA name such as 'Asia/Shanghai')") \
                from None
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("service hours are local wall-clock times: give them without a time zone")
        if self.end <= self.start:
            raise ValueError(f"service hours must end after they start, got {self.start:%H:%M}-{self.end:%H:%M}")
        if self.days not in DAY_RULES:
            raise ValueError(f"unknown day rule {self.days!r} (expected one of {', '.join(DAY_RULES)})")
        overrides = dict(self.overrides)
        for day, working in overrides.items():
            # A datetime is a date too, but would never match the dates the clock looks up.
            if not isinstance(day, date) or isinstance(day, datetime) or not isinstance(working, bool):
                raise ValueError(f"an override maps a date to True (working) or False (day off), got {day!r}: "
                                 f"{working!r}")
        object.__setattr__(self, "overrides", MappingProxyType(overrides))

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            raise TypeError("is_working_day takes a local date, not a datetime")
        return self._works(d)

    def _works(self, d: date) -> bool:
        working = self.overrides.get(d)
        return _rule_says_working(d, self.days) if working is None else working

    def _windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The UTC service windows of the working days from the local day of `since` on, without end."""
        day = since.astimezone(ZoneInfo(self.zone)).date()
        zone, start, end, days, override = self.zone, self.start, self.end, self.days, self.overrides.get
        while True:
            working = override(day)  # the same test as _works, inlined: this loop is the whole cost of a clock
            if _rule_says_working(day, days) if working is None else working:
                yield _window(zone, start, end, day)
            day += _DAY

    def add(self, start: datetime, minutes: int) -> datetime:
        """The moment `minutes` working minutes after `start` (aware), in UTC."""
        start = _aware(start, "start")
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        left = timedelta(minutes=minutes)
        if not left:
            return start
        for opens, closes in self._windows(start):
            if closes <= start:
                continue
            begin = max(opens, start)
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable: the windows never end")

    def between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes in [a, b); 0 when b is not after a."""
        a, b = _aware(a, "a"), _aware(b, "b")
        if b <= a:
            return 0
        total = timedelta()
        for opens, closes in self._windows(a):
            if opens >= b:
                break
            if closes > a:
                total += (closes if closes < b else b) - (opens if opens > a else a)
        return total // _MINUTE


@dataclass(frozen=True)
class AlwaysCalendar:
    """Calendar time, round the clock: the urgent repairs' clock."""

    def is_working_day(self, d: date) -> bool:
        return True

    def add(self, start: datetime, minutes: int) -> datetime:
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        return _aware(start, "start") + timedelta(minutes=minutes)

    def between(self, a: datetime, b: datetime) -> int:
        a, b = _aware(a, "a"), _aware(b, "b")
        return max(b - a, timedelta()) // _MINUTE


ALWAYS: Final = AlwaysCalendar()

# "08:30-17:30"; also a single-digit hour, spaces, an en or em dash, a tilde, and the full-width colon and
# tilde a Chinese input method types.
_HOURS = re.compile(r"\s*(\d{1,2})[:：](\d{2})\s*[-–—~～]\s*(\d{1,2})[:：](\d{2})\s*")


def parse_hours(text: str) -> tuple[time, time]:
    """Service hours as the calendar form spells them, e.g. "08:30-17:30", as (start, end)."""
    match = _HOURS.fullmatch(text)
    if not match:
        raise ValueError(f"service hours must look like 08:30-17:30, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"service hours must be times between 00:00 and 23:59, got {text!r}")
    start, end = time(h1, m1), time(h2, m2)
    if end <= start:
        raise ValueError(f"service hours must end after they start, got {text!r}")
    return start, end
