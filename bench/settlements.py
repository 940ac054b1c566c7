"""Settlements at scale: one developer with PROJECTS projects (default 60; `--extra --projects N`) and three
years of accounts each: six approved budget forms a month of eight lines, three payments a line (nine in ten
confirmed, one in twenty refused, the rest awaiting confirmation) and an approved settlement for every month
but the last, bulk-loaded by SQL. At the default size: about 100,000 budget lines, 300,000 payments and
2,100 settlements. Then, interleaved:

    bare_db          GET /api/_bench/bare_db?tenant=                   the request's transaction and one query
    settlements      GET /api/v1/settlements                            every project's months (the contract's)
    settlements_p    GET /api/v1/settlements?project=P01               one project's months, as its property staff
    waiting          GET /api/v1/settlement-payments?status=recorded   the queue awaiting confirmation
    payments_month   GET /api/v1/settlement-payments?project=P01&month=M  one project's month of payments
    budgets          GET /api/v1/settlement-budgets?month=M            the month's forms of every project
    budget           GET /api/v1/settlement-budgets/{id}               one form with each line's use
    vs_actual        GET /api/v1/settlement-reports/budget-vs-actual?year=Y   budget vs actual, every project

Ends with each one's ratio to `bare_db`. `BENCH_DATABASE` keeps the loaded company (`bench-settlements`).
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import date

import asyncpg

from careclub.core.bench import BenchContext, BenchTenant, Endpoint
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from careclub.settlements.service import _figures

SLUG = "bench-settlements"
MONTHS = 36

WORLD = """
[tenant]
slug = "{slug}"
name = "Bench developer"
currency = "CNY"
timezone = "Asia/Shanghai"
locale = "zh_CN"
{units}
[[roles]]
code = "auditor"
name = "Auditor"
permissions = ["dashboard.view", "settlements.read"]

[[roles]]
code = "property"
name = "Property manager"
permissions = ["dashboard.view", "settlements.read", "settlements.prepare"]

[[staff]]
email = "auditor@{slug}.bench"
name = "Auditor"
unit = "HQ"
roles = ["auditor"]

[[staff]]
email = "property@{slug}.bench"
name = "Property"
unit = "P01"
roles = ["property"]
"""

UNIT = """
[[org_units]]
code = "P{n:02d}"
name = "Project {n}"
kind = "project"
"""

# Month m (0 = the oldest) of project p; form k (0-3 the monthly forms of the four types, 4 unplanned, 5 sales
# office); line l. Ids are md5s of their coordinates, so payments find their line without a join.
LOAD = """
WITH projects AS (SELECT id, row_number() OVER (ORDER BY code) AS p FROM org_unit
                  WHERE tenant_id = $1 AND kind = 'project'),
forms AS (
  INSERT INTO settlement_budget (id, tenant_id, created_at, project_id, phase_id, number, kind, cost_type, month,
    title, note, stage, status, total, approval_request, requested_by, requested_by_name, submitted_at, decided_at,
    updated_at)
  SELECT md5($1::text || 'b' || pr.p || '-' || m || '-' || k)::uuid, $1, $2::date + make_interval(months => m),
    pr.id, NULL, to_char($2::date + make_interval(months => m), 'YYYY-MM') || '-B' || k, CASE WHEN k < 4 THEN
    'monthly' WHEN k = 4 THEN 'unplanned' ELSE 'sales_office' END,
    (ARRAY['staff', 'admin', 'purchase', 'special', 'special', 'purchase'])[k + 1],
    ($2::date + make_interval(months => m))::date, 'bench', '', 'post_move_in', 'approved', 8 * 100000, NULL, NULL,
    '', now(), now(), now()
  FROM projects pr, generate_series(0, $3::int - 1) m, generate_series(0, 5) k RETURNING 1),
lines AS (
  INSERT INTO settlement_budget_line (id, tenant_id, created_at, budget, line_no, cost_type, description, quantity,
    amount)
  SELECT md5($1::text || 'l' || pr.p || '-' || m || '-' || k || '-' || l)::uuid, $1, now(),
    md5($1::text || 'b' || pr.p || '-' || m || '-' || k)::uuid, l,
    (ARRAY['staff', 'admin', 'purchase', 'special', 'special', 'purchase'])[k + 1], 'bench line', '', 100000
  FROM projects pr, generate_series(0, $3::int - 1) m, generate_series(0, 5) k, generate_series(1, 8) l
  RETURNING 1)
INSERT INTO settlement_payment (id, tenant_id, created_at, project_id, budget, line, cost_type, month, amount,
  paid_on, payee, evidence, note, status, recorded_by, recorded_by_name, decided_by, decided_by_name, decided_at,
  refused_reason, settlement)
SELECT md5($1::text || 'p' || pr.p || '-' || m || '-' || k || '-' || l || '-' || x)::uuid, $1,
  $2::date + make_interval(months => m, hours => x * 24 + l), pr.id,
  md5($1::text || 'b' || pr.p || '-' || m || '-' || k)::uuid,
  md5($1::text || 'l' || pr.p || '-' || m || '-' || k || '-' || l)::uuid,
  (ARRAY['staff', 'admin', 'purchase', 'special', 'special', 'purchase'])[k + 1],
  ($2::date + make_interval(months => m))::date, 30000 + x * 17, ($2::date + make_interval(months => m))::date + x,
  'Supplier', 'bench', '', CASE WHEN (l + x + m) % 20 = 0 THEN 'refused' WHEN (l * 3 + x + k) % 10 = 0
  THEN 'recorded' ELSE 'confirmed' END, NULL, '', NULL, '', now(), '', NULL
FROM projects pr, generate_series(0, $3::int - 1) m, generate_series(0, 5) k, generate_series(1, 8) l,
  generate_series(1, 3) x
"""

# Every month but the last settled and approved, its sums computed from its confirmed payments.
SETTLE = """
WITH sums AS (
  SELECT project_id, month, sum(amount) FILTER (WHERE cost_type = 'staff') AS s,
    sum(amount) FILTER (WHERE cost_type = 'admin') AS a, sum(amount) FILTER (WHERE cost_type = 'purchase') AS pu,
    sum(amount) FILTER (WHERE cost_type = 'special') AS sp, count(*) AS n
  FROM settlement_payment WHERE tenant_id = $1 AND status = 'confirmed' AND month < $2 GROUP BY project_id, month),
made AS (
  INSERT INTO settlement (id, tenant_id, created_at, project_id, month, number, status, stage, cost_staff, cost_admin,
    cost_purchase, cost_special, adjustments, confirmed_cost, budget_total, fee_rate_bp, management_fee, total,
    payment_count, due_on, approval_request, compiled_by, compiled_by_name, compiled_at, submitted_at, approved_at,
    late)
  SELECT md5($1::text || 's' || project_id || month)::uuid, $1, now(), project_id, month, 'B-' || month, 'approved',
    'post_move_in', coalesce(s, 0), coalesce(a, 0), coalesce(pu, 0), coalesce(sp, 0), 0,
    coalesce(s, 0) + coalesce(a, 0) + coalesce(pu, 0) + coalesce(sp, 0), 4800000, 1000,
    ((coalesce(s, 0) + coalesce(a, 0) + coalesce(pu, 0) + coalesce(sp, 0)) * 1000 + 5000) / 10000,
    coalesce(s, 0) + coalesce(a, 0) + coalesce(pu, 0) + coalesce(sp, 0)
      + ((coalesce(s, 0) + coalesce(a, 0) + coalesce(pu, 0) + coalesce(sp, 0)) * 1000 + 5000) / 10000,
    n, (month + interval '1 month' + interval '21 days')::date, NULL, NULL, '', now(), now(), now(), false
  FROM sums RETURNING id, project_id, month)
UPDATE settlement_payment p SET settlement = made.id FROM made
WHERE p.tenant_id = $1 AND p.project_id = made.project_id AND p.month = made.month AND p.status = 'confirmed'
"""


def _projects(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="careclub bench settlements")
    parser.add_argument("--projects", type=int, default=60)
    known, _ = parser.parse_known_args(args)
    return min(max(int(known.projects), 2), 99)


async def _company(ctx: BenchContext, projects: int) -> tuple[uuid.UUID, dict[str, dict[str, str]], list[str], date]:
    notes: list[str] = []
    today = date.today()
    index = today.year * 12 + today.month - 1 - (MONTHS - 1)
    first = date(index // 12, index % 12 + 1, 1)  # MONTHS months up to and including this one
    tenant = await platform_service.tenant_by_slug(SLUG)
    if tenant is None:
        units = "".join(UNIT.format(n=n) for n in range(1, projects + 1))
        await apply_text(WORLD.format(slug=SLUG, units=units), demo=False)
        tenant = await platform_service.tenant_by_slug(SLUG)
        assert tenant is not None
    headers: dict[str, dict[str, str]] = {}
    async with tenant_scope(tenant.id):
        for who in ("auditor", "property"):
            row = await User.select(User.id).where(User.email == f"{who}@{SLUG}.bench").first()
            assert row is not None
            token, _ = await platform_service.issue_token(row["id"], kind="login", hours=24)
            headers[who] = {"authorization": f"Bearer {token}"}
    conn = await asyncpg.connect(ctx.infra.owner_dsn)
    try:
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant.id))
        have = int(await conn.fetchval("SELECT count(*) FROM settlement_payment WHERE tenant_id = $1", tenant.id))
        if have == 0:
            started = time.perf_counter()
            await conn.execute(LOAD, tenant.id, first, MONTHS)
            await conn.execute(SETTLE, tenant.id, today.replace(day=1))
            await conn.execute(_figures.REBUILD)  # the running sums the writes would have kept
            await conn.execute("ANALYZE settlement_budget; ANALYZE settlement_budget_line; "
                               "ANALYZE settlement_payment; ANALYZE settlement; ANALYZE settlement_figure")
            have = int(await conn.fetchval("SELECT count(*) FROM settlement_payment WHERE tenant_id = $1", tenant.id))
            notes.append(f"{SLUG}: {projects} projects, {have:,} payments loaded in "
                         f"{time.perf_counter() - started:.0f} s")
        else:
            notes.append(f"{SLUG}: {have:,} payments found loaded")
        budget = await conn.fetchval("SELECT id FROM settlement_budget WHERE tenant_id = $1 ORDER BY month DESC, "
                                     "number LIMIT 1", tenant.id)
    finally:
        await conn.close()
    headers["budget"] = {"id": str(budget)}
    return tenant.id, headers, notes, first


async def run(ctx: BenchContext) -> list[str]:
    projects = _projects(ctx.args)
    tenant_id, headers, notes, _first = await _company(ctx, projects)
    baseline = BenchTenant(slug=SLUG, tenant_id=tenant_id, token="", email="", password="")
    last = date.today().replace(day=1)
    month = f"{last.year:04d}-{last.month:02d}"
    auditor, prop = headers["auditor"], headers["property"]
    endpoints = [
        ctx.bare_db_endpoint(baseline),
        Endpoint("settlements", "/api/v1/settlements", headers=auditor),
        Endpoint("settlements_p", "/api/v1/settlements?project=P01", headers=prop),
        Endpoint("waiting", "/api/v1/settlement-payments?status=recorded", headers=auditor),
        Endpoint("payments_month", f"/api/v1/settlement-payments?project=P01&month={month}", headers=prop),
        Endpoint("budgets", f"/api/v1/settlement-budgets?month={month}", headers=auditor),
        Endpoint("budget", f"/api/v1/settlement-budgets/{headers['budget']['id']}", headers=auditor),
        Endpoint("vs_actual", f"/api/v1/settlement-reports/budget-vs-actual?year={last.year}", headers=auditor),
    ]
    results = await ctx.compare(endpoints, requests=min(ctx.requests, 400))
    base = results["bare_db"]
    return [*notes, *(r.line() for r in results.values()),
            *(ctx.ratio(label, "bare_db", results[label], base) for label in results if label != "bare_db")]
