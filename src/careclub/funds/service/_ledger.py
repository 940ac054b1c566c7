"""The ledger: writing a journal entry, its reversal, and reading balances back from the postings.

One entry is two statements whatever its size. The first locks the balance rows it touches in one
fixed order (fund id, then account name) and reads them; the second inserts the entry and its
postings and moves the balances, in one statement. Every writer locks in the same order, so two
entries over the same funds wait for each other instead of deadlocking, and the check that nothing
goes below zero reads balances no one else can change before the commit."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from careclub.core.db import current_tenant_id, fetch, plan_each_call
from careclub.core.errors import Conflict, NotFound, ValidationFailed
from careclub.core.money import format_grouped
from careclub.core.principal import current_actor
from careclub.funds import rules
from careclub.funds.rules import Line

_LOCK = """
SELECT b.fund, b.account, b.balance, f.name, f.year, f.closed
FROM unnest($2::uuid[], $3::varchar[]) AS k(fund, account)
JOIN fund_balance b ON b.tenant_id = $1 AND b.fund = k.fund AND b.account = k.account
JOIN care_fund f ON f.tenant_id = b.tenant_id AND f.id = b.fund
ORDER BY b.fund, b.account
FOR UPDATE OF b, f
"""

# Voucher numbers are counted per fund (care_fund.last_voucher, its row locked above), never from a sequence
# shared by all companies, whose gaps would let one company count another's entries. An entry's `seq` is its
# number in its first line's fund; each posting carries its number in its own fund.
_WRITE = """
WITH v AS (
    UPDATE care_fund f SET last_voucher = f.last_voucher + 1
    WHERE f.tenant_id = $1 AND f.id = ANY($18::uuid[])
    RETURNING f.id, f.last_voucher
), e AS (
    INSERT INTO fund_entry (id, tenant_id, created_at, cause, cause_id, reference, memo, occurred_on, reverses,
                            idempotency_key, created_by, created_by_name, seq)
    VALUES (gen_random_uuid(), $1, now(), $2, $3, $4, $5, $6, $7, $8, $9, $10,
            (SELECT last_voucher FROM v WHERE v.id = ($11::uuid[])[1]))
    ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, seq
), p AS (
    INSERT INTO fund_posting (id, tenant_id, created_at, entry, fund, account, amount, balance_after, voucher)
    SELECT gen_random_uuid(), $1, now(), e.id, l.fund, l.account, l.amount, l.after, v.last_voucher
    FROM e, unnest($11::uuid[], $12::text[], $13::bigint[], $17::bigint[]) AS l(fund, account, amount, after)
    JOIN v ON v.id = l.fund
    RETURNING 1
), m AS (
    -- the fund's running sums of the month, cause and account: added to, never recomputed, so two entries
    -- racing on one fund (they queue on its row lock anyway) never lose each other's amounts
    INSERT INTO fund_month AS fm (id, tenant_id, created_at, fund, month, cause, account, amount, postings,
                                  first_voucher, last_voucher)
    SELECT gen_random_uuid(), $1, now(), l.fund, date_trunc('month', $6::date)::date, $2, l.account,
           sum(l.amount), count(*), min(v.last_voucher), max(v.last_voucher)
    FROM e, unnest($11::uuid[], $12::text[], $13::bigint[]) AS l(fund, account, amount)
    JOIN v ON v.id = l.fund
    GROUP BY l.fund, l.account
    ON CONFLICT (tenant_id, fund, month, cause, account) DO UPDATE
        SET amount = fm.amount + excluded.amount, postings = fm.postings + excluded.postings,
            first_voucher = least(fm.first_voucher, excluded.first_voucher),
            last_voucher = greatest(fm.last_voucher, excluded.last_voucher)
    RETURNING 1
), b AS (
    UPDATE fund_balance fb SET balance = fb.balance + d.delta
    FROM e, unnest($14::uuid[], $15::text[], $16::bigint[]) AS d(fund, account, delta)
    WHERE fb.tenant_id = $1 AND fb.fund = d.fund AND fb.account = d.account
    RETURNING 1
)
SELECT e.id, e.seq, (SELECT count(*) FROM p) AS postings, (SELECT count(*) FROM b) AS balances FROM e
"""


def insufficient(fund_name: str, year: int, account: str, balance: int, delta: int) -> Conflict:
    params = {"fund": fund_name, "year": year, "balance": format_grouped(balance), "needed": format_grouped(-delta)}
    if account == "committed":
        return Conflict("%(fund)s %(year)s has %(balance)s committed; %(needed)s is needed",
                        code="insufficient_funds", field="amount", params=params)
    if account == "receivable":
        return Conflict("%(fund)s %(year)s has %(balance)s receivable; %(needed)s is needed",
                        code="insufficient_funds", field="amount", params=params)
    return Conflict("%(fund)s %(year)s has %(balance)s available; %(needed)s is needed",
                    code="insufficient_funds", field="amount", params=params)


async def post(*, cause: str, lines: list[Line], occurred_on: date, cause_id: uuid.UUID | None = None,
               reference: str = "", memo: str = "", reverses: uuid.UUID | None = None,
               key: str | None = None, open_only: bool = False) -> dict[str, Any]:
    """Write one entry. With `key`, a second call with the same key writes nothing and answers the
    first entry (jobs and retried requests post exactly once). `open_only`: refused (409 `fund_closed`)
    when a fund's year is closed (new commitments; money still arriving for a closed year is fine)."""
    if cause not in rules.CAUSES:
        raise ValueError(f"unknown cause {cause!r}")
    rules.check_lines(lines)
    tenant_id = current_tenant_id()
    if key is not None:
        existing = await fetch("SELECT id, seq FROM fund_entry WHERE tenant_id = $1 AND idempotency_key = $2",
                               tenant_id, key)
        if existing:
            return {"id": existing[0]["id"], "seq": existing[0]["seq"], "repeated": True}
    deltas: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for line in lines:
        deltas[(uuid.UUID(str(line.fund_id)), line.account)] += line.amount
    order = sorted(deltas, key=lambda k: (str(k[0]), k[1]))
    locked = await fetch(_LOCK, tenant_id, [k[0] for k in order], [k[1] for k in order])
    if len(locked) != len(order):
        raise NotFound("no such fund", code="fund_not_found", field="fund")
    if key is not None:
        # A retry racing its first call waited on the locks above; now the first has committed (or rolled
        # back), so its entry is seen here and answered, instead of checking the balances it already moved.
        existing = await fetch("SELECT id, seq FROM fund_entry WHERE tenant_id = $1 AND idempotency_key = $2",
                               tenant_id, key)
        if existing:
            return {"id": existing[0]["id"], "seq": existing[0]["seq"], "repeated": True}
    if open_only and any(row["closed"] for row in locked):
        raise Conflict("the fund's year is closed: commit the money in next year's fund", code="fund_closed",
                       field="fund")
    for row in locked:
        delta = deltas[(row["fund"], row["account"])]
        if row["account"] in rules.NEVER_NEGATIVE and row["balance"] + delta < 0:
            raise insufficient(row["name"], row["year"], row["account"], row["balance"], delta)
    running = {(row["fund"], row["account"]): row["balance"] for row in locked}
    after: list[int] = []
    for line in lines:
        k = (uuid.UUID(str(line.fund_id)), line.account)
        running[k] += line.amount
        after.append(running[k])
    actor = current_actor()
    moved = [(k, deltas[k]) for k in order if deltas[k] != 0]
    rows = await fetch(_WRITE, tenant_id, cause, cause_id, reference[:120], memo, occurred_on, reverses, key,
                       actor.id, actor.name[:200],
                       [uuid.UUID(str(line.fund_id)) for line in lines], [line.account for line in lines],
                       [line.amount for line in lines],
                       [k[0] for k, _ in moved], [k[1] for k, _ in moved], [d for _, d in moved], after,
                       list(dict.fromkeys(uuid.UUID(str(line.fund_id)) for line in lines)))
    if not rows:  # the same key won a race meanwhile; its entry stands and this one is not written
        existing = await fetch("SELECT id, seq FROM fund_entry WHERE tenant_id = $1 AND idempotency_key = $2",
                               tenant_id, key)
        return {"id": existing[0]["id"], "seq": existing[0]["seq"], "repeated": True}
    return {"id": rows[0]["id"], "seq": rows[0]["seq"], "repeated": False}


async def reverse(entry_id: uuid.UUID, *, reason: str, occurred_on: date) -> dict[str, Any]:
    """A correction: the same postings with their signs turned, naming the entry it undoes. An entry is
    reversed at most once (the database refuses a second); a correction itself is not reversed again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason is required", field="reason")
    tenant_id = current_tenant_id()
    entry = await fetch("SELECT id, seq, cause, reverses FROM fund_entry WHERE tenant_id = $1 AND id = $2",
                        tenant_id, entry_id)
    if not entry:
        raise NotFound("no such ledger entry", code="entry_not_found", field="entry")
    if entry[0]["cause"] == "correction":
        raise Conflict("a correction cannot itself be reversed; post a new entry instead", code="entry_is_correction")
    done = await fetch("SELECT seq FROM fund_entry WHERE tenant_id = $1 AND reverses = $2", tenant_id, entry_id)
    if done:
        raise Conflict("entry %(seq)s has been reversed already (by entry %(by)s)", code="entry_reversed",
                       params={"seq": entry[0]["seq"], "by": done[0]["seq"]})
    postings = await fetch("SELECT fund, account, amount FROM fund_posting WHERE tenant_id = $1 AND entry = $2",
                           tenant_id, entry_id)
    lines = [Line(p["fund"], p["account"], -p["amount"]) for p in postings]
    return await post(cause="correction", lines=lines, occurred_on=occurred_on, cause_id=entry_id,
                      reference=f"#{entry[0]['seq']}", memo=reason, reverses=entry_id, key=f"reverse:{entry_id}")


async def correct(entry_id: uuid.UUID, *, reason: str, occurred_on: date) -> dict[str, Any]:
    """A person's correction of an entry: only entries no other record follows (contributions) are reversed
    here; the others are refused (409 `entry_has_workflow`) saying where they are corrected."""
    rows = await fetch("SELECT cause FROM fund_entry WHERE tenant_id = $1 AND id = $2", current_tenant_id(), entry_id)
    if not rows:
        raise NotFound("no such ledger entry", code="entry_not_found", field="entry")
    cause = rows[0]["cause"]
    if cause in ("commitment", "release", "reimbursement"):
        raise Conflict("this entry belongs to a spending request: correct it there (an approved request is "
                       "closed to release its money)", code="entry_has_workflow")
    if cause in ("accrual", "collection"):
        raise Conflict("this entry belongs to an accrual period: correct it there (enter the period's base "
                       "again)", code="entry_has_workflow")
    if cause == "rollover":
        raise Conflict("a year-end rollover is not reversed by hand", code="entry_has_workflow")
    return await reverse(entry_id, reason=reason, occurred_on=occurred_on)


async def balances(fund_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """The stored balances of some funds, account by account."""
    rows = await fetch("SELECT fund, account, balance FROM fund_balance WHERE tenant_id = $1 AND fund = ANY($2)",
                       current_tenant_id(), fund_ids)
    out: dict[uuid.UUID, dict[str, int]] = {f: dict.fromkeys(rules.ACCOUNTS, 0) for f in fund_ids}
    for r in rows:
        out[r["fund"]][r["account"]] = r["balance"]
    return out


async def running_sums(fund_id: uuid.UUID) -> dict[str, int]:
    """Every account's total from the fund's running sums per month (a few hundred rows at most)."""
    rows = await fetch("SELECT account, sum(amount)::bigint AS total FROM fund_month "
                       "WHERE tenant_id = $1 AND fund = $2 GROUP BY account", current_tenant_id(), fund_id)
    out = dict.fromkeys(rules.ACCOUNTS, 0)
    for r in rows:
        out[r["account"]] = r["total"]
    return out


def _verdict(computed: dict[str, int], stored: dict[str, int], source: str, *,
             monthly: dict[str, int] | None = None) -> dict[str, Any]:
    accounts = [{"account": a, "balance": computed[a], "stored": stored[a],
                 **({"monthly": monthly[a]} if monthly is not None else {})} for a in rules.ACCOUNTS]
    balanced = (sum(computed.values()) == 0 and all(computed[a] == stored[a] for a in rules.ACCOUNTS)
                and (monthly is None or all(monthly[a] == computed[a] for a in rules.ACCOUNTS)))
    return {"balanced": balanced, "accounts": accounts, "source": source}


async def running_check(fund_id: uuid.UUID) -> dict[str, Any]:
    """The quick check the overview and the report show on every view: the running sums per month add up
    to zero and agree with every stored balance. Both are kept by the same statement as the postings, so
    this reads a few hundred rows whatever the size of the ledger; the full recount is `trial_balance`."""
    stored = (await balances([fund_id]))[fund_id]
    return _verdict(await running_sums(fund_id), stored, "monthly")


# One plain sum per account, each from that account's own index of the fund's postings (migrations/funds
# 2026-12-01T18:30:00: partial, carrying the amounts): no posting row read and no account name hashed per posting.
# The database refuses a posting to any other account, so the branches cover every posting.
_RECOUNT = " UNION ALL ".join(
    f"SELECT '{a}'::text AS account, coalesce(sum(amount), 0)::bigint AS total FROM fund_posting "
    f"WHERE tenant_id = $1 AND fund = $2 AND account = '{a}'" for a in rules.ACCOUNTS)


async def trial_balance(fund_id: uuid.UUID) -> dict[str, Any]:
    """Balances recomputed from the postings themselves, beside the stored ones and the running sums per
    month. Balanced when the postings sum to zero and every stored balance and every account's running sum
    agrees with its postings. An integrity check run on request, not on every page."""
    await plan_each_call()  # for this fund's size: a generic plan guesses an average fund and stays serial
    summed = await fetch(_RECOUNT, current_tenant_id(), fund_id)
    stored = (await balances([fund_id]))[fund_id]
    computed = {r["account"]: r["total"] for r in summed}
    return _verdict(computed, stored, "postings", monthly=await running_sums(fund_id))
