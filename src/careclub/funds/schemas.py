"""Request and response bodies of the funds API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar

import msgspec
from piccolo.table import Table

from careclub.core.money import Money, MoneyIn
from careclub.core.schemas import Input, col, text
from careclub.funds import rules
from careclub.funds.tables import (
    AccrualPeriod,
    AccrualRule,
    CareFund,
    Contribution,
    FundClaim,
    FundEntry,
    FundPlan,
    FundPlanLine,
    FundRequest,
)

UnitCode = Annotated[str, msgspec.Meta(max_length=64, description="the code of an org unit")]


class FundCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (CareFund,)
    code: Annotated[str, col(CareFund.code, min_length=1, description="groups the fund's years, e.g. CARE")]
    name: Annotated[str, col(CareFund.name, min_length=1)]
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    org_unit: UnitCode | None = None
    description: Annotated[str, text(2000)] = ""


RoleCode = Annotated[str, msgspec.Meta(max_length=64)]


class FundUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (CareFund,)
    name: Annotated[str, col(CareFund.name, min_length=1)]
    description: Annotated[str, text(2000)] = ""
    acceptance_roles: Annotated[list[RoleCode], msgspec.Meta(max_length=10, description="role codes whose holders "
                                                             "sign a claim's acceptance; empty: one finance "
                                                             "sign-off")] | None = None
    off_plan_cutoff_day: Annotated[int, msgspec.Meta(ge=1, le=28, description="off-plan requests after this day "
                                                     "join next month's batch")] | None = None


class Balances(msgspec.Struct, kw_only=True):
    """Debit-positive: what the fund holds (available, receivable, committed) and has used (spent,
    carried_forward) is positive; where it came from (accrued, contributed, brought_forward) negative."""

    available: Money
    committed: Money
    spent: Money
    receivable: Money
    carried_forward: Money
    accrued: Money
    contributed: Money
    brought_forward: Money


class FundOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    year: int
    org_unit: str | None
    description: str
    closed: bool
    acceptance_roles: list[str]
    off_plan_cutoff_day: int
    balances: Balances


class TrialBalanceLine(msgspec.Struct, kw_only=True):
    account: str
    balance: Money
    stored: Money


class TrialBalanceOut(msgspec.Struct, kw_only=True):
    """Recomputed from the postings; `stored` is the running balance kept beside them. Balanced when the
    postings sum to zero and every stored balance equals its recomputed one."""

    balanced: bool
    accounts: list[TrialBalanceLine]


class PostingOut(msgspec.Struct, kw_only=True):
    fund: uuid.UUID
    fund_code: str
    fund_year: int
    account: str
    amount: Money
    balance_after: Money


class EntryOut(msgspec.Struct, kw_only=True):
    """A journal entry. `cause` is one of accrual, collection, contribution, commitment, release,
    reimbursement, rollover, correction; `cause_id` the record that caused it."""

    id: uuid.UUID
    seq: int
    cause: str
    cause_id: uuid.UUID | None
    reference: str
    memo: str
    occurred_on: date
    reverses: uuid.UUID | None
    reversed_by: int | None
    created_by: str
    created_at: datetime
    postings: list[PostingOut]


class LedgerLine(msgspec.Struct, kw_only=True):
    """An entry as one fund's ledger shows it: its effect on each of the fund's accounts (`moves`),
    and the available balance after it."""

    id: uuid.UUID
    seq: int
    cause: str
    reference: str
    memo: str
    occurred_on: date
    reversed_by: int | None
    reverses: uuid.UUID | None
    created_by: str
    moves: dict[str, Money]
    available_after: Money | None


class LedgerPage(msgspec.Struct, kw_only=True):
    items: list[LedgerLine]
    limit: int
    next_before: int | None


class ReversalCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (FundEntry,)
    reason: Annotated[str, text(1000, min_length=1)]


class ContributionCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Contribution,)
    kind: Annotated[str, col(Contribution.kind, description=f"one of {', '.join(rules.CONTRIBUTION_KINDS)}")]
    source: Annotated[str, col(Contribution.source, min_length=1)]
    amount: MoneyIn
    received_on: date
    reference: Annotated[str, col(Contribution.reference, description="required for maintenance_fund: the "
                                                                       "owners' committee decision")] = ""
    note: Annotated[str, text(2000)] = ""


class AttachmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    url: str


class ContributionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    fund: uuid.UUID
    kind: str
    source: str
    amount: Money
    received_on: date
    reference: str
    note: str
    entry: uuid.UUID | None
    attachments: list[AttachmentOut]


class AccrualRuleSave(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (AccrualRule,)
    fund_code: Annotated[str, col(AccrualRule.fund_code, min_length=1)]
    code: Annotated[str, col(AccrualRule.code, min_length=1)]
    name: Annotated[str, col(AccrualRule.name, min_length=1)]
    rate_bp: Annotated[int, msgspec.Meta(ge=1, le=10_000, description="basis points of the base: 5 = 0.05 %")]
    period: Annotated[str, col(AccrualRule.period, description="month, quarter or year")] = "quarter"
    due_day: Annotated[int, msgspec.Meta(ge=1, le=31, description="due by this day of the month after the "
                                                                  "period")] = 20
    source: Annotated[str, col(AccrualRule.source)] = ""
    base_label: Annotated[str, col(AccrualRule.base_label)] = ""
    active: bool = True


class AccrualRuleOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    fund_code: str
    code: str
    name: str
    rate_bp: int
    period: str
    due_day: int
    source: str
    base_label: str
    active: bool


class BaseEntry(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (AccrualPeriod,)
    period: Annotated[str, msgspec.Meta(max_length=16, description="2026Q1, 2026-03 or 2026, by the rule's period")]
    base: MoneyIn


class PaymentEntry(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (AccrualPeriod,)
    amount: MoneyIn
    paid_on: date


class AccrualPeriodOut(msgspec.Struct, kw_only=True):
    """`status`: nothing_due, awaiting_payment, partly_paid, overdue or paid."""

    id: uuid.UUID
    rule: uuid.UUID
    rule_code: str
    fund_code: str
    fund_year: int
    label: str
    starts_on: date
    ends_on: date
    base: Money
    rate_bp: int
    amount: Money
    due_on: date
    paid: Money
    paid_on: date | None
    status: str


class ImportProblemOut(msgspec.Struct, kw_only=True):
    row: int
    field: str
    code: str
    message: str


class ImportOut(msgspec.Struct, kw_only=True):
    rows: int
    entered: int
    problems: list[ImportProblemOut]


class RolloverCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (CareFund, FundEntry)
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]


class RolloverLine(msgspec.Struct, kw_only=True):
    fund: str
    amount: Money
    entry_seq: int


class RolloverOut(msgspec.Struct, kw_only=True):
    year: int
    moved: list[RolloverLine]


class PlanLineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(max_length=16, description="keeps the line's identity across versions; "
                                                                 "left out: L1, L2, … by position")] | None = None
    org_unit: UnitCode | None = None
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
    item: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    month: Annotated[int, msgspec.Meta(ge=1, le=12)]
    amount: MoneyIn


class PlanSave(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (FundPlan, FundPlanLine)
    title: Annotated[str, col(FundPlan.title, min_length=1)]
    note: Annotated[str, text(2000)] = ""
    lines: Annotated[list[PlanLineIn], msgspec.Meta(max_length=2000, description="a revision left without lines "
                                                                                 "copies the approved version's")] = []


class PlanLineOut(msgspec.Struct, kw_only=True):
    """`used`: committed or spent by approved requests on this line (in any version); `remaining` = amount - used."""

    code: str
    org_unit: str | None
    category: str
    item: str
    month: int
    amount: Money
    used: Money
    remaining: Money


class PlanOut(msgspec.Struct, kw_only=True):
    """`status`: draft, in_review, returned, approved, rejected, superseded."""

    id: uuid.UUID
    fund: uuid.UUID
    version: int
    previous: uuid.UUID | None
    title: str
    note: str
    status: str
    approval_request: uuid.UUID | None
    total: Money
    lines: list[PlanLineOut]


class PlanLineChange(msgspec.Struct, kw_only=True):
    """`kind`: added, removed, changed, unchanged."""

    code: str
    kind: str
    before: PlanLineOut | None
    after: PlanLineOut | None
    delta: Money


class PlanComparison(msgspec.Struct, kw_only=True):
    plan: PlanOut
    previous: PlanOut | None
    lines: list[PlanLineChange]
    total_delta: Money


class FundRequestCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (FundRequest,)
    title: Annotated[str, col(FundRequest.title, min_length=1)]
    amount: MoneyIn
    in_plan: bool
    description: Annotated[str, text(4000)] = ""
    category: Annotated[str, col(FundRequest.category)] = ""
    org_unit: UnitCode | None = None
    plan_line: Annotated[str, msgspec.Meta(max_length=16, description="the approved plan's line code (in-plan)")] \
        | None = None


class ClaimItemIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    spec: Annotated[str, msgspec.Meta(max_length=200)] = ""
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    unit: Annotated[str, msgspec.Meta(max_length=16)] = ""
    unit_price: MoneyIn


class ClaimCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (FundClaim,)
    items: Annotated[list[ClaimItemIn], msgspec.Meta(min_length=1, max_length=500)]
    note: Annotated[str, text(4000)] = ""


class ClaimItemOut(msgspec.Struct, kw_only=True):
    description: str
    spec: str
    quantity: int
    unit: str
    unit_price: Money
    amount: Money


class SignoffOut(msgspec.Struct, kw_only=True):
    role: str
    name: str
    at: datetime


class ClaimOut(msgspec.Struct, kw_only=True):
    """`status`: submitted, accepted, refused (see `refusal`), reimbursed."""

    id: uuid.UUID
    items: list[ClaimItemOut]
    total: Money
    note: str
    status: str
    refusal: str
    signoffs: list[SignoffOut]
    attachments: list[AttachmentOut]
    created_at: datetime


class FundRequestOut(msgspec.Struct, kw_only=True):
    """`status`: in_review, returned, approved (money committed), claimed, reimbursed, rejected, withdrawn,
    closed. `batch_month`: the month whose batch decides an off-plan request (after the fund's cut-off day,
    the next month); `pushed_to_next_batch` says so right after submitting."""

    id: uuid.UUID
    number: str
    fund: uuid.UUID
    fund_code: str
    fund_year: int
    title: str
    description: str
    category: str
    org_unit: str | None
    in_plan: bool
    plan_line: str | None
    batch_month: str
    amount: Money
    committed: Money
    spent: Money
    status: str
    approval_request: uuid.UUID | None
    requester: str
    created_at: datetime
    pushed_to_next_batch: bool
    claims: list[ClaimOut]


class AccrualPeriodList(msgspec.Struct, kw_only=True):
    """The latest first. `next_after` is the cursor of the next page (pass it as `after`), null on the last.
    `total` counts at most 10,000 periods (`total_capped` says when there are more)."""

    items: list[AccrualPeriodOut]
    total: int
    total_capped: bool
    limit: int
    next_after: str | None


class FundRequestList(msgspec.Struct, kw_only=True):
    """Newest first. `next_after` is the cursor of the next page (pass it as `after`), null on the last.
    `total` counts at most 10,000 requests (`total_capped` says when there are more)."""

    items: list[FundRequestOut]
    total: int
    total_capped: bool
    limit: int
    offset: int
    next_after: str | None


class ReasonIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (FundClaim, FundRequest)
    reason: Annotated[str, text(1000, min_length=1)]
