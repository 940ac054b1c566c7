"""The ticket core and the customer archive it hangs on.

The archive: a project (an org unit of kind `project`) has buildings, a building has units, and people
(owners, tenants, occupants, a company's contacts) are linked to units with their role and dates. What
happened at a unit that is not a ticket (a move-in, a deposit, a violation, arrears) is an `ArchiveRecord`;
the archive page shows both.

The tickets: every complaint, repair, contact slip, permit, checklist and visit is a `Ticket` of a
`TicketType` that the company configures (stages, transitions, checklist, SLA targets). Its history is
`TicketEvent`s, append-only (core/migrate.APPEND_ONLY). Each department (or person, or subcontractor) that
holds the ticket in turn is a `TicketLeg` with its own share of the working time, so a breach is charged to
the leg that lost the time. `version` rises with every change: racing writers compare it (and the status)
and exactly one wins."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)

from careclub.core.db import TenantTable


class Building(TenantTable, tablename="property_building"):
    project_id = UUID()  # the org unit (kind project) the building belongs to
    code = Varchar(length=32)
    name = Varchar(length=120)


class PropertyUnit(TenantTable, tablename="property_unit"):
    """A flat, an office suite or a shop: what a resident lives in and a ticket is about."""

    building = ForeignKey(Building)
    project_id = UUID()  # copied from the building: every scope check and list filters on it
    code = Varchar(length=32)  # the unit's number within its building, e.g. 1201
    floor = Integer(null=True, default=None)
    area_cm2 = BigInt(null=True, default=None)  # square centimetres: areas are typed in m², stored exactly
    use = Varchar(length=16, default="residential")  # residential, office, shop, parking, other
    status = Varchar(length=16, default="vacant")  # vacant, occupied, renovating


class Person(TenantTable, tablename="customer"):
    """A customer in the archive: an individual or a company. `user_id` is the resident's own account, when
    they have one, which lets them raise and follow tickets for their units."""

    name = Varchar(length=120)
    kind = Varchar(length=16, default="individual")  # individual, company
    phone = Varchar(length=32, default="")
    email = Varchar(length=254, default="")
    emergency_name = Varchar(length=120, default="")
    emergency_phone = Varchar(length=32, default="")
    note = Text(default="")
    user_id = UUID(null=True, default=None)


class Occupancy(TenantTable, tablename="unit_occupancy"):
    """A person's tie to a unit: owner, tenant, occupant or company contact, from a date, until a date."""

    unit = ForeignKey(PropertyUnit)
    person = ForeignKey(Person)
    role = Varchar(length=16, default="owner")
    starts_on = Date(null=True, default=None)
    ends_on = Date(null=True, default=None)


class ArchiveRecord(TenantTable, tablename="unit_record"):
    """Something in a unit's file that is not a ticket: a move-in, a renovation file, a payment or deposit,
    a violation, arrears. Money in fen."""

    unit = ForeignKey(PropertyUnit)
    person_id = UUID(null=True, default=None)
    kind = Varchar(length=16)
    occurred_on = Date()
    title = Varchar(length=200)
    amount = BigInt(null=True, default=None)
    note = Text(default="")
    recorded_by = UUID(null=True, default=None)


class TicketType(TenantTable, tablename="ticket_type"):
    """How one kind of ticket runs in this company. `stages` and `transitions` are the workflow (rules.py
    gives each built-in code its default); `sla` holds per priority the first-response and resolution
    targets in minutes and whether they count working time or calendar time."""

    code = Varchar(length=32)
    name = Varchar(length=120)
    prefix = Varchar(length=8)  # of the ticket numbers: TS-2026-00017
    stages = JSONB(default="[]")
    transitions = JSONB(default="[]")
    required_fields = JSONB(default="[]")
    checklist = JSONB(default="[]")
    sla = JSONB(default="{}")
    default_department = UUID(null=True, default=None)
    requires_signoff = Boolean(default=False)
    requires_visit = Boolean(default=False)
    # who besides the handling staff may read a ticket: its department, its assignee, the unit's residents
    visible_to = JSONB(default='["department", "assignee", "residents"]')
    residents_may_raise = Boolean(default=False)
    escalate_role = Varchar(length=64, default="")  # serious tickets (priority urgent) go to its holders at once
    scored = Boolean(default=False)  # counts toward the departments' contact-slip score
    active = Boolean(default=True)


class TicketCounter(TenantTable, tablename="ticket_counter"):
    """The last number given to a type's tickets in a year; taken with one atomic upsert."""

    type = ForeignKey(TicketType)
    year = Integer()
    last = Integer(default=0)


class Ticket(TenantTable, tablename="ticket"):
    type = ForeignKey(TicketType)
    type_code = Varchar(length=32)
    number = Varchar(length=32)
    title = Varchar(length=200)
    description = Text(default="")
    status = Varchar(length=32)
    priority = Varchar(length=8, default="normal")
    source = Varchar(length=16, default="phone")
    project_id = UUID(null=True, default=None)  # the unit's project (or the desk's), for scope
    unit = ForeignKey(PropertyUnit, null=True, default=None)
    person = ForeignKey(Person, null=True, default=None)
    contact_name = Varchar(length=120, default="")
    contact_phone = Varchar(length=32, default="")
    raised_by = UUID(null=True, default=None)
    department = UUID(null=True, default=None)
    assignee = UUID(null=True, default=None)
    subcontractor = Varchar(length=120, default="")
    fields = JSONB(default="{}")
    checklist = JSONB(default="{}")
    # SLA: response is due once, by `respond_by`; resolution is due by `due_at`, which a pause clears and a
    # resumption sets again from the minutes left (`sla_used` counts the minutes spent so far)
    respond_by = Timestamptz(null=True, default=None)
    responded_at = Timestamptz(null=True, default=None)
    due_at = Timestamptz(null=True, default=None)
    sla_minutes = Integer(default=0)
    sla_used = Integer(default=0)
    clock_since = Timestamptz(null=True, default=None)  # the running clock's last start; null while stopped
    warned = Boolean(default=False)
    breached = Boolean(default=False)
    escalated = Boolean(default=False)
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    satisfaction = SmallInt(null=True, default=None)
    reopen_count = Integer(default=0)
    version = Integer(default=1)
    updated_at = Timestamptz(null=True, default=None)
    # The month reports' facts, kept by triggers on its legs and events (migration 2026-12-01T09:00:04, never
    # written by the service): the departments that held it (one entry each, a null department too) with, at
    # the same position, whether one of that department's legs is breached and the minutes its legs used; the
    # departments its rework legs were charged to (one entry a leg); the satisfaction of each rating given on
    # it, in order.
    report_held = Array(base_column=UUID(), default=list)
    report_held_late = Array(base_column=Boolean(), default=list)
    report_held_used = Array(base_column=Integer(), default=list)
    report_rework = Array(base_column=UUID(), default=list)
    report_ratings = Array(base_column=SmallInt(), default=list)


class TicketLeg(TenantTable, tablename="ticket_leg"):
    """One holder's turn with a ticket: a department, a person or a subcontractor. `used` is the working
    minutes the ticket's clock ran while this leg held it; `breached` marks the leg that held it when the
    resolution target passed."""

    ticket = ForeignKey(Ticket)
    department = UUID(null=True, default=None)
    assignee = UUID(null=True, default=None)
    subcontractor = Varchar(length=120, default="")
    started_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    used = Integer(default=0)
    breached = Boolean(default=False)
    rework = Boolean(default=False)  # the leg reopened the ticket after a bad rating or a dispute


class TicketTally(TenantTable, tablename="ticket_tally"):
    """The month reports' figures, summed per company month, project, figure and key; written by a statement
    trigger on `ticket` as signed deltas (a ticket's contribution as it was, subtracted, and as it is, added),
    only ever inserted, so racing writers never wait for or deadlock on one another; the SLA job folds each
    key's rows into one (`ticket_tally_compact()`), and a reader sums whatever rows a key has. Figures
    (migration 2026-12-01T11:00:01, service/_reports.py): `resolved` per type over the tickets resolved in the
    month; `held` per department that held them; `closed` per closing department and type over the tickets
    closed in the month (their ratings, and what the contact-slip score needs); `rework` per department charged
    a rework leg on them."""

    month = Date()  # the first day of the company's month
    project_id = UUID(null=True, default=None)
    figure = Varchar(length=12)
    type = UUID(null=True, default=None)
    department = UUID(null=True, default=None)
    tickets = BigInt(default=0)
    late = BigInt(default=0)
    responded = BigInt(default=0)
    reopened = BigInt(default=0)
    used = BigInt(default=0)
    ratings = BigInt(default=0)
    rating_sum = BigInt(default=0)
    s1 = BigInt(default=0)
    s2 = BigInt(default=0)
    s3 = BigInt(default=0)
    s4 = BigInt(default=0)
    s5 = BigInt(default=0)
    rated = BigInt(default=0)
    rated_sum = BigInt(default=0)
    reworks = BigInt(default=0)


class TicketEvent(TenantTable, tablename="ticket_event"):
    """One line of a ticket's timeline, written once."""

    ticket = ForeignKey(Ticket)
    kind = Varchar(length=24)
    from_status = Varchar(length=32, default="")
    to_status = Varchar(length=32, default="")
    by_user = UUID(null=True, default=None)
    by_name = Varchar(length=200, default="")
    note = Text(default="")
    data = JSONB(default="{}")


class ServiceCalendar(TenantTable, tablename="service_calendar"):
    """The company's service hours and the calendar its SLA clocks count in; one row per company."""

    hours_start = Varchar(length=5, default="08:30")
    hours_end = Varchar(length=5, default="17:30")
    days = Varchar(length=24, default="official")
    quiet_start = Varchar(length=5, default="21:00")  # no SLA mail at night: warnings wait for the morning
    quiet_end = Varchar(length=5, default="08:00")
    warn_minutes = Integer(default=60)


class CalendarDay(TenantTable, tablename="service_calendar_day"):
    """The company's own exception to the official calendar: a working day or a day off."""

    day = Date()
    working = Boolean()
    note = Varchar(length=120, default="")


class SlaNotice(TenantTable, tablename="ticket_sla_notice"):
    """A warning or escalation owed to one person about one ticket; the digest job sends each person's
    waiting notices together, outside quiet hours. One per (ticket, kind, person, deadline): a deadline that
    moved (a pause and a resumption) earns a new warning, a job run twice over the same deadline does not.
    `deadline` is the resolution deadline (`due_at`) the notice is about, or the response deadline
    (`respond_by`) for `response`; null on notices made before it was recorded."""

    ticket = ForeignKey(Ticket)
    kind = Varchar(length=16)  # warning, breach, escalation, response
    user_id = UUID()
    deadline = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)


TABLES = [Building, PropertyUnit, Person, Occupancy, ArchiveRecord, TicketType, TicketCounter, Ticket, TicketLeg,
          TicketEvent, ServiceCalendar, CalendarDay, SlaNotice, TicketTally]
