"""The tickets API: the contract's `POST /api/v1/tickets`, `GET /api/v1/tickets/{id}` and
`POST /api/v1/tickets/{id}/transitions`, and around them the queue, work records, checklists, photos,
the ticket types and the service calendar.

Who: staff with ticket rights register and move tickets in their scope; a resident raises complaints and
repairs for his own units and signs off, disputes and rates them. Anyone else gets 404 for a ticket, exactly
as for one that does not exist."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, QueryParameter

from careclub.core.errors import Forbidden, NotFound
from careclub.core.i18n import _
from careclub.core.paging import After
from careclub.core.principal import Principal
from careclub.funds.api import FileUpload
from careclub.funds.schemas import AttachmentOut
from careclub.platform import attachments
from careclub.platform.api import Limit, PrincipalDep, provide_principal
from careclub.platform.permissions import Perm
from careclub.tickets import rules, schemas, service

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}


def stage_name(ticket_type: dict[str, Any], code: str) -> str:
    """A company's own stage name as it wrote it, else the built-in stage's name in the reader's language."""
    for s in ticket_type["stages"]:
        if s["code"] == code and s.get("name"):
            return str(s["name"])
    return _(rules.STAGE_NAMES[code]) if code in rules.STAGE_NAMES else code


def type_name(ticket_type: dict[str, Any]) -> str:
    if ticket_type["name"]:
        return str(ticket_type["name"])
    code = ticket_type["code"]
    return _(rules.TYPE_NAMES[code]) if code in rules.TYPE_NAMES else code


def check_label(item: dict[str, Any]) -> str:
    if item.get("label"):
        return str(item["label"])
    return _(rules.CHECK_LABELS[item["code"]]) if item["code"] in rules.CHECK_LABELS else item["code"]


def event_data(kind: str, data: dict[str, Any]) -> schemas.EventData:
    if kind == "checklist":  # its data is the answers themselves, keyed by the items' codes
        return schemas.EventData(checklist=data)
    return msgspec.convert(data, schemas.EventData, strict=False)


async def ticket_out(principal: Principal, ticket_id: uuid.UUID, *, just_moved: bool = False) -> schemas.TicketOut:
    ticket, ticket_type, parts = await service.readable(principal, ticket_id, just_moved=just_moved)
    steps = await service.options(principal, ticket, ticket_type, parts)
    names = await service.names(ticket)
    values = ticket["checklist"] or {}
    events = await service.timeline(ticket_id)
    return schemas.TicketOut(
        id=ticket["id"], number=ticket["number"], type=ticket["type_code"], type_name=type_name(ticket_type),
        status=ticket["status"], status_name=stage_name(ticket_type, ticket["status"]), priority=ticket["priority"],
        source=ticket["source"], title=ticket["title"], description=ticket["description"], unit=ticket["unit"],
        unit_label=names["unit"], project=names["project"], person=ticket["person"],
        contact_name=ticket["contact_name"], contact_phone=ticket["contact_phone"],
        department=ticket["department"], department_name=names["department"], assignee=ticket["assignee"],
        assignee_name=names["assignee"], subcontractor=ticket["subcontractor"], respond_by=ticket["respond_by"],
        responded_at=ticket["responded_at"], due_at=ticket["due_at"], clock_running=ticket["clock_since"] is not None,
        sla_minutes=ticket["sla_minutes"], sla_used_minutes=ticket["sla_used"], breached=ticket["breached"],
        resolved_at=ticket["resolved_at"], closed_at=ticket["closed_at"], satisfaction=ticket["satisfaction"],
        reopen_count=ticket["reopen_count"], version=ticket["version"], created_at=ticket["created_at"],
        checklist=[schemas.ChecklistItem(code=i["code"], label=check_label(i), kind=i.get("kind", "check"),
                                         required=bool(i.get("required")), value=values.get(i["code"]))
                   for i in ticket_type["checklist"]],
        timeline=[schemas.TimelineEntry(at=e["created_at"], kind=e["kind"], by=e["by_name"], note=e["note"],
                                        from_status=e["from_status"], to_status=e["to_status"],
                                        data=event_data(e["kind"], e["data"] or {})) for e in events],
        legs=[schemas.Leg(department=g["department"], department_name=g["department_name"] or "",
                          assignee=g["assignee"], assignee_name=g["assignee_name"] or "",
                          subcontractor=g["subcontractor"], started_at=g["started_at"], accepted_at=g["accepted_at"],
                          ended_at=g["ended_at"], working_minutes=g["used"], breached=g["breached"],
                          rework=g["rework"]) for g in await service.legs(ticket_id)],
        allowed_transitions=list(dict.fromkeys(t.target for t in steps)),
        transitions=[schemas.AllowedTransition(to=t.target, name=stage_name(ticket_type, t.target),
                                               needs=list(t.needs)) for t in steps])


async def stale_answer(principal: Principal, exc: service.StaleState) -> service.StaleState:
    """The 409 carries the ticket as it is now, so the client can show it without asking again."""
    current = await ticket_out(principal, exc.ticket_id)
    exc.extra = {"ticket": msgspec.to_builtins(current)}
    return exc


def summary(row: dict[str, Any]) -> schemas.TicketSummary:
    return schemas.TicketSummary(
        id=row["id"], number=row["number"], type=row["type_code"], title=row["title"], status=row["status"],
        priority=row["priority"], unit_label=row["unit_label"], department_name=row["department_name"],
        assignee_name=row["assignee_name"], due_at=row["due_at"], breached=row["breached"],
        overdue=service.overdue(row), created_at=row["created_at"], closed_at=row["closed_at"])


async def may_read_ticket(principal: Principal, ticket_id: uuid.UUID) -> bool:
    try:
        await service.readable(principal, ticket_id)
    except NotFound:
        return False
    return True


attachments.register_owner("ticket", may_read_ticket)

View = Annotated[str, QueryParameter(pattern="^(open|mine|attention|closed|all)$")]
Short = Annotated[str | None, QueryParameter(max_length=32)]


class TicketController(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]
    dependencies = _P

    @post("", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def create(self, data: JSONBody[schemas.TicketCreate], principal: PrincipalDep) -> schemas.TicketCreated:
        """Register a ticket (staff), or raise a complaint or a repair for one's own unit (a resident)."""
        if principal.kind not in ("staff", "member") or (principal.kind == "staff"
                                                          and not principal.can(Perm.TICKETS_HANDLE)):
            raise Forbidden("you may not register tickets", code="forbidden")
        row = await service.create_ticket(
            principal, type_code=data.kind, title=data.title, description=data.description, unit_id=data.unit,
            priority=data.priority, source=data.source or "", person_id=data.person, contact_name=data.contact_name,
            contact_phone=data.contact_phone, department_id=data.department)
        return schemas.TicketCreated(id=row["id"], number=row["number"], type=row["type_code"], status=row["status"],
                                     priority=row["priority"], due_at=row["due_at"])

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def list_tickets(self, principal: PrincipalDep, view: View = "open", type: Short = None,
                           status: Short = None, priority: Short = None,
                           department: FromQuery[uuid.UUID | None] = None, unit: FromQuery[uuid.UUID | None] = None,
                           number: Annotated[str | None, QueryParameter(max_length=32)] = None,
                           after: After = None, limit: Limit = 50) -> schemas.TicketList:
        """The tickets the caller may see, newest first: `open` (default), `mine`, `attention` (past or near
        a deadline), `closed`, `all`."""
        rows, next_after, total, more = await service.list_tickets(
            principal, view=view, type_code=type, status=status, priority=priority, department=department, unit=unit,
            number=number, after=after, limit=limit)
        return schemas.TicketList(items=[summary(r) for r in rows], total=total, total_capped=more, limit=limit,
                                  offset=0, next_after=next_after)

    @get("/{ticket_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def get_ticket(self, ticket_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.TicketOut:
        """The ticket with its timeline and the statuses the caller may move it to now."""
        return await ticket_out(principal, ticket_id)

    @post("/{ticket_id:uuid}/transitions", opt={"permission": Perm.AUTHENTICATED}, status_code=200)
    async def move(self, ticket_id: FromPath[uuid.UUID], data: JSONBody[schemas.TransitionCreate],
                   principal: PrincipalDep) -> schemas.TicketOut:
        """Move the ticket to `to`. With `expected_status`, a ticket that moved meanwhile answers 409
        `stale_state` carrying the ticket as it is now; a step the caller may not take answers 422
        `transition_not_allowed`."""
        try:
            await service.transition(principal, ticket_id, to=data.to, note=data.note,
                                     expected_status=data.expected_status, department_id=data.department,
                                     assignee_id=data.assignee, subcontractor=data.subcontractor,
                                     satisfaction=data.satisfaction, reason=data.reason, signed_by=data.signed_by)
        except service.StaleState as exc:
            raise await stale_answer(principal, exc) from None
        return await ticket_out(principal, ticket_id, just_moved=True)

    @put("/{ticket_id:uuid}/checklist", opt={"permission": Perm.TICKETS_HANDLE})
    async def checklist(self, ticket_id: FromPath[uuid.UUID], data: JSONBody[schemas.ChecklistSave],
                        principal: PrincipalDep) -> schemas.TicketOut:
        """Answers to the type's checklist (amounts in fen); with `expected_version`, 409 if it changed."""
        try:
            await service.save_checklist(principal, ticket_id, dict(data.values),
                                         expected_version=data.expected_version)
        except service.StaleState as exc:
            raise await stale_answer(principal, exc) from None
        return await ticket_out(principal, ticket_id)

    @post("/{ticket_id:uuid}/work", opt={"permission": Perm.TICKETS_HANDLE}, status_code=201)
    async def work(self, ticket_id: FromPath[uuid.UUID], data: JSONBody[schemas.WorkCreate],
                   principal: PrincipalDep) -> schemas.TicketOut:
        """A work record: what was done, the minutes it took, the materials and who supplied them."""
        await service.add_work(principal, ticket_id, note=data.note, minutes=data.minutes,
                               materials=[msgspec.to_builtins(m) for m in data.materials])
        return await ticket_out(principal, ticket_id)

    @post("/{ticket_id:uuid}/comments", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def comment(self, ticket_id: FromPath[uuid.UUID], data: JSONBody[schemas.CommentCreate],
                      principal: PrincipalDep) -> schemas.TicketOut:
        await service.add_comment(principal, ticket_id, data.note)
        return await ticket_out(principal, ticket_id)

    @post("/{ticket_id:uuid}/attachments", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def attach(self, ticket_id: FromPath[uuid.UUID], principal: PrincipalDep,
                     data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]) -> AttachmentOut:
        """A photo or a PDF for the ticket (images re-encoded, their location data dropped)."""
        await service.readable(principal, ticket_id)
        row = await attachments.attach_upload(principal, "ticket", ticket_id, data.file, default_name="photo")
        return AttachmentOut(id=row["id"], filename=row["filename"], content_type=row["content_type"],
                             size=row["size"], url=f"/api/v1/attachments/{row['id']}")

    @get("/{ticket_id:uuid}/attachments", opt={"permission": Perm.AUTHENTICATED})
    async def attachments_of(self, ticket_id: FromPath[uuid.UUID], principal: PrincipalDep) -> list[AttachmentOut]:
        await service.readable(principal, ticket_id)
        return [AttachmentOut(id=a["id"], filename=a["filename"], content_type=a["content_type"], size=a["size"],
                              url=f"/api/v1/attachments/{a['id']}")
                for a in await attachments.list_for("ticket", ticket_id)]


def type_out(row: dict[str, Any]) -> schemas.TicketTypeOut:
    return msgspec.convert({**row, "sla": {**rules.DEFAULT_SLA, **row["sla"]}}, schemas.TicketTypeOut,
                           from_attributes=False, strict=False)


class TicketTypeController(Controller):
    path = "/api/v1/ticket-types"
    tags = ["tickets"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def list_types(self, principal: PrincipalDep) -> list[schemas.TicketTypeOut]:
        """The company's ticket types: the nine built in, as configured."""
        return [type_out(t) for t in await service.list_types()]

    @get("/{code:str}", opt={"permission": Perm.AUTHENTICATED})
    async def get_type(self, code: FromPath[str], principal: PrincipalDep) -> schemas.TicketTypeOut:
        return type_out(await service.type_by_code(code))

    @put("/{code:str}", opt={"permission": Perm.TENANT_MANAGE})
    async def update_type(self, code: FromPath[str], data: JSONBody[schemas.TicketTypeUpdate],
                          principal: PrincipalDep) -> schemas.TicketTypeOut:
        """Change what is given; every problem (an unknown stage in a step, a target out of range) at once."""
        # left out: unchanged; `default_department: null` clears it (msgspec leaves unset fields out)
        changes = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None or k == "default_department"}
        if "default_department" in changes and changes["default_department"] is not None:
            changes["default_department"] = uuid.UUID(changes["default_department"])
        return type_out(await service.save_type(code, changes))


class CalendarController(Controller):
    path = "/api/v1/service-calendar"
    tags = ["tickets"]
    dependencies = _P

    async def _out(self) -> schemas.CalendarOut:
        s = await service.calendar_settings()
        return schemas.CalendarOut(hours_start=s["hours_start"], hours_end=s["hours_end"], days=s["days"],
                                   quiet_start=s["quiet_start"], quiet_end=s["quiet_end"],
                                   warn_minutes=s["warn_minutes"],
                                   overrides=[schemas.CalendarDayOut(**r) for r in await service.calendar_overrides()])

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def get_calendar(self, principal: PrincipalDep) -> schemas.CalendarOut:
        """The service hours and days the SLA clocks count working time in, and the company's own exceptions."""
        return await self._out()

    @put("", opt={"permission": Perm.TENANT_MANAGE})
    async def save(self, data: JSONBody[schemas.CalendarSave], principal: PrincipalDep) -> schemas.CalendarOut:
        await service.save_calendar(hours_start=data.hours_start, hours_end=data.hours_end, days=data.days,
                                    quiet_start=data.quiet_start, quiet_end=data.quiet_end,
                                    warn_minutes=data.warn_minutes)
        return await self._out()

    @post("/days", opt={"permission": Perm.TENANT_MANAGE}, status_code=200)
    async def day(self, data: JSONBody[schemas.CalendarDaySave], principal: PrincipalDep) -> schemas.CalendarOut:
        """A working day or a day off that beats the official calendar (`working: null` removes it)."""
        await service.set_calendar_day(data.day, data.working, data.note)
        return await self._out()


ROUTES = [TicketController, TicketTypeController, CalendarController]
