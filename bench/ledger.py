"""The funds ledger: postings per second through the service layer, against the same postings in raw SQL.

No HTTP here: the entries are written from the bench process itself, with the connection settings
the app uses (the app role, row-level security, the tenant bound with
`set_config('app.tenant_id', …, true)`), so what is compared is the ledger's code and SQL, not the
web stack around it.

    service_spread   `funds.service.commit(fund, 1, cause_id=uuid4())` on a random one of `--funds`
                     funds (default 200), each in its own `tenant_scope`: the pool, BEGIN, the tenant
                     bound, whatever `commit` checks first (since 30 Nov 15:52: `get_fund`, i.e. the
                     fund with its org unit and its eight balances, to refuse a closed year), today()
                     from the cached tenant, then `post`: the locking SELECT … FOR UPDATE of the
                     balance rows joined to the fund, in fund/account order, the checks in Python, one
                     CTE inserting the entry and its postings and moving the balances; COMMIT
    raw_spread       the same entry by hand through asyncpg, on a pool of the same settings: BEGIN,
                     set_config, `SELECT b.account, b.balance, f.closed … ORDER BY b.account FOR
                     UPDATE OF b` of the fund's two balance rows joined to the fund, the same checks
                     (both rows there, the year not closed, neither available nor committed below
                     zero), one CTE with scalar parameters (the entry row, two posting rows with their
                     balance_after, two balance updates); COMMIT
    service_hot      as service_spread, every entry on one fund
    raw_hot          as raw_spread, every entry on one fund

Each entry is one commitment of 1 fen (available -> committed): one entry row, two postings, two
balance rows moved, the same rows on both paths; raw makes five round trips (BEGIN, the tenant, the
lock, the write, COMMIT). A ratio says what the service layer adds: Piccolo's transaction and the
tenant scope, the checks `commit` makes before posting, today(), `post`'s bookkeeping, its
unnest()-shaped statements and how PostgreSQL plans them. `--concurrency` writers (default 8,
asyncio tasks of this process, each entry its own transaction) write `--entries` entries per
variant (default 2000), in `--rounds` interleaved rounds (default 4, the order rotated each round)
after `--warmup` entries each (default 200), so a neighbour's burst of CPU slows all four alike. The
app's pool in this process is resized to `--concurrency` for the run and put back after; the raw
pool has the same size. The funds are analyzed after the set-up, as a ledger in use would be
(`--no-analyze` measures without). On the hot fund every entry waits for the one before it (its two
balance rows stay locked until COMMIT), so its rate is one over the time the lock is held: the
write, the COMMIT's WAL flush, and whatever Python runs in between, its own and that of the other
writers in the same event loop. More writers do not make it faster.

Lines: a line saying how each path's two statements were planned on one of its connections
(`N generic/M custom`: a custom plan is planned again on every execution), then per variant
postings/s (2 per entry), entries/s, p50/p99 per entry, and the CPU per posting of this process
(`python`) and of this database's PostgreSQL backends (`pg`, read from /proc for the backends of the
bench database only, so a benchmark beside it on another database does not count); then
`service_hot/service_spread`, `raw_hot/raw_spread` (what one hot fund costs), and the two the issue
asks for, `service_spread/raw_spread = R` and `service_hot/raw_hot = R`. The end checks that the
funds hold exactly the entries written, as many entries as that are recorded, and that two trial
balances balance; a mismatch fails the benchmark.

    careclub bench ledger                                            # ~2 min on a busy 2-core box
    careclub bench ledger --extra --entries 8000 --concurrency 4 --funds 1000

Measured 30 Nov 2026 on 2 cores shared with other work: a `bench scale` was loading a million members
into another database all along (load average 4–6, its PostgreSQL backends using up to a core and a
half), so the absolute numbers are low and noisy; the ratios, measured interleaved, are the point.
Defaults (8 writers, 200 funds, 2000 entries per variant), four runs between 15:55 and 16:04 with
`commit` as of 15:52 (the second with `--no-analyze`):

    service_spread  230–398 postings/s   cpu/posting python 0.82–1.06 ms, pg 1.77–2.49 ms
    raw_spread      604–800              python 0.40–0.43,           pg 0.70–0.82
    service_hot     102–176              python 1.21–1.49,           pg 2.39–3.32
    raw_hot         150–292              python 0.66–0.84,           pg 1.26–1.55
    service_spread/raw_spread = 0.38, 0.49, 0.50, 0.45     service_hot/raw_hot = 0.68, 0.60, 0.70, 0.56
    (one hot fund: service_hot/service_spread 0.34–0.46, raw_hot/raw_spread 0.25–0.37)

Before 15:52 `commit` posted without reading the fund first (five round trips, like raw, whose lock
then read no fund row): two runs gave service_spread/raw_spread = 0.72, 0.52 and service_hot/raw_hot
= 0.68, 0.73; the two statements of `get_fund` (before the lock, so they do not lengthen it) cost
the spread case about a quarter of its rate and the hot case about a tenth.

Where the difference goes. PostgreSQL spends 2–3 times the CPU per entry on the service's path, and
most of it is planning: the locking SELECT and the write CTE of `post` are planned afresh on every
execution (the plans line: 0 generic / ~540 custom on one connection in a run, against raw's
statements going generic after five), because their generic plans, with unnest() of arrays estimated
at 10 rows and the tenant's funds scanned whole, look costlier than the custom ones (with 10 funds
instead of 200 both went generic after five executions, like raw's); planning each took 0.5–0.7 ms
on this machine against 0.3–0.9 ms to execute it. With `plan_cache_mode = force_generic_plan` on the
database (a trial, not a setting the app makes) the service's `pg` fell from 1.45 to 1.06 ms per
posting and service_spread/raw_spread went from 0.56 to 0.72 in back-to-back runs (the `commit`
before 15:52). The rest: the join to every fund of the tenant in the locking SELECT (`(fund,
account) IN (SELECT * FROM unnest(…))` compares `account::text`, so the balance index is used on
(tenant, fund) only and care_fund is scanned whole; with no statistics, right after the funds were
made, one custom plan walked all 1 608 balance rows of the tenant for each entry), `get_fund`'s two
queries, and in Python about 1 080 function calls per entry against raw's 590 (880 before 15:52: the
tenant scope and Piccolo's transaction, get_fund, the dicts `fetch` builds, seven arrays to encode),
i.e. 0.8–1.3 ms more CPU per entry in this process (0.4–0.6 ms before 15:52).

What changed after these runs (16:20): the locking SELECT starts from unnest(fund ids, accounts as
varchar) and joins the balance index row by row, reads the fund's `closed` flag itself (so `commit`
no longer calls `get_fund`) and locks the fund rows too; each fund numbers its own vouchers
(`care_fund.last_voucher`, bumped in the write), which raw now does as well. One run, the machine
still shared (helpers running tests): service_spread 664 postings/s, raw_spread 1 366, service_hot 323,
raw_hot 749; `service_spread/raw_spread = 0.49`, `service_hot/raw_hot = 0.43`; the service's lock now
goes generic (555 generic / 5 custom), its write mostly (439 / 121); `pg` per posting 1.87 ms against
raw's 0.73.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import asyncpg

from careclub.core.bench import BenchContext, percentile, ratio_line

POSTINGS_PER_ENTRY = 2
FUNDED = 10**12  # fen in each fund: far more than any run commits at 1 fen an entry

RAW_LOCK = """
SELECT b.account, b.balance, f.closed
FROM fund_balance b JOIN care_fund f ON f.tenant_id = b.tenant_id AND f.id = b.fund
WHERE b.tenant_id = $1 AND b.fund = $2 AND b.account IN ('available', 'committed')
ORDER BY b.account
FOR UPDATE OF b, f
"""

# The fund's own voucher number is taken under its row lock, as the service does.
RAW_WRITE = """
WITH v AS (
    UPDATE care_fund SET last_voucher = last_voucher + 1 WHERE tenant_id = $1 AND id = $4 RETURNING last_voucher
), e AS (
    INSERT INTO fund_entry (id, tenant_id, created_at, cause, cause_id, reference, memo, occurred_on,
                            created_by_name, seq)
    VALUES (gen_random_uuid(), $1, now(), 'commitment', $2, '', '', $3, 'system', (SELECT last_voucher FROM v))
    RETURNING id, seq
), p AS (
    INSERT INTO fund_posting (id, tenant_id, created_at, entry, fund, account, amount, balance_after, voucher)
    SELECT gen_random_uuid(), $1, now(), e.id, $4, r.account, r.amount, r.after, e.seq
    FROM e, (VALUES ('committed', $5::bigint, $6::bigint), ('available', -$5::bigint, $7::bigint))
        AS r(account, amount, after)
), b AS (
    UPDATE fund_balance SET balance = balance + CASE account WHEN 'committed' THEN $5::bigint ELSE -$5::bigint END
    WHERE tenant_id = $1 AND fund = $4 AND account IN ('available', 'committed')
)
SELECT id, seq FROM e
"""


def _options(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="careclub bench ledger --extra", add_help=False)
    parser.add_argument("--entries", type=int, default=2000, help="measured entries per variant")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent writers (one transaction each)")
    parser.add_argument("--funds", type=int, default=200, help="funds the spread variants pick from")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=200, help="entries per variant before measuring")
    parser.add_argument("--no-analyze", action="store_true", help="measure without ANALYZE after the set-up (the "
                        "planner then knows nothing of the new funds, as right after they were made)")
    parser.add_argument("--seed", type=int, default=2026)
    opts, _ = parser.parse_known_args(args)
    return opts


@dataclass
class Result:
    label: str
    entries: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    first_error: str = ""
    cut: bool = False

    @property
    def postings_per_second(self) -> float:
        return self.entries * POSTINGS_PER_ENTRY / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        lat = sorted(self.latencies_ms)
        postings = self.entries * POSTINGS_PER_ENTRY
        cpu = "  cpu ms/posting: " + " ".join(f"{g}={s * 1000 / postings:.3f}" for g, s in self.cpu_seconds.items()) \
            if self.cpu_seconds and postings else ""
        errors = f"  errors={self.errors} (first: {self.first_error})" if self.errors else ""
        cut = "  (time limit reached)" if self.cut else ""
        return (f"{self.label:15s} postings/s={self.postings_per_second:8.1f}  entries/s="
                f"{self.postings_per_second / POSTINGS_PER_ENTRY:7.1f}  p50={percentile(lat, 0.5):6.2f} ms"
                f"  p99={percentile(lat, 0.99):6.2f} ms  n={self.entries}{errors}{cut}{cpu}")


class _Cpu:
    """CPU (user + system) of this process and of the PostgreSQL backends of the bench database, from
    /proc: `pg` leaves out the backends of other databases, so a neighbour does not count."""

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.backends: list[int] = []

    async def find_backends(self, pool: asyncpg.Pool) -> None:
        rows = await pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        self.backends = [r["pid"] for r in rows]

    def _seconds(self, pid: int) -> float:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = raw[raw.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / self.tick

    def snapshot(self) -> dict[str, float]:
        if not Path("/proc/self/stat").exists():
            return {}
        return {"python": self._seconds(os.getpid()), "pg": sum(self._seconds(p) for p in self.backends)}


Entry = Callable[[random.Random], Awaitable[None]]


async def _drive(label: str, entry: Entry, count: int, concurrency: int, rng_seed: int, time_limit: float,
                 cpu: _Cpu | None = None) -> Result:
    """`count` entries over `concurrency` workers, each entry timed; stops at `time_limit` seconds."""
    result = Result(label)
    next_index = 0
    deadline = time.perf_counter() + time_limit

    async def worker(w: int) -> None:
        nonlocal next_index
        rng = random.Random(rng_seed * 1000 + w)
        while next_index < count:
            if time.perf_counter() > deadline:
                result.cut = True
                return
            next_index += 1
            started = time.perf_counter()
            try:
                await entry(rng)
            except Exception as exc:  # counted and shown; the run goes on
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.entries += 1

    before = cpu.snapshot() if cpu else {}
    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    result.seconds = time.perf_counter() - started
    if cpu:
        after = cpu.snapshot()
        result.cpu_seconds = {g: max(0.0, after[g] - before.get(g, 0.0)) for g in after}
    return result


def _merge(parts: list[Result]) -> Result:
    merged = Result(parts[0].label)
    for p in parts:
        merged.entries += p.entries
        merged.errors += p.errors
        merged.seconds += p.seconds
        merged.latencies_ms += p.latencies_ms
        merged.first_error = merged.first_error or p.first_error
        merged.cut = merged.cut or p.cut
        for g, s in p.cpu_seconds.items():
            merged.cpu_seconds[g] = merged.cpu_seconds.get(g, 0.0) + s
    return merged


async def _make_fund(tenant_id: uuid.UUID, code: str, name: str, year: int, day: date) -> uuid.UUID:
    from careclub.core.db import tenant_scope
    from careclub.funds import service

    async with tenant_scope(tenant_id):
        fund = await service.create_fund(code=code, name=name, year=year)
        await service.record_contribution(fund["id"], kind="reserve", source="bench", amount=FUNDED, received_on=day)
    return uuid.UUID(str(fund["id"]))


_STATEMENTS = {"lock": ("unnest($2", "ORDER BY b.account"), "write": ("unnest($11", "$5::bigint, $6")}


async def _plans(raw_pool: asyncpg.Pool) -> str:
    """How PostgreSQL planned each path's two statements on one of its connections: a custom plan is
    planned again on every execution, a generic one once per connection (after five executions
    PostgreSQL keeps the generic plan unless it looks costlier than the custom ones)."""
    from careclub.core.db import DB

    sql = "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        service_rows = await conn.fetch(sql)
    async with raw_pool.acquire() as conn:
        raw_rows = await conn.fetch(sql)
    parts = []
    for path, rows, which in (("service", service_rows, 0), ("raw", raw_rows, 1)):
        for name, marks in _STATEMENTS.items():
            found = [r for r in rows if marks[which] in r["statement"]]
            counts = f"{found[0]['generic_plans']} generic/{found[0]['custom_plans']} custom" if found else "not seen"
            parts.append(f"{path} {name} {counts}")
    return "plans on one connection: " + ", ".join(parts)


async def _resize_app_pool(size: int | None) -> None:
    """The runner's pool (1–4 connections) would make 8 workers queue for a connection; `None` puts
    the runner's own back."""
    from careclub.core.db import DB

    await DB.close_connection_pool()
    await DB.start_connection_pool(**({"min_size": size, "max_size": size} if size else {}))


async def run(ctx: BenchContext) -> list[str]:
    from careclub.core.db import DB, fetch, tenant_scope
    from careclub.funds import service

    opts = _options(ctx.args)
    tenant = await ctx.signup()
    tid = tenant.tenant_id
    async with tenant_scope(tid):
        day = await service.today()
    t0 = time.perf_counter()
    spread = [await _make_fund(tid, f"B{i:04d}", f"Bench fund {i}", day.year, day) for i in range(opts.funds)]
    hot = await _make_fund(tid, "HOT", "Bench hot fund", day.year, day)
    if not opts.no_analyze:
        # A ledger in use has statistics; tables filled a moment ago have none, and then the service's
        # locking SELECT may be planned as a walk over every balance row of the tenant (see the docstring).
        owner = await asyncpg.connect(ctx.infra.owner_dsn)
        try:
            await owner.execute("ANALYZE care_fund, fund_balance, fund_entry, fund_posting")
        finally:
            await owner.close()
    setup_line = (f"set-up: {opts.funds + 1} funds with a contribution each in {time.perf_counter() - t0:.1f} s"
                  f"{', not analyzed' if opts.no_analyze else ', then ANALYZE'}")

    async def service_entry(fund: uuid.UUID) -> None:
        async with tenant_scope(tid):
            await service.commit(fund, 1, cause_id=uuid.uuid4())

    tid_text = str(tid)

    async def raw_entry(pool: asyncpg.Pool, fund: uuid.UUID) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tid_text)
            rows = await conn.fetch(RAW_LOCK, tid, fund)
            if len(rows) != 2:
                raise RuntimeError(f"no such fund {fund}")
            if rows[0]["closed"]:
                raise RuntimeError(f"fund {fund} is closed")
            available, committed = rows[0]["balance"], rows[1]["balance"]  # ordered by account
            if available - 1 < 0 or committed + 1 < 0:
                raise RuntimeError(f"insufficient funds in {fund}")
            written = await conn.fetchrow(RAW_WRITE, tid, uuid.uuid4(), day, fund, 1, committed + 1, available - 1)
            if written is None:
                raise RuntimeError("the entry was not written")

    await _resize_app_pool(opts.concurrency)
    raw_pool: asyncpg.Pool | None = None
    try:
        # The same settings as the app's engine (DSN of the app role, jit off, no reset query on release).
        raw_pool = await asyncpg.create_pool(**{**DB.config, "min_size": opts.concurrency,
                                                "max_size": opts.concurrency})
        assert raw_pool is not None
        rp = raw_pool
        cpu = _Cpu()
        await cpu.find_backends(rp)
        variants: list[tuple[str, Entry]] = [
            ("service_spread", lambda rng: service_entry(rng.choice(spread))),
            ("raw_spread", lambda rng: raw_entry(rp, rng.choice(spread))),
            ("service_hot", lambda rng: service_entry(hot)),
            ("raw_hot", lambda rng: raw_entry(rp, hot)),
        ]
        warmed = 0
        for i, (label, entry) in enumerate(variants):
            warm = await _drive(label, entry, opts.warmup, opts.concurrency, opts.seed + 100 + i, ctx.time_limit)
            if warm.errors:
                raise RuntimeError(f"{label} warm-up: {warm.errors} errors, first: {warm.first_error}")
            warmed += warm.entries
        per_round = max(1, opts.entries // opts.rounds)
        parts: dict[str, list[Result]] = {label: [] for label, _ in variants}
        for r in range(opts.rounds):
            shift = r % len(variants)
            for label, entry in variants[shift:] + variants[:shift]:
                parts[label].append(await _drive(label, entry, per_round, opts.concurrency,
                                                 opts.seed + 10 * r + len(parts[label]), ctx.time_limit, cpu))
        plans = await _plans(rp)
    finally:
        if raw_pool is not None:
            await raw_pool.close()
        await _resize_app_pool(None)
    results = {label: _merge(p) for label, p in parts.items()}

    # Every entry written moved 1 fen from available to committed: the funds must hold exactly that.
    written = sum(r.entries for r in results.values()) + warmed
    async with tenant_scope(tid):
        held = await service.balances([*spread, hot])
        trial = [await service.trial_balance(f) for f in (hot, spread[0])]
        entries = (await fetch("SELECT count(*) AS n FROM fund_entry WHERE tenant_id = $1 AND cause = 'commitment'",
                               tid))[0]["n"]
    committed = sum(b["committed"] for b in held.values())
    if committed != written or entries != written or not all(t["balanced"] for t in trial):
        raise RuntimeError(f"the ledger does not add up: {written} entries written, {entries} recorded, "
                           f"{committed} fen committed, trial balances {[t['balanced'] for t in trial]}")

    s_spread, r_spread, s_hot, r_hot = (results[k] for k in ("service_spread", "raw_spread", "service_hot",
                                                             "raw_hot"))
    return [
        setup_line,
        f"{opts.concurrency} writers, {opts.rounds} interleaved rounds, {opts.funds} spread funds; "
        f"the ledger adds up ({written} entries, trial balances balanced)",
        plans,
        *(r.line() for r in results.values()),
        ratio_line("service_hot", "service_spread", s_hot.postings_per_second, s_spread.postings_per_second),
        ratio_line("raw_hot", "raw_spread", r_hot.postings_per_second, r_spread.postings_per_second),
        ratio_line("service_spread", "raw_spread", s_spread.postings_per_second, r_spread.postings_per_second),
        ratio_line("service_hot", "raw_hot", s_hot.postings_per_second, r_hot.postings_per_second),
    ]
