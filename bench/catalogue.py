"""Paid services at scale: one company with ORDERS service orders (default 200,000; `--extra --orders N`),
each with its service_order ticket, bulk-loaded by SQL over the last ORDERS minutes; then, interleaved:

    bare_db        GET /api/_bench/bare_db?tenant=          the request's tenant transaction and one query
    orders         GET /api/v1/service-orders               the site manager's first page, newest first
    orders_open    GET /api/v1/service-orders?status=open    the cashier's orders still open
    order_number   GET /api/v1/service-orders?q=NUMBER       one order by its number
    catalogue      GET /api/v1/catalogue?project=P1          the published catalogue (the contract's)
    figures        GET /api/v1/catalogue/figures?month=M     last month's revenue, cost, margin per service
    quality        GET /api/v1/catalogue/quality?since=&until=  the last 30 days' quality by service
    quality_year   the same for the last 365 days, by staff member (a year's appraisal)
    quality_subcontractor  the last 365 days by subcontractor

Ends with each one's ratio to `bare_db` (requests per second): how many times a plain indexed query each
costs, whatever the machine. `BENCH_DATABASE` keeps a loaded company for later runs (it is found by slug).
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import date, timedelta

import asyncpg

from careclub.core.bench import BenchContext, BenchTenant, Endpoint
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from careclub.tickets.service import ensure_builtin_types

SLUG = "bench-catalogue"

WORLD = """
[tenant]
slug = "{slug}"
name = "Bench services"
currency = "CNY"
timezone = "Asia/Shanghai"
locale = "zh_CN"

[[org_units]]
code = "P1"
name = "Garden One"
kind = "project"

[[org_units]]
code = "P1-CS"
name = "Desk"
kind = "department"
parent = "P1"

[[org_units]]
code = "FIN"
name = "Finance"
kind = "department"

[[roles]]
code = "site_manager"
name = "Site manager"
permissions = ["dashboard.view", "catalogue.read", "catalogue.manage", "tickets.handle", "tickets.dispatch"]

[[staff]]
email = "site@{slug}.bench"
name = "Site"
unit = "P1"
roles = ["site_manager"]

[[staff]]
email = "cashier@{slug}.bench"
name = "Cashier"
unit = "FIN"
roles = [{{ role = "finance", unit = "P1" }}]

[[catalogue.items]]
code = "CLEAN"
name = "Deep cleaning"
category = "cleaning"
project = "P1"
department = "P1-CS"
fee_basis = "per_m2"
fee = "5.00"

[[catalogue.items]]
code = "WASH"
name = "Car wash"
category = "car_wash"
project = "P1"
department = "P1-CS"
fee = "30.00"

[[catalogue.items]]
code = "FIX"
name = "Appliance repair"
category = "repair"
project = "P1"
department = "P1-CS"
fee_basis = "quoted"
fee_min = "50.00"
fee_max = "300.00"
"""

# One ticket and one order a minute back from now; 8 in 10 settled (and closed, rated), 1 in 10 resolved but not
# settled, 1 in 10 just registered; a few breached or reworked.
LOAD = """
WITH items AS (SELECT id, current_version, row_number() OVER (ORDER BY code) AS n FROM service_item
               WHERE tenant_id = $1),
tickets AS (
  INSERT INTO ticket (id, tenant_id, created_at, type, type_code, number, title, description, status, priority,
    source, project_id, department, fields, checklist, sla_minutes, sla_used, warned, breached, escalated,
    reopen_count, version, resolved_at, closed_at, satisfaction, updated_at, subcontractor, contact_name,
    contact_phone)
  SELECT md5($1::text || 't' || g)::uuid, $1, now() - make_interval(mins => g), $2, 'service_order', 'FWB-' || g,
    'bench', '', CASE WHEN g % 10 < 8 THEN 'closed' ELSE 'registered' END, 'normal', 'portal', $3, $4, '{}', '{}',
    600, 0, false, g % 17 = 0, false, CASE WHEN g % 23 = 0 THEN 1 ELSE 0 END, 1,
    CASE WHEN g % 10 < 9 THEN now() - make_interval(mins => g) + interval '2 hours' END,
    CASE WHEN g % 10 < 8 THEN now() - make_interval(mins => g) + interval '3 hours' END,
    CASE WHEN g % 10 < 8 THEN 1 + g % 5 END, now(), '', 'Bench ' || g, ''
  FROM generate_series(1, $5::int) g RETURNING 1)
INSERT INTO service_order (id, tenant_id, created_at, ticket, number, item, item_version, project_id, source,
  quantity_centi, currency, price, prepay_kind, prepay_amount, prepaid, status, final_amount, balance, refund_due,
  settled_at, note, version, updated_at, labour_minutes, labour_rate, materials_cost, subcontractor_fee, cost_total)
SELECT md5($1::text || 'o' || g)::uuid, $1, now() - make_interval(mins => g), md5($1::text || 't' || g)::uuid,
  'FWB-' || g, it.id, it.current_version, $3, 'portal', 100, 'CNY', 5000, 'none', 0, 0,
  CASE WHEN g % 10 < 8 THEN 'settled' ELSE 'open' END, CASE WHEN g % 10 < 8 THEN 5000 END, 0, 0,
  CASE WHEN g % 10 < 8 THEN now() - make_interval(mins => g) + interval '3 hours' END, '', 1, now(), 30, 4000,
  500, 0, 2500
FROM generate_series(1, $5::int) g JOIN items it ON it.n = 1 + g % 3
"""


def _orders(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="careclub bench catalogue")
    parser.add_argument("--orders", type=int, default=200_000)
    known, _ = parser.parse_known_args(args)
    return max(int(known.orders), 1000)


async def _company(ctx: BenchContext, orders: int) -> tuple[uuid.UUID, dict[str, dict[str, str]], list[str]]:
    notes: list[str] = []
    tenant = await platform_service.tenant_by_slug(SLUG)
    if tenant is None:
        await apply_text(WORLD.format(slug=SLUG), demo=False)
        tenant = await platform_service.tenant_by_slug(SLUG)
        assert tenant is not None
    headers: dict[str, dict[str, str]] = {}
    async with tenant_scope(tenant.id):
        await ensure_builtin_types()
        for who in ("site", "cashier"):
            row = await User.select(User.id).where(User.email == f"{who}@{SLUG}.bench").first()
            assert row is not None
            token, _ = await platform_service.issue_token(row["id"], kind="login", hours=24)
            headers[who] = {"authorization": f"Bearer {token}"}
    conn = await asyncpg.connect(ctx.infra.owner_dsn)
    try:
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant.id))
        have = int(await conn.fetchval("SELECT count(*) FROM service_order WHERE tenant_id = $1", tenant.id))
        if have < orders:
            await conn.execute("DELETE FROM service_order WHERE tenant_id = $1 AND number LIKE 'FWB-%'", tenant.id)
            await conn.execute("DELETE FROM ticket WHERE tenant_id = $1 AND number LIKE 'FWB-%'", tenant.id)
            ticket_type = await conn.fetchval("SELECT id FROM ticket_type WHERE tenant_id = $1 AND code ="
                                              " 'service_order'", tenant.id)
            project = await conn.fetchval("SELECT id FROM org_unit WHERE tenant_id = $1 AND code = 'P1'", tenant.id)
            desk = await conn.fetchval("SELECT id FROM org_unit WHERE tenant_id = $1 AND code = 'P1-CS'", tenant.id)
            started = time.perf_counter()
            await conn.execute(LOAD, tenant.id, ticket_type, project, desk, orders)
            # vacuumed, not only analysed: the quality figures read an index-only scan, which needs the pages
            # marked all-visible (as autovacuum leaves a company's older orders)
            for table in ("ticket", "service_order"):
                await conn.execute(f"VACUUM (ANALYZE) {table}")
            notes.append(f"{SLUG}: {orders:,} orders and their tickets loaded in {time.perf_counter() - started:.0f} s")
        else:
            notes.append(f"{SLUG}: {have:,} orders found loaded")
    finally:
        await conn.close()
    return tenant.id, headers, notes


async def run(ctx: BenchContext) -> list[str]:
    orders = _orders(ctx.args)
    tenant_id, headers, notes = await _company(ctx, orders)
    baseline = BenchTenant(slug=SLUG, tenant_id=tenant_id, token="", email="", password="")
    today = date.today()
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    period = f"since={(today - timedelta(days=30)).isoformat()}&until={today.isoformat()}"
    year = f"since={(today - timedelta(days=365)).isoformat()}&until={today.isoformat()}"
    site, cashier = headers["site"], headers["cashier"]
    endpoints = [
        ctx.bare_db_endpoint(baseline),
        Endpoint("orders", "/api/v1/service-orders", headers=site),
        Endpoint("orders_open", "/api/v1/service-orders?status=open", headers=cashier),
        Endpoint("order_number", f"/api/v1/service-orders?q=FWB-{orders // 2}", headers=site),
        Endpoint("catalogue", "/api/v1/catalogue?project=P1", headers=site),
        Endpoint("figures", f"/api/v1/catalogue/figures?month={month}", headers=site),
        Endpoint("quality", f"/api/v1/catalogue/quality?{period}", headers=site),
        Endpoint("quality_year", f"/api/v1/catalogue/quality?{year}&by=staff", headers=site),
        Endpoint("quality_subcontractor", f"/api/v1/catalogue/quality?{year}&by=subcontractor", headers=site),
    ]
    results = await ctx.compare(endpoints, requests=min(ctx.requests, 400))
    base = results["bare_db"]
    return [*notes, *(r.line() for r in results.values()),
            *(ctx.ratio(label, "bare_db", results[label], base) for label in results if label != "bare_db")]
