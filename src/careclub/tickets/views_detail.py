"""A ticket's page for the staff (`/tickets/{id}`): its header with the SLA, the timeline in words, the
legs, the checklist, the work records, photos and PDFs, comments, and one form for each step the person
may take now (`service.options`), each asking only for what that step needs.

Every form that changes the ticket says what the person saw: a step posts `expected_status`, the checklist
the ticket's `version`. When the ticket moved meanwhile the service refuses (`StaleState`) and the page is
drawn again as the ticket now is, with "it is now X" above it and what the person typed still in the
form, so nothing is lost and nothing is applied to a ticket they did not see. The helpers that build the
timeline and the step forms are shared with the residents' page (views_portal.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.core import clock
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped, parse_typed
from careclub.core.principal import Principal
from careclub.platform import attachments
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit, User
from careclub.platform.views_admin._common import Form, as_uuid, clean, me
from careclub.tickets import rules, service
from careclub.tickets.api import check_label, stage_name, type_name
from careclub.tickets.service import _clock
from careclub.tickets.views import (
    SATISFACTION_NAMES,
    department_choices,
    field_errors,
    phase_of,
    priority_label,
    reason_label,
    refused_status,
    sla_state,
    source_label,
    staff_choices,
    supplied_label,
    tickets_page,
    warn_minutes,
)

Filter = Annotated[str | None, QueryParameter(max_length=40)]
STEP_FIELDS = ("to", "expected_status", "note", "department", "assignee", "subcontractor", "signed_by",
               "satisfaction", "reason")
MATERIAL_ROWS = 3
SUPPLIERS = ("company", "resident", "contractor")
# What the residents' page leaves out of the timeline: the company's own working data.
INTERNAL_EVENTS = ("work", "checklist", "escalated", "sla_breach")

DONE = {"created": N_("The ticket is registered."), "moved": N_("The ticket moved on."),
        "checklist": N_("The checklist is saved."), "work": N_("The work record is kept."),
        "attached": N_("The file is kept with the ticket."), "comment": N_("The comment is added.")}
done_text = labeller(DONE)

# The words on a step's button, by where it goes (and, for a few, where it comes from).
STEP_VERBS = {
    "dispatched": N_("Dispatch"), "accepted": N_("Accept"), "in_progress": N_("Start the work"),
    "waiting_resident": N_("Wait for the resident"), "waiting_contractor": N_("Wait for a contractor"),
    "resolved": N_("Mark as resolved"), "confirmed": N_("Record the sign-off"),
    "visited": N_("Record the return visit"), "closed": N_("Close"), "cancelled": N_("Cancel the ticket"),
}
RESIDENT_VERBS = {"confirmed": N_("Sign off: the work is done"), "visited": N_("Rate the service")}
STEP_FROM_VERBS = {("resolved", "in_progress"): N_("Dispute: send it back for rework"),
                   ("waiting_resident", "in_progress"): N_("Resume the work"),
                   ("waiting_contractor", "in_progress"): N_("Resume the work"),
                   ("dispatched", "dispatched"): N_("Dispatch again"),
                   ("accepted", "dispatched"): N_("Hand over to another department"),
                   ("in_progress", "dispatched"): N_("Hand over to another department")}
RESIDENT_FROM_VERBS = {("resolved", "in_progress"): N_("Not fixed: send it back")}


EVENT_TITLES = {
    "registered": N_("Registered"), "dispatched": N_("Dispatched"), "transition": N_("Status changed"),
    "reopened": N_("Reopened for rework"), "checklist": N_("Checklist saved"), "work": N_("Work recorded"),
    "comment": N_("Comment added"), "escalated": N_("Escalated"), "sla_breach": N_("Deadline passed"),
}


@dataclass
class FileForm:
    file: UploadFile | None = None


def stale_text(ticket_type: dict[str, Any], status: str) -> str:
    return _("The ticket changed meanwhile; it is now %(status)s. Check it and try again.") % {
        "status": stage_name(ticket_type, status)}


def step_label(step: rules.Transition, ticket_type: dict[str, Any], *, resident: bool) -> str:
    key = (step.source, step.target)
    if resident and key in RESIDENT_FROM_VERBS:
        return _(RESIDENT_FROM_VERBS[key])
    if resident and step.target in RESIDENT_VERBS:
        return _(RESIDENT_VERBS[step.target])
    if key in STEP_FROM_VERBS:
        return _(STEP_FROM_VERBS[key])
    if step.target in STEP_VERBS:
        return _(STEP_VERBS[step.target])
    return _("Move on to: %(status)s") % {"status": stage_name(ticket_type, step.target)}


def steps_of(steps: list[rules.Transition], ticket_type: dict[str, Any], ticket: dict[str, Any], *,
             resident: bool) -> list[dict[str, Any]]:
    missing = rules.checklist_missing(ticket_type["checklist"], ticket["checklist"] or {})
    labels = {i["code"]: check_label(i) for i in ticket_type["checklist"]}
    return [{"to": s.target, "label": step_label(s, ticket_type, resident=resident), "needs": set(s.needs),
             "name": stage_name(ticket_type, s.target), "fixed_department": s.department,
             "inputs": bool(set(s.needs) & {"holder", "note", "rating"}) or ("signoff" in s.needs and not resident),
             "danger": s.target == "cancelled" or (s.source, s.target) == ("resolved", "in_progress"),
             "missing": [labels.get(c, c) for c in missing] if "checklist" in s.needs else []}
            for s in steps]


async def _who(events: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """Names of the departments and people the events' data mention (by id as text)."""
    units, people = set(), set()
    for e in events:
        d = e["data"]
        if d.get("department"):
            units.add(str(d["department"]))
        if d.get("assignee"):
            people.add(str(d["assignee"]))
    unit_names = {str(r["id"]): r["name"] for r in await OrgUnit.select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.is_in([uuid.UUID(u) for u in units]))} if units else {}
    people_names = {str(r["id"]): r["display_name"] for r in await User.select(User.id, User.display_name).where(
        User.id.is_in([uuid.UUID(p) for p in people]))} if people else {}
    return unit_names, people_names


def _check_value(item: dict[str, Any] | None, value: Any) -> str:
    kind = (item or {}).get("kind", "check")
    if kind == "check":
        return _("done") if value is True else _("not done")
    if kind == "amount":
        return _("%(amount)s yuan") % {"amount": format_grouped(value)} if isinstance(value, int) else "—"
    return str(value) if value else "—"


async def timeline_lines(events: list[dict[str, Any]], ticket_type: dict[str, Any], *, resident: bool
                         ) -> list[dict[str, Any]]:
    """Each event in words: when, who, what happened, the note, and for dispatch, visit and sign-off events
    their data. For a resident, the company's working data (work records, checklists, escalations, SLA
    events, to whom it was dispatched) is left out."""
    unit_names, people_names = await _who(events)
    items = {i["code"]: i for i in ticket_type["checklist"]}
    out = []
    for e in events:
        kind, d = e["kind"], e["data"]
        if resident and kind in INTERNAL_EVENTS:
            continue
        details: list[str] = []
        note = e["note"]
        title = _(EVENT_TITLES[kind]) if kind in EVENT_TITLES else kind
        if kind == "registered" and not resident:
            details.append(_("Source: %(source)s") % {"source": source_label(d.get("source", ""))})
            details.append(_("Priority: %(priority)s") % {"priority": priority_label(d.get("priority", ""))})
        elif kind == "dispatched":
            if resident:
                title, note = _("Handed over for the work"), ""
            else:
                to = [unit_names.get(str(d.get("department")), ""), people_names.get(str(d.get("assignee")), ""),
                      str(d.get("subcontractor") or "")]
                details.append(_("To: %(holder)s") % {"holder": " · ".join(t for t in to if t) or "—"})
        elif kind == "reopened" and d.get("after") == "return_visit":
            details.append(_("After a return visit rated %(value)s of 5") % {"value": d.get("satisfaction")})
        elif kind == "checklist":
            details += [f"{check_label(items[c]) if c in items else c}: {_check_value(items.get(c), v)}"
                        for c, v in d.items()]
        elif kind == "work":
            if d.get("minutes") is not None:
                details.append(_("%(num)s minutes") % {"num": d["minutes"]})
            for m in d.get("materials") or []:
                details.append(_("Material: %(name)s × %(quantity)s, supplied by %(who)s") % {
                    "name": m.get("name", ""), "quantity": m.get("quantity") or "1",
                    "who": supplied_label(m.get("supplied_by", ""))})
        elif kind == "comment" and d.get("resident"):
            details.append(_("From the resident"))
        elif kind == "escalated":
            details.append(_("To the holders of the role %(role)s (%(num)s people)") % {
                "role": d.get("role", ""), "num": d.get("people", 0)})
        if d.get("signed_by"):
            details.append(_("Signed off by %(name)s") % {"name": d["signed_by"]})
        if d.get("satisfaction") is not None and kind != "reopened":
            details.append(_("Satisfaction: %(value)s") % {
                "value": _(SATISFACTION_NAMES.get(d["satisfaction"], str(d["satisfaction"])))})
        if d.get("reason"):
            details.append(_("Reason: %(reason)s") % {"reason": reason_label(d["reason"])})
        change = ""
        if e["to_status"] and e["from_status"] != e["to_status"] and kind != "registered":
            change = f"{stage_name(ticket_type, e['from_status'])} → {stage_name(ticket_type, e['to_status'])}" \
                if e["from_status"] else stage_name(ticket_type, e["to_status"])
        out.append({"at": e["created_at"], "kind": kind, "title": title, "by": e["by_name"], "note": note,
                    "details": details, "change": change})
    return out



def top_error(errors: dict[str, str] | None, target: str | None, steps: list[dict[str, Any]]) -> str | None:
    """The error above the page: one of no form, or of a step form the page no longer offers (the step is
    not the person's to take now)."""
    text = (errors or {}).get("form")
    if text and (not target or (target.startswith("step-") and target[5:] not in {s["to"] for s in steps})):
        return text
    return None


async def files_of(ticket_id: uuid.UUID) -> list[dict[str, Any]]:
    return [{**a, "image": a["content_type"].startswith("image/")}
            for a in await attachments.list_for("ticket", ticket_id)]


def checklist_rows(ticket_type: dict[str, Any], ticket: dict[str, Any], form: dict[str, str] | None
                   ) -> list[dict[str, Any]]:
    """The checklist's items with what the form shows in each: what was typed (after a refusal), else
    the ticket's answer (amounts in yuan)."""
    values = ticket["checklist"] or {}
    rows = []
    for item in ticket_type["checklist"]:
        code, kind = item["code"], item.get("kind", "check")
        value = values.get(code)
        if form is not None:
            shown: Any = form.get(f"check_{code}", "")
        elif kind == "check":
            shown = "1" if value is True else ""
        elif kind == "amount":
            shown = format_grouped(value) if isinstance(value, int) else ""
        else:
            shown = value or ""
        rows.append({"code": code, "label": check_label(item), "kind": kind, "required": bool(item.get("required")),
                     "shown": shown, "value": value})
    return rows


async def sla_facts(ticket: dict[str, Any], ticket_type: dict[str, Any]) -> dict[str, Any]:
    now = clock.now()
    used = ticket["sla_used"]
    if ticket["clock_since"] is not None:
        watch = _clock.clock_for(await service.work_calendar(), ticket_type["sla"], ticket["priority"])
        used += watch.between(ticket["clock_since"], now)
    phase = phase_of(ticket_type, ticket["status"])
    return {"state": sla_state(ticket, phase, now, await warn_minutes()), "used": used,
            "target": ticket["sla_minutes"], "running": ticket["clock_since"] is not None}


def minutes_text(minutes: int) -> str:
    hours, rest = divmod(max(0, int(minutes)), 60)
    return _("%(h)s h %(m)s min") % {"h": hours, "m": rest} if hours else _("%(m)s min") % {"m": rest}


async def _page(request: Request[Any, Any, Any], ticket_id: uuid.UUID, *, status_code: int = 200,
                errors: dict[str, str] | None = None, form: dict[str, str] | None = None, target: str | None = None,
                notice: str | None = None, alert: str | None = None) -> Template:
    principal = me(request)
    ticket, ticket_type, parts = await service.readable(principal, ticket_id)
    steps = steps_of(await service.options(principal, ticket, ticket_type, parts), ticket_type, ticket,
                     resident=False)
    holder = any("holder" in s["needs"] for s in steps)
    handling = "handle" in parts
    open_ticket = ticket["closed_at"] is None
    return tickets_page(
        request, "tickets/detail.html", status_code=status_code, t=ticket, type_label=type_name(ticket_type),
        status_name=stage_name(ticket_type, ticket["status"]), names=await service.names(ticket),
        sla=await sla_facts(ticket, ticket_type), minutes_text=minutes_text,
        lines=await timeline_lines(await service.timeline(ticket_id), ticket_type, resident=False),
        legs=await service.legs(ticket_id), files=await files_of(ticket_id), steps=steps,
        departments=await department_choices(principal, ticket["project_id"]) if holder else [],
        staff=await staff_choices(ticket["project_id"]) if holder else [],
        reasons=[(r, reason_label(r)) for r in rules.VISIT_REASONS],
        satisfactions=[(str(k), _(v)) for k, v in SATISFACTION_NAMES.items()],
        suppliers=[(s, supplied_label(s)) for s in SUPPLIERS], material_rows=MATERIAL_ROWS,
        checklist=checklist_rows(ticket_type, ticket, form if target == "checklist" else None),
        may_checklist=handling and open_ticket and bool(ticket_type["checklist"]),
        may_work=handling and open_ticket, errors=errors or {}, form=form or {}, target=target,
        top_error=top_error(errors, target, steps),
        notice=notice, alert=alert)


async def _readable_or_queue(principal: Principal, ticket_id: uuid.UUID, done: str) -> Response[Any]:
    """After a change: back to the ticket, or to the queue when it went where the person no longer sees it."""
    try:
        await service.readable(principal, ticket_id)
    except NotFound:
        return Redirect(f"/tickets?done={done}", status_code=303)
    return Redirect(f"/tickets/{ticket_id}?done={done}", status_code=303)


@get("/tickets/{ticket_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def detail(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], done: Filter = None
                 ) -> Response[Any]:
    if me(request).kind == "member":
        return Redirect(f"/my/tickets/{ticket_id}")
    return await _page(request, ticket_id, notice=done_text(done) if done in DONE else None)


def read_step(data: dict[str, str]) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """A step form: what was typed, the service's arguments, and what could not be read at all."""
    form = clean(data, *STEP_FIELDS)
    errors: dict[str, str] = {}
    department, assignee = as_uuid(form["department"]), as_uuid(form["assignee"])
    if form["department"] and department is None:
        errors["department"] = _("Choose a department from the list.")
    if form["assignee"] and assignee is None:
        errors["assignee"] = _("Choose a person from the list.")
    satisfaction = int(form["satisfaction"]) if form["satisfaction"].isdigit() and len(form["satisfaction"]) < 3 \
        else None
    args = {"to": form["to"], "note": form["note"], "expected_status": form["expected_status"] or None,
            "department_id": department, "assignee_id": assignee, "subcontractor": form["subcontractor"],
            "satisfaction": satisfaction, "reason": form["reason"], "signed_by": form["signed_by"]}
    return form, args, errors


@post("/tickets/{ticket_id:uuid}/transition", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def move(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """One step of the workflow. A ticket that moved since the page was drawn is shown as it is now."""
    principal = me(request)
    form, args, errors = read_step(data)
    target = f"step-{form['to']}"
    try:
        await service.transition(principal, ticket_id, **args)
    except service.StaleState as exc:
        fresh, ticket_type, _parts = await service.readable(principal, exc.ticket_id)
        return await _page(request, ticket_id, status_code=409, form=form, target=target,
                           alert=stale_text(ticket_type, fresh["status"]))
    except AppError as exc:
        _ticket, ticket_type, _parts = await service.readable(principal, ticket_id)
        labels = {i["code"]: check_label(i) for i in ticket_type["checklist"]}
        errors = {**field_errors(exc, STEP_FIELDS[2:], labels), **errors}
        return await _page(request, ticket_id, status_code=refused_status(exc), form=form, target=target,
                           errors=errors)
    if errors:
        return await _page(request, ticket_id, status_code=422, form=form, target=target, errors=errors)
    return await _readable_or_queue(principal, ticket_id, "moved")


def read_checklist(ticket_type: dict[str, Any], data: dict[str, str]) -> tuple[dict[str, str], dict[str, Any],
                                                                                 dict[str, str]]:
    """The checklist form: ticks, amounts typed in yuan (kept in fen) and texts; an empty answer is none."""
    form: dict[str, str] = {}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in ticket_type["checklist"]:
        code, kind = item["code"], item.get("kind", "check")
        key = f"check_{code}"
        text = (data.get(key) or "").strip()
        form[key] = text
        if kind == "check":
            values[code] = text == "1"
        elif kind == "amount":
            if not text:
                values[code] = None
                continue
            try:
                values[code] = parse_typed(text, field=key)
            except AppError:
                errors[key] = _("Type an amount in yuan, like 500 or 1,000.50.")
        else:
            values[code] = text or None
    return form, values, errors


@post("/tickets/{ticket_id:uuid}/checklist", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def checklist(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = me(request)
    _ticket, ticket_type, _parts = await service.readable(principal, ticket_id)
    form, values, errors = read_checklist(ticket_type, data)
    version = (data.get("expected_version") or "").strip()
    if errors:
        return await _page(request, ticket_id, status_code=422, form=form, target="checklist", errors=errors)
    try:
        await service.save_checklist(principal, ticket_id, values,
                                     expected_version=int(version) if version.isdigit() and len(version) < 9
                                     else None)
    except service.StaleState as exc:
        fresh, ticket_type, _parts = await service.readable(principal, exc.ticket_id)
        return await _page(request, ticket_id, status_code=409, form=form, target="checklist",
                           alert=stale_text(ticket_type, fresh["status"]))
    except AppError as exc:
        rename = {f"checklist.{i['code']}": f"check_{i['code']}" for i in ticket_type["checklist"]}
        return await _page(request, ticket_id, status_code=refused_status(exc), form=form, target="checklist",
                           errors=field_errors(exc, tuple(rename.values()), rename=rename))
    return Redirect(f"/tickets/{ticket_id}?done=checklist#checklist", status_code=303)


def _whole(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 7 else -1  # -1: the service says what is allowed


@post("/tickets/{ticket_id:uuid}/work", opt={"permission": Perm.TICKETS_HANDLE}, include_in_schema=False)
async def work(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """A work record: what was done, the minutes it took, and up to three materials with who supplied them."""
    principal = me(request)
    names = ["note", "minutes"] + [f"{f}_{i}" for i in range(MATERIAL_ROWS)
                                   for f in ("name", "quantity", "supplied_by")]
    form = clean(data, *names)
    materials: list[dict[str, str]] = []
    rows: dict[int, int] = {}
    for i in range(MATERIAL_ROWS):
        if form[f"name_{i}"] or form[f"quantity_{i}"]:
            rows[len(materials)] = i
            materials.append({"name": form[f"name_{i}"], "quantity": form[f"quantity_{i}"],
                              "supplied_by": form[f"supplied_by_{i}"] or "company"})
    try:
        await service.add_work(principal, ticket_id, note=form["note"], minutes=_whole(form["minutes"]),
                               materials=materials)
    except AppError as exc:
        rename = {f"materials[{n}].{f}": f"{f}_{i}" for n, i in rows.items() for f in ("name", "supplied_by")}
        return await _page(request, ticket_id, status_code=refused_status(exc), form=form, target="work",
                           errors=field_errors(exc, tuple(names), rename=rename))
    return Redirect(f"/tickets/{ticket_id}?done=work#work", status_code=303)


@post("/tickets/{ticket_id:uuid}/comments", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def comment(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = me(request)
    form = clean(data, "comment")
    try:
        await service.add_comment(principal, ticket_id, form["comment"])
    except AppError as exc:
        return await _page(request, ticket_id, status_code=refused_status(exc), form=form, target="comment",
                           errors=field_errors(exc, ("comment",), rename={"note": "comment"}))
    return Redirect(f"/tickets/{ticket_id}?done=comment#timeline", status_code=303)


@post("/tickets/{ticket_id:uuid}/attachments", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False,
      request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def attach(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID],
                 data: Annotated[FileForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    """A photo or a PDF kept with the ticket (a file whose content is not what its name says is refused)."""
    principal = me(request)
    await service.readable(principal, ticket_id)
    try:
        await attachments.attach_upload(principal, "ticket", ticket_id, data.file, default_name="photo")
    except AppError as exc:
        return await _page(request, ticket_id, status_code=refused_status(exc), target="files",
                           errors=field_errors(exc, ("file",)))
    return Redirect(f"/tickets/{ticket_id}?done=attached#files", status_code=303)


ROUTES: list[Any] = [detail, move, checklist, work, comment, attach]
