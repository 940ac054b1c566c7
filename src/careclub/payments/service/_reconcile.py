"""Reconciliation: Stripe is the truth about money. Now and then the recent checkouts on the company's
account are compared with our payments; a payment Stripe took that we missed (an event lost for good,
a handler that kept failing) is repaired, and what cannot be matched is reported in the log."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from careclub.core import clock
from careclub.payments.gateway import gateway
from careclub.payments.service import _payments, _renewals
from careclub.payments.tables import Payment

log = logging.getLogger("careclub.payments.reconcile")


async def reconcile(*, days: int = 3) -> dict[str, int]:
    settings = await _payments.current_settings()
    account = settings["stripe_account_id"]
    found = {"checked": 0, "repaired": 0, "expired": 0, "unmatched": 0}
    if not account or not settings["charges_enabled"]:
        return found
    since = int((clock.now() - timedelta(days=days)).timestamp())
    for session in await gateway().list_sessions(account, created_gte=since):
        found["checked"] += 1
        outcome = await _one(account, session)
        if outcome in found:
            found[outcome] += 1
    if found["repaired"] or found["unmatched"]:
        log.warning("reconciliation of %s: %s", account, found)
    return found


async def _one(account: str, session: dict[str, Any], *, reconciling: bool = True) -> str:
    try:
        payment_id = uuid.UUID(str(session.get("client_reference_id") or ""))
    except ValueError:
        return "unmatched"
    payment = await Payment.select().where(Payment.id == payment_id).first()
    if payment is None or payment["checkout_session_id"] != session.get("id"):
        log.warning("stripe checkout %s on %s matches no payment of this company", session.get("id"), account)
        return "unmatched"
    if session.get("status") == "expired" and payment["status"] == "open":
        await _payments.mark_failed(payment["id"], "expired")
        return "expired"
    if session.get("payment_status") != "paid" or payment["status"] not in ("open", "processing", "failed",
                                                                             "expired"):
        return "ok"
    if session.get("mode") == "subscription" and session.get("invoice"):
        await _renewals.invoice_paid(account, str(session["invoice"]))
    else:
        intent = session.get("payment_intent")
        await _payments.confirm_paid(payment["id"], payment_intent_id=str(intent) if intent else None)
    if reconciling:
        log.warning("reconciliation repaired payment %s (%s): Stripe took the money, the event never acted",
                    payment["number"], payment["id"])
    return "repaired"


async def sync_payment(payment_id: uuid.UUID) -> None:
    """Ask Stripe about one payment now (the member just came back from the checkout page): whatever
    Stripe says is applied exactly as its event would apply it, so the event, when it comes, changes
    nothing. The page then shows the outcome at once instead of waiting for the event."""
    payment = await Payment.select().where(Payment.id == payment_id).first()
    if payment is None or payment["status"] not in ("open", "processing") or not payment["checkout_session_id"]:
        return
    session = await gateway().retrieve_session(payment["stripe_account_id"], payment["checkout_session_id"])
    await _one(payment["stripe_account_id"], session, reconciling=False)
