"""The ledger's guarantees against real PostgreSQL: entries balance, balances agree with the postings,
nothing goes below zero whatever the concurrency, postings cannot be changed, corrections reverse."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.core.errors import Conflict, ValidationFailed
from careclub.core.infra import Infra
from careclub.funds import service
from careclub.funds.rules import AVAILABLE, COMMITTED, Line
from tests.integration.funds.helpers import balanced, balances_of, new_fund


async def test_money_moves_through_the_accounts_and_the_trial_balance_agrees(tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, contribute=100_000)
    tid = uuid.UUID(tenant["tenant_id"])
    request = uuid.uuid4()
    async with tenant_scope(tid):
        await service.commit(fund["id"], 30_000, cause_id=request)
        await service.reimburse(fund["id"], committed=30_000, actual=25_550, cause_id=request)
        tb = await service.trial_balance(fund["id"])
    b = await balances_of(tenant, fund["id"])
    assert (b["available"], b["committed"], b["spent"], b["contributed"]) == (74_450, 0, 25_550, -100_000)
    assert tb["balanced"] and {a["account"]: a["balance"] for a in tb["accounts"]}["spent"] == 25_550


async def test_an_entry_must_balance_fund_by_fund(tenant: dict[str, Any]) -> None:
    a = await new_fund(tenant, code="A", contribute=10_000)
    b = await new_fund(tenant, code="B")
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        with pytest.raises(ValidationFailed, match="sum to zero"):
            await service.post(cause="correction", occurred_on=date(2026, 2, 1),
                               lines=[Line(a["id"], AVAILABLE, -100), Line(b["id"], AVAILABLE, 100)])
        with pytest.raises(ValidationFailed, match="zero"):
            await service.post(cause="correction", occurred_on=date(2026, 2, 1),
                               lines=[Line(a["id"], AVAILABLE, 0), Line(a["id"], COMMITTED, 0)])


async def test_a_hundred_concurrent_commitments_for_a_fund_that_pays_for_ten(tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, contribute=10 * 5_000)
    tid = uuid.UUID(tenant["tenant_id"])

    async def one() -> bool:
        try:
            async with tenant_scope(tid):
                await service.commit(fund["id"], 5_000, cause_id=uuid.uuid4())
            return True
        except Conflict as exc:
            assert exc.code == "insufficient_funds"
            return False

    results = await asyncio.gather(*(one() for _ in range(100)))
    assert sum(results) == 10
    b = await balances_of(tenant, fund["id"])
    assert (b["available"], b["committed"]) == (0, 50_000)
    assert await balanced(tenant, fund["id"])


async def test_concurrent_entries_over_two_funds_in_both_orders_never_deadlock(tenant: dict[str, Any]) -> None:
    a = await new_fund(tenant, code="A", year=2025, contribute=1_000_000)
    b = await new_fund(tenant, code="A", year=2026, contribute=1_000_000)
    tid = uuid.UUID(tenant["tenant_id"])

    async def move(src: dict[str, Any], dst: dict[str, Any]) -> None:
        async with tenant_scope(tid):
            await service.post(cause="rollover", occurred_on=date(2026, 1, 1), lines=[
                Line(src["id"], AVAILABLE, -100), Line(src["id"], "carried_forward", 100),
                Line(dst["id"], "brought_forward", -100), Line(dst["id"], AVAILABLE, 100)])

    await asyncio.gather(*(move(a, b) if i % 2 else move(b, a) for i in range(60)))
    assert (await balances_of(tenant, a["id"]))["available"] == 1_000_000
    assert await balanced(tenant, a["id"]) and await balanced(tenant, b["id"])


async def test_postings_and_entries_cannot_be_changed_or_deleted_by_the_app(infra: Infra,
                                                                           tenant: dict[str, Any]) -> None:
    await new_fund(tenant, contribute=500)
    conn = await asyncpg.connect(infra.app_dsn)
    try:
        for sql in ("UPDATE fund_posting SET amount = amount + 1", "DELETE FROM fund_posting",
                    "UPDATE fund_entry SET memo = 'x'", "DELETE FROM fund_entry", "TRUNCATE fund_posting"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant["tenant_id"])
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(sql)
    finally:
        await conn.close()


async def test_the_database_refuses_a_negative_available_balance_even_behind_the_service(
        infra: Infra, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, contribute=500)
    conn = await asyncpg.connect(infra.app_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant["tenant_id"])
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute("UPDATE fund_balance SET balance = -1 WHERE fund = $1 AND account = 'available'",
                                   fund["id"])
    finally:
        await conn.close()


async def test_a_correction_reverses_an_entry_once(tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant)
    tid = uuid.UUID(tenant["tenant_id"])
    async with tenant_scope(tid):
        row = await service.record_contribution(fund["id"], kind="other", source="typo", amount=99_900,
                                                received_on=date(2026, 3, 1))
        fix = await service.reverse(row["entry"], reason="amount typed wrong", occurred_on=date(2026, 3, 2))
        with pytest.raises(Conflict) as again:
            await service.reverse(row["entry"], reason="twice", occurred_on=date(2026, 3, 2))
        assert again.value.code == "entry_reversed"
        with pytest.raises(Conflict) as of_fix:
            await service.reverse(fix["id"], reason="undo the undo", occurred_on=date(2026, 3, 2))
        assert of_fix.value.code == "entry_is_correction"
        detail = await service.entry_detail(row["entry"])
    assert detail["reversed_by"]["seq"] == fix["seq"]
    assert (await balances_of(tenant, fund["id"]))["available"] == 0
    assert await balanced(tenant, fund["id"])


async def test_an_idempotency_key_posts_once_even_when_racing(tenant: dict[str, Any]) -> None:
    # The fund holds exactly one commitment's worth: a retry that checked the balances after the first call
    # had moved them would answer 409 instead of the first entry.
    fund = await new_fund(tenant, contribute=1_000)
    tid = uuid.UUID(tenant["tenant_id"])
    cause = uuid.uuid4()

    async def one() -> dict[str, Any]:
        async with tenant_scope(tid):
            return await service.commit(fund["id"], 1_000, cause_id=cause, key=f"commit:{cause}")

    results = await asyncio.gather(*(one() for _ in range(20)))
    assert len({r["id"] for r in results}) == 1
    assert (await balances_of(tenant, fund["id"]))["committed"] == 1_000


async def test_reimbursement_beyond_the_commitment_needs_a_new_approval(tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, contribute=100_000)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        cause = uuid.uuid4()
        await service.commit(fund["id"], 10_000, cause_id=cause)
        with pytest.raises(Conflict) as refused:
            await service.reimburse(fund["id"], committed=10_000, actual=10_001, cause_id=cause)
    assert refused.value.code == "claim_exceeds_commitment"


async def test_rollover_carries_what_is_left_and_a_second_run_changes_nothing(tenant: dict[str, Any]) -> None:
    old = await new_fund(tenant, year=2025, contribute=80_000)
    tid = uuid.UUID(tenant["tenant_id"])
    async with tenant_scope(tid):
        await service.commit(old["id"], 30_000, cause_id=uuid.uuid4())  # committed money stays with its year
        first = await service.rollover(2025)
        second = await service.rollover(2025)
        new = await service.fund_by_code("CARE", 2026)
    assert [m["amount"] for m in first] == [50_000] and second == []
    assert new is not None
    assert (await balances_of(tenant, new["id"]))["available"] == 50_000
    b_old = await balances_of(tenant, old["id"])
    assert (b_old["available"], b_old["committed"], b_old["carried_forward"]) == (0, 30_000, 50_000)
    assert await balanced(tenant, old["id"]) and await balanced(tenant, new["id"])


async def test_rollover_of_a_year_not_yet_over_is_refused(tenant: dict[str, Any]) -> None:
    await new_fund(tenant, year=clock.now().year)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        with pytest.raises(Conflict) as refused:
            await service.rollover(clock.now().year)
    assert refused.value.code == "year_not_ended"
