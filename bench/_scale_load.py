"""Bulk loading for bench/scale.py: a tenant's years of members, cards, periods, payments,
check-ins and audit, written straight into PostgreSQL as the owner role.

Rows are shaped as the services write them: card numbers as `_next_card_no` formats them (and the
club's card_seq after them), ID numbers for half the members encrypted by `crypto.encrypt` with the
mask of `rules.mask_id_number` beside them, phones and plates already in the form `check_phone` /
`check_plate` leave them, a `created` card event as `enrol` writes it. Row-level security is forced
even for the owner, so every connection binds the tenant first (`app.tenant_id`, session-wide) and
every row passes the policy.

Where the time goes, and what was chosen: members are the only rows that need Python (names, the
encryption); COPY refuses a table under row-level security, so each batch of 50 000 is copied into a
temporary table and moved over by one INSERT … SELECT, the next batch made in a thread meanwhile.
Everything else is set-based `INSERT … SELECT` from `generate_series` or from the rows already in,
on two connections (two cores). Inserting costs ~25–60 µs a row on a shared two-core machine
(every index, the policy check, the foreign keys); the check-ins' four foreign keys cost about as
much again and lock each card and member row they name, so for a million check-ins or more they are
dropped for the load and added back afterwards (one join each). Derived rows kept by statement
triggers (name-search terms, statistics tallies) are made once afterwards by their rebuild
functions, the triggers off meanwhile.

Member i (1 … N, in order of joining) has the id md5('<tenant>:m:<i>'), its card md5('<tenant>:c:<i>')
and card number i, its vehicle (60 %) md5('<tenant>:v:<i>'), and joined at
now − 5 years × (1 − √((i − ½)/N)): the club grows (more than twice as many join in the fifth year as
in the first two together). So SQL picks "a card of someone who had joined by then" for a check-in
from a random integer, with no join.

Cards: 5 % on the free plan (a year from joining, no periods); the rest renew every year with
probability 0.85, so a card has paid ⌈years since joining⌉ periods or fewer (lapsed: in grace for 30
days, then expired); the last three periods are kept (valid_from is the start of the first of them);
1 % suspended, 1 % cancelled. Every period has a receipt number (R<year>-<n>, numbered by payment
time as `receipt_number` does, the year's counter after them); the last year's have their payment
rows. Check-ins carry no `answer`/`discount` JSON (read only when a scan is re-sent).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import json
import math
import operator
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

YEAR_S = 365.25 * 86400
SPAN_S = 5 * YEAR_S  # members joined over the last five years
BATCH = 50_000
BARE_REBUILD_FROM = 100_000  # members from which the search terms are rebuilt with indexes and keys made after
DROP_FKS_FROM = 1_000_000  # check-ins loaded without their foreign keys (added back after) from this many
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates
PLATE_SPACE = len(PLATE_CHARS) ** 5
PLATE_AREAS = ["粤B", "粤B", "粤B", "粤A", "粤A", "粤S", "沪A", "京N", "浙A", "苏E", "川A", "鄂A"]

# The commonest surnames with their rough shares (per cent), then given-name characters, commonest first.
SURNAMES = [("王", 7.1), ("李", 7.0), ("张", 6.4), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1), ("黄", 2.2), ("赵", 2.0),
            ("吴", 1.9), ("周", 1.8), ("徐", 1.5), ("孙", 1.4), ("马", 1.3), ("朱", 1.2), ("胡", 1.2), ("郭", 1.1),
            ("何", 1.1), ("高", 1.0), ("林", 1.0), ("罗", 0.9), ("郑", 0.9), ("梁", 0.9), ("谢", 0.8), ("宋", 0.7),
            ("唐", 0.7), ("许", 0.7), ("韩", 0.7), ("冯", 0.6), ("邓", 0.6), ("曹", 0.6), ("彭", 0.6), ("曾", 0.6),
            ("肖", 0.6), ("田", 0.5), ("董", 0.5), ("袁", 0.5), ("潘", 0.5), ("于", 0.5), ("蒋", 0.5), ("蔡", 0.5),
            ("余", 0.5), ("杜", 0.5), ("叶", 0.4), ("程", 0.4), ("苏", 0.4), ("魏", 0.4), ("吕", 0.4), ("丁", 0.4),
            ("任", 0.4), ("沈", 0.4), ("姚", 0.3), ("卢", 0.3), ("姜", 0.3), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
            ("陆", 0.3), ("汪", 0.3), ("范", 0.3), ("金", 0.3), ("欧阳", 0.05), ("司马", 0.02)]
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂玲华飞鹏辉斌宇浩凯健俊帆帅旭宁龙林欣佳思雨晨"
         "子涵梓萱一诺博文轩昊然嘉怡泽瑞天翔志国建新海峰云波红梅琳婷雪丹婉晓燕慧颖倩玉萍亮成东文"
         "春秋阳光荣昌德福永安家和晶莹琪璐瑶蕾薇佩诗可馨悦蓉蕊佳琦鑫淼森垚")
ID_AREAS = ["440304", "440305", "440306", "440106", "440104", "310104", "310115", "110101", "110105", "330106",
            "320102", "510104", "420106", "350203", "370202"]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_BORN_FROM = date(1955, 1, 1).toordinal()


@dataclass
class World:
    """What the set-up made through the API (read back from the database)."""

    slug: str
    tenant_id: uuid.UUID
    timezone: str
    club_id: uuid.UUID
    card_prefix: str
    card_digits: int
    paid_plan: uuid.UUID
    paid_code: str
    paid_fee: int
    paid_name: str
    free_plan: uuid.UUID
    free_code: str
    branches: list[uuid.UUID]
    merchants: list[uuid.UUID]  # by code
    offers: list[int]  # each merchant's percent
    benefits: list[dict[str, Any]]  # id, code, quota, quota_period (by code)
    benefit_of: list[uuid.UUID]  # merchant index -> the benefit it honours
    admin_id: uuid.UUID
    operator_id: uuid.UUID | None
    operator_merchant: int  # index into merchants
    finance_id: uuid.UUID | None
    member_user_id: uuid.UUID | None = None

    def member_id(self, i: int) -> uuid.UUID:
        """md5('<tenant>:m:<i>') as the SQL below computes it."""
        return md5_uuid(f"{self.tenant_id}:m:{i}")


@dataclass
class Sizes:
    members: int
    checkins: int
    audit: int
    months: int
    today_at_operator: int = 300


@dataclass
class Timing:
    table: str
    rows: int
    seconds: float

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        return f"  {self.table:22s} {self.rows:>11,} rows {self.seconds:7.1f} s {rate:>10,.0f} rows/s"


@dataclass
class LoadReport:
    timings: list[Timing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wall: float = 0.0


def md5_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.md5(text.encode(), usedforsecurity=False).digest())


def joined_at(now: datetime, i: int, n: int) -> datetime:
    return now - timedelta(seconds=SPAN_S * (1 - math.sqrt((i - 0.5) / n)))


def id_number(rng: random.Random) -> str:
    """A resident ID number: area, birth date, sequence and its ISO 7064 check character."""
    birth = _BORN_FROM + rng.randrange(48 * 365)
    body = f"{rng.choice(ID_AREAS)}{date.fromordinal(birth).strftime('%Y%m%d')}{rng.randrange(1000):03d}"
    return body + "10X98765432"[sum(map(operator.mul, map(int, body), ID_WEIGHTS)) % 11]


class Names:
    def __init__(self) -> None:
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_cum = _cumulative([w for _, w in SURNAMES])
        self.given = list(GIVEN)
        self.given_cum = _cumulative([1 / (k + 8) for k in range(len(GIVEN))])

    def draw(self, rng: random.Random, k: int) -> list[str]:
        surnames = rng.choices(self.surnames, cum_weights=self.surname_cum, k=k)
        given = rng.choices(self.given, cum_weights=self.given_cum, k=2 * k)
        return [s + given[2 * j] + ("" if rng.random() < 0.35 else given[2 * j + 1]) for j, s in enumerate(surnames)]


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


# ---- SQL ------------------------------------------------------------------------------------------

# u(i, salt): a uniform number in [0, 1) fixed by i (the same in every statement).
def _u(salt: int) -> str:
    return f"((hashint8extended(i::bigint, {salt}) & 2147483647)::float8 / 2147483648.0)"


# $1 tenant (text), $2 load time, $3 N
_SERIES = f"""
    SELECT i, $2::timestamptz - make_interval(secs => {SPAN_S} * (1 - sqrt((i - 0.5) / $3::int))) AS j,
           {SPAN_S} * (1 - sqrt((i - 0.5) / $3::int)) / {YEAR_S} AS years, {_u(1)} AS r_free, {_u(2)} AS r_keep,
           {_u(3)} AS r_state
    FROM generate_series(1, $3::int) AS i"""

def _plate_tail_sql() -> str:
    """The five characters after the area, as `World.plate` makes them (a bijection of i: unique)."""
    code = f"((i::bigint * 48271 + 12345) % {PLATE_SPACE})"
    base = len(PLATE_CHARS)
    return " || ".join(f"substr('{PLATE_CHARS}', ({code} / {base ** k} % {base})::int + 1, 1)"
                       for k in range(4, -1, -1))


_VEHICLES = f"""
INSERT INTO club_vehicle (id, tenant_id, created_at, member, plate, vin)
SELECT md5($1 || ':v:' || i)::uuid, $1::uuid, j + interval '1 minute', md5($1 || ':m:' || i)::uuid,
       (ARRAY[{", ".join(f"'{a}'" for a in PLATE_AREAS)}])[i % {len(PLATE_AREAS)} + 1] || {_plate_tail_sql()}, ''
FROM ({_SERIES}) s
WHERE (i::bigint * 761) % 1000 < 600
"""

# $4 club, $5 paid plan, $6 free plan, $7 prefix, $8 digits
_CARDS = f"""
INSERT INTO club_card (id, tenant_id, created_at, club, plan, member, vehicle, card_no, state, valid_from,
                       valid_until, policy_no)
SELECT md5($1 || ':c:' || i)::uuid, $1::uuid, j + interval '1 minute', $4::uuid,
       CASE WHEN r_free < 0.05 THEN $6::uuid ELSE $5::uuid END, md5($1 || ':m:' || i)::uuid,
       CASE WHEN (i::bigint * 761) % 1000 < 600 THEN md5($1 || ':v:' || i)::uuid END,
       $7 || CASE WHEN length(i::text) >= $8::int THEN i::text ELSE lpad(i::text, $8::int, '0') END,
       CASE WHEN r_state < 0.01 THEN 'suspended' WHEN r_state < 0.02 THEN 'cancelled' ELSE 'active' END,
       CASE WHEN r_free < 0.05 THEN j + interval '5 minutes'
            ELSE j + interval '5 minutes' + make_interval(years => greatest(0, paid - 3)) END,
       CASE WHEN r_free < 0.05 THEN j + interval '5 minutes' + interval '12 months'
            ELSE j + interval '5 minutes' + make_interval(years => paid) END,
       ''
FROM (SELECT s.*, least(greatest(1, ceil(years))::int,
                        1 + floor(ln(1 - r_keep) / ln(0.85))::int) AS paid FROM ({_SERIES}) s) c
"""

# One paid period a year between valid_from and valid_until, with its offline payment's receipt number
# (R<year>-<6 digits>, numbered per year in order of payment). $2 paid plan, $3 load time.
_PERIODS = """
INSERT INTO club_period (id, tenant_id, created_at, kind, card, amount, currency, status, paid_at, payment_method,
                         payment_ref, starts_at, ends_at)
SELECT id, $1::uuid, paid_at - interval '1 minute', kind, card, amount, 'CNY', 'paid', paid_at, method,
       'R' || extract(year FROM paid_at AT TIME ZONE 'UTC')::int || '-' || CASE WHEN seq >= 1000000 THEN seq::text
                                                                              ELSE lpad(seq::text, 6, '0') END,
       starts_at, ends_at
FROM (SELECT *, row_number() OVER (PARTITION BY extract(year FROM paid_at AT TIME ZONE 'UTC')
                                   ORDER BY paid_at, id) AS seq
FROM (
    SELECT gen_random_uuid() AS id, c.id AS card, p.fee AS amount,
           CASE WHEN n = 1 AND c.valid_from < c.created_at + interval '1 hour' THEN 'join' ELSE 'renewal' END AS kind,
           CASE WHEN n = 1 AND c.valid_from < c.created_at + interval '1 hour' THEN c.valid_from
                ELSE least($3::timestamptz - interval '1 hour',
                           c.valid_from + make_interval(years => n - 1) - random() * interval '20 days') END AS paid_at,
           (ARRAY['cash', 'cash', 'wechat_transfer', 'wechat_transfer', 'bank_transfer', 'alipay_transfer'])
               [1 + floor(random() * 6)::int] AS method,
           c.valid_from + make_interval(years => n - 1) AS starts_at,
           c.valid_from + make_interval(years => n) AS ends_at
    FROM club_card c JOIN club_plan p ON p.id = c.plan
    CROSS JOIN LATERAL generate_series(1, round(extract(epoch FROM c.valid_until - c.valid_from) / 31557600)::int) n
    WHERE c.tenant_id = $1::uuid AND c.plan = $2::uuid AND c.created_at < $3::timestamptz
) periods) numbered
"""

# The offline payments of the periods paid in the last year (older periods name receipts of the system before).
_PAYMENTS = """
INSERT INTO payment (id, tenant_id, created_at, number, payable_kind, payable_id, description, card_no, org_unit_id,
                     amount, currency, status, method, reference, recorded_by, paid_at)
SELECT gen_random_uuid(), $1::uuid, pe.paid_at, pe.payment_ref, 'club_period', pe.id, $3 || ' · ' || c.card_no,
       c.card_no, m.org_unit, pe.amount, pe.currency, 'paid', pe.payment_method,
       upper(substr(md5(pe.id::text), 1, 12)), $2::uuid, pe.paid_at
FROM club_period pe JOIN club_card c ON c.id = pe.card JOIN club_member m ON m.id = c.member
WHERE pe.tenant_id = $1::uuid AND pe.status = 'paid' AND pe.payment_ref LIKE 'R%' AND pe.created_at < $4::timestamptz
  AND pe.paid_at >= $4::timestamptz - interval '1 year'
"""

_COUNTERS = """
INSERT INTO payment_counter (id, tenant_id, created_at, year, last)
SELECT gen_random_uuid(), $1::uuid, now(), split_part(substr(payment_ref, 2), '-', 1)::int,
       max(split_part(payment_ref, '-', 2)::int)
FROM club_period WHERE tenant_id = $1::uuid AND payment_ref LIKE 'R%' GROUP BY 4
ON CONFLICT (tenant_id, year) DO UPDATE SET last = greatest(payment_counter.last, excluded.last)
"""

# One event per card as `enrol` writes it first ("created"), and the suspension or cancellation of those
# cards. $2 plan codes as JSON {plan id: code}, $3 the admin, $4 load time
_EVENTS = """
INSERT INTO club_card_event (id, tenant_id, created_at, card, kind, detail, actor_id)
SELECT gen_random_uuid(), $1::uuid, c.created_at, c.id, 'created',
       jsonb_build_object('plan', $2::jsonb ->> c.plan::text, 'via', 'staff'), $3::uuid
FROM club_card c WHERE c.tenant_id = $1::uuid AND c.created_at < $4::timestamptz
UNION ALL
SELECT gen_random_uuid(), $1::uuid, greatest(c.created_at, least($4::timestamptz, c.valid_until) - interval '100 days'),
       c.id, CASE c.state WHEN 'suspended' THEN 'suspend' ELSE 'cancel' END,
       jsonb_build_object('reason', '', 'before', 'active', 'after', c.state), $3::uuid
FROM club_card c WHERE c.tenant_id = $1::uuid AND c.state IN ('suspended', 'cancelled')
  AND c.created_at < $4::timestamptz
"""

# A check-in: a card of someone who had joined by then (member i <= N·u², u the time's place in the
# five years), a merchant (skewed: a few busy ones), 70 % the merchant's benefit, 40 % with a bill,
# between 08:00 and 21:00 tenant-local. $2 N, $3 load time, $4 from, $5 to (exclusive), $6 count,
# $7 merchants, $8 their benefits, $9 their percent offers, $10 the operator's merchant (1-based),
# $11 the operator, $12 timezone, $13 only that merchant
_CHECKINS = f"""
INSERT INTO club_checkin (id, tenant_id, created_at, card, member, merchant, benefit, operator_id, amount,
                          discount_amount, static, nonce, scanned_on)
SELECT gen_random_uuid(), $1::uuid, ts, md5($1 || ':c:' || k)::uuid, md5($1 || ':m:' || k)::uuid, ($7::uuid[])[mi],
       CASE WHEN with_benefit THEN ($8::uuid[])[mi] END, CASE WHEN mi = $10::int THEN $11::uuid END, amount,
       CASE WHEN amount IS NULL THEN NULL WHEN with_benefit THEN amount
            ELSE (amount * ($9::int[])[mi] + 50) / 100 END,
       false, substr(md5(random()::text), 1, 24), (ts AT TIME ZONE $12)::date
FROM (
    SELECT ts, 1 + floor(random() * greatest(1, $2::int * power(
                   greatest(0.0, 1 - extract(epoch FROM $3::timestamptz - ts) / {SPAN_S}), 2)))::int AS k,
           CASE WHEN $13::bool THEN $10::int ELSE 1 + floor(array_length($7::uuid[], 1) * power(random(), 1.7))::int
           END AS mi,
           random() < 0.7 AS with_benefit,
           CASE WHEN random() < 0.4 THEN (50 + floor(random() * 750))::int * 100 END AS amount
    FROM (
        SELECT CASE WHEN t >= $5::timestamptz THEN t - interval '1 day' WHEN t < $4::timestamptz THEN $4::timestamptz
                    ELSE t END AS ts
        FROM (SELECT CASE WHEN $13::bool THEN $4::timestamptz + random() * ($5::timestamptz - $4::timestamptz)
                          ELSE ((($4::timestamptz + random() * ($5::timestamptz - $4::timestamptz))
                                  AT TIME ZONE $12)::date + time '08:00' + random() * interval '13 hours')
                               AT TIME ZONE $12 END AS t
              FROM generate_series(1, $6::int)) g
    ) g2
) x
"""

# This year's (month's, day's) quota counters, as the check-ins above would have bumped them.
_USAGE = """
INSERT INTO club_benefit_usage (id, tenant_id, created_at, member, counter, period, used)
SELECT gen_random_uuid(), $1::uuid, min(ch.created_at), ch.member, 'benefit:' || b.code,
       CASE b.quota_period WHEN 'year' THEN to_char(ch.scanned_on, 'YYYY')
                           WHEN 'month' THEN to_char(ch.scanned_on, 'YYYY-MM')
                           WHEN 'day' THEN to_char(ch.scanned_on, 'YYYY-MM-DD') ELSE 'ever' END,
       least(count(*), b.quota)
FROM club_checkin ch JOIN club_benefit b ON b.id = ch.benefit
WHERE ch.tenant_id = $1::uuid AND b.quota > 0 AND ch.created_at >= date_trunc('year', $2::date) - interval '1 day'
  AND ch.scanned_on >= CASE b.quota_period WHEN 'year' THEN date_trunc('year', $2::date)::date
                             WHEN 'month' THEN date_trunc('month', $2::date)::date ELSE $2::date END
GROUP BY ch.member, b.id, 6
ON CONFLICT (tenant_id, member, counter, period) DO NOTHING
"""

# Audit entries over the five years (growing like the club), of what the services record most.
_AUDIT = f"""
INSERT INTO audit_entry (id, tenant_id, created_at, actor_id, actor_name, action, entity_type, entity_id, before,
                         after, request_id)
SELECT gen_random_uuid(), $1::uuid, ts, $3::text::uuid, 'admin', a.action, a.entity, a.entity_id, NULL, a.after,
       substr(md5(random()::text), 1, 16)
FROM (SELECT $4::timestamptz - make_interval(secs => {SPAN_S} * (1 - power(random(), 1.0 / 3))) AS ts,
             random() AS r, 1 + floor(random() * $2::int)::int AS k
      FROM generate_series(1, $5::int)) g
CROSS JOIN LATERAL (
    SELECT CASE WHEN r < 0.30 THEN 'club_member.create' WHEN r < 0.55 THEN 'club_card.create'
                WHEN r < 0.75 THEN 'club_period.paid' WHEN r < 0.85 THEN 'payment.offline'
                WHEN r < 0.95 THEN 'auth.login' ELSE 'token.issue' END AS action,
           CASE WHEN r < 0.30 THEN 'club_member' WHEN r < 0.55 THEN 'club_card' WHEN r < 0.75 THEN 'club_period'
                WHEN r < 0.85 THEN 'payment' WHEN r < 0.95 THEN 'user' ELSE 'api_token' END AS entity,
           CASE WHEN r < 0.30 THEN md5($1 || ':m:' || k)::uuid::text
                WHEN r < 0.55 THEN md5($1 || ':c:' || k)::uuid::text
                WHEN r < 0.85 THEN gen_random_uuid()::text ELSE $3::text END AS entity_id,
           CASE WHEN r < 0.30 THEN jsonb_build_object('club', $6::text, 'name', NULL, 'id_number', NULL)
                WHEN r < 0.55 THEN jsonb_build_object('card_no', $7 || lpad(k::text, $8::int, '0'), 'plan', 'annual',
                                                      'via', 'staff')
                WHEN r < 0.75 THEN jsonb_build_object('status', 'paid', 'method', 'cash',
                                                      'ends_at', ts + interval '1 year')
                WHEN r < 0.85 THEN jsonb_build_object('amount', 36500, 'method', 'cash')
                WHEN r < 0.95 THEN NULL ELSE jsonb_build_object('kind', 'login') END AS after
) a
"""

LOADED_TABLES = ("club_member", "club_vehicle", "club_card", "club_period", "club_card_event", "payment",
                 "payment_counter", "club_checkin", "club_benefit_usage", "audit_entry")
# Derived rows kept by statement triggers, with the function that makes them again from scratch: a bulk
# load turns the triggers off (they would re-aggregate every batch) and calls the function once after.
FINISHED = "bench scale: loaded"
REBUILDS = {"club_member_terms_rebuild": "%terms%", "club_tally_rebuild": "%tally%"}
DERIVED_TABLES = ("club_member_term", "club_tally")
SET_UP_TABLES = ("org_unit", "club", "club_plan", "club_merchant", "club_benefit")  # made through the API
# Filled bare from BARE_REBUILD_FROM members (`Loader._strip`): all the loaded tables but the counters (a handful
# of rows, written by ON CONFLICT). The usage counters' unique index stays: their INSERT is an ON CONFLICT on it.
BARE_TABLES = ("club_member", "club_vehicle", "club_card", "club_period", "club_card_event", "payment",
               "club_checkin", "club_benefit_usage", "audit_entry")
KEEP_INDEXES = ("club_benefit_usage_tenant_key",)


# ---- the loader -----------------------------------------------------------------------------------

class Loader:
    """Loads one tenant on two connections (two cores: PostgreSQL's inserting is the bottleneck):

        a: members → vehicles → cards → periods → card events → payments → counters → check-ins
        b: audit (no foreign keys) → check-ins (bare only) → the search terms (`terms_may_start`) → check-ins
        bare: keys, then quota counters among the indexes, then foreign keys on two fresh connections (`_unstrip`);
        else a: quota counters
        a: the tallies, beside b: VACUUM (ANALYZE)

    From BARE_REBUILD_FROM members every loaded table is filled bare (`_strip`): no index, key or foreign
    key is kept up row by row; they are all made once at the end, each in one sort or one join. Below it
    only the check-ins' foreign keys go (from DROP_FKS_FROM check-ins). The check-ins are month chunks
    taken by whichever connection is free (`_CheckinQueue`), each written straight into its month's
    partition (`partition_of`).

    `emit` prints progress as it goes (a full load takes minutes)."""

    def __init__(self, owner_dsn: str, world: World, sizes: Sizes, *, seed: int,
                 emit: Callable[[str], None]) -> None:
        self.dsn, self.world, self.sizes, self.seed, self.emit = owner_dsn, world, sizes, seed, emit
        self.now = datetime.now(UTC)
        self.t = str(world.tenant_id)
        self.report = LoadReport()
        self.stripped: list[Stripped] = []

    def finished_mark(self) -> str:
        """Written into the club's description when a load has finished: a reused database is trusted only then."""
        return (f"{FINISHED} {self.sizes.members} members, {self.sizes.checkins} check-ins, "
                f"{self.sizes.audit} audit entries, {self.now:%Y-%m-%d %H:%M} UTC")

    async def connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn, timeout=30, command_timeout=None)
        # A bulk load: no waiting on each commit's WAL flush, room to sort, and bound to the tenant for the
        # whole session (row-level security is forced even for the owner).
        await conn.execute("SET synchronous_commit = off; SET work_mem = '64MB'; SET maintenance_work_mem = '512MB'; "
                           "SET jit = off; SET temp_buffers = '64MB'")
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", self.t)
        return conn

    async def _timed(self, table: str, work: Callable[[], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        rows = await work()
        timing = Timing(table, int(rows or 0), time.perf_counter() - started)
        self.report.timings.append(timing)
        self.emit(f"[{self.world.slug}]{timing.line()}")
        return rows

    @staticmethod
    async def _exec(conn: asyncpg.Connection, sql: str, *args: Any) -> int:
        status = await conn.execute(sql, *args)
        return int(status.split()[-1])

    async def _load(self, conn: asyncpg.Connection, table: str, sql: str, *args: Any) -> int:
        """An INSERT … SELECT, then ANALYZE: the next statements join what it loaded, and a plan made
        for an empty table would loop over a million rows."""
        before = await _row_estimate(conn, table)
        rows = await self._exec(conn, sql, *args)
        await _analyze_if_grown(conn, table, before, rows)
        return rows

    async def run(self) -> LoadReport:
        started = time.perf_counter()
        a, b = await self.connect(), await self.connect()
        w = self.world
        try:
            await self._timed("checkin partitions", lambda: self.partitions(a))
            deferred = await deferred_triggers(a)
            for function, triggers in deferred.items():
                self.report.notes.append(f"{', '.join(t for _, t in triggers)} off during the load, "
                                         f"{function}() after it")
            await set_triggers(a, deferred, enabled=False)
            # Big: every loaded table bare, its indexes, keys and foreign keys made after (`_strip`). Otherwise
            # only the check-ins' foreign keys from a million of them: checked once, set-based, when they are
            # added back; not worth it for a small tenant (adding them back checks every tenant's check-ins).
            fks: list[tuple[str, str]] = []
            if self.sizes.members >= BARE_REBUILD_FROM:
                await self._timed("keys and indexes dropped", lambda: self._strip(a))
            elif self.sizes.checkins >= DROP_FKS_FROM:
                fks = await drop_foreign_keys(a, "club_checkin")
            try:
                # When the search terms may be made: with foreign keys, once the cards are in (before, both would
                # lock the same member rows for their keys, and every such lock becomes a multixact); bare, once
                # nothing reads the members any more (the payments do), since the terms' rebuild locks them for its
                # whole transaction (dropping the terms' foreign key does).
                cards_in, members_read = asyncio.Event(), asyncio.Event()
                terms_may_start = members_read if self.stripped else cards_in
                checkins = _CheckinQueue(self)

                async def chain_a() -> None:
                    try:
                        try:
                            await self._timed("club_member", lambda: self.members(a))
                            await self._timed("club_vehicle", lambda: self._load(
                                a, "club_vehicle", _VEHICLES, self.t, self.now, self.sizes.members))
                            await self._timed("club_card", lambda: self._load(
                                a, "club_card", _CARDS, self.t, self.now, self.sizes.members, w.club_id, w.paid_plan,
                                w.free_plan, w.card_prefix, w.card_digits))
                        finally:
                            cards_in.set()
                        # New enrolments continue after the loaded cards (`_next_card_no` bumps card_seq).
                        await a.execute("UPDATE club SET card_seq = greatest(card_seq, $2) WHERE id = $1",
                                        w.club_id, self.sizes.members)
                        await self._timed("club_period", lambda: self._load(a, "club_period", _PERIODS, self.t,
                                                                            w.paid_plan, self.now))
                        codes = json.dumps({str(w.paid_plan): w.paid_code, str(w.free_plan): w.free_code})
                        await self._timed("club_card_event", lambda: self._load(
                            a, "club_card_event", _EVENTS, self.t, codes, w.admin_id, self.now))
                        await self._timed("payment", lambda: self._load(
                            a, "payment", _PAYMENTS, self.t, w.finance_id or w.admin_id, w.paid_name, self.now))
                    finally:
                        members_read.set()
                    await self._timed("payment_counter", lambda: self._exec(a, _COUNTERS, self.t))
                    await checkins.work(a)

                async def chain_b() -> None:
                    await self._timed("audit_entry", lambda: self.audit(b))
                    if self.stripped:  # no foreign keys to wait for: check-ins meanwhile
                        await checkins.work(b, until=terms_may_start)
                    await terms_may_start.wait()
                    if "club_member_terms_rebuild" in deferred:
                        if self.sizes.members >= BARE_REBUILD_FROM:
                            await self._timed("club_member_terms_rebuild()", lambda: self._rebuild_bare(
                                b, "club_member_terms_rebuild", "club_member_term"))
                        else:  # rebuilding the indexes would cost more than the rows (other tenants' too)
                            await self._timed("club_member_terms_rebuild()", lambda: self._rebuild(
                                b, "club_member_terms_rebuild", "club_member_term"))
                    await checkins.work(b)

                async with asyncio.TaskGroup() as group:  # one failing cancels the other
                    group.create_task(chain_a())
                    group.create_task(chain_b())
                await checkins.today(a)
                self.report.timings.append(checkins.timing())
                self.emit(f"[{w.slug}]{checkins.timing().line()}")
            finally:
                if fks:
                    await self._timed("club_checkin foreign keys", lambda: self._add_foreign_keys(fks))
            today = self.now.astimezone(ZoneInfo(w.timezone)).date()

            async def usage(conn: asyncpg.Connection) -> None:
                await self._timed("club_benefit_usage", lambda: self._exec(conn, _USAGE, self.t, today))

            async def tally(conn: asyncpg.Connection) -> None:
                await self._timed("club_tally_rebuild()", lambda: self._rebuild(conn, "club_tally_rebuild",
                                                                                "club_tally"))
                await conn.execute("VACUUM (ANALYZE) club_tally")

            try:
                if self.stripped:  # the counters only read: they share the two connections with the index builds
                    await self._timed("keys, indexes, foreign keys", lambda: self._unstrip([usage]))
                else:
                    await usage(a)
            finally:  # on a fresh connection: a failed statement may have left `a` unusable
                fresh = await self.connect()
                try:
                    await set_triggers(fresh, deferred, enabled=True)
                finally:
                    await fresh.close()
            if "club_tally_rebuild" in deferred:
                # Planned on fresh statistics (it aggregates every loaded table), beside the VACUUM of the rest. Not
                # beside the index builds: both are bound by the CPU, and the rebuild then took twice as long.
                # The set-up's small tables too (merchants: a few dozen rows, which autovacuum may not have counted
                # yet): without statistics the planner takes one merchant for all and joins ten million check-ins
                # by index, merchant by merchant.
                await a.execute(f"ANALYZE {', '.join(LOADED_TABLES + SET_UP_TABLES)}")
                async with asyncio.TaskGroup() as group:
                    group.create_task(tally(a))
                    group.create_task(self._timed("vacuum (analyze)", lambda: self.vacuum([b], skip=("club_tally",))))
            else:
                await self._timed("vacuum (analyze)", lambda: self.vacuum([a, b]))
            await a.execute("UPDATE club SET description = $2 WHERE id = $1", w.club_id, self.finished_mark())
        finally:
            await a.close()
            await b.close()
        self.report.wall = time.perf_counter() - started
        return self.report

    # -- partitions ----------------------------------------------------------------------------------

    async def partitions(self, conn: asyncpg.Connection) -> int:
        """Monthly check-in partitions back to the first month loaded (the migration's function makes
        them only from last month on), named and bounded as `club_checkin_add_partitions` does (UTC months)."""
        month = (self.now - timedelta(days=31 * self.sizes.months + 31)).replace(day=1, hour=0, minute=0, second=0,
                                                                                microsecond=0)
        made = 0
        while month < self.now + timedelta(days=62):
            following = (month + timedelta(days=32)).replace(day=1)
            name = f"club_checkin_y{month:%Y}m{month:%m}"
            if await conn.fetchval("SELECT to_regclass($1)", f"club_checkin_parts.{name}") is None:
                await conn.execute(f"CREATE TABLE club_checkin_parts.{name} PARTITION OF club_checkin FOR VALUES "
                                   f"FROM ('{month:%Y-%m-%d} 00:00+00') TO ('{following:%Y-%m-%d} 00:00+00')")
                made += 1
            month = following
        return made

    # -- members -------------------------------------------------------------------------------------

    def _member_batch(self, start: int, stop: int) -> list[tuple[Any, ...]]:
        from careclub.clubs import crypto, rules
        from careclub.clubs.service._members import PURPOSE_ID_NUMBER

        w, n = self.world, self.sizes.members
        rng = random.Random(f"{self.seed}:{w.slug}:members:{start}")
        names = _NAMES.draw(rng, stop - start)
        units = rng.choices(w.branches, cum_weights=_cumulative([1 / (k + 3) for k in range(len(w.branches))]),
                            k=stop - start)
        phone_offset = int(hashlib.md5(w.slug.encode(), usedforsecurity=False).hexdigest()[:8], 16)
        rows = []
        prefix = f"{w.tenant_id}:m:"
        for j, i in enumerate(range(start, stop)):
            enc, hint = None, ""
            if rng.random() < 0.5:
                number = id_number(rng)
                enc = crypto.encrypt(number.encode(), tenant_id=w.tenant_id, purpose=PURPOSE_ID_NUMBER)
                hint = rules.mask_id_number(number)
            phone = f"13{(i * 387420489 + phone_offset) % 1_000_000_000:09d}"
            rows.append((md5_uuid(prefix + str(i)), w.tenant_id, joined_at(self.now, i, n), w.club_id, names[j], phone,
                         enc, hint, None, units[j], None, "active"))
        return rows

    async def members(self, conn: asyncpg.Connection) -> int:
        """Batches of 50 000, the next one made in a thread while PostgreSQL takes the last. COPY refuses a
        table under row-level security: each batch is copied into a temporary table (no policy, no WAL)
        and moved over with one INSERT … SELECT, which the policy checks."""
        columns = ["id", "tenant_id", "created_at", "club", "name", "phone", "id_number_enc", "id_number_hint",
                   "user", "org_unit", "household", "status"]
        quoted = ", ".join(f'"{c}"' for c in columns)
        loop = asyncio.get_running_loop()
        bounds = [(s, min(s + BATCH, self.sizes.members + 1)) for s in range(1, self.sizes.members + 1, BATCH)]
        async with conn.transaction():
            await conn.execute("CREATE TEMPORARY TABLE scale_member_batch (LIKE club_member INCLUDING DEFAULTS) "
                               "ON COMMIT DROP")
            pending = loop.run_in_executor(None, self._member_batch, *bounds[0]) if bounds else None
            for k in range(len(bounds)):
                assert pending is not None
                rows = await pending
                pending = (loop.run_in_executor(None, self._member_batch, *bounds[k + 1])
                           if k + 1 < len(bounds) else None)
                await conn.copy_records_to_table("scale_member_batch", records=rows, columns=columns)
                await conn.execute(f"INSERT INTO club_member ({quoted}) SELECT {quoted} FROM scale_member_batch")
                await conn.execute("TRUNCATE scale_member_batch")
        await conn.execute("ANALYZE club_member")
        return self.sizes.members

    async def _strip(self, conn: asyncpg.Connection) -> int:
        """Every loaded table bare: first all their foreign keys (so that the keys only they referenced go too),
        then their keys and indexes (`strip`)."""
        fks = {table: await drop_foreign_keys(conn, table) for table in BARE_TABLES}
        for table in BARE_TABLES:
            stripped = await strip(conn, table, keep=KEEP_INDEXES)
            stripped.fks = fks[table]
            self.stripped.append(stripped)
        return sum(len(s.keys) + len(s.indexes) + len(s.fks) for s in self.stripped)

    async def _unstrip(self, beside: Sequence[Job] = ()) -> int:
        """The keys and indexes `_strip` dropped, then their foreign keys, on two fresh connections taking jobs
        as they come free (the check-ins', the biggest, first), no parallel workers (the two backends are the
        two cores). Three stages, by the locks they take:

        1. the keys: `ADD CONSTRAINT … PRIMARY KEY` locks its table against reading too, so nothing else runs;
        2. the indexes, with `beside` (the quota counters: they only read the check-ins) first among them: an
           index build lets the table be read meanwhile;
        3. the foreign keys, each checked in one join: the check-ins' keys to cards and members (a join of ten
           million rows each) partition by partition, the two at once, the parent's keys then only taking the
           partitions' over (`_partition_foreign_keys`); every other table's after, one at a time, as each
           lifts the forced policy of the tables it joins for its transaction."""
        keys = [f'ALTER TABLE {s.table} ADD CONSTRAINT "{name}" {definition}'
                for s in self.stripped for name, definition in s.keys]
        keys.sort(key=lambda sql: not sql.startswith("ALTER TABLE club_checkin "))
        indexes = [definition for s in self.stripped for _, definition in s.indexes]
        indexes.sort(key=lambda sql: " club_checkin " not in sql)
        conns = [await self.connect(), await self.connect()]
        try:
            for conn in conns:
                await conn.execute("SET max_parallel_maintenance_workers = 0")
            await run_jobs(conns, keys)
            await run_jobs(conns, [*beside, *indexes])
            await self._partition_foreign_keys(conns)
            for s in self.stripped:
                await add_foreign_keys(conns[0], s.fks, s.table, _referenced(s.fks))
        finally:
            for conn in conns:
                await conn.close()
        made = sum(len(s.keys) + len(s.indexes) + len(s.fks) for s in self.stripped)
        self.stripped = []
        return made

    async def _partition_foreign_keys(self, conns: list[asyncpg.Connection]) -> None:
        """The check-ins' foreign keys to the big tables (cards, members) added to every partition first, one key
        a connection, the two walking the partitions from opposite ends (two keys on one partition wait for each
        other; two on one referenced table would too). Each step is its own transaction lifting the referenced
        table's forced policy (the check joins it as the owner, and would see one company only). The parent's
        key, added after, takes each partition's over as its own without checking a row again."""
        fks = [(name, definition, referenced) for s in self.stripped if s.table == "club_checkin"
               for name, definition in s.fks for referenced in _referenced([(name, definition)])
               if referenced in BIG_REFERENCED]
        if not fks:
            return
        parts = [r["part"] for r in await conns[0].fetch(
            "SELECT inhrelid::regclass::text AS part FROM pg_inherits WHERE inhparent = 'club_checkin'::regclass "
            "ORDER BY 1")]
        lanes = [fks[k::len(conns)] for k in range(len(conns))]

        async def lane(conn: asyncpg.Connection, mine: list[tuple[str, str, str]], order: list[str]) -> None:
            for name, definition, referenced in mine:
                for part in order:
                    async with conn.transaction():
                        await conn.execute(f"ALTER TABLE {referenced} NO FORCE ROW LEVEL SECURITY")
                        await conn.execute(f'ALTER TABLE {part} ADD CONSTRAINT "{name}" {definition}')
                        await conn.execute(f"ALTER TABLE {referenced} FORCE ROW LEVEL SECURITY")

        async with asyncio.TaskGroup() as group:
            for k, conn in enumerate(conns):
                group.create_task(lane(conn, lanes[k], parts if k % 2 == 0 else parts[::-1]))

    async def _add_foreign_keys(self, fks: list[tuple[str, str]]) -> int:
        conn = await self.connect()  # fresh: a failed load may have left its connections unusable
        try:
            await add_foreign_keys(conn, fks)
        finally:
            await conn.close()
        return len(fks)

    @staticmethod
    async def _rebuild(conn: asyncpg.Connection, function: str, table: str) -> int:
        before = await _row_estimate(conn, table)
        result = await conn.fetchval(f"SELECT {function}()")
        made = int(result) if isinstance(result, int) else 0
        await _analyze_if_grown(conn, table, before, made)
        return made

    @staticmethod
    async def _rebuild_bare(conn: asyncpg.Connection, function: str, table: str) -> int:
        """A rebuild into the table stripped of its indexes, keys and foreign keys, made again after it in the
        same transaction (`strip`): an interrupted load leaves the table as it was (the ALTERs' locks keep
        everyone else out meanwhile)."""
        async with conn.transaction():
            fks = await drop_foreign_keys(conn, table)
            stripped = await strip(conn, table)
            stripped.fks = fks
            result = await conn.fetchval(f"SELECT {function}()")
            await unstrip(conn, stripped, workers=2)
        return int(result) if isinstance(result, int) else 0

    # -- check-ins -----------------------------------------------------------------------------------

    def _checkin_chunks(self) -> tuple[list[tuple[datetime, datetime, int]], datetime, int]:
        """Month chunks of [now − months, today's local midnight) with their share of the check-ins (more
        members, more scans: the density grows like u², u the place in the five years), and today's."""
        zone = ZoneInfo(self.world.timezone)
        midnight = self.now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        start = self.now - timedelta(days=30.44 * self.sizes.months)

        def mass(a: datetime, b: datetime) -> float:  # ∫ u² dt over [a, b], in seconds
            ua, ub = (1 - (self.now - a).total_seconds() / SPAN_S), (1 - (self.now - b).total_seconds() / SPAN_S)
            return SPAN_S * (ub ** 3 - ua ** 3) / 3

        day_share = mass(midnight, self.now) * 13 / 24 if self.now > midnight else 0.0
        total = mass(start, midnight) + day_share
        today = min(self.sizes.checkins, self.sizes.today_at_operator + round(self.sizes.checkins * day_share / total))
        bulk = self.sizes.checkins - today
        edges = [start]
        month = (start.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
        while month < midnight:
            edges.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        edges.append(midnight)
        whole = mass(start, midnight)
        chunks = [(a, b, round(bulk * mass(a, b) / whole)) for a, b in itertools.pairwise(edges)]
        if chunks:
            a, b, count = chunks[-1]
            chunks[-1] = (a, b, count + bulk - sum(c for _, _, c in chunks))
        return chunks, midnight, today

    def _checkin_args(self, lo: datetime, hi: datetime, count: int, *, at_operator: bool) -> tuple[Any, ...]:
        w = self.world
        return (self.t, self.sizes.members, self.now, lo, hi, count, w.merchants, w.benefit_of, w.offers,
                w.operator_merchant + 1, w.operator_id, w.timezone, at_operator)

    async def top_up_today(self, conn: asyncpg.Connection) -> int:
        """A reused database: today's check-ins at the operator's merchant (the scanner's list) again."""
        w = self.world
        zone = ZoneInfo(w.timezone)
        midnight = self.now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        have = await conn.fetchval("SELECT count(*) FROM club_checkin WHERE tenant_id = $1 AND merchant = $2 "
                                   "AND created_at >= $3 AND scanned_on = $4", w.tenant_id,
                                   w.merchants[w.operator_merchant], midnight - timedelta(days=1),
                                   self.now.astimezone(zone).date())
        missing = max(0, self.sizes.today_at_operator - int(have))
        if missing:
            await conn.execute(_CHECKINS, *self._checkin_args(midnight, self.now, missing, at_operator=True))
        return missing

    # -- audit, statistics -----------------------------------------------------------------------------

    async def audit(self, conn: asyncpg.Connection) -> int:
        w, done = self.world, 0
        for first in range(0, self.sizes.audit, 500_000):
            part = min(500_000, self.sizes.audit - first)
            done += await self._exec(conn, _AUDIT, self.t, self.sizes.members, str(w.admin_id), self.now, part,
                                     str(w.club_id), w.card_prefix, w.card_digits)
        return done

    async def vacuum(self, conns: list[asyncpg.Connection], skip: Sequence[str] = ()) -> int:
        """Hint bits and the visibility map set now, not by the first requests measured; fresh statistics.
        On two connections the check-ins on one, everything else on the other."""
        others = [t for t in LOADED_TABLES if t != "club_checkin"]
        others += [t for t in DERIVED_TABLES if t not in skip
                   and await conns[0].fetchval("SELECT to_regclass($1)", t) is not None]
        if len(conns) == 1:
            await conns[0].execute(f"VACUUM (ANALYZE) club_checkin, {', '.join(others)}")
        else:
            async with asyncio.TaskGroup() as group:
                group.create_task(conns[0].execute("VACUUM (ANALYZE) club_checkin"))
                group.create_task(conns[1].execute(f"VACUUM (ANALYZE) {', '.join(others)}"))
        return len(others) + 1


def partition_of(lo: datetime, hi: datetime) -> str:
    """The month partition holding every time in [lo, hi) (named as `Loader.partitions` makes them), or the
    parent when the range crosses a month. Rows written straight into their partition skip the parent's
    policy check, a fifth of a check-in's insert: the partitions have no policy of their own (the app role
    cannot reach them, `club_checkin_parts` is not its schema) and the rows are the bound company's anyway."""
    month = lo.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (month + timedelta(days=32)).replace(day=1)
    return f"club_checkin_parts.club_checkin_y{month:%Y}m{month:%m}" if hi <= following else "club_checkin"


def checkins_into(table: str) -> str:
    return _CHECKINS.replace("INSERT INTO club_checkin (", f"INSERT INTO {table} (", 1)


class _CheckinQueue:
    """The check-ins month by month, in statements of at most 400 000 rows, taken by whichever
    connection is free (the months are separate partitions): one joins as soon as its other work is
    done, so the check-ins start while the search terms are still being made."""

    CHUNK = 400_000

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        chunks, self.midnight, self.today_count = loader._checkin_chunks()
        self.pending = [(a, b, min(self.CHUNK, count - first))
                        for a, b, count in chunks for first in range(0, count, self.CHUNK)]
        self.done = 0
        self.started: float | None = None
        self.finished = 0.0

    async def work(self, conn: asyncpg.Connection, until: asyncio.Event | None = None) -> None:
        """Takes statements until none is left (or `until` is set)."""
        self.started = self.started or time.perf_counter()
        while self.pending and not (until and until.is_set()):
            a, b, count = self.pending.pop()
            await conn.execute(checkins_into(partition_of(a, b)),
                               *self.loader._checkin_args(a, b, count, at_operator=False))
            self.done += count
        self.finished = time.perf_counter()

    async def today(self, conn: asyncpg.Connection) -> None:
        """Today's, as far as now: ~300 at the operator's merchant (the scanner's list), the rest anywhere."""
        at_operator = min(self.today_count, self.loader.sizes.today_at_operator)
        rest = self.today_count - at_operator
        for count, only_operator in ((at_operator, True), (rest, False)):
            if count:
                await conn.execute(_CHECKINS, *self.loader._checkin_args(self.midnight, self.loader.now, count,
                                                                         at_operator=only_operator))
                self.done += count
        self.finished = time.perf_counter()

    def timing(self) -> Timing:
        return Timing("club_checkin", self.done, self.finished - (self.started or self.finished))


async def _row_estimate(conn: asyncpg.Connection, table: str) -> float:
    """The planner's row count of the table (-1: never analyzed)."""
    return float(await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = $1::regclass", table))


async def _analyze_if_grown(conn: asyncpg.Connection, table: str, before: float, rows: int) -> None:
    """ANALYZE after a load that changed the table's size by a tenth or more. The small company, loaded after the
    big one, adds a fraction of a per cent: its statistics would not move, and sampling a table of millions of
    rows (read from disk) took most of its load (a card event table's 2,000 rows, 5 s)."""
    if before < 0 or rows >= before / 10:
        await conn.execute(f"ANALYZE {table}")


Job = str | Callable[[asyncpg.Connection], Awaitable[Any]]
# The check-ins' foreign keys worth checking partition by partition on two connections (ten million rows joined
# to a million); those to merchants and benefits join a few dozen rows and are checked by the parent's key.
BIG_REFERENCED = ("club_card", "club_member")


async def run_jobs(conns: Sequence[asyncpg.Connection], jobs: Sequence[Job]) -> None:
    """Runs the jobs (SQL, or a coroutine function given the connection) in order, each on whichever connection
    is free first; returns when all are done. One failing cancels the rest."""
    queue = list(jobs)

    async def worker(conn: asyncpg.Connection) -> None:
        while queue:
            job = queue.pop(0)
            if isinstance(job, str):
                await conn.execute(job)
            else:
                await job(conn)

    async with asyncio.TaskGroup() as group:
        for conn in conns:
            group.create_task(worker(conn))


async def deferred_triggers(conn: asyncpg.Connection, rebuilds: dict[str, str] | None = None,
                            tables: Sequence[str] = LOADED_TABLES) -> dict[str, list[tuple[str, str]]]:
    """Rebuild function -> the triggers on the loaded tables it stands in for (those whose rebuild
    function exists in this schema; other triggers stay on). The club's by default."""
    out: dict[str, list[tuple[str, str]]] = {}
    for function, pattern in (REBUILDS if rebuilds is None else rebuilds).items():
        if not await conn.fetchval("SELECT 1 FROM pg_proc WHERE proname = $1 AND pronargs = 0", function):
            continue
        rows = await conn.fetch(
            "SELECT tgrelid::regclass::text AS tab, tgname FROM pg_trigger WHERE NOT tgisinternal AND tgparentid = 0 "
            "AND tgrelid = ANY($1::regclass[]) AND tgname LIKE $2 ORDER BY 1, 2", list(tables), pattern)
        if rows:
            out[function] = [(r["tab"], r["tgname"]) for r in rows]
    return out


async def set_triggers(conn: asyncpg.Connection, triggers: dict[str, list[tuple[str, str]]], *, enabled: bool) -> None:
    for table, name in (t for found in triggers.values() for t in found):
        await conn.execute(f'ALTER TABLE {table} {"ENABLE" if enabled else "DISABLE"} TRIGGER "{name}"')


CHECKIN_REFERENCES = {"card": "club_card", "member": "club_member", "merchant": "club_merchant",
                      "benefit": "club_benefit"}


async def add_foreign_keys(conn: asyncpg.Connection, fks: list[tuple[str, str]], table: str = "club_checkin",
                           referenced: Sequence[str] = tuple(CHECKIN_REFERENCES.values())) -> None:
    """Adds foreign keys back (the check-ins' by default), checking every row. The check runs as the owner,
    under the policies the owner is forced to: it would see only the bound tenant's rows and refuse every
    other tenant's. So, as the migrations do, the tables are NO FORCE for this one transaction (no other
    session ever sees them so: the ALTERs hold their locks until the commit)."""
    if not fks:
        return
    tables = [table, *sorted(set(referenced))]
    async with conn.transaction():
        for name_ in tables:
            await conn.execute(f"ALTER TABLE {name_} NO FORCE ROW LEVEL SECURITY")
        for name, definition in fks:
            await conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name_ in tables:
            await conn.execute(f"ALTER TABLE {name_} FORCE ROW LEVEL SECURITY")


@dataclass
class Stripped:
    """What `strip` took off a table, to be made again by `unstrip`."""

    table: str
    keys: list[tuple[str, str]] = field(default_factory=list)  # primary keys / unique constraints: (name, definition)
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX …)
    fks: list[tuple[str, str]] = field(default_factory=list)  # its own foreign keys, when they were dropped too


async def drop_foreign_keys(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """Drops the table's own foreign keys and answers them. Each inserted row's check looks its target up and
    locks it (at millions of rows that rewrites the referenced tables over and over); added back, a key is
    checked for every row in one join."""
    rows = await conn.fetch("SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                            "WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname", table)
    for r in rows:
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{r["conname"]}"')
    return [(r["conname"], r["definition"]) for r in rows]


async def strip(conn: asyncpg.Connection, table: str, *, keep: Sequence[str] = ()) -> Stripped:
    """Drops the table's indexes but those named in `keep` (an ON CONFLICT needs its unique index), and its
    keys that no foreign key leans on: filled bare, then indexed by `unstrip`, a table takes several times
    less time than keeping a dozen indexes row by row (sorting a million keys once). On a partitioned table
    the partitions' indexes go with their parent's."""
    keys = await conn.fetch(
        "SELECT c.conname, pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c "
        "WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u') AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)", table)
    indexes = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition "
        "FROM pg_index i WHERE i.indrelid = $1::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) AND NOT i.indexrelid::regclass::text = "
        "ANY($2::text[])", table, list(keep))
    for k in keys:
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{k["conname"]}"')
    for i in indexes:
        await conn.execute(f"DROP INDEX {i['name']}")
    # A partitioned table's index is defined `ON ONLY` the parent, which would make it again on the parent
    # alone (invalid, the partitions bare): made without ONLY, it is made on every partition too.
    return Stripped(table, [(k["conname"], k["definition"]) for k in keys],
                    [(i["name"], i["definition"].replace(" ON ONLY ", " ON ", 1)) for i in indexes])


async def unstrip(conn: asyncpg.Connection, s: Stripped, *, workers: int) -> None:
    """Keys and indexes made again (`workers` parallel workers each: 1 when the other connection builds
    too), then the foreign keys, each checked in one join; fresh statistics."""
    async with conn.transaction():
        await conn.execute(f"SET LOCAL max_parallel_maintenance_workers = {workers}")
        for name, definition in s.keys:
            await conn.execute(f'ALTER TABLE {s.table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in s.indexes:
            await conn.execute(definition)
    await add_foreign_keys(conn, s.fks, s.table, _referenced(s.fks))
    await conn.execute(f"ANALYZE {s.table}")


async def repair(conn: asyncpg.Connection) -> list[str]:
    """A reused database whose load was killed half-way: foreign keys and triggers as the schema has them."""
    notes = []
    have = {r["column"] for r in await conn.fetch(
        "SELECT a.attname AS column FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = c.conkey[1] WHERE c.conrelid = 'club_checkin'::regclass AND c.contype = 'f'")}
    missing = [(f"club_checkin_{column}_fkey1", f"FOREIGN KEY ({column}) REFERENCES {table}(id)")
               for column, table in CHECKIN_REFERENCES.items() if column not in have]
    await add_foreign_keys(conn, missing)
    notes += [f"the check-ins' foreign key {name} was missing (an interrupted load): added back" for name, _ in missing]
    return notes + await repair_triggers(conn)


async def repair_triggers(conn: asyncpg.Connection) -> list[str]:
    """Triggers a killed load left off: on again, and their rows rebuilt."""
    notes = []
    for function, triggers in (await deferred_triggers(conn)).items():
        off = await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgenabled = 'D' AND tgname = ANY($1::text[])",
                                  [name for _, name in triggers])
        if off:
            await set_triggers(conn, {function: triggers}, enabled=True)
            made = await conn.fetchval(f"SELECT {function}()")
            notes.append(f"{off} trigger(s) were left off by an interrupted load: on again, {function}() made {made}")
    return notes


_NAMES = Names()


# ---- tickets: the property archive and a ticket history -------------------------------------------
#
# TicketLoader loads, for one tenant whose projects, departments and ticket staff the set-up made through the
# API (bench/scale.py), and whose nine built-in ticket types `ensure_builtin_types()` made:
#
#   buildings (UNITS_PER_BUILDING units each, round-robin over the projects), units (`--ticket-units`,
#   default a third of the tickets: floors of 20 units, numbered 101 … 2520), customers (an owner per unit
#   and a tenant for every fifth one) and their occupancies;
#   tickets over `--months` months (more each month: the company doubles over them), of the nine types
#   (repairs 38 %, complaints 18 %, contact slips 15 %, …), priorities low 15 / normal 62 / high 18 /
#   urgent 5 %, numbered <prefix>-<local year>-<00001> per type and year in order of creation as
#   `_next_number` numbers them (the counters set to the last number after them); ~3 % open (60 % of the
#   last three days' tickets, 8 % of the last month's, 2.3 % of older ones, those waiting or resolved),
#   4 % of the closed ones cancelled; SLA times as the clocks leave them (respond_by, due_at, clock_since
#   while a clock runs, `breached` when the resolution came after due_at or a running clock is past it,
#   `warned` within the hour); held by one of the project's four departments and assigned among two
#   handlers each;
#   one leg per ticket, two when it was dispatched to another department than the desk (one open leg per
#   open ticket); events: registered, dispatched (two legs), the last transition, the return visit's
#   rating (3 to 5: a worse one reopens the ticket), an SLA breach where one happened (~3 a ticket);
#   the SLA notices a running watch would have sent already (responses overdue, breaches): a steady state
#   in which the job only handles what fell due since the load.
#
# Ticket i has the id md5('<tenant>:tk:<i>') (samples are picked by i, as members are). The per-ticket
# values are computed once into an unlogged plan table (the numbers need a window over all tickets), from
# which each table is filled by one INSERT … SELECT on two connections; from TICKET_FKS_FROM tickets the
# foreign keys of tickets, legs and events are dropped meanwhile and added back after (one join each), and
# those three tables are filled bare, their indexes built after (`TicketLoader._bare`).

TICKET_TYPES = ("repair", "complaint", "contact_slip", "inspection", "visit", "service_order", "renovation_permit",
                "move_in", "move_out")
TICKET_TYPE_SHARES = (0.38, 0.18, 0.15, 0.08, 0.07, 0.06, 0.03, 0.025, 0.025)
TICKET_DEPARTMENTS = (("CS", "客服中心"), ("ENG", "工程部"), ("SEC", "秩序部"), ("ENV", "环境部"))  # CS: the desk
TICKET_PROJECTS = (("P01", "星河湾花园"), ("P02", "滨江壹号"), ("P03", "云栖苑"))
HANDLERS_PER_DEPARTMENT = 2
UNITS_PER_BUILDING = 500
TICKET_FKS_FROM = 100_000
# The ticket's report facts (`ticket.report_*`), kept by row triggers on legs and events: off during the load (one
# UPDATE of the ticket per leg and rating loaded), made once after by the function, set-based.
# The month tallies (`ticket_tally`), kept by a statement trigger on the tickets: off too, made after the facts
# they are counted from (dict order is rebuild order). The facts themselves are written with the tickets
# (`_REPORT_FACTS`): their triggers stay off during the load, and a sample is checked instead of a rebuild.
TICKET_REBUILDS = {"ticket_report_facts_rebuild": "%report_facts%", "ticket_tally_rebuild": "ticket_tally_%",
                   # the service orders' quality facts (none are loaded here; off, the load keeps no transition
                   # table of a million tickets for them)
                   "service_order_quality_rebuild": "service_order_ticket_%"}
TICKET_LOADED_WITH = {"ticket_report_facts_rebuild"}
TICKET_DERIVED_FROM = ("ticket_leg", "ticket_event", "ticket")
TICKET_TABLES = ("property_building", "property_unit", "customer", "unit_occupancy", "ticket", "ticket_leg",
                 "ticket_event", "ticket_sla_notice", "ticket_counter")
TICKET_TITLES = {  # four a type, in TICKET_TYPES order
    "repair": ("厨房水龙头漏水", "卫生间下水道堵塞", "客厅灯不亮", "入户门锁损坏"),
    "complaint": ("楼上装修噪音扰民", "垃圾清运不及时", "电梯经常停运", "车库车位被占"),
    "contact_slip": ("咨询物业费缴纳", "反映停车难", "咨询装修手续", "建议增设快递柜"),
    "inspection": ("消防设施月检", "电梯例行巡检", "公共区域安全巡查", "水泵房巡检"),
    "visit": ("业主满意度回访", "新入住业主走访", "节日走访", "投诉处理回访"),
    "service_order": ("家政保洁预约", "家电清洗", "搬家服务", "开荒保洁"),
    "renovation_permit": ("室内装修申请", "厨卫改造申请", "阳台封闭申请", "门窗更换申请"),
    "move_in": ("业主入住交房", "租户入住", "业主入住交房", "租户入住"),
    "move_out": ("租户退租", "业主搬离", "租户退租", "业主搬离"),
}
SUBCONTRACTORS = ("海川机电维修", "绿洲园林工程", "迅达电梯服务")
STANDARD_OPEN = ("registered", "dispatched", "accepted", "in_progress", "waiting_resident", "waiting_contractor",
                 "resolved", "confirmed")


@dataclass
class TicketWorld:
    """What the ticket set-up made through the API, read back from the database."""

    slug: str
    tenant_id: uuid.UUID
    timezone: str
    projects: list[uuid.UUID]  # TICKET_PROJECTS order
    departments: list[uuid.UUID]  # project-major: projects × TICKET_DEPARTMENTS
    handlers: list[uuid.UUID]  # department-major: departments × HANDLERS_PER_DEPARTMENT
    handler_names: list[str]
    dispatchers: list[uuid.UUID]  # one a project
    dispatcher_names: list[str]
    types: dict[str, uuid.UUID]  # code -> id
    prefixes: dict[str, str]  # code -> number prefix

    def ticket_id(self, i: int) -> uuid.UUID:
        return md5_uuid(f"{self.tenant_id}:tk:{i}")

    def unit_id(self, u: int) -> uuid.UUID:
        return md5_uuid(f"{self.tenant_id}:un:{u}")


@dataclass
class TicketSizes:
    tickets: int
    units: int
    months: int

    @property
    def people(self) -> int:
        return self.units + self.units // 5

    @property
    def buildings(self) -> int:
        return -(-self.units // UNITS_PER_BUILDING)


def _ticket_case(column: str, shares: Sequence[float]) -> str:
    """1-based index of the share `column` (uniform in [0, 1)) falls into."""
    cum, parts = 0.0, []
    for k, share in enumerate(shares[:-1], start=1):
        cum += share
        parts.append(f"WHEN {column} < {cum:.4f} THEN {k}")
    return f"CASE {' '.join(parts)} ELSE {len(shares)} END"


# $1 tenant, $2 load time, $3 units, $4 projects
_BUILDINGS = f"""
INSERT INTO property_building (id, tenant_id, created_at, project_id, code, name)
SELECT md5($1 || ':bd:' || b)::uuid, $1::uuid, $2::timestamptz - interval '3 years',
       ($4::uuid[])[(b - 1) % array_length($4::uuid[], 1) + 1],
       lpad(((b - 1) / array_length($4::uuid[], 1) + 1)::text, 3, '0'),
       ((b - 1) / array_length($4::uuid[], 1) + 1) || '栋'
FROM generate_series(1, ceil($3::int / {UNITS_PER_BUILDING}.0)::int) AS b
"""

_UNITS = f"""
INSERT INTO property_unit (id, tenant_id, created_at, building, project_id, code, floor, area_cm2, use, status)
SELECT md5($1 || ':un:' || i)::uuid, $1::uuid, $2::timestamptz - interval '3 years', md5($1 || ':bd:' || b)::uuid,
       ($4::uuid[])[(b - 1) % array_length($4::uuid[], 1) + 1], ((l / 20 + 1) * 100 + l % 20 + 1)::text, l / 20 + 1,
       (600000 + floor({_u(41)} * 1000000))::bigint,
       CASE WHEN {_u(42)} < 0.95 THEN 'residential' WHEN {_u(42)} < 0.98 THEN 'shop' ELSE 'office' END,
       CASE WHEN {_u(43)} < 0.90 THEN 'occupied' WHEN {_u(43)} < 0.97 THEN 'vacant' ELSE 'renovating' END
FROM (SELECT i, (i - 1) / {UNITS_PER_BUILDING} + 1 AS b, (i - 1) % {UNITS_PER_BUILDING} AS l
      FROM generate_series(1, $3::int) AS i) x
"""

# Customers: person i <= units owns unit i; person units + k rents unit 5k. $3 units, $4 surnames, $5 given
# characters, $6 phone offset
_PERSON_PHONE = "'15' || lpad(((i::bigint * 387420489 + $6::bigint) % 1000000000)::text, 9, '0')"
_PEOPLE = f"""
INSERT INTO customer (id, tenant_id, created_at, name, kind, phone, email, emergency_name, emergency_phone, note,
                      user_id)
SELECT md5($1 || ':pe:' || i)::uuid, $1::uuid, $2::timestamptz - interval '3 years' + make_interval(days => i % 900),
       CASE WHEN {_u(44)} < 0.02 THEN ($4::text[])[1 + floor({_u(45)} * array_length($4::text[], 1))::int]
                                      || '氏商贸有限公司'
            ELSE ($4::text[])[1 + floor(power({_u(45)}, 2) * array_length($4::text[], 1))::int]
                 || ($5::text[])[1 + floor(power({_u(46)}, 1.5) * array_length($5::text[], 1))::int]
                 || CASE WHEN {_u(47)} < 0.35 THEN ''
                         ELSE ($5::text[])[1 + floor(power({_u(48)}, 1.5) * array_length($5::text[], 1))::int] END
       END,
       CASE WHEN {_u(44)} < 0.02 THEN 'company' ELSE 'individual' END, {_PERSON_PHONE}, '', '', '', '', NULL
FROM generate_series(1, $3::int + $3::int / 5) AS i
"""

_OCCUPANCY = """
INSERT INTO unit_occupancy (id, tenant_id, created_at, unit, person, role, starts_on, ends_on)
SELECT md5($1 || ':oc:' || i)::uuid, $1::uuid, $2::timestamptz - interval '3 years' + make_interval(days => i % 900),
       md5($1 || ':un:' || CASE WHEN i <= $3::int THEN i ELSE (i - $3::int) * 5 END)::uuid,
       md5($1 || ':pe:' || i)::uuid, CASE WHEN i <= $3::int THEN 'owner' ELSE 'tenant' END,
       (($2::timestamptz - interval '3 years' + make_interval(days => i % 900)) AT TIME ZONE 'UTC')::date, NULL
FROM generate_series(1, $3::int + $3::int / 5) AS i
"""


def _ticket_plan_sql(plan: str) -> str:
    """Every loaded ticket's values, its legs' and its events' times, in an unlogged table of the owner.
    $1 tenant, $2 load time, $3 tickets, $4 span in seconds, $5 units, $6 type ids (TICKET_TYPES order),
    $7 their prefixes, $8 departments, $9 handlers, $10 handlers' names, $11 dispatchers, $12 dispatchers'
    names, $13 time zone, $14 titles (4 a type), $15 person phone offset"""
    d, h = len(TICKET_DEPARTMENTS), HANDLERS_PER_DEPARTMENT
    types = _ticket_case("r_type", TICKET_TYPE_SHARES)
    reno = TICKET_TYPES.index("renovation_permit") + 1
    ty = {code: TICKET_TYPES.index(code) + 1 for code in TICKET_TYPES}
    visit_types = ", ".join(str(ty[c]) for c in ("repair", "complaint", "contact_slip", "service_order"))
    no_unit_types = ", ".join(str(ty[c]) for c in ("contact_slip", "inspection", "visit"))
    open_std = ", ".join(f"'{s}'" for s in STANDARD_OPEN)
    subs = ", ".join(f"'{s}'" for s in SUBCONTRACTORS)
    codes = ", ".join(f"'{c}'" for c in TICKET_TYPES)
    return f"""
CREATE UNLOGGED TABLE {plan} AS
WITH s AS MATERIALIZED (
    SELECT i, $2::timestamptz - make_interval(secs => $4::float8 * (2 - sqrt(1 + 3 * ((i - 0.5) / $3::float8))))
               AS t0,
           {_u(51)} AS r_type, {_u(52)} AS r_prio, {_u(53)} AS r_unit, {_u(54)} AS r_open, {_u(55)} AS r_st,
           {_u(56)} AS r_dept, {_u(57)} AS r_src, {_u(58)} AS r_h, {_u(59)} AS r_time, {_u(60)} AS r_res,
           {_u(61)} AS r_close, {_u(62)} AS r_sat, {_u(63)} AS r_title, {_u(64)} AS r_resp, {_u(65)} AS r_has,
           {_u(66)} AS r_proj, {_u(67)} AS r_person, {_u(68)} AS r_desk
    FROM generate_series(1, $3::int) AS i
), c AS (
    SELECT s.*, {types} AS ty,
           CASE WHEN r_prio < 0.15 THEN 'low' WHEN r_prio < 0.77 THEN 'normal' WHEN r_prio < 0.95 THEN 'high'
                ELSE 'urgent' END AS priority,
           extract(epoch FROM $2::timestamptz - t0)::float8 / 60 AS age_m
    FROM s
), d AS (
    SELECT c.*, (ty NOT IN ({no_unit_types}) OR r_has < 0.5) AS has_unit,
           CASE priority WHEN 'low' THEN 240 WHEN 'normal' THEN 60 WHEN 'high' THEN 30 ELSE 15 END AS respond_m,
           CASE priority WHEN 'low' THEN 2700 WHEN 'normal' THEN 1080 WHEN 'high' THEN 540 ELSE 240 END AS resolve_m,
           CASE WHEN priority = 'urgent' THEN 1.0 ELSE 2.2 END::float8 AS wf,  -- working minutes -> wall-clock minutes
           -- 0 closed, 9 cancelled, 1 … 8 open (STANDARD_OPEN); old open tickets wait or are resolved
           CASE WHEN r_open < CASE WHEN age_m < 3 * 1440 THEN 0.6 WHEN age_m < 30 * 1440 THEN 0.08 ELSE 0.023 END
                THEN CASE WHEN age_m < 30 * 1440
                          THEN {_ticket_case("r_st", (0.12, 0.10, 0.12, 0.22, 0.10, 0.08, 0.16, 0.10))}
                          ELSE 4 + {_ticket_case("r_st", (0.35, 0.25, 0.25, 0.15))} END
                WHEN r_st < 0.04 THEN 9 ELSE 0 END AS st0,
           CASE ty WHEN {ty['repair']} THEN CASE WHEN r_dept < 0.85 THEN 1 ELSE 3 END
                   WHEN {ty['complaint']} THEN CASE WHEN r_dept < 0.5 THEN 0 WHEN r_dept < 0.75 THEN 2 ELSE 3 END
                   WHEN {ty['inspection']} THEN CASE WHEN r_dept < 0.5 THEN 2 ELSE 3 END
                   WHEN {ty['service_order']} THEN CASE WHEN r_dept < 0.6 THEN 3 ELSE 1 END
                   WHEN {reno} THEN 1 ELSE 0 END AS dd
    FROM c
), e AS MATERIALIZED (
    SELECT d.*, CASE WHEN has_unit THEN 1 + floor(r_unit * $5::int)::int END AS unit_no,
           CASE WHEN st0 = 2 AND (ty = {reno} OR dd = 0) THEN CASE WHEN ty = {reno} THEN 1 ELSE 3 END
                ELSE st0 END AS st
    FROM d
), f AS (
    SELECT e.*,
           CASE WHEN has_unit THEN ((unit_no - 1) / {UNITS_PER_BUILDING}) % array_length($11::uuid[], 1)
                ELSE floor(r_proj * array_length($11::uuid[], 1))::int END AS p,
           CASE WHEN st IN (1, 9) THEN 0 ELSE dd END AS dept,
           -- raw offsets from t0 in wall-clock minutes, squeezed below into the ticket's age
           respond_m * wf * 0.3 * r_time AS o_disp,
           respond_m * wf * (0.4 + 1.2 * r_resp) AS o_resp,
           respond_m * wf * (0.4 + 1.2 * r_resp) + 5 + resolve_m * wf * (0.1 + 0.95 * r_res) AS o_res,
           respond_m * wf * (0.4 + 1.2 * r_resp) + resolve_m * wf * 0.3 * r_res AS o_wait
    FROM e
), g AS MATERIALIZED (
    SELECT f.*, dept <> 0 AS two_legs,
           CASE WHEN st = 0 THEN o_res + 60 + 4320 * r_close WHEN st = 9 THEN 10 + 1440 * r_close END AS o_close,
           CASE WHEN st = 0 THEN o_res + 60 + 4320 * r_close WHEN st = 9 THEN 10 + 1440 * r_close
                WHEN st IN (7, 8) THEN o_res WHEN st IN (5, 6) THEN o_wait WHEN st IN (3, 4) THEN o_resp
                WHEN st = 2 THEN o_disp ELSE 0 END AS o_last,
           ($8::uuid[])[p * {d} + dept + 1] AS department,
           ($9::uuid[])[(p * {d} + dept) * {h} + 1 + floor(r_h * {h})::int] AS handler,
           ($10::text[])[(p * {d} + dept) * {h} + 1 + floor(r_h * {h})::int] AS handler_name,
           ($9::uuid[])[p * {d} * {h} + 1 + floor(r_desk * {h})::int] AS desk,
           ($10::text[])[p * {d} * {h} + 1 + floor(r_desk * {h})::int] AS desk_name,
           ($11::uuid[])[p + 1] AS dispatcher, ($12::text[])[p + 1] AS dispatcher_name,
           CASE WHEN ty = {ty['inspection']} THEN 'inspection'
                WHEN r_src < 0.25 AND has_unit AND ty IN ({ty['repair']}, {ty['complaint']}) THEN 'portal'
                WHEN r_src < 0.60 THEN 'phone' WHEN r_src < 0.80 THEN 'walk_in' WHEN r_src < 0.92 THEN 'web'
                ELSE 'visit' END AS source
    FROM f
), k AS (
    SELECT g.*, CASE WHEN o_last > age_m * 0.98 THEN age_m * 0.98 / o_last ELSE 1.0 END::float8 AS squeeze,
           t0 + make_interval(secs => 60 * respond_m * wf) AS respond_by,
           t0 + make_interval(secs => 60 * resolve_m * wf) AS due_raw
    FROM g
), m AS MATERIALIZED (
    SELECT k.*,
           t0 + make_interval(secs => 60 * o_disp * squeeze) AS dispatch_at,
           CASE WHEN st = 9 THEN t0 + make_interval(secs => 60 * o_close * squeeze)
                WHEN st NOT IN (1, 2) THEN t0 + make_interval(secs => 60 * o_resp * squeeze) END AS responded_at,
           CASE WHEN st IN (0, 7, 8) THEN t0 + make_interval(secs => 60 * o_res * squeeze) END AS resolved_at,
           CASE WHEN st IN (0, 9) THEN t0 + make_interval(secs => 60 * o_close * squeeze) END AS closed_at,
           t0 + make_interval(secs => 60 * o_last * squeeze) AS updated_at,
           CASE WHEN st IN (5, 6) THEN NULL ELSE due_raw END AS due_at
    FROM k
)
SELECT m.i, m.t0, m.ty, ($6::uuid[])[ty] AS type_id, (ARRAY[{codes}])[ty] AS type_code, m.priority, m.source,
       m.st, m.two_legs, m.dept,
       CASE WHEN ty = {reno}
            THEN (ARRAY['applied', 'applied', 'drawings_review',
                        (ARRAY['fire_review', 'permit_issued', 'under_works', 'hidden_works_accepted'])
                            [1 + floor(r_h * 4)::int],
                        'waiting_resident', 'waiting_resident', 'completion_accepted',
                        'completion_accepted', 'cancelled', 'closed'])[CASE WHEN st = 0 THEN 10 ELSE st END]
            ELSE (ARRAY[{open_std}, 'cancelled', 'closed'])[CASE WHEN st = 0 THEN 10 ELSE st END] END AS status,
       extract(year FROM t0 AT TIME ZONE $13)::int AS year,
       row_number() OVER (PARTITION BY ty, extract(year FROM t0 AT TIME ZONE $13) ORDER BY t0, i) AS seq,
       ($7::text[])[ty] AS prefix,
       ($14::text[])[(ty - 1) * 4 + 1 + floor(r_title * 4)::int] AS title,
       CASE WHEN unit_no IS NOT NULL THEN md5($1 || ':un:' || unit_no)::uuid END AS unit,
       CASE WHEN unit_no IS NOT NULL THEN ($11::uuid[])[p + 1] END AS project_hint, m.p,
       CASE WHEN unit_no IS NOT NULL AND r_person < 0.8 THEN md5($1 || ':pe:' || unit_no)::uuid END AS person,
       CASE WHEN unit_no IS NOT NULL AND r_person < 0.8 AND source IN ('phone', 'walk_in')
            THEN '15' || lpad(((unit_no::bigint * 387420489 + $15::bigint) % 1000000000)::text, 9, '0')
            ELSE '' END AS contact_phone,
       CASE WHEN source = 'portal' THEN md5($1 || ':ru:' || unit_no)::uuid ELSE desk END AS raised_by,
       CASE WHEN source = 'portal' THEN '业主' ELSE desk_name END AS raised_name,
       m.department, ($8::uuid[])[p * {d} + 1] AS desk_department,
       CASE WHEN st IN (0, 3, 4, 5, 6, 7, 8) THEN handler END AS assignee,
       CASE WHEN st IN (0, 3, 4, 5, 6, 7, 8) THEN handler_name ELSE desk_name END AS handler_name,
       m.dispatcher, m.dispatcher_name,
       CASE WHEN st = 6 AND ty <> {reno} THEN (ARRAY[{subs}])[1 + floor(r_close * 3)::int] ELSE '' END
           AS subcontractor,
       m.respond_by, m.responded_at, m.due_at, m.resolve_m AS sla_minutes,
       CASE WHEN st IN (0, 7, 8) THEN least(resolve_m * 3, o_res * squeeze / wf)::int
            WHEN st IN (3, 4) THEN (o_resp * squeeze / wf)::int
            WHEN st IN (5, 6) THEN least(resolve_m * 3, o_wait * squeeze / wf)::int ELSE 0 END AS sla_used,
       CASE WHEN st IN (1, 2) THEN t0 WHEN st IN (3, 4) THEN responded_at END AS clock_since,
       CASE WHEN st IN (1, 2, 3, 4) THEN due_at <= $2::timestamptz
            WHEN st IN (0, 7, 8) THEN resolved_at > due_at
            WHEN st IN (5, 6) THEN o_wait > resolve_m * wf ELSE false END AS breached,
       m.resolved_at, m.closed_at, m.dispatch_at, m.updated_at,
       CASE WHEN st = 0 AND ty IN ({visit_types}) AND r_sat < 0.85
            THEN CASE WHEN r_time < 0.58 THEN 5 WHEN r_time < 0.90 THEN 4 ELSE 3 END END AS satisfaction
FROM m
"""


# The working minutes of the desk's leg and of the department's (when the ticket went on): the legs carry them,
# and so do the ticket's report facts.
_LEG1_USED = ("CASE WHEN two_legs THEN least(sla_used, (extract(epoch FROM dispatch_at - t0) / 60)::int)"
              " ELSE sla_used END")
_LEG2_USED = "greatest(0, sla_used - least(sla_used, (extract(epoch FROM dispatch_at - t0) / 60)::int))"

# The ticket's report facts as its triggers would make them from the legs and events loaded below (what
# `ticket_report_legs` / `ticket_report_ratings` answer): the departments that held it in department order, late
# when their leg is, the minutes each used; no rework is loaded; the return visit's rating. Written with the
# ticket, so no rebuild rewrites a million tickets after (223 s); `_FACTS_SAMPLE` checks them against the legs.
_REPORT_FACTS = f"""
       CASE WHEN NOT two_legs THEN ARRAY[desk_department]
            WHEN desk_department < department THEN ARRAY[desk_department, department]
            ELSE ARRAY[department, desk_department] END,
       CASE WHEN NOT two_legs THEN ARRAY[breached] WHEN desk_department < department THEN ARRAY[false, breached]
            ELSE ARRAY[breached, false] END,
       CASE WHEN NOT two_legs THEN ARRAY[{_LEG1_USED}]
            WHEN desk_department < department THEN ARRAY[{_LEG1_USED}, {_LEG2_USED}]
            ELSE ARRAY[{_LEG2_USED}, {_LEG1_USED}] END,
       '{{}}'::uuid[],
       CASE WHEN st = 0 AND satisfaction IS NOT NULL THEN ARRAY[satisfaction]::smallint[] ELSE '{{}}' END"""

# A sample of the loaded tickets (all of a small load) whose facts differ from what their legs and events give.
_FACTS_SAMPLE = """
SELECT count(*) FROM ticket t, LATERAL ticket_report_legs(t.id) AS l
WHERE t.id IN (SELECT id FROM ticket TABLESAMPLE BERNOULLI ($1) REPEATABLE (2026))
  AND (t.report_held, t.report_held_late, t.report_held_used, t.report_rework, t.report_ratings)
      IS DISTINCT FROM (l.held, l.held_late, l.held_used, l.rework, ticket_report_ratings(t.id))
"""

# $1 tenant, $2 load time, $3 this part (i % $4), $4 parts; in registration order, so a month's tickets sit
# together on disk
_TICKETS = """
INSERT INTO ticket (id, tenant_id, created_at, type, type_code, number, title, description, status, priority, source,
                    project_id, unit, person, contact_name, contact_phone, raised_by, department, assignee,
                    subcontractor, fields, checklist, respond_by, responded_at, due_at, sla_minutes, sla_used,
                    clock_since, warned, breached, escalated, resolved_at, closed_at, satisfaction, reopen_count,
                    version, updated_at, report_held, report_held_late, report_held_used, report_rework,
                    report_ratings)
SELECT md5($1 || ':tk:' || i)::uuid, $1::uuid, t0, type_id, type_code, prefix || '-' || year || '-'
           || CASE WHEN seq >= 100000 THEN seq::text ELSE lpad(seq::text, 5, '0') END,
       title, CASE WHEN source = 'portal' THEN '业主在线报事：' ELSE '来电登记：' END || title, status, priority,
       source, project_hint, unit, person, '', contact_phone, raised_by, department, assignee, subcontractor,
       '{}'::jsonb,
       CASE WHEN st <> 0 THEN '{}'::jsonb
            WHEN type_code = 'move_out' THEN '{"keys_returned": true, "meters_read": "水 1203 电 4587",
                                               "damage": 0, "deposit_settled": true}'::jsonb
            WHEN type_code = 'move_in' THEN '{"keys_handed": true, "meters_read": "水 12 电 35",
                                              "defects_noted": ""}'::jsonb
            WHEN type_code = 'renovation_permit' THEN '{"deposit": 200000, "damage": 0, "site_clean": true}'::jsonb
            ELSE '{}'::jsonb END,
       respond_by, responded_at, due_at, sla_minutes, sla_used, clock_since,
       breached OR (clock_since IS NOT NULL AND due_at <= $2::timestamptz + interval '1 hour'), breached, false,
       resolved_at, closed_at, satisfaction, 0,
       CASE st WHEN 0 THEN 7 + (satisfaction IS NOT NULL)::int WHEN 9 THEN 2 WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 3
               WHEN 4 THEN 4 WHEN 8 THEN 6 ELSE 5 END,
       updated_at, """ + _REPORT_FACTS + """
FROM {plan} WHERE i % $4::int = $3::int ORDER BY i
"""

# The desk's leg (the only one unless the ticket went to another department), then the department's.
_LEGS = """
INSERT INTO ticket_leg (id, tenant_id, created_at, ticket, department, assignee, subcontractor, started_at,
                        accepted_at, ended_at, used, breached, rework)
SELECT md5($1 || ':lg1:' || i)::uuid, $1::uuid, t0, md5($1 || ':tk:' || i)::uuid, desk_department,
       CASE WHEN two_legs THEN NULL ELSE assignee END, CASE WHEN two_legs THEN '' ELSE subcontractor END, t0,
       CASE WHEN two_legs THEN NULL ELSE responded_at END,
       CASE WHEN two_legs THEN dispatch_at ELSE closed_at END, """ + _LEG1_USED + """,
       breached AND NOT two_legs, false
FROM {plan}
UNION ALL
SELECT md5($1 || ':lg2:' || i)::uuid, $1::uuid, dispatch_at, md5($1 || ':tk:' || i)::uuid, department, assignee,
       subcontractor, dispatch_at, responded_at, closed_at, """ + _LEG2_USED + """, breached, false
FROM {plan} WHERE two_legs
"""

# registered; dispatched (two legs); the last transition (open past dispatch, closed, cancelled); the return
# visit's rating (`data` as `_apply` writes it: satisfaction, reason; a rating of 2 or less would have reopened
# the ticket as rework, so closed tickets carry 3 to 5 and no rework is loaded); an SLA breach.
_EVENTS_T = """
INSERT INTO ticket_event (id, tenant_id, created_at, ticket, kind, from_status, to_status, by_user, by_name, note, data)
SELECT gen_random_uuid(), $1::uuid, t0, md5($1 || ':tk:' || i)::uuid, 'registered', '',
       CASE WHEN type_code = 'renovation_permit' THEN 'applied' ELSE 'registered' END, raised_by, raised_name,
       CASE WHEN source = 'portal' THEN '业主在线报事：' ELSE '来电登记：' END || title,
       jsonb_build_object('source', source, 'priority', priority)
FROM {plan}
UNION ALL
SELECT gen_random_uuid(), $1::uuid, dispatch_at, md5($1 || ':tk:' || i)::uuid, 'dispatched',
       CASE WHEN type_code = 'renovation_permit' THEN 'applied' ELSE 'registered' END,
       CASE WHEN type_code = 'renovation_permit' THEN 'drawings_review' ELSE 'dispatched' END, dispatcher,
       dispatcher_name, '', jsonb_build_object('department', department::text, 'assignee', NULL, 'subcontractor', '')
FROM {plan} WHERE two_legs
UNION ALL
SELECT gen_random_uuid(), $1::uuid, updated_at, md5($1 || ':tk:' || i)::uuid, 'transition',
       CASE WHEN type_code = 'renovation_permit'
            THEN CASE status WHEN 'cancelled' THEN 'applied' WHEN 'closed' THEN 'completion_accepted'
                             WHEN 'drawings_review' THEN 'applied' WHEN 'fire_review' THEN 'drawings_review'
                             WHEN 'permit_issued' THEN 'fire_review' WHEN 'under_works' THEN 'permit_issued'
                             WHEN 'hidden_works_accepted' THEN 'under_works'
                             WHEN 'completion_accepted' THEN 'hidden_works_accepted' ELSE 'drawings_review' END
            ELSE CASE status WHEN 'cancelled' THEN 'registered'
                             WHEN 'closed' THEN CASE WHEN satisfaction IS NOT NULL THEN 'visited' ELSE 'resolved' END
                             WHEN 'accepted' THEN CASE WHEN two_legs THEN 'dispatched' ELSE 'registered' END
                             WHEN 'in_progress' THEN 'accepted' WHEN 'confirmed' THEN 'resolved'
                             ELSE 'in_progress' END END,
       status, assignee, handler_name, CASE WHEN status = 'cancelled' THEN '重复登记' ELSE '' END, '{}'::jsonb
FROM {plan} WHERE st NOT IN (1, 2)
UNION ALL
SELECT gen_random_uuid(), $1::uuid, resolved_at + (closed_at - resolved_at) / 2, md5($1 || ':tk:' || i)::uuid,
       'transition', CASE WHEN type_code IN ('repair', 'service_order') THEN 'confirmed' ELSE 'resolved' END,
       'visited', assignee, handler_name, '回访',
       jsonb_build_object('satisfaction', satisfaction, 'reason', CASE WHEN satisfaction >= 4 THEN 'satisfied'
                          ELSE (ARRAY['slow', 'attitude', 'quality'])[1 + (i % 3)::int] END)
FROM {plan} WHERE st = 0 AND satisfaction IS NOT NULL
UNION ALL
SELECT gen_random_uuid(), $1::uuid, due_at, md5($1 || ':tk:' || i)::uuid, 'sla_breach', '', '', NULL,
       'job:tickets_sla', '', jsonb_build_object('due_at', due_at)
FROM {plan} WHERE breached AND due_at IS NOT NULL AND due_at <= $2::timestamptz
"""

# The notices a running watch sent already: overdue responses to the project's dispatcher, breaches to the
# holder. $2 load time
_NOTICES = """
INSERT INTO ticket_sla_notice (id, tenant_id, created_at, ticket, kind, user_id, deadline, sent_at)
SELECT gen_random_uuid(), $1::uuid, respond_by, md5($1 || ':tk:' || i)::uuid, 'response', dispatcher, respond_by,
       least($2::timestamptz, respond_by + interval '5 minutes')
FROM {plan} WHERE st IN (1, 2) AND respond_by <= $2::timestamptz
UNION ALL
SELECT gen_random_uuid(), $1::uuid, due_at, md5($1 || ':tk:' || i)::uuid, 'breach', coalesce(assignee, dispatcher),
       due_at, least($2::timestamptz, due_at + interval '5 minutes')
FROM {plan} WHERE st IN (1, 2, 3, 4) AND breached
"""

_TICKET_COUNTERS = """
INSERT INTO ticket_counter (id, tenant_id, created_at, type, year, last)
SELECT gen_random_uuid(), $1::uuid, now(), type_id, year, max(seq) FROM {plan} GROUP BY type_id, year
ON CONFLICT (tenant_id, type, year) DO UPDATE SET last = greatest(ticket_counter.last, excluded.last)
"""


async def ticket_foreign_keys(conn: asyncpg.Connection) -> dict[str, list[tuple[str, str]]]:
    """The foreign keys of the ticket, its legs and its events (table -> [(name, definition)])."""
    out: dict[str, list[tuple[str, str]]] = {}
    for table in ("ticket", "ticket_leg", "ticket_event"):
        rows = await conn.fetch("SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                                "WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname", table)
        out[table] = [(r["conname"], r["definition"]) for r in rows]
    return out


def _referenced(definitions: list[tuple[str, str]]) -> list[str]:
    return sorted({d.split("REFERENCES ", 1)[1].split("(", 1)[0].strip() for _, d in definitions})


class TicketLoader:
    """Loads one tenant's property archive and ticket history (see the comment above TICKET_TYPES) on two
    connections: the plan on a beside customers, buildings and units on b; occupancies on a; then, from
    TICKET_FKS_FROM tickets, tickets, notices and legs on a beside events on b, each table bare (`_bare`),
    else tickets on a and b (halves), legs on a beside events on b, notices; the foreign keys back; VACUUM
    (ANALYZE); the counters last (a reused database without them holds an interrupted load)."""

    def __init__(self, owner_dsn: str, world: TicketWorld, sizes: TicketSizes, *, seed: int,
                 emit: Callable[[str], None]) -> None:
        self.dsn, self.world, self.sizes, self.seed, self.emit = owner_dsn, world, sizes, seed, emit
        self.now = datetime.now(UTC)
        self.t = str(world.tenant_id)
        self.plan = f"scale_ticket_plan_{world.tenant_id.hex[:12]}"
        self.report = LoadReport()

    async def connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn, timeout=30, command_timeout=None)
        await conn.execute("SET synchronous_commit = off; SET work_mem = '64MB'; SET maintenance_work_mem = '512MB'; "
                           "SET jit = off")
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", self.t)
        return conn

    async def _timed(self, table: str, work: Callable[[], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        rows = await work()
        timing = Timing(table, int(rows or 0), time.perf_counter() - started)
        self.report.timings.append(timing)
        self.emit(f"[{self.world.slug}]{timing.line()}")
        return rows

    _exec = staticmethod(Loader._exec)

    async def _sql(self, conn: asyncpg.Connection, sql: str, *args: Any) -> int:
        return await self._exec(conn, sql.replace("{plan}", self.plan), *args)

    async def run(self) -> LoadReport:
        started = time.perf_counter()
        a, b = await self.connect(), await self.connect()
        fks: dict[str, list[tuple[str, str]]] = {}
        try:
            deferred = await ticket_deferred_triggers(a)
            for function, triggers in deferred.items():
                self.report.notes.append(f"{', '.join(t for _, t in triggers)} off during the load, "
                                         f"{function}() after it")
            await set_triggers(a, deferred, enabled=False)
            try:
                await self._load_all(a, b, fks)
                # with the triggers still off: the facts' rebuild writes the tickets, which the tallies' trigger
                # would count one by one
                await a.execute("ANALYZE ticket, ticket_leg, ticket_event")
                for function in deferred:
                    if function in TICKET_LOADED_WITH:
                        await self._timed("report facts (a sample checked)", lambda: self._check_facts(a))
                    else:
                        await self._timed(f"{function}()", functools.partial(self._rebuild, a, function))
            finally:  # on a fresh connection: a failed statement may have left `a` unusable
                fresh = await self.connect()
                try:
                    await set_triggers(fresh, deferred, enabled=True)
                finally:
                    await fresh.close()
            await self._timed("vacuum (analyze)", lambda: self._vacuum(a, b))
            # Last: a load that stopped before this line left no counters, and is refused when reused.
            await self._timed("ticket_counter", lambda: self._sql(a, _TICKET_COUNTERS, self.t))
            await a.execute(f"DROP TABLE IF EXISTS {self.plan}")
        finally:
            await a.close()
            await b.close()
        self.report.wall = time.perf_counter() - started
        return self.report

    async def _load_all(self, a: asyncpg.Connection, b: asyncpg.Connection,
                        fks: dict[str, list[tuple[str, str]]]) -> None:
        w, n = self.world, self.sizes
        try:
            await a.execute(f"DROP TABLE IF EXISTS {self.plan}")
            if n.tickets >= TICKET_FKS_FROM:
                fks.update(await ticket_foreign_keys(a))
                for table, found in fks.items():
                    for name, _ in found:
                        await a.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            projects = list(w.projects)
            phone_offset = int(hashlib.md5(w.slug.encode(), usedforsecurity=False).hexdigest()[:8], 16)
            span = 30.44 * 86400 * n.months
            titles = [title for code in TICKET_TYPES for title in TICKET_TITLES[code]]

            async def archive() -> None:
                await self._timed("customer", lambda: self._load_t(
                    b, "customer", _PEOPLE, self.t, self.now, n.units, _NAMES.surnames, _NAMES.given, phone_offset))
                await self._timed("property_building", lambda: self._load_t(b, "property_building", _BUILDINGS,
                                                                            self.t, self.now, n.units, projects))
                await self._timed("property_unit", lambda: self._load_t(b, "property_unit", _UNITS, self.t,
                                                                        self.now, n.units, projects))

            async with asyncio.TaskGroup() as group:  # the plan needs nothing loaded: beside the archive
                group.create_task(archive())
                group.create_task(self._timed("ticket plan", lambda: self._plan(
                    a, self.t, self.now, n.tickets, span, n.units, [w.types[c] for c in TICKET_TYPES],
                    [w.prefixes[c] for c in TICKET_TYPES], w.departments, w.handlers, w.handler_names,
                    w.dispatchers, w.dispatcher_names, w.timezone, titles, phone_offset)))
            await self._timed("unit_occupancy", lambda: self._load_t(a, "unit_occupancy", _OCCUPANCY, self.t,
                                                                     self.now, n.units))

            if fks:  # big: the three tables bare (indexes made after), side by side: no foreign key links them now
                async def chain_a() -> None:
                    await self._timed("ticket", lambda: self._bare(a, "ticket", lambda: self._sql(
                        a, _TICKETS, self.t, self.now, 0, 1)))
                    await self._timed("ticket_sla_notice", lambda: self._sql(a, _NOTICES, self.t, self.now))
                    await self._timed("ticket_leg", lambda: self._bare(a, "ticket_leg", lambda: self._sql(
                        a, _LEGS, self.t)))

                async with asyncio.TaskGroup() as group:
                    group.create_task(chain_a())
                    group.create_task(self._timed("ticket_event", lambda: self._bare(b, "ticket_event", lambda: (
                        self._sql(b, _EVENTS_T, self.t, self.now)))))
                return

            async def tickets() -> int:
                parts = await asyncio.gather(*(self._sql(c, _TICKETS, self.t, self.now, k, 2)
                                               for k, c in enumerate((a, b))))
                await a.execute("ANALYZE ticket")
                return sum(parts)

            await self._timed("ticket", tickets)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._timed("ticket_leg", lambda: self._sql(a, _LEGS, self.t)))
                group.create_task(self._timed("ticket_event", lambda: self._sql(b, _EVENTS_T, self.t, self.now)))
            await self._timed("ticket_sla_notice", lambda: self._sql(a, _NOTICES, self.t, self.now))
        finally:
            if any(fks.values()):
                await self._timed("ticket foreign keys", lambda: self._add_foreign_keys(fks))

    @staticmethod
    async def _bare(conn: asyncpg.Connection, table: str, work: Callable[[], Awaitable[int]]) -> int:
        """`work` fills `table` stripped (`strip`), its indexes and keys made again after it in the same
        transaction: an interrupted load leaves the table as it was. The ticket's primary key stays: the SLA
        notices' foreign key leans on it."""
        async with conn.transaction():
            stripped = await strip(conn, table)
            rows = await work()
            await unstrip(conn, stripped, workers=1)  # the other connection works too
        return rows

    @staticmethod
    async def _rebuild(conn: asyncpg.Connection, function: str) -> int:
        result = await conn.fetchval(f"SELECT {function}()")
        return int(result) if isinstance(result, int) else 0

    async def _check_facts(self, conn: asyncpg.Connection) -> int:
        """The loaded report facts against what the loaded legs and events give, for ~2,000 tickets (every one
        of a small load); a difference stops the load."""
        share = min(100.0, 2000 * 100 / max(1, self.sizes.tickets))
        wrong = await conn.fetchval(_FACTS_SAMPLE, share)
        if wrong:
            raise RuntimeError(f"{wrong} loaded tickets' report facts differ from their legs and events "
                               "(bench/_scale_load.py _REPORT_FACTS)")
        return round(self.sizes.tickets * share / 100)

    async def _load_t(self, conn: asyncpg.Connection, table: str, sql: str, *args: Any) -> int:
        rows = await self._exec(conn, sql, *args)
        await conn.execute(f"ANALYZE {table}")
        return rows

    async def _plan(self, conn: asyncpg.Connection, *args: Any) -> int:
        await conn.execute(_ticket_plan_sql(self.plan), *args)
        return int(await conn.fetchval(f"SELECT count(*) FROM {self.plan}"))

    async def _add_foreign_keys(self, fks: dict[str, list[tuple[str, str]]]) -> int:
        conn = await self.connect()  # fresh: a failed load may have left its connections unusable
        try:
            for table, found in fks.items():
                await add_foreign_keys(conn, found, table, _referenced(found))
        finally:
            await conn.close()
        return sum(len(found) for found in fks.values())

    @staticmethod
    async def _vacuum(a: asyncpg.Connection, b: asyncpg.Connection) -> int:
        async with asyncio.TaskGroup() as group:
            group.create_task(a.execute("VACUUM (ANALYZE) ticket, ticket_leg, ticket_sla_notice, property_unit"))
            group.create_task(b.execute("VACUUM (ANALYZE) ticket_event, customer, unit_occupancy, property_building"))
        return len(TICKET_TABLES) - 1


TICKET_REFERENCES = {"ticket": {"type": "ticket_type", "unit": "property_unit", "person": "customer"},
                     "ticket_leg": {"ticket": "ticket"}, "ticket_event": {"ticket": "ticket"}}


async def ticket_deferred_triggers(conn: asyncpg.Connection) -> dict[str, list[tuple[str, str]]]:
    """Rebuild function -> the triggers on the legs and events it stands in for (when it exists in this schema)."""
    return await deferred_triggers(conn, TICKET_REBUILDS, TICKET_DERIVED_FROM)


async def repair_tickets(conn: asyncpg.Connection) -> list[str]:
    """A reused database whose ticket load was killed half-way: the foreign keys it dropped, added back; the
    report-fact triggers it turned off, on again, and the facts rebuilt (for the bound tenant)."""
    notes = []
    for function, triggers in (await ticket_deferred_triggers(conn)).items():
        off = await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgenabled = 'D' AND tgname = ANY($1::text[])",
                                  [name for _, name in triggers])
        if off:
            await set_triggers(conn, {function: triggers}, enabled=True)
            made = await conn.fetchval(f"SELECT {function}()")
            notes.append(f"{off} trigger(s) were left off by an interrupted ticket load: on again, {function}() "
                         f"made {made}")
    for table, columns in TICKET_REFERENCES.items():
        have = {r["column"] for r in await conn.fetch(
            "SELECT a.attname AS column FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
            "AND a.attnum = c.conkey[1] WHERE c.conrelid = $1::regclass AND c.contype = 'f'", table)}
        missing = [(f"{table}_{column}_fkey", f"FOREIGN KEY ({column}) REFERENCES {target}(id) ON UPDATE CASCADE "
                    "ON DELETE CASCADE") for column, target in columns.items() if column not in have]
        await add_foreign_keys(conn, missing, table, _referenced(missing))
        notes += [f"the foreign key {name} was missing (an interrupted ticket load): added back" for name, _ in missing]
    return notes
