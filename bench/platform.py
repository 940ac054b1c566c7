"""Platform overhead: what the framework, the tenant transaction, the ORM and authentication cost.

    bare             GET /api/_bench/bare               routing, middleware, JSON; no database
    bare_tx          GET /api/_bench/bare_tx?tenant=     + the request transaction and binding the tenant
    bare_db          GET /api/_bench/bare_db?tenant=     + one indexed query (plain asyncpg)
    bare_db_piccolo  GET /api/_bench/bare_db_piccolo?…   the same query written through Piccolo
    health           GET /health                        a pooled `SELECT 1` and a Redis PING, no transaction
    me               GET /api/v1/me                     bearer-token authentication (tenant, token, roles and
                                                        permissions) inside the tenant transaction

Measured interleaved (`ctx.compare`), so load from elsewhere on the machine hits them alike.
Ends with `me/health = R` (R: the throughput ratio, requests per second).
"""

from __future__ import annotations

from careclub.core.bench import BenchContext, Endpoint


async def run(ctx: BenchContext) -> list[str]:
    tenant = await ctx.signup()
    me = await ctx.client.get("/api/v1/me", headers=tenant.headers)
    if me.status_code != 200:
        raise RuntimeError(f"GET /api/v1/me answered {me.status_code}: {me.text}")

    r = await ctx.compare([
        ctx.bare_endpoint(),
        ctx.bare_db_endpoint(tenant, "bare_tx"),
        ctx.bare_db_endpoint(tenant),
        ctx.bare_db_endpoint(tenant, "bare_db_piccolo"),
        Endpoint("health", "/health"),
        Endpoint("me", "/api/v1/me", headers=tenant.headers),
    ])
    return [
        *(result.line() for result in r.values()),
        ctx.ratio("bare_tx", "bare", r["bare_tx"], r["bare"]),
        ctx.ratio("bare_db", "bare", r["bare_db"], r["bare"]),
        ctx.ratio("bare_db_piccolo", "bare_db", r["bare_db_piccolo"], r["bare_db"]),
        ctx.ratio("me", "bare_db", r["me"], r["bare_db"]),
        ctx.ratio("me", "health", r["me"], r["health"]),
    ]
