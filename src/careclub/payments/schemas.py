"""Request and response bodies of the payments API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

import msgspec
from piccolo.table import Table

from careclub.core.money import Money, MoneyIn32
from careclub.core.schemas import Input, col, text
from careclub.payments import rules
from careclub.payments.tables import Payment, PaymentSettings, Refund


class OfflinePaymentCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Payment,)
    payable_kind: Annotated[str, col(Payment.payable_kind)]
    payable_id: uuid.UUID
    method: Annotated[str, col(Payment.method, description=f"one of {', '.join(rules.OFFLINE_METHODS)}")]
    reference: Annotated[str, col(Payment.reference, min_length=1)]
    note: Annotated[str, text(1000)] = ""


class RefundCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Refund,)
    reason: Annotated[str, text(1000, min_length=1)]
    amount: MoneyIn32 | None = None


class ReversalCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Payment,)
    reason: Annotated[str, text(1000, min_length=1)]


MethodName = Annotated[str, msgspec.Meta(max_length=16, description=f"one of {', '.join(rules.ONLINE_METHODS)}")]


class PaymentSettingsUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (PaymentSettings,)
    methods: Annotated[list[MethodName], msgspec.Meta(min_length=1, max_length=3)] | None = None
    renewal_reminder_days: Annotated[int, col(PaymentSettings.renewal_reminder_days, ge=0, le=60)] | None = None


class RefundOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    amount: Money
    status: str
    reason: str
    stripe_refund_id: str | None
    created_at: datetime
    succeeded_at: datetime | None


class AttachmentOut(msgspec.Struct, kw_only=True):
    """A file kept with a payment (the transfer slip or receipt scan): checked by content, images
    re-encoded without their metadata. `url` serves it to those who may see the payment."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    created_at: datetime
    url: str


class PaymentOut(msgspec.Struct, kw_only=True):
    """A payment of a payable. `status`: open, processing, paid, failed, expired, partially_refunded,
    refunded, reversed. `problem` is set when money arrived for something that could no longer be
    paid (e.g. `card_closed`): it was refunded automatically."""

    id: uuid.UUID
    number: str
    payable_kind: str
    payable_id: uuid.UUID
    description: str
    card_no: str
    amount: Money
    refunded: Money
    status: str
    method: str
    reference: str
    note: str
    problem: str
    paid_at: datetime | None
    reversed_at: datetime | None
    reversal_reason: str
    created_at: datetime
    refunds: list[RefundOut] = []
    attachments: list[AttachmentOut] = []


class PaymentList(msgspec.Struct, kw_only=True):
    """Newest first. `next_after` is the cursor of the next page (pass it as `after`), null on the last.
    `total` counts at most 10,000 matches (`total_capped` says when there are more)."""

    items: list[PaymentOut]
    total: int
    total_capped: bool
    limit: int
    offset: int
    next_after: str | None


class CheckoutStarted(msgspec.Struct, kw_only=True):
    payment_id: uuid.UUID
    checkout_session_id: str
    checkout_url: str
    amount: Money


class PaymentSettingsOut(msgspec.Struct, kw_only=True):
    stripe_account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    account_checked_at: datetime | None
    application_fee_bps: int
    renewal_reminder_days: int
    methods: list[str]


class OnboardingLink(msgspec.Struct, kw_only=True):
    url: str


class WebhookReceipt(msgspec.Struct, kw_only=True):
    received: bool
    outcome: str

