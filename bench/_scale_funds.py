"""Bulk loading of the care funds for bench/scale.py: three years of a property company's funds with their
double-entry ledger (`--postings`, default 10 000 000), written straight into PostgreSQL as the owner role
with the tenant bound (`app.tenant_id`), like the club and ticket loaders beside it (bench/_scale_load.py).

What is loaded. A fund line per project (`CARE-FP01` …, held by the project's org unit) and one company-wide
line (`CARE-GROUP`), each with a fund for each of the last three years (2024, 2025, 2026 on 1 Dec 2026). The
company-wide fund takes 8 / 12 / 20 % of the postings (2 000 000 in this year's at the default: a single
fund's pages are measured at that size), the project funds share the rest, more each year. A fund's ledger
is blocks of ten entries, 21 postings: two accruals of a quarter's sales and their collection, two
commitments of spending requests and their reimbursement (one with money left over, 3 postings), a third
commitment and its release. About once a month a block's income is a contribution instead (a reserve, a
warranty deposit), every sixth of them corrected by a reversing entry the same day; the last year's money
left available is carried into the next year's fund by a rollover (4 postings over two funds). Causes
then run accrual 20 %, collection 18 %, commitment 30 %, reimbursement 20 %, release 10 %, contribution
and correction the rest. Amounts are drawn so that no available, committed or receivable balance ever
goes below zero at any posting; each posting's `balance_after` is its account's running balance in voucher
order, `voucher` numbers the fund's entries 1, 2, 3 … (`care_fund.last_voucher` the last), `fund_entry.seq`
is the voucher in the entry's first line's fund, and `fund_balance` holds each account's sum, so every
fund's trial balance balances. The running sums per month (`fund_month`) are made from the same blocks.
Beside the ledger: an approved plan per fund (12 lines), spending requests (12 to 400 a fund, most
reimbursed with their claims; the commitments' `cause_id` name them), the contributions' records, an
accrual rule per fund line and its quarterly periods (the latest ones outstanding, some overdue).

How. Every amount is a hash of (fund, block): a small unlogged table of blocks (1/21 of the postings) gets
its running balances by one window sum per fund, and the entries and postings are generated from it by
`INSERT … SELECT` with no sort of the big rows. From 200 000 postings the ledger's two big tables are
filled bare on two connections at once (their foreign keys dropped, indexes and keys made again after the
rows, in the same transaction; the keys checked in one join each afterwards), then vacuumed (an
index-only recount needs the visibility map). The company-wide fund of this year gets
`FINISHED` in its description last: a reused database holding that is not loaded again; one holding funds
without it was interrupted and is refused."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from careclub.core.bench import helper_module

FINISHED = "bench scale: funds loaded"
BARE_FROM = 200_000  # postings from which the ledger's tables are filled bare
POSTINGS_PER_BLOCK = 21
GROUP_SHARES = (0.08, 0.12, 0.20)  # the company-wide fund's share of the postings, oldest year first
PROJECT_YEAR_SHARES = (0.28, 0.33, 0.39)  # the project funds' share of the rest, by year
PROJECT_CODE = "FP{:02d}"
GROUP_CODE = "CARE-GROUP"


def _load_helper() -> ModuleType:
    """bench/_scale_load.py (Timing, LoadReport, add_foreign_keys)."""
    return helper_module("_scale_load")


@dataclass
class FundWorld:
    """What the set-up made (read back from the database)."""

    slug: str
    tenant_id: uuid.UUID
    today: date  # the company's today
    projects: list[uuid.UUID]  # the funds' project org units, FP01 …
    finance_id: uuid.UUID
    finance_name: str


@dataclass
class Fund:
    no: int
    id: uuid.UUID
    code: str
    name: str
    year: int
    unit: uuid.UUID | None
    code_no: int
    blocks: int
    days: int  # days of the year its entries spread over (up to today in this year)
    has_in: bool  # money brought forward from last year's fund (voucher 1)
    has_out: bool  # its money carried into next year's fund (its last voucher)
    requests: int


@dataclass
class FundPlanOut:
    funds: list[Fund]
    postings: int
    entries: int


def plan_funds(world: FundWorld, postings: int) -> FundPlanOut:
    """The funds and how many blocks of entries each gets, for `postings` postings in all (about)."""
    years = [world.today.year - 2, world.today.year - 1, world.today.year]
    t = str(world.tenant_id)
    weights = [0.5 + ((p * 37) % 100) / 100 for p in range(len(world.projects))]
    total_w = sum(weights) or 1.0
    funds: list[Fund] = []
    lines = [(GROUP_CODE, "集团客户关怀基金", None)] + [
        (f"CARE-{PROJECT_CODE.format(p + 1)}", f"{PROJECT_CODE.format(p + 1)}项目客户关怀基金", unit)
        for p, unit in enumerate(world.projects)]
    for code_no, (code, name, unit) in enumerate(lines):
        for y, year in enumerate(years):
            if unit is None:
                share = GROUP_SHARES[y]
            else:
                share = (1 - sum(GROUP_SHARES)) * PROJECT_YEAR_SHARES[y] * weights[code_no - 1] / total_w
            blocks = max(1, round(postings * share / POSTINGS_PER_BLOCK))
            days = 366 if year % 4 == 0 else 365
            if year == world.today.year:
                days = (world.today - date(year, 1, 1)).days + 1
            no = len(funds) + 1
            funds.append(Fund(no, _md5(f"{t}:cf:{no}"), code, name, year, unit, code_no, blocks, days,
                              has_in=y > 0, has_out=y < 2, requests=min(400, max(12, blocks // 100))))
    rollovers = sum(f.has_out for f in funds)
    return FundPlanOut(funds, sum(f.blocks for f in funds) * POSTINGS_PER_BLOCK + 4 * rollovers,
                       sum(f.blocks for f in funds) * 10 + rollovers)


def _md5(text: str) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.md5(text.encode(), usedforsecurity=False).digest())


def _u(salt: int) -> str:
    """A uniform number in [0, 1) fixed by the block (f, b)."""
    return f"((hashint8extended((f::bigint << 32) | b, {salt}) & 2147483647)::float8 / 2147483648.0)"


# ---- the blocks: amounts and the balances before each -----------------------------------------------

# $1 fund numbers, $2 blocks, $3 code numbers, $4 years, $5 has_in
_BLOCKS = f"""
CREATE UNLOGGED TABLE {{blk}} AS
WITH fs AS (
    SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::bool[]) AS x(f, blocks, code_no, year, has_in)
), raw AS (
    SELECT fs.f, b, fs.blocks, fs.code_no, fs.year, fs.has_in,
           greatest(1, fs.blocks / 12) AS every,
           10000 + floor({_u(1)} * 490000)::bigint AS a,
           10000 + floor({_u(3)} * 490000)::bigint AS a2,
           {_u(2)} AS r2, {_u(4)} AS r4, {_u(5)} AS r5, {_u(6)} AS r6, {_u(7)} AS r7
    FROM fs, generate_series(0, fs.blocks - 1) AS b
), k AS (
    SELECT raw.*,
           -- 0 two accruals collected; 1 a contribution and an accrual left outstanding; 2 a contribution
           -- reversed by a correction the same day (every sixth contribution)
           CASE WHEN b % every <> 0 THEN 0 WHEN (b / every) % 6 = 5 THEN 2 ELSE 1 END AS kind,
           greatest(2000, floor(a * (0.2 + 0.8 * r2)))::bigint AS c
    FROM raw
), x AS (
    SELECT k.*, a + CASE kind WHEN 0 THEN a2 WHEN 1 THEN c ELSE 0 END AS xin FROM k
), m AS (
    SELECT x.*, greatest(1, floor(xin * (0.2 + 0.8 * r4) / 4))::bigint AS m1,
           greatest(1, floor(xin * (0.2 + 0.8 * r5) / 4))::bigint AS m2,
           greatest(1, floor(xin * (0.2 + 0.8 * r6) / 4))::bigint AS m3
    FROM x
), n AS (
    SELECT m.*, floor(m1 * (0.6 + 0.38 * r7))::bigint AS s FROM m
), d AS (
    SELECT n.*, xin - m2 - s AS dv, CASE kind WHEN 1 THEN a2 ELSE 0 END AS dr, s + m2 AS dsp,
           -(a + CASE WHEN kind < 2 THEN a2 ELSE 0 END) AS dac, CASE kind WHEN 1 THEN -c ELSE 0 END AS dct
    FROM n
)
SELECT f, b, blocks, code_no, year, has_in, kind, a, a2, c, xin, m1, m2, m3, s, dv, dr, dsp, dac, dct,
       coalesce(sum(dv) OVER w, 0)::bigint AS v0, coalesce(sum(dr) OVER w, 0)::bigint AS r0,
       coalesce(sum(dsp) OVER w, 0)::bigint AS sp0, coalesce(sum(dac) OVER w, 0)::bigint AS ac0,
       coalesce(sum(dct) OVER w, 0)::bigint AS ct0,
       (b / every) AS nth
FROM d
WINDOW w AS (PARTITION BY f ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
"""

# Per fund: what its blocks moved, and the money brought forward (every earlier year's net of the same line:
# each year's rollover carries all that was available, brought-forward money included). $1 fund numbers,
# $2 ids, $3 days, $4 has_out, $5 requests
_SUMMARY = """
CREATE UNLOGGED TABLE {sum} AS
WITH s AS (
    SELECT f, min(code_no) AS code_no, min(year) AS year, bool_or(has_in) AS has_in, count(*) AS blocks,
           sum(dv)::bigint AS dv, sum(dr)::bigint AS dr, sum(dsp)::bigint AS dsp, sum(dac)::bigint AS dac,
           sum(dct)::bigint AS dct
    FROM {blk} GROUP BY f
)
SELECT s.*, x.id, x.days, x.has_out, x.requests,
       coalesce(sum(s.dv) OVER (PARTITION BY s.code_no ORDER BY s.year
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS carried_in,
       s.has_in::int AS shift
FROM s JOIN unnest($1::int[], $2::uuid[], $3::int[], $4::bool[], $5::int[]) AS x(f, id, days, has_out, requests)
    ON x.f = s.f
"""

# The block's entries: step 0 … 9. Voucher = shift + 10 b + s + 1; the day spreads the fund's entries over its
# year in voucher order. $1 tenant, $2 finance user, $3 its name, $4 codes by code_no, $5 time zone
_DAY = "(make_date(g.year, 1, 1) + ((g.b * 10 + st.s)::bigint * g.days / (g.blocks * 10))::int)"
_CAUSE = """CASE st.s WHEN 0 THEN 'accrual' WHEN 1 THEN 'collection'
                 WHEN 2 THEN CASE g.kind WHEN 0 THEN 'accrual' ELSE 'contribution' END
                 WHEN 3 THEN CASE g.kind WHEN 0 THEN 'collection' WHEN 1 THEN 'accrual' ELSE 'correction' END
                 WHEN 4 THEN 'commitment' WHEN 5 THEN 'commitment' WHEN 6 THEN 'reimbursement'
                 WHEN 7 THEN 'reimbursement' WHEN 8 THEN 'commitment' ELSE 'release' END"""
_GEN = """
    FROM (SELECT k.*, sm.days, sm.shift, sm.requests, sm.id AS fund_id FROM {blk} k JOIN {sum} sm ON sm.f = k.f) g
    CROSS JOIN generate_series(0, 9) AS st(s)"""
_REQUEST_NO = "((g.b * 3 + CASE WHEN st.s IN (5, 7) THEN 1 WHEN st.s IN (8, 9) THEN 2 ELSE 0 END) % g.requests + 1)"

_ENTRIES = f"""
INSERT INTO fund_entry (id, tenant_id, created_at, seq, cause, cause_id, reference, memo, occurred_on, reverses,
                        idempotency_key, created_by, created_by_name)
SELECT md5($1 || ':fe:' || g.f || ':' || (g.b * 10 + st.s))::uuid, $1::uuid,
       ({_DAY}::timestamp + interval '8 hours' + ((g.b * 10 + st.s) % 997) * interval '36 seconds') AT TIME ZONE $5,
       g.shift + g.b * 10 + st.s + 1, {_CAUSE},
       CASE WHEN st.s >= 4 THEN md5($1 || ':rq:' || g.f || ':' || {_REQUEST_NO})::uuid
            WHEN st.s = 2 AND g.kind > 0 THEN md5($1 || ':ct:' || g.f || ':' || g.b)::uuid
            WHEN st.s = 3 AND g.kind = 2 THEN md5($1 || ':fe:' || g.f || ':' || (g.b * 10 + 2))::uuid END,
       CASE WHEN st.s >= 4 THEN ($4::text[])[g.code_no + 1] || '-' || g.year || '-' || lpad({_REQUEST_NO}::text, 4, '0')
            WHEN st.s = 3 AND g.kind = 2 THEN '#' || (g.shift + g.b * 10 + 3)
            WHEN st.s < 2 OR (st.s = 3 AND g.kind = 0) OR (st.s = 2 AND g.kind = 0) OR (st.s = 3 AND g.kind = 1)
                THEN g.year || 'Q' || (1 + ({_DAY} - make_date(g.year, 1, 1)) * 4 / 366)
            ELSE 'HT-' || g.year || '-' || g.b END,
       CASE st.s WHEN 0 THEN '销售认购计提' WHEN 1 THEN '计提款到账'
                 WHEN 2 THEN CASE g.kind WHEN 0 THEN '车位销售计提' ELSE '项目启动备用金' END
                 WHEN 3 THEN CASE g.kind WHEN 0 THEN '计提款到账' WHEN 1 THEN '车位销售计提' ELSE '金额录入错误' END
                 WHEN 4 THEN '业主节日关怀活动' WHEN 5 THEN '社区品质提升' WHEN 6 THEN '业主节日关怀活动'
                 WHEN 7 THEN '社区品质提升' WHEN 8 THEN '业主生日关怀' ELSE '活动取消' END,
       {_DAY}, CASE WHEN st.s = 3 AND g.kind = 2 THEN md5($1 || ':fe:' || g.f || ':' || (g.b * 10 + 2))::uuid END,
       NULL, $2::uuid, $3
{_GEN}
"""

# The block's postings: (step, line) pairs, the account and amount by the block's kind, and the balance after
# from the balances before the block. $1 tenant, $2 time zone
_LINES = ("(VALUES (0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2), (4, 1), (4, 2), (5, 1), (5, 2), "
          "(6, 1), (6, 2), (6, 3), (7, 1), (7, 2), (8, 1), (8, 2), (9, 1), (9, 2)) AS st(s, k)")
_V0 = "(g.sm_carried + g.v0)"
_ACCOUNT = """
       CASE st.s * 10 + st.k
            WHEN 1 THEN 'receivable' WHEN 2 THEN 'accrued' WHEN 11 THEN 'available' WHEN 12 THEN 'receivable'
            WHEN 21 THEN CASE g.kind WHEN 0 THEN 'receivable' ELSE 'available' END
            WHEN 22 THEN CASE g.kind WHEN 0 THEN 'accrued' ELSE 'contributed' END
            WHEN 31 THEN CASE g.kind WHEN 1 THEN 'receivable' ELSE 'available' END
            WHEN 32 THEN CASE g.kind WHEN 0 THEN 'receivable' WHEN 1 THEN 'accrued' ELSE 'contributed' END
            WHEN 41 THEN 'committed' WHEN 42 THEN 'available' WHEN 51 THEN 'committed' WHEN 52 THEN 'available'
            WHEN 61 THEN 'spent' WHEN 62 THEN 'committed' WHEN 63 THEN 'available'
            WHEN 71 THEN 'spent' WHEN 72 THEN 'committed' WHEN 81 THEN 'committed' WHEN 82 THEN 'available'
            WHEN 91 THEN 'available' ELSE 'committed' END"""
_AMOUNT = """
       CASE st.s * 10 + st.k
            WHEN 1 THEN g.a WHEN 2 THEN -g.a WHEN 11 THEN g.a WHEN 12 THEN -g.a
            WHEN 21 THEN CASE g.kind WHEN 0 THEN g.a2 ELSE g.c END
            WHEN 22 THEN CASE g.kind WHEN 0 THEN -g.a2 ELSE -g.c END
            WHEN 31 THEN CASE g.kind WHEN 0 THEN g.a2 WHEN 1 THEN g.a2 ELSE -g.c END
            WHEN 32 THEN CASE g.kind WHEN 0 THEN -g.a2 WHEN 1 THEN -g.a2 ELSE g.c END
            WHEN 41 THEN g.m1 WHEN 42 THEN -g.m1 WHEN 51 THEN g.m2 WHEN 52 THEN -g.m2
            WHEN 61 THEN g.s WHEN 62 THEN -g.m1 WHEN 63 THEN g.m1 - g.s
            WHEN 71 THEN g.m2 WHEN 72 THEN -g.m2 WHEN 81 THEN g.m3 WHEN 82 THEN -g.m3
            WHEN 91 THEN g.m3 ELSE -g.m3 END"""
_POSTING_COLUMNS = f"""{_ACCOUNT} AS account, {_AMOUNT} AS amount,
       CASE st.s * 10 + st.k
            WHEN 1 THEN g.r0 + g.a WHEN 2 THEN g.ac0 - g.a WHEN 11 THEN {_V0} + g.a WHEN 12 THEN g.r0
            WHEN 21 THEN CASE g.kind WHEN 0 THEN g.r0 + g.a2 ELSE {_V0} + g.a + g.c END
            WHEN 22 THEN CASE g.kind WHEN 0 THEN g.ac0 - g.a - g.a2 ELSE g.ct0 - g.c END
            WHEN 31 THEN CASE g.kind WHEN 0 THEN {_V0} + g.xin WHEN 1 THEN g.r0 + g.a2 ELSE {_V0} + g.xin END
            WHEN 32 THEN CASE g.kind WHEN 0 THEN g.r0 WHEN 1 THEN g.ac0 - g.a - g.a2 ELSE g.ct0 END
            WHEN 41 THEN g.m1 WHEN 42 THEN {_V0} + g.xin - g.m1
            WHEN 51 THEN g.m1 + g.m2 WHEN 52 THEN {_V0} + g.xin - g.m1 - g.m2
            WHEN 61 THEN g.sp0 + g.s WHEN 62 THEN g.m2 WHEN 63 THEN {_V0} + g.xin - g.m2 - g.s
            WHEN 71 THEN g.sp0 + g.s + g.m2 WHEN 72 THEN 0 WHEN 81 THEN g.m3
            WHEN 82 THEN {_V0} + g.xin - g.m2 - g.s - g.m3
            WHEN 91 THEN {_V0} + g.xin - g.m2 - g.s ELSE 0 END AS balance_after"""

_GEN_LINES = f"""
    FROM (SELECT k.*, sm.days, sm.shift, sm.id AS fund_id, sm.carried_in AS sm_carried
          FROM {{blk}} k JOIN {{sum}} sm ON sm.f = k.f) g
    CROSS JOIN {_LINES}"""

_POSTINGS = f"""
INSERT INTO fund_posting (id, tenant_id, created_at, entry, fund, account, amount, balance_after, voucher)
SELECT overlay(e.h placing st.k::text from 32)::uuid, $1::uuid,
       ({_DAY}::timestamp + interval '8 hours' + ((g.b * 10 + st.s) % 997) * interval '36 seconds') AT TIME ZONE $2,
       e.h::uuid, g.fund_id, p.account, p.amount, p.balance_after, g.shift + g.b * 10 + st.s + 1
{_GEN_LINES}
    -- the entry's id, and the posting's made from it (its last digit the line's number): one md5 a row, where
    -- gen_random_uuid() cost as much again
    CROSS JOIN LATERAL (SELECT md5($1 || ':fe:' || g.f || ':' || (g.b * 10 + st.s)) AS h) e
    CROSS JOIN LATERAL (SELECT {_POSTING_COLUMNS}) p
"""

# The running sums per month, cause and account. The blocks that lie within one month are summed per fund,
# month and kind first (every line's amount is a sum of the block's amounts, so the 21 lines then apply to the
# sums); the few blocks across a month's end are expanded line by line. $1 tenant
_BLOCK_DAY = "(make_date(k.year, 1, 1) + ((k.b * 10 + {s})::bigint * sm.days / (k.blocks * 10))::int)"
_MONTHS = f"""
WITH whole AS (
    SELECT k.f, sm.id AS fund_id, sm.shift, k.year, k.kind,
           date_trunc('month', {_BLOCK_DAY.format(s=0)})::date AS month, count(*) AS n,
           sum(k.a) AS a, sum(k.a2) AS a2, sum(k.c) AS c, sum(k.m1) AS m1, sum(k.m2) AS m2, sum(k.m3) AS m3,
           sum(k.s) AS s, min(k.b) AS b_lo, max(k.b) AS b_hi
    FROM {{blk}} k JOIN {{sum}} sm ON sm.f = k.f
    WHERE date_trunc('month', {_BLOCK_DAY.format(s=0)}) = date_trunc('month', {_BLOCK_DAY.format(s=9)})
    GROUP BY k.f, sm.id, sm.shift, k.year, k.kind, date_trunc('month', {_BLOCK_DAY.format(s=0)})::date
), lines AS (
    SELECT g.fund_id, g.month, {_CAUSE} AS cause, {_ACCOUNT} AS account, {_AMOUNT} AS amount, g.n AS postings,
           g.shift + g.b_lo * 10 + st.s + 1 AS first_voucher, g.shift + g.b_hi * 10 + st.s + 1 AS last_voucher
    FROM whole g CROSS JOIN {_LINES}
    UNION ALL
    SELECT g.fund_id, date_trunc('month', {_DAY})::date, {_CAUSE}, {_ACCOUNT}, {_AMOUNT}, 1,
           g.shift + g.b * 10 + st.s + 1, g.shift + g.b * 10 + st.s + 1
    FROM (SELECT k.*, sm.days, sm.shift, sm.id AS fund_id FROM {{blk}} k JOIN {{sum}} sm ON sm.f = k.f
          WHERE date_trunc('month', {_BLOCK_DAY.format(s=0)}) <> date_trunc('month', {_BLOCK_DAY.format(s=9)})) g
    CROSS JOIN {_LINES}
)
INSERT INTO fund_month (id, tenant_id, created_at, fund, month, cause, account, amount, postings, first_voucher,
                        last_voucher)
SELECT gen_random_uuid(), $1::uuid, now(), fund_id, month, cause, account, sum(amount), sum(postings),
       min(first_voucher), max(last_voucher)
FROM lines GROUP BY fund_id, month, cause, account
"""

# Rollovers: on 1 January the old fund's money available (its own net and what it brought forward) moves into
# next year's fund: the old fund's last voucher, the new one's first. $1 tenant, $2 time zone
_ROLLOVER_PAIRS = """
    SELECT o.f AS old_f, o.id AS old_id, n.id AS new_id, o.year, o.shift + o.blocks * 10 + 1 AS old_voucher,
           o.carried_in + o.dv AS moved, md5($1 || ':ro:' || o.f)::uuid AS entry
    FROM {sum} o JOIN {sum} n ON n.code_no = o.code_no AND n.year = o.year + 1 WHERE o.has_out"""
_ROLLOVER_ENTRIES = f"""
INSERT INTO fund_entry (id, tenant_id, created_at, seq, cause, cause_id, reference, memo, occurred_on, reverses,
                        idempotency_key, created_by, created_by_name)
SELECT r.entry, $1::uuid, (make_date(r.year + 1, 1, 1)::timestamp + interval '1 hour') AT TIME ZONE $2,
       r.old_voucher, 'rollover', r.old_id, r.year || '→' || (r.year + 1), '客户关怀基金', make_date(r.year + 1, 1, 1),
       NULL, NULL, NULL, '' FROM ({_ROLLOVER_PAIRS}) r
"""
_ROLLOVER_LINES = f"""
    SELECT r.*, l.k, l.fund, l.account, l.amount, l.after, l.voucher FROM ({_ROLLOVER_PAIRS}) r
    CROSS JOIN LATERAL (VALUES (1, r.old_id, 'available', -r.moved, 0::bigint, r.old_voucher),
                               (2, r.old_id, 'carried_forward', r.moved, r.moved, r.old_voucher),
                               (3, r.new_id, 'brought_forward', -r.moved, -r.moved, 1::bigint),
                               (4, r.new_id, 'available', r.moved, r.moved, 1::bigint))
        AS l(k, fund, account, amount, after, voucher)"""
_ROLLOVER_POSTINGS = f"""
INSERT INTO fund_posting (id, tenant_id, created_at, entry, fund, account, amount, balance_after, voucher)
SELECT gen_random_uuid(), $1::uuid, (make_date(x.year + 1, 1, 1)::timestamp + interval '1 hour') AT TIME ZONE $2,
       x.entry, x.fund, x.account, x.amount, x.after, x.voucher
FROM ({_ROLLOVER_LINES}) x
"""
_ROLLOVER_MONTHS = f"""
INSERT INTO fund_month AS fm (id, tenant_id, created_at, fund, month, cause, account, amount, postings,
                              first_voucher, last_voucher)
SELECT gen_random_uuid(), $1::uuid, now(), x.fund, make_date(x.year + 1, 1, 1), 'rollover', x.account, x.amount, 1,
       x.voucher, x.voucher
FROM ({_ROLLOVER_LINES}) x
"""

# Each fund's balances: the sums of its blocks, the rollovers in and out. $1 tenant
_BALANCES = """
INSERT INTO fund_balance (id, tenant_id, created_at, fund, account, balance)
SELECT gen_random_uuid(), $1::uuid, now(), s.id, a.account, a.balance
FROM {sum} s CROSS JOIN LATERAL (VALUES
    ('available', CASE WHEN s.has_out THEN 0 ELSE s.carried_in + s.dv END), ('receivable', s.dr),
    ('committed', 0::bigint), ('spent', s.dsp),
    ('carried_forward', CASE WHEN s.has_out THEN s.carried_in + s.dv ELSE 0 END), ('accrued', s.dac),
    ('contributed', s.dct), ('brought_forward', -s.carried_in)) AS a(account, balance)
"""

# The contributions' own records, one per contribution entry. $1 tenant, $2 finance user
_CONTRIBUTIONS = f"""
INSERT INTO fund_contribution (id, tenant_id, created_at, fund, kind, source, amount, received_on, reference, note,
                               entry, recorded_by)
SELECT md5($1 || ':ct:' || g.f || ':' || g.b)::uuid, $1::uuid, now(), g.fund_id,
       (ARRAY['reserve', 'warranty_deposit', 'other'])[1 + g.nth % 3],
       (ARRAY['项目启动备用金', '总包单位质保金', '开发商专项拨款'])[1 + g.nth % 3], g.c, {_DAY},
       'HT-' || g.year || '-' || g.b, '', md5($1 || ':fe:' || g.f || ':' || (g.b * 10 + 2))::uuid, $2::uuid
FROM (SELECT k.*, sm.days, sm.id AS fund_id FROM {{blk}} k JOIN {{sum}} sm ON sm.f = k.f WHERE k.kind > 0) g
    CROSS JOIN (VALUES (2)) AS st(s)
"""

# An approved plan per fund: a line a month, alternating the two categories. $1 tenant, $2 finance user,
# $3 time zone
_PLANS = """
INSERT INTO fund_plan (id, tenant_id, created_at, fund, version, previous, title, note, status, approval_request,
                       submitted_at, decided_at, created_by)
SELECT md5($1 || ':pl:' || s.f)::uuid, $1::uuid, (make_date(s.year, 1, 3)::timestamp) AT TIME ZONE $3, s.id, 1, NULL,
       s.year || '年度客户关怀基金使用计划', '', 'approved', NULL,
       (make_date(s.year, 1, 5)::timestamp + interval '10 hours') AT TIME ZONE $3,
       (make_date(s.year, 1, 10)::timestamp + interval '15 hours') AT TIME ZONE $3, $2::uuid
FROM {sum} s
"""
_PLAN_LINES = """
INSERT INTO fund_plan_line (id, tenant_id, created_at, plan, code, org_unit_id, category, item, month, amount)
SELECT md5($1 || ':pll:' || s.f || ':' || m)::uuid, $1::uuid, now(), md5($1 || ':pl:' || s.f)::uuid,
       'L' || lpad(m::text, 2, '0'), NULL,
       CASE WHEN m % 2 = 1 THEN 'customer_care' ELSE 'quality_improvement' END,
       (ARRAY['春节业主关怀', '社区环境提升', '业主生日关怀', '园区绿化改造', '端午节关怀', '儿童活动',
              '夏季清凉行动', '安防设施更新', '中秋节关怀', '国庆社区活动', '重阳节敬老', '年末业主答谢'])[m],
       m, (greatest(100000, (s.dsp + s.dsp / 5) / 12) / 100 * 100)::bigint
FROM {sum} s CROSS JOIN generate_series(1, 12) AS m
"""

# Spending requests, numbered per fund in order of filing over its year; the commitments' cause_id name
# them. $1 tenant, $2 finance user, $3 name, $4 codes by code_no, $5 time zone, $6 today
_REQUESTS = """
INSERT INTO fund_request (id, tenant_id, created_at, fund, number, title, description, category, org_unit_id,
                          in_plan, plan_line_code, batch_month, amount, committed, spent, status, approval_request,
                          requester_id, requester_name, decided_at)
SELECT md5($1 || ':rq:' || s.f || ':' || n)::uuid, $1::uuid, x.filed, s.id,
       ($4::text[])[s.code_no + 1] || '-' || s.year || '-' || lpad(n::text, 4, '0'),
       (ARRAY['业主节日关怀活动', '社区品质提升', '业主生日关怀', '儿童游乐设施维修', '园区绿化补种', '敬老慰问'])
           [1 + n % 6],
       '', CASE WHEN n % 2 = 1 THEN 'customer_care' ELSE 'quality_improvement' END, f.org_unit_id,
       n % 10 < 7, CASE WHEN n % 10 < 7 THEN 'L' || lpad(x.month::text, 2, '0') END,
       s.year || '-' || lpad(x.month::text, 2, '0'), x.amount,
       CASE WHEN x.st IN ('approved', 'claimed') THEN x.amount ELSE 0 END,
       CASE WHEN x.st = 'reimbursed' THEN x.amount - x.amount / 10 ELSE 0 END, x.st, NULL, $2::uuid, $3,
       CASE WHEN x.st NOT IN ('in_review') THEN x.filed + interval '2 days' END
FROM {sum} s JOIN care_fund f ON f.tenant_id = $1::uuid AND f.id = s.id
    CROSS JOIN generate_series(1, s.requests) AS n
    CROSS JOIN LATERAL (
        SELECT ((make_date(s.year, 1, 2) + ((n - 1)::bigint * (s.days - 1) / s.requests)::int)::timestamp
                + interval '10 hours') AT TIME ZONE $5 AS filed,
               extract(month FROM make_date(s.year, 1, 2) + ((n - 1)::bigint * (s.days - 1) / s.requests)::int)::int
                   AS month,
               (5000 + (hashint8extended(s.f::bigint * 100000 + n, 11) & 2147483647) % 200) * 100 AS amount,
               CASE WHEN make_date(s.year, 1, 2) + ((n - 1)::bigint * (s.days - 1) / s.requests)::int
                         >= $6::date - 14 AND n % 3 = 0 THEN 'in_review'
                    ELSE (ARRAY['reimbursed', 'reimbursed', 'reimbursed', 'reimbursed', 'reimbursed', 'reimbursed',
                                'claimed', 'approved', 'approved', 'rejected', 'withdrawn', 'closed'])[1 + n % 12]
               END AS st) x
"""
_CLAIMS = """
INSERT INTO fund_claim (id, tenant_id, created_at, request, items, total, note, status, refusal, signoffs,
                        submitted_by, entry)
SELECT md5($1 || ':cl:' || r.id)::uuid, $1::uuid, r.decided_at + interval '20 days', r.id,
       jsonb_build_array(jsonb_build_object('description', r.title, 'spec', '', 'quantity', 1, 'unit', '项',
                                            'unit_price', r.spent, 'amount', r.spent)),
       r.spent, '', CASE r.status WHEN 'reimbursed' THEN 'reimbursed' ELSE 'submitted' END, '', '[]'::jsonb,
       r.requester_id, NULL
FROM fund_request r WHERE r.tenant_id = $1::uuid AND r.status = 'reimbursed'
"""
_CLAIMED = """
INSERT INTO fund_claim (id, tenant_id, created_at, request, items, total, note, status, refusal, signoffs,
                        submitted_by, entry)
SELECT md5($1 || ':cl:' || r.id)::uuid, $1::uuid, r.decided_at + interval '20 days', r.id,
       jsonb_build_array(jsonb_build_object('description', r.title, 'spec', '', 'quantity', 1, 'unit', '项',
                                            'unit_price', r.committed - r.committed / 20,
                                            'amount', r.committed - r.committed / 20)),
       r.committed - r.committed / 20, '', 'submitted', '', '[]'::jsonb, r.requester_id, NULL
FROM fund_request r WHERE r.tenant_id = $1::uuid AND r.status = 'claimed'
"""

# An accrual rule per fund line (5 bp of each quarter's sales), its quarters of each year up to the last ended;
# paid when due, the latest ones outstanding (those past due flagged overdue, as the job would have). $1 tenant,
# $2 finance user, $3 today
_RULES = """
INSERT INTO fund_accrual_rule (id, tenant_id, created_at, fund_code, code, name, source, base_label, rate_bp, period,
                               due_day, active)
SELECT md5($1 || ':ar:' || c.code)::uuid, $1::uuid, now(), c.code, 'SALES', '销售认购计提', '营销中心',
       '季度销售认购额', 5, 'quarter', 20, true
FROM unnest($2::text[]) AS c(code)
"""
_PERIODS = """
INSERT INTO fund_accrual_period (id, tenant_id, created_at, rule, fund, label, starts_on, ends_on, base, amount,
                                 due_on, paid, paid_on, accrual_entry, overdue_flagged, entered_by)
SELECT md5($1 || ':ap:' || s.f || ':' || q)::uuid, $1::uuid, now(),
       md5($1 || ':ar:' || ($4::text[])[s.code_no + 1])::uuid, s.id, s.year || 'Q' || q,
       make_date(s.year, 3 * q - 2, 1),
       (make_date(s.year, 3 * q - 2, 1) + interval '3 months' - interval '1 day')::date,
       x.base, (2 * x.base * 5 + 10000) / 20000, x.due,
       CASE WHEN x.due < $3::date - 60 THEN (2 * x.base * 5 + 10000) / 20000 ELSE 0 END,
       CASE WHEN x.due < $3::date - 60 THEN x.due - 3 END, NULL, x.due < $3::date AND x.due >= $3::date - 60, $2::uuid
FROM {sum} s CROSS JOIN generate_series(1, 4) AS q
    CROSS JOIN LATERAL (
        SELECT (1000000000 + (hashint8extended(s.f * 10 + q, 21) & 2147483647) % 4000000000)::bigint AS base,
               (make_date(s.year, 3 * q - 2, 1) + interval '3 months' + interval '19 days')::date AS due) x
WHERE make_date(s.year, 3 * q - 2, 1) + interval '3 months' <= $3::date
"""


@dataclass
class FundLoadReport:
    timings: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wall: float = 0.0
    postings: int = 0
    entries: int = 0


class FundLoader:
    """Loads one tenant's funds: the plan of funds and blocks on a; then the ledger's two tables side by side
    (postings on a, entries on b, each bare when big), the running sums, rollovers, balances and the records
    beside the ledger; the foreign keys back, VACUUM (ANALYZE), and the finished mark last."""

    def __init__(self, owner_dsn: str, world: FundWorld, postings: int, *, emit: Callable[[str], None]) -> None:
        self.dsn, self.world, self.emit = owner_dsn, world, emit
        self.plan = plan_funds(world, postings)
        self.t = str(world.tenant_id)
        suffix = world.tenant_id.hex[:12]
        self.blk, self.sum = f"scale_fund_blocks_{suffix}", f"scale_fund_summary_{suffix}"
        self.report = FundLoadReport(postings=self.plan.postings, entries=self.plan.entries)
        self.helper = _load_helper()
        self.tz = ""

    def finished_mark(self) -> str:
        return f"{FINISHED} {self.plan.postings} postings, {self.plan.entries} entries"

    async def connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn, timeout=30, command_timeout=None)
        await conn.execute("SET synchronous_commit = off; SET work_mem = '64MB'; SET maintenance_work_mem = '512MB'; "
                           "SET jit = off")
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", self.t)
        return conn

    async def _timed(self, table: str, rows_hint: int | None, work: Callable[[], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        rows = await work()
        timing = self.helper.Timing(table, int(rows if rows_hint is None else rows_hint),
                                    time.perf_counter() - started)
        self.report.timings.append(timing)
        self.emit(f"[{self.world.slug}]{timing.line()}")
        return rows

    def _sql(self, sql: str) -> str:
        return sql.replace("{blk}", self.blk).replace("{sum}", self.sum)

    async def _exec(self, conn: asyncpg.Connection, sql: str, *args: Any) -> int:
        status = await conn.execute(self._sql(sql), *args)
        return int(status.split()[-1]) if status.split()[-1].isdigit() else 0

    async def run(self) -> FundLoadReport:
        started = time.perf_counter()
        a, b = await self.connect(), await self.connect()
        fks: list[tuple[str, str]] = []
        try:
            self.tz = await a.fetchval("SELECT timezone FROM tenant WHERE id = $1", self.world.tenant_id)
            await self._prepare(a)
            big = self.plan.postings >= BARE_FROM
            if big:
                fks = [(r["conname"], r["definition"]) for r in await a.fetch(
                    "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                    "WHERE conrelid = 'fund_posting'::regclass AND contype = 'f' ORDER BY conname")]
                for name, _ in fks:
                    await a.execute(f'ALTER TABLE fund_posting DROP CONSTRAINT "{name}"')
            try:
                await self._ledger(a, b, big)
            finally:
                if fks:
                    await self._timed("fund_posting foreign keys", len(fks), lambda: self._add_fks(fks))
            await self._timed("vacuum (analyze)", 0, lambda: self._vacuum(a, b))
            await a.execute("UPDATE care_fund SET description = $2 WHERE tenant_id = $1 AND code = $3 AND year = $4",
                            self.world.tenant_id, self.finished_mark(), GROUP_CODE, self.world.today.year)
            await a.execute(f"DROP TABLE IF EXISTS {self.blk}; DROP TABLE IF EXISTS {self.sum}")
        finally:
            await a.close()
            await b.close()
        self.report.wall = time.perf_counter() - started
        return self.report

    async def _prepare(self, a: asyncpg.Connection) -> None:
        """The funds (their rows, closed for past years), the blocks and the per-fund summary."""
        w, funds = self.world, self.plan.funds
        await a.execute(f"DROP TABLE IF EXISTS {self.blk}; DROP TABLE IF EXISTS {self.sum}")
        await a.executemany(
            "INSERT INTO care_fund (id, tenant_id, created_at, code, name, year, org_unit_id, description, closed, "
            "acceptance_roles, off_plan_cutoff_day, last_voucher) VALUES ($1, $2, make_date($5, 1, 1)::timestamptz, "
            "$3, $4, $5, $6, '', $7, '', 25, $8)",
            [(f.id, w.tenant_id, f.code, f.name, f.year, f.unit, f.has_out,
              int(f.has_in) + f.blocks * 10 + int(f.has_out)) for f in funds])

        async def blocks() -> int:
            await a.execute(self._sql(_BLOCKS), [f.no for f in funds], [f.blocks for f in funds],
                            [f.code_no for f in funds], [f.year for f in funds], [f.has_in for f in funds])
            await a.execute(self._sql(_SUMMARY), [f.no for f in funds], [f.id for f in funds],
                            [f.days for f in funds], [f.has_out for f in funds], [f.requests for f in funds])
            await a.execute(f"ANALYZE {self.blk}; ANALYZE {self.sum}")
            return int(await a.fetchval(f"SELECT count(*) FROM {self.blk}"))

        await self._timed("blocks (plan)", None, blocks)
        await self._timed("fund_balance", None, lambda: self._exec(a, _BALANCES, self.t))

    async def _ledger(self, a: asyncpg.Connection, b: asyncpg.Connection, big: bool) -> None:
        tz, codes = self.tz, self._codes()
        args = (self.t, self.world.finance_id, self.world.finance_name, codes, tz)

        async def postings() -> int:
            async def work() -> int:
                n = await self._exec(a, _POSTINGS, self.t, tz)
                return n + await self._exec(a, _ROLLOVER_POSTINGS, self.t, tz)
            return await (self._bare(a, "fund_posting", work) if big else work())

        async def entries() -> int:
            async def work() -> int:
                n = await self._exec(b, _ENTRIES, *args)
                return n + await self._exec(b, _ROLLOVER_ENTRIES, self.t, tz)
            return await (self._bare(b, "fund_entry", work) if big else work())

        async def beside() -> None:
            await self._timed("fund_entry", None, entries)
            await self._timed("fund_month", None, lambda: self._months(b))
            await self._timed("fund_contribution", None, lambda: self._exec(b, _CONTRIBUTIONS, self.t,
                                                                              self.world.finance_id))
            await self._timed("fund_plan (+ lines)", None, lambda: self._plans(b))
            await self._timed("fund_request (+ claims)", None, lambda: self._requests(b))
            await self._timed("fund_accrual_period", None, lambda: self._accruals(b))

        if not big:  # entries first: the postings' foreign key names them
            await beside()
            await self._timed("fund_posting", None, postings)
            return
        async with asyncio.TaskGroup() as group:
            group.create_task(self._timed("fund_posting", None, postings))
            group.create_task(beside())

    def _codes(self) -> list[str]:
        codes: dict[int, str] = {}
        for f in self.plan.funds:
            codes[f.code_no] = f.code
        return [codes[k] for k in sorted(codes)]

    async def _months(self, conn: asyncpg.Connection) -> int:
        n = await self._exec(conn, _MONTHS, self.t)
        return n + await self._exec(conn, _ROLLOVER_MONTHS, self.t)

    async def _plans(self, conn: asyncpg.Connection) -> int:
        n = await self._exec(conn, _PLANS, self.t, self.world.finance_id, self.tz)
        return n + await self._exec(conn, _PLAN_LINES, self.t)

    async def _requests(self, conn: asyncpg.Connection) -> int:
        n = await self._exec(conn, _REQUESTS, self.t, self.world.finance_id, self.world.finance_name, self._codes(),
                             self.tz, self.world.today)
        await self._exec(conn, _CLAIMS, self.t)
        await self._exec(conn, _CLAIMED, self.t)
        return n

    async def _accruals(self, conn: asyncpg.Connection) -> int:
        await self._exec(conn, _RULES, self.t, self._codes())
        return await self._exec(conn, _PERIODS, self.t, self.world.finance_id, self.world.today, self._codes())

    async def _bare(self, conn: asyncpg.Connection, table: str, work: Callable[[], Awaitable[int]]) -> int:
        """`work` fills `table` stripped of its indexes and keys (nothing references them while the postings'
        foreign keys are off), made again after it in the same transaction: an interrupted load leaves the
        table as it was, and nobody sees it without them (the ALTERs' locks last until the commit)."""
        async with conn.transaction():
            indexes = await conn.fetch(
                "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition "
                "FROM pg_index i WHERE i.indrelid = $1::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", table)
            keys = await conn.fetch(
                "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                "WHERE conrelid = $1::regclass AND contype IN ('p', 'u')", table)
            for k in keys:
                await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{k["conname"]}"')
            for i in indexes:
                await conn.execute(f"DROP INDEX {i['name']}")
            # The table is the owner's, locked by the ALTERs until the commit: its rows (all of the bound
            # tenant) skip the policy's check, one plpgsql call a row, and it is forced again before anyone sees it.
            await conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            rows = await work()
            await conn.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            await conn.execute("SET LOCAL max_parallel_maintenance_workers = 1")  # the other connection works too
            for k in keys:
                await conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{k["conname"]}" {k["definition"]}')
            for i in indexes:
                await conn.execute(i["definition"])
        return rows

    async def _add_fks(self, fks: list[tuple[str, str]]) -> int:
        conn = await self.connect()  # fresh: a failed load may have left its connections unusable
        try:
            await self.helper.add_foreign_keys(conn, fks, "fund_posting", ["care_fund", "fund_entry"])
        finally:
            await conn.close()
        return len(fks)

    @staticmethod
    async def _vacuum(a: asyncpg.Connection, b: asyncpg.Connection) -> int:
        async with asyncio.TaskGroup() as group:
            group.create_task(a.execute("VACUUM (ANALYZE) fund_posting"))
            group.create_task(b.execute("VACUUM (ANALYZE) fund_entry, fund_month, fund_balance, care_fund, "
                                        "fund_request, fund_claim, fund_contribution, fund_plan, fund_plan_line, "
                                        "fund_accrual_period, fund_accrual_rule"))
        return 0


async def repair(conn: asyncpg.Connection) -> list[str]:
    """A reused database whose funds load was killed half-way: the postings' foreign keys it dropped, back."""
    have = {r["column"] for r in await conn.fetch(
        "SELECT a.attname AS column FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = c.conkey[1] WHERE c.conrelid = 'fund_posting'::regclass AND c.contype = 'f'")}
    missing = [(f"fund_posting_{column}_fkey", f"FOREIGN KEY ({column}) REFERENCES {target}(id) ON UPDATE CASCADE "
                "ON DELETE CASCADE") for column, target in (("entry", "fund_entry"), ("fund", "care_fund"))
               if column not in have]
    await _load_helper().add_foreign_keys(conn, missing, "fund_posting", ["care_fund", "fund_entry"])
    return [f"the foreign key {name} was missing (an interrupted funds load): added back" for name, _ in missing]


async def check(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[str]:
    """What a loaded tenant's ledger must satisfy, checked cheaply from the running sums and balances: every
    fund's running sums equal its stored balances and add up to zero. Answers the funds that disagree."""
    rows = await conn.fetch("""
        WITH m AS (SELECT fund, account, sum(amount) AS total FROM fund_month WHERE tenant_id = $1
                   GROUP BY fund, account)
        SELECT f.code, f.year FROM care_fund f
        JOIN fund_balance b ON b.tenant_id = f.tenant_id AND b.fund = f.id
        LEFT JOIN m ON m.fund = b.fund AND m.account = b.account
        WHERE f.tenant_id = $1
        GROUP BY f.code, f.year
        HAVING bool_or(coalesce(m.total, 0) <> b.balance) OR sum(b.balance) <> 0""", tenant_id)
    return [f"{r['code']} {r['year']}" for r in rows]


# ---- bench/scale.py's part: set-up, samples, what is measured ---------------------------------------------

@dataclass
class FundPrep:
    """One tenant's funds, ready to measure."""

    fund_id: uuid.UUID  # the company-wide fund of this year: the biggest ledger
    postings: int  # of that fund
    entries: list[uuid.UUID]  # 50 sampled entries of it
    page_2: int | None  # next_before of its ledger's first page
    month: tuple[str, str]  # a month in the middle of its year (since, until)
    api: dict[str, str]  # the finance user's token
    page: dict[str, str]  # the finance user's page session
    requests_after: str | None = None  # next_after of its requests' first page (50, as the page shows)


async def _ensure_projects(ctx: Any, tenant: Any, conn: asyncpg.Connection, n: int) -> list[uuid.UUID]:
    """The projects whose funds are loaded (org units FP01 … of kind project), made through the API as an
    admin would, each only when missing (a database kept from before)."""
    units = {r["code"]: r["id"] for r in await conn.fetch(
        "SELECT id, code FROM org_unit WHERE tenant_id = $1 AND code LIKE 'FP%'", tenant.tenant_id)}
    root = str(await conn.fetchval("SELECT id FROM org_unit WHERE tenant_id = $1 AND parent IS NULL", tenant.tenant_id))
    for p in range(n):
        code = PROJECT_CODE.format(p + 1)
        if code not in units:
            r = await ctx.client.post("/api/v1/org-units", headers=tenant.headers, json={
                "code": code, "name": f"{code}项目", "parent_id": root, "kind": "project"})
            if r.status_code != 201:
                raise RuntimeError(f"POST /api/v1/org-units answered {r.status_code}: {r.text[:300]}")
            units[code] = uuid.UUID(r.json()["id"])
    return [units[PROJECT_CODE.format(p + 1)] for p in range(n)]


async def prepare(ctx: Any, p: Any, postings: int, *, projects: int, emit: Callable[[str], None]) -> FundPrep:
    """The funds of one tenant (`p`: scale.py's Prepared): set up, loaded (or found loaded), sampled."""
    tenant, slug = p.tenant, p.tenant.slug
    conn = await asyncpg.connect(ctx.infra.owner_dsn, timeout=30)
    try:
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant.tenant_id))
        tz = await conn.fetchval("SELECT timezone FROM tenant WHERE id = $1", tenant.tenant_id)
        today = datetime.now(ZoneInfo(tz)).date()
        finance = await conn.fetchrow("SELECT id, display_name FROM app_user WHERE email = $1",
                                      f"finance@{slug}.bench")
        world = FundWorld(slug, tenant.tenant_id, today, await _ensure_projects(ctx, tenant, conn, projects),
                          finance["id"], finance["display_name"])
        have = int(await conn.fetchval("SELECT count(*) FROM care_fund WHERE tenant_id = $1", tenant.tenant_id))
        group = await conn.fetchrow("SELECT id, description, last_voucher FROM care_fund WHERE tenant_id = $1 "
                                    "AND code = $2 AND year = $3", tenant.tenant_id, GROUP_CODE, today.year)
        if have == 0:
            loader = FundLoader(ctx.infra.owner_dsn, world, postings, emit=emit)
            emit(f"[{slug}] loading {len(loader.plan.funds)} funds, {loader.plan.postings:,} postings in "
                 f"{loader.plan.entries:,} entries …")
            report = await loader.run()
            p.lines.append(f"{slug}: funds loaded in {report.wall:.0f} s ({report.postings:,} postings, "
                           f"{report.entries:,} entries, {len(loader.plan.funds)} funds)")
            p.lines += [t.line() for t in report.timings]
            group = await conn.fetchrow("SELECT id, description, last_voucher FROM care_fund WHERE tenant_id = $1 "
                                        "AND code = $2 AND year = $3", tenant.tenant_id, GROUP_CODE, today.year)
        else:
            p.lines += [f"{slug}: {note}" for note in await repair(conn)]
            if group is None or not (group["description"] or "").startswith(FINISHED):
                raise RuntimeError(f"{slug} holds {have} funds but their load never finished: use a fresh database "
                                   "(unset BENCH_DATABASE)")
            p.lines.append(f"{slug}: funds reused ({group['description']}); not loaded again")
        wrong = await check(conn, tenant.tenant_id)
        if wrong:
            raise RuntimeError(f"{slug}: the running sums disagree with the balances of {', '.join(wrong[:5])}")
        last = int(group["last_voucher"])
        rng = random.Random(f"{slug}:fund-entries")
        entries = [r["entry"] for r in await conn.fetch(
            "SELECT DISTINCT entry FROM fund_posting WHERE tenant_id = $1 AND fund = $2 "
            "AND voucher = ANY($3::bigint[])",
            tenant.tenant_id, group["id"], rng.sample(range(1, last + 1), min(50, last)))]
        fund_postings = int(await conn.fetchval("SELECT coalesce(sum(postings), 0) FROM fund_month "
                                                "WHERE tenant_id = $1 AND fund = $2", tenant.tenant_id, group["id"]))
    finally:
        await conn.close()
    from careclub.core.bench import BENCH_PASSWORD

    r = await ctx.client.post("/api/v1/auth/token", json={"tenant": slug, "email": f"finance@{slug}.bench",
                                                          "password": BENCH_PASSWORD})
    api = {"authorization": f"Bearer {r.json()['token']}"} if r.status_code == 200 else p.api
    try:
        page = await ctx.page_session(slug, f"finance@{slug}.bench")
    except RuntimeError:
        page = p.page
    first = await ctx.client.get(f"/api/v1/funds/{group['id']}/ledger?limit=50", headers=api)
    page_2 = first.json().get("next_before") if first.status_code == 200 else None
    listed = await ctx.client.get(f"/api/v1/funds/{group['id']}/requests?limit=50", headers=api)
    requests_after = listed.json().get("next_after") if listed.status_code == 200 else None
    month = (f"{today.year}-03-01", f"{today.year}-03-31")
    p.lines.append(f"{slug}: measured fund CARE-GROUP {today.year}: {fund_postings:,} postings, {last:,} vouchers")
    return FundPrep(group["id"], fund_postings, entries, page_2, month, api, page, requests_after)


def specs(spec: Callable[..., Any]) -> list[Any]:
    """The funds' endpoints for scale.py (`spec` is its Spec class): as the finance user, on the company-wide
    fund of this year (the biggest), beside the small company's."""

    def with_fund(path: str, *, page: bool = False, kind: str = "api") -> Callable[[Any, int], Any]:
        def build(p: Any, i: int) -> tuple[Any, ...] | None:
            f: FundPrep | None = p.funds
            if f is None:
                return None
            entry = f.entries[i % len(f.entries)] if f.entries else None
            if "{entry}" in path and entry is None:
                return None
            if "{before}" in path and f.page_2 is None:
                return None
            if "{after}" in path and f.requests_after is None:
                return None
            url = path.format(fund=f.fund_id, entry=entry, before=f.page_2, since=f.month[0], until=f.month[1],
                              after=f.requests_after)
            return url, (f.page if page else f.api)
        return build

    return [
        spec("api funds", "list", with_fund("/api/v1/funds")),
        spec("page /funds", "list", with_fund("/funds", page=True)),
        spec("api funds/{id}", "list", with_fund("/api/v1/funds/{fund}")),
        spec("page /funds/{id}", "list", with_fund("/funds/{fund}", page=True)),
        spec("api funds/{id}/trial-balance", "stats", with_fund("/api/v1/funds/{fund}/trial-balance")),
        spec("api funds/{id}/ledger", "list", with_fund("/api/v1/funds/{fund}/ledger")),
        spec("api funds/{id}/ledger before= (page 2)", "list",
             with_fund("/api/v1/funds/{fund}/ledger?before={before}")),
        spec("api funds/{id}/ledger cause=correction", "list",
             with_fund("/api/v1/funds/{fund}/ledger?cause=correction")),
        spec("api funds/{id}/ledger since/until (March)", "list",
             with_fund("/api/v1/funds/{fund}/ledger?since={since}&until={until}")),
        spec("page /funds/{id}/ledger", "list", with_fund("/funds/{fund}/ledger", page=True)),
        spec("page /funds/{id}/ledger before=", "list", with_fund("/funds/{fund}/ledger?before={before}", page=True)),
        spec("page /funds/{id}/ledger cause=commitment", "list",
             with_fund("/funds/{fund}/ledger?cause=commitment", page=True)),
        spec("api funds/entries/{id}", "list", with_fund("/api/v1/funds/entries/{entry}")),
        spec("page /funds/entries/{id}", "list", with_fund("/funds/entries/{entry}", page=True)),
        spec("api funds/{id}/requests", "list", with_fund("/api/v1/funds/{fund}/requests")),
        spec("api funds/{id}/requests limit=200", "list", with_fund("/api/v1/funds/{fund}/requests?limit=200")),
        spec("api funds/{id}/requests after= (page 2)", "list",
             with_fund("/api/v1/funds/{fund}/requests?after={after}")),
        spec("page /funds/{id}/requests", "list", with_fund("/funds/{fund}/requests", page=True)),
        spec("page /funds/{id}/requests after= (page 2)", "list",
             with_fund("/funds/{fund}/requests?after={after}", page=True)),
        spec("page /funds/{id}/report", "stats", with_fund("/funds/{fund}/report", page=True)),
        spec("page /funds/{id}?check=postings", "stats", with_fund("/funds/{fund}?check=postings", page=True)),
        spec("page /funds/accruals", "list", with_fund("/funds/accruals", page=True)),
    ]
