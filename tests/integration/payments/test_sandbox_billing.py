"""The sandbox's subscriptions (creation at checkout, renewal, dunning, cancellation) and refunds,
through the official library."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import stripe

from careclub.payments.sandbox import Sandbox, SandboxEvent
from tests.integration.payments.test_sandbox import (
    SITE,
    drain,
    make_client,
    make_sandbox,
    parsed,
    payment_session,
    press,
    types,
)


@pytest.fixture
def sandbox() -> Sandbox:
    return make_sandbox()


@pytest.fixture
def sdk(sandbox: Sandbox) -> stripe.StripeClient:
    return make_client(sandbox)


async def subscribe(sandbox: Sandbox, sdk: stripe.StripeClient, account: str, **extra: Any
                    ) -> tuple[stripe.checkout.Session, list[SandboxEvent]]:
    product = await sdk.v1.products.create_async(params={"name": "Car club membership"},
                                                 options={"stripe_account": account})
    price = await sdk.v1.prices.create_async(params={
        "product": product.id, "currency": "cny", "unit_amount": 36500,
        "recurring": {"interval": "month"}}, options={"stripe_account": account})
    assert price.type == "recurring" and price.recurring and price.recurring.interval == "month"
    params: dict[str, Any] = {
        "mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}],
        "customer_email": "member@example.com", "client_reference_id": "membership-1",
        "subscription_data": {"metadata": {"membership_id": "m1"}, "application_fee_percent": 10},
        "success_url": f"{SITE}/join/done?session_id={{CHECKOUT_SESSION_ID}}",
    }
    params.update(extra)
    session = await sdk.v1.checkout.sessions.create_async(params=params,  # type: ignore[arg-type]
                                                         options={"stripe_account": account})
    assert (await press(sandbox, session.url or "", "paid")).status_code == 303
    return session, await drain(sandbox)


@pytest.fixture
async def account(sdk: stripe.StripeClient) -> str:
    return str((await sdk.v1.accounts.create_async(params={"type": "express", "country": "CN"})).id)


async def test_subscription_created_renewed_and_ended_by_four_failures(sandbox: Sandbox, sdk: stripe.StripeClient,
                                                                      account: str) -> None:
    session, events = await subscribe(sandbox, sdk, account)
    assert types(events) == ["customer.subscription.created", "invoice.paid", "invoice.payment_succeeded",
                             "checkout.session.completed"]
    assert {event.account for event in events} == {account}
    sub, invoice, _, completed = (parsed(event).data.object for event in events)
    assert isinstance(sub, stripe.Subscription) and isinstance(invoice, stripe.Invoice)
    assert sub.status == "active" and sub.metadata["membership_id"] == "m1"
    assert sub.application_fee_percent == 10 and sub.latest_invoice == invoice.id
    item = sub["items"].data[0]
    assert isinstance(item, stripe.SubscriptionItem) and item.price.unit_amount == 36500
    assert 28 * 86400 <= item.current_period_end - item.current_period_start <= 31 * 86400
    assert (invoice.status, invoice.billing_reason, invoice.amount_paid) == ("paid", "subscription_create", 36500)
    assert invoice.parent and invoice.parent.subscription_details
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata["membership_id"] == "m1"
    assert invoice.lines.data[0].pricing.price_details.price == item.price.id
    assert invoice.payments and invoice.payments.data[0].status == "paid"
    intent_id = invoice.payments.data[0].payment.payment_intent
    intent = await sdk.v1.payment_intents.retrieve_async(str(intent_id), options={"stripe_account": account})
    assert intent.status == "succeeded" and intent.application_fee_amount == 3650 and intent.latest_charge
    assert completed.subscription == sub.id and completed.invoice == invoice.id and completed.payment_status == "paid"
    assert completed.payment_intent is None and completed.customer == sub.customer
    customer = await sdk.v1.customers.retrieve_async(str(sub.customer), options={"stripe_account": account})
    assert customer.email == "member@example.com"
    expanded = await sdk.v1.checkout.sessions.retrieve_async(
        session.id, params={"expand": ["subscription", "invoice", "line_items"]}, options={"stripe_account": account})
    assert isinstance(expanded.subscription, stripe.Subscription) and expanded.subscription.id == sub.id
    assert isinstance(expanded.invoice, stripe.Invoice) and expanded.invoice.id == invoice.id
    assert expanded.line_items and expanded.line_items.data[0].description == "Car club membership"

    renewed = await sandbox.renew_subscription(sub.id)
    events = await drain(sandbox)
    assert types(events) == ["invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"]
    cycle, _, updated = (parsed(event) for event in events)
    assert cycle.data.object.billing_reason == "subscription_cycle" and cycle.data.object.status == "paid"
    new_item = updated.data.object["items"].data[0]
    assert new_item.current_period_start == item.current_period_end
    assert updated.data.previous_attributes["latest_invoice"] == invoice.id
    assert renewed["latest_invoice"] == cycle.data.object.id

    await sandbox.renew_subscription(sub.id, outcome="failed")
    events = await drain(sandbox)
    assert types(events) == ["invoice.payment_failed", "customer.subscription.updated"]
    failed = parsed(events[0]).data.object
    assert (failed.status, failed.attempt_count, failed.amount_paid) == ("open", 1, 0)
    assert failed.next_payment_attempt and failed.next_payment_attempt > failed.created
    assert parsed(events[1]).data.object.status == "past_due"
    assert parsed(events[1]).data.previous_attributes["status"] == "active"

    for attempt in (2, 3):
        await sandbox.renew_subscription(sub.id, outcome="failed")
        [event] = await drain(sandbox)
        assert event.type == "invoice.payment_failed" and parsed(event).data.object.attempt_count == attempt
    await sandbox.renew_subscription(sub.id, outcome="failed")
    events = await drain(sandbox)
    assert types(events) == ["invoice.payment_failed", "customer.subscription.deleted"]
    last = parsed(events[0]).data.object
    assert (last.attempt_count, last.status, last.next_payment_attempt) == (4, "uncollectible", None)
    ended = parsed(events[1]).data.object
    assert ended.status == "canceled" and ended.cancellation_details.reason == "payment_failed"
    assert ended.ended_at

    invoices = await sdk.v1.invoices.list_async(params={"subscription": sub.id}, options={"stripe_account": account})
    assert [i.status for i in invoices.data] == ["uncollectible", "paid", "paid"]
    with pytest.raises(ValueError, match="canceled"):
        await sandbox.renew_subscription(sub.id)
    with pytest.raises(LookupError):
        await sandbox.renew_subscription("sub_missing")
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.subscriptions.retrieve_async(sub.id)  # the platform does not see the account's objects


async def test_a_past_due_subscription_recovers_when_a_retry_pays(sandbox: Sandbox, sdk: stripe.StripeClient,
                                                                  account: str) -> None:
    _, events = await subscribe(sandbox, sdk, account)
    sub_id = parsed(events[0]).data.object.id
    await sandbox.renew_subscription(sub_id, outcome="failed")
    await drain(sandbox)
    await sandbox.renew_subscription(sub_id, outcome="paid")
    events = await drain(sandbox)
    assert types(events) == ["invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"]
    invoice = parsed(events[0]).data.object
    assert (invoice.status, invoice.attempt_count, invoice.amount_remaining) == ("paid", 2, 0)
    sub = await sdk.v1.subscriptions.retrieve_async(sub_id, options={"stripe_account": account})
    assert sub.status == "active"


async def test_cancel_at_period_end_and_cancel_now(sandbox: Sandbox, sdk: stripe.StripeClient, account: str) -> None:
    tenant = make_client(sandbox, account=account)
    _, events = await subscribe(sandbox, sdk, account)
    sub = parsed(events[0]).data.object
    scheduled = await tenant.v1.subscriptions.update_async(sub.id, params={
        "cancel_at_period_end": True, "metadata": {"note": "leaving"}})
    assert scheduled.cancel_at_period_end and scheduled.cancel_at == sub["items"].data[0].current_period_end
    [event] = await drain(sandbox)
    assert event.type == "customer.subscription.updated"
    assert parsed(event).data.previous_attributes["cancel_at_period_end"] is False

    await sandbox.renew_subscription(sub.id)
    [event] = await drain(sandbox)
    assert event.type == "customer.subscription.deleted" and parsed(event).data.object.status == "canceled"
    assert len((await tenant.v1.invoices.list_async(params={"subscription": sub.id})).data) == 1

    _, events = await subscribe(sandbox, sdk, account)
    other = parsed(events[0]).data.object
    canceled = await tenant.v1.subscriptions.cancel_async(other.id)
    assert canceled.status == "canceled" and canceled.canceled_at
    [event] = await drain(sandbox)
    assert event.type == "customer.subscription.deleted"
    with pytest.raises(stripe.InvalidRequestError):
        await tenant.v1.subscriptions.cancel_async(other.id)
    with pytest.raises(stripe.InvalidRequestError, match="canceled subscription"):
        await tenant.v1.subscriptions.update_async(other.id, params={"cancel_at_period_end": True})
    assert (await tenant.v1.subscriptions.list_async()).data == []
    everything = await tenant.v1.subscriptions.list_async(params={"status": "all", "customer": str(other.customer)})
    assert [s.id for s in everything.data] == [other.id]
    with pytest.raises(stripe.InvalidRequestError, match="does not implement"):
        await tenant.v1.subscriptions.update_async(sub.id, params={"items": [{"price": "price_x"}]})


async def test_renewal_trigger_over_http(sandbox: Sandbox, sdk: stripe.StripeClient, account: str) -> None:
    _, events = await subscribe(sandbox, sdk, account, line_items=[{"quantity": 2, "price_data": {
        "currency": "cny", "unit_amount": 1000, "product_data": {"name": "Yearly"},
        "recurring": {"interval": "year"}}}])
    sub = parsed(events[0]).data.object
    assert sub["items"].data[0].quantity == 2 and parsed(events[1]).data.object.amount_paid == 2000
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app), base_url=SITE) as web:
        failed = await web.post(f"/_sandbox/subscriptions/{sub.id}/renew", data={"outcome": "failed"})
        bad = await web.post(f"/_sandbox/subscriptions/{sub.id}/renew", data={"outcome": "maybe"})
        unknown = await web.post("/_sandbox/subscriptions/sub_nope/renew", data={"outcome": "paid"})
    assert failed.status_code == 200 and failed.json()["status"] == "past_due"
    assert bad.status_code == 400 and unknown.status_code == 404
    assert types(sandbox.outbox()) == ["invoice.payment_failed", "customer.subscription.updated"]


async def test_partial_and_full_refunds(sandbox: Sandbox, sdk: stripe.StripeClient, account: str) -> None:
    tenant = make_client(sandbox, account=account)
    session = await payment_session(tenant)
    await press(sandbox, session.url or "", "paid")
    await drain(sandbox)
    intent_id = str((await tenant.v1.checkout.sessions.retrieve_async(session.id)).payment_intent)

    partial = await tenant.v1.refunds.create_async(params={
        "payment_intent": intent_id, "amount": 10000, "reason": "requested_by_customer", "metadata": {"r": "1"}})
    assert (partial.status, partial.amount, partial.payment_intent) == ("succeeded", 10000, intent_id)
    events = await drain(sandbox)
    assert types(events) == ["refund.created", "charge.refunded"]
    charge_event = parsed(events[1])
    charge = charge_event.data.object
    assert (charge.amount_refunded, charge.refunded) == (10000, False)
    assert charge_event.data.previous_attributes["amount_refunded"] == 0
    assert charge.refunds and [r.id for r in charge.refunds.data] == [partial.id]

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        await tenant.v1.refunds.create_async(params={"charge": charge.id, "amount": 26501})
    assert too_much.value.param == "amount" and "greater than" in (too_much.value.user_message or "")

    rest = await tenant.v1.refunds.create_async(params={"charge": charge.id})
    assert rest.amount == 26500
    events = await drain(sandbox)
    full = parsed(events[1]).data.object
    assert (full.amount_refunded, full.refunded) == (36500, True)
    with pytest.raises(stripe.InvalidRequestError) as again:
        await tenant.v1.refunds.create_async(params={"payment_intent": intent_id, "amount": 1})
    assert again.value.code == "charge_already_refunded"

    listed = await tenant.v1.refunds.list_async(params={"payment_intent": intent_id})
    assert [r.id for r in listed.data] == [rest.id, partial.id]
    assert (await tenant.v1.refunds.retrieve_async(partial.id)).metadata["r"] == "1"
    assert (await tenant.v1.charges.retrieve_async(charge.id)).refunded
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.refunds.create_async(params={"payment_intent": intent_id})  # not the platform's payment
    assert all(json.loads(event.payload)["account"] == account for event in events)


async def test_a_free_subscription_asks_for_no_payment(sandbox: Sandbox, sdk: stripe.StripeClient,
                                                      account: str) -> None:
    free = {"currency": "cny", "unit_amount": 0, "product_data": {"name": "Free tier"},
            "recurring": {"interval": "year"}}
    _, events = await subscribe(sandbox, sdk, account, line_items=[{"quantity": 1, "price_data": free}],
                                subscription_data={"metadata": {"membership_id": "free"}})
    assert types(events) == ["customer.subscription.created", "invoice.paid", "invoice.payment_succeeded",
                             "checkout.session.completed"]
    invoice, completed = parsed(events[1]).data.object, parsed(events[3]).data.object
    assert completed.payment_status == "no_payment_required" and invoice.status == "paid"
    assert invoice.payments is not None and invoice.payments.data == []
    assert (await make_client(sandbox, account=account).v1.payment_intents.list_async()).data == []
    await sandbox.renew_subscription(parsed(events[0]).data.object.id, outcome="failed")
    assert types(await drain(sandbox)) == ["invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"]
