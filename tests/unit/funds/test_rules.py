"""The funds' pure rules: accrual rounding, periods and due dates, what an entry may hold."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careclub.core.errors import ValidationFailed
from careclub.funds import rules
from careclub.funds.rules import Line


def test_accrual_rounds_half_up_once_per_period() -> None:
    assert rules.accrue(123_456_789, 5) == 61_728  # 61,728.3945 fen -> down
    assert rules.accrue(10_000, 5) == 5  # exactly 5 fen
    assert rules.accrue(1_000, 5) == 1  # 0.5 fen -> up (half-up, not banker's)
    assert rules.accrue(999, 5) == 0  # 0.4995 fen -> down
    assert rules.accrue(0, 5) == 0


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=1, max_value=10_000))
def test_accrual_is_within_half_a_fen_of_the_exact_amount(base: int, rate: int) -> None:
    exact = base * rate / 10_000
    got = rules.accrue(base, rate)
    assert abs(got - exact) <= 0.5 + 1e-9
    assert got * 20_000 >= 2 * base * rate - 10_000  # never rounds a half down


def test_a_negative_base_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        rules.accrue(-1, 5)


def test_quarters_months_and_years_with_their_due_dates() -> None:
    start, end, label = rules.period_of("quarter", date(2026, 5, 17))
    assert (start, end, label) == (date(2026, 4, 1), date(2026, 6, 30), "2026Q2")
    assert rules.due_on(end, 20) == date(2026, 7, 20)  # the 20th of the next quarter's first month
    start, end, label = rules.period_of("quarter", date(2026, 12, 31))
    assert (end, label, rules.due_on(end, 20)) == (date(2026, 12, 31), "2026Q4", date(2027, 1, 20))
    assert rules.period_of("month", date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    assert rules.due_on(date(2026, 1, 31), 31) == date(2026, 2, 28)  # a day past the month's end: its last
    assert rules.period_of("year", date(2026, 7, 1)) == (date(2026, 1, 1), date(2026, 12, 31), "2026")


def test_period_labels_are_read_by_the_rules_period() -> None:
    assert rules.parse_label("quarter", "2026q3") == date(2026, 7, 1)
    assert rules.parse_label("month", "2026-11") == date(2026, 11, 1)
    for period, label in (("quarter", "2026-03"), ("quarter", "2026Q5"), ("month", "2026-13"), ("year", "26")):
        with pytest.raises(ValidationFailed):
            rules.parse_label(period, label)


def test_an_entry_balances_per_fund_on_known_accounts() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    rules.check_lines([Line(a, "available", 5), Line(a, "contributed", -5)])
    for lines in ([Line(a, "available", 5)],
                  [Line(a, "available", 5), Line(a, "contributed", -4)],
                  [Line(a, "available", 5), Line(b, "contributed", -5)],
                  [Line(a, "cash", 5), Line(a, "contributed", -5)],
                  [Line(a, "available", 0), Line(a, "contributed", 0)]):
        with pytest.raises(ValidationFailed):
            rules.check_lines(lines)


def test_rollover_lines_balance_in_each_year() -> None:
    old, new = uuid.uuid4(), uuid.uuid4()
    rules.check_lines(rules.rollover_lines(old, new, 12_345))
