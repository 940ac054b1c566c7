"""Stripe delivers at least once, in any order, sometimes late, and now and then something is not
signed right. Two identical companies go through the same payments, renewals, declines, delayed-method
failures and refunds: one gets every event once, in order; the other gets each three times, shuffled,
5 % of deliveries signed too long ago and 1 % with a broken signature (each refused with 400 and retried
later, as Stripe does). Their memberships, payments and refunds must end up the same."""

from __future__ import annotations

import os
import random
import time
from typing import Any

from litestar import Litestar

from careclub.payments.sandbox import SandboxEvent
from tests.integration.clubs.helpers import ok
from tests.integration.clubs.test_scale_paths import tally_differences
from tests.integration.payments.helpers import pay, paying_world, poster, process, sandbox_of

# 185 members make a little over 2,000 events in the shuffled company (about eleven each).
MEMBERS = int(os.environ.get("CHAOS_MEMBERS", "185"))
OUTCOMES = ("paid", "paid", "paid", "declined", "async_paid", "async_failed")


async def _world(app: Litestar, client: Any) -> dict[str, Any]:
    w = await paying_world(app, client)
    h = w["t"]["headers"]
    # Alipay too: a delayed method, whose success or failure is told later by its own event.
    await ok(await client.patch("/api/v1/payment-settings", headers=h, json={"methods": ["card", "alipay"]}))
    w["cards"] = []
    for i in range(MEMBERS):
        member = await ok(await client.post("/api/v1/members", headers=h, json={
            "club_id": w["club"]["id"], "name": f"会员{i}", "phone": f"1390000{i:04d}"}), 201)
        card = await ok(await client.post(f"/api/v1/members/{member['id']}/cards", headers=h,
                                          json={"plan_id": w["vip"]["id"]}), 201)
        w["cards"].append(card["card_no"])
    return w


async def _checkout(client: Any, w: dict[str, Any], card_no: str, outcome: str) -> None:
    started = await ok(await client.post(f"/api/v1/cards/{card_no}/renewals", headers=w["t"]["headers"]), 201)
    r = await pay(client, started["checkout_url"], outcome)
    assert r.status_code in (200, 303), (outcome, r.status_code, r.text[:200])
    if outcome == "declined":  # the member tries again and it goes through
        assert (await pay(client, started["checkout_url"], "paid")).status_code == 303


async def _clean(app: Litestar, client: Any, events: list[SandboxEvent], tenant_id: str) -> None:
    sandbox = sandbox_of(app)
    for event in events:
        assert await sandbox.deliver(event, poster(client)) == 200
    await process(tenant_id)


async def _chaos(app: Litestar, client: Any, events: list[SandboxEvent], tenant_id: str, rng: random.Random
                 ) -> dict[str, int]:
    sandbox = sandbox_of(app)
    deliveries = [e for e in events for _ in range(3)]
    rng.shuffle(deliveries)
    retry: list[SandboxEvent] = []
    counts = {"delivered": 0, "stale": 0, "forged": 0}
    for i, event in enumerate(deliveries):
        roll = rng.random()
        if roll < 0.05:
            assert await sandbox.deliver(event, poster(client), timestamp=int(time.time()) - 3600) == 400
            retry.append(event)
            counts["stale"] += 1
        elif roll < 0.06:
            assert await sandbox.deliver(event, poster(client), corrupt_signature=True) == 400
            retry.append(event)
            counts["forged"] += 1
        else:
            assert await sandbox.deliver(event, poster(client)) == 200
            counts["delivered"] += 1
        if i % 37 == 0:  # the worker runs now and then, between deliveries
            await process(tenant_id)
    for event in retry:  # Stripe's retries, later, signed afresh
        assert await sandbox.deliver(event, poster(client)) == 200
    await process(tenant_id)
    return counts


async def _state(client: Any, w: dict[str, Any]) -> list[tuple[Any, ...]]:
    h = w["t"]["headers"]
    state = []
    for card_no in w["cards"]:
        card = await ok(await client.get(f"/api/v1/cards/{card_no}", headers=h))
        periods = await ok(await client.get(f"/api/v1/cards/{card_no}/periods", headers=h))
        payments = await ok(await client.get(f"/api/v1/payments?q={card_no}&limit=200", headers=h))
        state.append((
            card["status"],
            sorted(p["status"] for p in periods),
            sorted((p["status"], p["amount"]["amount"], p["refunded"]["amount"], p["problem"],
                    tuple(sorted(r["status"] for r in p["refunds"]))) for p in payments["items"]),
        ))
    return state


async def test_shuffled_repeated_late_and_forged_deliveries_end_where_clean_ones_do(app: Litestar,
                                                                                     client: Any, owner: Any) -> None:
    rng = random.Random(20261130)
    clean, chaos = await _world(app, client), await _world(app, client)
    sandbox = sandbox_of(app)
    sandbox.outbox()  # worlds' set-up events were delivered by paying_world
    plan = [[rng.choice(OUTCOMES) for _ in range(3)] for _ in range(MEMBERS)]
    refunds = [rng.choice((None, None, "65.00", "all")) for _ in range(MEMBERS)]
    total = {"delivered": 0, "stale": 0, "forged": 0}
    events_seen = 0

    async def phase(act: Any) -> None:
        nonlocal events_seen
        for w in (clean, chaos):
            await act(w)
        by_account: dict[str, list[SandboxEvent]] = {}
        for event in sandbox.outbox():
            by_account.setdefault(str(event.account), []).append(event)
        events_seen += len(by_account.get(chaos["account"], []))
        await _clean(app, client, by_account.pop(clean["account"], []), clean["t"]["tenant_id"])
        counts = await _chaos(app, client, by_account.pop(chaos["account"], []), chaos["t"]["tenant_id"], rng)
        for k, v in counts.items():
            total[k] += v
        assert not by_account, list(by_account)

    for round_ in range(3):  # the join period, then two renewals, each with its own outcome
        async def checkouts(w: dict[str, Any], round_: int = round_) -> None:
            for i, card_no in enumerate(w["cards"]):
                await _checkout(client, w, card_no, plan[i][round_])
        await phase(checkouts)

    async def refund_some(w: dict[str, Any]) -> None:
        h = w["t"]["headers"]
        for i, card_no in enumerate(w["cards"]):
            if refunds[i] is None:
                continue
            paid = [p for p in (await ok(await client.get(f"/api/v1/payments?q={card_no}&status=paid",
                                                          headers=h)))["items"]]
            if not paid:
                continue
            body: dict[str, Any] = {"reason": "chaos"}
            if refunds[i] != "all":
                body["amount"] = {"amount": refunds[i], "currency": "CNY"}
            await ok(await client.post(f"/api/v1/payments/{paid[0]['id']}/refunds", headers=h, json=body), 201)
    await phase(refund_some)

    assert await _state(client, clean) == await _state(client, chaos)
    # the statistics' tallies, kept by triggers through all of it, agree with a recount
    for w in (clean, chaos):
        assert await tally_differences(owner, w["t"]["tenant_id"]) == []
    assert total["stale"] > 0 and total["forged"] > 0, total
    assert events_seen >= 2000 or MEMBERS < 185, events_seen
    print(f"chaos: {events_seen} events, {sum(total.values())} deliveries {total}")
