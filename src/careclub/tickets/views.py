"""The staff's ticket pages: the queue (`/tickets`, its tabs, filters, SLA colours and Excel download) and
registering a ticket (`/tickets/new`); what every ticket page shares (labels in the reader's language, the
SLA state of a ticket, the choices of units, departments and staff) is here too. A ticket's own page is in
views_detail.py, the residents' pages in views_portal.py.

Who sees what is the service's: the queue lists what `service.list_tickets` lets the person see (a
department clerk his department's tickets, a dispatcher his projects'), and every refusal the service
makes is shown beside the field it names, all at once. Only fixed codes go through gettext; titles,
notes and names people typed are shown as typed (the templates escape them)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.error_messages import error_text
from careclub.core.errors import AppError, Forbidden, each_error
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import units_in_scope
from careclub.platform.views import page
from careclub.platform.views_admin._common import PER_PAGE, Form, as_uuid, clean, keyset_pages, me
from careclub.tickets import rules, service
from careclub.tickets.api import check_label, stage_name, type_name
from careclub.web import exports

Filter = Annotated[str | None, QueryParameter(max_length=120)]
VIEWS = ("open", "mine", "attention", "closed", "all")
VIEW_NAMES = {"open": N_("Open"), "mine": N_("Mine"), "attention": N_("Needs attention"), "closed": N_("Closed"),
              "all": N_("All")}
NEW_FIELDS = ("type", "title", "description", "unit", "priority", "source", "contact_name", "contact_phone",
              "department")
# More units than this and the register form asks for a search first instead of listing them all.
UNIT_LIST_MAX = 400

SLA_NAMES = {"late": N_("Past due"), "breached": N_("Breached"), "unanswered": N_("Not taken in time"),
             "soon": N_("Due soon"), "running": N_("On time"), "paused": N_("Clock paused"),
             "stopped": N_("Clock stopped"), "met": N_("Met"), "": ""}
# The pill each SLA state is drawn as (app.css and pages.css colours): red, amber, normal, grey.
SLA_PILLS = {"late": "failed", "breached": "failed", "unanswered": "failed", "soon": "warn",
             "running": "", "paused": "off", "stopped": "off", "met": "off", "": "off"}
SUPPLIED_NAMES = {"company": N_("The company"), "resident": N_("The resident"), "contractor": N_("A contractor")}
SATISFACTION_NAMES = {1: N_("1 — very dissatisfied"), 2: N_("2 — dissatisfied"), 3: N_("3 — acceptable"),
                      4: N_("4 — satisfied"), 5: N_("5 — very satisfied")}

priority_label = labeller(rules.PRIORITY_NAMES)
source_label = labeller(rules.SOURCE_NAMES)
reason_label = labeller(rules.REASON_NAMES)
view_label = labeller(VIEW_NAMES)
supplied_label = labeller(SUPPLIED_NAMES)


def sla_label(state: str) -> str:
    return _(SLA_NAMES[state]) if SLA_NAMES.get(state) else ""


def labels() -> dict[str, Any]:
    return {"priority_label": priority_label, "source_label": source_label, "reason_label": reason_label,
            "view_label": view_label, "sla_label": sla_label, "sla_pill": SLA_PILLS.get,
            "supplied_label": supplied_label}


def tickets_page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    return page(request, template, status_code=status_code, **labels(), **ctx)


def refused_status(exc: AppError) -> int:
    """A refused form: 422, or the error's own status when it says more (409 clash, 413 too large, 415 type).
    Any answer of 400 or more rolls the request's transaction back, so nothing half-done stays."""
    return exc.status_code if exc.status_code in (409, 413, 415, 422) else 422


def may_work_tickets(principal: Principal) -> bool:
    return principal.kind != "member" and (principal.can(Perm.TICKETS_HANDLE) or principal.can(Perm.TICKETS_DISPATCH))


# ---- errors beside their fields ----------------------------------------------------------------

_REQUIRED = {"%(field)s is required": N_("Fill this in."),
             "%(field)s is required for this kind of ticket": N_("This kind of ticket needs it.")}


def field_errors(exc: AppError, fields: tuple[str, ...], labels_of: dict[str, str] | None = None,
                 rename: dict[str, str] | None = None) -> dict[str, str]:
    """Every error of `exc` under its field (renamed by `rename`) when the form has it, else together above
    the form. A checklist item the error names is named by its label (`labels_of`), and "x is required" is
    said without the code x."""
    out: dict[str, str] = {}
    for error in each_error(exc):
        name = (rename or {}).get(error.field or "", error.field or "")
        if error.template in _REQUIRED:
            text = _(_REQUIRED[error.template])
        else:
            text = error_text(error)
        if (error.field or "").startswith("checklist.") and labels_of is not None and name not in fields:
            code = (error.field or "").removeprefix("checklist.")
            text = f"{labels_of.get(code, code)}: {text}"
        key = name if name in fields else "form"
        out[key] = f"{out[key]} {text}" if key in out and text not in out[key] else text
    return out


# ---- the SLA of a ticket -----------------------------------------------------------------------

def phase_of(ticket_type: dict[str, Any] | None, status: str) -> str:
    for s in (ticket_type or {}).get("stages", ()):
        if s["code"] == status:
            return str(s["phase"])
    return ""


def sla_state(ticket: dict[str, Any], phase: str, now: datetime, warn_minutes: int) -> str:
    """red: past due, breached or not taken in time; amber: due within the company's warning minutes;
    normal: running; grey: the clock is paused (waiting) or stopped (resolved), or the ticket is closed."""
    if ticket["closed_at"] is not None:
        return "breached" if ticket["breached"] else "met"
    if ticket["breached"]:
        return "breached"
    running = ticket["clock_since"] is not None
    if running and ticket["due_at"] is not None and ticket["due_at"] <= now:
        return "late"
    if ticket["responded_at"] is None and ticket["respond_by"] is not None and ticket["respond_by"] <= now:
        return "unanswered"
    if not running:
        return "paused" if phase == "wait" else "stopped"
    if ticket["due_at"] is not None and ticket["due_at"] - now <= timedelta(minutes=warn_minutes):
        return "soon"
    return "running"


async def warn_minutes() -> int:
    return int((await service.calendar_settings())["warn_minutes"])


# ---- choices -----------------------------------------------------------------------------------

def type_choices(types: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(t["code"], type_name(t)) for t in types]


def stage_choices(types: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every stage of the company's types, once, by its name (a filter over all types)."""
    seen: dict[str, str] = {}
    for t in types:
        for s in t["stages"]:
            seen.setdefault(s["code"], stage_name(t, s["code"]))
    return sorted(seen.items(), key=lambda kv: kv[1])


def ticket_paths(principal: Principal) -> list[str]:
    return list(dict.fromkeys([*principal.scope(Perm.TICKETS_HANDLE), *principal.scope(Perm.TICKETS_DISPATCH)]))


async def unit_choices(principal: Principal, q: str = "") -> tuple[list[dict[str, Any]], bool]:
    """The units of the projects the person's ticket rights reach (rights over a project, or over a
    department inside it), grouped by project and building; the flag says there are more than shown."""
    args: list[Any] = [ticket_paths(principal)]
    where = "EXISTS (SELECT 1 FROM unnest($1::text[]) g(p) WHERE o.path LIKE g.p || '%' OR g.p LIKE o.path || '%')"
    if q:
        args.append(f"%{q.replace('%', '').replace('_', '')}%")
        where += f" AND (b.code || '-' || pu.code) ILIKE ${len(args)}"
    rows = await fetch(
        "SELECT pu.id, b.code || '-' || pu.code AS label, o.name AS project, b.name AS building"
        " FROM property_unit pu JOIN property_building b ON b.id = pu.building JOIN org_unit o ON o.id = pu.project_id"
        f" WHERE {where} ORDER BY o.name, b.code, pu.code LIMIT {UNIT_LIST_MAX + 1}", *args)
    return rows[:UNIT_LIST_MAX], len(rows) > UNIT_LIST_MAX


def grouped_units(rows: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Units as <optgroup>s: "project · building" → [(id, "A-1201")]."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        groups.setdefault(f"{r['project']} · {r['building']}", []).append((str(r["id"]), r["label"]))
    return list(groups.items())


async def department_choices(principal: Principal, project_id: uuid.UUID | None = None) -> list[tuple[str, str]]:
    """Org units a ticket can be handed to or filtered by: the project's own subtree when the ticket has
    one, else those under the person's ticket rights; indented by depth."""
    if project_id is not None:
        rows = await fetch("SELECT o.id, o.name, o.path FROM org_unit o JOIN org_unit p ON p.id = $1"
                           " WHERE o.path LIKE p.path || '%' ORDER BY o.path LIMIT 500", project_id)
    else:
        ids: list[uuid.UUID] | None = []
        for perm in (Perm.TICKETS_HANDLE, Perm.TICKETS_DISPATCH):
            if principal.can(perm):
                found = await units_in_scope(principal, perm)
                if found is None:  # the whole company
                    ids = None
                    break
                ids = [*(ids or []), *found]
        if ids is None:
            rows = await fetch("SELECT id, name, path FROM org_unit ORDER BY path LIMIT 500")
        else:
            rows = await fetch("SELECT id, name, path FROM org_unit WHERE id = ANY($1::uuid[]) ORDER BY path LIMIT 500",
                               ids)
    if not rows:
        return []
    top = min(r["path"].count("/") for r in rows)
    return [(str(r["id"]), "\u00a0\u00a0" * (r["path"].count("/") - top) + r["name"]) for r in rows]


async def staff_choices(project_id: uuid.UUID | None) -> list[tuple[str, str]]:
    """Active staff who could take the ticket: those of the project's subtree (of the company without one)."""
    rows = await fetch(
        "SELECT u.id, u.display_name, o.name AS unit_name FROM app_user u LEFT JOIN org_unit o ON o.id = u.org_unit"
        " WHERE u.kind = 'staff' AND u.is_active AND ($1::uuid IS NULL OR o.path LIKE"
        " (SELECT path FROM org_unit WHERE id = $1) || '%') ORDER BY u.display_name LIMIT 500", project_id)
    return [(str(r["id"]), f"{r['display_name']} · {r['unit_name']}" if r["unit_name"] else r["display_name"])
            for r in rows]


# ---- the queue ---------------------------------------------------------------------------------

def _row_words(row: dict[str, Any], types: dict[uuid.UUID, dict[str, Any]], now: datetime, warn: int
               ) -> dict[str, Any]:
    ticket_type = types.get(row["type"])
    state = sla_state(row, phase_of(ticket_type, row["status"]), now, warn)
    return {**row, "type_name": type_name(ticket_type) if ticket_type else row["type_code"],
            "status_name": stage_name(ticket_type, row["status"]) if ticket_type else row["status"],
            "sla": state}


EXPORT_COLUMNS = [
    exports.Column(N_("Number"), lambda r: r["number"], 18),
    exports.Column(N_("Type"), lambda r: r["type_name"], 14),
    exports.Column(N_("Title"), lambda r: r["title"], 30),
    exports.Column(N_("Status"), lambda r: r["status_name"], 14),
    exports.Column(N_("Priority"), lambda r: priority_label(r["priority"]), 10),
    exports.Column(N_("Property unit"), lambda r: r["unit_label"] or "", 12),
    exports.Column(N_("Department"), lambda r: r["department_name"] or "", 16),
    exports.Column(N_("Assignee"), lambda r: r["assignee_name"] or "", 14),
    exports.Column(N_("Registered"), lambda r: r["created_at"], 18),
    exports.Column(N_("Due"), lambda r: r["due_at"], 18),
    exports.Column(N_("SLA"), lambda r: sla_label(r["sla"]), 14),
    exports.Column(N_("Closed"), lambda r: r["closed_at"], 18),
]


@get("/tickets", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def queue(request: Request[Any, Any, Any], view: Filter = None, type: Filter = None, status: Filter = None,
                priority: Filter = None, department: Filter = None, number: Filter = None, after: Filter = None,
                format: Filter = None) -> Response[Any]:
    """The tickets the person may see, newest first, by tab (`view`) and filters; `?format=xlsx` downloads
    the same filtered list as an Excel workbook."""
    principal = me(request)
    if principal.kind == "member":
        return Redirect("/my/tickets")
    if not may_work_tickets(principal):
        raise Forbidden("your roles do not include the permission %(needed)s", code="forbidden",
                        params={"needed": Perm.TICKETS_HANDLE})
    types = await service.list_types()
    by_id = {t["id"]: t for t in types}
    form = {"view": view if view in VIEWS else "open", "type": type if type in by_id_codes(types) else "",
            "status": (status or "").strip()[:32], "priority": priority if priority in rules.PRIORITIES else "",
            "department": department if as_uuid(department) else "", "number": (number or "").strip()[:32]}
    filters: dict[str, Any] = {"view": form["view"], "type_code": form["type"] or None,
                               "status": form["status"] or None, "priority": form["priority"] or None,
                               "department": as_uuid(form["department"]), "number": form["number"] or None}
    now, warn = clock.now(), await warn_minutes()
    if format == "xlsx":
        async def batches() -> AsyncIterator[list[dict[str, Any]]]:
            cursor: str | None = None
            while True:
                rows, cursor, _total, _more = await service.list_tickets(principal, **filters, after=cursor,
                                                                         limit=1000)
                if rows:
                    yield [_row_words(r, by_id, now, warn) for r in rows]
                if cursor is None:
                    return

        stamp = f"{clock.local(now):%Y%m%d}"
        return await exports.xlsx(f"tickets-{form['view']}-{stamp}.xlsx", str(_("Tickets")), EXPORT_COLUMNS,
                                  batches())
    counts = await service.queue_counts(principal)
    rows, cursor, total, more = await service.list_tickets(principal, **filters, after=after, limit=PER_PAGE,
                                                           counted=counts.get(filters["view"]))
    query = {k: v for k, v in form.items() if v}
    tabs = [{"view": v, "count": counts[v][0] if v in counts else None,
             "href": "?" + urlencode({**query, "view": v})} for v in VIEWS]
    return tickets_page(request, "tickets/queue.html", rows=[_row_words(r, by_id, now, warn) for r in rows],
                        form=form, tabs=tabs, types=type_choices(types), stages=stage_choices(types),
                        priorities=[(p, priority_label(p)) for p in rules.PRIORITIES],
                        departments=await department_choices(principal), may_register=principal.can(
                            Perm.TICKETS_HANDLE), **keyset_pages(query, after, cursor, total, more))


def by_id_codes(types: list[dict[str, Any]]) -> set[str]:
    return {t["code"] for t in types}


# ---- registering -------------------------------------------------------------------------------

async def _new_form(request: Request[Any, Any, Any], *, form: dict[str, str], errors: dict[str, str] | None = None,
                    status_code: int = 200, q: str = "") -> Template:
    principal = me(request)
    units, too_many = await unit_choices(principal, q)
    dispatcher = principal.can(Perm.TICKETS_DISPATCH)
    return tickets_page(request, "tickets/new.html", status_code=status_code, form=form, errors=errors or {},
                        types=type_choices(await service.list_types(active_only=True)),
                        unit_groups=grouped_units(units), too_many=too_many, q=q,
                        priorities=[(p, priority_label(p)) for p in rules.PRIORITIES],
                        sources=[(s, source_label(s)) for s in rules.SOURCES if s != "portal"],
                        departments=await department_choices(principal) if dispatcher else [],
                        dispatcher=dispatcher)


@get("/tickets/new", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def new_form(request: Request[Any, Any, Any], q: Filter = None, type: Filter = None) -> Response[Any]:
    """`?q=` narrows the units to choose from (building-unit, like A-12) for a company with many."""
    if me(request).kind == "member":
        return Redirect("/my/tickets/new")
    form = {"type": (type or "repair")[:32], "priority": "normal", "source": "phone"}
    return await _new_form(request, form=form, q=(q or "").strip()[:40])


@post("/tickets/new", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def new_submit(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Register the ticket (every problem at once, beside its field) and open it."""
    principal = me(request)
    if principal.kind == "member":
        raise Forbidden("you may not register tickets", code="forbidden")
    form = clean(data, *NEW_FIELDS, "q")
    errors: dict[str, str] = {}
    unit_id = as_uuid(form["unit"])
    if form["unit"] and unit_id is None:
        errors["unit"] = _("Choose a property unit from the list.")
    department_id = as_uuid(form["department"])
    if form["department"] and department_id is None:
        errors["department"] = _("Choose a department from the list.")
    try:
        row = await service.create_ticket(
            principal, type_code=form["type"], title=form["title"], description=form["description"],
            unit_id=unit_id, priority=form["priority"] or "normal", source=form["source"] or "phone",
            contact_name=form["contact_name"], contact_phone=form["contact_phone"], department_id=department_id)
    except AppError as exc:
        errors = {**field_errors(exc, NEW_FIELDS), **errors}
        return await _new_form(request, form=form, errors=errors, status_code=refused_status(exc), q=form["q"])
    if errors:  # the service took what it could read; a field it could not is still refused
        return await _new_form(request, form=form, errors=errors, status_code=422, q=form["q"])
    return Redirect(f"/tickets/{row['id']}?done=created", status_code=303)


def checklist_labels(ticket_type: dict[str, Any]) -> dict[str, str]:
    return {i["code"]: check_label(i) for i in ticket_type["checklist"]}


ROUTES: list[Any] = [queue, new_form, new_submit]
