"""What the catalogue's operations pages share (agreements, the loss review, quality, surveys, a subcontractor's
people): the fixed labels in the reader's language, money as people read it ("¥1,314.50"), reading what people
type (yuan, whole numbers, days) beside the service's refusals shown next to their fields, and the page
renderer. Only fixed codes go through gettext; names, titles and notes people typed are shown as typed (the
templates escape them).

Kept apart from the staff pages' views_common.py on purpose: these pages use the platform's and the ticket
pages' shared helpers and nothing that is still being written."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Request
from litestar.response import Template

from careclub.catalogue import rules, service
from careclub.catalogue.views_common import (  # noqa: F401  (the ops pages' modules import them from here)
    CHOOSE_FROM_LIST,
    ORDER_PILLS,
    Filter,
    amount_shown,
    fee_text,
    field_errors,
    money_text,
    order_status_label,
    quantity_text,
    stamp,
    typed_money,
    typed_uuid,
    typed_whole,
)
from careclub.catalogue.views_common import refused_status as common_refused_status
from careclub.core.error_messages import error_text
from careclub.core.errors import AppError
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_amount
from careclub.platform.views import page
from careclub.platform.views_admin._common import me

WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)
WEEKDAY_NAMES = {"0": N_("Monday"), "1": N_("Tuesday"), "2": N_("Wednesday"), "3": N_("Thursday"),
                 "4": N_("Friday"), "5": N_("Saturday"), "6": N_("Sunday")}
AGREEMENT_STATUS_NAMES = {"active": N_("In force"), "ended": N_("Ended")}
SURVEY_STATUS_NAMES = {"open": N_("Open"), "closed": N_("Closed")}
# the pill each status is drawn as (funds.css colours)
AGREEMENT_PILLS = {"active": "status-approved", "ended": "off"}
REVIEW_PILLS = {"open": "change-changed", "decided": "status-approved", "stopping": "change-changed",
                "stopped": "off"}
weekday_label = labeller(WEEKDAY_NAMES)
agreement_status_label = labeller(AGREEMENT_STATUS_NAMES)
survey_status_label = labeller(SURVEY_STATUS_NAMES)
review_status_label = labeller(service.REVIEW_STATUS_NAMES)
decision_label = labeller(service.DECISION_NAMES)


def percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f} %" if whole else "—"


def schedule_text(every_weeks: int, weekday: int, time_of_day: str) -> str:
    """"Every week on Saturday at 09:30", "Every 2 weeks on Saturday at 09:30"."""
    day = weekday_label(str(weekday))
    if every_weeks == 1:
        return _("Every week on %(day)s at %(time)s") % {"day": day, "time": time_of_day}
    return _("Every %(num)s weeks on %(day)s at %(time)s") % {"num": every_weeks, "day": day, "time": time_of_day}


def labels(currency: str) -> dict[str, Any]:
    return {"weekday_label": weekday_label, "agreement_status_label": agreement_status_label,
            "survey_status_label": survey_status_label, "order_status_label": order_status_label,
            "review_status_label": review_status_label, "decision_label": decision_label,
            "money_text": lambda minor: money_text(minor, currency), "quantity_text": quantity_text,
            "schedule_text": schedule_text, "agreement_pill": AGREEMENT_PILLS.get, "order_pill": ORDER_PILLS.get,
            "review_pill": REVIEW_PILLS.get}


def ops_page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    principal = me(request)
    return page(request, template, status_code=status_code, **labels(principal.tenant.currency), **ctx)


# ---- what people type --------------------------------------------------------------------------

def typed_quantity(text: str, field: str, errors: dict[str, str]) -> int | None:
    """A quantity (visits, hours, m²) with at most two places, in hundredths: "60" → 6000, "1.5" → 150."""
    value = (text or "").strip().replace(",", "")
    if not value:
        return None
    try:
        centi = parse_amount(value, field=field)
    except AppError:
        centi = 0
    if centi <= 0:
        errors[field] = _("Type a number above zero, like 80 or 2.5.")
        return None
    return centi


def typed_day(text: str, field: str, errors: dict[str, str]) -> date | None:
    """A day typed YYYY-MM-DD (a date input sends that form), within the years the catalogue counts."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = _("Use the form YYYY-MM-DD.")
        return None
    problems: list[AppError] = []
    if not rules.check_day(problems, field, day):
        errors[field] = error_text(problems[0])
        return None
    return day


def refused_status(exc: AppError) -> int:
    """A refused form: as the other catalogue pages (views_common.refused_status), and 404 when what the form
    named is out of the person's reach (a unit, a service)."""
    return 404 if exc.status_code == 404 else common_refused_status(exc)


def typed_choice(text: str, field: str, errors: dict[str, str]) -> uuid.UUID | None:
    """A choice from a list (an id); "choose from the list" when what came is none of the list's."""
    return typed_uuid(text, field, errors, CHOOSE_FROM_LIST)


def required(errors: dict[str, str], field: str) -> None:
    errors.setdefault(field, _("Fill this in."))
