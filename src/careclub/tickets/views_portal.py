"""The residents' ticket pages, phone first: their requests (`/my/tickets`: the tickets they raised and
those of the units they live in, as `service.list_tickets` gives a member), raising a complaint or a
repair for one of their own units with an optional photo (`/my/tickets/new`), and following one
(`/my/tickets/{id}`): its status in words, a timeline without the company's working data, comments and
photos, and signing off, disputing or rating the work when the workflow lets them (`service.transition`,
the same step the staff take, refused as stale when the ticket moved meanwhile)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.core.db import fetch
from careclub.core.errors import AppError
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform import attachments, resident_home
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import PER_PAGE, Form, as_uuid, clean, keyset_pages, me
from careclub.tickets import rules, service
from careclub.tickets.api import check_label, stage_name, type_name
from careclub.tickets.views import SATISFACTION_NAMES, field_errors, reason_label, refused_status, tickets_page
from careclub.tickets.views_detail import (
    STEP_FIELDS,
    FileForm,
    files_of,
    read_step,
    stale_text,
    steps_of,
    timeline_lines,
    top_error,
)

Filter = Annotated[str | None, QueryParameter(max_length=120)]
RAISE_FIELDS = ("type", "unit", "title", "description", "contact_phone", "file")
PORTAL_VIEWS = ("open", "closed")
PORTAL_DONE = {"raised": N_("Your request is sent. You can follow it here."), "moved": N_("Thank you: it is recorded."),
               "attached": N_("The photo is kept with your request."), "comment": N_("Your message is added.")}
done_text = labeller(PORTAL_DONE)


@dataclass
class RaiseForm:
    type: str = ""
    unit: str = ""
    title: str = ""
    description: str = ""
    contact_phone: str = ""
    file: UploadFile | None = None


def _staff_elsewhere(request: Request[Any, Any, Any], target: str) -> Response[Any] | None:
    """Staff who open a resident's page go to theirs."""
    return Redirect(target) if me(request).kind != "member" else None


async def _unit_labels(unit_ids: list[uuid.UUID]) -> list[tuple[str, str]]:
    if not unit_ids:
        return []
    rows = await fetch("SELECT pu.id, b.code || '-' || pu.code AS label, b.name AS building FROM property_unit pu"
                       " JOIN property_building b ON b.id = pu.building WHERE pu.id = ANY($1::uuid[])"
                       " ORDER BY b.code, pu.code", unit_ids)
    return [(str(r["id"]), f"{r['label']} · {r['building']}") for r in rows]


# ---- the list ---------------------------------------------------------------------------------

@get("/my/tickets", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_list(request: Request[Any, Any, Any], view: Filter = None, after: Filter = None) -> Response[Any]:
    if (elsewhere := _staff_elsewhere(request, "/tickets")) is not None:
        return elsewhere
    principal = me(request)
    form = {"view": view if view in PORTAL_VIEWS else "open"}
    rows, cursor, total, more = await service.list_tickets(principal, view=form["view"], after=after, limit=PER_PAGE)
    types = {t["id"]: t for t in await service.list_types()}
    shown = [{**r, "type_name": type_name(types[r["type"]]) if r["type"] in types else r["type_code"],
              "status_name": stage_name(types[r["type"]], r["status"]) if r["type"] in types else r["status"]}
             for r in rows]
    may_raise = bool(await service.resident_units(principal)) and any(
        t["residents_may_raise"] and t["active"] for t in types.values())
    return tickets_page(request, "tickets/my_list.html", rows=shown, form=form, may_raise=may_raise,
                        **keyset_pages(form, after, cursor, total, more))


# ---- the resident's home page ------------------------------------------------------------------

MY_REQUESTS = N_("My requests")
OPEN_LINE = N_("Open: %(count)s")
NONE_OPEN = N_("Nothing open. Report a problem in your home here.")
NONE_OPEN_NO_HOME = N_("Nothing open.")


async def my_requests_tile(principal: Principal) -> resident_home.Tile | None:
    """The resident's requests on his home page (/my), with how many are open: for a member who lives in a unit
    of the archive or has raised a ticket; staff follow tickets on /tickets instead."""
    if principal.kind != "member":
        return None
    units = await service.resident_units(principal)
    counts = await service.resident_counts(principal)
    if not units and not counts["total"]:
        return None
    if counts["open"]:
        line = _(OPEN_LINE) % {"count": counts["open"]}
    else:
        line = _(NONE_OPEN) if units else _(NONE_OPEN_NO_HOME)
    return resident_home.Tile(key="my-tickets", title=_(MY_REQUESTS), line=line, link="/my/tickets",
                              count=counts["open"] or None)


resident_home.register(my_requests_tile, order=20)


# ---- raising ----------------------------------------------------------------------------------

async def _raise_form(request: Request[Any, Any, Any], *, form: dict[str, str], errors: dict[str, str] | None = None,
                      status_code: int = 200) -> Template:
    principal = me(request)
    types = [t for t in await service.list_types(active_only=True) if t["residents_may_raise"]]
    return tickets_page(request, "tickets/my_new.html", status_code=status_code, form=form, errors=errors or {},
                        types=[(t["code"], type_name(t)) for t in types],
                        units=await _unit_labels(await service.resident_units(principal)))


@get("/my/tickets/new", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_new(request: Request[Any, Any, Any], type: Filter = None) -> Response[Any]:
    if (elsewhere := _staff_elsewhere(request, "/tickets/new")) is not None:
        return elsewhere
    units = await service.resident_units(me(request))
    form = {"type": (type or "repair")[:32], "unit": str(units[0]) if len(units) == 1 else ""}
    return await _raise_form(request, form=form)


@post("/my/tickets/new", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False,
      request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def my_raise(request: Request[Any, Any, Any],
                   data: Annotated[RaiseForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    """Raise the request (every problem at once); a photo that is not one is refused and nothing is raised."""
    if (elsewhere := _staff_elsewhere(request, "/tickets/new")) is not None:
        return elsewhere
    principal = me(request)
    form = {k: str(getattr(data, k) or "").strip() for k in RAISE_FIELDS if k != "file"}
    errors: dict[str, str] = {}
    unit_id = as_uuid(form["unit"])
    try:
        row = await service.create_ticket(principal, type_code=form["type"] or "repair", title=form["title"],
                                          description=form["description"], unit_id=unit_id, source="portal",
                                          contact_name=principal.display_name, contact_phone=form["contact_phone"])
        upload = data.file
        if upload is not None and upload.filename:
            await attachments.attach_upload(principal, "ticket", row["id"], upload, default_name="photo")
    except AppError as exc:
        errors = field_errors(exc, RAISE_FIELDS)
        return await _raise_form(request, form=form, errors=errors, status_code=refused_status(exc))
    return Redirect(f"/my/tickets/{row['id']}?done=raised", status_code=303)


# ---- following one ----------------------------------------------------------------------------

async def _page(request: Request[Any, Any, Any], ticket_id: uuid.UUID, *, status_code: int = 200,
                errors: dict[str, str] | None = None, form: dict[str, str] | None = None, target: str | None = None,
                notice: str | None = None, alert: str | None = None) -> Template:
    principal = me(request)
    ticket, ticket_type, parts = await service.readable(principal, ticket_id)
    steps = steps_of(await service.options(principal, ticket, ticket_type, parts), ticket_type, ticket, resident=True)
    return tickets_page(
        request, "tickets/my_detail.html", status_code=status_code, t=ticket, type_label=type_name(ticket_type),
        status_name=stage_name(ticket_type, ticket["status"]), names=await service.names(ticket),
        phase=next((s["phase"] for s in ticket_type["stages"] if s["code"] == ticket["status"]), ""),
        lines=await timeline_lines(await service.timeline(ticket_id), ticket_type, resident=True),
        files=await files_of(ticket_id), steps=steps, reasons=[(r, reason_label(r)) for r in rules.VISIT_REASONS],
        satisfactions=[(str(k), _(v)) for k, v in sorted(SATISFACTION_NAMES.items(), reverse=True)],
        errors=errors or {}, form=form or {}, target=target,
        top_error=top_error(errors, target, steps), notice=notice, alert=alert)


@get("/my/tickets/{ticket_id:uuid}", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_detail(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], done: Filter = None
                    ) -> Response[Any]:
    if (elsewhere := _staff_elsewhere(request, f"/tickets/{ticket_id}")) is not None:
        return elsewhere
    return await _page(request, ticket_id, notice=done_text(done) if done in PORTAL_DONE else None)


@post("/my/tickets/{ticket_id:uuid}/transition", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_move(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Sign off, dispute or rate: the step the workflow offers the resident now."""
    principal = me(request)
    form, args, errors = read_step(data)
    args.update(department_id=None, assignee_id=None, subcontractor="", signed_by="")  # a resident hands nothing over
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
        return await _page(request, ticket_id, status_code=refused_status(exc), form=form, target=target,
                           errors=field_errors(exc, STEP_FIELDS[2:], labels))
    if errors:
        return await _page(request, ticket_id, status_code=422, form=form, target=target, errors=errors)
    return Redirect(f"/my/tickets/{ticket_id}?done=moved", status_code=303)


@post("/my/tickets/{ticket_id:uuid}/comments", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_comment(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = me(request)
    form = clean(data, "comment")
    try:
        await service.add_comment(principal, ticket_id, form["comment"])
    except AppError as exc:
        return await _page(request, ticket_id, status_code=refused_status(exc), form=form, target="comment",
                           errors=field_errors(exc, ("comment",), rename={"note": "comment"}))
    return Redirect(f"/my/tickets/{ticket_id}?done=comment#timeline", status_code=303)


@post("/my/tickets/{ticket_id:uuid}/attachments", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False,
      request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def my_attach(request: Request[Any, Any, Any], ticket_id: FromPath[uuid.UUID],
                    data: Annotated[FileForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    principal = me(request)
    await service.readable(principal, ticket_id)
    try:
        await attachments.attach_upload(principal, "ticket", ticket_id, data.file, default_name="photo")
    except AppError as exc:
        return await _page(request, ticket_id, status_code=refused_status(exc), target="files",
                           errors=field_errors(exc, ("file",)))
    return Redirect(f"/my/tickets/{ticket_id}?done=attached#files", status_code=303)


ROUTES: list[Any] = [my_list, my_new, my_raise, my_detail, my_move, my_comment, my_attach]
