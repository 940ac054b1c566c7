"""Members pay their card through Stripe Checkout on the company's own account; Stripe's events drive the card.

Everything runs through the real code path: the official library against the sandbox, signed webhooks
into /webhooks/stripe, the inbox, and the job that acts on it."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from careclub.core.db import tenant_scope
from careclub.payments.tables import WebhookEvent
from tests.conftest import signup
from tests.integration.clubs.helpers import as_owner, club_world, ok
from tests.integration.payments.helpers import (
    deliver_all,
    link_stripe,
    pay,
    paying_world,
    poster,
    process,
    sandbox_of,
)


async def _renew(client: Any, w: dict[str, Any], card_no: str | None = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    card_no = card_no or w["vip_card"]["card_no"]
    return await ok(await client.post(f"/api/v1/cards/{card_no}/renewals",  # type: ignore[no-any-return]
                                      headers=headers or w["member_user"]["headers"]), 201)


async def _card(client: Any, w: dict[str, Any], card_no: str | None = None) -> dict[str, Any]:
    card_no = card_no or w["vip_card"]["card_no"]
    return await ok(await client.get(f"/api/v1/cards/{card_no}", headers=w["t"]["headers"]))  # type: ignore[no-any-return]


async def test_a_member_pays_and_the_card_runs_for_the_plan_term(app: Any, client: Any) -> None:
    w = await paying_world(app, client)
    assert (await _card(client, w))["status"] == "pending"
    started = await _renew(client, w)
    assert set(started) == {"payment_id", "checkout_session_id", "checkout_url", "amount"}
    assert started["amount"] == {"amount": "365.00", "currency": "CNY"}
    assert started["checkout_url"].startswith("http") and started["checkout_session_id"] in started["checkout_url"]
    # asking again while the checkout is open answers the same one
    assert (await _renew(client, w))["checkout_session_id"] == started["checkout_session_id"]
    page = await client.get(started["checkout_url"])
    assert page.status_code == 200 and "365" in page.text
    assert (await pay(client, started["checkout_url"])).status_code == 303
    await deliver_all(app, client, w["t"]["tenant_id"])
    card = await _card(client, w)
    assert card["status"] == "active", card
    until = datetime.fromisoformat(card["valid_until"])
    assert timedelta(days=360) < until - datetime.now(until.tzinfo) < timedelta(days=370), until
    payment = await ok(await client.get(f"/api/v1/payments/{started['payment_id']}", headers=w["t"]["headers"]))
    assert payment["status"] == "paid" and payment["amount"] == {"amount": "365.00", "currency": "CNY"}
    assert payment["number"].startswith("R") and payment["problem"] == ""
    # the member sees their own payment; another member does not
    assert (await client.get(f"/api/v1/payments/{started['payment_id']}",
                             headers=w["member_user"]["headers"])).status_code == 200

    # renewing stacks the next term on the current end
    again = await _renew(client, w)
    assert again["payment_id"] != started["payment_id"]
    await pay(client, again["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    later = datetime.fromisoformat((await _card(client, w))["valid_until"])
    assert timedelta(days=360) < later - until < timedelta(days=370), (until, later)


async def test_repeated_and_concurrent_deliveries_have_one_effect(app: Any, client: Any) -> None:
    w = await paying_world(app, client)
    started = await _renew(client, w)
    await pay(client, started["checkout_url"])
    sandbox = sandbox_of(app)
    events = sandbox.outbox()
    completed = next(e for e in events if e.type == "checkout.session.completed")
    statuses = await asyncio.gather(*(sandbox.deliver(completed, poster(client)) for _ in range(20)))
    assert statuses == [200] * 20
    for event in events:
        for _ in range(3):
            assert await sandbox.deliver(event, poster(client)) == 200
    await process(w["t"]["tenant_id"])
    await process(w["t"]["tenant_id"])
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        assert await WebhookEvent.count().where(WebhookEvent.event_id == completed.id) == 1
    card = await _card(client, w)
    periods = await ok(await client.get(f"/api/v1/cards/{w['vip_card']['card_no']}/periods",
                                        headers=w["t"]["headers"]))
    assert [p["status"] for p in periods].count("paid") == 1, periods
    until = datetime.fromisoformat(card["valid_until"])
    assert until - datetime.now(until.tzinfo) < timedelta(days=370)


async def test_bad_or_stale_signatures_are_400_and_change_nothing(app: Any, client: Any, owner: asyncpg.Connection
                                                                  ) -> None:
    w = await paying_world(app, client)
    started = await _renew(client, w)
    await pay(client, started["checkout_url"])
    sandbox = sandbox_of(app)
    events = sandbox.outbox()
    for event in events:
        assert await sandbox.deliver(event, poster(client), corrupt_signature=True) == 400
        assert await sandbox.deliver(event, poster(client), timestamp=int(time.time()) - 3600) == 400
    r = await client.post("/webhooks/stripe", content=b'{"id": "evt_x"}', headers={"Stripe-Signature": "t=1,v1=00"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_signature"
    recorded = await as_owner(owner, w["t"]["tenant_id"], "SELECT count(*) AS n FROM payment_webhook_event "
                              "WHERE type LIKE 'checkout%'")
    assert recorded[0]["n"] == 0
    # Stripe retries later with a fresh signature: then it counts
    await deliver_all(app, client, w["t"]["tenant_id"])
    assert (await _card(client, w))["status"] == "active"


async def test_an_event_for_one_company_never_touches_another(app: Any, client: Any) -> None:
    a = await paying_world(app, client)
    b = await paying_world(app, client)
    b_started = await _renew(client, b)
    a_started = await _renew(client, a)
    await pay(client, a_started["checkout_url"])
    sandbox = sandbox_of(app)
    completed = next(e for e in sandbox.outbox() if e.type == "checkout.session.completed")
    # A forged copy naming B's payment but signed for A's account: A's inbox takes it, A's data has no such
    # payment, B's is never read.
    forged = completed.payload.replace(a_started["payment_id"].encode(), b_started["payment_id"].encode())
    fake = type(completed)(id="evt_forged_" + uuid.uuid4().hex[:8], type=completed.type, account=completed.account,
                           payload=forged.replace(completed.id.encode(), b"evt_forged"), created=completed.created)
    assert await sandbox.deliver(fake, poster(client)) == 200
    await deliver_all(app, client, a["t"]["tenant_id"], b["t"]["tenant_id"])
    assert (await _card(client, a))["status"] == "active"
    assert (await _card(client, b))["status"] == "pending"
    b_payment = await ok(await client.get(f"/api/v1/payments/{b_started['payment_id']}", headers=b["t"]["headers"]))
    assert b_payment["status"] == "open"


async def test_an_unknown_account_answers_200_and_changes_nothing(app: Any, client: Any) -> None:
    sandbox = sandbox_of(app)
    settings = app.state.settings
    from careclub.payments.gateway import sandbox_secret
    from careclub.payments.sandbox import sign

    body = b'{"id": "evt_unknown", "object": "event", "type": "checkout.session.completed", "account": "acct_nobody",' \
           b' "created": 1, "data": {"object": {"id": "cs_x", "client_reference_id": "x"}}}'
    header = sign(body, sandbox_secret(settings, "connect"), int(time.time()))
    r = await client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
    assert r.status_code == 200 and r.json() == {"received": True, "outcome": "ignored"}
    assert sandbox is not None


async def test_paid_for_a_card_closed_meanwhile_is_refunded_automatically(app: Any, client: Any) -> None:
    w = await paying_world(app, client)
    started = await _renew(client, w)
    card_no = w["vip_card"]["card_no"]
    await ok(await client.post(f"/api/v1/cards/{card_no}/cancel", headers=w["t"]["headers"],
                               json={"reason": "moved away"}))
    await pay(client, started["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    payment = await ok(await client.get(f"/api/v1/payments/{started['payment_id']}", headers=w["t"]["headers"]))
    assert payment["problem"] == "card_closed", payment
    assert [r["status"] for r in payment["refunds"]] == ["pending"]
    await deliver_all(app, client, w["t"]["tenant_id"])  # Stripe's charge.refunded
    payment = await ok(await client.get(f"/api/v1/payments/{started['payment_id']}", headers=w["t"]["headers"]))
    assert payment["status"] == "refunded" and payment["refunds"][0]["status"] == "succeeded", payment
    assert (await _card(client, w))["status"] == "cancelled"


async def test_a_full_refund_takes_the_period_back_a_partial_one_does_not(app: Any, client: Any) -> None:
    w = await paying_world(app, client)
    first = await _renew(client, w)
    await pay(client, first["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    h = w["t"]["headers"]
    part = await ok(await client.post(f"/api/v1/payments/{first['payment_id']}/refunds", headers=h, json={
        "amount": {"amount": "65.00", "currency": "CNY"}, "reason": "goodwill"}), 201)
    assert part["refunds"][0]["status"] == "pending"
    await deliver_all(app, client, w["t"]["tenant_id"])
    part = await ok(await client.get(f"/api/v1/payments/{first['payment_id']}", headers=h))
    assert part["status"] == "partially_refunded" and part["refunded"]["amount"] == "65.00", part
    assert (await _card(client, w))["status"] == "active"
    too_much = await client.post(f"/api/v1/payments/{first['payment_id']}/refunds", headers=h, json={
        "amount": {"amount": "300.01", "currency": "CNY"}, "reason": "x"})
    assert too_much.status_code == 422 and too_much.json()["error"]["field"] == "amount"
    await ok(await client.post(f"/api/v1/payments/{first['payment_id']}/refunds", headers=h,
                               json={"reason": "left the club"}), 201)
    await deliver_all(app, client, w["t"]["tenant_id"])
    full = await ok(await client.get(f"/api/v1/payments/{first['payment_id']}", headers=h))
    assert full["status"] == "refunded" and full["refunded"]["amount"] == "365.00", full
    assert (await _card(client, w))["status"] == "pending"  # its only paid period is gone


async def test_offline_payment_settles_and_a_reversal_undoes_it(app: Any, client: Any) -> None:
    w = await club_world(client)
    h = w["t"]["headers"]
    card = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    period = (await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h)))[0]
    bad = await client.post("/api/v1/payments/offline", headers=h, json={
        "payable_kind": "club_period", "payable_id": period["id"], "method": "cheque", "reference": "1"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "method"
    paid = await ok(await client.post("/api/v1/payments/offline", headers=h, json={
        "payable_kind": "club_period", "payable_id": period["id"], "method": "bank_transfer",
        "reference": "BT-2026-0042", "note": "paid at the front desk"}), 201)
    assert paid["status"] == "paid" and paid["method"] == "bank_transfer"
    assert (await _card(client, w, card["card_no"]))["status"] == "active"
    twice = await client.post("/api/v1/payments/offline", headers=h, json={
        "payable_kind": "club_period", "payable_id": period["id"], "method": "cash", "reference": "C-1"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_paid"
    no_reason = await client.post(f"/api/v1/payments/{paid['id']}/reversal", headers=h, json={"reason": ""})
    assert no_reason.status_code == 422
    reversed_ = await ok(await client.post(f"/api/v1/payments/{paid['id']}/reversal", headers=h,
                                           json={"reason": "the transfer bounced"}))
    assert reversed_["status"] == "reversed" and reversed_["reversal_reason"] == "the transfer bounced"
    assert (await _card(client, w, card["card_no"]))["status"] == "pending"
    # a member cannot record money
    member = await client.post("/api/v1/payments/offline", headers=w["member_user"]["headers"], json={
        "payable_kind": "club_period", "payable_id": period["id"], "method": "cash", "reference": "C-2"})
    assert member.status_code == 403


async def test_without_a_linked_account_online_payment_is_409(client: Any) -> None:
    w = await club_world(client)
    card = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=w["t"]["headers"],
                                      json={"plan_id": w["vip"]["id"]}), 201)
    r = await client.post(f"/api/v1/cards/{card['card_no']}/renewals", headers=w["member_user"]["headers"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "online_payments_unavailable", r.text


async def test_another_companys_card_or_payment_is_404(app: Any, client: Any) -> None:
    w = await paying_world(app, client)
    started = await _renew(client, w)
    other = await signup(client)
    assert (await client.post(f"/api/v1/cards/{w['vip_card']['card_no']}/renewals",
                              headers=other["headers"])).status_code == 404
    assert (await client.get(f"/api/v1/payments/{started['payment_id']}", headers=other["headers"])).status_code == 404
    await link_stripe(app, client, other)
    listed = await ok(await client.get("/api/v1/payments", headers=other["headers"]))
    assert listed["items"] == [] and listed["total"] == 0


async def test_finance_lists_payments_newest_first_a_page_at_a_time(app: Any, client: Any) -> None:
    w = await paying_world(app, client)
    h = w["t"]["headers"]
    for _ in range(3):
        started = await _renew(client, w)
        await pay(client, started["checkout_url"])
        await deliver_all(app, client, w["t"]["tenant_id"])
    first = await ok(await client.get("/api/v1/payments?limit=2", headers=h))
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_after"]
    rest = await ok(await client.get(f"/api/v1/payments?limit=2&after={first['next_after']}", headers=h))
    assert len(rest["items"]) == 1 and rest["next_after"] is None
    numbers = [p["number"] for p in first["items"] + rest["items"]]
    assert numbers == sorted(numbers, reverse=True), numbers
    only = await ok(await client.get(f"/api/v1/payments?q={numbers[0]}", headers=h))
    assert [p["number"] for p in only["items"]] == [numbers[0]]
    assert (await client.get("/api/v1/payments?after=garbage", headers=h)).status_code == 422


async def test_reconciliation_repairs_a_payment_whose_events_were_lost(app: Any, client: Any) -> None:
    from careclub.payments import service

    w = await paying_world(app, client)
    started = await _renew(client, w)
    await pay(client, started["checkout_url"])
    sandbox = sandbox_of(app)
    for event in sandbox.outbox():  # lost for good: acknowledged, never recorded
        await sandbox.deliver(event, lambda body, headers: _ok())
    assert (await _card(client, w))["status"] == "pending"
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        found = await service.reconcile()
    assert found["repaired"] == 1 and found["unmatched"] == 0, found
    assert (await _card(client, w))["status"] == "active"
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        assert (await service.reconcile())["repaired"] == 0  # twice changes nothing


async def _ok() -> int:
    return 200


async def test_a_plan_that_keeps_the_membership_on_refund(app: Any, client: Any) -> None:
    w = await paying_world(app, client)
    h = w["t"]["headers"]
    plan = await ok(await client.patch(f"/api/v1/plans/{w['vip']['id']}", headers=h, json={"refund_rule": "keep"}))
    assert plan["refund_rule"] == "keep"
    bad = await client.patch(f"/api/v1/plans/{w['vip']['id']}", headers=h, json={"refund_rule": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "refund_rule"
    started = await _renew(client, w)
    await pay(client, started["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    await ok(await client.post(f"/api/v1/payments/{started['payment_id']}/refunds", headers=h,
                               json={"reason": "complaint about the car wash"}), 201)
    await deliver_all(app, client, w["t"]["tenant_id"])
    payment = await ok(await client.get(f"/api/v1/payments/{started['payment_id']}", headers=h))
    assert payment["status"] == "refunded"
    assert (await _card(client, w))["status"] == "active"  # the money went back, the membership stayed


async def test_an_event_whose_handler_breaks_does_not_hold_up_the_others(app: Any, client: Any, monkeypatch: Any
                                                                           ) -> None:
    from careclub.payments.service import _webhooks

    w = await paying_world(app, client)
    started = await _renew(client, w)
    await pay(client, started["checkout_url"])

    async def broken(event: Any) -> str:
        raise RuntimeError("a bug in one handler")

    monkeypatch.setitem(_webhooks.HANDLERS, "charge.succeeded", broken)
    await deliver_all(app, client, w["t"]["tenant_id"])
    assert (await _card(client, w))["status"] == "active"  # the checkout's own event still acted
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        stuck = await WebhookEvent.select(WebhookEvent.status, WebhookEvent.attempts).where(
            WebhookEvent.type == "charge.succeeded").first()
    assert stuck is not None and stuck["status"] == "received" and stuck["attempts"] >= 1, stuck
