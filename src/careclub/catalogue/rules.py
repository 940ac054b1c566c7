"""The catalogue's rules as data and pure functions: fee bases, prepayment kinds, categories, what an item
version must say, and how an order is priced and settled. The service, the API, the pages and the tenant
file all validate through `check_version`, so each says the same thing about the same mistake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from careclub.core.errors import AppError, ValidationFailed
from careclub.core.i18n import N_

CATEGORIES = ("cleaning", "repair", "moving", "car_wash", "errand", "housekeeping", "other")
CATEGORY_NAMES = {"cleaning": N_("Cleaning"), "repair": N_("Appliance and home repair"), "moving": N_("Moving help"),
                  "car_wash": N_("Car washing"), "errand": N_("Pick-ups and errands"),
                  "housekeeping": N_("Housekeeping"), "other": N_("Other services")}

FEE_BASES = ("per_time", "per_hour", "per_unit", "per_m2", "quoted")
FEE_BASIS_NAMES = {"per_time": N_("per visit"), "per_hour": N_("per hour"), "per_unit": N_("per unit"),
                   "per_m2": N_("per m²"), "quoted": N_("quoted")}
# what GET /api/v1/catalogue says a fee is "per"
FEE_PER = {"per_time": "time", "per_hour": "hour", "per_unit": "unit", "per_m2": "m2", "quoted": "quote"}

PREPAY_KINDS = ("none", "prepayment", "deposit")
PREPAY_NAMES = {"none": N_("Paid after the service"), "prepayment": N_("Prepayment"), "deposit": N_("Deposit")}

VERSION_STATUSES = ("draft", "in_review", "returned", "approved", "rejected", "superseded")
VERSION_STATUS_NAMES = {"draft": N_("Draft"), "in_review": N_("In approval"), "returned": N_("Returned for changes"),
                        "approved": N_("Approved"), "rejected": N_("Rejected"), "superseded": N_("Superseded")}
EDITABLE = ("draft", "returned")

ITEM_STATUSES = ("draft", "published", "stopped")
ITEM_STATUS_NAMES = {"draft": N_("Not yet published"), "published": N_("Published"), "stopped": N_("Stopped")}

ORDER_STATUSES = ("awaiting_prepayment", "open", "balance_due", "settled", "cancelled")
ORDER_STATUS_NAMES = {"awaiting_prepayment": N_("Awaiting prepayment"), "open": N_("Open"),
                      "balance_due": N_("Balance to pay"), "settled": N_("Settled"), "cancelled": N_("Cancelled")}
ORDER_SOURCES = ("phone", "walk_in", "portal", "agreement")
# the ticket core's source for each booking source
TICKET_SOURCE = {"phone": "phone", "walk_in": "walk_in", "portal": "portal", "agreement": "visit"}

MAX_MONEY = 10**13  # 100 000 000 000.00: no service costs more
MAX_QUANTITY_CENTI = 100_000_00  # 100 000 hours, units or m²


FIRST_YEAR, LAST_YEAR = 2000, 2100  # dates outside are typing mistakes (and would overflow date arithmetic)


def check_day(problems: list[AppError], field: str, value: Any) -> bool:
    """Whether a date is one the catalogue counts with; a problem named by its field when not."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        problems.append(ValidationFailed("a date between the years 2000 and 2100", field=field))
        return False
    return True


@dataclass(frozen=True)
class VersionSpec:
    """One version of an item as proposed: money in minor units, already parsed."""

    name: str
    description: str = ""
    standard: str = ""
    delivery_hours: int | None = None
    provider_department: Any = None
    subcontractor: Any = None
    fee_basis: str = "per_time"
    fee_amount: int | None = None
    fee_min: int | None = None
    fee_max: int | None = None
    unit_label: str = ""
    prepay_kind: str = "none"
    prepay_amount: int = 0
    long_term: bool = False
    daily_capacity: int | None = None
    note: str = ""


def _text(problems: list[AppError], field: str, value: str, limit: int, *, required: bool = False) -> None:
    if required and not value.strip():
        problems.append(ValidationFailed("%(field)s is required", field=field, params={"field": field}))
    elif len(value) > limit:
        problems.append(ValidationFailed("%(field)s is at most %(limit)s characters", field=field,
                                         params={"field": field, "limit": limit}))


def _money_ok(problems: list[AppError], field: str, value: int | None) -> None:
    if value is not None and not 0 <= value < MAX_MONEY:
        problems.append(ValidationFailed("%(field)s is out of range", field=field, params={"field": field}))


def check_version(spec: VersionSpec) -> list[AppError]:
    """Every problem of a proposed version at once, each naming its field."""
    problems: list[AppError] = []
    _text(problems, "name", spec.name, 120, required=True)
    _text(problems, "description", spec.description, 4000)
    _text(problems, "standard", spec.standard, 4000)
    _text(problems, "unit_label", spec.unit_label, 16)
    _text(problems, "note", spec.note, 2000)
    if spec.fee_basis not in FEE_BASES:
        problems.append(ValidationFailed("fee_basis must be one of %(choices)s", field="fee_basis",
                                         params={"choices": ", ".join(FEE_BASES)}))
    elif spec.fee_basis == "quoted":
        if spec.fee_min is None:
            problems.append(ValidationFailed("a quoted price needs the lowest price of its range", field="fee_min"))
        if spec.fee_max is None:
            problems.append(ValidationFailed("a quoted price needs the highest price of its range", field="fee_max"))
        if spec.fee_min is not None and spec.fee_max is not None and spec.fee_min > spec.fee_max:
            problems.append(ValidationFailed("the lowest price must not be above the highest", field="fee_max"))
    elif spec.fee_amount is None:
        problems.append(ValidationFailed("the fee is required", field="fee_amount"))
    for field in ("fee_amount", "fee_min", "fee_max"):
        _money_ok(problems, field, getattr(spec, field))
    if spec.fee_basis == "per_unit" and not spec.unit_label.strip():
        problems.append(ValidationFailed("say what one unit is (a set, an item, a bag)", field="unit_label"))
    if spec.prepay_kind not in PREPAY_KINDS:
        problems.append(ValidationFailed("prepay_kind must be one of %(choices)s", field="prepay_kind",
                                         params={"choices": ", ".join(PREPAY_KINDS)}))
    elif spec.prepay_kind == "none" and spec.prepay_amount:
        problems.append(ValidationFailed("an amount to pay before the work needs a prepayment or a deposit",
                                         field="prepay_amount"))
    elif spec.prepay_kind != "none" and spec.prepay_amount <= 0:
        problems.append(ValidationFailed("a prepayment or deposit needs an amount above zero", field="prepay_amount"))
    _money_ok(problems, "prepay_amount", spec.prepay_amount)
    if spec.delivery_hours is not None and not 1 <= spec.delivery_hours <= 24 * 366:
        problems.append(ValidationFailed("delivered within 1 to 8784 hours", field="delivery_hours"))
    if spec.daily_capacity is not None and not 1 <= spec.daily_capacity <= 10_000:
        problems.append(ValidationFailed("the daily capacity is 1 to 10000 bookings", field="daily_capacity"))
    if spec.provider_department is not None and spec.subcontractor is not None:
        problems.append(ValidationFailed("a service is provided by a department or by a subcontractor, not both",
                                         field="subcontractor"))
    if spec.provider_department is None and spec.subcontractor is None:
        problems.append(ValidationFailed("choose the department or subcontractor that provides it",
                                         field="provider_department"))
    return problems


def price(version: dict[str, Any], quantity_centi: int) -> int | None:
    """The order's price by its version: the fee times the quantity, rounded half up to the minor unit; a
    quoted service has no price until it is quoted."""
    if version["fee_basis"] == "quoted" or version["fee_amount"] is None:
        return None
    return (version["fee_amount"] * quantity_centi + 50) // 100


def check_final(version: dict[str, Any], final: int) -> list[AppError]:
    """A final charge must be inside a quoted service's stated range: the fee standard is what was approved."""
    if final < 0 or final >= MAX_MONEY:
        return [ValidationFailed("final_amount is out of range", field="final_amount")]
    if version["fee_basis"] == "quoted" and not version["fee_min"] <= final <= version["fee_max"]:
        return [ValidationFailed("a quoted service is charged within its approved range", code="outside_fee_range",
                                 field="final_amount")]
    return []


@dataclass(frozen=True)
class Settlement:
    final: int
    balance: int  # still to collect
    refund: int  # to give back


def settle(final: int, prepaid: int) -> Settlement:
    """The final charge against what was paid on account: the extra is charged, the surplus refunded."""
    return Settlement(final=final, balance=max(final - prepaid, 0), refund=max(prepaid - final, 0))
