"""Money moving: PaymentIntents that succeed or are declined, their Charges, and Refunds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from careclub.payments.sandbox import _shapes as shapes
from careclub.payments.sandbox._common import ApiError, choice, format_money, integer, merged_metadata, new_id, text
from careclub.payments.sandbox._store import Store, snapshot

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def new_intent(store: Store, account: str | None, *, amount: int, currency: str, customer_id: str | None,
               metadata: dict[str, str], application_fee_amount: int | None, description: str | None,
               method_types: list[str]) -> dict[str, Any]:
    intent = shapes.payment_intent(amount=amount, currency=currency, customer_id=customer_id, metadata=metadata,
                                   application_fee_amount=application_fee_amount, description=description,
                                   method_types=method_types)
    store.add(intent, account)
    return intent


def succeed(store: Store, account: str | None, intent: dict[str, Any], method: str) -> dict[str, Any]:
    """The intent succeeds with one Charge; answers the Charge."""
    payment_method = new_id("pm", 24)
    charge = shapes.charge(intent=intent, method=method, payment_method_id=payment_method)
    store.add(charge, account)
    intent.update(status="succeeded", amount_received=intent["amount"], payment_method=payment_method,
                  last_payment_error=None, latest_charge=charge["id"], payment_method_types=[method])
    store.touch()
    return charge


def decline(store: Store, intent: dict[str, Any], method: str) -> None:
    intent.update(status="requires_payment_method", last_payment_error=shapes.declined_error(method),
                  payment_method=None)
    store.touch()


def set_processing(store: Store, intent: dict[str, Any], method: str) -> None:
    """A delayed method (WeChat Pay, Alipay) was authorised by the payer but has not settled yet."""
    intent.update(status="processing", payment_method=new_id("pm", 24), payment_method_types=[method],
                  last_payment_error=None)
    store.touch()


def create_refund(store: Store, account: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
    charge_id = text(params, "charge")
    intent_id = text(params, "payment_intent")
    if charge_id is None and intent_id is None:
        raise ApiError(400, "One of the following params should be provided for this request: payment_intent or "
                            "charge.", param="payment_intent")
    if intent_id is not None:
        intent = store.get(intent_id, account, "payment_intent", param="payment_intent").object
        latest = intent["latest_charge"]
        if intent["status"] != "succeeded" or latest is None:
            raise ApiError(400, f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                           param="payment_intent", code="charge_not_refundable")
        if charge_id is not None and charge_id != latest:
            raise ApiError(400, f"Charge {charge_id} does not belong to PaymentIntent {intent_id}.", param="charge")
        charge_id = latest
    assert charge_id is not None
    charge = store.get(charge_id, account, "charge", param="charge").object
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise ApiError(400, f"Charge {charge_id} has already been refunded.", code="charge_already_refunded")
    amount = integer(params, "amount", minimum=1)
    if amount is None:
        amount = remaining
    if amount > remaining:
        raise ApiError(400, f"Refund amount ({format_money(amount, charge['currency'])}) is greater than unrefunded "
                            f"amount on charge ({format_money(remaining, charge['currency'])})",
                       param="amount", code="amount_too_large")
    reason = choice(params, "reason", REFUND_REASONS)
    refund = shapes.refund(charge_obj=charge, amount=amount, reason=reason,
                           metadata=merged_metadata({}, params))
    store.add(refund, account)
    previous = {key: snapshot(charge[key]) for key in ("amount_refunded", "refunded", "refunds")}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    charge["refunds"]["data"].insert(0, refund)
    store.touch()
    store.emit("refund.created", refund, account)
    store.emit("charge.refunded", charge, account, previous)
    return refund

