"""What the catalogue's staff pages share: the fixed labels in the reader's language (categories, fee bases,
prepayment kinds, statuses, sources), a fee and an amount as people read them ("¥5.00 / m²", quoted
"¥50.00–300.00"), reading what people type (yuan, whole numbers) beside the refusals shown next to their
fields, and the page renderer. Only fixed codes go through gettext; names, standards and notes people typed
are shown as typed (the templates escape them)."""

from __future__ import annotations

import copy
import uuid
from typing import Annotated, Any

from litestar import Request
from litestar.params import QueryParameter
from litestar.response import Template

from careclub.catalogue import rules
from careclub.core import clock
from careclub.core.error_messages import error_text
from careclub.core.errors import AppError, each_error
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped, money_text
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import list_units
from careclub.platform.views import page
from careclub.platform.views_admin._common import me
from careclub.web.forms import attempt, typed_money  # noqa: F401  (the catalogue pages import them from here)

Filter = Annotated[str | None, QueryParameter(max_length=120)]

SOURCE_NAMES = {"phone": N_("Phone call"), "walk_in": N_("At the desk"), "portal": N_("Booked online"),
                "agreement": N_("Long-term agreement")}
# what a fee is "per", after the amount ("¥5.00 / m²"); a unit's own word (台, 件) is the item's unit label
PER_NAMES = {"per_time": N_("visit"), "per_hour": N_("hour"), "per_unit": N_("unit"), "per_m2": N_("m²")}
# the fields' names in the reader's language, for the refusals that name their field ("… is at most 120
# characters") and the required ones
FIELD_NAMES = {"code": N_("Code"), "name": N_("Name"), "description": N_("Description"),
               "standard": N_("Service standard"), "unit_label": N_("Unit"), "note": N_("Note"),
               "services": N_("Services offered"), "contact_name": N_("Contact name"),
               "contact_phone": N_("Contact phone"), "reference": N_("Receipt or transfer number"),
               "terms": N_("Terms"), "intro": N_("Introduction"), "comment": N_("Comment"), "reason": N_("Reason"),
               "title": N_("Title")}
_REQUIRED = ("%(field)s is required",)
# the pill each status is drawn as (funds.css colours)
ITEM_PILLS = {"draft": "status-draft", "published": "status-approved", "stopped": "off"}
VERSION_PILLS = {"draft": "status-draft", "in_review": "change-changed", "returned": "status-returned",
                 "approved": "status-approved", "rejected": "status-rejected", "superseded": "status-superseded"}
ORDER_PILLS = {"awaiting_prepayment": "change-changed", "open": "", "balance_due": "change-changed",
               "settled": "status-approved", "cancelled": "off"}

category_label = labeller(rules.CATEGORY_NAMES)
basis_label = labeller(rules.FEE_BASIS_NAMES)
prepay_label = labeller(rules.PREPAY_NAMES)
item_status_label = labeller(rules.ITEM_STATUS_NAMES)
version_status_label = labeller(rules.VERSION_STATUS_NAMES)
order_status_label = labeller(rules.ORDER_STATUS_NAMES)
source_label = labeller(SOURCE_NAMES)


def fee_text(row: dict[str, Any], currency: str) -> str:
    """A version's fee: "¥5.00 / m²", "¥80.00 / hour", "¥20.00 / 台", or a quoted range "¥50.00–300.00"."""
    basis = row.get("fee_basis")
    if basis == "quoted":
        if row.get("fee_min") is None or row.get("fee_max") is None:
            return _("quoted")
        return _("%(low)s–%(high)s, quoted") % {"low": money_text(row["fee_min"], currency),
                                                "high": format_grouped(row["fee_max"])}
    if row.get("fee_amount") is None:
        return "—"
    per = (row.get("unit_label") or _(PER_NAMES["per_unit"])) if basis == "per_unit" else \
        (_(PER_NAMES[basis]) if basis in PER_NAMES else "")
    amount = money_text(row["fee_amount"], currency)
    return f"{amount} / {per}" if per else amount


def prepay_text(row: dict[str, Any], currency: str) -> str:
    """What is paid before the work: "Prepayment ¥500.00", "Deposit ¥100.00", or "Paid after the service"."""
    kind = row.get("prepay_kind") or "none"
    if kind == "none":
        return prepay_label("none")
    return f"{prepay_label(kind)} {money_text(row.get('prepay_amount') or 0, currency)}"


def quantity_text(centi: int | None) -> str:
    if centi is None:
        return "—"
    whole, rest = divmod(centi, 100)
    return f"{whole:,}" if not rest else f"{whole:,}.{rest:02d}".rstrip("0")


def amount_shown(minor: int | None) -> str:
    """An amount as it stands in a form's field (yuan): "1,314.50"; empty for none."""
    return format_grouped(minor) if minor is not None else ""


def labels(currency: str) -> dict[str, Any]:
    return {"category_label": category_label, "basis_label": basis_label, "prepay_label": prepay_label,
            "item_status_label": item_status_label, "version_status_label": version_status_label,
            "order_status_label": order_status_label, "source_label": source_label,
            "fee_text": lambda row: fee_text(row, currency), "prepay_text": lambda row: prepay_text(row, currency),
            "money_text": lambda minor: money_text(minor, currency), "quantity_text": quantity_text,
            "item_pill": ITEM_PILLS.get, "version_pill": VERSION_PILLS.get, "order_pill": ORDER_PILLS.get}


def catalogue_page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    principal = me(request)
    return page(request, template, status_code=status_code, **labels(principal.tenant.currency), **ctx)


def refused_status(exc: AppError) -> int:
    """A refused form: 422, or the error's own status when it says more (409 clash, 413 too large, 415 type).
    Any answer of 400 or more rolls the request's transaction back, so nothing half-done stays."""
    return exc.status_code if exc.status_code in (409, 413, 415, 422) else 422


def field_errors(exc: AppError, fields: tuple[str, ...], rename: dict[str, str] | None = None) -> dict[str, str]:
    """Every error of `exc` beside the field it names (renamed by `rename`) when the form has it, else together
    above the form; a field is named by its label in the reader's language, never by its code."""
    out: dict[str, str] = {}
    for error in each_error(exc):
        name = (rename or {}).get(error.field or "", error.field or "")
        if error.template in _REQUIRED:
            text = _("Fill this in.")
        elif "field" in error.params and error.params["field"] in FIELD_NAMES:
            shown = copy.copy(error)
            shown.params = {**error.params, "field": _(FIELD_NAMES[error.params["field"]])}
            text = error_text(shown)
        else:
            text = error_text(error)
        key = name if name in fields else "form"
        out[key] = f"{out[key]} {text}" if key in out and text not in out[key] else text
    return out


def typed_whole(text: str, field: str, errors: dict[str, str]) -> int | None:
    value = (text or "").strip().replace(",", "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 6:
        errors[field] = _("Type a whole number.")
        return None
    return int(value)


def typed_uuid(text: str, field: str, errors: dict[str, str], message: str) -> uuid.UUID | None:
    """A choice from a list (an id); `message` (an N_() text) when what came is none of the list's."""
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        errors[field] = _(message)
        return None


async def units_under(principal: Principal, perm: Perm) -> list[dict[str, Any]]:
    """The org units `perm` covers for the person, in tree order; none without the right at all (asked only
    when held: the platform's query for an empty scope is not one PostgreSQL takes)."""
    return await list_units(principal, perm) if principal.can(perm) else []


def may_read_catalogue(principal: Principal) -> bool:
    return principal.kind != "member" and (principal.can(Perm.CATALOGUE_READ) or principal.can(Perm.CATALOGUE_MANAGE))


def may_read_orders(principal: Principal) -> bool:
    """The orders are the catalogue staff's and finance's (who collects and settles them)."""
    return principal.kind != "member" and (principal.can(Perm.CATALOGUE_READ) or principal.can(Perm.FINANCE_READ))


def stamp() -> str:
    return f"{clock.local(clock.now()):%Y%m%d}"


CHOOSE_FROM_LIST = N_("Choose from the list.")
