"""The funds at scale (issue #10): the running sums per month (`fund_month`) that the overview, the report
and the filtered ledger read instead of every posting. They must equal a recount from the postings after
every kind of write, whatever the concurrency, stay inside their tenant, and give the pages the figures a
recount gives."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from careclub.core.db import fetch, tenant_scope
from careclub.core.infra import Infra
from careclub.funds import service
from careclub.funds.rules import AVAILABLE, COMMITTED, Line
from tests.conftest import PASSWORD
from tests.integration.funds.helpers import new_fund
from tests.integration.platform.pages import browser, login

# What the ledger kept, and the same made again from the postings and their entries.
_KEPT = """SELECT fund, month, cause, account, amount, postings, first_voucher, last_voucher FROM fund_month
           WHERE tenant_id = $1 ORDER BY 1, 2, 3, 4"""
_RECOUNT = """
    SELECT p.fund, date_trunc('month', e.occurred_on)::date AS month, e.cause, p.account,
           sum(p.amount)::bigint AS amount, count(*)::bigint AS postings,
           min(p.voucher) AS first_voucher, max(p.voucher) AS last_voucher
    FROM fund_posting p JOIN fund_entry e ON e.tenant_id = p.tenant_id AND e.id = p.entry
    WHERE p.tenant_id = $1 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
# The figures as they were read before the running sums: straight from the postings.
_FLOWS_FROM_POSTINGS = """
    SELECT to_char(e.occurred_on, 'YYYY-MM') AS month,
           coalesce(-sum(p.amount) FILTER (WHERE p.account IN ('accrued', 'contributed', 'brought_forward')), 0)
               ::bigint AS money_in,
           coalesce(sum(p.amount) FILTER (WHERE p.account = 'committed' AND e.cause = 'commitment'), 0)::bigint
               AS committed,
           coalesce(sum(p.amount) FILTER (WHERE p.account = 'spent'), 0)::bigint AS spent
    FROM fund_posting p JOIN fund_entry e ON e.tenant_id = p.tenant_id AND e.id = p.entry
    WHERE p.tenant_id = $1 AND p.fund = $2 GROUP BY 1 ORDER BY 1"""
_MONEY_IN_FROM_POSTINGS = """
    SELECT account, -coalesce(sum(amount), 0)::bigint AS amount FROM fund_posting
    WHERE tenant_id = $1 AND fund = $2 AND account IN ('accrued', 'contributed', 'brought_forward') GROUP BY account"""


async def _agree(tid: uuid.UUID, *funds: uuid.UUID) -> None:
    """The running sums equal the recount, row by row, and every fund's trial balance balances with them."""
    async with tenant_scope(tid):
        kept = await fetch(_KEPT, tid)
        recount = await fetch(_RECOUNT, tid)
        trials = [await service.trial_balance(f) for f in funds]
        quick = [await service.running_check(f) for f in funds]
    assert kept == recount
    assert all(t["balanced"] for t in trials), trials
    assert all(q["balanced"] for q in quick), quick


async def test_the_running_sums_equal_a_recount_after_every_kind_of_write(tenant: dict[str, Any]) -> None:
    tid = uuid.UUID(tenant["tenant_id"])
    fund = await new_fund(tenant, code="CARE", year=2025)
    fid = fund["id"]
    async with tenant_scope(tid):  # a contribution
        row = await service.record_contribution(fid, kind="reserve", source="set-up reserve", amount=900_000,
                                                received_on=date(2025, 1, 5))
    await _agree(tid, fid)
    async with tenant_scope(tid):  # its correction (a reversal)
        wrong = await service.record_contribution(fid, kind="other", source="typo", amount=12_345,
                                                  received_on=date(2025, 2, 3))
        await service.correct(wrong["entry"], reason="typed wrong", occurred_on=date(2025, 2, 4))
    await _agree(tid, fid)
    request = uuid.uuid4()
    async with tenant_scope(tid):  # a commitment, its claim reimbursed with money left over, another released
        await service.commit(fid, 200_000, cause_id=request, reference="REQ-1")
        await service.reimburse(fid, committed=200_000, actual=150_000, cause_id=request, reference="REQ-1")
        other = uuid.uuid4()
        await service.commit(fid, 50_000, cause_id=other)
        await service.release(fid, 50_000, cause_id=other)
    await _agree(tid, fid)
    async with tenant_scope(tid):  # an accrual and part of its payment
        rule = await service.save_rule(fund_code="CARE", code="SALES", name="sales", rate_bp=5, period="quarter")
        await service.enter_base(rule["id"], "2025Q1", 100_000_000)
        period = await service.enter_base(rule["id"], "2025Q1", 120_000_000)  # corrected: reversed, accrued again
        await service.record_payment(period["id"], 20_000, paid_on=date(2025, 4, 10))
    await _agree(tid, fid)
    async with tenant_scope(tid):  # the year-end rollover into a new fund: one entry over two funds
        moved = await service.rollover(2025)
        nxt = await service.fund_by_code("CARE", 2026)
    assert moved and nxt is not None
    await _agree(tid, fid, nxt["id"])
    async with tenant_scope(tid):  # a hand-made entry over two accounts and a backdated one
        await service.post(cause="correction", occurred_on=date(2026, 3, 1),
                           lines=[Line(nxt["id"], COMMITTED, 1_000), Line(nxt["id"], AVAILABLE, -1_000)])
        await service.record_contribution(nxt["id"], kind="reserve", source="late", amount=5_000,
                                          received_on=date(2026, 1, 20))
    await _agree(tid, fid, nxt["id"])
    assert row["entry_seq"] == 1


async def test_racing_writers_on_one_fund_lose_no_amount(tenant: dict[str, Any]) -> None:
    tid = uuid.UUID(tenant["tenant_id"])
    fund = await new_fund(tenant, contribute=1_000_000)

    async def one(k: int) -> None:
        async with tenant_scope(tid):  # a transaction each, all at once
            await service.commit(fund["id"], 1_000 + k, cause_id=uuid.uuid4())

    await asyncio.gather(*(one(k) for k in range(8)))
    await _agree(tid, fund["id"])
    async with tenant_scope(tid):
        flows = await service.monthly_flows(fund["id"])
        sums = await service.running_sums(fund["id"])
    assert sum(f["committed"] for f in flows) == sum(1_000 + k for k in range(8)) == sums["committed"]
    assert sums["available"] == 1_000_000 - sums["committed"]


async def test_the_pages_show_the_figures_a_recount_gives(app: Litestar, tenant: dict[str, Any]) -> None:
    tid = uuid.UUID(tenant["tenant_id"])
    fund = await new_fund(tenant, year=2025, contribute=500_000)
    fid = fund["id"]
    async with tenant_scope(tid):
        for month in (3, 5, 5, 9):
            await service.record_contribution(fid, kind="other", source=f"m{month}", amount=10_000 * month,
                                              received_on=date(2025, month, 2))
        await service.commit(fid, 120_000, cause_id=uuid.uuid4())
        rule = await service.save_rule(fund_code="CARE", code="SALES", name="sales", rate_bp=5, period="quarter")
        await service.enter_base(rule["id"], "2025Q2", 100_000_000)
        flows = await service.monthly_flows(fid)
        report = await service.fund_report(fid, today=date(2026, 1, 5))
        assert flows == await fetch(_FLOWS_FROM_POSTINGS, tid, fid)
        money_in = {r["account"]: r["amount"] for r in await fetch(_MONEY_IN_FROM_POSTINGS, tid, fid)}
    assert report["money_in"] == {k: money_in.get(k, 0) for k in ("accrued", "contributed", "brought_forward")}
    assert report["money_in_total"] == sum(money_in.values())
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        overview = (await c.get(f"/funds/{fid}")).text
        assert 'class="alert ok" data-testid="trial-balance"' in overview and "running sums" in overview
        assert f'href="/funds/{fid}?check=postings"' in overview
        recounted = (await c.get(f"/funds/{fid}?check=postings")).text
        assert "The postings sum to zero" in recounted
        page = (await c.get(f"/funds/{fid}/report")).text
        assert 'class="alert ok" data-testid="trial-balance"' in page


async def test_a_filtered_ledger_finds_what_a_filter_over_every_entry_finds(tenant: dict[str, Any]) -> None:
    """The filtered pages read only the stretches of vouchers the running sums point to: they must still find
    every matching entry, a backdated one included, page after page."""
    tid = uuid.UUID(tenant["tenant_id"])
    fund = await new_fund(tenant, year=2025, contribute=900_000)
    fid = fund["id"]
    async with tenant_scope(tid):
        for k in range(30):
            day = date(2025, 1 + k % 12, 1 + k % 27)  # not in voucher order: months come back round
            await service.record_contribution(fid, kind="other", source=f"s{k}", amount=1_000 + k, received_on=day)
            if k % 4 == 0:
                await service.commit(fid, 500 + k, cause_id=uuid.uuid4())
        everything = await service.ledger_page(fid, limit=1_000)

        async def walk(**filters: Any) -> list[int]:
            seen: list[int] = []
            before = None
            while True:
                rows = await service.ledger_page(fid, **filters, before_seq=before, limit=4)
                seen += [r["seq"] for r in rows]
                if len(rows) < 4:
                    return seen
                before = rows[-1]["seq"]

        for filters in ({"cause": "commitment"}, {"cause": "rollover"}, {"since": date(2025, 3, 1)},
                        {"since": date(2025, 3, 1), "until": date(2025, 3, 31)}, {"until": date(2025, 2, 14)},
                        {"cause": "contribution", "since": date(2025, 6, 1), "until": date(2025, 8, 31)}):
            expected = [r["seq"] for r in everything
                        if r["cause"] == filters.get("cause", r["cause"])
                        and filters.get("since", date.min) <= r["occurred_on"] <= filters.get("until", date.max)]
            assert await walk(**filters) == expected, filters


async def test_two_tenants_never_see_each_others_running_sums(infra: Infra, tenant: dict[str, Any],
                                                               other_tenant: dict[str, Any]) -> None:
    mine = await new_fund(tenant, contribute=10_000)
    theirs = await new_fund(other_tenant, contribute=20_000)
    conn = await asyncpg.connect(infra.app_dsn)  # the app's own role: the policy applies as to a request
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant["tenant_id"])
            rows = await conn.fetch("SELECT fund, tenant_id FROM fund_month")
            assert rows and {r["fund"] for r in rows} == {mine["id"]}
            assert await conn.execute("UPDATE fund_month SET amount = 0 WHERE fund = $1", theirs["id"]) == "UPDATE 0"
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    "INSERT INTO fund_month (id, tenant_id, created_at, fund, month, cause, account, amount, postings, "
                    "first_voucher, last_voucher) VALUES (gen_random_uuid(), $1, now(), $2, '2026-01-01', "
                    "'contribution', 'available', 1, 1, 1, 1)", uuid.UUID(other_tenant["tenant_id"]), theirs["id"])
    finally:
        await conn.close()
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        assert await service.ledger_page(theirs["id"], cause="contribution") == []
        assert await service.monthly_flows(theirs["id"]) == []
