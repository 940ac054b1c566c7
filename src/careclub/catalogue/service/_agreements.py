"""Long-term agreements (§4.2.3–4.2.4): weekly cleaning for a year, say. The agreement fixes the service, the
unit, the schedule and the price per visit for its whole term; a fee change of the item afterwards does not
touch it. `create_due_visits` (the `catalogue` job, hourly) turns each visit into an order a week ahead of
its day — once: the agreement's row is locked and a unique index keeps one order per visit day."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from careclub.catalogue import rules
from careclub.catalogue.service._items import get_version, projects_in_reach, unit_paths
from careclub.catalogue.service._orders import on_offer, open_order
from careclub.catalogue.tables import ServiceAgreement
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import AppError, Conflict, FieldErrors, NotFound, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, company_zone, get_tenant, load_principal
from careclub.tickets.tables import PropertyUnit

HORIZON_DAYS = 7  # visits become orders this far ahead, so they can be dispatched and planned


def first_visit(starts_on: date, weekday: int) -> date:
    return starts_on + timedelta(days=(weekday - starts_on.weekday()) % 7)


def visit_days(agreement: dict[str, Any], until: date) -> list[date]:
    """The visit days from the agreement's next one up to `until` and its end."""
    day = agreement["next_visit"]
    out: list[date] = []
    while day is not None and day <= min(until, agreement["ends_on"]):
        out.append(day)
        day += timedelta(weeks=agreement["every_weeks"])
    return out


def _hhmm(problems: list[AppError], text: str) -> str:
    try:
        parsed = time.fromisoformat(text.strip())
    except ValueError:
        problems.append(ValidationFailed("a time of day like 09:00", field="time_of_day"))
        return "09:00"
    return parsed.strftime("%H:%M")


async def _number() -> str:
    year = (await company_today()).year
    rows = await fetch("SELECT count(*) AS n FROM service_agreement WHERE number LIKE $1", f"XY{year}-%")
    return f"XY{year}-{rows[0]['n'] + 1:04d}"


async def create_agreement(principal: Principal, *, item_id: uuid.UUID, unit_id: uuid.UUID | None,
                           person_id: uuid.UUID | None = None, contact_name: str = "", contact_phone: str = "",
                           terms: str = "", every_weeks: int = 1, weekday: int = 5, time_of_day: str = "09:00",
                           starts_on: date, ends_on: date, quantity_centi: int = 100,
                           price_per_visit: int | None = None, note: str = "", number: str = "",
                           from_file: bool = False) -> dict[str, Any]:
    """A clerk records the agreement the resident signed (§4.2.4, with the resident's service file). A tenant
    file may state one that started before it was applied (`from_file`): its visits start from today."""
    problems: list[AppError] = []
    item, version = await on_offer(item_id)
    if not version["long_term"]:
        problems.append(ValidationFailed("this service is not offered on a long-term agreement", field="item"))
    unit = None
    if unit_id is not None:
        unit = await PropertyUnit.select(PropertyUnit.id, PropertyUnit.project_id).where(
            PropertyUnit.id == unit_id).first()
        if unit is None:
            problems.append(NotFound("no such unit", code="unit_not_found", field="unit"))
    else:
        problems.append(ValidationFailed("an agreement is for a unit", field="unit"))
    project = unit["project_id"] if unit else None
    if unit is not None and item["project_id"] is not None and project != item["project_id"]:
        problems.append(ValidationFailed("this service is not offered in that project", field="item"))
    if unit is not None and project is not None:
        path = (await unit_paths(project)).get(project, {}).get("path")
        if not principal.covers(Perm.TICKETS_HANDLE, path):
            problems.append(NotFound("no such unit", code="unit_not_found", field="unit"))
    if not 1 <= every_weeks <= 52:
        problems.append(ValidationFailed("every 1 to 52 weeks", field="every_weeks"))
    if not 0 <= weekday <= 6:
        problems.append(ValidationFailed("a weekday from Monday to Sunday", field="weekday"))
    time_of_day = _hhmm(problems, time_of_day)
    dates_ok = rules.check_day(problems, "starts_on", starts_on) & rules.check_day(problems, "ends_on", ends_on)
    if dates_ok and ends_on < starts_on:
        problems.append(ValidationFailed("the agreement ends before it starts", field="ends_on"))
    elif dates_ok and (ends_on - starts_on).days > 366 * 5:
        problems.append(ValidationFailed("an agreement runs at most five years", field="ends_on"))
    today = await company_today()
    if dates_ok and starts_on < today and not from_file:
        problems.append(ValidationFailed("the agreement starts today or later", field="starts_on"))
    if not 0 < quantity_centi <= rules.MAX_QUANTITY_CENTI:
        problems.append(ValidationFailed("the quantity must be above zero and at most 100000", field="quantity"))
    if price_per_visit is None:
        price_per_visit = rules.price(version, quantity_centi)
        if price_per_visit is None:
            problems.append(ValidationFailed("a quoted service needs the agreed price per visit",
                                             field="price_per_visit"))
    elif not 0 <= price_per_visit < rules.MAX_MONEY:
        problems.append(ValidationFailed("price_per_visit is out of range", field="price_per_visit"))
    for field, value, limit in (("terms", terms, 4000), ("note", note, 2000), ("contact_name", contact_name, 120),
                                ("contact_phone", contact_phone, 32)):
        if len(value or "") > limit:
            problems.append(ValidationFailed("%(field)s is at most %(limit)s characters", field=field,
                                             params={"field": field, "limit": limit}))
    if problems:
        raise FieldErrors(problems)
    first = first_visit(max(starts_on, today), weekday)
    row = ServiceAgreement(number=number or await _number(), item=item_id, item_version=version["id"],
                           project_id=project, unit=unit_id, person=person_id, contact_name=contact_name.strip(),
                           contact_phone=contact_phone.strip(), booked_by=principal.user_id, terms=terms.strip(),
                           every_weeks=every_weeks, weekday=weekday, time_of_day=time_of_day, starts_on=starts_on,
                           ends_on=ends_on, quantity_centi=quantity_centi, price_per_visit=price_per_visit or 0,
                           currency=principal.tenant.currency, status="active",
                           next_visit=first if first <= ends_on else None, note=note.strip(),
                           updated_at=clock.now())
    await row.save()
    await audit.record("catalogue.agreement.create", "service_agreement", row.id,
                       after={"number": row.number, "item": item["code"], "price": price_per_visit})
    return await get_agreement(principal, row.id)


async def agreement_by_number(number: str) -> dict[str, Any] | None:
    return await ServiceAgreement.select().where(ServiceAgreement.number == number).first()


async def get_agreement(principal: Principal | None, agreement_id: uuid.UUID) -> dict[str, Any]:
    row = await ServiceAgreement.select().where(ServiceAgreement.id == agreement_id).first()
    if row is None:
        raise NotFound("no such agreement", code="agreement_not_found")
    path = (await unit_paths(row["project_id"])).get(row["project_id"], {}).get("path") if row["project_id"] else None
    if principal is not None and not (principal.covers(Perm.CATALOGUE_READ, path)
                                      or principal.covers(Perm.TICKETS_HANDLE, path)):
        raise NotFound("no such agreement", code="agreement_not_found")
    row = dict(row)
    row["version_row"] = await get_version(row["item_version"])
    row["visits"] = await fetch("SELECT id, number, slot_date, status, price FROM service_order WHERE agreement = $1"
                                " ORDER BY slot_date", agreement_id)
    return row


async def list_agreements(principal: Principal) -> list[dict[str, Any]]:
    projects = await projects_in_reach(principal, Perm.CATALOGUE_READ, Perm.TICKETS_HANDLE)
    if projects == []:
        return []
    return await fetch(
        "SELECT a.id, a.number, a.status, a.starts_on, a.ends_on, a.every_weeks, a.weekday, a.time_of_day,"
        " a.price_per_visit, a.currency, a.next_visit, a.contact_name, v.name"
        " FROM service_agreement a JOIN service_item_version v ON v.id = a.item_version"
        " WHERE a.project_id IS NOT NULL AND ($1::uuid[] IS NULL OR a.project_id = ANY($1::uuid[]))"
        " ORDER BY a.status, a.created_at DESC LIMIT 500", projects)


async def end_agreement(principal: Principal, agreement_id: uuid.UUID, *, on: date, reason: str) -> dict[str, Any]:
    """End it early: no visit after `on` is created; visits already created stay as orders."""
    agreement = await get_agreement(principal, agreement_id)
    if agreement["status"] != "active":
        raise Conflict("this agreement has ended", code="agreement_ended")
    if not reason.strip():
        raise FieldErrors([ValidationFailed("say why in the note", field="reason")])
    problems: list[AppError] = []
    if not rules.check_day(problems, "on", on):
        raise FieldErrors(problems)
    ends = max(min(on, agreement["ends_on"]), agreement["starts_on"])
    await ServiceAgreement.update({ServiceAgreement.ends_on: ends, ServiceAgreement.status: "ended",
                                   ServiceAgreement.note: (agreement["note"] + "\n" + reason.strip()).strip(),
                                   ServiceAgreement.updated_at: clock.now()}).where(ServiceAgreement.id == agreement_id)
    await audit.record("catalogue.agreement.end", "service_agreement", agreement_id, after={"on": ends.isoformat()})
    return await get_agreement(principal, agreement_id)


async def create_due_visits(*, today: date | None = None) -> dict[str, int]:
    """Every visit due within the horizon becomes an order, priced by the agreement, once."""
    today = today or await company_today()
    zone = ZoneInfo(await company_zone())
    until = today + timedelta(days=HORIZON_DAYS)
    due = await fetch("SELECT id FROM service_agreement WHERE status = 'active' AND next_visit IS NOT NULL"
                      " AND next_visit <= $1", until)
    made = skipped = 0
    for row in due:
        locked = (await fetch("SELECT * FROM service_agreement WHERE id = $1 FOR UPDATE", row["id"]))[0]
        days = visit_days(locked, until)
        principal = await _acting_for(locked)
        if principal is None:
            skipped += len(days)
            continue
        item = (await fetch("SELECT * FROM service_item WHERE id = $1", locked["item"]))[0]
        version = await get_version(locked["item_version"])
        at_time = time.fromisoformat(locked["time_of_day"])
        for day in days:
            if await _visit_exists(locked["id"], day):
                continue
            at = datetime.combine(day, at_time, zone)
            await open_order(principal, item=item, version=version, unit_id=locked["unit"],
                             project_id=locked["project_id"], person_id=locked["person"],
                             contact_name=locked["contact_name"], contact_phone=locked["contact_phone"],
                             preferred_at=at, slot=day, quantity_centi=locked["quantity_centi"],
                             note=locked["number"], source="agreement", price=locked["price_per_visit"],
                             prepay_kind="none", prepay_amount=0, agreement_id=locked["id"])
            made += 1
        if days:
            following = days[-1] + timedelta(weeks=locked["every_weeks"])
            changes: dict[Any, Any] = {ServiceAgreement.next_visit: following if following <= locked["ends_on"]
                                       else None, ServiceAgreement.updated_at: clock.now()}
            if following > locked["ends_on"]:
                changes[ServiceAgreement.status] = "ended"
            await ServiceAgreement.update(changes).where(ServiceAgreement.id == locked["id"])
    return {"visits": made, "skipped": skipped}


async def _visit_exists(agreement_id: uuid.UUID, day: date) -> bool:
    rows = await fetch("SELECT 1 FROM service_order WHERE agreement = $1 AND slot_date = $2", agreement_id, day)
    return bool(rows)


async def _acting_for(agreement: dict[str, Any]) -> Principal | None:
    """The visits are registered as the clerk who recorded the agreement (his rights reach its unit)."""
    from careclub.core.db import current_tenant_id

    tenant = await get_tenant(current_tenant_id())
    if tenant is None or agreement["booked_by"] is None:
        return None
    return await load_principal(tenant, agreement["booked_by"])
