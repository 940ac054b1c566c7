"""Request and response bodies of the tickets API (the contract's ticket endpoints and what is around them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from piccolo.table import Table

from careclub.core.schemas import Input, col, text
from careclub.tickets.tables import CalendarDay, ServiceCalendar, Ticket, TicketEvent, TicketLeg, TicketType

Priority = Literal["low", "normal", "high", "urgent"]
Source = Literal["phone", "walk_in", "web", "portal", "visit", "inspection"]
Status = Annotated[str, msgspec.Meta(min_length=1, max_length=32, description="a stage code of the ticket's type")]


class TicketCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Ticket,)
    kind: Annotated[str, col(TicketType.code, min_length=1, description="complaint, repair, contact_slip, …")
                    ] = msgspec.field(name="type")
    title: Annotated[str, col(Ticket.title, min_length=1)]
    description: Annotated[str, text(4000)] = ""
    unit: uuid.UUID | None = None
    priority: Priority = "normal"
    source: Source | None = None
    person: uuid.UUID | None = None
    contact_name: Annotated[str, col(Ticket.contact_name)] = ""
    contact_phone: Annotated[str, col(Ticket.contact_phone)] = ""
    department: uuid.UUID | None = None


class TransitionCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Ticket, TicketEvent, TicketLeg)
    to: Status
    note: Annotated[str, text(4000)] = ""
    expected_status: Status | None = None
    department: uuid.UUID | None = msgspec.field(default=None)
    assignee: uuid.UUID | None = None
    subcontractor: Annotated[str, text(120)] = ""
    satisfaction: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None
    reason: Annotated[str, text(32)] = ""
    signed_by: Annotated[str, text(120)] = ""


class ChecklistSave(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Ticket,)
    values: Annotated[dict[Annotated[str, text(32)], bool | Annotated[int, msgspec.Meta(ge=0, le=10**13)]
                           | Annotated[str, text(500)] | None], msgspec.Meta(max_length=60)]
    expected_version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None


class Material(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (TicketEvent,)
    name: Annotated[str, text(120)]
    quantity: Annotated[str, text(40)] = ""
    supplied_by: Literal["company", "resident", "contractor"] = "company"


class WorkCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (TicketEvent,)
    note: Annotated[str, text(4000, min_length=1)]
    minutes: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None
    materials: Annotated[list[Material], msgspec.Meta(max_length=50)] = []


class CommentCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (TicketEvent,)
    note: Annotated[str, text(4000, min_length=1)]


class MaterialOut(msgspec.Struct, kw_only=True):
    name: str
    quantity: str
    supplied_by: str


class EventData(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What an event recorded beyond its note; each kind fills its own fields: registered (source, priority),
    dispatched (department, assignee, subcontractor), a rating (satisfaction, reason), a sign-off (signed_by),
    work (minutes, materials), escalated (role, people), sla_breach (due_at), reopened (after), checklist
    (the answers by item code), comment (resident)."""

    source: str | None = None
    priority: str | None = None
    department: uuid.UUID | None = None
    assignee: uuid.UUID | None = None
    subcontractor: str | None = None
    satisfaction: int | None = None
    reason: str | None = None
    signed_by: str | None = None
    minutes: int | None = None
    materials: list[MaterialOut] | None = None
    role: str | None = None
    people: int | None = None
    due_at: datetime | None = None
    after: str | None = None
    resident: bool | None = None
    checklist: dict[str, bool | int | str | None] | None = None


class TimelineEntry(msgspec.Struct, kw_only=True):
    at: datetime
    kind: str
    by: str
    note: str
    from_status: str = ""
    to_status: str = ""
    data: EventData = msgspec.field(default_factory=EventData)


class AllowedTransition(msgspec.Struct, kw_only=True):
    to: str
    name: str
    needs: list[str]


class ChecklistItem(msgspec.Struct, kw_only=True):
    code: str
    label: str
    kind: str
    required: bool
    value: bool | int | str | None


class Leg(msgspec.Struct, kw_only=True):
    department: uuid.UUID | None
    department_name: str
    assignee: uuid.UUID | None
    assignee_name: str
    subcontractor: str
    started_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    working_minutes: int
    breached: bool
    rework: bool


class TicketCreated(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    type: str
    status: str
    priority: str
    due_at: datetime | None


class TicketOut(msgspec.Struct, kw_only=True):
    """A ticket as its reader may see it: `allowed_transitions` are the statuses the caller may move it to now,
    `transitions` the same with what each step needs."""

    id: uuid.UUID
    number: str
    type: str
    type_name: str
    status: str
    status_name: str
    priority: str
    source: str
    title: str
    description: str
    unit: uuid.UUID | None
    unit_label: str
    project: str
    person: uuid.UUID | None
    contact_name: str
    contact_phone: str
    department: uuid.UUID | None
    department_name: str
    assignee: uuid.UUID | None
    assignee_name: str
    subcontractor: str
    respond_by: datetime | None
    responded_at: datetime | None
    due_at: datetime | None
    clock_running: bool
    sla_minutes: int
    sla_used_minutes: int
    breached: bool
    resolved_at: datetime | None
    closed_at: datetime | None
    satisfaction: int | None
    reopen_count: int
    version: int
    created_at: datetime
    checklist: list[ChecklistItem]
    timeline: list[TimelineEntry]
    legs: list[Leg]
    allowed_transitions: list[str]
    transitions: list[AllowedTransition]


class TicketSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    type: str
    title: str
    status: str
    priority: str
    unit_label: str | None
    department_name: str | None
    assignee_name: str | None
    due_at: datetime | None
    breached: bool
    overdue: bool
    created_at: datetime
    closed_at: datetime | None


class TicketList(msgspec.Struct, kw_only=True):
    """Newest first. `next_after` is the cursor of the next page (pass it as `after`), null on the last.
    `total` counts at most 10,000 matches (`total_capped` says when there are more)."""

    items: list[TicketSummary]
    total: int
    total_capped: bool
    limit: int
    offset: int
    next_after: str | None


class SlaTarget(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    respond: Annotated[int, msgspec.Meta(ge=1, le=525_600)]
    resolve: Annotated[int, msgspec.Meta(ge=1, le=525_600)]
    clock: Literal["working", "calendar"] = "working"


class StageSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, text(32)]
    phase: Literal["new", "work", "wait", "done", "closed", "cancelled"]
    name: Annotated[str, text(60)] = ""


class TransitionSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename={"source": "from",
                                                                                        "target": "to"}):
    source: Annotated[str, text(32)]
    target: Annotated[str, text(32)]
    by: Annotated[list[Literal["dispatch", "handle", "resident"]], msgspec.Meta(min_length=1)]
    needs: list[Literal["holder", "signoff", "rating", "checklist", "note"]] = []
    department: Annotated[str, text(64)] = ""


class CheckSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, text(32)]
    label: Annotated[str, text(120)] = ""
    kind: Literal["check", "amount", "text"] = "check"
    required: bool = False


class TicketTypeOut(msgspec.Struct, kw_only=True):
    code: str
    name: str
    prefix: str
    active: bool
    stages: list[StageSpec]
    transitions: list[TransitionSpec]
    required_fields: list[str]
    checklist: list[CheckSpec]
    sla: dict[str, SlaTarget]
    default_department: uuid.UUID | None
    requires_signoff: bool
    requires_visit: bool
    visible_to: list[str]
    residents_may_raise: bool
    escalate_role: str
    scored: bool


class TicketTypeUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (TicketType,)
    name: Annotated[str, col(TicketType.name)] | None = None
    prefix: Annotated[str, col(TicketType.prefix, min_length=1)] | None = None
    active: bool | None = None
    stages: Annotated[list[StageSpec], msgspec.Meta(max_length=40)] | None = None
    transitions: Annotated[list[TransitionSpec], msgspec.Meta(max_length=200)] | None = None
    required_fields: Annotated[list[Literal["unit", "person", "contact_name", "contact_phone", "description"]],
                               msgspec.Meta(max_length=5)] | None = None
    checklist: Annotated[list[CheckSpec], msgspec.Meta(max_length=60)] | None = None
    sla: Annotated[dict[Priority, SlaTarget], msgspec.Meta(max_length=4)] | None = None
    default_department: uuid.UUID | msgspec.UnsetType | None = msgspec.field(
        default=msgspec.UNSET)  # null clears it: tickets then start at the desk of whoever registers them
    requires_signoff: bool | None = None
    requires_visit: bool | None = None
    visible_to: Annotated[list[Literal["department", "assignee", "residents"]],
                          msgspec.Meta(max_length=3)] | None = None
    residents_may_raise: bool | None = None
    escalate_role: Annotated[str, col(TicketType.escalate_role)] | None = None
    scored: bool | None = None


class CalendarDayOut(msgspec.Struct, kw_only=True):
    day: date
    working: bool
    note: str


class CalendarOut(msgspec.Struct, kw_only=True):
    hours_start: str
    hours_end: str
    days: str
    quiet_start: str
    quiet_end: str
    warn_minutes: int
    overrides: list[CalendarDayOut]


class CalendarSave(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceCalendar,)
    hours_start: Annotated[str, text(5)]
    hours_end: Annotated[str, text(5)]
    days: Literal["official", "all_but_holidays", "every_day"] = "official"
    quiet_start: Annotated[str, text(5)] = "21:00"
    quiet_end: Annotated[str, text(5)] = "08:00"
    warn_minutes: Annotated[int, msgspec.Meta(ge=0, le=10_080)] = 60


class CalendarDaySave(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (CalendarDay,)
    day: date
    working: bool | None
    note: Annotated[str, text(120)] = ""
