"""Stripe's events: verified, recorded in the company's inbox, acted on after the commit.

Stripe delivers each event at least once, in any order, sometimes days late. So the endpoint only
verifies the signature, finds the company by the event's account, and records the event id
(`ON CONFLICT DO NOTHING`: a repeat is a no-op, never a unique-key error that poisons the
transaction); the handling is a job queued after the commit. Handlers act on our own ids
(`client_reference_id` is our payment id), re-read from Stripe whatever depends on order, and move
payments only along the allowed transitions, so a late or repeated event changes nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from careclub.core import clock
from careclub.core.db import after_commit, bind_tenant, current_transaction, fetch
from careclub.core.errors import AppError
from careclub.payments.gateway import VerifiedEvent, gateway
from careclub.payments.service import _payments, _refunds, _renewals
from careclub.payments.tables import Payment, PaymentSettings, WebhookEvent
from careclub.platform import audit

log = logging.getLogger("careclub.payments.webhooks")

MAX_ATTEMPTS = 8
Handler = Callable[[VerifiedEvent], Awaitable[str]]


async def tenant_of_account(account: str) -> uuid.UUID | None:
    # The registry is readable without a company in context (its policy allows SELECT).
    rows = await fetch("SELECT id FROM tenant WHERE stripe_account_id = $1", account)
    return rows[0]["id"] if rows else None


async def receive(event: VerifiedEvent, enqueue: Callable[[uuid.UUID], Awaitable[None]]) -> str:
    """Record a verified event in its company's inbox. Answers what happened, for the log and the reply."""
    if event.account is None:
        log.info("stripe event %s (%s) without an account: not ours to act on", event.id, event.type)
        return "ignored"
    tenant_id = await tenant_of_account(event.account)
    if tenant_id is None:
        log.warning("stripe event %s (%s) for unknown account %s", event.id, event.type, event.account)
        return "ignored"
    await bind_tenant(tenant_id)
    inserted = await fetch(
        "INSERT INTO payment_webhook_event (id, tenant_id, created_at, event_id, type, account, payload, status, "
        "attempts, error) VALUES (gen_random_uuid(), app_current_tenant(), now(), $1, $2, $3, $4::jsonb, "
        "'received', 0, '') ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING id",
        event.id, event.type, event.account, json.dumps(event.raw))
    if not inserted:
        return "duplicate"

    async def queue_it() -> None:
        await enqueue(tenant_id)

    after_commit(queue_it)
    return "recorded"


async def process_inbox(limit: int = 200) -> int:
    """Act on the company's recorded events, oldest first (call inside its tenant scope). Each event in
    a savepoint: one that fails is retried later and does not undo the others."""
    rows = await fetch("SELECT id, event_id, type, account, payload, attempts FROM payment_webhook_event "
                       "WHERE status = 'received' ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
    for row in rows:
        raw = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        event = VerifiedEvent(id=row["event_id"], type=row["type"], account=row["account"] or None,
                              created=int(raw.get("created") or 0), data=dict(raw.get("data") or {}), raw=raw)
        handler = HANDLERS.get(event.type)
        savepoint = await current_transaction().savepoint()
        try:
            outcome = await handler(event) if handler else "ignored"
            await savepoint.release()
            status, error = ("processed" if outcome != "ignored" else "ignored"), ""
        except Exception as exc:  # one event that fails (Stripe down, a race, a bug) must not poison the batch
            await savepoint.rollback_to()
            if isinstance(exc, AppError):
                log.warning("stripe event %s (%s) failed: %s", event.id, event.type, exc)
            else:
                log.exception("stripe event %s (%s) failed", event.id, event.type)
            status = "failed" if row["attempts"] + 1 >= MAX_ATTEMPTS else "received"
            error = str(exc)[:2000]
        await WebhookEvent.update({WebhookEvent.status: status, WebhookEvent.attempts: row["attempts"] + 1,
                                   WebhookEvent.error: error,
                                   WebhookEvent.processed_at: clock.now() if status != "received" else None}).where(
            WebhookEvent.id == row["id"])
    return len(rows)


# ---- handlers ------------------------------------------------------------------------------------

def _obj(event: VerifiedEvent) -> dict[str, Any]:
    return dict(event.data.get("object") or {})


async def _our_payment(session: dict[str, Any]) -> dict[str, Any] | None:
    """The payment a checkout session was opened for, in this company (RLS scopes the lookup)."""
    try:
        payment_id = uuid.UUID(str(session.get("client_reference_id") or ""))
    except ValueError:
        return None
    return await Payment.select().where(Payment.id == payment_id,
                                        Payment.checkout_session_id == session.get("id")).first()


async def on_checkout_completed(event: VerifiedEvent) -> str:
    payment = await _our_payment(_obj(event))
    if payment is None or event.account is None:
        return "ignored"
    # Re-read: the event is a snapshot that may be older than what Stripe knows now.
    session = await gateway().retrieve_session(event.account, payment["checkout_session_id"])
    if session.get("mode") == "subscription":
        if session.get("subscription"):
            await _renewals.track(event.account, str(_id(session["subscription"])))
        invoice = _id(session.get("invoice"))
        return await _renewals.invoice_paid(event.account, invoice) if invoice else "ignored"
    if session.get("payment_status") == "paid":
        return await _payments.confirm_paid(payment["id"], payment_intent_id=_id(session.get("payment_intent")))
    if session.get("status") == "complete":  # a delayed method (a bank's or wallet's confirmation pending)
        await _payments.mark_processing(payment["id"])
        return "processing"
    return "ignored"


async def on_async_succeeded(event: VerifiedEvent) -> str:
    return await on_checkout_completed(event)


async def on_async_failed(event: VerifiedEvent) -> str:
    payment = await _our_payment(_obj(event))
    if payment is None or event.account is None:
        return "ignored"
    session = await gateway().retrieve_session(event.account, payment["checkout_session_id"])
    if session.get("payment_status") == "paid":  # it succeeded after all: the newer truth wins
        return await _payments.confirm_paid(payment["id"], payment_intent_id=_id(session.get("payment_intent")))
    await _payments.mark_failed(payment["id"])
    return "failed"


async def on_session_expired(event: VerifiedEvent) -> str:
    payment = await _our_payment(_obj(event))
    if payment is None:
        return "ignored"
    await _payments.mark_failed(payment["id"], "expired")
    return "expired"


async def on_charge_refunded(event: VerifiedEvent) -> str:
    charge = _obj(event)
    intent = _id(charge.get("payment_intent"))
    if not intent or event.account is None:
        return "ignored"
    payment = await Payment.select().where(Payment.payment_intent_id == intent).first()
    if payment is None:
        return "ignored"
    gw = gateway()
    fresh = await gw.retrieve_charge(event.account, charge["id"])
    refunds = await gw.list_refunds(event.account, intent)
    await _refunds.apply_charge(payment["id"], fresh, refunds)
    return "refunded"


async def on_invoice_paid(event: VerifiedEvent) -> str:
    invoice = _obj(event)
    if event.account is None or not invoice.get("id"):
        return "ignored"
    return await _renewals.invoice_paid(event.account, str(invoice["id"]))


async def on_invoice_failed(event: VerifiedEvent) -> str:
    invoice = _obj(event)
    if event.account is None or not invoice.get("id"):
        return "ignored"
    return await _renewals.invoice_failed(event.account, str(invoice["id"]))


async def on_subscription_changed(event: VerifiedEvent) -> str:
    sub = _obj(event)
    if event.account is None or not sub.get("id"):
        return "ignored"
    return "tracked" if await _renewals.track(event.account, str(sub["id"])) else "ignored"


async def on_account_updated(event: VerifiedEvent) -> str:
    if event.account is None:
        return "ignored"
    account = await gateway().retrieve_account(event.account)
    row = await _payments.settings_for_update()
    if row.stripe_account_id != event.account:
        return "ignored"
    before = {"charges_enabled": row.charges_enabled, "payouts_enabled": row.payouts_enabled}
    await PaymentSettings.update({
        PaymentSettings.charges_enabled: bool(account.get("charges_enabled")),
        PaymentSettings.payouts_enabled: bool(account.get("payouts_enabled")),
        PaymentSettings.details_submitted: bool(account.get("details_submitted")),
        PaymentSettings.account_checked_at: clock.now()}).where(PaymentSettings.id == row.id)
    await audit.record("payment_settings.account_updated", "payment_settings", row.id, before=before,
                       after={"charges_enabled": bool(account.get("charges_enabled")),
                              "payouts_enabled": bool(account.get("payouts_enabled"))})
    return "updated"


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("id")) if value.get("id") else None
    return str(value) if value else None


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.async_payment_succeeded": on_async_succeeded,
    "checkout.session.async_payment_failed": on_async_failed,
    "checkout.session.expired": on_session_expired,
    "charge.refunded": on_charge_refunded,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_failed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "account.updated": on_account_updated,
}
