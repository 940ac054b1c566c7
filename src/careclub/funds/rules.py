"""The funds' pure rules: accounts and their signs, what each cause of an entry moves, accrual
arithmetic and the calendar of accrual periods. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from careclub.core.errors import ValidationFailed

# Debit-positive. What the fund holds or has used (normally positive) ...
AVAILABLE = "available"
RECEIVABLE = "receivable"
COMMITTED = "committed"
SPENT = "spent"
CARRIED_FORWARD = "carried_forward"
# ... and where it came from (normally negative: credit balances).
ACCRUED = "accrued"
CONTRIBUTED = "contributed"
BROUGHT_FORWARD = "brought_forward"

ACCOUNTS = (AVAILABLE, RECEIVABLE, COMMITTED, SPENT, CARRIED_FORWARD, ACCRUED, CONTRIBUTED, BROUGHT_FORWARD)
# The database refuses these below zero too (fund_balance_not_negative); checking first gives a clear 409.
NEVER_NEGATIVE = (AVAILABLE, COMMITTED, RECEIVABLE)

CAUSES = ("accrual", "collection", "contribution", "commitment", "release", "reimbursement", "rollover",
          "correction")

# What finance may correct by reversing the entry itself. The other causes belong to a record whose state
# follows its entries (a request's commitment and spend, an accrual period's base and payments, a rollover):
# reversing their entries by hand would leave that record and the ledger telling different stories, so they
# are corrected through the record (close the request, enter the base again, …).
REVERSIBLE_BY_HAND = ("contribution",)

CONTRIBUTION_KINDS = ("reserve", "maintenance_fund", "warranty_deposit", "other")
# The maintenance fund is the owners' money: spending it needs their committee's decision on record.
NEEDS_REFERENCE = ("maintenance_fund",)

PERIODS = ("month", "quarter", "year")

CODE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


@dataclass(frozen=True)
class Line:
    """One posting to be written: `amount` fen, debit positive."""

    fund_id: object
    account: str
    amount: int


def check_lines(lines: list[Line]) -> None:
    """An entry is at least two postings, none of zero, on known accounts, summing to zero fund by fund."""
    if len(lines) < 2:
        raise ValidationFailed("an entry needs at least two postings", field="postings")
    for line in lines:
        if line.account not in ACCOUNTS:
            raise ValidationFailed("%(account)s is not a fund account", field="postings",
                                   params={"account": line.account})
        if line.amount == 0:
            raise ValidationFailed("a posting may not be zero", field="postings")
    by_fund: dict[str, int] = {}
    for line in lines:
        by_fund[str(line.fund_id)] = by_fund.get(str(line.fund_id), 0) + line.amount
    # Zero per fund, not only overall: each fund's trial balance then stands on its own, and money
    # moves between funds only through entries that say so on both sides (a rollover).
    if any(by_fund.values()):
        raise ValidationFailed("the postings of an entry must sum to zero for each fund", field="postings")


def accrue(base: int, rate_bp: int) -> int:
    """`base` fen at `rate_bp` basis points, rounded half-up to the fen, once per period (never per
    line or per day): 1,234,567.89 yuan at 5 bp is 61,728.39 yuan (61,728.3945 rounds down)."""
    if base < 0:
        raise ValidationFailed("the base must not be negative", field="base")
    numerator = base * rate_bp
    return (2 * numerator + 10_000) // 20_000


def period_of(period: str, day: date) -> tuple[date, date, str]:
    """The period containing `day`: its first and last days and its label (2026-03, 2026Q1, 2026)."""
    if period == "month":
        start = day.replace(day=1)
        label = f"{day.year}-{day.month:02d}"
        end = _next_month(start)
    elif period == "quarter":
        quarter = (day.month - 1) // 3
        start = date(day.year, quarter * 3 + 1, 1)
        label = f"{day.year}Q{quarter + 1}"
        end = _add_months(start, 3)
    elif period == "year":
        start = date(day.year, 1, 1)
        label = str(day.year)
        end = date(day.year + 1, 1, 1)
    else:
        raise ValidationFailed("period must be one of %(choices)s", field="period",
                               params={"choices": ", ".join(PERIODS)})
    return start, date.fromordinal(end.toordinal() - 1), label


def parse_label(period: str, label: str) -> date:
    """A day inside the period a label names ("2026Q1" -> 2026-01-01), refusing labels of another kind."""
    text = (label or "").strip().upper()
    try:
        if period == "quarter" and len(text) == 6 and text[4] == "Q" and text[5] in "1234":
            return date(int(text[:4]), (int(text[5]) - 1) * 3 + 1, 1)
        if period == "month" and len(text) == 7 and text[4] == "-":
            return date(int(text[:4]), int(text[5:]), 1)
        if period == "year" and len(text) == 4:
            return date(int(text), 1, 1)
    except ValueError:
        pass
    examples = {"quarter": "2026Q1", "month": "2026-03", "year": "2026"}
    raise ValidationFailed("period must look like %(example)s", field="period",
                           params={"example": examples.get(period, "2026Q1")})


def due_on(period_end: date, due_day: int) -> date:
    """Due by `due_day` of the month after the period: a quarter's money by the 20th of the next
    quarter's first month (seed 000 §5.5.2). A day past the month's end means its last day."""
    first = _next_month(period_end.replace(day=1))
    last = date.fromordinal(_next_month(first).toordinal() - 1).day
    return first.replace(day=min(max(due_day, 1), last))


def _next_month(day: date) -> date:
    return _add_months(day.replace(day=1), 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def rollover_lines(old_fund: object, new_fund: object, amount: int) -> list[Line]:
    """What is left available at the year's end moves to next year's fund: spent from this year (as
    carried forward), brought into the next."""
    return [Line(old_fund, AVAILABLE, -amount), Line(old_fund, CARRIED_FORWARD, amount),
            Line(new_fund, BROUGHT_FORWARD, -amount), Line(new_fund, AVAILABLE, amount)]
