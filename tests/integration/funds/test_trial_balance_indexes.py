"""The trial balance's recount (issue #10): one sum per account, each read from that account's own partial index
of the fund's postings. Every account of the rules has its index and nothing else can be posted, so the recount
covers every posting; the indexes serve it under row-level security as the app role; and the recount, not the
quick check, finds a posting written around the ledger, in its own company only."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from careclub.core.db import tenant_scope
from careclub.core.infra import Infra
from careclub.funds import rules, service
from careclub.funds.service._ledger import _RECOUNT
from tests.integration.funds.helpers import new_fund


async def test_every_account_has_its_index_and_no_other_account_can_be_posted(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch("""
        SELECT c.relname AS name, pg_get_expr(i.indpred, i.indrelid) AS predicate,
               pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'fund_posting'::regclass AND i.indpred IS NOT NULL""")
    partial = {r["name"]: r for r in rows}
    for account in rules.ACCOUNTS:
        index = partial.get(f"fund_posting_{account}")
        assert index is not None, f"no index for the account {account}: a migration must add it"
        assert index["predicate"] == f"((account)::text = '{account}'::text)"
        assert "(tenant_id, fund) INCLUDE (amount)" in index["definition"]
    check = await owner.fetchval("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                 "WHERE conrelid = 'fund_posting'::regclass AND conname = 'fund_posting_account_known'")
    assert check is not None and all(f"'{a}'" in check for a in rules.ACCOUNTS)
    assert check.count("'::") == len(rules.ACCOUNTS), check  # exactly the rules' accounts, none besides


async def _as_app(infra: Infra, tenant_id: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(infra.app_dsn)
    await conn.execute("SELECT set_config('app.tenant_id', $1, false)", tenant_id)
    return conn


async def test_the_recount_reads_only_the_account_indexes_as_the_app_role(infra: Infra, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, contribute=500_000)
    conn = await _as_app(infra, tenant["tenant_id"])
    try:
        async with conn.transaction():
            # A few postings make a sequential scan cheapest; what matters is that the policy leaves the
            # indexes usable (a policy function the planner cannot trust would force every row to be read).
            await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute("SET LOCAL enable_bitmapscan = off")
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {_RECOUNT}", uuid.UUID(tenant["tenant_id"]),
                                                             fund["id"]))
    finally:
        await conn.close()
    for account in rules.ACCOUNTS:
        assert f"Index Only Scan using fund_posting_{account} on fund_posting" in plan, plan
    assert "Seq Scan" not in plan and "Heap" not in plan.replace("Heap Fetches", ""), plan


async def test_the_recount_finds_a_posting_written_around_the_ledger_in_its_own_company_only(
        infra: Infra, tenant: dict[str, Any], other_tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, contribute=500_000)
    theirs = await new_fund(other_tenant, contribute=70_000)
    tid = uuid.UUID(tenant["tenant_id"])
    conn = await _as_app(infra, tenant["tenant_id"])
    try:
        entry = await conn.fetchval("SELECT entry FROM fund_posting WHERE fund = $1 LIMIT 1", fund["id"])
        with pytest.raises(asyncpg.CheckViolationError, match="fund_posting_account_known"):
            await conn.execute("INSERT INTO fund_posting (id, tenant_id, created_at, entry, fund, account, amount) "
                               "VALUES ($1, $2, now(), $3, $4, 'petty_cash', 100)",
                               uuid.uuid4(), tid, entry, fund["id"])
        # One posting of 1.23 yuan to "spent" with no entry balancing it and no balance moved: the stored
        # balances and the running sums are as the ledger left them, so only a recount can see it.
        await conn.execute("INSERT INTO fund_posting (id, tenant_id, created_at, entry, fund, account, amount) "
                           "VALUES ($1, $2, now(), $3, $4, 'spent', 123)", uuid.uuid4(), tid, entry, fund["id"])
    finally:
        await conn.close()
    async with tenant_scope(tid):
        quick = await service.running_check(fund["id"])
        recount = await service.trial_balance(fund["id"])
    assert quick["balanced"]
    assert not recount["balanced"]
    spent = next(a for a in recount["accounts"] if a["account"] == rules.SPENT)
    assert (spent["balance"], spent["stored"], spent["monthly"]) == (123, 0, 0)
    assert {a["account"]: a["balance"] for a in recount["accounts"]}[rules.AVAILABLE] == 500_000

    # The other company's fund, its recount and its answer about this fund are untouched by it.
    async with tenant_scope(uuid.UUID(other_tenant["tenant_id"])):
        assert (await service.trial_balance(theirs["id"]))["balanced"]
        mine_seen_from_there = await service.trial_balance(fund["id"])
    assert all(a["balance"] == 0 for a in mine_seen_from_there["accounts"])
