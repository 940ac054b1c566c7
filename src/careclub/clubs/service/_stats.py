"""Club statistics: members by status, plan and branch; new members per month; renewals and
lapses; check-ins per merchant and benefit; the club's membership-fee projection (its own
`projected_monthly_joins` for five years, as seed 002 part 5 plans 300 a month; none when it is
empty) beside the actual figures. Read-only aggregates (raw SQL: Piccolo cannot express these
GROUP BYs)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from careclub.clubs import rules
from careclub.clubs.service._setup import get_club
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.principal import Principal
from careclub.platform import service as platform_service
from careclub.platform.permissions import Perm

PROJECTION_MONTHS = 60


def projection(fee: int, *, monthly: int, months: int = PROJECTION_MONTHS) -> list[dict[str, int]]:
    """Month by month: cumulative members (no one lapses) and the fees collected that month (new
    members pay on joining, everyone pays again on each anniversary)."""
    out = []
    for m in range(1, months + 1):
        payers = monthly * (1 + (m - 1) // 12)
        out.append({"month": m, "members": monthly * m, "fees": payers * fee})
    return out


@dataclass(frozen=True)
class _Scope:
    """Whose figures: `units` None for a company-wide reader, who sums the branchless `<metric>_all`
    tallies, else the ids of the branches a manager serves (always query argument $2)."""

    units: list[uuid.UUID] | None

    @property
    def sfx(self) -> str:
        return "_all" if self.units is None else ""

    @property
    def args(self) -> list[Any]:
        return [] if self.units is None else [self.units]

    def on(self, column: str) -> str:
        """The condition keeping rows whose `column` is one of the branches (none when company-wide)."""
        return "" if self.units is None else f" AND {column} = ANY($2::uuid[])"


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


async def _card_figures(club_id: uuid.UUID, scope: _Scope, plans: list[dict[str, Any]], now: datetime
                        ) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Cards by computed status, plan and branch, and last year's lapses: statuses from the `card`
    tallies (by the UTC date a card runs until), plans and branches from the `held` ones. A day
    decides a status for every card of it except on the edge days (today, today less a plan's grace
    days, a year ago), whose few cards are read one by one."""
    today = now.astimezone(UTC).date()
    n = len(scope.args) + 2
    rows = await fetch(
        f"""SELECT t.state,
                   CASE WHEN t.state <> 'active' THEN 'fixed'
                        WHEN t.day IS NULL OR t.day > ${n} THEN 'active'
                        WHEN t.day = ${n} OR t.day + p.grace_days = ${n} OR t.day = ${n} - 365 THEN 'edge'
                        WHEN t.day + p.grace_days > ${n} THEN 'in_grace'
                        WHEN t.day > ${n} - 365 THEN 'lapsed'
                        ELSE 'expired' END AS band,
                   sum(t.n)::bigint AS n
            FROM club_tally t JOIN club_plan p ON p.id = t.plan
            WHERE t.metric = 'card{scope.sfx}' AND t.club = $1 AND t.state <> 'replaced'{scope.on("t.org_unit")}
            GROUP BY 1, 2 HAVING sum(t.n) <> 0""", club_id, *scope.args, today)
    held = await fetch(
        f"""SELECT t.plan, t.org_unit, sum(t.n)::bigint AS n FROM club_tally t
            WHERE t.metric = 'held' AND t.club = $1 AND t.state <> 'replaced'{scope.on("t.org_unit")}
            GROUP BY 1, 2 HAVING sum(t.n) <> 0""", club_id, *scope.args)
    edges = {today, today - timedelta(days=365)} | {today - timedelta(days=p["grace_days"]) for p in plans}
    ranges = sorted(edges)
    member_join = " JOIN club_member m ON m.id = c.member" if scope.args else ""
    exact = (await fetch(
        f"""SELECT count(*) FILTER (WHERE c.valid_until > ${n + 1}) AS active,
                   count(*) FILTER (WHERE c.valid_until <= ${n + 1}
                                    AND c.valid_until + make_interval(days => p.grace_days) > ${n + 1}) AS in_grace,
                   count(*) FILTER (WHERE c.valid_until + make_interval(days => p.grace_days) <= ${n + 1}) AS expired,
                   count(*) FILTER (WHERE c.valid_until + make_interval(days => p.grace_days) <= ${n + 1}
                                    AND c.valid_until > ${n + 1} - interval '365 days') AS lapsed
            FROM club_card c JOIN club_plan p ON p.id = c.plan{member_join}
            WHERE c.club = $1 AND c.state = 'active'
              AND ({" OR ".join(f"(c.valid_until >= (${n}::timestamptz[])[{i + 1}] "
                                f"AND c.valid_until < (${n}::timestamptz[])[{i + 1}] + interval '1 day')"
                                for i in range(len(ranges)))}){scope.on("m.org_unit")}""",
        club_id, *scope.args, [datetime.combine(d, time(), UTC) for d in ranges], now))[0]
    units = {r["id"]: r["name"] for r in await fetch("SELECT id, name FROM org_unit")}
    names = {p["id"]: p["name"] for p in plans}
    by_status: Counter[str] = Counter()
    by_plan: Counter[str] = Counter()
    by_branch: Counter[str] = Counter()
    lapsed = 0
    for r in rows:
        if r["band"] == "edge":
            continue
        status = {"fixed": rules.card_status(r["state"], None, 0, now), "lapsed": "expired"}.get(r["band"], r["band"])
        by_status[status] += r["n"]
        lapsed += r["n"] if r["band"] == "lapsed" else 0
    for r in held:
        by_plan[names.get(r["plan"], "—")] += r["n"]
        by_branch[units.get(r["org_unit"], "—")] += r["n"]
    for status in ("active", "in_grace", "expired"):  # the edge days' cards, judged by rules.card_status's rule
        by_status[status] += exact[status]
    lapsed += exact["lapsed"]
    return +by_status, by_plan, by_branch, lapsed


async def _renewal_rates(club_id: uuid.UUID, scope: _Scope, now: datetime, zone: str) -> list[dict[str, Any]]:
    """Paid terms by the month they end, over the local days from 24 months ago to 31 days ahead:
    renewed when the card has a later-ending paid term, lapsed when it has none and the grace days have
    run out. From the `due` tallies (every paid term of a live card, by the local date it ends) and the
    `open` ones (each live card's latest term): renewed = due − open, day by day. Only on the day whose
    terms' grace runs out today does the hour matter for "lapsed"; those few terms are counted one by one."""
    tz = ZoneInfo(zone)
    low, high = rules.add_months(now, -24).astimezone(tz).date(), (now + timedelta(days=31)).astimezone(tz).date()
    today = now.astimezone(tz).date()
    n = len(scope.args) + 2
    rows = await fetch(
        f"""SELECT t.metric, t.day, p.grace_days, sum(t.n)::bigint AS n
            FROM club_tally t JOIN club_plan p ON p.id = t.plan
            WHERE t.metric IN ('due{scope.sfx}', 'open{scope.sfx}') AND t.club = $1
              AND t.day >= ${n} AND t.day < ${n + 1}{scope.on("t.org_unit")}
            GROUP BY 1, 2, 3 HAVING sum(t.n) <> 0""", club_id, *scope.args, low, high)
    months: dict[str, dict[str, int]] = {}

    def month(day: date) -> dict[str, int]:
        return months.setdefault(_month(day), {"due": 0, "renewed": 0, "lapsed": 0})

    edges: set[int] = set()
    for r in rows:
        m = month(r["day"])
        if r["metric"].startswith("due"):
            m["due"] += r["n"]
            m["renewed"] += r["n"]
            continue
        m["renewed"] -= r["n"]
        grace_end = r["day"] + timedelta(days=r["grace_days"])
        if grace_end < today:
            m["lapsed"] += r["n"]
        elif grace_end == today:
            edges.add(r["grace_days"])
    member_join = " JOIN club_member m ON m.id = c.member" if scope.args else ""
    for grace in sorted(edges):
        day = today - timedelta(days=grace)
        if not low <= day < high:
            continue
        lapsed = await fetch(
            f"""SELECT count(*) AS n FROM club_period pe JOIN club_card c ON c.id = pe.card
                JOIN club_plan pl ON pl.id = c.plan{member_join}
                WHERE c.club = $1 AND pl.grace_days = ${n} AND pe.status = 'paid'
                  AND c.state NOT IN ('cancelled', 'replaced')
                  AND pe.ends_at >= ${n + 1} AND pe.ends_at < ${n + 2}
                  AND NOT EXISTS (SELECT 1 FROM club_period l WHERE l.card = pe.card AND l.status = 'paid'
                                  AND l.ends_at > pe.ends_at){scope.on("m.org_unit")}""",
            club_id, *scope.args, grace, datetime.combine(day, time(), tz), now - timedelta(days=grace))
        month(day)["lapsed"] += lapsed[0]["n"]
    return [{"month": k, **v} for k, v in sorted(months.items()) if v["due"]]


async def club_stats(principal: Principal | None, club_id: uuid.UUID) -> dict[str, Any]:
    """Every figure from the tallies the triggers keep (club_tally): a few thousand rows to add up, not
    a million cards or ten million check-ins to read."""
    club = await get_club(club_id)
    scope = _Scope(await platform_service.units_in_scope(principal, Perm.MEMBERS_READ))
    now = clock.now()
    zone = (await fetch("SELECT timezone FROM tenant WHERE id = app_current_tenant()") or [{"timezone": "UTC"}])[0][
        "timezone"]
    plans = await fetch("SELECT id, name, grace_days, fee, active FROM club_plan WHERE club = $1", club_id)
    by_status, by_plan, by_branch, lapsed = await _card_figures(club_id, scope, plans, now)
    new_per_month = await fetch(
        f"""SELECT t.day, sum(t.n)::bigint AS n FROM club_tally t
            WHERE t.metric = 'joined{scope.sfx}' AND t.club = $1{scope.on("t.org_unit")}
            GROUP BY 1 HAVING sum(t.n) <> 0 ORDER BY 1""", club_id, *scope.args)
    fees = await fetch(
        f"""SELECT t.day, t.kind, sum(t.n)::bigint AS n, sum(t.amount)::bigint AS amount FROM club_tally t
            WHERE t.metric = 'fee{scope.sfx}' AND t.club = $1{scope.on("t.org_unit")}
            GROUP BY 1, 2 HAVING sum(t.n) <> 0 ORDER BY 1, 2""", club_id, *scope.args)
    renewals = sum(r["n"] for r in fees if r["kind"] == "renewal")
    # Check-ins count for the branches the caller serves, like every other figure here: by the
    # branch the member belonged to when checking in.
    metric = "checkin" + scope.sfx
    checkins_by_merchant = await fetch(
        f"""SELECT mc.name, sum(t.n)::bigint AS n FROM club_tally t JOIN club_merchant mc ON mc.id = t.merchant
            WHERE t.metric = '{metric}' AND t.club = $1{scope.on("t.org_unit")}
            GROUP BY 1 HAVING sum(t.n) <> 0 ORDER BY 2 DESC""", club_id, *scope.args)
    checkins_by_benefit = await fetch(
        f"""SELECT coalesce(b.name, '—') AS name, sum(t.n)::bigint AS n FROM club_tally t
            LEFT JOIN club_benefit b ON b.id = t.benefit
            WHERE t.metric = '{metric}' AND t.club = $1{scope.on("t.org_unit")}
            GROUP BY 1 HAVING sum(t.n) <> 0 ORDER BY 2 DESC""", club_id, *scope.args)
    renewal_rates = await _renewal_rates(club_id, scope, now, zone)
    fee = max((p["fee"] for p in plans if p["active"]), default=0)
    cumulative, actual = 0, []
    for row in new_per_month:
        cumulative += row["n"]
        actual.append({"month": _month(row["day"]), "new": row["n"], "members": cumulative})
    return {
        "club": {"id": club["id"], "code": club["code"], "name": club["name"]},
        "members_by_status": dict(by_status), "members_by_plan": dict(by_plan), "members_by_branch": dict(by_branch),
        "new_per_month": actual, "renewals": renewals, "lapses_last_year": lapsed,
        "renewal_rates": renewal_rates,
        "fees_per_month": [{"month": _month(r["day"]), "kind": r["kind"], "count": r["n"], "amount": r["amount"]}
                           for r in fees],
        "checkins_by_merchant": {r["name"]: r["n"] for r in checkins_by_merchant},
        "checkins_by_benefit": {r["name"]: r["n"] for r in checkins_by_benefit},
        "projection": None if (monthly := club["projected_monthly_joins"]) is None else {
            "monthly_new": monthly, "months": PROJECTION_MONTHS, "fee": fee,
            "series": projection(fee, monthly=monthly)},
    }

