"""Service orders: a booking becomes a ticket of the ticket core's `service_order` type, dispatched to the
providing department or subcontractor with the core's SLA, sign-off and return visit; the order holds the
money (§4.2.3–4.2.5, §4.3.1).

The work does not start before the prepayment or deposit is in, and the ticket does not close before the
order is settled at the cashier: both are guards on the ticket's steps, so neither the API nor a page can go
around them. No private settlement (§4.4.6): only the cashier's role records money, through payments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from careclub.catalogue import rules
from careclub.catalogue.service._items import get_version, projects_in_reach, unit_paths
from careclub.catalogue.service._subcontractors import subcontractor_of
from careclub.catalogue.tables import ServiceOrder, Subcontractor
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import AppError, Conflict, FieldErrors, NotFound, ValidationFailed
from careclub.core.money import format_amount
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, company_zone
from careclub.tickets import service as tickets
from careclub.tickets.tables import PropertyUnit

PREPAY = "service_prepay"
BALANCE = "service_balance"


async def _order_row(order_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    rows = await fetch("SELECT * FROM service_order WHERE id = $1" + (" FOR UPDATE" if lock else ""), order_id)
    if not rows:
        raise NotFound("no such service order", code="service_order_not_found")
    return rows[0]


async def _may_see(principal: Principal, order: dict[str, Any], ticket: dict[str, Any], path: str | None) -> bool:
    sub = await subcontractor_of(principal.user_id) if principal.kind == "staff" else None
    if sub is not None:  # a subcontractor's people see what is handed to their company, nothing else
        return bool(ticket["subcontractor"]) and ticket["subcontractor"] == sub["name"]
    if principal.kind != "member" and (principal.covers(Perm.CATALOGUE_READ, path)
                                       or principal.covers(Perm.FINANCE_READ, path)):
        return True
    try:
        await tickets.readable(principal, order["ticket"])
    except NotFound:
        return False
    return True


async def get_order(principal: Principal | None, order_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    """The order with the version it is priced by, its ticket's state and its payments; 404 to anyone who may
    see neither the order's project nor its ticket."""
    from careclub.payments import service as payments

    order = dict(await _order_row(order_id, lock=lock))
    units = await unit_paths(order["project_id"])
    project = units.get(order["project_id"]) if order["project_id"] else None
    ticket = await tickets.load(order["ticket"])
    if principal is not None and not await _may_see(principal, order, ticket, project["path"] if project else None):
        raise NotFound("no such service order", code="service_order_not_found")
    order["project"] = project
    order["item_version_row"] = await get_version(order["item_version"])
    order["name"] = order["item_version_row"]["name"]
    order["ticket_status"] = ticket["status"]
    order["ticket_row"] = ticket
    order["payments"] = [dict(p, purpose=kind) for kind in (PREPAY, BALANCE)
                         for p in await payments.payments_of(kind, order_id)]
    return order


def _path_of(order: dict[str, Any]) -> str | None:
    return order["project"]["path"] if order.get("project") else None


async def _resident_unit(principal: Principal, unit_id: uuid.UUID | None) -> uuid.UUID | None:
    if unit_id is not None and unit_id in await tickets.resident_units(principal):
        return unit_id
    return None


async def _parse_slot(problems: list[AppError], version: dict[str, Any], preferred_at: datetime | None) -> date | None:
    if preferred_at is None:
        if version["daily_capacity"]:
            problems.append(ValidationFailed("choose a day and time: this service takes a limited number of "
                                             "bookings a day", field="preferred_at"))
        return None
    if preferred_at < clock.now():
        problems.append(ValidationFailed("the preferred time must be in the future", field="preferred_at"))
        return None
    local = clock.local(preferred_at, await company_zone())
    assert local is not None
    return local.date()


async def on_offer(item_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """A published item, its row locked (bookings and agreements of it are served one at a time), and the
    approved version it is priced by now; refused by name when it is not on offer."""
    rows = await fetch("SELECT * FROM service_item WHERE id = $1 FOR UPDATE", item_id)
    item = rows[0] if rows else None
    if item is None or item["status"] != "published" or item["current_version"] is None:
        raise FieldErrors([NotFound("this service is not on offer", code="service_item_not_found", field="item")])
    return item, await get_version(item["current_version"])


async def _home_project(principal: Principal) -> uuid.UUID | None:
    """The project a clerk works in: the nearest unit of kind project at or above his own unit."""
    rows = await fetch(
        "SELECT p.id FROM app_user u JOIN org_unit o ON o.id = u.org_unit JOIN org_unit p"
        " ON o.path LIKE p.path || '%' AND p.kind = 'project' WHERE u.id = $1 ORDER BY length(p.path) DESC LIMIT 1",
        principal.user_id)
    return rows[0]["id"] if rows else None


async def book(principal: Principal, *, item_id: uuid.UUID, unit_id: uuid.UUID | None = None,
               person_id: uuid.UUID | None = None, contact_name: str = "", contact_phone: str = "",
               preferred_at: datetime | None = None, quantity_centi: int = 100, note: str = "",
               source: str = "", project_id: uuid.UUID | None = None) -> dict[str, Any]:
    """A booking: by a resident for one of his own units, or registered by a clerk from a phone call or at
    the desk (name, address, item, preferred time, §4.2.4). Priced by the item's approved version now; a
    service with a daily capacity takes one of the day's places, and racing bookings of the last place are
    served one at a time (the item's row is locked), so exactly the capacity is booked."""
    resident = principal.kind == "member"
    problems: list[AppError] = []
    source = source or ("portal" if resident else "phone")
    if source not in rules.ORDER_SOURCES or (resident and source != "portal"):
        problems.append(ValidationFailed("a source is one of %(choices)s", field="source",
                                         params={"choices": ", ".join(rules.ORDER_SOURCES)}))
    if not 0 < quantity_centi <= rules.MAX_QUANTITY_CENTI:
        problems.append(ValidationFailed("the quantity must be above zero and at most 100000", field="quantity"))
    note = (note or "").strip()
    if len(note) > 2000:
        problems.append(ValidationFailed("%(field)s is at most %(limit)s characters", field="note",
                                         params={"field": "note", "limit": 2000}))
    item, version = await on_offer(item_id)
    unit = None
    if unit_id is not None:
        unit = await PropertyUnit.select(PropertyUnit.id, PropertyUnit.project_id).where(
            PropertyUnit.id == unit_id).first()
        if unit is None or (resident and await _resident_unit(principal, unit_id) is None):
            problems.append(NotFound("choose one of your own units", code="unit_not_found", field="unit") if resident
                            else NotFound("no such unit", code="unit_not_found", field="unit"))
            unit = None
    elif resident:
        problems.append(ValidationFailed("choose one of your own units", field="unit"))
    elif not (contact_name or "").strip():
        problems.append(ValidationFailed("the customer's name or unit is required", field="contact_name"))
    project = unit["project_id"] if unit else (item["project_id"] or project_id)
    if project is None and not resident:
        project = await _home_project(principal)
    if project is None and not resident:
        problems.append(ValidationFailed("choose the project the service is for", field="project"))
    if item["project_id"] is not None and project is not None and project != item["project_id"]:
        problems.append(ValidationFailed("this service is not offered in that project", field="item"))
    slot = await _parse_slot(problems, version, preferred_at)
    if problems:
        raise FieldErrors(problems)
    if slot is not None and version["daily_capacity"]:
        taken = (await fetch("SELECT count(*) AS n FROM service_order WHERE item = $1 AND slot_date = $2"
                             " AND status <> 'cancelled'", item_id, slot))[0]["n"]
        if taken >= version["daily_capacity"]:
            raise Conflict("this service is fully booked on %(day)s: choose another day", code="fully_booked",
                           field="preferred_at", params={"day": slot.isoformat()})
    return await open_order(principal, item=item, version=version, unit_id=unit["id"] if unit else None,
                            project_id=project, person_id=person_id, contact_name=contact_name,
                            contact_phone=contact_phone, preferred_at=preferred_at, slot=slot,
                            quantity_centi=quantity_centi, note=note, source=source,
                            price=rules.price(version, quantity_centi), prepay_kind=version["prepay_kind"],
                            prepay_amount=version["prepay_amount"])


async def open_order(principal: Principal, *, item: dict[str, Any], version: dict[str, Any], unit_id: uuid.UUID | None,
                     project_id: uuid.UUID | None, person_id: uuid.UUID | None, contact_name: str,
                     contact_phone: str, preferred_at: datetime | None, slot: date | None, quantity_centi: int,
                     note: str, source: str, price: int | None, prepay_kind: str, prepay_amount: int,
                     agreement_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The order and its ticket, held by the providing department or subcontractor from the start."""
    subcontractor = ""
    if version["subcontractor"] is not None:
        sub = await Subcontractor.select(Subcontractor.name).where(Subcontractor.id == version["subcontractor"]).first()
        subcontractor = sub["name"] if sub else ""
    details = [note] if note else []
    if preferred_at is not None:
        local = clock.local(preferred_at, await company_zone())
        assert local is not None
        details.append(local.strftime("%Y-%m-%d %H:%M"))
    ticket = await tickets.create_ticket(
        principal, type_code="service_order", title=version["name"][:200], description="\n".join(details)[:4000],
        unit_id=unit_id, source=rules.TICKET_SOURCE[source], person_id=person_id,
        contact_name=contact_name, contact_phone=contact_phone, route_to=version["provider_department"],
        route_subcontractor=subcontractor, through_domain=True,
        fields={"item": item["code"], "version": version["version"], "quantity": format_amount(quantity_centi)})
    status = "awaiting_prepayment" if prepay_kind != "none" and prepay_amount > 0 else "open"
    order = ServiceOrder(ticket=ticket["id"], number=ticket["number"], item=item["id"], item_version=version["id"],
                         project_id=ticket["project_id"] or project_id, unit=unit_id, person=ticket["person"],
                         booked_by=principal.user_id, source=source, preferred_at=preferred_at, slot_date=slot,
                         quantity_centi=quantity_centi, currency=principal.tenant.currency, price=price,
                         prepay_kind=prepay_kind, prepay_amount=prepay_amount, status=status, note=note,
                         agreement=agreement_id, updated_at=clock.now())
    await order.save()
    await audit.record("catalogue.order.book", "service_order", order.id,
                       after={"number": order.number, "item": item["code"], "version": version["version"],
                              "price": price, "source": source})
    return await get_order(principal, order.id)


# ---- the ticket's steps ------------------------------------------------------------------------

async def _order_of_ticket(ticket_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await fetch("SELECT * FROM service_order WHERE ticket = $1 FOR UPDATE", ticket_id)
    return rows[0] if rows else None


async def guard(ticket: dict[str, Any], source: Any, target: Any) -> list[AppError]:
    order = await _order_of_ticket(ticket["id"])
    if order is None:  # a service_order ticket raised by hand, with no order behind it
        return []
    if target.phase in ("work", "done") and order["status"] == "awaiting_prepayment":
        return [Conflict("the prepayment or deposit must be paid at the cashier before the work starts",
                         code="prepayment_due", field="to")]
    if target.phase == "closed" and order["status"] != "settled":
        return [Conflict("a service order closes only after it is settled at the cashier", code="not_settled",
                         field="to")]
    if target.phase == "cancelled" and order["prepaid"] > 0:
        return [Conflict("money was paid for this order: settle it (the surplus is refunded) instead of cancelling",
                         code="money_held", field="to")]
    return []


async def follow(ticket: dict[str, Any]) -> None:
    if ticket["closed_at"] is not None and ticket["resolved_at"] is None:  # cancelled: its place is free again
        await ServiceOrder.update({ServiceOrder.status: "cancelled", ServiceOrder.updated_at: clock.now()}).where(
            ServiceOrder.ticket == ticket["id"], ServiceOrder.status.is_in(["awaiting_prepayment", "open"]))


# ---- money -------------------------------------------------------------------------------------

async def prepay_received(order_id: uuid.UUID, reference: str) -> None:
    order = await _order_row(order_id, lock=True)
    if order["status"] == "cancelled":
        raise Conflict("this service order was cancelled", code="order_cancelled")
    if order["prepaid"] > 0:
        raise Conflict("this is paid already", code="already_paid")
    await ServiceOrder.update({ServiceOrder.prepaid: order["prepay_amount"], ServiceOrder.version: order["version"] + 1,
                               ServiceOrder.status: "open" if order["status"] == "awaiting_prepayment"
                               else order["status"], ServiceOrder.updated_at: clock.now()}).where(
        ServiceOrder.id == order_id)
    await audit.record("catalogue.order.prepaid", "service_order", order_id,
                       after={"amount": order["prepay_amount"], "payment": reference})


async def prepay_taken_back(order_id: uuid.UUID, why: str) -> None:
    order = await _order_row(order_id, lock=True)
    if order["status"] == "settled" and order["refund_due"] >= order["prepaid"]:
        return  # the settlement's own refund of the whole prepayment
    changes: dict[Any, Any] = {ServiceOrder.prepaid: 0, ServiceOrder.version: order["version"] + 1,
                               ServiceOrder.updated_at: clock.now()}
    if order["status"] == "open" and order["prepay_kind"] != "none":
        changes[ServiceOrder.status] = "awaiting_prepayment"
    await ServiceOrder.update(changes).where(ServiceOrder.id == order_id)
    await audit.record("catalogue.order.prepay_undone", "service_order", order_id, after={"why": why})


async def balance_received(order_id: uuid.UUID, reference: str) -> None:
    order = await _order_row(order_id, lock=True)
    if order["status"] != "balance_due":
        raise Conflict("this is paid already", code="already_paid")
    await ServiceOrder.update({ServiceOrder.status: "settled", ServiceOrder.settled_at: clock.now(),
                               ServiceOrder.version: order["version"] + 1, ServiceOrder.updated_at: clock.now()}
                              ).where(ServiceOrder.id == order_id)
    await audit.record("catalogue.order.settled", "service_order", order_id,
                       after={"balance": order["balance"], "payment": reference})


async def balance_taken_back(order_id: uuid.UUID, why: str) -> None:
    order = await _order_row(order_id, lock=True)
    await ServiceOrder.update({ServiceOrder.status: "balance_due", ServiceOrder.settled_at: None,
                               ServiceOrder.version: order["version"] + 1, ServiceOrder.updated_at: clock.now()}
                              ).where(ServiceOrder.id == order_id, ServiceOrder.status == "settled")
    await audit.record("catalogue.order.balance_undone", "service_order", order_id, after={"why": why})


async def settle(principal: Principal, order_id: uuid.UUID, *, quantity_centi: int | None = None,
                 final_amount: int | None = None, expected_version: int | None = None,
                 note: str = "") -> dict[str, Any]:
    """The cashier settles a signed-off order (§4.3.1): the final charge — the approved fee times the quantity
    delivered, or a quote within the approved range — against what was paid on account. The surplus is
    refunded through the payment it came by; a balance is collected like any payment (the order is then
    `balance_due` until it is paid); nothing left either way settles it at once."""
    from careclub.payments import service as payments

    order = await get_order(principal, order_id, lock=True)
    if not principal.covers(Perm.FINANCE_MANAGE, _path_of(order)):
        raise NotFound("no such service order", code="service_order_not_found")
    if expected_version is not None and expected_version != order["version"]:
        raise Conflict("the order changed meanwhile: reload it and try again", code="stale_state",
                       params={})
    if order["status"] != "open":
        raise Conflict("only an open order is settled (this one is %(status)s)", code="order_not_open",
                       params={"status": order["status"]})
    problems: list[AppError] = []
    if not await tickets.signed_off(order["ticket"]):
        problems.append(Conflict("the resident has not signed the work off yet", code="not_signed_off", field="ticket"))
    version = order["item_version_row"]
    if version["fee_basis"] == "quoted":
        if final_amount is None:
            problems.append(ValidationFailed("the quoted price is required", field="final_amount"))
        else:
            problems.extend(rules.check_final(version, final_amount))
        final = final_amount or 0
    else:
        quantity = quantity_centi if quantity_centi is not None else order["quantity_centi"]
        if not 0 < quantity <= rules.MAX_QUANTITY_CENTI:
            problems.append(ValidationFailed("the quantity must be above zero and at most 100000", field="quantity"))
        final = rules.price(version, quantity) or 0
    if problems:
        raise FieldErrors(problems)
    s = rules.settle(final, order["prepaid"])
    now = clock.now()
    status = "balance_due" if s.balance else "settled"
    await ServiceOrder.update({ServiceOrder.final_amount: s.final, ServiceOrder.balance: s.balance,
                               ServiceOrder.refund_due: s.refund, ServiceOrder.status: status,
                               ServiceOrder.settled_by: principal.user_id,
                               ServiceOrder.settled_at: now if status == "settled" else None,
                               ServiceOrder.note: (order["note"] + "\n" + note.strip()).strip()[:4000],
                               ServiceOrder.version: order["version"] + 1, ServiceOrder.updated_at: now}).where(
        ServiceOrder.id == order_id)
    if s.refund:
        paid = next((p for p in order["payments"] if p["purpose"] == PREPAY and p["status"] in
                     ("paid", "partially_refunded")), None)
        if paid is None:
            raise Conflict("the prepayment's payment is not found", code="payment_not_found")
        await payments.refund(principal, paid["id"], amount=s.refund,
                              reason=f"{order['number']}: surplus of the prepayment")
    await audit.record("catalogue.order.settle", "service_order", order_id,
                       after={"final": s.final, "prepaid": order["prepaid"], "balance": s.balance,
                              "refund": s.refund})
    return await get_order(principal, order_id)


# ---- reading -----------------------------------------------------------------------------------

async def list_orders(principal: Principal, *, status: str | None = None, item_id: uuid.UUID | None = None,
                      unsettled: bool = False, q: str = "", after: tuple[datetime, uuid.UUID] | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
    """Orders in the person's projects, newest first, a keyset page at a time. `unsettled`: work resolved
    but no settlement recorded — what §4.4.6 forbids, listed for the manager."""
    sub = await subcontractor_of(principal.user_id) if principal.kind == "staff" else None
    args: list[Any] = []
    where: list[str] = []
    if sub is not None:  # a subcontractor's people: the orders handed to their company
        args.append(sub["name"])
        where.append("t.subcontractor = $1")
    else:
        projects = await projects_in_reach(principal, Perm.CATALOGUE_READ, Perm.FINANCE_READ)
        if projects is not None:
            if not projects:
                return []
            args.append(projects)
            where.append("s.project_id = ANY($1::uuid[])")
    if status:
        args.append(status)
        where.append(f"s.status = ${len(args)}")
    if item_id:
        args.append(item_id)
        where.append(f"s.item = ${len(args)}")
    if unsettled:
        where.append("s.status IN ('open', 'balance_due') AND t.resolved_at IS NOT NULL")
    if q.strip():  # an order's number, as the ticket lists look a number up: exactly, through its index
        args.append(q.strip()[:32].upper())
        where.append(f"s.number = ${len(args)}")
    if after is not None:
        args.extend(after)
        where.append(f"(s.created_at, s.id) < (${len(args) - 1}, ${len(args)})")
    args.append(min(max(limit, 1), 200))
    return await fetch(
        "SELECT s.id, s.number, s.status, s.source, s.price, s.prepay_kind, s.prepay_amount, s.prepaid,"
        " s.final_amount, s.balance, s.refund_due, s.currency, s.created_at, s.preferred_at, s.ticket,"
        " v.name, v.version, t.status AS ticket_status, t.contact_name, t.resolved_at, pu.code AS unit_code,"
        " b.code AS building_code"
        " FROM service_order s JOIN service_item_version v ON v.id = s.item_version JOIN ticket t ON t.id = s.ticket"
        " LEFT JOIN property_unit pu ON pu.id = s.unit LEFT JOIN property_building b ON b.id = pu.building"
        f" WHERE {' AND '.join(where) or 'TRUE'} ORDER BY s.created_at DESC, s.id DESC LIMIT ${len(args)}", *args)


async def my_orders(principal: Principal, *, limit: int = 100) -> list[dict[str, Any]]:
    """A resident's orders: those he booked and those of the units he lives in."""
    units = await tickets.resident_units(principal)
    return await fetch(
        "SELECT s.id, s.number, s.status, s.price, s.prepay_kind, s.prepay_amount, s.prepaid, s.final_amount,"
        " s.balance, s.refund_due, s.currency, s.created_at, s.preferred_at, v.name, t.status AS ticket_status"
        " FROM service_order s JOIN service_item_version v ON v.id = s.item_version JOIN ticket t ON t.id = s.ticket"
        " WHERE s.booked_by = $1 OR s.unit = ANY($2::uuid[]) ORDER BY s.created_at DESC, s.id DESC LIMIT $3",
        principal.user_id, units, limit)


async def slots_left(item_id: uuid.UUID, day: date) -> int | None:
    """Places left on a day for an item with a daily capacity (None: no limit)."""
    rows = await fetch("SELECT v.daily_capacity FROM service_item i JOIN service_item_version v ON"
                       " v.id = i.current_version WHERE i.id = $1", item_id)
    if not rows or not rows[0]["daily_capacity"]:
        return None
    taken = (await fetch("SELECT count(*) AS n FROM service_order WHERE item = $1 AND slot_date = $2"
                         " AND status <> 'cancelled'", item_id, day))[0]["n"]
    return max(rows[0]["daily_capacity"] - taken, 0)


async def today() -> date:
    return await company_today()
