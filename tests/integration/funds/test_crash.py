"""A reimbursement is all or nothing even when its process dies: a separate Python process writes one
through the service and is killed with SIGKILL while its transaction is still open, after the ledger
has written the entry, its postings and the balances. Nothing of it may survive, the locks it held
must be gone, and its idempotency key must still be free. The same process left to finish writes
all of it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from careclub.core.db import fetch, tenant_scope
from careclub.core.infra import Infra
from careclub.funds import service
from tests.integration.funds.helpers import balanced, balances_of, new_fund

ROOT = Path(__file__).resolve().parents[3]

# argv: tenant, fund, cause, committed, actual, then "hold" (wait to be killed) or "commit".
CHILD = r"""
import asyncio, json, os, sys, uuid

from careclub.core.db import DB, fetch, tenant_scope
from careclub.core.principal import Actor, set_actor
from careclub.funds import service


async def main() -> None:
    tenant_id, fund_id, cause_id = (uuid.UUID(a) for a in sys.argv[1:4])
    committed, actual, mode = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    DB.configure(os.environ["DATABASE_URL"], min_size=1, max_size=1)
    await DB.start_connection_pool()
    set_actor(Actor(None, "crash child"))
    try:
        async with tenant_scope(tenant_id):
            entry = await service.reimburse(fund_id, committed=committed, actual=actual, cause_id=cause_id,
                                            key=f"reimburse:{cause_id}")
            seen = (await service.balances([fund_id]))[fund_id]
            backend = (await fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"]
            print("WROTE " + json.dumps({"backend": backend, "entry": str(entry["id"]), "balances": seen}),
                  flush=True)
            if mode == "hold":
                await asyncio.sleep(60)
        print("COMMITTED", flush=True)
    finally:
        await DB.close_connection_pool()


asyncio.run(main())
"""

CONTRIBUTED, COMMITTED, ACTUAL = 100_000, 30_000, 25_550


async def _committed_fund(tenant: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    fund = await new_fund(tenant, code=f"X{uuid.uuid4().hex[:8]}", contribute=CONTRIBUTED)
    cause = uuid.uuid4()
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        await service.commit(fund["id"], COMMITTED, cause_id=cause)
    return fund["id"], cause


async def _start(infra: Infra, tenant: dict[str, Any], fund_id: uuid.UUID, cause: uuid.UUID, mode: str
                 ) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    """The child, once it has said what it wrote inside its open transaction."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, tenant["tenant_id"], str(fund_id), str(cause), str(COMMITTED), str(ACTUAL), mode,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "DATABASE_URL": infra.app_dsn})
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    except TimeoutError:
        line = b""
    if not line.startswith(b"WROTE "):
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        raise AssertionError(f"the child never wrote: {line!r} {(await proc.stderr.read()).decode()[-3000:]}")
    return proc, json.loads(line[len(b"WROTE "):])


async def _gone(owner: asyncpg.Connection, backend: int) -> None:
    """Wait for the server to notice the dead client and end its backend (rolling back with it)."""
    for _ in range(200):
        if not await owner.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend {backend} of the killed child is still there")


async def test_a_reimbursement_killed_before_its_commit_leaves_nothing(
        infra: Infra, owner: asyncpg.Connection, tenant: dict[str, Any]) -> None:
    tid = uuid.UUID(tenant["tenant_id"])
    fund_id, cause = await _committed_fund(tenant)
    before = await balances_of(tenant, fund_id)

    proc, wrote = await _start(infra, tenant, fund_id, cause, "hold")
    try:
        # Inside its transaction the whole entry was there: the kill lands after the ledger's writes.
        assert (wrote["balances"]["spent"], wrote["balances"]["committed"]) == (ACTUAL, 0)
        assert await balances_of(tenant, fund_id) == before  # and nobody else could see it yet
        os.kill(proc.pid, signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), timeout=30) == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    await _gone(owner, wrote["backend"])

    after = await balances_of(tenant, fund_id)
    assert after == before
    assert (after["committed"], after["spent"], after["available"]) == (COMMITTED, 0, CONTRIBUTED - COMMITTED)
    async with tenant_scope(tid):
        entries = await fetch("SELECT id FROM fund_entry WHERE tenant_id = $1 AND cause = 'reimbursement' "
                              "AND cause_id = $2", tid, cause)
        postings = await fetch("SELECT count(*) AS n FROM fund_posting WHERE tenant_id = $1 AND entry = $2",
                               tid, uuid.UUID(wrote["entry"]))
    assert entries == [] and postings[0]["n"] == 0
    assert await balanced(tenant, fund_id)

    # The balance rows it locked are free again and its key was never used: the claim goes through now.
    async with tenant_scope(tid):
        again = await asyncio.wait_for(service.reimburse(fund_id, committed=COMMITTED, actual=ACTUAL, cause_id=cause,
                                                         key=f"reimburse:{cause}"), timeout=10)
    assert not again["repeated"]
    done = await balances_of(tenant, fund_id)
    assert (done["committed"], done["spent"]) == (0, ACTUAL)
    assert await balanced(tenant, fund_id)


async def test_a_reimbursement_whose_process_commits_is_there_whole(
        infra: Infra, tenant: dict[str, Any]) -> None:
    tid = uuid.UUID(tenant["tenant_id"])
    fund_id, cause = await _committed_fund(tenant)

    proc, wrote = await _start(infra, tenant, fund_id, cause, "commit")
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-3000:]
    assert out.strip() == b"COMMITTED"

    after = await balances_of(tenant, fund_id)
    assert (after["committed"], after["spent"]) == (0, ACTUAL)
    assert after["available"] == CONTRIBUTED - ACTUAL  # the unused part of the commitment came back
    async with tenant_scope(tid):
        entries = await fetch("SELECT id, created_by_name FROM fund_entry WHERE tenant_id = $1 "
                              "AND cause = 'reimbursement' AND cause_id = $2", tid, cause)
        postings = await fetch("SELECT account, amount FROM fund_posting WHERE tenant_id = $1 AND entry = $2",
                               tid, uuid.UUID(wrote["entry"]))
    assert [(str(e["id"]), e["created_by_name"]) for e in entries] == [(wrote["entry"], "crash child")]
    assert sorted((p["account"], p["amount"]) for p in postings) == sorted(
        [("spent", ACTUAL), ("committed", -COMMITTED), ("available", COMMITTED - ACTUAL)])
    assert await balanced(tenant, fund_id)
