"""Club statistics: members by status, plan and branch; new members per month; renewals and
lapses; check-ins per merchant and benefit; the membership-fee projection of seed 002 part 5
(300 new members a month for five years) beside the actual figures. Read-only aggregates
(raw SQL for GROUP BY with date_trunc, which Piccolo cannot express)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from careclub.clubs import rules
from careclub.clubs.service._setup import get_club
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm

PROJECTION_MONTHLY = 300
PROJECTION_MONTHS = 60


def projection(fee: int, *, monthly: int = PROJECTION_MONTHLY, months: int = PROJECTION_MONTHS
               ) -> list[dict[str, int]]:
    """Month by month: cumulative members (no one lapses) and the fees collected that month (new
    members pay on joining, everyone pays again on each anniversary)."""
    out = []
    for m in range(1, months + 1):
        payers = monthly * (1 + (m - 1) // 12)
        out.append({"month": m, "members": monthly * m, "fees": payers * fee})
    return out


def _in_paths(principal: Principal | None) -> tuple[str, list[str]]:
    if principal is None:
        return "", []
    paths = principal.scope(Perm.MEMBERS_READ)
    return " AND (" + " OR ".join(f"u.path LIKE ${i + 2}" for i in range(len(paths))) + ")" if paths else \
        " AND false", [p + "%" for p in paths]


async def club_stats(principal: Principal | None, club_id: uuid.UUID) -> dict[str, Any]:
    club = await get_club(club_id)
    scope_sql, scope_args = _in_paths(principal)
    now = clock.now()
    cards = await fetch(
        f"""SELECT c.state, c.valid_until, c.created_at, p.name AS plan, p.grace_days, u.name AS branch
            FROM club_card c JOIN club_plan p ON p.id = c.plan JOIN club_member m ON m.id = c.member
            JOIN org_unit u ON u.id = m.org_unit
            WHERE c.club = $1 AND c.state <> 'replaced'{scope_sql}""", club_id, *scope_args)
    by_status: Counter[str] = Counter()
    by_plan: Counter[str] = Counter()
    by_branch: Counter[str] = Counter()
    lapsed = 0
    for c in cards:
        status = rules.card_status(c["state"], c["valid_until"], c["grace_days"], now)
        by_status[status] += 1
        by_plan[c["plan"]] += 1
        by_branch[c["branch"]] += 1
        if status == "expired" and c["valid_until"] and c["valid_until"] > now - timedelta(days=365):
            lapsed += 1
    new_per_month = await fetch(
        f"""SELECT to_char(date_trunc('month', c.created_at), 'YYYY-MM') AS month, count(*) AS n
            FROM club_card c JOIN club_member m ON m.id = c.member JOIN org_unit u ON u.id = m.org_unit
            WHERE c.club = $1 AND c.replaces IS NULL{scope_sql} GROUP BY 1 ORDER BY 1""", club_id, *scope_args)
    fees = await fetch(
        f"""SELECT to_char(date_trunc('month', pe.paid_at), 'YYYY-MM') AS month, pe.kind, count(*) AS n,
                   sum(pe.amount) AS amount
            FROM club_period pe JOIN club_card c ON c.id = pe.card JOIN club_member m ON m.id = c.member
            JOIN org_unit u ON u.id = m.org_unit
            WHERE c.club = $1 AND pe.status = 'paid'{scope_sql} GROUP BY 1, 2 ORDER BY 1""", club_id, *scope_args)
    renewals = sum(r["n"] for r in fees if r["kind"] == "renewal")
    # Check-ins count for the branches the caller serves, like every other figure here: by the
    # branch of the member who checked in.
    checkins_by_merchant = await fetch(
        f"""SELECT mc.name, count(*) AS n FROM club_checkin ch JOIN club_merchant mc ON mc.id = ch.merchant
            JOIN club_member m ON m.id = ch.member JOIN org_unit u ON u.id = m.org_unit
            WHERE mc.club = $1{scope_sql} GROUP BY 1 ORDER BY 2 DESC""", club_id, *scope_args)
    checkins_by_benefit = await fetch(
        f"""SELECT coalesce(b.name, '—') AS name, count(*) AS n FROM club_checkin ch
            JOIN club_merchant mc ON mc.id = ch.merchant LEFT JOIN club_benefit b ON b.id = ch.benefit
            JOIN club_member m ON m.id = ch.member JOIN org_unit u ON u.id = m.org_unit
            WHERE mc.club = $1{scope_sql} GROUP BY 1 ORDER BY 2 DESC""", club_id, *scope_args)
    # Renewal and lapse by the month a paid term ended: renewed when a later paid period starts at or after
    # that end (on time, stacked on it, or late), lapsed when none did and the grace days have run out.
    # Set-based: one pass over the periods, the EXISTS served by the (tenant, card) index.
    zone = await fetch("SELECT timezone FROM tenant WHERE id = app_current_tenant()")
    renewal_rates = await fetch(
        f"""SELECT to_char(date_trunc('month', pe.ends_at AT TIME ZONE ${len(scope_args) + 2}), 'YYYY-MM') AS month,
                   count(*) AS due,
                   count(*) FILTER (WHERE later.card IS NOT NULL) AS renewed,
                   count(*) FILTER (WHERE later.card IS NULL
                                    AND pe.ends_at + make_interval(days => pl.grace_days) < now()) AS lapsed
            FROM club_period pe JOIN club_card c ON c.id = pe.card JOIN club_plan pl ON pl.id = c.plan
            JOIN club_member m ON m.id = c.member JOIN org_unit u ON u.id = m.org_unit
            LEFT JOIN LATERAL (SELECT n.card FROM club_period n WHERE n.card = pe.card AND n.status = 'paid'
                               AND n.id <> pe.id AND n.starts_at >= pe.ends_at LIMIT 1) later ON TRUE
            WHERE c.club = $1 AND pe.status = 'paid' AND pe.ends_at < now() + interval '31 days'
              AND pe.ends_at >= now() - interval '24 months' AND c.state NOT IN ('cancelled', 'replaced'){scope_sql}
            GROUP BY 1 ORDER BY 1""", club_id, *scope_args, zone[0]["timezone"] if zone else "UTC")
    plans = await fetch("SELECT fee FROM club_plan WHERE club = $1 AND active ORDER BY fee DESC LIMIT 1", club_id)
    fee = plans[0]["fee"] if plans else 0
    cumulative, actual = 0, []
    for row in new_per_month:
        cumulative += row["n"]
        actual.append({"month": row["month"], "new": row["n"], "members": cumulative})
    return {
        "club": {"id": club["id"], "code": club["code"], "name": club["name"]},
        "members_by_status": dict(by_status), "members_by_plan": dict(by_plan), "members_by_branch": dict(by_branch),
        "new_per_month": actual, "renewals": renewals, "lapses_last_year": lapsed,
        "renewal_rates": [{"month": r["month"], "due": r["due"], "renewed": r["renewed"], "lapsed": r["lapsed"]}
                          for r in renewal_rates],
        "fees_per_month": [{"month": r["month"], "kind": r["kind"], "count": r["n"], "amount": r["amount"]}
                           for r in fees],
        "checkins_by_merchant": {r["name"]: r["n"] for r in checkins_by_merchant},
        "checkins_by_benefit": {r["name"]: r["n"] for r in checkins_by_benefit},
        "projection": {"monthly_new": PROJECTION_MONTHLY, "months": PROJECTION_MONTHS, "fee": fee,
                       "series": projection(fee)},
    }


def chart_svg(stats: dict[str, Any], *, width: int = 360, height: int = 200) -> str:
    """Projected cumulative members (line) beside the actual ones (dots), month by month from the
    club's first member: a small server-drawn SVG, no script."""
    series = stats["projection"]["series"]
    actual = stats["new_per_month"]
    months = max(len(series), len(actual), 1)
    top = max([p["members"] for p in series] + [a["members"] for a in actual] + [1])
    pad = 28

    def x(i: int) -> float:
        return pad + (width - pad - 6) * i / max(months - 1, 1)

    def y(v: int) -> float:
        return height - pad - (height - pad - 8) * v / top

    proj = " ".join(f"{x(i):.1f},{y(p['members']):.1f}" for i, p in enumerate(series))
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(a["members"]):.1f}" r="2.5" fill="#c5221f"/>'
                   for i, a in enumerate(actual))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'class="club-chart"><line x1="{pad}" y1="{height - pad}" x2="{width}" y2="{height - pad}" '
            f'stroke="#999"/><line x1="{pad}" y1="0" x2="{pad}" y2="{height - pad}" stroke="#999"/>'
            f'<text x="2" y="12" font-size="10">{top}</text>'
            f'<text x="{pad}" y="{height - 10}" font-size="10">1</text>'
            f'<text x="{width - 24}" y="{height - 10}" font-size="10">{months}</text>'
            f'<polyline fill="none" stroke="#1a73e8" stroke-width="2" points="{proj}"/>{dots}</svg>')
