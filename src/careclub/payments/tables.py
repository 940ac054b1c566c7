"""The payments tables: each company's link to its Stripe account, payments of payables (a
membership period today; deposits and service orders later), their refunds, renewal
subscriptions, and the inbox of Stripe events.

Which company a Stripe account belongs to is the one question asked without a company in
context (a webhook names only the account): `tenant.stripe_account_id` in the shared registry
answers it, and its unique index keeps one account from ever serving two companies."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar

from careclub.core.db import TenantTable


class PaymentSettings(TenantTable, tablename="payment_settings"):
    """One row per company: its Stripe account's state as `account.updated` last told it, the
    platform's application fee, and how many days before an automatic renewal members are reminded."""

    stripe_account_id = Varchar(length=64, null=True, default=None)
    charges_enabled = Boolean(default=False)
    payouts_enabled = Boolean(default=False)
    details_submitted = Boolean(default=False)
    account_checked_at = Timestamptz(null=True, default=None)
    application_fee_bps = Integer(default=0)
    renewal_reminder_days = Integer(default=7)
    methods = Varchar(length=64, default="card")  # card[,wechat_pay][,alipay] for one-off payments


class Payment(TenantTable, tablename="payment"):
    """Money for one payable. Moves only along rules.TRANSITIONS; `number` is the receipt number."""

    number = Varchar(length=32)
    payable_kind = Varchar(length=32)
    payable_id = UUID()
    description = Varchar(length=200, default="")
    payer_user_id = UUID(null=True, default=None)
    card_no = Varchar(length=32, default="")
    org_unit_id = UUID(null=True, default=None)
    amount = Integer()
    currency = Varchar(length=3, default="CNY")
    status = Varchar(length=24, default="open")
    method = Varchar(length=24, default="stripe")
    stripe_account_id = Varchar(length=64, default="")
    checkout_session_id = Varchar(length=128, null=True, default=None)
    payment_intent_id = Varchar(length=64, null=True, default=None)
    invoice_id = Varchar(length=64, null=True, default=None)
    subscription_id = Varchar(length=64, null=True, default=None)
    reference = Varchar(length=120, default="")
    note = Text(default="")
    recorded_by = UUID(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    refunded_amount = Integer(default=0)
    reversed_at = Timestamptz(null=True, default=None)
    reversal_reason = Text(default="")
    problem = Varchar(length=64, default="")  # e.g. card_closed: paid for a card closed meanwhile, refunded


class Refund(TenantTable, tablename="payment_refund"):
    payment = ForeignKey(Payment)
    amount = Integer()
    status = Varchar(length=16, default="pending")
    stripe_refund_id = Varchar(length=64, null=True, default=None)
    reason = Text(default="")
    requested_by = UUID(null=True, default=None)
    succeeded_at = Timestamptz(null=True, default=None)


class RenewalSubscription(TenantTable, tablename="payment_subscription"):
    """Something renewed automatically through a Stripe Billing subscription (a member card): each paid
    invoice pays the next payable the kind's `renew` opens for `subject_id`."""

    payable_kind = Varchar(length=32)
    subject_id = UUID()
    payer_user_id = UUID(null=True, default=None)
    stripe_subscription_id = Varchar(length=64)
    customer_id = Varchar(length=64, default="")
    status = Varchar(length=24, default="incomplete")
    current_period_end = Timestamptz(null=True, default=None)
    cancel_at_period_end = Boolean(default=False)
    reminded_for = Timestamptz(null=True, default=None)


class WebhookEvent(TenantTable, tablename="payment_webhook_event"):
    """The inbox: each Stripe event once, recorded and committed before it is acted on."""

    event_id = Varchar(length=64)
    type = Varchar(length=64)
    account = Varchar(length=64, default="")
    payload = JSONB()
    status = Varchar(length=16, default="received")
    attempts = Integer(default=0)
    error = Text(default="")
    processed_at = Timestamptz(null=True, default=None)


class PaymentCounter(TenantTable, tablename="payment_counter"):
    """The last receipt number given in a year; taken with one atomic upsert, so numbers never repeat."""

    year = Integer()
    last = Integer(default=0)


TABLES = [PaymentSettings, Payment, Refund, RenewalSubscription, WebhookEvent, PaymentCounter]
