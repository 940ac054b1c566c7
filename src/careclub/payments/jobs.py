"""The payments' queued and scheduled work. Every job is idempotent."""

from __future__ import annotations

import logging
from typing import Any

from careclub.core import clock
from careclub.core.db import fetch
from careclub.jobs.tasks import fan_out, in_tenant
from careclub.payments import service

log = logging.getLogger("careclub.payments.jobs")


BATCH = 200


async def drain_inbox(tenant_id: str) -> int:
    """Act on all the company's recorded Stripe events, a batch per transaction, until none is left."""
    done = 0
    while True:
        async with in_tenant(tenant_id, "payments_inbox"):
            handled = await service.process_inbox(BATCH)
        done += handled
        if handled < BATCH:
            return done


async def payments_inbox(ctx: dict[str, Any], *, tenant_id: str) -> int:
    """Act on the company's recorded Stripe events (queued by the webhook after its commit)."""
    return await drain_inbox(tenant_id)


async def payments_fanout(ctx: dict[str, Any]) -> int:
    """Every five minutes: housekeeping per company (keyed, so a re-run queues nothing new)."""
    return await fan_out(ctx, "payments_housekeeping", period=clock.now().strftime("%Y%m%d%H%M"))


async def payments_housekeeping(ctx: dict[str, Any], *, tenant_id: str) -> dict[str, int]:
    """Events a lost job left behind, refunds recorded but never sent to Stripe (a crash, Stripe down),
    reminders before automatic renewals, and (hourly) reconciliation with Stripe."""
    events = await drain_inbox(tenant_id)
    async with in_tenant(tenant_id, "payments_housekeeping"):
        unsent = await fetch("SELECT r.id FROM payment_refund r JOIN payment p ON p.id = r.payment "
                             "WHERE r.status = 'pending' AND r.stripe_refund_id IS NULL AND p.method = 'stripe' "
                             "ORDER BY r.created_at LIMIT 100")
    async with in_tenant(tenant_id, "payments_reminders"):
        reminded = await service.remind_due()
    reconciled: dict[str, int] = {}
    if clock.now().minute < 5:  # hourly: the fan-out runs every five minutes
        async with in_tenant(tenant_id, "payments_reconcile"):
            reconciled = await service.reconcile()
    sent = 0
    for row in unsent:
        async with in_tenant(tenant_id, "payments_refund"):
            try:
                await service.submit_refund(row["id"])
                sent += 1
            except Exception:  # Stripe still down: the next run tries again
                log.exception("refund %s could not be sent", row["id"])
    return {"events": events, "refunds_sent": sent, "reminded": reminded, **reconciled}
