"""Automatic renewal through Stripe Billing (seed 002's yearly bank-card collection): each paid invoice
extends the card one term; failed charges follow Stripe's retries and then the card lapses; no card stays
active without a paid period; members are reminded before each charge and can turn it off."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.payments import service
from careclub.payments.tables import RenewalSubscription
from tests.integration.clubs.helpers import ok
from tests.integration.payments.helpers import deliver_all, pay, paying_world, sandbox_of


async def _auto_world(app: Any, client: Any) -> dict[str, Any]:
    w = await paying_world(app, client)
    await ok(await client.patch(f"/api/v1/plans/{w['vip']['id']}", headers=w["t"]["headers"],
                                json={"auto_renew": True}))
    return w


async def _until(client: Any, w: dict[str, Any]) -> datetime:
    card = await ok(await client.get(f"/api/v1/cards/{w['vip_card']['card_no']}", headers=w["t"]["headers"]))
    return datetime.fromisoformat(card["valid_until"])


async def _subscription(w: dict[str, Any]) -> dict[str, Any]:
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        row = await RenewalSubscription.select().first()
    assert row is not None
    return row


async def test_each_paid_invoice_extends_the_card_by_a_term(app: Any, client: Any) -> None:
    w = await _auto_world(app, client)
    card_no = w["vip_card"]["card_no"]
    member = w["member_user"]["headers"]
    started = await ok(await client.post(f"/api/v1/cards/{card_no}/auto-renewal", headers=member), 201)
    assert started["amount"] == {"amount": "365.00", "currency": "CNY"}
    twice = await ok(await client.post(f"/api/v1/cards/{card_no}/auto-renewal", headers=member), 201)
    assert twice["checkout_session_id"] == started["checkout_session_id"]  # one open checkout at a time
    await pay(client, started["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    first = await _until(client, w)
    sub = await _subscription(w)
    assert sub["status"] == "active" and not sub["cancel_at_period_end"]
    again = await client.post(f"/api/v1/cards/{card_no}/auto-renewal", headers=member)
    assert again.status_code == 409 and again.json()["error"]["code"] == "auto_renewal_on"

    await sandbox_of(app).renew_subscription(sub["stripe_subscription_id"], outcome="paid")
    await deliver_all(app, client, w["t"]["tenant_id"])
    second = await _until(client, w)
    assert timedelta(days=360) < second - first < timedelta(days=370), (first, second)
    # the same invoice's events again change nothing
    payments = await ok(await client.get(f"/api/v1/payments?q={card_no}", headers=w["t"]["headers"]))
    assert sorted(p["status"] for p in payments["items"]) == ["paid", "paid"]


async def test_failed_charges_retry_then_the_card_lapses_with_no_paid_period(app: Any, client: Any) -> None:
    w = await _auto_world(app, client)
    card_no = w["vip_card"]["card_no"]
    started = await ok(await client.post(f"/api/v1/cards/{card_no}/auto-renewal",
                                         headers=w["member_user"]["headers"]), 201)
    await pay(client, started["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    first = await _until(client, w)
    sub = await _subscription(w)
    sandbox = sandbox_of(app)
    for _ in range(4):  # Stripe's three retries, and the final failure
        await sandbox.renew_subscription(sub["stripe_subscription_id"], outcome="failed")
        await deliver_all(app, client, w["t"]["tenant_id"])
    assert (await _subscription(w))["status"] == "canceled"
    assert await _until(client, w) == first  # no paid period, no extension
    notes = await ok(await client.get("/api/v1/notifications", headers=w["member_user"]["headers"]))
    assert any(n["kind"] == "renewal_failed" for n in notes["items"]), notes


async def test_members_are_reminded_once_and_can_turn_it_off(app: Any, client: Any) -> None:
    w = await _auto_world(app, client)
    card_no = w["vip_card"]["card_no"]
    member = w["member_user"]["headers"]
    started = await ok(await client.post(f"/api/v1/cards/{card_no}/auto-renewal", headers=member), 201)
    await pay(client, started["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    sub = await _subscription(w)
    tid = uuid.UUID(w["t"]["tenant_id"])
    # three days before the charge (moved, rather than waiting a year)
    async with tenant_scope(tid):
        await RenewalSubscription.update({RenewalSubscription.current_period_end: clock.now() + timedelta(days=3)}
                                         ).where(RenewalSubscription.id == sub["id"])
    async with tenant_scope(tid):
        assert await service.remind_due() == 1
    async with tenant_scope(tid):
        assert await service.remind_due() == 0
    notes = await ok(await client.get("/api/v1/notifications", headers=member))
    assert [n["kind"] for n in notes["items"]].count("renewal_reminder") == 1
    assert (await client.delete(f"/api/v1/cards/{card_no}/auto-renewal", headers=member)).status_code == 204
    assert (await _subscription(w))["cancel_at_period_end"] is True
    # turning it off again is no error (DELETE is idempotent)
    assert (await client.delete(f"/api/v1/cards/{card_no}/auto-renewal", headers=member)).status_code == 204
    # at the period end Stripe ends it instead of charging
    await sandbox_of(app).renew_subscription(sub["stripe_subscription_id"], outcome="paid")
    await deliver_all(app, client, w["t"]["tenant_id"])
    assert (await _subscription(w))["status"] == "canceled"


async def test_finance_figures_renewal_and_lapse_by_month(app: Any, client: Any, owner: Any) -> None:
    from tests.integration.clubs.helpers import as_owner

    w = await paying_world(app, client)
    h = w["t"]["headers"]
    renewing, lapsing = w["vip_card"]["card_no"], None
    other = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": w["club"]["id"], "name": "王五", "phone": "13700000002"}), 201)
    lapsing = (await ok(await client.post(f"/api/v1/members/{other['id']}/cards", headers=h,
                                          json={"plan_id": w["vip"]["id"]}), 201))["card_no"]
    for card_no, times in ((renewing, 2), (lapsing, 1)):
        for _ in range(times):
            started = await ok(await client.post(f"/api/v1/cards/{card_no}/renewals", headers=h), 201)
            await pay(client, started["checkout_url"])
            await deliver_all(app, client, w["t"]["tenant_id"])
    # a year and two months later: the first terms ended two months ago (past the 10 grace days)
    await as_owner(owner, w["t"]["tenant_id"],
                   "UPDATE club_period SET starts_at = starts_at - interval '14 months', "
                   "ends_at = ends_at - interval '14 months'")
    stats = await ok(await client.get(f"/api/v1/clubs/{w['club']['id']}/stats", headers=h))
    rates = stats["renewal_rates"]
    assert sum(r["due"] for r in rates) == 2, rates
    assert sum(r["renewed"] for r in rates) == 1 and sum(r["lapsed"] for r in rates) == 1, rates
