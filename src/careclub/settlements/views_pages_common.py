"""What the settlements' staff pages share: who may open them, the fixed labels in the reader's language (kinds,
cost types, stages, statuses), money as people read it, reading what people type (yuan, months, dates), the
refusals shown beside their fields, and the page renderer.

Only fixed codes go through gettext (the N_() names of rules.py and here); titles, notes, payees and reasons
people typed are shown as typed (the templates escape them)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from careclub.core import clock
from careclub.core.error_messages import CODE_MESSAGES, error_text
from careclub.core.errors import AppError, NotFound, each_error
from careclub.core.i18n import N_, current_locale, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import money_text
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, projects_in_reach
from careclub.platform.views import page
from careclub.platform.views_admin._common import me
from careclub.settlements import rules, service
from careclub.settlements.service._common import may_read, reader  # noqa: F401  (the pages import them from here)
from careclub.web.forms import AMOUNT_TYPED, DATE_TYPED, attempt, typed_date, typed_money  # noqa: F401

Filter = Annotated[str | None, QueryParameter(max_length=120)]

BUDGET_STATUS_NAMES = {"draft": N_("Draft"), "in_review": N_("In review"), "returned": N_("Returned"),
                       "approved": N_("Approved"), "rejected": N_("Rejected"), "withdrawn": N_("Withdrawn")}
PAYMENT_STATUS_NAMES = {"recorded": N_("Awaiting confirmation"), "confirmed": N_("Confirmed"),
                        "refused": N_("Refused")}
SETTLEMENT_STATUS_NAMES = {"draft": N_("Draft"), "in_review": N_("In review"), "returned": N_("Returned"),
                           "approved": N_("Approved"), "rejected": N_("Rejected")}
# the pill each status is drawn as (funds.css and pages.css colours)
PILLS = {"draft": "status-draft", "in_review": "warn", "returned": "status-returned", "approved": "status-approved",
         "rejected": "status-rejected", "withdrawn": "status-withdrawn", "recorded": "warn",
         "confirmed": "status-approved", "refused": "status-refused"}

kind_label = labeller(rules.KIND_NAMES)
cost_type_label = labeller(rules.COST_TYPE_NAMES)
stage_label = labeller(rules.STAGE_NAMES)
budget_status_label = labeller(BUDGET_STATUS_NAMES)
payment_status_label = labeller(PAYMENT_STATUS_NAMES)
settlement_status_label = labeller(SETTLEMENT_STATUS_NAMES)

# Wording beside a field, by the refusal's code: the service's own messages name fields by their codes
# ("lines[3].amount must be more than zero"), which a person never sees on a page.
FIELD_MESSAGES = {
    "line_description": N_("Say what this line is for."),
    "line_amount": N_("Type an amount more than zero."),
    "invalid_choice": N_("Choose from the list."),
    "invalid_amount": N_("Type an amount more than zero."),
    "invalid_payee": N_("Say whom the payment was made to (at most 200 characters)."),
    "invalid_title": N_("Give a title of at most 200 characters."),
    "invalid_month": N_("Give a month like 2026-11."),
    "reason_required": N_("Give the reason."),
    "invalid_rate": N_("Give the management fee as a percentage from 0 to 100 with at most two places, like 10."),
    "paid_in_future": N_("A payment is recorded once it is made: its date cannot be after today."),
}
GENERIC_CODES = ("validation_failed", "bad_request", "conflict", "not_found", "forbidden")
FILL_IN = N_("Fill this in.")
MONTH_TYPED = N_("Give a month like 2026-11.")
CHOOSE = N_("Choose from the list.")


# ---- who ----------------------------------------------------------------------------------------

async def ids_for(principal: Principal, perm: Perm) -> set[uuid.UUID] | None:
    """The projects where the person holds `perm` (None: every project; empty: none)."""
    if not principal.can(perm):
        return set()
    found = await projects_in_reach(principal, perm)
    return None if found is None else set(found)


def holds(ids: set[uuid.UUID] | None, project_id: uuid.UUID) -> bool:
    return ids is None or project_id in ids


async def projects_for(principal: Principal, *perms: Perm) -> list[dict[str, Any]]:
    """The projects in reach where the person holds any of `perms` (all in reach with none given)."""
    projects = await service.list_projects(principal)
    if not perms:
        return projects
    allowed: list[set[uuid.UUID] | None] = [await ids_for(principal, p) for p in perms]
    return [p for p in projects if any(holds(ids, p["id"]) for ids in allowed)]


def project_choices(projects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(p["code"], f"{p['name']} ({p['code']})") for p in projects]


# ---- showing ------------------------------------------------------------------------------------

def rate_shown(bp: int) -> str:
    """A fee rate as people read it: "10%", "8.5%"."""
    text = service.rate_text(bp).rstrip("0").rstrip(".")
    return f"{text}%"


def labels(currency: str) -> dict[str, Any]:
    return {"kind_label": kind_label, "cost_type_label": cost_type_label, "stage_label": stage_label,
            "budget_status_label": budget_status_label, "payment_status_label": payment_status_label,
            "settlement_status_label": settlement_status_label, "pill": lambda s: PILLS.get(s, ""),
            "money_text": lambda minor: money_text(minor, currency), "rate_shown": rate_shown}


def settlements_page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    principal = me(request)
    return page(request, template, status_code=status_code, **labels(principal.tenant.currency), **ctx)


def kind_choices(kinds: tuple[str, ...] = rules.KINDS) -> list[tuple[str, str]]:
    return [(k, kind_label(k)) for k in kinds]


def cost_type_choices() -> list[tuple[str, str]]:
    return [(t, cost_type_label(t)) for t in rules.COST_TYPES]


def stage_choices() -> list[tuple[str, str]]:
    return [(s, stage_label(s)) for s in rules.STAGES]


async def today() -> date:
    return await company_today()


def stamp() -> str:
    return f"{clock.local(clock.now()):%Y%m%d}"


def month_of(text: str | None) -> date | None:
    """A month filter ("2026-11"); anything else is no filter."""
    if not text:
        return None
    try:
        return rules.parse_month(text)
    except AppError:
        return None


def is_overdue(row: dict[str, Any], day: date) -> bool:
    """Not approved and past the day it was to be approved by."""
    return row["status"] != "approved" and row["due_on"] < day


# ---- reading what people type --------------------------------------------------------------------

def typed_month(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return rules.parse_month(text.strip()[:7] if len(text.strip()) == 10 else text.strip())
    except AppError:
        errors[field] = _(MONTH_TYPED)
        return None


def refused_status(exc: AppError) -> int:
    """A refused form: 422, or the error's own status when it says more (403, 404, 409, 413, 415)."""
    return exc.status_code if exc.status_code in (403, 404, 409, 413, 415, 422) else 422


def _translated(template: str) -> bool:
    return current_locale().startswith("en") or _(template) != template


def error_words(error: AppError, *, beside: bool) -> str:
    """What a refusal says on a page: beside a field, the field's own wording by code; else the service's
    message when it is in the reader's language (it may name amounts), else its code's wording."""
    if beside and error.code in FIELD_MESSAGES:
        return _(FIELD_MESSAGES[error.code])
    if error.template in ("%(field)s is required",):
        return _(FILL_IN)
    specific = error.code in CODE_MESSAGES and error.code not in GENERIC_CODES
    if specific and not error.params:  # a constant message: its code's wording, written for people
        return _(CODE_MESSAGES[error.code])
    if _translated(error.template) or not specific:
        return error_text(error)
    return _(CODE_MESSAGES[error.code])


def field_errors(exc: AppError, fields: tuple[str, ...], rename: dict[str, str] | None = None) -> dict[str, str]:
    """Every error of `exc` beside the field it names (renamed by `rename`) when the form has it, else together
    above the form under "form"."""
    out: dict[str, str] = {}
    for error in each_error(exc):
        name = (rename or {}).get(error.field or "", error.field or "")
        key = name if name in fields else "form"
        text = error_words(error, beside=key != "form")
        out[key] = f"{out[key]} {text}" if key in out and text not in out[key] else text
    return out


def problems_count(errors: dict[str, str]) -> int:
    return len([k for k in errors if k != "form"])


def not_found() -> NotFound:
    return NotFound("nothing here: no such page or record", code="not_found")


async def approval_view(principal: Principal, request_id: uuid.UUID | None) -> dict[str, Any] | None:
    """A budget's or a month's approval as its page shows it to every reader: the chain's steps with who signed
    and when; and whether the person may open the request itself (its requester, its approvers, approvals
    managers, and whoever reads the record itself: the approval core asks the settlements)."""
    if request_id is None:
        return None
    from careclub.approvals import service as approvals_service
    from careclub.settlements.service import _reports

    try:
        await approvals_service.visible_request(request_id, principal.user_id,
                                                manage_scope=principal.scope(Perm.APPROVALS_MANAGE), reader=principal)
        visible = True
    except NotFound:
        visible = False
    return {"id": request_id, "visible": visible, "steps": await _reports.signatures(request_id)}


async def act(run: Callable[[], Awaitable[Any]], redraw: Callable[[int, dict[str, str]], Awaitable[Response[Any]]],
              done: str) -> Response[Any]:
    """A page's button (submit, withdraw, compile): do it and go to `done`, or draw the page again with the
    refusal (a refused action changes nothing)."""
    try:
        await run()
    except AppError as exc:
        return await redraw(refused_status(exc), field_errors(exc, ()))
    return Redirect(done, status_code=303)
