"""What the customer archive's pages share: the fixed labels in the reader's language (uses, statuses,
roles, kinds, record kinds, ticket types and stages), the page renderer, and reading what people type beside
the refusals shown next to their fields. Only fixed codes go through gettext; what people typed never does."""

from __future__ import annotations

import copy
from collections.abc import Awaitable
from datetime import date
from typing import Annotated, Any, TypeVar

from litestar import Request
from litestar.params import QueryParameter
from litestar.response import Template

from careclub.core import clock
from careclub.core.db import current_transaction
from careclub.core.error_messages import error_text
from careclub.core.errors import AppError, each_error
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.platform.permissions import Perm
from careclub.platform.views import page
from careclub.platform.views_admin._common import me
from careclub.tickets import rules
from careclub.tickets.service._archive_rules import format_area

Filter = Annotated[str | None, QueryParameter(max_length=120)]

USE_NAMES = {"residential": N_("Residential"), "office": N_("Office"), "shop": N_("Shop"), "parking": N_("Parking"),
             "other": N_("Other")}
STATUS_NAMES = {"vacant": N_("Vacant"), "occupied": N_("Occupied"), "renovating": N_("Renovating")}
ROLE_NAMES = {"owner": N_("Owner"), "tenant": N_("Tenant"), "occupant": N_("Occupant"), "contact": N_("Contact")}
KIND_NAMES = {"individual": N_("Individual"), "company": N_("Company")}
RECORD_NAMES = {"move_in": N_("Move-in"), "renovation": N_("Renovation file"), "payment": N_("Payment"),
                "deposit": N_("Deposit"), "violation": N_("Violation"), "arrears": N_("Arrears"), "note": N_("Note")}
# the unit page's sections of records, in the order of a unit's life
RECORD_SECTIONS = [("move_in", N_("Move-in"), ("move_in",)),
                   ("renovation", N_("Renovation files"), ("renovation",)),
                   ("money", N_("Payments and deposits"), ("payment", "deposit")),
                   ("violations", N_("Violations and arrears"), ("violation", "arrears")),
                   ("notes", N_("Notes"), ("note",))]
# the fields' names beside which a refusal is shown, in the reader's language
FIELD_NAMES = {"code": N_("Code"), "name": N_("Name"), "floor": N_("Floor"), "area": N_("Area (m²)"),
               "use": N_("Use"), "status": N_("Status"), "phone": N_("Phone"), "email": N_("Email"),
               "emergency_name": N_("Emergency contact"), "emergency_phone": N_("Emergency contact's phone"),
               "kind": N_("Kind"), "role": N_("Role"), "starts_on": N_("From"), "ends_on": N_("Until"),
               "title": N_("Title"), "amount": N_("Amount (yuan)"), "occurred_on": N_("Date"), "note": N_("Note"),
               "building": N_("Building"), "building_name": N_("Building name"), "unit": N_("Unit"),
               "project": N_("Project"), "file": N_("File")}
_REQUIRED = ("%(field)s is required",)

use_label = labeller(USE_NAMES)
status_label = labeller(STATUS_NAMES)
role_name = labeller(ROLE_NAMES)
kind_name = labeller(KIND_NAMES)
record_label = labeller(RECORD_NAMES)


def ticket_type_label(row: dict[str, Any]) -> str:
    if row.get("type_name"):
        return str(row["type_name"])
    code = row["type_code"]
    return _(rules.TYPE_NAMES[code]) if code in rules.TYPE_NAMES else code


def ticket_status_label(row: dict[str, Any]) -> str:
    if row.get("status_name"):
        return str(row["status_name"])
    return _(rules.STAGE_NAMES[row["status"]]) if row["status"] in rules.STAGE_NAMES else row["status"]


def unit_label(row: dict[str, Any]) -> str:
    return f"{row['building_code']}-{row['code']}"


def archive_page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    principal = me(request)
    return page(request, template, status_code=status_code, use_label=use_label, status_label=status_label,
                role_name=role_name, kind_name=kind_name, record_label=record_label, area_text=format_area,
                ticket_type_label=ticket_type_label, ticket_status_label=ticket_status_label, unit_label=unit_label,
                may_manage=principal.can(Perm.ARCHIVE_MANAGE), **ctx)


def refused_status(exc: AppError) -> int:
    """422, or the error's own status when it says more (404 out of reach, 409 clash, 413 too large)."""
    return exc.status_code if exc.status_code in (404, 409, 413, 415, 422) else 422


def field_errors(exc: AppError, fields: tuple[str, ...], rename: dict[str, str] | None = None) -> dict[str, str]:
    """Every error beside the field it names (renamed by `rename`) when the form has it, else above the form;
    the field is named by its label in the reader's language, never by its code."""
    out: dict[str, str] = {}
    for error in each_error(exc):
        name = (rename or {}).get(error.field or "", error.field or "")
        if error.template in _REQUIRED:
            text = _("Fill this in.")
        elif "field" in error.params and error.field in FIELD_NAMES:
            shown = copy.copy(error)
            shown.params = {**error.params, "field": _(FIELD_NAMES[error.field])}
            text = error_text(shown)
        else:
            text = error_text(error)
        key = name if name in fields else "form"
        out[key] = f"{out[key]} {text}" if key in out and text not in out[key] else text
    return out


def typed_day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = _("Use the form YYYY-MM-DD.")
        return None


def whole(text: str, field: str, errors: dict[str, str]) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not value.lstrip("-").isdigit() or len(value) > 5:
        errors[field] = _("Type a whole number.")
        return None
    return int(value)


def stamp() -> str:
    return f"{clock.local(clock.now()):%Y%m%d}"


def choices(rows: list[dict[str, Any]], label: Any) -> list[tuple[str, str]]:
    return [(str(r["id"]), label(r)) for r in rows]


def coded(codes: tuple[str, ...], label: Any) -> list[tuple[str, str]]:
    return [(c, label(c)) for c in codes]


T = TypeVar("T")


class _Undone(Exception):
    pass


async def attempt(errors: dict[str, str], write: Awaitable[T]) -> T | None:
    """Run a write in a savepoint and undo it when the page found problems of its own: the service's refusals
    are still shown with the page's, all at once, and the form drawn again shows nothing half-saved."""
    try:
        async with current_transaction().connection.transaction():
            result = await write
            if errors:
                raise _Undone
            return result
    except _Undone:
        return None
