"""The Stripe sandbox driven through the official library, as the app drives Stripe: Checkout on the
hosted page, events and their signatures, Connect scoping, idempotency, onboarding, persistence."""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import httpx
import pytest
import stripe

from careclub.payments.sandbox import SANDBOX_API_VERSION, Sandbox, SandboxEvent
from careclub.payments.sandbox.transport import asgi_http_client

PLATFORM_SECRET = "whsec_sandbox_platform_test"
CONNECT_SECRET = "whsec_sandbox_connect_test"
SITE = "http://127.0.0.1:8000"
PUBLIC = f"{SITE}/_sandbox/stripe"


# ---- helpers (the other sandbox test modules use them too) -----------------------------------------

def make_sandbox(state_file: pathlib.Path | None = None, webhook_url: str | None = None) -> Sandbox:
    return Sandbox(platform_secret=PLATFORM_SECRET, connect_secret=CONNECT_SECRET, public_base=PUBLIC,
                   webhook_url=webhook_url, state_file=state_file)


def make_client(sandbox: Sandbox, key: str = "sk_test_sandbox", account: str | None = None) -> stripe.StripeClient:
    return stripe.StripeClient(key, stripe_version=SANDBOX_API_VERSION, stripe_account=account,
                               base_addresses={"api": "http://sandbox.local"},
                               http_client=asgi_http_client(sandbox.asgi_app))


def browser(sandbox: Sandbox) -> httpx.AsyncClient:
    """A payer's browser; it reaches the sandbox's pages at their public addresses."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app), base_url=SITE)


def page_path(url: str) -> str:
    assert url.startswith(PUBLIC), url
    return url.removeprefix(PUBLIC)


async def press(sandbox: Sandbox, url: str, outcome: str) -> httpx.Response:
    async with browser(sandbox) as web:
        return await web.post(page_path(url), data={"outcome": outcome})


def one_time(amount: int = 36500, name: str = "Annual fee", currency: str = "cny") -> dict[str, Any]:
    return {"quantity": 1, "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": name}}}


def parsed(event: SandboxEvent) -> stripe.Event:
    return stripe.Event.construct_from(json.loads(event.payload), "sk_test")


def types(events: list[SandboxEvent]) -> list[str]:
    return [event.type for event in events]


async def drain(sandbox: Sandbox) -> list[SandboxEvent]:
    """Delivers every waiting event to a receiver that verifies it as the app does; answers them."""
    delivered = list(sandbox.outbox())
    for event in delivered:
        async def post(body: bytes, headers: dict[str, str], event: SandboxEvent = event) -> int:
            secret = CONNECT_SECRET if event.account else PLATFORM_SECRET
            stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret)
            return 200
        assert await sandbox.deliver(event, post) == 200
    assert sandbox.outbox() == []
    return delivered


async def payment_session(client: stripe.StripeClient, account: str | None = None, **extra: Any
                          ) -> stripe.checkout.Session:
    params: dict[str, Any] = {
        "mode": "payment", "line_items": [one_time()], "client_reference_id": "payment-1",
        "metadata": {"tenant": "t1"}, "payment_intent_data": {"metadata": {"payment_id": "p1"}},
        "success_url": f"{SITE}/pay/return?session_id={{CHECKOUT_SESSION_ID}}", "cancel_url": f"{SITE}/pay/cancel",
    }
    params.update(extra)
    options: dict[str, Any] = {"stripe_account": account} if account else {}
    return await client.v1.checkout.sessions.create_async(params=params, options=options)  # type: ignore[arg-type]


@pytest.fixture
def sandbox() -> Sandbox:
    return make_sandbox()


@pytest.fixture
def sdk(sandbox: Sandbox) -> stripe.StripeClient:
    return make_client(sandbox)


# ---- Checkout in payment mode ---------------------------------------------------------------------

async def test_paid_checkout_makes_intent_charge_and_signed_events(sandbox: Sandbox, sdk: stripe.StripeClient) -> None:
    session = await payment_session(sdk)
    assert session.id.startswith("cs_test_")
    assert session.url == f"{PUBLIC}/checkout/{session.id}"
    assert (session.status, session.payment_status, session.amount_total, session.currency) == (
        "open", "unpaid", 36500, "cny")
    assert session.payment_intent is None and session.livemode is False
    assert session.metadata.to_dict() == {"tenant": "t1"} and session.client_reference_id == "payment-1"

    async with browser(sandbox) as web:
        page = await web.get(page_path(session.url or ""))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "CNY 365.00" in page.text and "Annual fee" in page.text and "platform" in page.text
    assert 'name="outcome" value="paid"' in page.text and 'name="outcome" value="declined"' in page.text
    assert 'name="viewport"' in page.text
    assert "<script" not in page.text and "style=" not in page.text and "<style" not in page.text
    policy = page.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy and "style-src 'self'" in policy
    async with browser(sandbox) as web:
        css = await web.get("/_sandbox/stripe/assets/sandbox.css".removeprefix("/_sandbox/stripe"))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")

    answer = await press(sandbox, session.url or "", "paid")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{SITE}/pay/return?session_id={session.id}"

    events = sandbox.outbox()
    assert types(events) == ["payment_intent.succeeded", "charge.succeeded", "checkout.session.completed"]
    assert all(event.account is None for event in events)
    intent, charge, completed = (parsed(event).data.object for event in events)
    assert isinstance(intent, stripe.PaymentIntent) and isinstance(charge, stripe.Charge)
    assert isinstance(completed, stripe.checkout.Session)
    assert intent.status == "succeeded" and intent.amount_received == 36500
    assert intent.metadata["payment_id"] == "p1" and intent.latest_charge == charge.id
    assert charge.paid and charge.payment_intent == intent.id and charge.amount_refunded == 0 and not charge.refunded
    assert completed.payment_intent == intent.id and completed.payment_status == "paid"
    assert completed.status == "complete" and completed.metadata["tenant"] == "t1"
    for event in events:
        raw = json.loads(event.payload)
        assert raw["api_version"] == SANDBOX_API_VERSION and raw["livemode"] is False
        assert raw["pending_webhooks"] == 1 and raw["request"] == {"id": None, "idempotency_key": None}
        assert "account" not in raw and raw["id"].startswith("evt_") and raw["data"]["object"]["created"] > 0

    received: list[stripe.Event] = []

    async def receiver(body: bytes, headers: dict[str, str]) -> int:
        assert headers["Content-Type"] == "application/json"
        received.append(stripe.Webhook.construct_event(body, headers["Stripe-Signature"], PLATFORM_SECRET))
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, headers["Stripe-Signature"], CONNECT_SECRET)
        return 200

    for event in events:
        assert await sandbox.deliver(event, receiver) == 200
    assert [event.type for event in received] == types(events) and sandbox.outbox() == []

    again = await sdk.v1.checkout.sessions.retrieve_async(session.id, params={"expand": ["payment_intent"]})
    assert isinstance(again.payment_intent, stripe.PaymentIntent) and again.payment_intent.id == intent.id
    charges = await sdk.v1.charges.list_async(params={"payment_intent": intent.id})
    assert [c.id for c in charges.data] == [charge.id]
    assert (await sdk.v1.payment_intents.retrieve_async(intent.id)).status == "succeeded"

    closed = await press(sandbox, session.url or "", "paid")
    assert closed.status_code == 409 and sandbox.outbox() == []


async def test_declined_keeps_the_session_open_and_the_payer_may_retry(sandbox: Sandbox,
                                                                     sdk: stripe.StripeClient) -> None:
    session = await payment_session(sdk)
    answer = await press(sandbox, session.url or "", "declined")
    assert answer.status_code == 200 and "declined" in answer.text
    assert 'value="paid"' in answer.text
    [failed] = sandbox.outbox()
    intent = parsed(failed).data.object
    assert failed.type == "payment_intent.payment_failed"
    assert intent.status == "requires_payment_method" and intent.last_payment_error.code == "card_declined"
    still = await sdk.v1.checkout.sessions.retrieve_async(session.id)
    assert (still.status, still.payment_status, still.payment_intent) == ("open", "unpaid", intent.id)

    assert (await press(sandbox, session.url or "", "paid")).status_code == 303
    assert types(sandbox.outbox())[1:] == ["payment_intent.succeeded", "charge.succeeded",
                                           "checkout.session.completed"]
    done = await sdk.v1.checkout.sessions.retrieve_async(session.id)
    assert done.payment_intent == intent.id and done.payment_status == "paid"


@pytest.mark.parametrize(("outcome", "expected", "payment_status"), [
    ("async_paid", ["checkout.session.completed", "payment_intent.succeeded", "charge.succeeded",
                    "checkout.session.async_payment_succeeded"], "paid"),
    ("async_failed", ["checkout.session.completed", "payment_intent.payment_failed",
                      "checkout.session.async_payment_failed"], "unpaid"),
])
async def test_delayed_methods_complete_first_and_settle_later(sandbox: Sandbox, sdk: stripe.StripeClient,
                                                               outcome: str, expected: list[str],
                                                               payment_status: str) -> None:
    session = await payment_session(sdk, allowed_payment_method_types=["card", "wechat_pay", "alipay"],
                                     payment_method_options={"wechat_pay": {"client": "web"}}, locale="zh")
    assert session.payment_method_types == ["card", "wechat_pay", "alipay"]
    async with browser(sandbox) as web:
        page = await web.get(page_path(session.url or ""))
    assert 'value="async_paid"' in page.text and 'value="async_failed"' in page.text and "支付" in page.text

    assert (await press(sandbox, session.url or "", outcome)).status_code == 303
    events = sandbox.outbox()
    assert types(events) == expected
    completed = parsed(events[0]).data.object
    assert completed.status == "complete" and completed.payment_status == "unpaid"
    last = parsed(events[-1]).data.object
    assert last.payment_status == payment_status
    final = await sdk.v1.checkout.sessions.retrieve_async(session.id, params={"expand": ["payment_intent"]})
    assert final.payment_status == payment_status
    assert final.payment_intent.payment_method_types == ["wechat_pay"]


async def test_checkout_refuses_what_stripe_refuses(sandbox: Sandbox, sdk: stripe.StripeClient) -> None:
    async def refused(param: str | None, **params: Any) -> stripe.InvalidRequestError:
        with pytest.raises(stripe.InvalidRequestError) as caught:
            await payment_session(sdk, **params)
        assert caught.value.http_status == 400 and caught.value.param == param, caught.value.user_message
        return caught.value

    error = await refused("payment_method_types", payment_method_types=["card"])
    assert "allowed_payment_method_types" in (error.user_message or "")
    await refused("line_item", line_item=[one_time()])
    await refused("allowed_payment_method_types[1]", mode="subscription",
                  allowed_payment_method_types=["card", "wechat_pay"], payment_intent_data=None,
                  line_items=[{"quantity": 1, "price_data": {"currency": "cny", "unit_amount": 100,
                               "product_data": {"name": "Plan"}, "recurring": {"interval": "month"}}}])
    await refused("payment_method_options[wechat_pay][client]", allowed_payment_method_types=["wechat_pay"])
    await refused("line_items", line_items=[{"quantity": 1, "price_data": {
        "currency": "cny", "unit_amount": 100, "product_data": {"name": "Plan"}, "recurring": {"interval": "year"}}}])
    await refused("customer_email", customer="cus_x", customer_email="a@example.com")
    await refused("payment_intent_data[application_fee_amount]",
                  payment_intent_data={"application_fee_amount": 100})
    await refused("line_items[0][quantity]", line_items=[{"price_data": one_time()["price_data"]}])
    await refused("expires_at", expires_at=int(time.time()) + 60)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await payment_session(sdk, customer="cus_missing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    assert missing.value.param == "customer"
    assert [event.type for event in sandbox.outbox()] == []


async def test_sessions_list_filter_and_expire(sandbox: Sandbox, sdk: stripe.StripeClient) -> None:
    started = int(time.time())
    first, second, third = [await payment_session(sdk) for _ in range(3)]
    page = await sdk.v1.checkout.sessions.list_async(params={"limit": 2, "created": {"gte": started}})
    assert [s.id for s in page.data] == [third.id, second.id] and page.has_more
    rest = await sdk.v1.checkout.sessions.list_async(params={"limit": 2, "starting_after": second.id})
    assert [s.id for s in rest.data] == [first.id] and not rest.has_more
    assert (await sdk.v1.checkout.sessions.list_async(params={"created": {"gte": started + 3600}})).data == []
    with pytest.raises(stripe.InvalidRequestError, match="does not implement"):
        await sdk.v1.checkout.sessions.list_async(params={"customer_details": {"email": "a@example.com"}})

    await press(sandbox, second.url or "", "paid")
    paid = await sdk.v1.checkout.sessions.retrieve_async(second.id)
    by_intent = await sdk.v1.checkout.sessions.list_async(params={"payment_intent": str(paid.payment_intent)})
    assert [s.id for s in by_intent.data] == [second.id]

    expired = await sdk.v1.checkout.sessions.expire_async(first.id)
    assert expired.status == "expired" and expired.url is None
    assert sandbox.outbox()[-1].type == "checkout.session.expired"
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.checkout.sessions.expire_async(first.id)
    before = len(sandbox.outbox())
    answer = await press(sandbox, first.url or "", "paid")
    assert answer.status_code == 409 and "expired" in answer.text and len(sandbox.outbox()) == before

    items = await sdk.v1.checkout.sessions.line_items.list_async(third.id)
    assert [(i.description, i.amount_total, i.quantity) for i in items.data] == [("Annual fee", 36500, 1)]
    assert items.data[0].price.unit_amount_decimal == 36500


# ---- the API's own rules --------------------------------------------------------------------------

async def test_keys_versions_and_unknown_urls(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app), base_url=SITE) as raw:
        anonymous = await raw.get("/v1/customers")
        unknown = await raw.get("/v1/nothing", headers={"Authorization": "Bearer sk_test_x"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "invalid_request_error"
    assert unknown.status_code == 404 and "Unrecognized request URL" in unknown.json()["error"]["message"]
    with pytest.raises(stripe.AuthenticationError):
        await make_client(sandbox, key="sk_live_real").v1.customers.create_async()
    wrong_version = stripe.StripeClient("sk_test_x", stripe_version="2024-06-20", http_client=asgi_http_client(
        sandbox.asgi_app), base_addresses={"api": "http://sandbox.local"})
    with pytest.raises(stripe.InvalidRequestError, match=r"2026-10-28\.endive"):
        await wrong_version.v1.customers.create_async()
    with pytest.raises(stripe.PermissionError):
        await make_client(sandbox, account="acct_nobody").v1.customers.create_async()


async def test_objects_of_a_connected_account_are_invisible_elsewhere(sandbox: Sandbox,
                                                                      sdk: stripe.StripeClient) -> None:
    first = await sdk.v1.accounts.create_async(params={"type": "express", "country": "CN"})
    second = await sdk.v1.accounts.create_async(params={"type": "express", "country": "CN"})
    tenant, other = make_client(sandbox, account=first.id), make_client(sandbox, account=second.id)
    customer = await tenant.v1.customers.create_async(params={"email": "m@example.com", "metadata": {"m": "1"}})
    session = await payment_session(tenant, payment_intent_data={"application_fee_amount": 1000,
                                                                 "metadata": {"payment_id": "p9"}})
    for outsider in (sdk, other):
        for lookup in (outsider.v1.customers.retrieve_async(customer.id),
                       outsider.v1.checkout.sessions.retrieve_async(session.id)):
            with pytest.raises(stripe.InvalidRequestError) as caught:
                await lookup
            assert caught.value.http_status == 404 and caught.value.code == "resource_missing"
        assert (await outsider.v1.checkout.sessions.list_async()).data == []
    assert (await sdk.v1.checkout.sessions.retrieve_async(session.id, options={"stripe_account": first.id})).id

    await press(sandbox, session.url or "", "paid")
    events = sandbox.outbox()
    assert {event.account for event in events} == {first.id}
    assert all(json.loads(event.payload)["account"] == first.id for event in events)
    intent = parsed(events[0]).data.object
    assert intent.application_fee_amount == 1000 and intent.metadata["payment_id"] == "p9"

    async def platform_only(body: bytes, headers: dict[str, str]) -> int:
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], PLATFORM_SECRET)
        return 200

    with pytest.raises(stripe.SignatureVerificationError):
        await sandbox.deliver(events[0], platform_only)
    assert len(sandbox.outbox()) == len(events)
    await drain(sandbox)

    listed = await tenant.v1.events.list_async(params={"type": "checkout.session.*"})
    assert [e.type for e in listed.data] == ["checkout.session.completed"]
    assert (await sdk.v1.events.list_async(params={"type": "checkout.session.completed"})).data == []
    fetched = await tenant.v1.events.retrieve_async(events[0].id)
    assert fetched.account == first.id and fetched.pending_webhooks == 0
    with pytest.raises(stripe.InvalidRequestError):
        await other.v1.events.retrieve_async(events[0].id)


async def test_idempotency_keys_answer_the_first_response_again(sandbox: Sandbox, sdk: stripe.StripeClient) -> None:
    account = await sdk.v1.accounts.create_async(params={"type": "express", "country": "CN"})
    params: dict[str, Any] = {"mode": "payment", "line_items": [one_time()]}
    once = await sdk.v1.checkout.sessions.create_async(params=params, options={  # type: ignore[arg-type]
        "stripe_account": account.id, "idempotency_key": "checkout-1"})
    twice = await sdk.v1.checkout.sessions.create_async(params=params, options={  # type: ignore[arg-type]
        "stripe_account": account.id, "idempotency_key": "checkout-1"})
    assert once.id == twice.id
    assert twice.last_response.headers.get("Idempotent-Replayed") == "true"
    listed = await sdk.v1.checkout.sessions.list_async(options={"stripe_account": account.id})
    assert [s.id for s in listed.data] == [once.id]
    with pytest.raises(stripe.IdempotencyError):
        await sdk.v1.checkout.sessions.create_async(params={**params, "client_reference_id": "other"},  # type: ignore[arg-type]
                                                    options={"stripe_account": account.id,
                                                             "idempotency_key": "checkout-1"})
    platform = await sdk.v1.checkout.sessions.create_async(params=params,  # type: ignore[arg-type]
                                                          options={"idempotency_key": "checkout-1"})
    assert platform.id != once.id


async def test_connect_onboarding_emits_account_updated(sandbox: Sandbox, sdk: stripe.StripeClient) -> None:
    account = await sdk.v1.accounts.create_async(params={
        "type": "express", "country": "CN", "email": "owner@example.com", "metadata": {"tenant": "t1"}})
    assert account.id.startswith("acct_") and account.type == "express" and account.email == "owner@example.com"
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (False, False, False)
    assert account.metadata.to_dict() == {"tenant": "t1"} and account.requirements.currently_due

    link = await sdk.v1.account_links.create_async(params={
        "account": account.id, "refresh_url": f"{SITE}/connect/refresh", "return_url": f"{SITE}/connect/done",
        "type": "account_onboarding"})
    assert link.url.startswith(f"{PUBLIC}/connect/onboard/{account.id}?return_url=")
    async with browser(sandbox) as web:
        page = await web.get(page_path(link.url))
        forged = await web.get(f"/connect/onboard/{account.id}?return_url=https://evil.example/")
        assert page.status_code == 200 and account.id in page.text and "<script" not in page.text
        assert forged.status_code == 400
        done = await web.post(page_path(link.url))
    assert done.status_code == 303 and done.headers["location"] == f"{SITE}/connect/done"
    assert f"form-action 'self' {SITE}" in page.headers["content-security-policy"]

    [event] = sandbox.outbox()
    assert event.type == "account.updated" and event.account == account.id
    updated = parsed(event)
    assert isinstance(updated.data.object, stripe.Account) and updated.data.object.charges_enabled
    assert updated.data.previous_attributes["charges_enabled"] is False
    await drain(sandbox)  # signed with the Connect secret
    fresh = await sdk.v1.accounts.retrieve_async(account.id)
    assert (fresh.charges_enabled, fresh.payouts_enabled, fresh.details_submitted) == (True, True, True)


async def test_state_file_survives_a_new_sandbox(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "sandbox.json"
    first = make_sandbox(state)
    sdk = make_client(first)
    customer = await sdk.v1.customers.create_async(params={"email": "a@example.com"})
    session = await payment_session(sdk)
    await press(first, session.url or "", "paid")
    waiting = first.outbox()
    assert state.exists()

    second = make_sandbox(state)
    again = make_client(second)
    assert (await again.v1.customers.retrieve_async(customer.id)).email == "a@example.com"
    assert (await again.v1.checkout.sessions.retrieve_async(session.id)).payment_status == "paid"
    assert [e.id for e in second.outbox()] == [e.id for e in waiting]
    assert second.outbox()[0].payload == waiting[0].payload
    await drain(second)
    assert make_sandbox(state).outbox() == []


async def test_deliver_with_a_bad_signature_or_an_old_timestamp_fails_verification(
        sandbox: Sandbox, sdk: stripe.StripeClient) -> None:
    await payment_session(sdk)
    await sdk.v1.customers.create_async()
    session = await payment_session(sdk)
    await press(sandbox, session.url or "", "declined")
    [event] = sandbox.outbox()
    outcomes: list[str] = []

    async def verifying(body: bytes, headers: dict[str, str]) -> int:
        try:
            stripe.Webhook.construct_event(body, headers["Stripe-Signature"], PLATFORM_SECRET)
        except stripe.SignatureVerificationError as exc:
            outcomes.append(str(exc))
            return 400
        outcomes.append("ok")
        return 200

    assert await sandbox.deliver(event, verifying, corrupt_signature=True) == 400
    assert await sandbox.deliver(event, verifying, timestamp=int(time.time()) - 301) == 400
    assert sandbox.outbox() == [event]
    assert await sandbox.deliver(event, verifying, timestamp=int(time.time()) - 60) == 200
    assert outcomes[0].startswith("No signatures found") and "tolerance" in outcomes[1] and outcomes[2] == "ok"
    assert sandbox.outbox() == []
    header = Sandbox.sign(event.payload, PLATFORM_SECRET, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
