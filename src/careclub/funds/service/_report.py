"""The supervision report (监督评价报告) finance gives the leadership for one fund's year: money in by
source, the approved plan against what was committed and spent (by category and by month), requests by
status, reimbursed claims, open commitments and overdue accrual periods. Read-only and set-based: a
handful of grouped queries whatever the number of requests."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from careclub.core.db import current_tenant_id, fetch
from careclub.core.paging import CAP, capped

# Money in: the funding accounts are credit (negative) in the debit-positive ledger. From the fund's running
# sums per month (kept with every posting), not from the postings: a few dozen rows for a year.
_MONEY_IN = """
SELECT account, -coalesce(sum(amount), 0)::bigint AS amount
FROM fund_month WHERE tenant_id = $1 AND fund = $2 AND account IN ('accrued', 'contributed', 'brought_forward')
GROUP BY account
"""

# The approved plan's lines and live requests, by category and month. An in-plan request counts in its
# line's month (so plan and actual meet on the same row); an off-plan one in its batch's month.
_BY_CATEGORY_MONTH = """
WITH plan AS (
    SELECT id FROM fund_plan WHERE tenant_id = $1 AND fund = $2 AND status = 'approved'
    ORDER BY version DESC LIMIT 1
), lines AS (
    SELECT l.code, l.category, l.month, l.amount FROM fund_plan_line l JOIN plan p ON l.plan = p.id
    WHERE l.tenant_id = $1
), planned AS (
    SELECT category, month, sum(amount)::bigint AS planned FROM lines GROUP BY category, month
), actual AS (
    SELECT coalesce(nullif(r.category, ''), l.category, '') AS category,
           coalesce(l.month, substr(r.batch_month, 6, 2)::int) AS month,
           sum(r.committed)::bigint AS committed, sum(r.spent)::bigint AS spent
    FROM fund_request r LEFT JOIN lines l ON r.in_plan AND l.code = r.plan_line_code
    WHERE r.tenant_id = $1 AND r.fund = $2 AND r.status IN ('approved', 'claimed', 'reimbursed')
    GROUP BY 1, 2
)
SELECT coalesce(p.category, a.category) AS category, coalesce(p.month, a.month) AS month,
       coalesce(p.planned, 0)::bigint AS planned, coalesce(a.committed, 0)::bigint AS committed,
       coalesce(a.spent, 0)::bigint AS spent
FROM planned p FULL JOIN actual a ON a.category = p.category AND a.month = p.month
ORDER BY 1, 2
"""

_BY_STATUS = """
SELECT status, count(*)::int AS n, sum(amount)::bigint AS amount, sum(committed)::bigint AS committed,
       sum(spent)::bigint AS spent
FROM fund_request WHERE tenant_id = $1 AND fund = $2 GROUP BY status ORDER BY status
"""

_REIMBURSED = """
SELECT c.id, c.total, c.created_at, r.id AS request_id, r.number, r.title, r.amount, r.requester_name
FROM fund_claim c JOIN fund_request r ON r.tenant_id = c.tenant_id AND r.id = c.request
WHERE c.tenant_id = $1 AND r.fund = $2 AND c.status = 'reimbursed'
ORDER BY r.number
"""

_OPEN_COMMITMENTS = """
SELECT id, number, title, status, committed, batch_month, requester_name
FROM fund_request WHERE tenant_id = $1 AND fund = $2 AND committed > 0 ORDER BY number
"""

_OVERDUE = """
SELECT p.id, p.label, p.due_on, p.amount, p.paid, (p.amount - p.paid)::bigint AS outstanding, r.code AS rule_code,
       r.name AS rule_name, r.source
FROM fund_accrual_period p JOIN fund_accrual_rule r ON r.tenant_id = p.tenant_id AND r.id = p.rule
WHERE p.tenant_id = $1 AND p.fund = $2 AND p.due_on < $3 AND p.paid < p.amount
ORDER BY p.due_on
"""


async def fund_report(fund_id: uuid.UUID, *, today: date) -> dict[str, Any]:
    """Everything the report shows for one fund (its year), in minor units."""
    tenant = current_tenant_id()
    money_in = {r["account"]: r["amount"] for r in await fetch(_MONEY_IN, tenant, fund_id)}
    rows = await fetch(_BY_CATEGORY_MONTH, tenant, fund_id)
    for r in rows:
        r["remaining"] = r["planned"] - r["committed"] - r["spent"]
    by_category: dict[str, dict[str, Any]] = {}
    by_month = {m: {"month": m, "planned": 0, "committed": 0, "spent": 0} for m in range(1, 13)}
    for r in rows:
        cat = by_category.setdefault(r["category"], {"category": r["category"], "planned": 0, "committed": 0,
                                                      "spent": 0})
        month = by_month.setdefault(r["month"], {"month": r["month"], "planned": 0, "committed": 0, "spent": 0})
        for key in ("planned", "committed", "spent"):
            cat[key] += r[key]
            month[key] += r[key]
    for group in (*by_category.values(), *by_month.values()):
        group["remaining"] = group["planned"] - group["committed"] - group["spent"]
    statuses = await fetch(_BY_STATUS, tenant, fund_id)
    reimbursed = await fetch(_REIMBURSED, tenant, fund_id)
    commitments = await fetch(_OPEN_COMMITMENTS, tenant, fund_id)
    overdue = await fetch(_OVERDUE, tenant, fund_id, today)
    totals = {k: sum(r[k] for r in rows) for k in ("planned", "committed", "spent", "remaining")}
    return {
        "money_in": {k: money_in.get(k, 0) for k in ("accrued", "contributed", "brought_forward")},
        "money_in_total": sum(money_in.values()),
        "lines": rows, "by_category": sorted(by_category.values(), key=lambda c: c["category"]),
        "by_month": [by_month[m] for m in sorted(by_month)], "totals": totals,
        "statuses": statuses, "reimbursed": reimbursed, "reimbursed_total": sum(r["total"] for r in reimbursed),
        "commitments": commitments, "committed_total": sum(r["committed"] for r in commitments),
        "overdue": overdue, "overdue_total": sum(r["outstanding"] for r in overdue),
    }


_REQUEST_ROWS = """
SELECT r.id, r.number, r.title, r.category, r.in_plan, r.plan_line_code, r.batch_month, r.amount, r.committed,
       r.spent, r.status, r.requester_name, r.created_at, u.code AS unit_code, u.name AS unit_name
FROM fund_request r LEFT JOIN org_unit u ON u.tenant_id = r.tenant_id AND u.id = r.org_unit_id
WHERE r.tenant_id = $1 AND r.fund = $2
  AND ($3::text IS NULL OR r.status = $3) AND ($4::boolean IS NULL OR r.in_plan = $4)
  AND ($5::text IS NULL OR r.batch_month = $5)
ORDER BY r.number DESC
LIMIT $6
"""


async def request_rows(fund_id: uuid.UUID, *, status: str | None = None, in_plan: bool | None = None,
                       batch: str | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
    """A fund's requests for finance's list download, filtered, newest number first."""
    return await fetch(_REQUEST_ROWS, current_tenant_id(), fund_id, status, in_plan, batch, limit)


# A keyset page of a fund's requests: the page's rows are read from the fund's index (tenant, fund,
# created_at DESC, id DESC) first, the names (and, for the API, the claims with their evidence) joined to
# those rows only. A fund's requests are numbered in the order they are filed, so newest first is also
# highest number first.
_PAGE_CLAIMS = """
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'id', c.id, 'total', c.total, 'note', c.note, 'status', c.status, 'refusal', c.refusal,
               'created_at', c.created_at, 'items', c.items, 'signoffs', c.signoffs,
               'attachments', coalesce((
                   SELECT jsonb_agg(jsonb_build_object('id', a.id, 'filename', a.filename,
                                                       'content_type', a.content_type, 'size', a.size)
                                    ORDER BY a.created_at)
                   FROM attachment a
                   WHERE a.tenant_id = c.tenant_id AND a.owner_kind = 'fund_claim' AND a.owner_id = c.id), '[]'))
               ORDER BY c.created_at)::text AS claims
    FROM fund_claim c WHERE c.tenant_id = r.tenant_id AND c.request = r.id) cl ON TRUE
"""


def _request_where(args: list[Any], fund_id: uuid.UUID, *, status: str | None, in_plan: bool | None,
                   batch: str | None) -> list[str]:
    args += [current_tenant_id(), fund_id]
    where = ["tenant_id = $1", "fund = $2"]
    for column, value in (("status", status), ("in_plan", in_plan), ("batch_month", batch)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    return where


async def request_page(fund_id: uuid.UUID, *, status: str | None = None, in_plan: bool | None = None,
                       batch: str | None = None, after: tuple[datetime, uuid.UUID] | None = None, limit: int = 50,
                       offset: int = 0, claims: bool = False) -> tuple[list[dict[str, Any]], int, bool]:
    """A keyset page of the fund's requests, newest first (`limit` rows: ask for one more than shown to know
    whether there is a next page), with how many match (counted up to `CAP`) and whether there are more.
    `claims`: each row also carries its claims, each with its evidence (as `get_request` has them), read in
    the same statement."""
    args: list[Any] = []
    where = _request_where(args, fund_id, status=status, in_plan=in_plan, batch=batch)
    filters = " AND ".join(where)
    counted = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM fund_request WHERE {filters} "
                          f"LIMIT {CAP + 1}) AS capped", *args)
    total, more = capped(int(counted[0]["n"]))
    if after is not None:
        args += [after[0], after[1]]
        where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args += [limit, offset]
    rows = await fetch(f"""
        SELECT r.*, f.code AS fund_code, f.year AS fund_year, f.name AS fund_name, u.code AS unit_code,
               u.name AS unit_name, u.path AS unit_path{", cl.claims" if claims else ""}
        FROM (SELECT * FROM fund_request WHERE {" AND ".join(where)}
              ORDER BY created_at DESC, id DESC LIMIT ${len(args) - 1} OFFSET ${len(args)}) r
        JOIN care_fund f ON f.tenant_id = r.tenant_id AND f.id = r.fund
        LEFT JOIN org_unit u ON u.tenant_id = r.tenant_id AND u.id = r.org_unit_id
        {_PAGE_CLAIMS if claims else ""}
        ORDER BY r.created_at DESC, r.id DESC""", *args)
    if claims:
        for r in rows:
            r["claims"] = [_claim(c) for c in json.loads(r["claims"] or "[]")]
    return rows, total, more


def _claim(c: dict[str, Any]) -> dict[str, Any]:
    """A claim read as JSON, typed as `get_claim` answers it."""
    c["id"] = uuid.UUID(c["id"])
    c["created_at"] = datetime.fromisoformat(c["created_at"])
    for a in c["attachments"]:
        a["id"] = uuid.UUID(a["id"])
    return c
