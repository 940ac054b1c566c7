"""Paying in the tests: a company with its Stripe account linked (in the sandbox), a member with a card
on the 365-a-year plan, and delivery of the sandbox's events to the app, as Stripe would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from litestar import Litestar

from careclub.payments.jobs import drain_inbox
from careclub.payments.sandbox import Sandbox, SandboxEvent
from tests.integration.clubs.helpers import club_world, ok


def sandbox_of(app: Litestar) -> Sandbox:
    sandbox = app.state.sandbox
    assert sandbox is not None, "the tests run without a Stripe key, so the app serves the sandbox"
    return sandbox  # type: ignore[no-any-return]


def poster(client: httpx.AsyncClient) -> Any:
    async def post(body: bytes, headers: dict[str, str]) -> int:
        return (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code
    return post


async def process(tenant_id: str | uuid.UUID) -> int:
    """What the queued job does: act on all the company's recorded events."""
    return await drain_inbox(str(tenant_id))


async def deliver_all(app: Litestar, client: httpx.AsyncClient, *tenant_ids: str) -> list[SandboxEvent]:
    """Every waiting event, once, in order; then the companies' inboxes are processed."""
    sandbox = sandbox_of(app)
    events = sandbox.outbox()
    for event in events:
        status = await sandbox.deliver(event, poster(client))
        assert status == 200, (event.type, status)
    for tid in tenant_ids:
        await process(tid)
    return events


async def link_stripe(app: Litestar, client: httpx.AsyncClient, t: dict[str, Any]) -> str:
    """The admin links the company's Stripe account and finishes Stripe's onboarding."""
    link = await ok(await client.post("/api/v1/payment-settings/stripe-onboarding", headers=t["headers"]), 201)
    done = await client.post(link["url"], data={})
    assert done.status_code == 303, (done.status_code, done.text[:300])
    await deliver_all(app, client, t["tenant_id"])
    settings = await ok(await client.get("/api/v1/payment-settings", headers=t["headers"]))
    assert settings["charges_enabled"] is True, settings
    return str(settings["stripe_account_id"])


async def paying_world(app: Litestar, client: httpx.AsyncClient) -> dict[str, Any]:
    """club_world, with Stripe linked and a second member whose card is on the paid plan (pending)."""
    w = await club_world(client)
    t = w["t"]
    w["account"] = await link_stripe(app, client, t)
    card = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=t["headers"],
                                      json={"plan_id": w["vip"]["id"]}), 201)
    w["vip_card"] = card
    return w


async def pay(client: httpx.AsyncClient, checkout_url: str, outcome: str = "paid") -> httpx.Response:
    """What the member's Pay (or Decline) button on Stripe's page does."""
    return await client.post(checkout_url, data={"outcome": outcome})
