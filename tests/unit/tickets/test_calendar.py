"""The SLA clock's working-time calendar without a server: the 2026 State Council calendar as the
chinese-calendar package carries it (holidays skipped, make-up weekend days worked), service hours,
company overrides, the fallback for a year not yet published, and the clock identities the ticket core
relies on (a clock stopped and restarted ends where one uninterrupted clock would)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careclub.tickets.calendar import ALWAYS, DAY_RULES, Clock, WorkCalendar, official_year_known, parse_hours

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar("Asia/Shanghai")

# The 2026 calendar (国办发明电〔2025〕7号), as printed from chinese-calendar 1.11.0.
SPRING_FESTIVAL_2026 = [date(2026, 2, d) for d in range(15, 24)]  # Sun 15 – Mon 23
MAKE_UP_2026 = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
                date(2026, 10, 10)]
NATIONAL_DAY_2026 = [date(2026, 10, d) for d in range(1, 8)]


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


def local(moment: datetime) -> datetime:
    return moment.astimezone(SH)


# ---- days -----------------------------------------------------------------------------------

def test_official_years() -> None:
    assert official_year_known(2026)
    assert official_year_known(2004)
    assert not official_year_known(1999)
    assert not official_year_known(2099)


def test_official_skips_the_spring_festival_and_works_its_make_up_saturdays() -> None:
    assert not any(CAL.is_working_day(d) for d in SPRING_FESTIVAL_2026)
    assert not any(CAL.is_working_day(d) for d in NATIONAL_DAY_2026)
    assert all(CAL.is_working_day(d) for d in MAKE_UP_2026)
    assert all(d.weekday() >= 5 for d in MAKE_UP_2026)
    assert CAL.is_working_day(date(2026, 2, 24))  # the Tuesday after
    assert not CAL.is_working_day(date(2026, 3, 7))  # a plain Saturday
    assert CAL.is_working_day(date(2026, 3, 6))  # a plain Friday


def test_all_but_holidays_works_weekends_and_make_up_days_but_not_the_holiday_period() -> None:
    cal = WorkCalendar("Asia/Shanghai", days="all_but_holidays")
    assert not any(cal.is_working_day(d) for d in SPRING_FESTIVAL_2026 + NATIONAL_DAY_2026)
    assert all(cal.is_working_day(d) for d in MAKE_UP_2026)
    assert cal.is_working_day(date(2026, 3, 7))  # a plain Saturday
    assert cal.is_working_day(date(2026, 3, 8))  # and Sunday


def test_every_day_works_holidays_too() -> None:
    cal = WorkCalendar("Asia/Shanghai", days="every_day")
    assert all(cal.is_working_day(date(2026, 1, 1) + timedelta(days=n)) for n in range(365))
    assert local(cal.add(sh(2026, 2, 17, 17, 0), 60)) == sh(2026, 2, 18, 9, 0)  # Chinese New Year's Day
    assert local(cal.add(sh(2026, 3, 6, 17, 0), 60)) == sh(2026, 3, 7, 9, 0)  # Friday → Saturday


def test_an_unpublished_year_falls_back_to_monday_to_friday() -> None:
    days = [date(2099, 1, 1) + timedelta(days=n) for n in range(366)]
    assert [CAL.is_working_day(d) for d in days] == [d.weekday() < 5 for d in days]
    assert all(WorkCalendar("Asia/Shanghai", days="all_but_holidays").is_working_day(d) for d in days)


def test_overrides_beat_the_rule_both_ways() -> None:
    overrides = {date(2026, 3, 7): True, date(2026, 3, 9): False, date(2026, 2, 16): True, date(2026, 2, 14): False}
    cal = WorkCalendar("Asia/Shanghai", overrides=overrides)
    assert cal.is_working_day(date(2026, 3, 7))  # a Saturday worked
    assert not cal.is_working_day(date(2026, 3, 9))  # a Monday off
    assert cal.is_working_day(date(2026, 2, 16))  # a holiday worked
    assert not cal.is_working_day(date(2026, 2, 14))  # a make-up day not worked
    assert local(cal.add(sh(2026, 3, 6, 17, 0), 60)) == sh(2026, 3, 7, 9, 0)
    only_monday_off = WorkCalendar("Asia/Shanghai", overrides={date(2026, 3, 9): False})
    assert local(only_monday_off.add(sh(2026, 3, 6, 17, 0), 60)) == sh(2026, 3, 10, 9, 0)
    # an unpublished year's holidays, added by the company
    new_year_2099 = WorkCalendar("Asia/Shanghai", overrides={date(2099, 1, 1): False})
    assert not new_year_2099.is_working_day(date(2099, 1, 1))


def test_overrides_are_a_frozen_copy() -> None:
    overrides = {date(2026, 3, 7): True}
    cal = WorkCalendar("Asia/Shanghai", overrides=overrides)
    overrides[date(2026, 3, 7)] = False
    assert cal.is_working_day(date(2026, 3, 7))
    with pytest.raises(TypeError):
        cal.overrides[date(2026, 3, 8)] = True  # type: ignore[index]
    assert cal == WorkCalendar("Asia/Shanghai", overrides={date(2026, 3, 7): True})
    assert cal != CAL
    assert len({cal, CAL, WorkCalendar("Asia/Shanghai")}) == 2


# ---- the clock --------------------------------------------------------------------------------

def test_friday_afternoon_ticket_is_due_monday_morning() -> None:
    due = CAL.add(sh(2026, 3, 6, 17, 0), 60)  # a plain week in March
    assert due.tzinfo is UTC
    assert local(due) == sh(2026, 3, 9, 9, 0)
    assert CAL.between(sh(2026, 3, 6, 17, 0), due) == 60


def test_a_make_up_saturday_counts_and_the_holiday_is_skipped() -> None:
    # Friday 13 Feb: 30 minutes, Saturday 14 (make-up day) 540, then the Spring Festival until Tuesday 24.
    assert local(CAL.add(sh(2026, 2, 13, 17, 0), 60)) == sh(2026, 2, 14, 9, 0)
    assert local(CAL.add(sh(2026, 2, 13, 17, 0), 600)) == sh(2026, 2, 24, 9, 0)
    assert CAL.between(sh(2026, 2, 14, 17, 30), sh(2026, 2, 24, 8, 30)) == 0
    # National Day: from Wednesday 30 September to Thursday 8 October
    assert local(CAL.add(sh(2026, 9, 30, 17, 0), 60)) == sh(2026, 10, 8, 9, 0)


def test_nights_and_weekends_are_skipped() -> None:
    assert local(CAL.add(sh(2026, 3, 10, 17, 0), 60)) == sh(2026, 3, 11, 9, 0)  # overnight
    assert local(CAL.add(sh(2026, 3, 10, 7, 0), 60)) == sh(2026, 3, 10, 9, 30)  # before opening
    assert local(CAL.add(sh(2026, 3, 10, 20, 0), 1)) == sh(2026, 3, 11, 8, 31)  # after closing
    assert local(CAL.add(sh(2026, 3, 7, 12, 0), 1)) == sh(2026, 3, 9, 8, 31)  # on a Saturday
    assert local(CAL.add(sh(2026, 3, 10, 9, 0), 510)) == sh(2026, 3, 10, 17, 30)  # the budget ends at closing
    assert CAL.between(sh(2026, 3, 6, 17, 30), sh(2026, 3, 9, 8, 30)) == 0
    assert CAL.between(sh(2026, 3, 9, 0, 0), sh(2026, 3, 16, 0, 0)) == 5 * 540


def test_zero_minutes_is_the_start_itself() -> None:
    saturday_night = sh(2026, 3, 7, 23, 0)
    assert CAL.add(saturday_night, 0) == saturday_night
    assert CAL.add(saturday_night, 0).tzinfo is UTC


def test_between_is_zero_backwards_and_floors_seconds() -> None:
    assert CAL.between(sh(2026, 3, 10, 12, 0), sh(2026, 3, 10, 11, 0)) == 0
    assert CAL.between(sh(2026, 3, 10, 12, 0), sh(2026, 3, 10, 12, 0)) == 0
    assert CAL.between(sh(2026, 3, 10, 12, 0), sh(2026, 3, 10, 12, 1, 59)) == 1


def test_other_zones_and_hours() -> None:
    cal = WorkCalendar("Europe/Berlin", start=time(9, 0), end=time(17, 0), days="every_day")
    berlin = ZoneInfo("Europe/Berlin")
    # 29 March 2026 is the spring-forward Sunday (at 02:00, outside service hours): still 8 hours that day
    start = datetime(2026, 3, 28, 16, 0, tzinfo=berlin)
    assert cal.add(start, 120).astimezone(berlin) == datetime(2026, 3, 29, 10, 0, tzinfo=berlin)
    assert cal.between(datetime(2026, 3, 29, 0, 0, tzinfo=berlin), datetime(2026, 3, 30, 0, 0, tzinfo=berlin)) == 480


def test_a_long_span_is_counted_by_day() -> None:
    # 2026 has 248 official working days: 261 weekdays − 19 weekday holiday days + 6 make-up days
    year = CAL.between(sh(2026, 1, 1, 0, 0), sh(2027, 1, 1, 0, 0))
    assert year == 248 * 540
    assert local(CAL.add(sh(2026, 1, 1, 0, 0), year)) == sh(2026, 12, 31, 17, 30)


def test_always_is_plain_calendar_time() -> None:
    start = sh(2026, 2, 17, 23, 50)  # a holiday night
    assert ALWAYS.add(start, 15) == start + timedelta(minutes=15)
    assert ALWAYS.add(start, 15).tzinfo is UTC
    assert ALWAYS.between(start, start + timedelta(hours=25, seconds=59)) == 25 * 60
    assert ALWAYS.between(start, start - timedelta(hours=1)) == 0
    assert ALWAYS.is_working_day(date(2026, 2, 17))


@pytest.mark.parametrize("clock", [CAL, ALWAYS])
def test_naive_datetimes_and_negative_budgets_are_refused(clock: Clock) -> None:
    naive = datetime(2026, 3, 10, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.add(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.between(sh(2026, 3, 10, 9, 0), naive)
    with pytest.raises(ValueError, match="negative"):
        clock.add(sh(2026, 3, 10, 9, 0), -1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"zone": "Asia/Nowhere"}, "unknown time zone"),
    ({"zone": "Asia/Shanghai", "start": time(17, 30), "end": time(8, 30)}, "end after they start"),
    ({"zone": "Asia/Shanghai", "start": time(9, 0), "end": time(9, 0)}, "end after they start"),
    ({"zone": "Asia/Shanghai", "days": "weekdays"}, "unknown day rule"),
    ({"zone": "Asia/Shanghai", "overrides": {datetime(2026, 3, 7, tzinfo=UTC): True}}, "override"),
    ({"zone": "Asia/Shanghai", "overrides": {date(2026, 3, 7): 1}}, "override"),
])
def test_a_bad_calendar_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar(**kwargs)  # type: ignore[arg-type]


def test_is_working_day_takes_a_date() -> None:
    with pytest.raises(TypeError):
        CAL.is_working_day(datetime(2026, 3, 10, 9, 0, tzinfo=SH))


# ---- hours ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["08:30-17:30", "8:30–17:30", " 08:30 - 17:30 ", "8:30—17:30", "08:30~17:30",
                                  "08：30～17：30"])
def test_parse_hours(text: str) -> None:
    assert parse_hours(text) == (time(8, 30), time(17, 30))


def test_parse_hours_edges() -> None:
    assert parse_hours("00:00-23:59") == (time(0, 0), time(23, 59))


@pytest.mark.parametrize(("text", "message"), [
    ("", "must look like 08:30-17:30"),
    ("8-17", "must look like 08:30-17:30"),
    ("08:30 17:30", "must look like 08:30-17:30"),
    ("08:30-17:30-18:00", "must look like 08:30-17:30"),
    ("830-1730", "must look like 08:30-17:30"),
    ("24:00-25:00", "between 00:00 and 23:59"),
    ("08:60-17:00", "between 00:00 and 23:59"),
    ("17:30-08:30", "end after they start"),
    ("08:30-08:30", "end after they start"),
])
def test_parse_hours_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


# ---- properties ---------------------------------------------------------------------------------

CALENDARS = [
    CAL,
    WorkCalendar("Asia/Shanghai", days="all_but_holidays"),
    WorkCalendar("Asia/Shanghai", start=time(0, 0), end=time(23, 59), days="every_day"),
    WorkCalendar("Asia/Shanghai", start=time(12, 0), end=time(13, 0),
                 overrides={date(2026, 12, 31): False, date(2027, 1, 2): True}),
    WorkCalendar("Europe/Berlin", start=time(1, 30), end=time(3, 30), days="every_day"),  # DST changes inside
]

# December 2025 to March 2027: a published year, the years either side, and the change between them.
moments = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 3, 1), timezones=st.just(UTC))
clocks = st.sampled_from([*CALENDARS, ALWAYS])
budgets = st.integers(min_value=0, max_value=20_000)


@given(clocks, moments, budgets)
def test_between_measures_what_add_added(clock: Clock, a: datetime, m: int) -> None:
    due = clock.add(a, m)
    assert due >= a
    assert clock.between(a, due) == m


@given(clocks, moments, budgets, budgets)
def test_a_clock_in_two_stretches_ends_where_one_would(clock: Clock, a: datetime, m1: int, m2: int) -> None:
    assert clock.add(clock.add(a, m1), m2) == clock.add(a, m1 + m2)


@given(clocks, moments, budgets, budgets)
def test_more_minutes_are_never_due_earlier(clock: Clock, a: datetime, m: int, more: int) -> None:
    assert clock.add(a, m + more) >= clock.add(a, m)
    b = a + timedelta(minutes=more)
    assert clock.between(a, b + timedelta(minutes=m)) >= clock.between(a, b)


@given(st.sampled_from(CALENDARS[:4]), moments, budgets.filter(bool))
def test_a_due_time_falls_within_service_hours_of_a_working_day(cal: WorkCalendar, a: datetime, m: int) -> None:
    due = cal.add(a, m).astimezone(ZoneInfo(cal.zone))
    assert cal.is_working_day(due.date())
    assert cal.start < due.time() <= cal.end


@given(st.sampled_from(CALENDARS[:4]), moments.map(lambda t: t.replace(second=0, microsecond=0)),
       st.integers(min_value=0, max_value=4 * 24 * 60))
def test_between_agrees_with_counting_minute_by_minute(cal: WorkCalendar, a: datetime, span: int) -> None:
    zone = ZoneInfo(cal.zone)
    counted = 0
    for n in range(span):
        t = (a + timedelta(minutes=n)).astimezone(zone)
        counted += cal.is_working_day(t.date()) and cal.start <= t.time().replace(tzinfo=None) < cal.end
    assert cal.between(a, a + timedelta(minutes=span)) == counted


def test_day_rules_are_the_three_documented() -> None:
    assert DAY_RULES == ("official", "all_but_holidays", "every_day")
