"""Service orders for the staff: the list (`/catalogue/orders`, its filters, keyset pages and Excel download;
`?unsettled=1` is the manager's report of work done but not settled at the cashier, which seed 004 §4.4.6
forbids settling privately), a clerk registering a phone or desk booking (`/catalogue/orders/new`), and an
order's page with its money: the prepayment or deposit and the balance recorded by the cashier through
payments (each with its receipt number), and the settlement after the resident's sign-off — the surplus
refunded, or the balance then due.

Who: the catalogue's staff and finance see the orders of their projects (`catalogue.read` or `finance.read`);
clerks (`tickets.handle`) register bookings; only the cashier (`finance.manage` over the order's project)
records money and settles. Every refusal is shown on the page, beside its field or above the form."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.catalogue import (
    payable,  # noqa: F401  (registers the payables the cashier's forms record)
    rules,
    service,
)
from careclub.catalogue.api import quantity_centi
from careclub.catalogue.views_common import (
    CHOOSE_FROM_LIST,
    Filter,
    amount_shown,
    attempt,
    catalogue_page,
    fee_text,
    field_errors,
    may_read_orders,
    money_text,
    order_status_label,
    quantity_text,
    refused_status,
    source_label,
    stamp,
    typed_money,
    typed_uuid,
    typed_whole,
    units_under,
)
from careclub.core.db import fetch
from careclub.core.errors import AppError, Forbidden, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.paging import decode_cursor, encode_cursor
from careclub.core.principal import Principal
from careclub.payments import rules as payment_rules
from careclub.payments import service as payments
from careclub.payments.views import method_label
from careclub.payments.views import status_label as payment_status_label
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import PER_PAGE, Form, as_uuid, clean, keyset_pages, me
from careclub.tickets import service as tickets
from careclub.tickets.api import stage_name
from careclub.tickets.views import grouped_units, unit_choices
from careclub.web import exports

BOOK_FIELDS = ("item", "unit", "project", "contact_name", "contact_phone", "preferred_date", "preferred_time",
               "quantity", "source", "note")
PAY_FIELDS = ("method", "reference")
SETTLE_FIELDS = ("quantity", "final_amount", "note")
COST_FIELDS = ("labour_minutes", "labour_rate", "materials_cost", "subcontractor_fee")
COMPLAINT_FIELDS = ("title", "description")
PURPOSE_NAMES = {service.PREPAY: N_("Prepayment or deposit"), service.BALANCE: N_("Balance")}
purpose_label = labeller(PURPOSE_NAMES)
DONE = {"booked": N_("The booking is registered; its ticket is with the providing department."),
        "prepaid": N_("The prepayment is recorded: the work may go ahead."),
        "balance": N_("The balance is recorded: the order is settled."),
        "settled": N_("The order is settled."),
        "costs": N_("The costs are recorded: the month's figures count them.")}
done_text = labeller(DONE)


# ---- the list ----------------------------------------------------------------------------------

def _unit(row: dict[str, Any]) -> str:
    return f"{row['building_code']}-{row['unit_code']}" if row.get("unit_code") else ""


async def _stage_namer() -> Any:
    ticket_type = await tickets.type_by_code("service_order")
    return lambda status: stage_name(ticket_type, status)


EXPORT_COLUMNS = [
    exports.Column(N_("Number"), lambda r: r["number"], 18),
    exports.Column(N_("Service"), lambda r: r["name"], 24),
    exports.Column(N_("Fee standard"), lambda r: f"v{r['version']}", 8),
    exports.Column(N_("Property unit"), lambda r: _unit(r), 12),
    exports.Column(N_("Customer"), lambda r: r["contact_name"] or "", 14),
    exports.Column(N_("Status"), lambda r: order_status_label(r["status"]), 16),
    exports.Column(N_("Ticket"), lambda r: r["ticket_status_name"], 14),
    exports.Column(N_("Price"), lambda r: exports.Money(r["price"]) if r["price"] is not None else None, 12),
    exports.Column(N_("Prepaid"), lambda r: exports.Money(r["prepaid"]), 12),
    exports.Column(N_("Final charge"), lambda r: exports.Money(r["final_amount"])
                   if r["final_amount"] is not None else None, 12),
    exports.Column(N_("Balance due"), lambda r: exports.Money(r["balance"]), 12),
    exports.Column(N_("Refunded"), lambda r: exports.Money(r["refund_due"]), 12),
    exports.Column(N_("Currency"), lambda r: r["currency"], 8),
    exports.Column(N_("Booked"), lambda r: r["created_at"], 18),
    exports.Column(N_("Preferred time"), lambda r: r["preferred_at"], 18),
    exports.Column(N_("Work done"), lambda r: r["resolved_at"], 18),
]


def _need_orders(principal: Principal) -> None:
    if not may_read_orders(principal):
        raise Forbidden("your roles do not include the permission %(needed)s", code="forbidden",
                        params={"needed": Perm.CATALOGUE_READ})


@get("/catalogue/orders", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def order_list(request: Request[Any, Any, Any], status: Filter = None, item: Filter = None,
                     unsettled: Filter = None, q: Filter = None, after: Filter = None,
                     format: Filter = None) -> Response[Any]:
    """The orders of the person's projects, newest first, a keyset page at a time; `?unsettled=1` lists work
    done but not settled; `?format=xlsx` downloads the same filtered list. The catalogue's staff and finance
    (either right) see it."""
    principal = me(request)
    if principal.kind == "member":
        return Redirect("/my/services")
    _need_orders(principal)
    items = await service.list_items(principal) if principal.can(Perm.CATALOGUE_READ) or \
        principal.can(Perm.CATALOGUE_MANAGE) else []
    form = {"status": status if status in rules.ORDER_STATUSES else "",
            "item": item if as_uuid(item) in {i["id"] for i in items} else "",
            "unsettled": "1" if unsettled in ("1", "on", "true") else "", "q": (q or "").strip()[:60]}
    filters: dict[str, Any] = {"status": form["status"] or None, "item_id": as_uuid(form["item"]),
                               "unsettled": bool(form["unsettled"]), "q": form["q"]}
    stage = await _stage_namer()
    if format == "xlsx":
        async def read(cursor: Any, limit: int) -> list[dict[str, Any]]:
            rows = await service.list_orders(principal, **filters, after=cursor, limit=limit)
            return [{**r, "ticket_status_name": stage(r["ticket_status"])} for r in rows]

        name = "unsettled-orders" if form["unsettled"] else "service-orders"
        return await exports.xlsx(f"{name}-{stamp()}.xlsx", str(_("Service orders")), EXPORT_COLUMNS,
                                  exports.keyset_batches(read, size=200))
    rows = await service.list_orders(principal, **filters, after=decode_cursor(after), limit=PER_PAGE + 1)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    cursor = encode_cursor(rows[-1]) if more else None
    query = {k: v for k, v in form.items() if v}
    shown = [{**r, "unit_label": _unit(r), "ticket_status_name": stage(r["ticket_status"])} for r in rows]
    return catalogue_page(
        request, "catalogue/orders.html", rows=shown, form=form,
        statuses=[(s, order_status_label(s)) for s in rules.ORDER_STATUSES],
        items=[(str(i["id"]), i["name"]) for i in items], may_book=principal.can(Perm.TICKETS_HANDLE),
        tabs=[{"href": "?" + urlencode({k: v for k, v in query.items() if k != "unsettled"}),
               "on": not form["unsettled"], "label": _("All orders"), "id": "all"},
              {"href": "?" + urlencode({**query, "unsettled": "1"}), "on": bool(form["unsettled"]),
               "label": _("Done but not settled"), "id": "unsettled"}],
        **keyset_pages(query, after, cursor, len(rows), more))


# ---- a booking by phone or at the desk ---------------------------------------------------------

async def _book_page(request: Request[Any, Any, Any], form: dict[str, str], errors: dict[str, str] | None = None,
                     status_code: int = 200, q: str = "") -> Template:
    principal = me(request)
    currency = principal.tenant.currency
    offer = await service.published(None)
    units, too_many = await unit_choices(principal, q)
    projects = [(str(u["id"]), u["name"]) for u in await units_under(principal, Perm.TICKETS_HANDLE)
                if u["kind"] == "project"]
    return catalogue_page(request, "catalogue/order_new.html", status_code=status_code, form=form,
                          errors=errors or {}, items=[(str(r["id"]), f"{r['name']} · {fee_text(r, currency)}")
                                                      for r in offer],
                          unit_groups=grouped_units(units), too_many=too_many, q=q, projects=projects,
                          sources=[(s, source_label(s)) for s in ("phone", "walk_in")])


@get("/catalogue/orders/new", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def order_new(request: Request[Any, Any, Any], item: Filter = None, q: Filter = None) -> Response[Any]:
    """`?q=` narrows the units to choose from (building-unit, like A-12) for a company with many."""
    if me(request).kind == "member":
        return Redirect("/my/services")
    return await _book_page(request, {"item": (item or "")[:40], "quantity": "1", "source": "phone"},
                            q=(q or "").strip()[:40])


def preferred_at(day_text: str, time_text: str, zone: str, errors: dict[str, str]) -> datetime | None:
    """The day and time typed in the company's zone, as an instant in UTC; none when both are blank."""
    if not day_text and not time_text:
        return None
    day = clock_time = None
    try:
        day = date.fromisoformat(day_text) if day_text else None
    except ValueError:
        errors["preferred_date"] = _("Use the form YYYY-MM-DD.")
    try:
        clock_time = time.fromisoformat(time_text) if time_text else None
    except ValueError:
        errors["preferred_time"] = _("Use the form HH:MM, like 09:30.")
    if day_text and not time_text:
        errors["preferred_time"] = _("Choose the time too.")
    if time_text and not day_text:
        errors["preferred_date"] = _("Choose the day too.")
    if day is None or clock_time is None:
        return None
    return datetime.combine(day, clock_time.replace(tzinfo=None), tzinfo=ZoneInfo(zone)).astimezone(UTC)


@post("/catalogue/orders/new", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def order_book(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Register the booking (every problem at once, beside its field) and open the order."""
    principal = me(request)
    if principal.kind == "member":
        raise Forbidden("you may not register bookings for others", code="forbidden")
    form = clean(data, *BOOK_FIELDS, "q")
    errors: dict[str, str] = {}
    item_id = typed_uuid(form["item"], "item", errors, CHOOSE_FROM_LIST)
    unit_id = typed_uuid(form["unit"], "unit", errors, CHOOSE_FROM_LIST)
    project_id = typed_uuid(form["project"], "project", errors, CHOOSE_FROM_LIST)
    when = preferred_at(form["preferred_date"], form["preferred_time"], principal.tenant.timezone, errors)
    quantity = 100
    try:
        quantity = quantity_centi(form["quantity"] or "1")
    except AppError:
        errors["quantity"] = _("Type a quantity above zero, like 1 or 2.5.")
    if item_id is None:
        errors.setdefault("item", _("Choose the service."))
        return await _book_page(request, form, errors, status_code=422, q=form["q"])
    source = form["source"] if form["source"] in ("phone", "walk_in") else "phone"
    try:
        order = await attempt(errors, service.book(
            principal, item_id=item_id, unit_id=unit_id, contact_name=form["contact_name"],
            contact_phone=form["contact_phone"], preferred_at=when, quantity_centi=quantity, note=form["note"],
            source=source, project_id=project_id))
    except AppError as exc:
        errors = {**field_errors(exc, BOOK_FIELDS, rename={"preferred_at": "preferred_date"}), **errors}
        return await _book_page(request, form, errors, status_code=refused_status(exc), q=form["q"])
    if order is None:  # the service took what it could read; a field it could not is still refused (and rolled back)
        return await _book_page(request, form, errors, status_code=422, q=form["q"])
    return Redirect(f"/catalogue/orders/{order['id']}?done=booked", status_code=303)


# ---- an order's page ---------------------------------------------------------------------------

def _path(order: dict[str, Any]) -> str | None:
    return order["project"]["path"] if order.get("project") else None


async def _unit_label(unit_id: uuid.UUID | None) -> str:
    if unit_id is None:
        return ""
    rows = await fetch("SELECT b.code || '-' || pu.code AS label FROM property_unit pu JOIN property_building b"
                       " ON b.id = pu.building WHERE pu.id = $1", unit_id)
    return rows[0]["label"] if rows else ""


def settled_text(order: dict[str, Any]) -> str | None:
    """What the settlement produced: the surplus refunded, or the balance still due."""
    c = order["currency"]
    if order["final_amount"] is None:
        return None
    if order["refund_due"]:
        return _("Settled at %(final)s: %(refund)s of the prepayment is refunded to the resident.") % {
            "final": money_text(order["final_amount"], c), "refund": money_text(order["refund_due"], c)}
    if order["status"] == "balance_due":
        return _("Settled at %(final)s: %(balance)s is still to pay; record it when it comes in.") % {
            "final": money_text(order["final_amount"], c), "balance": money_text(order["balance"], c)}
    return _("Settled at %(final)s.") % {"final": money_text(order["final_amount"], c)}


async def _order_page(request: Request[Any, Any, Any], order_id: uuid.UUID, *, status_code: int = 200,
                      form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                      target: str | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    order = await service.get_order(principal, order_id)
    version = order["item_version_row"]
    ticket = order["ticket_row"]
    stage = await _stage_namer()
    cashier = principal.covers(Perm.FINANCE_MANAGE, _path(order))
    live = order["status"] not in ("cancelled", "settled")
    quoted = version["fee_basis"] == "quoted"
    settle_form = form if target == "settle" and form is not None else {
        "quantity": quantity_text(order["quantity_centi"]).replace(",", "") if not quoted else "",
        "final_amount": ""}
    handles = await _may_cost(principal, order)
    cost_form = form if target == "costs" and form is not None else {
        "labour_minutes": str(order["labour_minutes"] or await service.work_minutes(order["ticket"])),
        "labour_rate": amount_shown(order["labour_rate"] or None),
        "materials_cost": amount_shown(order["materials_cost"] or None),
        "subcontractor_fee": amount_shown(order["subcontractor_fee"] or None)}
    complaint_form = form if target == "complaint" and form is not None else {}
    return catalogue_page(
        request, "catalogue/order.html", status_code=status_code, o=order, v=version, t=ticket,
        may_cost=handles, cost_form=cost_form, may_complain=principal.can(Perm.TICKETS_HANDLE),
        complaint_form=complaint_form,
        ticket_status=stage(ticket["status"]), unit_label=await _unit_label(order["unit"]),
        payments=order["payments"], purpose_label=purpose_label, method_label=method_label,
        payment_status_label=payment_status_label, quoted=quoted, cashier=cashier,
        may_prepay=cashier and live and order["prepay_kind"] != "none" and order["prepaid"] == 0,
        may_balance=cashier and order["status"] == "balance_due",
        may_settle=cashier and order["status"] == "open",
        signed_off=await tickets.signed_off(order["ticket"]) if order["status"] == "open" else False,
        methods=[(m, method_label(m)) for m in payment_rules.OFFLINE_METHODS],
        form=form or {}, settle_form=settle_form, errors=errors or {}, target=target, notice=notice,
        settled=settled_text(order))


@get("/catalogue/orders/{order_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def order_detail(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID],
                       done: Filter = None) -> Response[Any]:
    if me(request).kind == "member":
        return Redirect(f"/my/services/orders/{order_id}")
    return await _order_page(request, order_id, notice=done_text(done) if done in DONE else None)


async def _cashiers_order(principal: Principal, order_id: uuid.UUID) -> dict[str, Any]:
    """The order, for the cashier over its project only (404 to anyone else, as if absent)."""
    order = await service.get_order(principal, order_id)
    if not principal.covers(Perm.FINANCE_MANAGE, _path(order)):
        raise NotFound("no such service order", code="service_order_not_found")
    return order


async def _record(request: Request[Any, Any, Any], order_id: uuid.UUID, data: dict[str, str], kind: str,
                  target: str, done: str) -> Response[Any]:
    """Money taken at the cashier, through payments: a payment with its receipt number settles the payable."""
    principal = me(request)
    await _cashiers_order(principal, order_id)
    form = clean(data, *PAY_FIELDS)
    try:
        await attempt({}, payments.record_offline(principal, kind, order_id, method=form["method"] or "cash",
                                                  reference=form["reference"]))
    except AppError as exc:
        return await _order_page(request, order_id, status_code=refused_status(exc), form=form, target=target,
                                 errors=field_errors(exc, PAY_FIELDS))
    return Redirect(f"/catalogue/orders/{order_id}?done={done}", status_code=303)


@post("/catalogue/orders/{order_id:uuid}/prepayment", opt={"permission": Perm.FINANCE_MANAGE},
      include_in_schema=False)
async def order_prepayment(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID],
                           data: Form) -> Response[Any]:
    return await _record(request, order_id, data, service.PREPAY, "prepay", "prepaid")


@post("/catalogue/orders/{order_id:uuid}/balance", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def order_balance(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    return await _record(request, order_id, data, service.BALANCE, "balance", "balance")


@post("/catalogue/orders/{order_id:uuid}/settlement", opt={"permission": Perm.FINANCE_MANAGE},
      include_in_schema=False)
async def order_settle(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """The settlement after the resident's sign-off: the quantity delivered, or a quoted item's price in yuan."""
    principal = me(request)
    order = await _cashiers_order(principal, order_id)
    form = clean(data, *SETTLE_FIELDS, "expected_version")
    errors: dict[str, str] = {}
    quantity = None
    if form["quantity"]:
        try:
            quantity = quantity_centi(form["quantity"].replace(",", ""))
        except AppError:
            errors["quantity"] = _("Type a quantity above zero, like 1 or 2.5.")
    final = typed_money(form["final_amount"], "final_amount", errors)
    version = form["expected_version"]
    expected = int(version) if version.isdigit() and len(version) < 9 else None
    if order["item_version_row"]["fee_basis"] == "quoted" and final is None and "final_amount" not in errors:
        errors["final_amount"] = _("Type the quoted price in yuan.")
    try:
        settled = await attempt(errors, service.settle(principal, order_id, quantity_centi=quantity,
                                                       final_amount=final, expected_version=expected,
                                                       note=form["note"]))
    except AppError as exc:
        errors = {**field_errors(exc, SETTLE_FIELDS), **errors}
        return await _order_page(request, order_id, status_code=refused_status(exc), form=form, target="settle",
                                 errors=errors)
    if settled is None:
        return await _order_page(request, order_id, status_code=422, form=form, target="settle", errors=errors)
    return Redirect(f"/catalogue/orders/{order_id}?done=settled", status_code=303)


async def _may_cost(principal: Principal, order: dict[str, Any]) -> bool:
    """Those handling the order's ticket record its costs, and those who design the project's services."""
    if principal.covers(Perm.CATALOGUE_MANAGE, _path(order)):
        return True
    try:
        return "handle" in (await tickets.readable(principal, order["ticket"]))[2]
    except NotFound:
        return False


@post("/catalogue/orders/{order_id:uuid}/costs", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def order_costs(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """The order's costs (labour at an hourly rate, materials, a subcontractor's fee), in yuan."""
    principal = me(request)
    form = clean(data, *COST_FIELDS)
    errors: dict[str, str] = {}
    minutes = typed_whole(form["labour_minutes"], "labour_minutes", errors)
    rate = typed_money(form["labour_rate"], "labour_rate", errors)
    materials = typed_money(form["materials_cost"], "materials_cost", errors)
    fee = typed_money(form["subcontractor_fee"], "subcontractor_fee", errors)
    try:
        done = await attempt(errors, service.record_costs(principal, order_id, labour_minutes=minutes,
                                                          labour_rate=rate or 0, materials_cost=materials or 0,
                                                          subcontractor_fee=fee or 0))
    except AppError as exc:
        if exc.status_code in (403, 404):
            raise
        return await _order_page(request, order_id, status_code=refused_status(exc), form=form, target="costs",
                                 errors={**field_errors(exc, COST_FIELDS), **errors})
    if done is None:
        return await _order_page(request, order_id, status_code=422, form=form, target="costs", errors=errors)
    return Redirect(f"/catalogue/orders/{order_id}?done=costs", status_code=303)


@post("/catalogue/orders/{order_id:uuid}/complaints", opt={"permission": Perm.TICKETS_HANDLE},
      include_in_schema=False)
async def order_complaint(request: Request[Any, Any, Any], order_id: FromPath[uuid.UUID],
                          data: Form) -> Response[Any]:
    """A complaint about the service, registered by the desk: a complaint ticket tied to the order."""
    principal = me(request)
    form = clean(data, *COMPLAINT_FIELDS)
    try:
        ticket = await service.complain(principal, order_id, title=form["title"], description=form["description"])
    except AppError as exc:
        if exc.status_code in (403, 404):
            raise
        return await _order_page(request, order_id, status_code=refused_status(exc), form=form, target="complaint",
                                 errors=field_errors(exc, COMPLAINT_FIELDS))
    return Redirect(f"/tickets/{ticket['id']}", status_code=303)


ROUTES: list[Any] = [order_list, order_new, order_book, order_detail, order_prepayment, order_balance,
                     order_settle, order_costs, order_complaint]
