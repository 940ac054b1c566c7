"""Paid services residents buy from their property company (seed 004: 业主特约服务).

An `ServiceItem` is offered in one project (or company-wide). What it costs and how it is delivered is
its `ServiceItemVersion`: the site manager proposes a version, the general manager approves it through the
approval core, and only then is it published. A fee change is a new version that goes through approval
again; the version it replaces keeps serving the orders priced by it, because every `ServiceOrder` records
the version it was priced by.

An order is a ticket of the ticket core's `service_order` type (dispatch, SLA, sign-off, return visit); the
order row holds the money: the prepayment or deposit taken before the work, the final charge after the
resident's sign-off, the balance charged or the surplus refunded. Money goes through payments only."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
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


class Subcontractor(TenantTable, tablename="service_subcontractor"):
    """A company the property company hands services to (4.2.5–4.2.6): its contract and contact."""

    code = Varchar(length=32)
    name = Varchar(length=120)
    services = Text(default="")  # what it offers, in the company's words
    contact_name = Varchar(length=120, default="")
    contact_phone = Varchar(length=32, default="")
    contract_from = Date(null=True, default=None)
    contract_until = Date(null=True, default=None)
    active = Boolean(default=True)
    updated_at = Timestamptz(null=True, default=None)


class ServiceItem(TenantTable, tablename="service_item"):
    code = Varchar(length=32)
    project_id = UUID(null=True, default=None)  # an org unit; null: offered in every project
    category = Varchar(length=32, default="other")
    # draft (never approved), published (an approved version is on offer), stopped (no longer offered)
    status = Varchar(length=16, default="draft")
    current_version = UUID(null=True, default=None)  # the approved version new orders are priced by
    updated_at = Timestamptz(null=True, default=None)


class ServiceItemVersion(TenantTable, tablename="service_item_version"):
    item = ForeignKey(ServiceItem)
    version = Integer()
    name = Varchar(length=120)
    description = Text(default="")
    standard = Text(default="")  # the service standard: what is delivered
    delivery_hours = Integer(null=True, default=None)  # delivered within this many hours of booking
    provider_department = UUID(null=True, default=None)
    subcontractor = ForeignKey(Subcontractor, null=True, default=None)
    fee_basis = Varchar(length=16)  # per_time, per_hour, per_unit, per_m2, quoted
    fee_amount = BigInt(null=True, default=None)  # minor units per time/hour/unit/m²; null when quoted
    fee_min = BigInt(null=True, default=None)  # a quoted price's stated range
    fee_max = BigInt(null=True, default=None)
    unit_label = Varchar(length=16, default="")  # per_unit: what a unit is ("台", "件")
    prepay_kind = Varchar(length=16, default="none")  # none, prepayment, deposit
    prepay_amount = BigInt(default=0)
    long_term = Boolean(default=False)  # a long-term agreement is offered
    daily_capacity = Integer(null=True, default=None)  # bookings a day; null: no limit
    # draft, in_review, returned, approved, rejected, superseded
    status = Varchar(length=16, default="draft")
    note = Text(default="")  # why this version (a new fee standard, a new provider)
    approval_request = UUID(null=True, default=None)
    proposed_by = UUID(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    source = Varchar(length=16, default="staff")  # staff, tenant_file


class ServiceAgreement(TenantTable, tablename="service_agreement"):
    """A long-term agreement (§4.2.3–4.2.4): a service at a unit on a schedule, at the agreed price per visit
    for its whole term, whatever the item's fee standard becomes meanwhile. A job creates each visit as an
    order ahead of its day, once."""

    number = Varchar(length=32)
    item = ForeignKey(ServiceItem)
    item_version = ForeignKey(ServiceItemVersion)
    project_id = UUID(null=True, default=None)
    unit = UUID(null=True, default=None)
    person = UUID(null=True, default=None)
    contact_name = Varchar(length=120, default="")
    contact_phone = Varchar(length=32, default="")
    booked_by = UUID(null=True, default=None)
    terms = Text(default="")
    every_weeks = Integer(default=1)
    weekday = Integer(default=5)  # 0 Monday … 6 Sunday
    time_of_day = Varchar(length=5, default="09:00")  # in the company's zone
    starts_on = Date()
    ends_on = Date()
    quantity_centi = Integer(default=100)
    price_per_visit = BigInt(default=0)
    currency = Varchar(length=3)
    status = Varchar(length=16, default="active")  # active, ended, cancelled
    next_visit = Date(null=True, default=None)  # the first visit not yet created as an order
    note = Text(default="")
    updated_at = Timestamptz(null=True, default=None)


class ServiceOrder(TenantTable, tablename="service_order"):
    ticket = UUID()  # the ticket core's service_order ticket: dispatch, SLA, sign-off, return visit
    number = Varchar(length=32)  # the ticket's number
    item = ForeignKey(ServiceItem)
    item_version = ForeignKey(ServiceItemVersion)  # the version it is priced by, for good
    project_id = UUID(null=True, default=None)
    unit = UUID(null=True, default=None)
    person = UUID(null=True, default=None)
    booked_by = UUID(null=True, default=None)
    source = Varchar(length=16, default="phone")  # phone, walk_in, portal, agreement
    preferred_at = Timestamptz(null=True, default=None)
    slot_date = Date(null=True, default=None)  # the day it takes a place of the item's daily capacity
    quantity_centi = Integer(default=100)  # hours, units or m², in hundredths (1.5 h = 150)
    currency = Varchar(length=3)
    price = BigInt(null=True, default=None)  # the estimate at booking; null for a quote not yet given
    prepay_kind = Varchar(length=16, default="none")
    prepay_amount = BigInt(default=0)
    prepaid = BigInt(default=0)  # money received on account before the work
    # awaiting_prepayment, open (work may go ahead), balance_due, settled, cancelled
    status = Varchar(length=24, default="open")
    final_amount = BigInt(null=True, default=None)
    balance = BigInt(default=0)  # final − prepaid when positive: still to collect
    refund_due = BigInt(default=0)  # prepaid − final when positive: returned to the resident
    settled_at = Timestamptz(null=True, default=None)
    settled_by = UUID(null=True, default=None)
    note = Text(default="")
    agreement = UUID(null=True, default=None)  # the long-term agreement whose visit this is
    # costs (§4.3.2), recorded with the work: labour at a rate, materials, a subcontractor's fee
    labour_minutes = Integer(default=0)
    labour_rate = BigInt(default=0)  # per hour
    materials_cost = BigInt(default=0)
    subcontractor_fee = BigInt(default=0)
    cost_total = BigInt(default=0)
    version = Integer(default=1)
    updated_at = Timestamptz(null=True, default=None)
    # The quality figures' facts, copied here by triggers (migration 2026-12-01T16:00:01) so a period's figures
    # are one scan of the orders' creation index: the item version's subcontractor at booking, what its ticket
    # says now (department, assignee, rating, reworked, breached) and the complaints raised about it.
    item_subcontractor = UUID(null=True, default=None)
    ticket_department = UUID(null=True, default=None)
    ticket_assignee = UUID(null=True, default=None)
    ticket_satisfaction = SmallInt(null=True, default=None)
    ticket_reworked = Boolean(default=False)
    ticket_breached = Boolean(default=False)
    complaints = Integer(default=0)


class LossReview(TenantTable, tablename="service_loss_review"):
    """A month in which an item lost money (§4.3.2–4.3.3): a task for the site manager, whose decision is
    recorded — more residents, a new fee standard, or stopping the service (with the general manager's
    approval through the approval core)."""

    item = ForeignKey(ServiceItem)
    month = Varchar(length=7)  # YYYY-MM in the company's zone
    orders = Integer(default=0)
    revenue = BigInt(default=0)
    cost = BigInt(default=0)
    status = Varchar(length=16, default="open")  # open, decided, stopping, stopped
    decision = Varchar(length=24, default="")  # more_residents, new_fee, stop, other
    note = Text(default="")
    decided_by = UUID(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    approval_request = UUID(null=True, default=None)
    updated_at = Timestamptz(null=True, default=None)


class Survey(TenantTable, tablename="service_survey"):
    """A needs survey before services are designed (§4.1.2–4.1.3): proposed services residents tick."""

    project_id = UUID()
    title = Varchar(length=200)
    intro = Text(default="")
    proposals = JSONB(default="[]")  # [{"code", "name", "item": item code or ""}]
    status = Varchar(length=16, default="open")  # open, closed
    closes_on = Date(null=True, default=None)
    created_by = UUID(null=True, default=None)
    sent_to = Integer(default=0)
    updated_at = Timestamptz(null=True, default=None)


class SurveyAnswer(TenantTable, tablename="service_survey_answer"):
    survey = ForeignKey(Survey)
    user_id = UUID()
    wanted = JSONB(default="[]")  # the codes of the proposals the resident wants
    comment = Text(default="")
    updated_at = Timestamptz(null=True, default=None)


class SubcontractorUser(TenantTable, tablename="service_subcontractor_user"):
    """A sign-in of a subcontractor's own staff: they see and work the orders handed to their company only."""

    subcontractor = ForeignKey(Subcontractor)
    user_id = UUID()


TABLES = (Subcontractor, ServiceItem, ServiceItemVersion, ServiceAgreement, ServiceOrder, LossReview, Survey,
          SurveyAnswer, SubcontractorUser)
