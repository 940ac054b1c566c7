"""Automatic renewal through Stripe Billing: a member's card (or any payable kind that renews) is charged
each term by a subscription on the company's account. Every paid invoice pays the next period the kind
opens; a failed one follows Stripe's retry schedule, and when Stripe gives up the subscription ends and
the card, with no new paid period, runs into its grace and lapses. Cards only: Stripe offers neither
WeChat Pay nor Alipay for subscriptions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw

from careclub.approvals import service as approvals
from careclub.core import clock
from careclub.core.errors import Conflict, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.principal import Principal
from careclub.payments.gateway import gateway
from careclub.payments.service import _payments
from careclub.payments.service._payables import payable_kind
from careclub.payments.tables import Payment, PaymentSettings, RenewalSubscription
from careclub.platform import audit

LIVE = ("active", "trialing", "past_due", "incomplete")


def _interval(months: int) -> dict[str, Any]:
    if months % 12 == 0 and months <= 36:
        return {"interval": "year", "interval_count": months // 12}
    if not 1 <= months <= 36:
        raise ValidationFailed("a plan renewed automatically must run 1 to 36 months", field="term_months")
    return {"interval": "month", "interval_count": months}


async def subscription_of(kind: str, subject_id: uuid.UUID) -> dict[str, Any] | None:
    return await RenewalSubscription.select().where(
        RenewalSubscription.payable_kind == kind, RenewalSubscription.subject_id == subject_id,
        RenewalSubscription.status.is_in(list(LIVE))).order_by(RenewalSubscription.created_at, ascending=False).first()


async def start_auto_renewal(principal: Principal | None, kind: str, payable_id: uuid.UUID, *,
                             subject_id: uuid.UUID, term_months: int, site_url: str,
                             locale: str = "zh_CN") -> dict[str, Any]:
    """A subscription checkout whose first charge pays `payable_id`; answers the payment and its URL."""
    if payable_kind(kind).renew is None:
        raise ValidationFailed("%(kind)s does not renew automatically", field="payable_kind", params={"kind": kind})
    payable = await payable_kind(kind).describe(principal, payable_id)
    if payable.settled:
        raise Conflict("this is paid already", code="already_paid")
    if await subscription_of(kind, subject_id) is not None:
        raise Conflict("automatic renewal is on already", code="auto_renewal_on")
    settings = await _payments.current_settings()
    account = settings["stripe_account_id"]
    if not account or not settings["charges_enabled"]:
        raise _payments.OnlinePaymentsUnavailable("this company does not take online payments yet")
    reused = await _payments.open_checkout(kind, payable_id, payable.amount, mode="subscription")
    if reused is not None:
        return reused
    row = await _payments._new_payment(payable, method="stripe", stripe_account_id=account)
    metadata = {"tenant_id": str(row["tenant_id"]), "payment_id": str(row["id"]), "payable_kind": kind,
                "subject_id": str(subject_id)}
    subscription_data: dict[str, Any] = {"metadata": metadata}
    if settings["application_fee_bps"]:
        subscription_data["application_fee_percent"] = settings["application_fee_bps"] / 100
    session = await gateway().create_checkout(account, idempotency_key=f"subscribe-{row['id']}", params={
        "mode": "subscription",
        "client_reference_id": str(row["id"]),
        "metadata": metadata,
        "line_items": [{"quantity": 1, "price_data": {
            "currency": payable.currency.lower(), "unit_amount": payable.amount,
            "product_data": {"name": payable.description or row["number"]}, "recurring": _interval(term_months)}}],
        "allowed_payment_method_types": ["card"],
        "subscription_data": subscription_data,
        "success_url": f"{site_url}/pay/return/{row['id']}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{site_url}/pay/return/{row['id']}?cancelled=1",
        "locale": "zh" if locale.startswith("zh") else "en",
    })
    await Payment.update({Payment.checkout_session_id: session["id"]}).where(Payment.id == row["id"])
    await audit.record("payment.subscribe", "payment", row["id"], after={"payable": f"{kind}:{payable_id}",
                                                                          "subject": str(subject_id)})
    return {**row, "checkout_session_id": session["id"], "checkout_url": session["url"]}


def _period_end(sub: dict[str, Any]) -> datetime | None:
    items = (sub.get("items") or {}).get("data") or []
    end = items[0].get("current_period_end") if items else None
    return datetime.fromtimestamp(end, UTC) if end else None


async def track(account: str, subscription_id: str) -> dict[str, Any] | None:
    """Bring our record of a subscription in line with Stripe's (re-read, whatever the event said)."""
    sub = await gateway().retrieve_subscription(account, subscription_id)
    meta = sub.get("metadata") or {}
    try:
        subject_id = uuid.UUID(meta.get("subject_id", ""))
        payment_id = uuid.UUID(meta.get("payment_id", ""))
    except ValueError:
        return None
    first = await Payment.select(Payment.payer_user_id).where(Payment.id == payment_id).first()
    if first is None:  # not one of this company's (RLS): another company's metadata never lands here
        return None
    values: dict[Any, Any] = {RenewalSubscription.status: str(sub.get("status") or "incomplete"),
              RenewalSubscription.current_period_end: _period_end(sub),
              RenewalSubscription.cancel_at_period_end: bool(sub.get("cancel_at_period_end")),
              RenewalSubscription.customer_id: str(sub.get("customer") or "")}
    mine = RenewalSubscription.stripe_subscription_id == subscription_id
    row = await RenewalSubscription.select().where(mine).first()
    if row is None:
        fields: dict[str, Any] = {c._meta.name: v for c, v in values.items()}
        made = RenewalSubscription(payable_kind=meta.get("payable_kind", ""), subject_id=subject_id,
                                   payer_user_id=first["payer_user_id"], stripe_subscription_id=subscription_id,
                                   **fields)
        await made.save()
    else:
        await RenewalSubscription.update(values).where(RenewalSubscription.id == row["id"])
    return await RenewalSubscription.select().where(mine).first()


def _invoice_intent(invoice: dict[str, Any]) -> str | None:
    for item in (invoice.get("payments") or {}).get("data") or []:
        intent = (item.get("payment") or {}).get("payment_intent")
        if intent:
            return str(intent.get("id") if isinstance(intent, dict) else intent)
    return None


async def invoice_paid(account: str, invoice_id: str) -> str:
    """A paid invoice pays one payable: the first the one checkout was opened for, each later one the next
    period the kind opens. Idempotent by the invoice id (unique per company)."""
    if await Payment.exists().where(Payment.invoice_id == invoice_id):
        return "already"
    invoice = await gateway().retrieve_invoice(account, invoice_id)
    if invoice.get("status") != "paid":
        return "ignored"
    details = ((invoice.get("parent") or {}).get("subscription_details") or {})
    subscription_id = details.get("subscription")
    if not subscription_id:
        return "ignored"
    row = await track(account, str(subscription_id))
    if row is None:
        return "ignored"
    intent = _invoice_intent(invoice)
    if invoice.get("billing_reason") == "subscription_create":
        payment_id = uuid.UUID(str((details.get("metadata") or {}).get("payment_id")))
        await Payment.update({Payment.invoice_id: invoice_id, Payment.subscription_id: str(subscription_id)}).where(
            Payment.id == payment_id)
        return await _payments.confirm_paid(payment_id, payment_intent_id=intent)
    kind = payable_kind(row["payable_kind"])
    assert kind.renew is not None
    period_id = await kind.renew(row["subject_id"])
    payable = await kind.describe(None, period_id)
    payment = await _payments._new_payment(payable, method="stripe", stripe_account_id=account, invoice_id=invoice_id,
                                           subscription_id=str(subscription_id))
    return await _payments.confirm_paid(payment["id"], payment_intent_id=intent)


async def invoice_failed(account: str, invoice_id: str) -> str:
    invoice = await gateway().retrieve_invoice(account, invoice_id)
    subscription_id = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    if not subscription_id:
        return "ignored"
    row = await track(account, str(subscription_id))
    if row is None:
        return "ignored"
    if row["payer_user_id"]:
        await approvals.notify([row["payer_user_id"]], "renewal_failed",
                               N_("Your automatic renewal could not be charged"),
                               body=N_("Stripe will try again in a few days. Check your bank card, or pay from "
                                       "your card page, so your membership does not lapse."),
                               body_params={}, link="/club/card")
    return "failed"


async def cancel_auto_renewal(kind: str, subject_id: uuid.UUID) -> dict[str, Any]:
    row = await subscription_of(kind, subject_id)
    if row is None:
        raise Conflict("automatic renewal is not on", code="auto_renewal_off")
    settings = await _payments.current_settings()
    await gateway().cancel_at_period_end(str(settings["stripe_account_id"]), row["stripe_subscription_id"], cancel=True)
    await RenewalSubscription.update({RenewalSubscription.cancel_at_period_end: True}).where(
        RenewalSubscription.id == row["id"])
    await audit.record("payment_subscription.cancel", "payment_subscription", row["id"],
                       after={"cancel_at_period_end": True})
    return {**row, "cancel_at_period_end": True}


REMINDER_BATCH = 500


async def remind_due() -> int:
    """Tell each member a few days before an automatic renewal charge (once per charge)."""
    settings = await PaymentSettings.select(PaymentSettings.renewal_reminder_days).first()
    days = settings["renewal_reminder_days"] if settings else 7
    if days <= 0:
        return 0
    now = clock.now()
    # Only the charges not yet reminded of, a batch per run (the next run takes the rest), from the
    # partial index on the period end: at a million cards the window holds thousands, not all of them.
    rows = await RenewalSubscription.select().where(
        RenewalSubscription.status == "active", RenewalSubscription.cancel_at_period_end.eq(False),
        RenewalSubscription.current_period_end <= now + timedelta(days=days),
        RenewalSubscription.current_period_end > now,
        WhereRaw("reminded_for IS DISTINCT FROM current_period_end"),
        RenewalSubscription.payer_user_id.is_not_null()).order_by(
        RenewalSubscription.current_period_end).limit(REMINDER_BATCH)
    sent = 0
    for row in rows:
        when = await approvals.local_time(row["current_period_end"])
        await approvals.notify([row["payer_user_id"]], "renewal_reminder",
                               N_("Your membership renews automatically on {when}"), params={"when": when},
                               body=N_("Your bank card will be charged then. To stop it, turn automatic renewal "
                                       "off on your card page."), body_params={}, link="/club/card")
        await RenewalSubscription.update({RenewalSubscription.reminded_for: row["current_period_end"]}).where(
            RenewalSubscription.id == row["id"])
        sent += 1
    return sent
