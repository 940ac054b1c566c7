"""Request and response bodies of the catalogue API (the contract's `GET /api/v1/catalogue` and around it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from piccolo.table import Table

from careclub.catalogue.tables import (
    LossReview,
    ServiceAgreement,
    ServiceItem,
    ServiceItemVersion,
    ServiceOrder,
    Subcontractor,
    SubcontractorUser,
    Survey,
    SurveyAnswer,
)
from careclub.core.money import Money, MoneyIn
from careclub.core.schemas import Input, col, text

Category = Literal["cleaning", "repair", "moving", "car_wash", "errand", "housekeeping", "other"]
FeeBasis = Literal["per_time", "per_hour", "per_unit", "per_m2", "quoted"]
PrepayKind = Literal["none", "prepayment", "deposit"]
Quantity = Annotated[str, msgspec.Meta(max_length=12, description='hours, units or m² with at most two places, '
                                                                  'like "1.5"')]


class Fee(msgspec.Struct, kw_only=True):
    amount: str
    currency: str
    per: str  # time, hour, unit, m2, quote (a quote's lowest price)


class CatalogueEntry(msgspec.Struct, kw_only=True):
    """A published item as residents and integrators see it (CONTRACT.md)."""

    id: uuid.UUID
    name: str
    category: str
    version: int
    fee: Fee
    deposit: Money | None  # what is paid before the work (a prepayment or a deposit), null when nothing is
    fee_max: Money | None = None  # a quoted price's highest
    description: str = ""
    standard: str = ""
    delivery_hours: int | None = None
    long_term: bool = False
    daily_capacity: int | None = None
    project: uuid.UUID | None = None


class VersionIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceItemVersion,)
    name: Annotated[str, col(ServiceItemVersion.name)] = ""
    description: Annotated[str, text(4000)] = ""
    standard: Annotated[str, text(4000)] = ""
    delivery_hours: Annotated[int, msgspec.Meta(ge=1, le=8784)] | None = None
    provider_department: uuid.UUID | None = None
    subcontractor: uuid.UUID | None = None
    fee_basis: FeeBasis = "per_time"
    fee: MoneyIn | None = None
    fee_min: MoneyIn | None = None
    fee_max: MoneyIn | None = None
    unit_label: Annotated[str, col(ServiceItemVersion.unit_label)] = ""
    prepay_kind: PrepayKind = "none"
    prepay: MoneyIn | None = None
    long_term: bool = False
    daily_capacity: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    note: Annotated[str, text(2000)] = ""


class ItemCreate(VersionIn):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceItem, ServiceItemVersion)
    code: Annotated[str, col(ServiceItem.code, description="1–32 letters, digits, '-' or '_'")] = ""
    category: Category = "other"
    project: uuid.UUID | None = None


class VersionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    version: int
    status: str
    name: str
    description: str
    standard: str
    delivery_hours: int | None
    provider_department: uuid.UUID | None
    subcontractor: uuid.UUID | None
    fee_basis: str
    fee: Money | None
    fee_min: Money | None
    fee_max: Money | None
    unit_label: str
    prepay_kind: str
    prepay: Money | None
    long_term: bool
    daily_capacity: int | None
    note: str
    approval_request: uuid.UUID | None
    submitted_at: datetime | None
    decided_at: datetime | None


class ItemOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    category: str
    status: str
    project: uuid.UUID | None
    current_version: uuid.UUID | None
    versions: list[VersionOut]


class ItemSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    category: str
    status: str
    project: uuid.UUID | None
    project_name: str | None
    version: int
    version_status: str
    fee_basis: str


class SubcontractorIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Subcontractor,)
    code: Annotated[str, col(Subcontractor.code, min_length=1)]
    name: Annotated[str, col(Subcontractor.name, min_length=1)]
    services: Annotated[str, text(2000)] = ""
    contact_name: Annotated[str, col(Subcontractor.contact_name)] = ""
    contact_phone: Annotated[str, col(Subcontractor.contact_phone)] = ""
    contract_from: date | None = None
    contract_until: date | None = None
    active: bool = True


class SubcontractorOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    services: str
    contact_name: str
    contact_phone: str
    contract_from: date | None
    contract_until: date | None
    active: bool


class OrderCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceOrder,)
    item: uuid.UUID
    unit: uuid.UUID | None = None
    person: uuid.UUID | None = None
    contact_name: Annotated[str, text(120)] = ""
    contact_phone: Annotated[str, text(32)] = ""
    preferred_at: datetime | None = None
    quantity: Quantity = "1"
    note: Annotated[str, text(2000)] = ""
    source: Literal["phone", "walk_in", "portal"] | None = None
    project: uuid.UUID | None = None


class SettlementCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceOrder,)
    quantity: Quantity | None = None  # what was delivered, when it differs from the booking
    final_amount: MoneyIn | None = None  # a quoted service's price, within its approved range
    expected_version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None
    note: Annotated[str, text(2000)] = ""


class OrderPayment(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    purpose: str  # service_prepay, service_balance
    amount: Money
    refunded: Money
    status: str
    method: str


class OrderOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    ticket: uuid.UUID
    ticket_status: str
    item: uuid.UUID
    item_version: uuid.UUID
    version: int
    name: str
    status: str
    source: str
    unit: uuid.UUID | None
    preferred_at: datetime | None
    quantity: str
    price: Money | None
    prepay_kind: str
    prepay: Money | None
    prepaid: Money
    final_amount: Money | None
    balance: Money
    refund: Money
    settled_at: datetime | None
    order_version: int
    created_at: datetime
    payments: list[OrderPayment]


class OrderSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    name: str
    status: str
    ticket_status: str
    price: Money | None
    prepaid: Money
    balance: Money
    unit_label: str
    contact_name: str
    created_at: datetime


class OrderList(msgspec.Struct, kw_only=True):
    """Newest first. `next_after` is the cursor of the next page (pass it as `after`), null on the last."""

    items: list[OrderSummary]
    total: int
    limit: int
    offset: int
    next_after: str | None


# ---- agreements, costs, reviews, quality, surveys ------------------------------------------------

class AgreementCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceAgreement,)
    item: uuid.UUID
    unit: uuid.UUID
    starts_on: date
    ends_on: date
    person: uuid.UUID | None = None
    contact_name: Annotated[str, col(ServiceAgreement.contact_name)] = ""
    contact_phone: Annotated[str, col(ServiceAgreement.contact_phone)] = ""
    terms: Annotated[str, text(4000)] = ""
    every_weeks: Annotated[int, msgspec.Meta(ge=1, le=52)] = 1
    weekday: Annotated[int, msgspec.Meta(ge=0, le=6, description="0 Monday … 6 Sunday")] = 5
    time_of_day: Annotated[str, msgspec.Meta(max_length=5, description="HH:MM in the company's zone")] = "09:00"
    quantity: Quantity = "1"
    price_per_visit: MoneyIn | None = None  # the agreed price; by default the fee standard's
    note: Annotated[str, text(2000)] = ""


class AgreementEnd(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceAgreement,)
    on: date
    reason: Annotated[str, text(2000, min_length=1)]


class Visit(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    day: date | None
    status: str
    price: Money | None


class AgreementOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    item: uuid.UUID
    item_version: uuid.UUID
    name: str
    status: str
    unit: uuid.UUID | None
    terms: str
    every_weeks: int
    weekday: int
    time_of_day: str
    starts_on: date
    ends_on: date
    quantity: str
    price_per_visit: Money
    next_visit: date | None
    visits: list[Visit]


class AgreementSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    name: str
    status: str
    starts_on: date
    ends_on: date
    every_weeks: int
    weekday: int
    price_per_visit: Money
    next_visit: date | None


class CostsIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceOrder,)
    labour_minutes: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None  # default: the work records'
    labour_rate: MoneyIn | None = None  # per hour
    materials_cost: MoneyIn | None = None
    subcontractor_fee: MoneyIn | None = None


class ComplaintIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ServiceOrder,)
    title: Annotated[str, text(200, min_length=1)]
    description: Annotated[str, text(4000)] = ""
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class ComplaintOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    status: str


class ItemFigures(msgspec.Struct, kw_only=True):
    item: uuid.UUID
    code: str
    name: str
    orders: int
    revenue: Money
    cost: Money
    margin: Money


class ReviewOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    item: uuid.UUID
    name: str
    month: str
    orders: int
    revenue: Money
    cost: Money
    margin: Money
    status: str
    decision: str
    note: str
    approval_request: uuid.UUID | None


class DecisionIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (LossReview,)
    decision: Literal["more_residents", "new_fee", "stop", "other"]
    note: Annotated[str, text(2000)] = ""


class QualityRow(msgspec.Struct, kw_only=True):
    key: uuid.UUID | None
    label: str
    orders: int
    rated: int
    satisfaction: str | None  # the mean of the return visits' 1–5, two places
    bad: int
    rework: int
    complaints: int
    on_time: int


class Proposal(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Survey,)
    code: Annotated[str, text(32)] = ""
    name: Annotated[str, text(120)] = ""
    item: Annotated[str, text(32)] = ""  # the code of the item it became, when it did


class SurveyCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Survey,)
    project: uuid.UUID
    title: Annotated[str, text(200)] = ""
    intro: Annotated[str, text(2000)] = ""
    proposals: Annotated[list[Proposal], msgspec.Meta(max_length=30)] = []
    closes_on: date | None = None


class SurveyAnswerIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SurveyAnswer,)
    wanted: Annotated[list[Annotated[str, text(32)]], msgspec.Meta(max_length=30)] = []
    comment: Annotated[str, text(2000)] = ""


class ProposalTally(msgspec.Struct, kw_only=True):
    code: str
    name: str
    item: str
    wanted: int | None  # staff see the count; a resident sees None


class SurveyOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project: uuid.UUID
    title: str
    intro: str
    status: str
    closes_on: date | None
    sent_to: int
    respondents: int | None
    proposals: list[ProposalTally]
    my_answer: list[str] | None = None


class SubcontractorUserIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (SubcontractorUser,)
    user: uuid.UUID
