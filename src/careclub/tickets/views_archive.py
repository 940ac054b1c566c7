"""The customer archive's pages: the units list (search, filters, Excel) and a unit's whole archive on one page
(people and contacts, emergency contacts, records by kind, tickets by type) with the forms that change it. The
people, the forms that add a building, a unit or a person, and the import are in views_archive_people.py.

What people see is the service's: units of the projects their archive rights cover, 404 otherwise. Money is
typed in yuan and areas in m²; every refusal is shown beside its field, all at once, with what was typed kept.
Only fixed codes go through gettext (uses, statuses, roles, kinds); names, titles and notes are shown as typed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.core.error_messages import error_text
from careclub.core.errors import AppError, each_error
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_typed
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today
from careclub.platform.views_admin._common import PER_PAGE, Form, as_uuid, clean, keyset_pages, me
from careclub.tickets import rules, service
from careclub.tickets import views_archive_people as people_views
from careclub.tickets.service._archive_read import TICKETS_SHOWN
from careclub.tickets.service._archive_rules import RECORD_KINDS, ROLES, UNIT_STATUSES, USES, format_area
from careclub.tickets.views_archive_common import (
    RECORD_SECTIONS,
    Filter,
    archive_page,
    attempt,
    choices,
    coded,
    field_errors,
    record_label,
    refused_status,
    role_name,
    stamp,
    status_label,
    ticket_type_label,
    typed_day,
    use_label,
    whole,
)
from careclub.web import exports

# ---- the units list -----------------------------------------------------------------------------------

UNIT_EXPORT = [
    exports.Column(N_("Project"), lambda r: r["project_name"], 20),
    exports.Column(N_("Building"), lambda r: r["building_code"], 10),
    exports.Column(N_("Building name"), lambda r: r["building_name"], 20),
    exports.Column(N_("Unit"), lambda r: r["code"], 10),
    exports.Column(N_("Floor"), lambda r: r["floor"], 8),
    exports.Column(N_("Area (m²)"), lambda r: Decimal(r["area_cm2"]) / 10_000 if r["area_cm2"] else None, 12),
    exports.Column(N_("Use"), lambda r: use_label(r["use"]), 12),
    exports.Column(N_("Status"), lambda r: status_label(r["status"]), 12),
    exports.Column(N_("Created"), lambda r: r["created_at"], 18),
]


@get("/archive", opt={"permission": Perm.ARCHIVE_READ}, include_in_schema=False)
async def units(request: Request[Any, Any, Any], project: Filter = None, building: Filter = None, q: Filter = None,
                after: Filter = None, format: Filter = None, done: Filter = None) -> Response[Any]:
    """The units of the reader's projects by project and code; `q` is a unit code or its beginning;
    `?format=xlsx` downloads the same filtered list."""
    principal = me(request)
    projects = await service.projects_in_scope(principal)
    form = {"project": project if as_uuid(project) else "", "building": building if as_uuid(building) else "",
            "q": (q or "").strip()[:32]}
    filters: dict[str, Any] = {"project_id": as_uuid(form["project"]), "building_id": as_uuid(form["building"]),
                               "q": form["q"] or None}
    if format == "xlsx":
        async def batches() -> AsyncIterator[list[dict[str, Any]]]:
            cursor: str | None = None
            while True:
                rows, cursor = await service.unit_list(principal, **filters, after=cursor, limit=1000)
                if rows:
                    yield rows
                if cursor is None:
                    return

        return await exports.xlsx(f"units-{stamp()}.xlsx", str(_("Units")), UNIT_EXPORT, batches())
    rows, cursor = await service.unit_list(principal, **filters, after=after, limit=PER_PAGE)
    total, more = await service.unit_count(principal, **filters)
    buildings = await service.list_buildings(principal, project_id=filters["project_id"])
    notices = {"building": _("The building is saved.")}
    return archive_page(request, "tickets/archive/units.html", rows=rows, form=form, notice=notices.get(done or ""),
                        projects=choices(projects, lambda p: p["name"]),
                        buildings=choices(buildings, lambda b: f"{b['project_name']} · {b['code']} {b['name']}"),
                        **keyset_pages(form, after, cursor, total, more))


# ---- a unit's archive ---------------------------------------------------------------------------------

EDIT_FIELDS = ("code", "floor", "area", "use", "status")
LINK_FIELDS = ("link_phone", "link_role", "link_starts_on")
LINK_RENAME = {"person_id": "link_phone", "role": "link_role", "starts_on": "link_starts_on",
               "ends_on": "link_starts_on"}
RECORD_FIELDS = ("kind", "occurred_on", "title", "amount", "record_person", "note")
RECORD_RENAME = {"person_id": "record_person"}


def _ticket_groups(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tickets by type, the built-in types in their order first."""
    groups: dict[str, dict[str, Any]] = {}
    for t in tickets:
        groups.setdefault(t["type_code"], {"code": t["type_code"], "name": ticket_type_label(t), "rows": []})[
            "rows"].append(t)
    order = {c: i for i, c in enumerate(dict.fromkeys(("repair", "complaint", "visit", *rules.BUILTIN_TYPES)))}
    return sorted(groups.values(), key=lambda g: (order.get(g["code"], 99), g["name"]))


async def _unit_page(request: Request[Any, Any, Any], unit_id: uuid.UUID, *, status_code: int = 200,
                     form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                     open_form: str | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    found = await service.unit_archive(principal, unit_id)
    unit = found["unit"]
    may_manage = principal.covers(Perm.ARCHIVE_MANAGE, unit["project_path"])
    defaults = {"code": unit["code"], "floor": "" if unit["floor"] is None else str(unit["floor"]),
                "area": format_area(unit["area_cm2"]) or "", "use": unit["use"], "status": unit["status"],
                "link_role": "owner", "kind": "note", "occurred_on": (await company_today()).isoformat()}
    sections = [{"key": key, "title": _(title),
                 "rows": sorted((r for k in kinds for r in found["records"].get(k, [])),
                                key=lambda r: (r["occurred_on"], r["created_at"]), reverse=True)}
                for key, title, kinds in RECORD_SECTIONS]
    current = [p for p in found["people"] if p["current"]]
    return archive_page(
        request, "tickets/archive/unit.html", status_code=status_code, unit=unit, people=found["people"],
        emergency=[p for p in current if p["emergency_name"] or p["emergency_phone"]], sections=sections,
        ticket_groups=_ticket_groups(found["tickets"]), ticket_count=len(found["tickets"]),
        tickets_capped=len(found["tickets"]) >= TICKETS_SHOWN,
        manage=may_manage, form={**defaults, **(form or {})}, errors=errors or {}, open_form=open_form,
        notice=notice, uses=coded(USES, use_label), statuses=coded(UNIT_STATUSES, status_label),
        roles=coded(ROLES, role_name), record_kinds=coded(RECORD_KINDS, record_label),
        record_people=[(str(p["id"]), p["name"]) for p in found["people"]])


@get("/archive/units/{unit_id:uuid}", opt={"permission": Perm.ARCHIVE_READ}, include_in_schema=False)
async def unit_page(request: Request[Any, Any, Any], unit_id: FromPath[uuid.UUID], done: Filter = None) -> Template:
    """The unit's whole file on one page."""
    notices = {"created": _("The unit is saved."), "saved": _("The unit is saved."),
               "linked": _("The person is tied to the unit."), "record": _("The record is added."),
               "ended": _("The tie is ended.")}
    return await _unit_page(request, unit_id, notice=notices.get(done or ""))


@post("/archive/units/{unit_id:uuid}", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def unit_save(request: Request[Any, Any, Any], unit_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    await service.get_unit(me(request), unit_id, manage=True)  # out of reach: 404, as if absent
    form = clean(data, *EDIT_FIELDS)
    errors: dict[str, str] = {}
    floor = whole(form["floor"], "floor", errors)
    try:
        await attempt(errors, service.update_unit(me(request), unit_id, code=form["code"], area=form["area"],
                                                  use=form["use"], status=form["status"],
                                                  **({"floor": floor} if "floor" not in errors else {})))
    except AppError as exc:
        return await _unit_page(request, unit_id, status_code=refused_status(exc), form=form, open_form="edit",
                                errors={**field_errors(exc, EDIT_FIELDS), **errors})
    if errors:
        return await _unit_page(request, unit_id, status_code=422, form=form, open_form="edit", errors=errors)
    return Redirect(f"/archive/units/{unit_id}?done=saved", status_code=303)


@post("/archive/units/{unit_id:uuid}/people", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def unit_link(request: Request[Any, Any, Any], unit_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Tie someone in the archive, found by phone, to the unit."""
    principal = me(request)
    await service.get_unit(principal, unit_id, manage=True)
    form = clean(data, *LINK_FIELDS)
    errors: dict[str, str] = {}
    starts_on = typed_day(form["link_starts_on"], "link_starts_on", errors)
    person_id = None
    if not form["link_phone"]:
        errors["link_phone"] = _("Fill this in.")
    else:
        rows, _next = await service.person_list(principal, q=form["link_phone"], limit=1)
        person_id = rows[0]["id"] if rows else None
        if person_id is None:
            errors["link_phone"] = _("Nobody in the archive has this phone. Add the person first.")
    if not errors:
        try:
            await service.link_person(principal, unit_id=unit_id, person_id=person_id, role=form["link_role"],
                                      starts_on=starts_on)
        except AppError as exc:
            return await _unit_page(request, unit_id, status_code=refused_status(exc), form=form, open_form="link",
                                    errors=field_errors(exc, LINK_FIELDS, LINK_RENAME))
    if errors:
        return await _unit_page(request, unit_id, status_code=422, form=form, open_form="link", errors=errors)
    return Redirect(f"/archive/units/{unit_id}?done=linked", status_code=303)


@post("/archive/units/{unit_id:uuid}/records", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def unit_record(request: Request[Any, Any, Any], unit_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Add a record to the unit's file; money in yuan as typed."""
    await service.get_unit(me(request), unit_id, manage=True)
    form = clean(data, *RECORD_FIELDS)
    errors: dict[str, str] = {}
    occurred_on = typed_day(form["occurred_on"], "occurred_on", errors)
    amount = None
    if form["amount"]:
        try:
            amount = parse_typed(form["amount"], field="amount")
        except AppError as exc:
            errors.update(field_errors(exc, RECORD_FIELDS))
    person = as_uuid(form["record_person"])
    try:
        await attempt(errors, service.add_record(me(request), unit_id=unit_id, kind=form["kind"],
                                                 occurred_on=occurred_on, title=form["title"], amount=amount,
                                                 person_id=person, note=form["note"]))
    except AppError as exc:
        errors = {**field_errors(exc, RECORD_FIELDS, RECORD_RENAME), **errors}
        return await _unit_page(request, unit_id, status_code=refused_status(exc), form=form, open_form="record",
                                errors=errors)
    if errors:
        return await _unit_page(request, unit_id, status_code=422, form=form, open_form="record", errors=errors)
    return Redirect(f"/archive/units/{unit_id}?done=record", status_code=303)


@post("/archive/occupancies/{occupancy_id:uuid}/end", opt={"permission": Perm.ARCHIVE_MANAGE},
      include_in_schema=False)
async def occupancy_end(request: Request[Any, Any, Any], occupancy_id: FromPath[uuid.UUID],
                        data: Form) -> Response[Any]:
    principal = me(request)
    tie = await service.get_occupancy(principal, occupancy_id, manage=True)
    form = clean(data, "ends_on")
    errors: dict[str, str] = {}
    day = typed_day(form["ends_on"], "ends_on", errors)
    if not errors:
        try:
            await service.end_occupancy(principal, occupancy_id, ends_on=day)
        except AppError as exc:
            errors = {"form": " ".join(error_text(e) for e in each_error(exc))}
            return await _unit_page(request, tie["unit"], status_code=refused_status(exc), errors=errors)
    if errors:
        return await _unit_page(request, tie["unit"], status_code=422, errors={"form": errors["ends_on"]})
    return Redirect(f"/archive/units/{tie['unit']}?done=ended", status_code=303)


ROUTES: list[Any] = [units, unit_page, unit_save, unit_link, unit_record, occupancy_end, *people_views.ROUTES]
