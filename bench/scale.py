"""A big tenant beside a small one: how the everyday endpoints hold up at a million members.

Two tenants are set up through the API ("scale-big" and "scale-small": ~30 org units, a club with
a paid and a free plan, 40 merchants, 6 benefits, a merchant operator, a finance user), then years
of data are bulk-loaded into PostgreSQL as the owner role (bench/_scale_load.py): `--members`
members (default 1 000 000) with cards, periods, payments, vehicles, card events, `--checkins`
check-ins over `--months` months (default 10 000 000 over 24) and two audit entries per member;
the small tenant gets `--small` members (default 2 000) and 20 check-ins each. A tenant of a reused
database (`BENCH_DATABASE=<name>`) whose load finished with at least `--members` members is not
loaded again.

Then every endpoint below is measured for both tenants, interleaved (`ctx.compare`, 2 rounds),
`--samples` requests each (default 200) over `--concurrency` connections (default 1); statistics
and dashboards, which aggregate, take `--heavy-samples` (default 20) one at a time. The periodic
jobs run in this process, three times per tenant. The table gives p50 and p95 in ms per tenant
and marks MISS where a p95 misses its target (lists, searches, pages of one record and the scanner:
50 ms; statistics and dashboards: 300 ms; a run of a periodic job: 60 s); each endpoint ends with
`<label>@big/small = R`, the throughput ratio (1.00: the big tenant is as fast as the small one).

The ticket core (`--tickets`, default as many as `--members`, on the big tenant, `--small` on the small one;
0 leaves it out): projects, departments, ticket staff and the built-in types through the API and the
service, then units, customers, tickets with their legs, events and SLA notices bulk-loaded
(_scale_load.TicketLoader); measured: the ticket list in its views and filters as the admin, a handler,
a dispatcher and a resident, one ticket, a transition, the ticket pages that exist, and the SLA job
(bench/README.md, docs/scale.md).

    careclub bench scale --extra --members 20000 --checkins 200000     # a quick look (~1 min)
    KEEP_BENCH_DB=1 careclub bench scale --extra --time-limit 30        # the full size, kept (~30 min)
    BENCH_DATABASE=careclub_bench_xxxx careclub bench scale             # measure it again

Measured 1 Dec 2026 (evening), 2 cores, the full size (1M members, 10M check-ins, 1M tickets, 10M postings;
loaded in 18 minutes on a busy machine, 11 on a quiet one: bench/README.md), one request at a time: every
endpoint within its target. Every club list, search and page of one record within 2–39 ms at p95 (member list
7 ms, searches 5–8 ms, today's check-ins 10 ms, the scanner page 22 ms, the member's card page 34 ms), the club
statistics 83 ms (API) and 111 ms (page), the dashboard 106 ms; every ticket list and page within 40 ms, the
ticket reports 92 ms; every funds list and page within 46 ms; a fund's full recount of two million postings
220–293 ms (one partial index per account); the jobs' runs within 133 ms. docs/scale.md has the tables.
Before the scale work of #10
(the issue's table): the scanner 8.3 s, today's check-ins 8.8 s, searches ~5.6 s, the statistics 53 s at p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from careclub.core.bench import (
    BENCH_PASSWORD,
    BenchContext,
    BenchTenant,
    Endpoint,
    LoadResult,
    helper_module,
    ratio_line,
)
from careclub.core.infra import dsn_with

# A periodic job's run is held to the jobs' aim (docs/scale.md, "Jobs": within 60 s at a million cards), not a
# page's: the first run after a pause works off what fell due meanwhile (the SLA job after half an hour: ~0.4 s).
TARGET_MS = {"list": 50.0, "stats": 300.0, "job": 60_000.0}
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵"]
REGIONS = [  # code, name, branches: 1 company + 3 regions + 25 branches
    ("R-SOUTH", "华南大区", ["深圳南山店", "深圳福田店", "深圳宝安店", "深圳龙岗店", "广州天河店", "广州越秀店",
                           "广州番禺店", "佛山禅城店", "东莞南城店"]),
    ("R-EAST", "华东大区", ["上海浦东店", "上海徐汇店", "上海闵行店", "杭州西湖店", "杭州滨江店", "南京鼓楼店",
                          "苏州园区店", "宁波鄞州店"]),
    ("R-NORTH", "华北大区", ["北京朝阳店", "北京海淀店", "北京丰台店", "天津和平店", "石家庄长安店", "济南历下店",
                           "青岛市南店", "郑州金水店"])]
MERCHANT_KINDS = [("洗车", "washing"), ("保养", "maintenance"), ("轮胎", "tyres"), ("停车", "parking"),
                  ("咖啡", "coffee"), ("救援", "roadside")]
# code, name, quota, period: merchant j honours benefit j % 6
BENEFITS = [("washing", "免费洗车", 12, "year"), ("maintenance", "保养工时", 2, "year"),
            ("tyres", "轮胎检测", 4, "year"), ("parking", "免费停车", 4, "month"), ("coffee", "咖啡", 30, "month"),
            ("roadside", "道路救援", 0, "year")]
OPERATOR_MERCHANT = 19  # m20: a middling merchant (the first ones are the busiest)


def _options(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="careclub bench scale --extra", add_help=False)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--checkins", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--audit", type=int, default=None, help="audit entries of the big tenant (2 per member)")
    parser.add_argument("--samples", type=int, default=200, help="requests per endpoint and tenant")
    parser.add_argument("--heavy-samples", type=int, default=20, help="requests per statistics/dashboard endpoint")
    parser.add_argument("--small", type=int, default=2000, help="members of the small tenant")
    parser.add_argument("--concurrency", dest="conc", type=int, default=1, help="connections for the light endpoints "
                        "(1: a latency per request; more adds queueing on two cores)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", default="", help="measure only endpoints whose label contains this")
    parser.add_argument("--tickets", type=int, default=None, help="tickets of the big tenant (default as many as "
                        "--members; 0: no tickets; the small tenant gets --small)")
    parser.add_argument("--ticket-units", type=int, default=None, help="property units of the big tenant "
                        "(default a third of --tickets)")
    parser.add_argument("--postings", type=int, default=10_000_000, help="care fund ledger postings of the big "
                        "tenant (0: no funds; the small tenant gets up to 20 000): bench/_scale_funds.py")
    opts, _ = parser.parse_known_args(args)
    return opts


def _helper() -> ModuleType:
    """bench/_scale_load.py, the club's and the tickets' loaders."""
    return helper_module("_scale_load")


def _funds() -> ModuleType:
    """bench/_scale_funds.py, the care funds' part."""
    return helper_module("_scale_funds")


def _say(line: str) -> None:
    print(line, flush=True)  # progress while loading (the runner prints the returned lines at the end)


async def _ok(r: Any, status: int = 201) -> Any:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path} answered {r.status_code}: {r.text[:300]}")
    return r.json()


# ---- set-up through the API -------------------------------------------------------------------------

async def _setup(ctx: BenchContext, tenant: BenchTenant, prefix: str) -> None:
    """Org units, the club, plans, merchants, benefits, an operator and a finance user, as an admin would."""
    c, h = ctx.client, tenant.headers
    root = (await _ok(await c.get("/api/v1/org-units", headers=h), 200))["items"][0]["id"]
    n = 0
    for code, name, branches in REGIONS:
        region = await _ok(await c.post("/api/v1/org-units", headers=h, json={
            "code": code, "name": name, "parent_id": root, "kind": "region"}))
        for branch in branches:
            n += 1
            await _ok(await c.post("/api/v1/org-units", headers=h, json={
                "code": f"B{n:02d}", "name": branch, "parent_id": region["id"], "kind": "branch"}))
    club = await _ok(await c.post("/api/v1/clubs", headers=h, json={
        "code": "scale", "name": "星驰车主俱乐部", "card_prefix": prefix, "card_digits": 8}))
    cid = club["id"]
    await _ok(await c.post(f"/api/v1/clubs/{cid}/plans", headers=h, json={
        "code": "annual", "name": "年卡", "fee": {"amount": "365.00", "currency": "CNY"}, "term_months": 12,
        "grace_days": 30}))
    await _ok(await c.post(f"/api/v1/clubs/{cid}/plans", headers=h, json={"code": "free", "name": "体验卡"}))
    merchants = []
    for j in range(40):
        kind, _ = MERCHANT_KINDS[j % len(MERCHANT_KINDS)]
        merchant = await _ok(await c.post(f"/api/v1/clubs/{cid}/merchants", headers=h, json={
            "code": f"m{j + 1:02d}", "name": f"{REGIONS[j % 3][2][j % 8][:-1]}{kind}{j + 1}号", "category": kind,
            "offer_kind": "percent", "offer_value": 5 + 5 * (j % 4), "offer_text": f"会员{10 - (j % 4) // 2}折"}))
        merchants.append(merchant)
    for b, (code, name, quota, period) in enumerate(BENEFITS):
        await _ok(await c.post(f"/api/v1/clubs/{cid}/benefits", headers=h, json={
            "code": code, "name": name, "group_name": "车主权益", "quota": quota, "quota_period": period,
            "merchants": [m["code"] for j, m in enumerate(merchants) if j % len(BENEFITS) == b]}))
    operator = await _ok(await c.post("/api/v1/staff", headers=h, json={
        "email": f"op@{tenant.slug}.bench", "display_name": "门店扫码员", "org_unit": root,
        "roles": ["merchant_operator"], "kind": "merchant", "password": BENCH_PASSWORD}))
    await _ok(await c.post(f"/api/v1/merchants/{merchants[OPERATOR_MERCHANT]['id']}/operators", headers=h,
                           json={"user_id": operator["id"]}))
    await _ok(await c.post("/api/v1/staff", headers=h, json={
        "email": f"finance@{tenant.slug}.bench", "display_name": "财务", "org_unit": root, "roles": ["finance"],
        "kind": "staff", "password": BENCH_PASSWORD}))


async def _member_user(ctx: BenchContext, tenant: BenchTenant, world: Any) -> None:
    """A member who signs in (for /club/card): an account, its member record and a paid card, enrolled
    after the load (its card number follows the loaded ones)."""
    c, h = ctx.client, tenant.headers
    root = (await _ok(await c.get("/api/v1/org-units", headers=h), 200))["items"][0]["id"]
    user = await _ok(await c.post("/api/v1/staff", headers=h, json={
        "email": f"member@{tenant.slug}.bench", "display_name": "会员张三丰", "org_unit": root, "roles": ["member"],
        "kind": "member", "password": BENCH_PASSWORD}))
    member = await _ok(await c.post("/api/v1/members", headers=h, json={
        "club_id": str(world.club_id), "name": "张三丰", "phone": "19900000001", "id_number": "110101199003071234",
        "org_unit": str(world.branches[0]), "user_id": user["id"]}))
    card = await _ok(await c.post(f"/api/v1/members/{member['id']}/cards", headers=h,
                                  json={"plan_id": str(world.paid_plan)}))
    periods = await _ok(await c.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h), 200)
    pending = [p for p in periods if p["status"] == "pending"]
    if pending:
        await _ok(await c.post(f"/api/v1/periods/{pending[0]['id']}/offline-payment", headers=h,
                               json={"reference": "BENCH-0001"}), 200)


async def _owner(ctx: BenchContext, tenant: BenchTenant) -> asyncpg.Connection:
    conn = await asyncpg.connect(ctx.infra.owner_dsn, timeout=30)
    await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant.tenant_id))
    return conn


async def _read_world(conn: asyncpg.Connection, tenant: BenchTenant) -> Any:
    load = _helper()
    club = await conn.fetchrow("SELECT id, card_prefix, card_digits FROM club WHERE tenant_id = $1 AND code = 'scale'",
                               tenant.tenant_id)
    if club is None:
        return None
    plans = {r["code"]: r for r in await conn.fetch("SELECT id, code, fee, name FROM club_plan WHERE club = $1",
                                                     club["id"])}
    merchants = await conn.fetch("SELECT id, offer_value FROM club_merchant WHERE club = $1 ORDER BY code", club["id"])
    benefits = await conn.fetch("SELECT id, code, quota, quota_period FROM club_benefit WHERE club = $1 ORDER BY code",
                                club["id"])
    honours = {r["merchant"]: r["benefit"] for r in await conn.fetch(
        "SELECT merchant, benefit FROM club_benefit_merchant bm JOIN club_benefit b ON b.id = bm.benefit "
        "WHERE b.club = $1", club["id"])}
    users = {r["email"].split("@")[0]: r["id"] for r in await conn.fetch(
        "SELECT id, email FROM app_user WHERE email = ANY($1::text[])",
        [f"{who}@{tenant.slug}.bench" for who in ("admin", "op", "finance", "member")])}
    op_merchant = await conn.fetchval('SELECT merchant FROM club_merchant_operator WHERE "user" = $1', users.get("op"))
    merchant_ids = [m["id"] for m in merchants]
    return load.World(
        slug=tenant.slug, tenant_id=tenant.tenant_id,
        timezone=await conn.fetchval("SELECT timezone FROM tenant WHERE id = $1", tenant.tenant_id),
        club_id=club["id"], card_prefix=club["card_prefix"], card_digits=club["card_digits"],
        paid_plan=plans["annual"]["id"], paid_code="annual", paid_fee=plans["annual"]["fee"],
        paid_name=plans["annual"]["name"], free_plan=plans["free"]["id"], free_code="free",
        branches=[r["id"] for r in await conn.fetch("SELECT id FROM org_unit WHERE kind = 'branch' ORDER BY code")],
        merchants=merchant_ids, offers=[m["offer_value"] for m in merchants],
        benefits=[dict(b) for b in benefits], benefit_of=[honours.get(m) for m in merchant_ids],
        admin_id=users["admin"], operator_id=users.get("op"),
        operator_merchant=merchant_ids.index(op_merchant) if op_merchant in merchant_ids else OPERATOR_MERCHANT,
        finance_id=users.get("finance"), member_user_id=users.get("member"))


# ---- one tenant, ready to measure -----------------------------------------------------------------

@dataclass
class Sample:
    member_id: uuid.UUID
    name: str
    phone: str
    card_no: str
    plate: str | None


@dataclass
class Prepared:
    tenant: BenchTenant
    world: Any
    members: int
    api: dict[str, str]
    page: dict[str, str]
    operator_api: dict[str, str]
    operator_page: dict[str, str]
    member_page: dict[str, str] | None
    samples: list[Sample]
    names2: list[str]
    lines: list[str] = field(default_factory=list)
    tickets: TicketPrep | None = None  # the ticket core's part, when --tickets
    funds: Any = None  # the care funds' part (_scale_funds.FundPrep), when --postings


async def _prepare(ctx: BenchContext, slug: str, company: str, prefix: str, sizes: Any, seed: int) -> Prepared:
    load = _helper()
    tenant, _ = await ctx.signup_or_login(slug, company=company)
    lines: list[str] = []
    conn = await _owner(ctx, tenant)
    try:
        world = await _read_world(conn, tenant)
        if world is None:
            await _setup(ctx, tenant, prefix)
            world = await _read_world(conn, tenant)
        have = await conn.fetchval("SELECT count(*) FROM club_member WHERE tenant_id = $1 AND club = $2",
                                   tenant.tenant_id, world.club_id)
        mark = await conn.fetchval("SELECT description FROM club WHERE id = $1", world.club_id) or ""
        loader = load.Loader(ctx.infra.owner_dsn, world, sizes, seed=seed, emit=_say)
        if have:
            lines += [f"{slug}: {note}" for note in await load.repair(conn)]
            if not mark.startswith(load.FINISHED) or have < sizes.members:
                raise RuntimeError(f"{slug} holds {have:,} members ({mark or 'its load never finished'}), not "
                                   f"--members {sizes.members:,}: use a fresh database (unset BENCH_DATABASE)")
            lines.append(f"{slug}: reused ({mark}); not loaded again")
            topped = await loader.top_up_today(conn)
            if topped:
                lines.append(f"{slug}: {topped} check-ins of today added at the operator's merchant")
        else:
            _say(f"[{slug}] loading {sizes.members:,} members, {sizes.checkins:,} check-ins, {sizes.audit:,} audit "
                 "entries …")
            report = await loader.run()
            lines.append(f"{slug}: loaded in {report.wall:.0f} s (wall clock; two connections)")
            lines += [t.line() for t in report.timings]
            lines += [f"  note: {n}" for n in report.notes]
        if world.member_user_id is None:
            await _member_user(ctx, tenant, world)
            world = await _read_world(conn, tenant)
        members = int(await conn.fetchval("SELECT count(*) FROM club_member WHERE tenant_id = $1", tenant.tenant_id))
        rng = random.Random(f"{seed}:{slug}:samples")
        picks = rng.sample(range(1, sizes.members + 1), min(50, sizes.members))
        rows = await conn.fetch(
            "SELECT m.id, m.name, m.phone, c.card_no, v.plate FROM club_member m JOIN club_card c ON c.member = m.id "
            "LEFT JOIN club_vehicle v ON v.id = c.vehicle WHERE m.tenant_id = $1 AND m.id = ANY($2::uuid[]) "
            "ORDER BY m.created_at", tenant.tenant_id, [world.member_id(i) for i in picks])
        samples = [Sample(r["id"], r["name"], r["phone"], r["card_no"], r["plate"]) for r in rows]
        live_card = await conn.fetchval("SELECT card_no FROM club_card WHERE tenant_id = $1 AND state = 'active' "
                                        "AND valid_until > now() ORDER BY card_no DESC LIMIT 1", tenant.tenant_id)
        names2 = [s.name for s in samples if len(s.name) == 2] or [
            r["name"] for r in await conn.fetch("SELECT name FROM club_member WHERE tenant_id = $1 AND "
                                                "length(name) = 2 LIMIT 20", tenant.tenant_id)]
    finally:
        await conn.close()
    if not samples:
        raise RuntimeError(f"{slug}: no loaded members found to sample")
    # The tenant's QR signing key, made now: the first QR codes asked for at once would race to make it.
    await _ok(await ctx.client.get(f"/api/v1/cards/{live_card}/qr", headers=tenant.headers), 200)
    scanner = await _ok(await ctx.client.post("/api/v1/tokens", headers=tenant.headers, json={
        "name": "bench scanner", "user_id": str(world.operator_id), "kind": "scanner"}))
    member_page = None
    try:
        member_page = await ctx.page_session(slug, f"member@{slug}.bench")
    except RuntimeError as exc:
        lines.append(f"{slug}: /club/card skipped: {exc}")
    return Prepared(tenant, world, members, tenant.headers, await ctx.page_session(slug, tenant.email),
                    {"authorization": f"Bearer {scanner['token']}"}, await ctx.page_session(slug, f"op@{slug}.bench"),
                    member_page, samples, names2, lines)


# ---- the ticket core ---------------------------------------------------------------------------------

TICKET_PAGES = ("/tickets", "/tickets/{id}", "/my/tickets", "/tickets/reports")


@dataclass
class TicketPrep:
    world: Any
    tickets: int
    samples: list[tuple[uuid.UUID, str]]  # (id, number) of 50 loaded tickets
    handler_api: dict[str, str]  # a handler in the first project's engineering department (`mine`, his queue)
    dispatcher_api: dict[str, str]  # the first project's dispatcher
    resident_api: dict[str, str] | None  # the member, who lives in unit 1 (a resident of the ticket core)
    page_2: str | None  # next_after of the first page of view=all
    writable: list[uuid.UUID]  # registered tickets made for the transitions, one a request
    pages: set[str]  # the ticket pages that exist (TICKET_PAGES)
    last_month: str  # YYYY-MM, the company's last whole month (the reports page of a full month)


def _ticket_emails(slug: str) -> tuple[list[str], list[str]]:
    """(handlers department-major, dispatchers) as the set-up makes them."""
    load = _helper()
    handlers = [f"h{p + 1}{dept.lower()}{k + 1}@{slug}.bench" for p in range(len(load.TICKET_PROJECTS))
                for dept, _ in load.TICKET_DEPARTMENTS for k in range(load.HANDLERS_PER_DEPARTMENT)]
    return handlers, [f"disp{p + 1}@{slug}.bench" for p in range(len(load.TICKET_PROJECTS))]


async def _ticket_setup(ctx: BenchContext, tenant: BenchTenant, conn: asyncpg.Connection) -> None:
    """Projects with four departments each, a dispatcher a project and two handlers a department, as an
    admin makes them (each step skipped when it exists: a database kept from before the tickets)."""
    load = _helper()
    c, h = ctx.client, tenant.headers
    units = {r["code"]: str(r["id"]) for r in await conn.fetch("SELECT id, code FROM org_unit WHERE tenant_id = $1",
                                                              tenant.tenant_id)}
    users = {r["email"] for r in await conn.fetch("SELECT email FROM app_user WHERE email LIKE $1",
                                                   f"%@{tenant.slug}.bench")}
    root = str(await conn.fetchval("SELECT id FROM org_unit WHERE tenant_id = $1 AND parent IS NULL", tenant.tenant_id))

    async def org_unit(code: str, name: str, parent: str, kind: str) -> str:
        if code not in units:
            units[code] = (await _ok(await c.post("/api/v1/org-units", headers=h, json={
                "code": code, "name": name, "parent_id": parent, "kind": kind})))["id"]
        return units[code]

    async def staff(email: str, name: str, unit: str, role: str) -> None:
        if email not in users:
            await _ok(await c.post("/api/v1/staff", headers=h, json={
                "email": email, "display_name": name, "org_unit": unit, "roles": [role], "kind": "staff",
                "password": BENCH_PASSWORD}))

    handlers, dispatchers = _ticket_emails(tenant.slug)
    for p, (code, name) in enumerate(load.TICKET_PROJECTS):
        project = await org_unit(code, name, root, "project")
        await staff(dispatchers[p], f"{name}调度", project, "dispatcher")
        for d, (dept, dept_name) in enumerate(load.TICKET_DEPARTMENTS):
            unit = await org_unit(f"{code}-{dept}", f"{name}{dept_name}", project, "department")
            for k in range(load.HANDLERS_PER_DEPARTMENT):
                await staff(handlers[(p * len(load.TICKET_DEPARTMENTS) + d) * load.HANDLERS_PER_DEPARTMENT + k],
                            f"{dept_name}{k + 1}号", unit, "cs_clerk")


async def _read_ticket_world(conn: asyncpg.Connection, tenant: BenchTenant) -> Any:
    load = _helper()
    units = {r["code"]: r["id"] for r in await conn.fetch("SELECT id, code FROM org_unit WHERE tenant_id = $1",
                                                         tenant.tenant_id)}
    handlers, dispatchers = _ticket_emails(tenant.slug)
    users = {r["email"]: (r["id"], r["display_name"]) for r in await conn.fetch(
        "SELECT id, email, display_name FROM app_user WHERE email = ANY($1::text[])", handlers + dispatchers)}
    types = {r["code"]: (r["id"], r["prefix"]) for r in await conn.fetch(
        "SELECT id, code, prefix FROM ticket_type WHERE tenant_id = $1", tenant.tenant_id)}
    projects = [units.get(code) for code, _ in load.TICKET_PROJECTS]
    departments = [units.get(f"{code}-{dept}") for code, _ in load.TICKET_PROJECTS
                   for dept, _ in load.TICKET_DEPARTMENTS]
    if (None in projects or None in departments or any(e not in users for e in handlers + dispatchers)
            or any(code not in types for code in load.TICKET_TYPES)):
        return None
    return load.TicketWorld(
        slug=tenant.slug, tenant_id=tenant.tenant_id,
        timezone=await conn.fetchval("SELECT timezone FROM tenant WHERE id = $1", tenant.tenant_id),
        projects=projects, departments=departments, handlers=[users[e][0] for e in handlers],
        handler_names=[users[e][1] for e in handlers], dispatchers=[users[e][0] for e in dispatchers],
        dispatcher_names=[users[e][1] for e in dispatchers], types={k: v[0] for k, v in types.items()},
        prefixes={k: v[1] for k, v in types.items()})


async def _token(ctx: BenchContext, slug: str, email: str) -> dict[str, str]:
    r = await ctx.client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": BENCH_PASSWORD})
    return {"authorization": f"Bearer {(await _ok(r, 200))['token']}"}


def _ticket_sizes_note(sizes: Any) -> str:
    return (f"{sizes.tickets:,} tickets, {sizes.units:,} units in {sizes.buildings:,} buildings, "
            f"{sizes.people:,} customers")


async def _prepare_tickets(ctx: BenchContext, p: Prepared, sizes: Any, opts: argparse.Namespace) -> TicketPrep:
    """The ticket core of one tenant, ready to measure: set up, loaded (or found loaded), sampled; a resident
    (the member, in unit 1), tokens of a handler and a dispatcher, registered tickets for the transitions."""
    from careclub.core.db import tenant_scope
    from careclub.tickets.service import ensure_builtin_types

    load = _helper()
    tenant, slug = p.tenant, p.tenant.slug
    conn = await _owner(ctx, tenant)
    try:
        world = await _read_ticket_world(conn, tenant)
        if world is None:
            await _ticket_setup(ctx, tenant, conn)
            async with tenant_scope(tenant.tenant_id):
                await ensure_builtin_types()
            world = await _read_ticket_world(conn, tenant)
            if world is None:
                raise RuntimeError(f"{slug}: the ticket set-up is incomplete")
        have = int(await conn.fetchval("SELECT count(*) FROM ticket WHERE tenant_id = $1", tenant.tenant_id))
        counters = int(await conn.fetchval("SELECT count(*) FROM ticket_counter WHERE tenant_id = $1",
                                           tenant.tenant_id))
        if have == 0:
            _say(f"[{slug}] loading {_ticket_sizes_note(sizes)} …")
            report = await load.TicketLoader(ctx.infra.owner_dsn, world, sizes, seed=opts.seed, emit=_say).run()
            p.lines.append(f"{slug}: tickets loaded in {report.wall:.0f} s ({_ticket_sizes_note(sizes)})")
            p.lines += [t.line() for t in report.timings]
        else:
            p.lines += [f"{slug}: {note}" for note in await load.repair_tickets(conn)]
            if not counters or have < sizes.tickets:
                why = "its ticket load never finished" if not counters else "fewer"
                raise RuntimeError(f"{slug} holds {have:,} tickets ({why}), not --tickets {sizes.tickets:,}: use a "
                                   "fresh database (unset BENCH_DATABASE)")
            p.lines.append(f"{slug}: {have:,} tickets reused; not loaded again")
        if p.world.member_user_id is not None and not await conn.fetchval(
                "SELECT 1 FROM customer WHERE tenant_id = $1 AND user_id = $2", tenant.tenant_id,
                p.world.member_user_id):
            person = uuid.uuid4()
            await conn.execute("INSERT INTO customer (id, tenant_id, created_at, name, kind, phone, email, "
                               "emergency_name, emergency_phone, note, user_id) VALUES ($1, $2, now(), '张三丰', "
                               "'individual', '19900000001', '', '', '', '', $3)", person, tenant.tenant_id,
                               p.world.member_user_id)
            await conn.execute("INSERT INTO unit_occupancy (id, tenant_id, created_at, unit, person, role, starts_on) "
                               "VALUES ($1, $2, now(), $3, $4, 'owner', current_date - 400)", uuid.uuid4(),
                               tenant.tenant_id, world.unit_id(1), person)
        rng = random.Random(f"{opts.seed}:{slug}:tickets")
        picks = rng.sample(range(1, sizes.tickets + 1), min(50, sizes.tickets))
        samples = [(r["id"], r["number"]) for r in await conn.fetch(
            "SELECT id, number FROM ticket WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY created_at",
            tenant.tenant_id, [world.ticket_id(i) for i in picks])]
    finally:
        await conn.close()
    if not samples:
        raise RuntimeError(f"{slug}: no loaded tickets found to sample")
    handlers, dispatchers = _ticket_emails(slug)
    first = await _ok(await ctx.client.get("/api/v1/tickets?view=all&limit=50", headers=p.api), 200)
    writable: list[uuid.UUID] = []
    if not opts.only or opts.only in "api tickets/{id}/transitions":
        count = opts.samples + max(1, opts.samples // 10)  # measured + warm-up: a registered ticket each
        unit = str(world.unit_id(1))

        async def one() -> uuid.UUID:
            return uuid.UUID((await _ok(await ctx.client.post("/api/v1/tickets", headers=p.api, json={
                "type": "repair", "title": "压测：厨房水管漏水", "unit": unit, "priority": "normal"})))["id"])

        for start in range(0, count, 8):
            writable += await asyncio.gather(*(one() for _ in range(start, min(count, start + 8))))
    pages: set[str] = set()
    local = datetime.now(UTC).astimezone(ZoneInfo(world.timezone))
    last_month = f"{local.year - (local.month == 1)}-{(local.month - 2) % 12 + 1:02d}"
    async with httpx.AsyncClient(base_url=ctx.base_url, timeout=30) as browser:
        for page, path, headers in (("/tickets", "/tickets", p.page),
                                    ("/tickets/{id}", f"/tickets/{samples[0][0]}", p.page),
                                    ("/my/tickets", "/my/tickets", p.member_page),
                                    ("/tickets/reports", f"/tickets/reports?month={last_month}", p.page)):
            if headers is None:
                continue
            r = await browser.get(path, headers=headers)
            if r.status_code == 200:
                pages.add(page)
            else:
                p.lines.append(f"{slug}: page {page} not measured: it answered {r.status_code} (not built yet?)")
    resident = None
    if p.world.member_user_id is not None:
        resident = await _token(ctx, slug, f"member@{slug}.bench")
    return TicketPrep(world, sizes.tickets, samples, await _token(ctx, slug, handlers[2]),
                      await _token(ctx, slug, dispatchers[0]), resident, first.get("next_after"), writable, pages,
                      last_month)


def _ticket_specs() -> list[Spec]:
    """GET /api/v1/tickets in its views and filters, one ticket, a transition, the ticket pages (when they
    exist); as the admin (the whole company) unless the label names someone else."""

    def api(query: str, who: str = "admin") -> Build:
        def build(p: Prepared, i: int) -> tuple[Any, ...] | None:
            t = p.tickets
            if t is None:
                return None
            headers = {"admin": p.api, "handler": t.handler_api, "dispatcher": t.dispatcher_api,
                       "resident": t.resident_api}[who]
            return (f"/api/v1/tickets?{query}", headers) if headers is not None else None
        return build

    def sample(p: Prepared, i: int) -> tuple[uuid.UUID, str]:
        assert p.tickets is not None
        return p.tickets.samples[i % len(p.tickets.samples)]

    def page_2(p: Prepared, i: int) -> tuple[Any, ...] | None:
        t = p.tickets
        return (f"/api/v1/tickets?view=all&after={quote(t.page_2)}", p.api) if t and t.page_2 else None

    def number(p: Prepared, i: int) -> tuple[Any, ...] | None:
        return (f"/api/v1/tickets?view=all&number={quote(sample(p, i)[1])}", p.api) if p.tickets else None

    def one(p: Prepared, i: int) -> tuple[Any, ...] | None:
        return (f"/api/v1/tickets/{sample(p, i)[0]}", p.api) if p.tickets else None

    def move(p: Prepared, i: int) -> tuple[Any, ...] | None:
        t = p.tickets
        if t is None or not t.writable:
            return None
        return (f"/api/v1/tickets/{t.writable[i % len(t.writable)]}/transitions", p.api,
                {"to": "accepted", "expected_status": "registered"})

    def page(which: str) -> Build:
        def build(p: Prepared, i: int) -> tuple[Any, ...] | None:
            t = p.tickets
            if t is None or which not in t.pages:
                return None
            if which == "/my/tickets":
                return ("/my/tickets", p.member_page) if p.member_page else None
            if which == "/tickets/reports":
                return f"/tickets/reports?month={t.last_month}", p.page
            return (f"/tickets/{sample(p, i)[0]}" if which == "/tickets/{id}" else which, p.page)
        return build

    return [
        Spec("api tickets open", "list", api("view=open")),
        Spec("api tickets attention", "list", api("view=attention")),
        Spec("api tickets all", "list", api("view=all")),
        Spec("api tickets all after= (page 2)", "list", page_2),
        Spec("api tickets open type=repair", "list", api("view=open&type=repair")),
        Spec("api tickets all type=move_out", "list", api("view=all&type=move_out")),
        Spec("api tickets number=", "list", number),
        Spec("api tickets mine (admin)", "list", api("view=mine")),
        Spec("api tickets mine (handler)", "list", api("view=mine", "handler")),
        Spec("api tickets open (handler)", "list", api("view=open", "handler")),
        Spec("api tickets all (handler)", "list", api("view=all", "handler")),
        Spec("api tickets open (dispatcher)", "list", api("view=open", "dispatcher")),
        Spec("api tickets all (resident)", "list", api("view=all", "resident")),
        Spec("api tickets/{id}", "list", one),
        Spec("api tickets/{id}/transitions", "list", move, method="POST"),
        Spec("page /tickets", "list", page("/tickets")),
        Spec("page /tickets/{id}", "list", page("/tickets/{id}")),
        Spec("page /my/tickets (resident)", "list", page("/my/tickets")),
        Spec("page /tickets/reports (last month)", "stats", page("/tickets/reports")),
    ]


# ---- what is measured -----------------------------------------------------------------------------

# (path, headers) or (path, headers, JSON body); None: not measured for this tenant
Build = Callable[[Prepared, int], tuple[Any, ...] | None]


@dataclass
class Spec:
    label: str
    kind: str  # list (target 50 ms) | stats (300 ms)
    build: Build
    big_only: bool = False
    method: str = "GET"


def _pick(seq: list[Any], i: int) -> Any:
    return seq[i % len(seq)]


def _specs() -> list[Spec]:
    def sample(p: Prepared, i: int) -> Sample:
        return p.samples[i % len(p.samples)]

    def plate(p: Prepared, i: int) -> str:
        plates = [s.plate for s in p.samples if s.plate]
        return plates[i % len(plates)]

    return [
        Spec("api members", "list", lambda p, i: ("/api/v1/members", p.api)),
        Spec("api members offset=N/2", "list",
             lambda p, i: (f"/api/v1/members?limit=50&offset={p.members // 2}", p.api), big_only=True),
        Spec("api members q=phone", "list", lambda p, i: (f"/api/v1/members?q={sample(p, i).phone}", p.api)),
        Spec("api members q=card", "list", lambda p, i: (f"/api/v1/members?q={sample(p, i).card_no}", p.api)),
        Spec("api members q=plate", "list", lambda p, i: (f"/api/v1/members?q={quote(plate(p, i))}", p.api)),
        Spec("api members q=name(2)", "list", lambda p, i: (f"/api/v1/members?q={quote(_pick(p.names2, i))}", p.api)),
        Spec("api members q=surname(1)", "list", lambda p, i: (f"/api/v1/members?q={quote(_pick(SURNAMES, i))}",
                                                                 p.api)),
        Spec("page /club/members", "list", lambda p, i: ("/club/members", p.page)),
        Spec("page /club/members q=phone", "list", lambda p, i: (f"/club/members?q={sample(p, i).phone}", p.page)),
        Spec("page /club/members q=name(2)", "list",
             lambda p, i: (f"/club/members?q={quote(_pick(p.names2, i))}", p.page)),
        Spec("page /club/cards", "list", lambda p, i: ("/club/cards", p.page)),
        Spec("page /club/cards q=card", "list", lambda p, i: (f"/club/cards?q={sample(p, i).card_no}", p.page)),
        Spec("page /club/checkins", "list", lambda p, i: ("/club/checkins", p.page)),
        Spec("page /club/merchants", "list", lambda p, i: ("/club/merchants", p.page)),
        Spec("page /approvals", "list", lambda p, i: ("/approvals", p.page)),
        Spec("page /club/members/{id}", "list", lambda p, i: (f"/club/members/{sample(p, i).member_id}", p.page)),
        Spec("api members/{id}", "list", lambda p, i: (f"/api/v1/members/{sample(p, i).member_id}", p.api)),
        Spec("api members/{id}/cards", "list", lambda p, i: (f"/api/v1/members/{sample(p, i).member_id}/cards",
                                                               p.api)),
        Spec("api cards/{no}", "list", lambda p, i: (f"/api/v1/cards/{sample(p, i).card_no}", p.api)),
        Spec("api cards/{no}/events", "list", lambda p, i: (f"/api/v1/cards/{sample(p, i).card_no}/events", p.api)),
        Spec("api cards/{no}/periods", "list", lambda p, i: (f"/api/v1/cards/{sample(p, i).card_no}/periods", p.api)),
        Spec("api checkins (operator)", "list", lambda p, i: ("/api/v1/checkins", p.operator_api)),
        Spec("page /club/scan (operator)", "list", lambda p, i: ("/club/scan", p.operator_page)),
        Spec("api audit", "list", lambda p, i: ("/api/v1/audit", p.api)),
        Spec("page /audit", "list", lambda p, i: ("/audit", p.page)),
        Spec("api payments", "list", lambda p, i: ("/api/v1/payments", p.api)),
        Spec("page /payments", "list", lambda p, i: ("/payments", p.page)),
        Spec("api approvals/requests", "list", lambda p, i: ("/api/v1/approvals/requests", p.api)),
        Spec("api me", "list", lambda p, i: ("/api/v1/me", p.api)),
        Spec("page /club/card (member)", "list",
             lambda p, i: ("/club/card", p.member_page) if p.member_page else None),
        Spec("api clubs/{id}/stats", "stats", lambda p, i: (f"/api/v1/clubs/{p.world.club_id}/stats", p.api)),
        Spec("page /club/stats/{id}", "stats", lambda p, i: (f"/club/stats/{p.world.club_id}", p.page)),
        Spec("page /dashboard", "stats", lambda p, i: ("/dashboard", p.page)),
        *_ticket_specs(),
        *_fund_specs(),
    ]


def _fund_specs() -> list[Spec]:
    """The care funds' lists, ledger, pages and report, as the finance user (bench/_scale_funds.py)."""
    return list(_funds().specs(Spec))


def _endpoint(label: str, spec: Spec, prepared: Prepared) -> Endpoint | None:
    first = spec.build(prepared, 0)
    if first is None:
        return None

    def make(i: int) -> tuple[str, dict[str, str], bytes]:
        built = spec.build(prepared, i)
        assert built is not None
        if len(built) > 2:
            return built[0], {**built[1], "content-type": "application/json"}, json.dumps(built[2]).encode()
        return built[0], built[1], b""

    return Endpoint(label, first[0], method=spec.method, make_request=make)


async def _jobs(prepared: Prepared, runs: int = 3) -> dict[str, LoadResult]:
    """The periodic jobs of one tenant, in this process (the runner configured the database and Redis)."""
    from careclub.clubs.jobs import clubs_housekeeping
    from careclub.payments.jobs import payments_housekeeping

    jobs: list[tuple[str, Any]] = [("job clubs_housekeeping", clubs_housekeeping),
                                   ("job payments_housekeeping", payments_housekeeping)]
    if prepared.tickets is not None:
        from careclub.tickets.jobs import tickets_sla  # service.watch() in the tenant's transaction

        jobs.append(("job tickets_sla", tickets_sla))
    if prepared.funds is not None:
        from careclub.funds.jobs import funds_housekeeping  # overdue accrual periods, the year-end rollover

        jobs.append(("job funds_housekeeping", funds_housekeeping))
    out = {}
    for name, job in jobs:
        times: list[float] = []
        statuses: dict[int, int] = {}
        started = time.perf_counter()
        for _ in range(runs):
            t0 = time.perf_counter()
            try:
                await job({}, tenant_id=str(prepared.tenant.tenant_id))
                status = 200
            except Exception:  # measured: a failure shows in the status column
                status = 500
            times.append((time.perf_counter() - t0) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        out[name] = LoadResult(name, runs, statuses.get(500, 0), time.perf_counter() - started, times, statuses)
    return out


# ---- the run ----------------------------------------------------------------------------------------

async def run(ctx: BenchContext) -> list[str]:
    from careclub.clubs import crypto

    opts = _options(ctx.args)
    load = _helper()
    crypto.configure(ctx.settings.secret_key)
    big_sizes = load.Sizes(opts.members, opts.checkins, opts.audit if opts.audit is not None else 2 * opts.members,
                           opts.months)
    small_sizes = load.Sizes(opts.small, 20 * opts.small, 2 * opts.small, opts.months,
                             today_at_operator=min(300, 20 * opts.small // 10))
    # The small company first: loaded after the big one, each of its rows went into indexes of millions of entries
    # read back from disk (40 s for 2,000 members, 5 s on empty tables); the big one's indexes are made over both.
    small = await _prepare(ctx, "scale-small", "小城车友会 (small)", "SM-", small_sizes, opts.seed)
    big = await _prepare(ctx, "scale-big", "星驰汽车服务 (big)", "SC-", big_sizes, opts.seed)
    tickets = opts.members if opts.tickets is None else opts.tickets
    if tickets > 0:
        small.tickets = await _prepare_tickets(ctx, small, load.TicketSizes(
            opts.small, max(1, opts.small // 3), opts.months), opts)
        big.tickets = await _prepare_tickets(ctx, big, load.TicketSizes(
            tickets, opts.ticket_units or max(1, tickets // 3), opts.months), opts)
    if opts.postings > 0:
        small.funds = await _funds().prepare(ctx, small, min(opts.postings, 20_000), projects=4, emit=_say)
        big.funds = await _funds().prepare(ctx, big, opts.postings, projects=40, emit=_say)
    lines = [*big.lines, *small.lines]
    s = big.samples[0]
    lines.append(f"samples (big): {len(big.samples)} members, e.g. {s.name} {s.phone} {s.card_no} {s.plate or ''}; "
                 f"2-character names like {', '.join(big.names2[:3])}; surnames {''.join(SURNAMES)}")

    lines.append(await _settle(ctx))

    rows: list[tuple[str, str, LoadResult | None, LoadResult | None]] = []
    for spec in _specs():
        if opts.only and opts.only not in spec.label:
            continue
        heavy = spec.kind == "stats"
        endpoints = [ep for ep in (_endpoint(f"{spec.label}@big", spec, big),
                                   None if spec.big_only else _endpoint(f"{spec.label}@small", spec, small)) if ep]
        if not endpoints:
            lines.append(f"{spec.label}: skipped (no session, data or page for it)")
            continue
        requests = opts.heavy_samples if heavy else opts.samples
        _say(f"measuring {spec.label} …")
        results = await ctx.compare(endpoints, rounds=2 if len(endpoints) > 1 else 1, requests=requests,
                                    concurrency=1 if heavy else opts.conc,
                                    warmup=1 if heavy else max(1, requests // 10))
        rows.append((spec.label, spec.kind, results.get(f"{spec.label}@big"), results.get(f"{spec.label}@small")))
    if not opts.only or "job" in opts.only or "fund" in opts.only:
        big_jobs, small_jobs = await _jobs(big), await _jobs(small)
        rows += [(name, "job", big_jobs[name], small_jobs.get(name)) for name in big_jobs
                 if "job" in opts.only or opts.only in name]
    lines += _table(rows, opts)
    lines += [ratio_line(f"{label}@big", "small", b.rps, sm.rps) for label, _, b, sm in rows
              if b is not None and sm is not None and b.requests and sm.requests]
    return lines


async def _settle(ctx: BenchContext) -> str:
    """A checkpoint between the load and the first timed request, so the writes a load leaves behind are flushed
    before anything is measured rather than during it. (A members search's 91 ms tail right after a full load, which
    this was first added for, was its cached plan: `_member_query`.) It needs a superuser (or pg_checkpoint):
    DATABASE_URL's role, when it has the right."""
    unsettled = "the first endpoints may meet the load's writes"
    if not ctx.settings.database_url:
        return f"no checkpoint before measuring (no DATABASE_URL): {unsettled}"
    try:
        conn = await asyncpg.connect(dsn_with(ctx.settings.database_url, database=ctx.infra.database_name), timeout=30)
    except (OSError, asyncpg.PostgresError) as e:
        return f"no checkpoint before measuring ({e.__class__.__name__}): {unsettled}"
    try:
        started = time.perf_counter()
        await conn.execute("CHECKPOINT")
        return f"checkpoint before measuring: {time.perf_counter() - started:.1f} s"
    except asyncpg.PostgresError as e:
        return f"no checkpoint before measuring ({e}): {unsettled}"
    finally:
        await conn.close()


def _cell(result: LoadResult | None, which: str) -> str:
    if result is None or not result.requests:
        return "—"
    return f"{getattr(result, which):.1f}"


def _statuses(result: LoadResult | None) -> str:
    if result is None:
        return "—"
    cut = " cut" if result.timed_out else ""
    return " ".join(f"{code}×{n}" for code, n in sorted(result.statuses.items())) + cut


def _table(rows: list[tuple[str, str, LoadResult | None, LoadResult | None]], opts: argparse.Namespace) -> list[str]:
    head = (f"{'endpoint':34s} | {'big p50':>8s} | {'big p95':>8s} | {'small p50':>9s} | {'small p95':>9s} | "
            f"{'target':>6s} | status codes (big / small)")
    out = ["", f"latency in ms; lists {opts.samples} requests over {opts.conc} connections, statistics and dashboards "
               f"{opts.heavy_samples} one at a time, jobs 3 runs", head, "-" * len(head)]
    for label, kind, big, small in rows:
        target = TARGET_MS.get(kind)
        missed = target is not None and any(r is not None and r.requests and r.p95 > target for r in (big, small))
        out.append(f"{label:34s} | {_cell(big, 'p50'):>8s} | {_cell(big, 'p95'):>8s} | {_cell(small, 'p50'):>9s} | "
                   f"{_cell(small, 'p95'):>9s} | {f'{target:.0f}' if target else '—':>6s} | "
                   f"{_statuses(big)} / {_statuses(small)}{'  MISS' if missed else ''}")
    out.append("")
    return out
