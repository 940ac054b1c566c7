"""What a developer and its property company settle (seed 003: 与物业对接管理作业指引).

Each project keeps its own account (`SettlementProject`, with its phases and their stages: before
or after move-in, which decides the developer's reviewer). Nothing is done without an approved
`SettlementBudget` (a form with lines: a month's staff, administration, purchases or special work;
the year's workload; unplanned work; a purchase on the developer's behalf; sales-office
consumables; an addition). Every `SettlementPayment` the property company makes is recorded
against an approved line with its evidence and confirmed by the developer (the two
confirmations). A month's `Settlement` sums the confirmed payments by type plus the adjustments
carried into it and adds the management fee; once approved it never changes (a trigger refuses),
and corrections are `SettlementAdjustment`s carried into the next month.

`InvolvementItem` is one deliverable of the property company's early involvement (planning,
marketing, construction, handover inspection, move-in) with its owner and date."""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar

from careclub.core.db import TenantTable


class SettlementSettings(TenantTable, tablename="settlement_settings"):
    """The company's terms with its property company (one row; defaults from the guide)."""

    fee_rate_bp = Integer(default=1000)  # management fee in basis points of the confirmed cost: 1000 = 10 %
    due_day = Integer(default=22)  # a month's settlement is approved by this day of the next month
    updated_at = Timestamptz(null=True, default=None)


class SettlementProject(TenantTable, tablename="settlement_project"):
    """A project's own account (独立核算): its stage decides who reviews work on it."""

    project_id = UUID()  # an org unit of kind project
    stage = Varchar(length=16, default="pre_move_in")  # pre_move_in | post_move_in
    moved_in_on = Date(null=True, default=None)
    active = Boolean(default=True)
    note = Text(default="")
    updated_at = Timestamptz(null=True, default=None)


class SettlementPhase(TenantTable, tablename="settlement_phase"):
    """A phase of a phased project: each moves in on its own, so each has its own stage."""

    project_id = UUID()
    code = Varchar(length=32)
    name = Varchar(length=120)
    stage = Varchar(length=16, default="pre_move_in")
    moved_in_on = Date(null=True, default=None)


class SettlementBudget(TenantTable, tablename="settlement_budget"):
    """One budget form and its approval. `kind`: annual, monthly, unplanned, proxy_purchase,
    sales_office, addition; `cost_type`: staff, admin, purchase, special (the annual form's lines
    carry their own)."""

    project_id = UUID()
    phase_id = UUID(null=True, default=None)
    number = Varchar(length=40)  # "2026-11-PUR-01": what payments cite as their evidence
    kind = Varchar(length=16)
    cost_type = Varchar(length=16, null=True, default=None)
    month = Date()  # the first day of the month it budgets (annual: January of its year)
    title = Varchar(length=200)
    note = Text(default="")
    stage = Varchar(length=16)  # the stage the work belongs to when it was submitted
    status = Varchar(length=16, default="draft")  # draft in_review returned approved rejected withdrawn
    total = BigInt(default=0)
    approval_request = UUID(null=True, default=None)
    requested_by = UUID(null=True, default=None)
    requested_by_name = Varchar(length=160, default="")
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(null=True, default=None)


class SettlementBudgetLine(TenantTable, tablename="settlement_budget_line"):
    budget = ForeignKey(SettlementBudget)
    line_no = Integer()
    cost_type = Varchar(length=16)
    description = Varchar(length=300)
    quantity = Varchar(length=40, default="")  # as the form writes it: "3 人", "12 箱"
    amount = BigInt()


class SettlementPayment(TenantTable, tablename="settlement_payment"):
    """A payment the property company made against an approved line, and the developer's
    confirmation of it (or refusal, with the reason)."""

    project_id = UUID()
    budget = UUID()
    line = UUID()
    cost_type = Varchar(length=16)
    month = Date()  # the month whose settlement it belongs to (the month it was paid in)
    amount = BigInt()
    paid_on = Date()
    payee = Varchar(length=200)
    evidence = Varchar(length=300)  # the form and line it belongs to, e.g. "2026-11 采购申请表 第7项"
    note = Text(default="")
    status = Varchar(length=16, default="recorded")  # recorded | confirmed | refused
    recorded_by = UUID(null=True, default=None)
    recorded_by_name = Varchar(length=160, default="")
    decided_by = UUID(null=True, default=None)
    decided_by_name = Varchar(length=160, default="")
    decided_at = Timestamptz(null=True, default=None)
    refused_reason = Text(default="")
    settlement = UUID(null=True, default=None)  # the settlement that included it


class Settlement(TenantTable, tablename="settlement"):
    """A project's month: confirmed cost by type, adjustments carried in, the fee and the total."""

    project_id = UUID()
    month = Date()
    number = Varchar(length=40)
    status = Varchar(length=16, default="draft")  # draft in_review returned approved rejected
    stage = Varchar(length=16)
    cost_staff = BigInt(default=0)
    cost_admin = BigInt(default=0)
    cost_purchase = BigInt(default=0)
    cost_special = BigInt(default=0)
    adjustments = BigInt(default=0)  # signed: corrections of earlier months carried into this one
    confirmed_cost = BigInt(default=0)  # the four types plus the adjustments
    budget_total = BigInt(default=0)  # the month's approved budget, for "above budget"
    fee_rate_bp = Integer(default=1000)
    management_fee = BigInt(default=0)
    total = BigInt(default=0)
    payment_count = Integer(default=0)
    due_on = Date()
    approval_request = UUID(null=True, default=None)
    compiled_by = UUID(null=True, default=None)
    compiled_by_name = Varchar(length=160, default="")
    compiled_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    late = Boolean(default=False)  # approved after its due date


class SettlementAdjustment(TenantTable, tablename="settlement_adjustment"):
    """A correction of an approved settlement, carried into a later month's settlement."""

    project_id = UUID()
    corrects = UUID()  # the approved settlement it corrects
    month = Date()  # the month whose settlement takes it
    cost_type = Varchar(length=16)
    amount = BigInt()  # signed
    reason = Text()
    created_by = UUID(null=True, default=None)
    created_by_name = Varchar(length=160, default="")
    settlement = UUID(null=True, default=None)  # the settlement that took it


class SettlementFigure(TenantTable, tablename="settlement_figure"):
    """Running sums per project, month and cost type, kept by the writes themselves (a budget approved, a
    payment recorded, confirmed or refused add to them in the same transaction), so budget against actual is
    read from a few thousand rows instead of summing every payment of the year on each request."""

    project_id = UUID()
    month = Date()
    cost_type = Varchar(length=16)
    budget = BigInt(default=0)  # approved forms of the month but the annual one
    annual = BigInt(default=0)  # the approved annual form (kept on January of its year)
    confirmed = BigInt(default=0)
    pending = BigInt(default=0)  # recorded, awaiting confirmation


class InvolvementItem(TenantTable, tablename="involvement_item"):
    """One deliverable of a project's early involvement (§3.1), tracked with its owner and date."""

    project_id = UUID()
    stage = Varchar(length=16)  # planning marketing construction handover move_in
    position = Integer(default=0)
    title = Varchar(length=200)
    kind = Varchar(length=16, default="deliverable")  # deliverable | inspection
    owner_id = UUID(null=True, default=None)
    due_on = Date(null=True, default=None)
    done_on = Date(null=True, default=None)
    note = Text(default="")
    updated_at = Timestamptz(null=True, default=None)


TABLES = (SettlementSettings, SettlementProject, SettlementPhase, SettlementBudget, SettlementBudgetLine,
          SettlementPayment, Settlement, SettlementAdjustment, SettlementFigure, InvolvementItem)
