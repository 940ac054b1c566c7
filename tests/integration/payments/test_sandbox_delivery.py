"""The sandbox's background webhook delivery: signed posts to the webhook URL, retries with backoff, order
per object, giving up, and a task that does not inherit its starter's context."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable

import httpx
import pytest
import stripe

from careclub.payments.sandbox import Sandbox
from tests.integration.payments.test_sandbox import (
    PLATFORM_SECRET,
    make_client,
    make_sandbox,
    payment_session,
    press,
)

WEBHOOK = "http://app.local/webhooks/stripe"
request_context: contextvars.ContextVar[str] = contextvars.ContextVar("request_context")


def receiving(sandbox: Sandbox, handler: Callable[[httpx.Request], httpx.Response]) -> None:
    delivery = sandbox._delivery
    delivery.client_factory = lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler))
    delivery.base_delay = 0.01
    delivery.max_delay = 0.05


async def settled(sandbox: Sandbox) -> None:
    """Waits (up to 5 s) until the loop has delivered or given up every event."""
    async with asyncio.timeout(5):
        while sandbox.outbox():  # noqa: ASYNC110 - the loop's progress has no event of its own to wait on
            await asyncio.sleep(0.01)


async def test_events_are_posted_signed_in_order_and_retried() -> None:
    sandbox = make_sandbox(webhook_url=WEBHOOK)
    sdk = make_client(sandbox)
    seen: list[tuple[str, str | None]] = []
    failures = {"left": 2}

    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == WEBHOOK and request.method == "POST"
        event = stripe.Webhook.construct_event(request.content, request.headers["Stripe-Signature"], PLATFORM_SECRET)
        seen.append((event.type, request_context.get(None)))
        if event.type == "charge.succeeded" and failures["left"]:
            failures["left"] -= 1
            if failures["left"]:
                raise httpx.ConnectError("the app is restarting")
            return httpx.Response(503)
        return httpx.Response(200)

    receiving(sandbox, handler)
    request_context.set("a request of the starter")
    sandbox.start_delivery()
    sandbox.start_delivery()  # a second start changes nothing
    try:
        session = await payment_session(sdk)
        await press(sandbox, session.url or "", "paid")
        await settled(sandbox)
        refund_target = str((await sdk.v1.checkout.sessions.retrieve_async(session.id)).payment_intent)
        await sdk.v1.refunds.create_async(params={"payment_intent": refund_target, "amount": 100})
        await settled(sandbox)
    finally:
        await sandbox.stop()
    assert [kind for kind, _ in seen] == [
        "payment_intent.succeeded", "charge.succeeded", "checkout.session.completed", "charge.succeeded",
        "charge.succeeded", "refund.created", "charge.refunded"]
    assert {context for _, context in seen} == {None}


async def test_an_event_that_keeps_failing_is_given_up_and_later_ones_for_its_object_wait() -> None:
    sandbox = make_sandbox(webhook_url=WEBHOOK)
    sdk = make_client(sandbox)
    posted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        event = stripe.Webhook.construct_event(request.content, request.headers["Stripe-Signature"], PLATFORM_SECRET)
        posted.append(event.id)
        return httpx.Response(500)

    receiving(sandbox, handler)
    sandbox._delivery.give_up_after = 0.2
    sandbox.start_delivery()
    try:
        session = await payment_session(sdk)
        await press(sandbox, session.url or "", "declined")
        await press(sandbox, session.url or "", "declined")
        await settled(sandbox)
    finally:
        await sandbox.stop()
    listed = await sdk.v1.events.list_async(params={"type": "payment_intent.payment_failed"})
    second, first = (event.id for event in listed.data)  # still there for reconciliation
    # Both are about the same payment intent: the second waits until the first is settled (given up).
    assert posted.count(first) > 1 and posted.count(second) > 1
    assert posted == [first] * posted.count(first) + [second] * posted.count(second)
    assert sandbox.outbox() == []


async def test_without_a_webhook_url_nothing_is_posted() -> None:
    sandbox = make_sandbox()
    sandbox.start_delivery()
    session = await payment_session(make_client(sandbox))
    await press(sandbox, session.url or "", "paid")
    await asyncio.sleep(0.05)
    assert len(sandbox.outbox()) == 3
    await sandbox.stop()


@pytest.mark.parametrize("status", [200, 204, 299])
async def test_any_2xx_counts_as_delivered(status: int) -> None:
    sandbox = make_sandbox()
    await make_client(sandbox).v1.checkout.sessions.create_async(params={
        "mode": "payment", "line_items": [{"quantity": 1, "price_data": {
            "currency": "usd", "unit_amount": 50, "product_data": {"name": "x"}}}]})
    session = (await make_client(sandbox).v1.checkout.sessions.list_async()).data[0]
    await press(sandbox, session.url or "", "declined")
    [event] = sandbox.outbox()

    async def post(body: bytes, headers: dict[str, str]) -> int:
        return status

    assert await sandbox.deliver(event, post) == status
    assert sandbox.outbox() == []
