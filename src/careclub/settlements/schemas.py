"""Request and response bodies of the settlements API (the contract's `GET /api/v1/settlements` and around it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from piccolo.table import Table

from careclub.core.money import Money, MoneyIn
from careclub.core.schemas import Input, col, text
from careclub.settlements.tables import (
    Settlement,
    SettlementAdjustment,
    SettlementBudget,
    SettlementBudgetLine,
    SettlementPayment,
    SettlementPhase,
    SettlementProject,
    SettlementSettings,
)

Stage = Literal["pre_move_in", "post_move_in"]
Kind = Literal["annual", "monthly", "unplanned", "proxy_purchase", "sales_office", "addition"]
CostType = Literal["staff", "admin", "purchase", "special"]
MonthText = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", description="a month: 2026-11")]
ProjectRef = Annotated[str, msgspec.Meta(min_length=1, max_length=64,
                                         description="a project: its org unit code (or id)")]
SignedAmount = Annotated[str, msgspec.Meta(pattern=r"^-?(0|[1-9]\d{0,14})(\.\d{1,2})?$",
                                           description='a signed decimal string with at most two places: "-120.50"')]


class SettlementSummary(msgspec.Struct, kw_only=True):
    """A project's month as both parties and integrators read it (CONTRACT.md)."""

    id: uuid.UUID
    project: str  # the project's org unit code
    month: str
    status: str  # draft, in_review, returned, approved, rejected
    confirmed_cost: Money
    management_fee: Money
    total: Money
    due_on: date
    project_name: str = ""
    late: bool = False
    approved_at: datetime | None = None


class AdjustmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    corrects: uuid.UUID
    month: str
    cost_type: str
    amount: Money
    reason: str
    created_by_name: str
    settlement: uuid.UUID | None


class SettledPayment(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    cost_type: str
    amount: Money
    paid_on: date
    payee: str
    evidence: str
    month: str


class SettlementOut(SettlementSummary, kw_only=True):
    number: str
    stage: str
    cost_staff: Money
    cost_admin: Money
    cost_purchase: Money
    cost_special: Money
    adjustments: Money
    budget_total: Money
    fee_rate: str  # per cent, "10.00"
    payment_count: int
    approval_request: uuid.UUID | None
    compiled_by_name: str
    compiled_at: datetime | None
    submitted_at: datetime | None
    payments: list[SettledPayment]
    adjustments_taken: list[AdjustmentOut]
    corrections: list[AdjustmentOut]
    waiting_count: int  # payments of the month still awaiting confirmation: not in this settlement
    waiting_amount: Money


class CompileIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Settlement,)
    project: ProjectRef
    month: MonthText


class AdjustmentIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementAdjustment,)
    cost_type: CostType
    amount: SignedAmount
    reason: Annotated[str, text(2000)]


class LineIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementBudgetLine,)
    description: Annotated[str, col(SettlementBudgetLine.description)]
    amount: MoneyIn
    cost_type: CostType | None = None  # the annual budget's lines only: the others take the form's
    quantity: Annotated[str, col(SettlementBudgetLine.quantity)] = ""


class BudgetIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementBudget, SettlementBudgetLine)
    project: ProjectRef
    kind: Kind
    month: MonthText
    title: Annotated[str, col(SettlementBudget.title)]
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=200)]
    cost_type: CostType | None = None
    phase: uuid.UUID | None = None
    note: Annotated[str, text(4000)] = ""


class BudgetUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementBudget, SettlementBudgetLine)
    title: Annotated[str, col(SettlementBudget.title)]
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=200)]
    cost_type: CostType | None = None
    note: Annotated[str, text(4000)] = ""


class BudgetLineOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    line_no: int
    cost_type: str
    description: str
    quantity: str
    amount: Money
    confirmed: Money
    pending: Money
    remaining: Money
    evidence: str


class BudgetSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project: str
    project_name: str
    number: str
    kind: str
    cost_type: str | None
    month: str
    title: str
    stage: str
    status: str
    total: Money
    approval_request: uuid.UUID | None
    requested_by_name: str
    submitted_at: datetime | None
    decided_at: datetime | None
    created_at: datetime
    phase: uuid.UUID | None = None
    note: str = ""


class BudgetOut(BudgetSummary, kw_only=True):
    lines: list[BudgetLineOut]


class BudgetPage(msgspec.Struct, kw_only=True):
    items: list[BudgetSummary]
    total: int
    limit: int
    offset: int


class PaymentIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementPayment,)
    line: uuid.UUID
    amount: MoneyIn
    paid_on: date
    payee: Annotated[str, col(SettlementPayment.payee)]
    note: Annotated[str, text(2000)] = ""


class RefusalIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementPayment,)
    reason: Annotated[str, text(2000)]


class PaymentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project: str
    project_name: str
    budget: uuid.UUID
    line: uuid.UUID
    cost_type: str
    month: str
    amount: Money
    paid_on: date
    payee: str
    evidence: str
    note: str
    status: str  # recorded (awaiting confirmation), confirmed, refused
    recorded_by_name: str
    decided_by_name: str
    decided_at: datetime | None
    refused_reason: str
    settlement: uuid.UUID | None
    created_at: datetime


class PaymentPage(msgspec.Struct, kw_only=True):
    items: list[PaymentOut]
    next_cursor: str | None


class PhaseOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    stage: str
    moved_in_on: date | None


class ProjectOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    stage: str
    moved_in_on: date | None
    note: str
    phases: list[PhaseOut]


class ProjectIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementProject,)
    stage: Stage
    moved_in_on: date | None = None
    note: Annotated[str, text(2000)] = ""


class PhaseIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementPhase,)
    code: Annotated[str, col(SettlementPhase.code)]
    name: Annotated[str, col(SettlementPhase.name)]
    stage: Stage
    moved_in_on: date | None = None


class TermsIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SettlementSettings,)
    fee_rate: Annotated[str, msgspec.Meta(max_length=8, description='the management fee in per cent: "10.00"')]
    due_day: Annotated[int, col(SettlementSettings.due_day, ge=1, le=28)]


class TermsOut(msgspec.Struct, kw_only=True):
    fee_rate: str
    due_day: int
    updated_at: datetime | None
