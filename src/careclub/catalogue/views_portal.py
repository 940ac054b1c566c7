"""The residents' pages of the paid-service catalogue, phone first: what they can book (`/my/services`, or
one project's offer with `?project=CODE`, which the QR code on the printed notice opens), grouped by category
with each service's standard, time, fee and what is paid before the work, and their own orders below;
booking one for their own unit (`/my/services/{item}/book`: every problem at once beside its field, a fully
booked day shown on the form with what was typed kept); and following an order
(`/my/services/orders/{order}`): its price, its ticket (signed off and rated on the ticket's own page), and
its money: the prepayment or deposit and the balance paid online through the company's Stripe account, or at
the management office's cashier when the company takes no online payments, the surplus refunded, receipts.

The offer is `service.offer_for`, as for the API, so the page and `GET /api/v1/catalogue` never disagree;
booking, reading and paying are the service's and payments' own calls. Only fixed codes go through gettext;
names, standards and notes people typed are shown as typed (the templates escape them)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.catalogue import rules, service
from careclub.core.db import fetch
from careclub.core.error_messages import CODE_MESSAGES, error_text
from careclub.core.errors import AppError, NotFound, each_error
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import format_amount, format_grouped, parse_amount
from careclub.core.principal import Principal
from careclub.payments import service as payments
from careclub.payments.views import status_label as payment_status_label
from careclub.platform import resident_home
from careclub.platform.permissions import Perm
from careclub.platform.service import unit_by_code
from careclub.platform.views import page
from careclub.platform.views_admin._common import Form, as_uuid, clean, me
from careclub.tickets import service as tickets
from careclub.tickets.api import stage_name

Filter = Annotated[str | None, QueryParameter(max_length=120)]
BOOK_FIELDS = ("unit", "preferred_at", "quantity", "note")
OPEN_STATUSES = ("awaiting_prepayment", "open", "balance_due")
DAYS_SHOWN = 7  # a service with a daily capacity shows the places left this many days ahead

category_label = labeller(rules.CATEGORY_NAMES)
order_status_label = labeller(rules.ORDER_STATUS_NAMES)
prepay_label = labeller(rules.PREPAY_NAMES)

# A fee, a quantity's label and a quantity, by fee basis; a unit's own word ("台", "件") is the company's, filled
# in after translating, and a unit with no word of its own is said by the `_plain` messages.
FEE_TEXT = {"per_time": N_("%(amount)s per visit"), "per_hour": N_("%(amount)s per hour"),
            "per_m2": N_("%(amount)s / m²"), "per_unit": N_("%(amount)s per %(unit)s"),
            "per_unit_plain": N_("%(amount)s per unit")}
QUOTED_TEXT = N_("%(low)s to %(high)s, quoted after an inspection")
QUANTITY_LABELS = {"per_hour": N_("Hours"), "per_m2": N_("Area in m²"), "per_unit": N_("How many (%(unit)s)"),
                   "per_unit_plain": N_("How many")}
QUANTITY_TEXT = {"per_hour": N_("%(num)s h"), "per_m2": N_("%(num)s m²"), "per_unit": N_("%(num)s %(unit)s")}
DELIVERY_TEXT = N_("Done within %(hours)s h of booking")
PURPOSE_NAMES = {service.PREPAY: N_("Paid before the work"), service.BALANCE: N_("Balance")}
purpose_label = labeller(PURPOSE_NAMES)
PORTAL_DONE = {"booked": N_("Your booking is sent. You can follow it here.")}
done_text = labeller(PORTAL_DONE)
# What a page says about a value it could not read (never the service's: these are the page's own fields).
TYPED = {"when": N_("Type a day and a time, like 2026-05-01 09:30."),
         "quantity": N_("Type a number above zero, like 80 or 2.5."),
         "unit": N_("Choose one of your homes.")}
typed_error = labeller(TYPED)
# Why a Pay button led back to the order instead of to the checkout (codes with page wording of their own).
PAY_ERRORS = ("online_payments_unavailable", "payment_provider_unavailable", "already_paid")
PAY_FAILED = N_("The payment could not be started. Please try again, or pay at the management office's cashier.")
PAY_WHAT = {"prepay": service.PREPAY, "balance": service.BALANCE}


# ---- how a service and its money read ---------------------------------------------------------

def amount(minor: int | None, currency: str) -> str:
    """Money for residents: "¥5.00" in yuan, else the amount and its currency."""
    if minor is None:
        return ""
    return f"¥{format_grouped(minor)}" if currency == "CNY" else f"{format_grouped(minor)} {currency}"


def _basis(version: dict[str, Any]) -> str:
    """The fee basis, told apart for a per-unit fee whose unit has no word of its own."""
    basis = str(version["fee_basis"])
    return "per_unit_plain" if basis == "per_unit" and not (version.get("unit_label") or "").strip() else basis


def _unit_word(version: dict[str, Any]) -> str:
    return str(version.get("unit_label") or "").strip()


def fee_text(version: dict[str, Any], currency: str) -> str:
    """The fee standard a version (or a catalogue row) is priced by, in the reader's language."""
    basis = version["fee_basis"]
    if basis == "quoted":
        return _(QUOTED_TEXT) % {"low": amount(version["fee_min"], currency),
                                 "high": amount(version["fee_max"], currency)}
    if basis not in FEE_TEXT:
        return amount(version["fee_amount"], currency)
    return _(FEE_TEXT[_basis(version)]) % {"amount": amount(version["fee_amount"], currency),
                                            "unit": _unit_word(version)}


def prepay_text(version: dict[str, Any], currency: str) -> str:
    if version["prepay_kind"] == "none":
        return prepay_label("none")
    return f"{prepay_label(version['prepay_kind'])}: {amount(version['prepay_amount'], currency)}"


def counted(version: dict[str, Any]) -> bool:
    """Whether the resident says how much (hours, m², units): a visit is one visit, a quote is the company's."""
    return version["fee_basis"] in QUANTITY_LABELS


def quantity_label(version: dict[str, Any]) -> str:
    basis = _basis(version)
    return _(QUANTITY_LABELS[basis]) % {"unit": _unit_word(version)} if basis in QUANTITY_LABELS else ""


def quantity_text(version: dict[str, Any], quantity_centi: int) -> str:
    num = format_amount(quantity_centi).removesuffix(".00")
    if "." in num:
        num = num.rstrip("0")
    basis = _basis(version)
    return _(QUANTITY_TEXT[basis]) % {"num": num, "unit": _unit_word(version)} if basis in QUANTITY_TEXT else num


def delivery_text(version: dict[str, Any]) -> str:
    hours = version.get("delivery_hours")
    return _(DELIVERY_TEXT) % {"hours": hours} if hours else ""


def _entry(row: dict[str, Any], currency: str) -> dict[str, Any]:
    return {**row, "fee_text": fee_text(row, currency), "prepay_text": prepay_text(row, currency),
            "delivery_text": delivery_text(row), "prepaid_first": row["prepay_kind"] != "none"}


def _grouped(rows: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """The offer by category, in the catalogue's order of categories."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["category"], []).append(_entry(row, currency))
    order = {c: i for i, c in enumerate(rules.CATEGORIES)}
    return [{"code": code, "name": category_label(code), "items": sorted(items, key=lambda r: r["name"])}
            for code, items in sorted(groups.items(), key=lambda g: (order.get(g[0], len(order)), g[0]))]


def _staff_elsewhere(request: Request[Any, Any, Any], target: str) -> Response[Any] | None:
    """Staff who open a resident's page go to theirs."""
    return Redirect(target) if me(request).kind != "member" else None


def _page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    return page(request, template, status_code=status_code, order_status_label=order_status_label,
                amount=amount, **ctx)


async def _unit_labels(unit_ids: list[uuid.UUID]) -> list[tuple[str, str]]:
    if not unit_ids:
        return []
    rows = await fetch("SELECT pu.id, b.code || '-' || pu.code AS label, b.name AS building FROM property_unit pu"
                       " JOIN property_building b ON b.id = pu.building WHERE pu.id = ANY($1::uuid[])"
                       " ORDER BY b.code, pu.code", unit_ids)
    return [(str(r["id"]), f"{r['label']} · {r['building']}") for r in rows]


# ---- the offer and my orders ------------------------------------------------------------------

@get("/my/services", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_services(request: Request[Any, Any, Any], project: Filter = None) -> Response[Any]:
    if (elsewhere := _staff_elsewhere(request, "/catalogue")) is not None:
        return elsewhere
    principal = me(request)
    code = (project or "").strip()[:64] or None
    rows = await service.offer_for(principal, code)  # 404 for a project that is not the resident's
    project_row = await unit_by_code(code) if code else None
    orders = await service.my_orders(principal, limit=50)
    currency = principal.tenant.currency
    return _page(request, "catalogue/my_services.html", groups=_grouped(rows, currency), project=project_row,
                 surveys=await service.list_surveys(principal),
                 has_home=bool(await tickets.resident_units(principal)),
                 orders=[{**o, "price_text": amount(o["price"], o["currency"])} for o in orders])


async def open_orders(principal: Principal) -> int:
    """How many of the resident's orders are still going (booked, waiting for money or work, a balance due)."""
    return sum(1 for o in await service.my_orders(principal, limit=200) if o["status"] in OPEN_STATUSES)


# ---- booking ----------------------------------------------------------------------------------

async def _offered(principal: Principal, item_id: uuid.UUID) -> dict[str, Any]:
    """The published service as the resident's catalogue shows it; 404 when it is not on offer to him."""
    for row in await service.offer_for(principal, None):
        if row["id"] == item_id:
            return row
    raise NotFound("this service is not on offer", code="service_item_not_found")


def _parse_when(text: str, zone: str) -> datetime | None:
    """A day and time typed in the company's zone ("2026-05-01T09:30" from the picker, or with a space),
    as UTC. Raises ValueError when it is no such thing."""
    value = text.strip().replace(" ", "T", 1)
    if "T" not in value:
        raise ValueError("a day without a time")
    local = datetime.fromisoformat(value)
    if local.tzinfo is not None:
        raise ValueError("a local time carries no zone")
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _day_of(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _quantity(text: str) -> int:
    value = parse_amount(text.strip(), field="quantity")
    if value <= 0:
        raise ValueError("the quantity must be above zero")
    return value


async def _book_page(request: Request[Any, Any, Any], item: dict[str, Any], *, form: dict[str, str],
                     errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
    principal = me(request)
    currency = principal.tenant.currency
    today = await service.today()
    places: list[dict[str, Any]] = []
    chosen = _day_of(form.get("preferred_at", ""))
    chosen_left = None
    if item["daily_capacity"]:
        for n in range(DAYS_SHOWN):
            day = today + timedelta(days=n)
            places.append({"day": day.isoformat(), "left": await service.slots_left(item["id"], day)})
        if chosen is not None and chosen >= today:
            chosen_left = await service.slots_left(item["id"], chosen)
    estimate = None
    if item["fee_basis"] != "quoted":
        quantity = 100
        if counted(item):
            try:
                quantity = _quantity(form.get("quantity", ""))
            except (ValueError, AppError):
                quantity = 0
        if quantity:
            estimate = amount(rules.price(item, quantity), currency)
    units = await _unit_labels(await tickets.resident_units(principal))
    return _page(request, "catalogue/my_book.html", status_code=status_code, item=_entry(item, currency), form=form,
                 errors=errors or {}, units=units, places=places, chosen=chosen.isoformat() if chosen else "",
                 chosen_left=chosen_left, estimate=estimate, counted=counted(item),
                 quantity_label=quantity_label(item))


@get("/my/services/{item_id:uuid}/book", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_book_form(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Response[Any]:
    if (elsewhere := _staff_elsewhere(request, "/catalogue")) is not None:
        return elsewhere
    principal = me(request)
    item = await _offered(principal, item_id)
    units = await tickets.resident_units(principal)
    form = {"unit": str(units[0]) if len(units) == 1 else "", "preferred_at": "", "note": "",
            "quantity": "1" if item["fee_basis"] in ("per_hour", "per_unit") else ""}
    return await _book_page(request, item, form=form)


@post("/my/services/{item_id:uuid}/book", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_book(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Book it (every problem at once, beside its field); a day with no place left is refused on the form with
    what was typed kept. Booked, the resident follows the order on its own page."""
    if (elsewhere := _staff_elsewhere(request, "/catalogue")) is not None:
        return elsewhere
    principal = me(request)
    item = await _offered(principal, item_id)
    form = clean(data, *BOOK_FIELDS)
    mine: dict[str, str] = {}  # what the page could not read, said in its own words
    preferred_at = None
    if form["preferred_at"]:
        try:
            preferred_at = _parse_when(form["preferred_at"], principal.tenant.timezone)
        except (ValueError, OverflowError):  # no such time, or one no calendar of ours reaches
            mine["preferred_at"] = typed_error("when")
    quantity = 100
    if counted(item):
        try:
            quantity = _quantity(form["quantity"])
        except (ValueError, AppError):
            mine["quantity"] = typed_error("quantity")
    unit_id = as_uuid(form["unit"])
    if form["unit"] and unit_id is None:
        mine["unit"] = typed_error("unit")
    try:
        # With a value the page could not read, a quantity of zero makes sure the service refuses (and names
        # every other problem at once) rather than books; its word on those fields gives way to the page's.
        order = await service.book(principal, item_id=item_id, unit_id=unit_id, preferred_at=preferred_at,
                                   quantity_centi=0 if mine else quantity, note=form["note"], source="portal")
    except AppError as exc:
        errors = _form_errors(exc)
        if mine and "quantity" not in mine:
            errors.pop("quantity", None)
        errors.update(mine)
        status = exc.status_code if exc.status_code in (409, 422) and not mine else 422
        return await _book_page(request, item, form=form, errors=errors, status_code=status)
    if mine:  # (the service refuses a quantity of zero, so never here) a 422 rolls the booking back
        return await _book_page(request, item, form=form, errors=mine, status_code=422)
    return Redirect(f"/my/services/orders/{order['id']}?done=booked", status_code=303)


# Refusals that name their field by its code ("note is at most 2000 characters"), said beside the field
# without it (the tickets' wording of the same rule).
TOO_LONG = N_("at most %(value)s characters")


def _form_errors(exc: AppError) -> dict[str, str]:
    """Each refusal beside the field it names; "the item" (no longer on offer, not in that project) and the
    rest above the form."""
    out: dict[str, str] = {}
    for error in each_error(exc):
        key = error.field if error.field in BOOK_FIELDS else "form"
        if error.template == "%(field)s is at most %(limit)s characters" and key != "form":
            text = _(TOO_LONG) % {"value": error.params.get("limit", "")}
        else:
            text = error_text(error)
        out[key] = f"{out[key]} {text}" if key in out and text not in out[key] else text
    return out


# ---- one order --------------------------------------------------------------------------------

async def _online_payments() -> bool:
    settings = await payments.current_settings()
    return bool(settings["stripe_account_id"] and settings["charges_enabled"])


def _pay_error(code: str | None) -> str | None:
    if not code:
        return None
    # (the code's own page wording, said directly: error_text() would give an English reader the empty message)
    return _(CODE_MESSAGES[code]) if code in PAY_ERRORS and code in CODE_MESSAGES else _(PAY_FAILED)


@get("/my/services/orders/{order_id:uuid}", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_order(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID], done: Filter = None,
                   pay_error: Filter = None, complaint_error: Filter = None) -> Response[Any]:
    if (elsewhere := _staff_elsewhere(request, "/catalogue")) is not None:
        return elsewhere
    principal = me(request)
    order = await service.get_order(principal, order_id)  # 404 to anyone but the order's own residents
    version = order["item_version_row"]
    currency = order["currency"]
    ticket = order["ticket_row"]
    ticket_type = await tickets.get_type(ticket["type"])
    units = await _unit_labels([order["unit"]] if order["unit"] else [])
    live = order["status"] != "cancelled"
    prepay_due = live and order["prepay_kind"] != "none" and order["prepaid"] == 0 and order["status"] in (
        "awaiting_prepayment", "open")
    balance_due = order["status"] == "balance_due" and order["balance"] > 0
    receipts = [{**p, "purpose_text": purpose_label(p["purpose"]), "status_text": payment_status_label(p["status"]),
                 "amount_text": amount(p["amount"], p["currency"]),
                 "refunded_text": amount(p["refunded_amount"], p["currency"]) if p["refunded_amount"] else "",
                 "receipt": p["status"] in ("paid", "partially_refunded", "refunded")}
                for p in order["payments"] if p["status"] not in ("open", "expired", "failed")]
    return _page(
        request, "catalogue/my_order.html", o=order, v=version, fee=fee_text(version, currency),
        delivery=delivery_text(version), prepay_name=prepay_label(order["prepay_kind"]),
        quantity=quantity_text(version, order["quantity_centi"]) if counted(version) else "",
        unit_label=units[0][1] if units else "", ticket_status=stage_name(ticket_type, ticket["status"]),
        ticket_closed=ticket["closed_at"] is not None, prepay_due=prepay_due, balance_due=balance_due,
        online=await _online_payments(), receipts=receipts, notice=done_text(done) if done in PORTAL_DONE else None,
        pay_error=_pay_error(pay_error), may_complain=ticket["resolved_at"] is not None or ticket["reopen_count"] > 0,
        complaint_error=_(COMPLAINT_MISSING) if complaint_error else None)


@post("/my/services/orders/{order_id:uuid}/pay", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_order_pay(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """The order page's Pay button: straight to the company's checkout for the prepayment or deposit (`prepay`)
    or the balance (`balance`); asking twice answers the same open checkout, so nothing is paid twice. Refused
    (no online payments, paid already), back to the order saying why."""
    principal = me(request)
    await service.get_order(principal, order_id)  # 404 to anyone but the order's own residents
    kind = PAY_WHAT.get(clean(data, "what")["what"])
    back = f"/my/services/orders/{order_id}"
    if kind is None:
        return Redirect(f"{back}?pay_error=unknown", status_code=303)
    try:
        started = await payments.start_checkout(principal, kind, order_id, site_url=request.app.state.settings.site_url,
                                                locale=principal.locale or principal.tenant.locale)
    except AppError as exc:
        return Redirect(f"{back}?pay_error={quote(exc.code)}", status_code=303)
    return Redirect(started["checkout_url"], status_code=303)


COMPLAINT_MISSING = N_("Say in a few words what is wrong (at most 200 characters).")


@post("/my/services/orders/{order_id:uuid}/complaint", opt={"permission": Perm.SELF_SERVICE},
      include_in_schema=False)
async def my_order_complaint(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID],
                             data: Form) -> Response[Any]:
    """A complaint about the service from the resident: a complaint ticket tied to the order, followed on his
    requests' page like any other."""
    principal = me(request)
    form = clean(data, "title", "description")
    title, description = form["title"].strip(), form["description"].strip()
    if not title or len(title) > 200 or len(description) > 4000:
        return Redirect(f"/my/services/orders/{order_id}?complaint_error=1#complaint", status_code=303)
    ticket = await service.complain(principal, order_id, title=title, description=description)
    return Redirect(f"/my/tickets/{ticket['id']}", status_code=303)


ROUTES: list[Any] = [my_services, my_book_form, my_book, my_order, my_order_pay, my_order_complaint]


# ---- the resident's home tile ------------------------------------------------------------------

SERVICES_TILE = N_("Paid services")
SERVICES_LINE = N_("Book cleaning, repairs and more; follow your orders")
SURVEY_LINE = N_("A survey is waiting for your answer")


async def services_tile(principal: Principal) -> resident_home.Tile | None:
    """Shown when the company offers the resident something: the services on offer, his orders still going,
    and first a survey of his project he has not answered yet, when there is one."""
    offered = await service.offer_for(principal, None)
    surveys = [s for s in await service.list_surveys(principal) if not s["answered"]]
    if not offered and not surveys:
        return None
    going = await open_orders(principal)
    if surveys:
        return resident_home.Tile(key="services", title=_(SERVICES_TILE), line=_(SURVEY_LINE),
                                  link=f"/my/surveys/{surveys[0]['id']}", count=going or None)
    return resident_home.Tile(key="services", title=_(SERVICES_TILE), line=_(SERVICES_LINE), link="/my/services",
                              count=going or None)


resident_home.register(services_tile, order=30)
