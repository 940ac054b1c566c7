"""Refunds, full or partial. Online ones go through Stripe and are confirmed by its `charge.refunded`
event, which carries the charge's refunded total: the payment's figures are set from that total,
never added up from events, so a repeated or late event cannot count a refund twice."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.core import clock
from careclub.core.errors import Conflict, ValidationFailed
from careclub.core.principal import Principal
from careclub.payments import rules
from careclub.payments.service._payables import payable_kind
from careclub.payments.service._payments import _locked, _move, get_payment, submit_refund
from careclub.payments.tables import Refund
from careclub.platform import audit


async def refund(principal: Principal, payment_id: uuid.UUID, *, amount: int | None, reason: str) -> dict[str, Any]:
    await get_payment(principal, payment_id)  # 404 outside the caller's scope
    row = await _locked(payment_id)
    if row["status"] not in rules.SETTLED:
        raise Conflict("a %(status)s payment cannot be refunded", code="payment_state_conflict",
                       params={"status": row['status']})
    pending = sum(r["amount"] for r in await Refund.select(Refund.amount).where(
        Refund.payment == payment_id, Refund.status == "pending"))
    left = row["amount"] - row["refunded_amount"] - pending
    amount = left if amount is None else amount
    if not 0 < amount <= left:
        raise ValidationFailed("amount must be between 0.01 and what is left to refund (%(value).2f)",
                               field="amount", params={"value": left / 100})
    if not reason.strip():
        raise ValidationFailed("reason is required", field="reason")
    made = Refund(payment=payment_id, amount=amount, reason=reason.strip(), requested_by=principal.user_id)
    await made.save()
    await audit.record("payment.refund", "payment", payment_id, after={"amount": amount, "reason": reason})
    if row["method"] == "stripe":
        await submit_refund(made.id)  # confirmed when Stripe's charge.refunded event arrives
    else:  # money handed back at the cashier
        await Refund.update({Refund.status: "succeeded", Refund.succeeded_at: clock.now()}).where(Refund.id == made.id)
        await _set_refunded(row, row["refunded_amount"] + amount)
    return await get_payment(principal, payment_id)


async def _set_refunded(row: dict[str, Any], refunded: int) -> None:
    refunded = min(refunded, row["amount"])
    if refunded <= row["refunded_amount"]:
        return
    to = rules.refund_status(row["amount"], refunded)
    await _move(row, to, refunded_amount=refunded)
    if to == "refunded" and not row["problem"]:
        # A full refund takes back what the payment bought (the plan's refund rule decides how).
        await payable_kind(row["payable_kind"]).unsettle(row["payable_id"], "refunded")
    await audit.record("payment.refunded", "payment", row["id"], before={"refunded": row["refunded_amount"]},
                       after={"refunded": refunded, "status": to})


async def apply_charge(payment_id: uuid.UUID, charge: dict[str, Any], refunds: list[dict[str, Any]]) -> None:
    """Bring a payment in line with its Stripe charge and refunds (both re-read from Stripe by the caller)."""
    row = await _locked(payment_id)
    if row["status"] not in rules.SETTLED:
        return
    known = {r["stripe_refund_id"]: r for r in await Refund.select().where(Refund.payment == payment_id)}
    for item in refunds:
        if item.get("status") != "succeeded":
            continue
        mine = known.get(item["id"])
        if mine is None:
            # A refund made in Stripe's dashboard, or one whose record was lost: recorded, not ignored.
            pending = next((r for r in known.values() if r["stripe_refund_id"] is None and
                            r["amount"] == item["amount"] and r["status"] == "pending"), None)
            if pending is not None:
                await Refund.update({Refund.stripe_refund_id: item["id"]}).where(Refund.id == pending["id"])
                mine = {**pending, "stripe_refund_id": item["id"]}
            else:
                extra = Refund(payment=payment_id, amount=item["amount"], stripe_refund_id=item["id"],
                               reason="made outside careclub", status="succeeded", succeeded_at=clock.now())
                await extra.save()
                continue
        if mine["status"] != "succeeded":
            await Refund.update({Refund.status: "succeeded", Refund.succeeded_at: clock.now()}).where(
                Refund.id == mine["id"])
    await _set_refunded(row, int(charge.get("amount_refunded") or 0))
