"""The staff lists of cards, check-ins and merchants: newest first, a keyset page at a time after
(created_at, id), with a total counted no further than a cap. The same readers feed the pages and
their Excel downloads (`web/exports.keyset_batches`), so a download holds exactly the filtered list.

Cards and check-ins are cut to the caller's branches (members.read) through the member's org unit,
like the member list. Check-ins are partitioned by month on `created_at`: a date range is a range
on `created_at`, and a keyset cursor adds an upper bound on it too, so only the partitions that can
hold the page are read. Raw SQL: row comparisons for the keyset and the joins in one statement.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from careclub.clubs import rules
from careclub.clubs.service._members import CARD_STATUSES, _Query, _status_sql
from careclub.core import clock
from careclub.core.db import fetch, like_escape
from careclub.core.errors import ValidationFailed
from careclub.core.paging import CAP, capped
from careclub.core.principal import Principal
from careclub.platform import service as platform_service
from careclub.platform.permissions import Perm

Keyset = tuple[datetime, uuid.UUID] | None


async def _page(select: str, table: str, joins: str, query: _Query, after: Keyset, limit: int,
                *, pruned: bool = False) -> list[dict[str, Any]]:
    """A keyset page of `table` (aliased as its first letter after the name: "club_card c") with its
    filters, then the names joined to those rows only. The page is a subquery with its own ORDER BY
    and LIMIT (which PostgreSQL never flattens), so the rows come from the (tenant, created_at, id)
    index in order whatever the planner guesses about the joins."""
    query = replace(query, args=list(query.args))
    alias = table.split()[-1]
    where = list(query.where)
    if after is not None:
        at, ident = query.arg(after[0]), query.arg(after[1])
        where.append(f"({alias}.created_at, {alias}.id) < ({at}, {ident})")
        if pruned:  # the same bound as a plain range, which partition pruning understands
            where.append(f"{alias}.created_at <= {at}")
    order = f"{alias}.created_at DESC, {alias}.id DESC"
    rows = await fetch(f"SELECT {select} FROM (SELECT * FROM {table} WHERE {' AND '.join(where) or 'TRUE'} "
                       f"ORDER BY {order} LIMIT {query.arg(limit)}) AS {alias} {joins} ORDER BY {order}",
                       *query.args)
    return [dict(r) for r in rows]


async def _count(source: str, query: _Query, cap: int) -> tuple[int, bool]:
    query = replace(query, args=list(query.args))
    rows = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM {source} WHERE {' AND '.join(query.where) or 'TRUE'} "
                       f"LIMIT {query.arg(cap + 1)}) AS capped", *query.args)
    return capped(int(rows[0]["n"]), cap)


async def _scoped(principal: Principal, query: _Query, member_column: str) -> None:
    """Only rows of members in the caller's branches (nothing to add for a company-wide reader)."""
    units = await platform_service.units_in_scope(principal, Perm.MEMBERS_READ)
    if units is not None:
        query.where.append(f"EXISTS (SELECT 1 FROM club_member sm WHERE sm.id = {member_column} "
                           f"AND sm.org_unit = ANY({query.arg(units)}::uuid[]))")


# ---- cards ----------------------------------------------------------------------------------

_CARD_SELECT = """c.id, c.card_no, c.state, c.valid_from, c.valid_until, c.policy_no, c.created_at,
    c.club, cl.name AS "club.name", c.plan, p.name AS "plan.name", p.grace_days AS "plan.grace_days",
    c.member, m.name AS "member.name", m.phone AS "member.phone", u.name AS "org_unit.name",
    v.plate AS "vehicle.plate\""""
_CARD_JOINS = """JOIN club_plan p ON p.id = c.plan JOIN club cl ON cl.id = c.club
    JOIN club_member m ON m.id = c.member JOIN org_unit u ON u.id = m.org_unit
    LEFT JOIN club_vehicle v ON v.id = c.vehicle"""


async def _card_query(principal: Principal, *, club_id: uuid.UUID | None, plan_id: uuid.UUID | None,
                      status: str | None, card_no: str | None) -> _Query:
    query = _Query()
    await _scoped(principal, query, "c.member")
    if club_id:
        query.where.append(f"c.club = {query.arg(club_id)}")
    if plan_id:
        query.where.append(f"c.plan = {query.arg(plan_id)}")
    if card_no:
        query.where.append(f"c.card_no = {query.arg(card_no.strip().upper())}")
    if status:
        if status not in CARD_STATUSES:
            raise ValidationFailed("status must be one of %(choices)s", field="status",
                                   params={"choices": ', '.join(CARD_STATUSES)})
        query.where.append(f"EXISTS (SELECT 1 FROM club_plan p WHERE p.id = c.plan AND {_status_sql(status, query)})")
    return query


def _card_row(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    row["status"] = rules.card_status(row["state"], row["valid_until"], row["plan.grace_days"], now)
    return row


async def card_list(principal: Principal, *, club_id: uuid.UUID | None = None, plan_id: uuid.UUID | None = None,
                    status: str | None = None, card_no: str | None = None, after: Keyset = None,
                    limit: int = 50) -> list[dict[str, Any]]:
    """Cards in the caller's branches, newest first; `status` as computed from the dates now."""
    query = await _card_query(principal, club_id=club_id, plan_id=plan_id, status=status, card_no=card_no)
    rows = await _page(_CARD_SELECT, "club_card c", _CARD_JOINS, query, after, limit)
    now = clock.now()
    return [_card_row(r, now) for r in rows]


async def card_page(principal: Principal, *, club_id: uuid.UUID | None = None, plan_id: uuid.UUID | None = None,
                    status: str | None = None, card_no: str | None = None, after: Keyset = None,
                    limit: int = 50) -> tuple[list[dict[str, Any]], int, bool]:
    """`card_list` with its total (up to the cap) and whether there are more than that."""
    query = await _card_query(principal, club_id=club_id, plan_id=plan_id, status=status, card_no=card_no)
    rows = await _page(_CARD_SELECT, "club_card c", _CARD_JOINS, query, after, limit)
    now = clock.now()
    total, more = await _count("club_card c", query, CAP)
    return [_card_row(r, now) for r in rows], total, more


# ---- check-ins ------------------------------------------------------------------------------

_CHECKIN_SELECT = """k.id, k.created_at, k.amount, k.discount_amount, k.static, k.card, c.card_no, k.member,
    m.name AS "member.name", k.merchant, mc.name AS "merchant.name", k.benefit, b.name AS "benefit.name",
    p.name AS "plan.name", u.name AS "org_unit.name\""""
_CHECKIN_JOINS = """JOIN club_card c ON c.id = k.card JOIN club_plan p ON p.id = c.plan
    JOIN club_member m ON m.id = k.member JOIN org_unit u ON u.id = m.org_unit
    JOIN club_merchant mc ON mc.id = k.merchant LEFT JOIN club_benefit b ON b.id = k.benefit"""


async def _checkin_query(principal: Principal, *, club_id: uuid.UUID | None, plan_id: uuid.UUID | None,
                         merchant_id: uuid.UUID | None, since: datetime | None,
                         until: datetime | None) -> _Query:
    query = _Query()
    await _scoped(principal, query, "k.member")
    # the time range first: it is what prunes the monthly partitions
    if since:
        query.where.append(f"k.created_at >= {query.arg(since)}")
    if until:
        query.where.append(f"k.created_at < {query.arg(until)}")
    if merchant_id:
        query.where.append(f"k.merchant = {query.arg(merchant_id)}")
    card = []
    if club_id:
        card.append(f"sc.club = {query.arg(club_id)}")
    if plan_id:
        card.append(f"sc.plan = {query.arg(plan_id)}")
    if card:
        query.where.append(f"EXISTS (SELECT 1 FROM club_card sc WHERE sc.id = k.card AND {' AND '.join(card)})")
    return query


async def checkin_list(principal: Principal, *, club_id: uuid.UUID | None = None, plan_id: uuid.UUID | None = None,
                       merchant_id: uuid.UUID | None = None, since: datetime | None = None,
                       until: datetime | None = None, after: Keyset = None, limit: int = 50) -> list[dict[str, Any]]:
    """Check-ins of members in the caller's branches, newest first, `since` ≤ created_at < `until`."""
    query = await _checkin_query(principal, club_id=club_id, plan_id=plan_id, merchant_id=merchant_id,
                                 since=since, until=until)
    return await _page(_CHECKIN_SELECT, "club_checkin k", _CHECKIN_JOINS, query, after, limit, pruned=True)


async def checkin_page(principal: Principal, *, club_id: uuid.UUID | None = None, plan_id: uuid.UUID | None = None,
                       merchant_id: uuid.UUID | None = None, since: datetime | None = None,
                       until: datetime | None = None, after: Keyset = None,
                       limit: int = 50) -> tuple[list[dict[str, Any]], int, bool]:
    query = await _checkin_query(principal, club_id=club_id, plan_id=plan_id, merchant_id=merchant_id,
                                 since=since, until=until)
    rows = await _page(_CHECKIN_SELECT, "club_checkin k", _CHECKIN_JOINS, query, after, limit, pruned=True)
    total, more = await _count("club_checkin k", query, CAP)
    return rows, total, more


# ---- merchants ------------------------------------------------------------------------------

_MERCHANT_SELECT = """mc.id, mc.created_at, mc.club, cl.name AS "club.name", mc.code, mc.name, mc.category,
    mc.address, mc.contact_name, mc.contact_phone, mc.offer_kind, mc.offer_value, mc.offer_text, mc.is_open"""
_MERCHANT_JOINS = "JOIN club cl ON cl.id = mc.club"


def _merchant_query(*, club_id: uuid.UUID | None, is_open: bool | None, q: str | None) -> _Query:
    query = _Query()
    if club_id:
        query.where.append(f"mc.club = {query.arg(club_id)}")
    if is_open is not None:
        query.where.append(f"mc.is_open = {query.arg(is_open)}")
    if q and q.strip():
        # a company has tens of merchants, not millions: a plain match on name, code and category
        needle = query.arg("%" + like_escape(q.strip().lower()) + "%")
        query.where.append(f"(lower(mc.name) LIKE {needle} OR lower(mc.code) LIKE {needle} "
                           f"OR lower(mc.category) LIKE {needle})")
    return query


async def merchant_list(*, club_id: uuid.UUID | None = None, is_open: bool | None = None, q: str | None = None,
                        after: Keyset = None, limit: int = 50) -> list[dict[str, Any]]:
    """The tenant's merchants (the whole network: merchants belong to no branch), newest first."""
    query = _merchant_query(club_id=club_id, is_open=is_open, q=q)
    return await _page(_MERCHANT_SELECT, "club_merchant mc", _MERCHANT_JOINS, query, after, limit)


async def merchant_page(*, club_id: uuid.UUID | None = None, is_open: bool | None = None, q: str | None = None,
                        after: Keyset = None, limit: int = 50) -> tuple[list[dict[str, Any]], int, bool]:
    query = _merchant_query(club_id=club_id, is_open=is_open, q=q)
    rows = await _page(_MERCHANT_SELECT, "club_merchant mc", _MERCHANT_JOINS, query, after, limit)
    total, more = await _count("club_merchant mc", query, CAP)
    return rows, total, more
