"""Subscriptions and their invoices: the first one paid at checkout, renewals, Stripe's default dunning
(three retries, the fourth failure ends the subscription), cancellation now or at period end."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stripe.params import SubscriptionCancelParams, SubscriptionUpdateParams

from careclub.payments.sandbox import _payments as payments
from careclub.payments.sandbox import _shapes as shapes
from careclub.payments.sandbox._common import (
    ApiError,
    boolean,
    check_known,
    mapping,
    merged_metadata,
    missing,
    new_id,
    now,
)
from careclub.payments.sandbox._params import allowed
from careclub.payments.sandbox._store import Record, Store, snapshot

OUTCOMES = ("paid", "failed")
# Days until the next automatic attempt after the 1st, 2nd and 3rd failure; the 4th failure is final.
RETRY_DAYS = (3, 5, 7)
FINAL_ATTEMPT = len(RETRY_DAYS) + 1
_UPDATE_REFUSED = ("items", "trial_end", "billing_cycle_anchor", "pause_collection", "add_invoice_items", "cancel_at",
                   "trial_from_plan", "billing_schedules")


def add_interval(moment: int, interval: str, count: int, anchor: int) -> int:
    """Like Stripe, a monthly period anchored on the 31st ends on the last day of shorter months."""
    if interval == "day":
        return moment + 86400 * count
    if interval == "week":
        return moment + 7 * 86400 * count
    start = datetime.fromtimestamp(moment, UTC)
    months = count if interval == "month" else 12 * count
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    day = min(datetime.fromtimestamp(anchor, UTC).day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def start_subscription(store: Store, account: str | None, *, customer_id: str, items: list[dict[str, Any]],
                       metadata: dict[str, str], application_fee_percent: float | None,
                       intent: dict[str, Any] | None, method: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A subscription paid at checkout, with its first invoice; answers both."""
    subscription_id = new_id("sub", 14)
    start = now()
    recurring = items[0]["price"]["recurring"]
    end = add_interval(start, recurring["interval"], recurring["interval_count"], start)
    sub_items = [shapes.subscription_item(price_obj=item["price"], quantity=item["quantity"],
                                          subscription_id=subscription_id, period_start=start, period_end=end)
                 for item in items]
    sub = shapes.subscription(subscription_id=subscription_id, customer_id=customer_id,
                              currency=items[0]["price"]["currency"], items=sub_items, metadata=metadata,
                              application_fee_percent=application_fee_percent, start=start)
    store.add(sub, account)
    invoice = _new_invoice(store, account, sub, "subscription_create", start, start)
    _attempt(store, account, invoice, sub, "paid", method=method, intent=intent)
    sub["latest_invoice"] = invoice["id"]
    return sub, invoice


def renew(store: Store, subscription_id: str, outcome: str) -> dict[str, Any]:
    """The subscription reaches its period end (or its next retry): what Stripe would do then."""
    if outcome not in OUTCOMES:
        raise ApiError(400, f"Invalid outcome: must be one of {', '.join(OUTCOMES)}", param="outcome")
    record = store.find(subscription_id, "subscription")
    if record is None:
        raise missing(subscription_id)
    account, sub = record.account, record.object
    if sub["status"] == "canceled":
        raise ApiError(400, f"Subscription {subscription_id} is canceled; it has nothing left to renew.")
    if sub["status"] == "past_due":
        _retry(store, account, sub, outcome)
    elif sub["cancel_at_period_end"]:
        _end(store, account, sub, reason="cancellation_requested")
    else:
        _cycle(store, account, sub, outcome)
    store.touch()
    return sub


def update_subscription(store: Store, account: str | None, subscription_id: str,
                        params: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, allowed(SubscriptionUpdateParams), refused=_UPDATE_REFUSED)
    sub = store.get(subscription_id, account, "subscription").object
    if sub["status"] == "canceled" and set(params) - {"metadata", "cancellation_details", "expand"}:
        raise ApiError(400, "A canceled subscription can only update its cancellation_details and metadata.")
    before = snapshot(sub)
    sub["metadata"] = merged_metadata(sub["metadata"], params)
    if (description := params.get("description")) is not None:
        sub["description"] = description or None
    details = mapping(params, "cancellation_details")
    for key in ("comment", "feedback"):
        if key in details:
            sub["cancellation_details"][key] = details[key] or None
    if "application_fee_percent" in params:
        sub["application_fee_percent"] = fee_percent(params.get("application_fee_percent"), account,
                                                     "application_fee_percent")
    at_period_end = boolean(params, "cancel_at_period_end")
    if at_period_end is not None and at_period_end != sub["cancel_at_period_end"]:
        sub["cancel_at_period_end"] = at_period_end
        sub["cancel_at"] = _period_end(sub) if at_period_end else None
        sub["canceled_at"] = now() if at_period_end else None
        sub["cancellation_details"]["reason"] = "cancellation_requested" if at_period_end else None
    previous = {key: before[key] for key in sub if sub[key] != before[key]}
    if previous:
        store.touch()
        store.emit("customer.subscription.updated", sub, account, previous)
    return sub


def cancel_subscription(store: Store, account: str | None, subscription_id: str,
                        params: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, allowed(SubscriptionCancelParams))
    sub = store.get(subscription_id, account, "subscription").object
    if sub["status"] == "canceled":
        raise ApiError(400, f"Subscription {subscription_id} has already been canceled.")
    details = mapping(params, "cancellation_details")
    sub["cancellation_details"].update({key: details[key] or None for key in ("comment", "feedback")
                                        if key in details})
    _end(store, account, sub, reason="cancellation_requested")
    return sub


def fee_percent(raw: Any, account: str | None, param: str) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid decimal: {raw}", param=param) from None
    if not 0 <= value <= 100:
        raise ApiError(400, "application_fee_percent must be between 0 and 100.", param=param)
    if account is None:
        raise ApiError(400, "Can only apply an application_fee_percent when the request is made on behalf of "
                            "another account (using an OAuth key or the Stripe-Account header).", param=param)
    return value


def _period_end(sub: dict[str, Any]) -> int:
    return int(sub["items"]["data"][0]["current_period_end"])


def _end(store: Store, account: str | None, sub: dict[str, Any], *, reason: str) -> None:
    moment = now()
    sub.update(status="canceled", ended_at=moment, cancel_at_period_end=False, cancel_at=None,
               canceled_at=sub["canceled_at"] or moment)
    sub["cancellation_details"]["reason"] = reason
    store.touch()
    store.emit("customer.subscription.deleted", sub, account)


def _cycle(store: Store, account: str | None, sub: dict[str, Any], outcome: str) -> None:
    previous = {"items": snapshot(sub["items"]), "latest_invoice": sub["latest_invoice"]}
    old_start = sub["items"]["data"][0]["current_period_start"]
    old_end = _period_end(sub)
    for item in sub["items"]["data"]:
        recurring = item["price"]["recurring"]
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] = add_interval(item["current_period_end"], recurring["interval"],
                                                  recurring["interval_count"], sub["billing_cycle_anchor"])
    invoice = _new_invoice(store, account, sub, "subscription_cycle", old_start, old_end)
    sub["latest_invoice"] = invoice["id"]
    if _attempt(store, account, invoice, sub, outcome, method="card"):
        store.emit("invoice.paid", invoice, account)
        store.emit("invoice.payment_succeeded", invoice, account)
    else:
        previous["status"] = sub["status"]
        sub["status"] = "past_due"
        store.emit("invoice.payment_failed", invoice, account)
    store.emit("customer.subscription.updated", sub, account, previous)


def _retry(store: Store, account: str | None, sub: dict[str, Any], outcome: str) -> None:
    invoice = store.get(sub["latest_invoice"], account, "invoice").object
    if _attempt(store, account, invoice, sub, outcome, method="card"):
        sub["status"] = "active"
        store.emit("invoice.paid", invoice, account)
        store.emit("invoice.payment_succeeded", invoice, account)
        store.emit("customer.subscription.updated", sub, account, {"status": "past_due"})
        return
    if invoice["attempt_count"] >= FINAL_ATTEMPT:
        invoice["status"] = "uncollectible"
        invoice["status_transitions"]["marked_uncollectible_at"] = now()
        store.emit("invoice.payment_failed", invoice, account)
        _end(store, account, sub, reason="payment_failed")
        return
    store.emit("invoice.payment_failed", invoice, account)


def _new_invoice(store: Store, account: str | None, sub: dict[str, Any], billing_reason: str,
                 period_start: int, period_end: int) -> dict[str, Any]:
    customer = store.get(sub["customer"], account, "customer").object
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    invoice_id = new_id("in", 24)
    lines = [shapes.invoice_line(invoice_id=invoice_id, item=item, subscription_id=sub["id"],
                                 product_name=_product_name(store, account, item["price"]["product"]))
             for item in sub["items"]["data"]]
    invoice = shapes.invoice(invoice_id=invoice_id, number=number, customer_obj=customer, sub=sub, lines=lines,
                             billing_reason=billing_reason, period_start=period_start, period_end=period_end)
    store.add(invoice, account)
    return invoice


def _product_name(store: Store, account: str | None, product_id: str) -> str:
    record: Record | None = store.records.get(product_id)
    return record.object["name"] if record is not None and record.account == account else product_id


def _attempt(store: Store, account: str | None, invoice: dict[str, Any], sub: dict[str, Any], outcome: str, *,
             method: str, intent: dict[str, Any] | None = None) -> bool:
    """One collection attempt on an invoice; answers whether it was paid."""
    if invoice["amount_due"] == 0:
        # Nothing to collect (a free price): Stripe marks such an invoice paid without any payment.
        invoice.update(status="paid", next_payment_attempt=None)
        invoice["status_transitions"]["paid_at"] = now()
        store.touch()
        return True
    entries = invoice["payments"]["data"]
    if entries:
        intent = store.get(entries[0]["payment"]["payment_intent"], account, "payment_intent").object
    else:
        percent = sub["application_fee_percent"]
        fee = round(invoice["amount_due"] * percent / 100) if percent else None
        description = "Subscription creation" if invoice["billing_reason"] == "subscription_create" \
            else "Subscription update"
        if intent is None:
            intent = payments.new_intent(store, account, amount=invoice["amount_due"], currency=invoice["currency"],
                                         customer_id=sub["customer"], metadata={}, application_fee_amount=fee,
                                         description=description, method_types=["card"])
        else:
            intent.update(customer=sub["customer"], amount=invoice["amount_due"], application_fee_amount=fee,
                          description=description)
        entries.append(shapes.invoice_payment(invoice_obj=invoice, intent_id=intent["id"]))
    invoice["attempted"] = True
    invoice["attempt_count"] += 1
    moment = now()
    if outcome == "paid":
        payments.succeed(store, account, intent, method)
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0,
                       next_payment_attempt=None)
        invoice["status_transitions"]["paid_at"] = moment
        entries[0].update(status="paid", amount_paid=invoice["amount_due"])
        entries[0]["status_transitions"]["paid_at"] = moment
        store.touch()
        return True
    payments.decline(store, intent, method)
    attempt = invoice["attempt_count"]
    invoice["next_payment_attempt"] = moment + RETRY_DAYS[attempt - 1] * 86400 if attempt < FINAL_ATTEMPT else None
    store.touch()
    return False
