"""Long-term agreements (§4.2.3–4.2.4), for the clerks who record them (`tickets.handle`): the list
(`/catalogue/agreements`, with its Excel download), recording one (`/catalogue/agreements/new`: a service that
offers agreements, a unit from the archive, the contact, the terms, the schedule, the term and the agreed price
per visit in yuan — by default the fee standard's), and an agreement's page (`/catalogue/agreements/{id}`) with
its visits, each an order of its own, and ending it early with a date and a reason.

Who sees what, and every refusal, is the service's (service/_agreements.py); each refusal is shown beside the
field it names, all at once, with what was typed kept."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.catalogue import service
from careclub.catalogue.views_ops_common import (
    AGREEMENT_STATUS_NAMES,
    WEEKDAYS,
    Filter,
    agreement_status_label,
    fee_text,
    field_errors,
    money_text,
    ops_page,
    quantity_text,
    refused_status,
    schedule_text,
    stamp,
    typed_choice,
    typed_day,
    typed_money,
    typed_quantity,
    typed_whole,
    weekday_label,
)
from careclub.core.db import fetch
from careclub.core.errors import AppError
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today
from careclub.platform.views_admin._common import Form, clean, me
from careclub.tickets.views import UNIT_LIST_MAX, grouped_units
from careclub.web import exports

FIELDS = ("item", "unit", "contact_name", "contact_phone", "terms", "every_weeks", "weekday", "time_of_day",
          "starts_on", "ends_on", "quantity", "price_per_visit", "note")
END_FIELDS = ("on", "reason")
DONE = {"created": N_("The agreement is recorded. Its visits become orders a week ahead of each visit day."),
        "ended": N_("The agreement is ended. Visits already made stay as orders.")}
done_text = labeller(DONE)


# ---- choices -----------------------------------------------------------------------------------

async def _handled_projects(principal: Principal) -> dict[uuid.UUID, str]:
    """The projects the clerk's `tickets.handle` covers, by id → name."""
    roots = principal.scope(Perm.TICKETS_HANDLE)
    if not roots:
        return {}
    rows = await fetch("SELECT o.id, o.name FROM org_unit o WHERE o.kind = 'project'"
                       " AND EXISTS (SELECT 1 FROM unnest($1::text[]) r WHERE o.path LIKE r || '%') ORDER BY o.path",
                       list(roots))
    return {r["id"]: r["name"] for r in rows}


async def item_choices(principal: Principal) -> list[tuple[str, str]]:
    """Published services offering an agreement, in the projects the clerk's rights reach (or company-wide),
    each with its fee standard: "Deep cleaning · ¥5.00 per m² · Garden One"."""
    projects = await _handled_projects(principal)
    currency = principal.tenant.currency
    out = []
    for row in await service.published(None):
        if not row["long_term"] or (row["project_id"] is not None and row["project_id"] not in projects):
            continue
        where = projects[row["project_id"]] if row["project_id"] is not None else _("every project")
        out.append((str(row["id"]), f"{row['name']} · {fee_text(row, currency)} · {where}"))
    return out


async def unit_choices(principal: Principal, q: str = "") -> tuple[list[dict[str, Any]], bool]:
    """The units of the projects the clerk's `tickets.handle` covers; the flag says there are more than shown."""
    args: list[Any] = [list(principal.scope(Perm.TICKETS_HANDLE))]
    where = "EXISTS (SELECT 1 FROM unnest($1::text[]) g(p) WHERE o.path LIKE g.p || '%')"
    if q:
        args.append(f"%{q.replace('%', '').replace('_', '')}%")
        where += f" AND (b.code || '-' || pu.code) ILIKE ${len(args)}"
    rows = await fetch(
        "SELECT pu.id, b.code || '-' || pu.code AS label, o.name AS project, b.name AS building"
        " FROM property_unit pu JOIN property_building b ON b.id = pu.building JOIN org_unit o ON o.id = pu.project_id"
        f" WHERE {where} ORDER BY o.name, b.code, pu.code LIMIT {UNIT_LIST_MAX + 1}", *args)
    return rows[:UNIT_LIST_MAX], len(rows) > UNIT_LIST_MAX


def weekday_choices() -> list[tuple[str, str]]:
    return [(str(d), weekday_label(str(d))) for d in WEEKDAYS]


async def _places(agreement_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Per agreement: its unit ("A-101"), project and customer, for the list and the page."""
    if not agreement_ids:
        return {}
    rows = await fetch(
        "SELECT a.id, b.code || '-' || pu.code AS unit_label, o.name AS project_name, c.name AS person_name"
        " FROM service_agreement a LEFT JOIN property_unit pu ON pu.id = a.unit"
        " LEFT JOIN property_building b ON b.id = pu.building LEFT JOIN org_unit o ON o.id = a.project_id"
        " LEFT JOIN customer c ON c.id = a.person WHERE a.id = ANY($1::uuid[])", agreement_ids)
    return {r["id"]: r for r in rows}


def _customer(row: dict[str, Any]) -> str:
    return str(row.get("person_name") or row.get("contact_name") or "")


# ---- the list ----------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    exports.Column(N_("Number"), lambda r: r["number"], 14),
    exports.Column(N_("Service"), lambda r: r["name"], 22),
    exports.Column(N_("Project"), lambda r: r["project_name"] or "", 16),
    exports.Column(N_("Property unit"), lambda r: r["unit_label"] or "", 10),
    exports.Column(N_("Customer"), lambda r: r["customer"], 14),
    exports.Column(N_("Schedule"), lambda r: r["schedule"], 28),
    exports.Column(N_("Starts"), lambda r: r["starts_on"], 12),
    exports.Column(N_("Ends"), lambda r: r["ends_on"], 12),
    exports.Column(N_("Price per visit"), lambda r: exports.Money(r["price_per_visit"]), 12),
    exports.Column(N_("Next visit"), lambda r: r["next_visit"], 12),
    exports.Column(N_("Status"), lambda r: agreement_status_label(r["status"]), 10),
]


@get("/catalogue/agreements", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def agreement_list(request: Request[Any, Any, Any], status: Filter = None, q: Filter = None,
                         done: Filter = None, format: Filter = None) -> Response[Any]:
    """The agreements of the projects the person's rights reach, active first; `?format=xlsx` downloads the
    same filtered list."""
    principal = me(request)
    form = {"status": status if status in AGREEMENT_STATUS_NAMES else "", "q": (q or "").strip()[:60]}
    rows = await service.list_agreements(principal)
    if form["status"]:
        rows = [r for r in rows if r["status"] == form["status"]]
    places = await _places([r["id"] for r in rows])
    shown = []
    for r in rows:
        place = places.get(r["id"], {})
        row = {**r, "unit_label": place.get("unit_label"), "project_name": place.get("project_name"),
               "customer": _customer({**r, **place}),
               "schedule": schedule_text(r["every_weeks"], r["weekday"], r["time_of_day"])}
        needle = form["q"].lower()
        if needle and not any(needle in str(row.get(k) or "").lower()
                              for k in ("number", "name", "unit_label", "customer")):
            continue
        shown.append(row)
    if format == "xlsx":
        return await exports.xlsx(f"agreements-{stamp()}.xlsx", str(_("Long-term agreements")), EXPORT_COLUMNS,
                                  exports.all_rows(shown))
    query = {k: v for k, v in form.items() if v}
    return ops_page(request, "catalogue/ops_agreements.html", rows=shown, form=form,
                    statuses=[(s, agreement_status_label(s)) for s in AGREEMENT_STATUS_NAMES],
                    export="?" + urlencode({**query, "format": "xlsx"}),
                    notice=done_text(done) if done in DONE else None)


# ---- recording one -----------------------------------------------------------------------------

async def _new_page(request: Request[Any, Any, Any], *, form: dict[str, str], errors: dict[str, str] | None = None,
                    status_code: int = 200, q: str = "") -> Template:
    principal = me(request)
    units, too_many = await unit_choices(principal, q)
    return ops_page(request, "catalogue/ops_agreement_new.html", status_code=status_code, form=form,
                    errors=errors or {}, items=await item_choices(principal), unit_groups=grouped_units(units),
                    too_many=too_many, q=q, weekdays=weekday_choices())


@get("/catalogue/agreements/new", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def agreement_new(request: Request[Any, Any, Any], q: Filter = None, item: Filter = None) -> Template:
    """`?q=` narrows the units to choose from (building-unit, like A-12) for a company with many."""
    today = await company_today()
    form = {"item": (item or "")[:40], "every_weeks": "1", "weekday": "5", "time_of_day": "09:00",
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=364)).isoformat(), "quantity": "1"}
    return await _new_page(request, form=form, q=(q or "").strip()[:40])


@post("/catalogue/agreements/new", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def agreement_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Record the agreement (every problem at once, beside its field) and open it."""
    principal = me(request)
    form = clean(data, *FIELDS, "q")
    errors: dict[str, str] = {}
    item_id = typed_choice(form["item"], "item", errors)
    unit_id = typed_choice(form["unit"], "unit", errors)
    every = typed_whole(form["every_weeks"], "every_weeks", errors)
    weekday = typed_whole(form["weekday"], "weekday", errors)
    today = await company_today()
    starts = typed_day(form["starts_on"], "starts_on", errors)
    ends = typed_day(form["ends_on"], "ends_on", errors)
    for name, value in (("starts_on", starts), ("ends_on", ends)):
        if value is None and name not in errors:
            errors[name] = _("Fill this in.")
    quantity = typed_quantity(form["quantity"] or "1", "quantity", errors)
    price = typed_money(form["price_per_visit"], "price_per_visit", errors)
    if item_id is None:
        errors.setdefault("item", _("Choose a service that offers long-term agreements."))
        return await _new_page(request, form=form, errors=errors, status_code=422, q=form["q"])
    # what the page could not read is refused beside its field; the service checks the rest, so every problem
    # shows at once (stand-ins for the unreadable values are chosen to raise nothing of their own)
    starts_on = starts or today
    try:
        row = await service.create_agreement(
            principal, item_id=item_id, unit_id=unit_id, contact_name=form["contact_name"],
            contact_phone=form["contact_phone"], terms=form["terms"], every_weeks=1 if every is None else every,
            weekday=5 if weekday is None else weekday, time_of_day=form["time_of_day"], starts_on=starts_on,
            ends_on=ends or max(starts_on, today), quantity_centi=quantity or 100, price_per_visit=price,
            note=form["note"])
    except AppError as exc:
        errors = {**field_errors(exc, FIELDS), **errors}
        return await _new_page(request, form=form, errors=errors, status_code=refused_status(exc), q=form["q"])
    if errors:  # the service took what it could read; a field it could not is still refused (and rolled back)
        return await _new_page(request, form=form, errors=errors, status_code=422, q=form["q"])
    return Redirect(f"/catalogue/agreements/{row['id']}?done=created", status_code=303)


# ---- one agreement -----------------------------------------------------------------------------

async def _page(request: Request[Any, Any, Any], agreement_id: uuid.UUID, *, status_code: int = 200,
                form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                notice: str | None = None) -> Template:
    principal = me(request)
    agreement = await service.get_agreement(principal, agreement_id)
    place = (await _places([agreement_id])).get(agreement_id, {})
    currency = agreement["currency"]
    visits = [{**v, "price_text": money_text(v["price"], currency) if v["price"] is not None else "—"}
              for v in agreement["visits"]]
    today = await company_today()
    return ops_page(
        request, "catalogue/ops_agreement.html", status_code=status_code, a=agreement, visits=visits,
        unit_label=place.get("unit_label"), project_name=place.get("project_name"),
        customer=_customer({**agreement, **place}), fee_version=agreement["version_row"],
        fee=fee_text(agreement["version_row"], currency),
        schedule=schedule_text(agreement["every_weeks"], agreement["weekday"], agreement["time_of_day"]),
        quantity=quantity_text(agreement["quantity_centi"]), price=money_text(agreement["price_per_visit"], currency),
        form=form if form is not None else {"on": today.isoformat()}, errors=errors or {}, notice=notice)


@get("/catalogue/agreements/{agreement_id:uuid}", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def agreement_detail(request: Request[Any, Any, Any], agreement_id: FromPath[uuid.UUID],
                           done: Filter = None) -> Template:
    return await _page(request, agreement_id, notice=done_text(done) if done in DONE else None)


@post("/catalogue/agreements/{agreement_id:uuid}/end", opt={"permission": Perm.TICKETS_HANDLE},
      include_in_schema=False)
async def agreement_end(request: Request[Any, Any, Any], agreement_id: FromPath[uuid.UUID],
                        data: Form) -> Response[Any]:
    """End it early: no visit after the day is made; the visits already made stay as orders."""
    principal = me(request)
    form = clean(data, *END_FIELDS)
    errors: dict[str, str] = {}
    on = typed_day(form["on"], "on", errors)
    if on is None and "on" not in errors:
        errors["on"] = _("Fill this in.")
    try:
        await service.end_agreement(principal, agreement_id, on=on or await company_today(), reason=form["reason"])
    except AppError as exc:
        errors = {**field_errors(exc, END_FIELDS), **errors}
        return await _page(request, agreement_id, status_code=refused_status(exc), form=form, errors=errors)
    if errors:
        return await _page(request, agreement_id, status_code=422, form=form, errors=errors)
    return Redirect(f"/catalogue/agreements/{agreement_id}?done=ended", status_code=303)


ROUTES: list[Any] = [agreement_list, agreement_new, agreement_create, agreement_detail, agreement_end]
