"""Stripe's webhook endpoint: what verifying, recording and queueing one event costs.

    bare      GET /_bench/bare              routing, middleware, JSON; no database
    bare_db   GET /_bench/bare_db?tenant=   the request transaction, the tenant, one indexed query
    webhook   POST /webhooks/stripe         a fresh signed event of a company's connected account each time:
                                            HMAC check, JSON, the account's company looked up, the event
                                            recorded in its inbox (ON CONFLICT DO NOTHING), the inbox job
                                            queued in Redis after the commit

The events are of a type no handler acts on, so this measures the endpoint Stripe waits on, not the
work the job does later. Ends with `webhook/bare = R` and `webhook/bare_db = R`.
"""

from __future__ import annotations

import json
import time
import uuid

import asyncpg

from careclub.core.bench import BenchContext, Endpoint
from careclub.payments.gateway import API_VERSION, sandbox_secret
from careclub.payments.sandbox import sign


async def run(ctx: BenchContext) -> list[str]:
    tenant = await ctx.signup()
    account = f"acct_bench_{tenant.tenant_id.hex[:16]}"
    conn = await asyncpg.connect(ctx.infra.owner_dsn)
    try:
        # The registry's policy lets only the company in context change its row, the owner included.
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant.tenant_id))
        await conn.execute("UPDATE tenant SET stripe_account_id = $1 WHERE id = $2", account, tenant.tenant_id)
    finally:
        await conn.close()
    secret = sandbox_secret(ctx.settings, "connect")
    run_id = uuid.uuid4().hex[:8]

    def event(i: int) -> tuple[str, dict[str, str], bytes]:
        body = json.dumps({"id": f"evt_bench_{run_id}_{i}", "object": "event", "api_version": API_VERSION,
                           "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                           "request": {"id": None, "idempotency_key": None}, "type": "payment_intent.created",
                           "account": account, "data": {"object": {"id": f"pi_bench_{i}", "object": "payment_intent"}}
                           }).encode()
        return "/webhooks/stripe", {"Stripe-Signature": sign(body, secret, int(time.time())),
                                    "Content-Type": "application/json"}, body

    probe = event(-1)
    r = await ctx.client.post(probe[0], headers=probe[1], content=probe[2])
    if r.status_code != 200 or r.json().get("outcome") != "recorded":
        raise RuntimeError(f"the webhook did not record the probe event: {r.status_code} {r.text}")
    results = await ctx.compare([
        ctx.bare_endpoint(),
        ctx.bare_db_endpoint(tenant),
        Endpoint("webhook", "/webhooks/stripe", method="POST", make_request=event, expect=(200,)),
    ])
    bare, bare_db, webhook = results["bare"], results["bare_db"], results["webhook"]
    return [*(result.line() for result in results.values()),
            ctx.ratio("webhook", "bare", webhook, bare), ctx.ratio("webhook", "bare_db", webhook, bare_db)]
