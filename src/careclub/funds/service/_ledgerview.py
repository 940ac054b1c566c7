"""Reading the ledger: a fund's entries as the ledger form (台账) shows them, a keyset page at a time,
one entry with all its postings, and the monthly flows the overview's chart draws. All set-based:
a fund with millions of postings answers a page from the (tenant, fund, voucher) index, and its monthly
flows from the running sums per month."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import NotFound
from careclub.funds.rules import AVAILABLE


async def ledger_page(fund_id: uuid.UUID, *, cause: str | None = None, since: date | None = None,
                      until: date | None = None, before_seq: int | None = None, limit: int = 50
                      ) -> list[dict[str, Any]]:
    """Entries touching the fund, newest first by the fund's own voucher number (`seq` here): each with
    its effect on every account of the fund (`moves`) and the available balance after it. A page is read
    from the (tenant, fund, voucher) index, however long the ledger. Filtered by cause or days, it reads
    only the stretches of vouchers where such entries are (`voucher_ranges`), newest first, until the page
    is full: a rare cause or an early month costs what the newest page costs."""
    if cause is None and since is None and until is None:
        return await _page(fund_id, {}, before_seq, limit)
    rows: list[dict[str, Any]] = []
    for lo, hi in await voucher_ranges(fund_id, cause=cause, since=since, until=until):
        if before_seq is not None:
            hi = min(hi, before_seq - 1)
        if hi < lo:
            continue
        rows += await _page(fund_id, {"cause": cause, "since": since, "until": until, "lo": lo, "hi": hi},
                            None, limit - len(rows))
        if len(rows) >= limit:
            break
    return rows


async def _page(fund_id: uuid.UUID, filters: dict[str, Any], before_seq: int | None, limit: int
                ) -> list[dict[str, Any]]:
    args: list[Any] = [current_tenant_id(), fund_id]
    where = ""
    for clause, value in (("e.cause = ${}", filters.get("cause")), ("e.occurred_on >= ${}", filters.get("since")),
                          ("e.occurred_on <= ${}", filters.get("until")), ("p.voucher >= ${}", filters.get("lo")),
                          ("p.voucher <= ${}", filters.get("hi")), ("p.voucher < ${}", before_seq)):
        if value is not None:
            args.append(value)
            where += " AND " + clause.format(len(args))
    args.append(limit)
    # An entry's postings in one fund share its voucher: grouping by the voucher in the index's order streams
    # (DISTINCT over voucher and entry hashed every posting of the fund before the LIMIT). The entries are
    # joined only when a filter reads them.
    join = "JOIN fund_entry e ON e.tenant_id = p.tenant_id AND e.id = p.entry" if "e." in where else ""
    rows = await fetch(f"""
        WITH page AS (
            SELECT p.voucher, (array_agg(p.entry))[1] AS entry
            FROM fund_posting p {join}
            WHERE p.tenant_id = $1 AND p.fund = $2 {where}
            GROUP BY p.voucher ORDER BY p.voucher DESC LIMIT ${len(args)}
        )
        SELECT e.id, page.voucher AS seq, e.cause, e.cause_id, e.reference, e.memo, e.occurred_on, e.reverses,
               e.created_at, e.created_by_name, m.moves, m.available_after,
               (SELECT rp.voucher FROM fund_entry r JOIN fund_posting rp ON rp.tenant_id = r.tenant_id
                    AND rp.entry = r.id AND rp.fund = $2
                WHERE r.tenant_id = $1 AND r.reverses = e.id LIMIT 1) AS reversed_by
        FROM page JOIN fund_entry e ON e.tenant_id = $1 AND e.id = page.entry
        CROSS JOIN LATERAL (
            SELECT jsonb_object_agg(account, amount) AS moves,
                   max(balance_after) FILTER (WHERE account = '{AVAILABLE}') AS available_after
            FROM (SELECT account, sum(amount) AS amount, max(balance_after) AS balance_after FROM fund_posting
                  WHERE tenant_id = $1 AND entry = page.entry AND fund = $2 GROUP BY account) s
        ) m
        ORDER BY page.voucher DESC""", *args)
    for r in rows:
        r["moves"] = {k: int(v) for k, v in json.loads(r["moves"]).items()}
    return rows


async def voucher_ranges(fund_id: uuid.UUID, *, cause: str | None = None, since: date | None = None,
                         until: date | None = None) -> list[tuple[int, int]]:
    """The stretches of the fund's voucher numbers that hold every entry of the cause and days asked for,
    newest first and not overlapping, from the running sums per month (each row knows the first and last
    voucher of its month, cause and account); none when no entry can match. A month's entries sit together
    in the ledger (vouchers are taken as entries are written), so these are a few stretches, and a page
    walks only them instead of every newer posting."""
    args: list[Any] = [current_tenant_id(), fund_id]
    where = ""
    for clause, value in (("cause = ${}", cause), ("month >= date_trunc('month', ${}::date)::date", since),
                          ("month <= ${}", until)):
        if value is not None:
            args.append(value)
            where += " AND " + clause.format(len(args))
    rows = await fetch(f"SELECT min(first_voucher) AS lo, max(last_voucher) AS hi FROM fund_month "
                       f"WHERE tenant_id = $1 AND fund = $2 {where} GROUP BY month", *args)
    merged: list[list[int]] = []
    for r in sorted(rows, key=lambda r: r["lo"]):
        if merged and r["lo"] <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], r["hi"])
        else:
            merged.append([r["lo"], r["hi"]])
    return [(lo, hi) for lo, hi in reversed(merged)]


async def entry_detail(entry_id: uuid.UUID) -> dict[str, Any]:
    rows = await fetch("SELECT * FROM fund_entry WHERE tenant_id = $1 AND id = $2", current_tenant_id(), entry_id)
    if not rows:
        raise NotFound("no such ledger entry", code="entry_not_found", field="entry")
    entry = rows[0]
    entry["postings"] = await fetch(
        "SELECT p.fund, f.code AS fund_code, f.year AS fund_year, p.account, p.amount, p.balance_after, p.voucher "
        "FROM fund_posting p JOIN care_fund f ON f.tenant_id = p.tenant_id AND f.id = p.fund "
        "WHERE p.tenant_id = $1 AND p.entry = $2 ORDER BY f.code, f.year, p.account", current_tenant_id(), entry_id)
    reversed_by = await fetch("SELECT id, seq FROM fund_entry WHERE tenant_id = $1 AND reverses = $2",
                              current_tenant_id(), entry_id)  # seq: its voucher number in its first fund
    entry["reversed_by"] = reversed_by[0] if reversed_by else None
    return entry


async def monthly_flows(fund_id: uuid.UUID) -> list[dict[str, Any]]:
    """Per month of the fund's ledger: money in (accrued, contributed, brought forward), committed and
    spent — from the running sums per month, cause and account (fund_month), never from the postings."""
    return await fetch("""
        SELECT to_char(month, 'YYYY-MM') AS month,
               coalesce(-sum(amount) FILTER (WHERE account IN ('accrued', 'contributed', 'brought_forward')), 0)
                   ::bigint AS money_in,
               coalesce(sum(amount) FILTER (WHERE account = 'committed' AND cause = 'commitment'), 0)::bigint
                   AS committed,
               coalesce(sum(amount) FILTER (WHERE account = 'spent'), 0)::bigint AS spent
        FROM fund_month
        WHERE tenant_id = $1 AND fund = $2
        GROUP BY 1 ORDER BY 1""", current_tenant_id(), fund_id)
