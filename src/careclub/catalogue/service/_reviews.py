"""What each service costs and earns, and how well it is done.

Costs are recorded per order with the work (§4.3.2): labour at an hourly rate (the minutes default to the
work records' sum on the ticket), materials, a subcontractor's fee. The loss review (§4.3.2–4.3.3) is one
set-based query per month: revenue (final charges settled in the month) against cost, per item; a
loss-making item raises a task for its site managers, whose decision is recorded — and stopping the service
goes to the general manager through the approval core (the `service_item` policy, as publishing does).

Quality (§4.5, §4.2.6): per item, department, staff member or subcontractor, from the orders' return
visits (satisfaction, bad ratings), reworks, complaints raised about an order, and the share done on time."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from careclub.approvals import service as approvals_service
from careclub.catalogue import rules
from careclub.catalogue.service._items import SUBJECT, get_item, projects_in_reach, unit_paths
from careclub.catalogue.service._orders import get_order
from careclub.catalogue.tables import LossReview, ServiceItem, ServiceOrder
from careclub.core import clock
from careclub.core.db import fetch, plan_each_call
from careclub.core.errors import AppError, Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, company_zone
from careclub.tickets import service as tickets

DECISIONS = ("more_residents", "new_fee", "stop", "other")
DECISION_NAMES = {"more_residents": N_("Win more residents for it"), "new_fee": N_("Propose a new fee standard"),
                  "stop": N_("Stop the service (the general manager approves)"), "other": N_("Other measures")}
REVIEW_STATUS_NAMES = {"open": N_("Waiting for the site manager"), "decided": N_("Decided"),
                       "stopping": N_("Stopping: in approval"), "stopped": N_("Service stopped")}
LOSS_TASK = N_("{item} lost money in {month}: decide what to do")
STOP_PREFIX = "stop:"
GROUPS = ("item", "department", "staff", "subcontractor")


# ---- costs -------------------------------------------------------------------------------------

async def work_minutes(ticket_id: uuid.UUID) -> int:
    rows = await fetch("SELECT coalesce(sum((data->>'minutes')::int), 0) AS m FROM ticket_event"
                       " WHERE ticket = $1 AND kind = 'work' AND data->>'minutes' IS NOT NULL", ticket_id)
    return int(rows[0]["m"])


async def record_costs(principal: Principal, order_id: uuid.UUID, *, labour_minutes: int | None = None,
                       labour_rate: int = 0, materials_cost: int = 0, subcontractor_fee: int = 0) -> dict[str, Any]:
    """Set the order's costs (a later entry replaces an earlier one). Those handling its ticket, or those
    who design the project's services, record them."""
    order = await get_order(principal, order_id, lock=True)
    path = order["project"]["path"] if order["project"] else None
    try:
        parts = (await tickets.readable(principal, order["ticket"]))[2]
    except NotFound:
        parts = set()
    if "handle" not in parts and not principal.covers(Perm.CATALOGUE_MANAGE, path):
        raise Forbidden("only those handling the order record its costs", code="forbidden")
    if labour_minutes is None:
        labour_minutes = await work_minutes(order["ticket"])
    problems: list[AppError] = []
    if not 0 <= labour_minutes <= 100_000:
        problems.append(ValidationFailed("minutes from 0 to 100000", field="labour_minutes"))
    for field, value in (("labour_rate", labour_rate), ("materials_cost", materials_cost),
                         ("subcontractor_fee", subcontractor_fee)):
        if not 0 <= value < 10**12:
            problems.append(ValidationFailed("%(field)s is out of range", field=field, params={"field": field}))
    if problems:
        raise FieldErrors(problems)
    total = (labour_minutes * labour_rate + 30) // 60 + materials_cost + subcontractor_fee
    await ServiceOrder.update({ServiceOrder.labour_minutes: labour_minutes, ServiceOrder.labour_rate: labour_rate,
                               ServiceOrder.materials_cost: materials_cost,
                               ServiceOrder.subcontractor_fee: subcontractor_fee, ServiceOrder.cost_total: total,
                               ServiceOrder.version: order["version"] + 1, ServiceOrder.updated_at: clock.now()}
                              ).where(ServiceOrder.id == order_id)
    await audit.record("catalogue.order.costs", "service_order", order_id,
                       after={"minutes": labour_minutes, "rate": labour_rate, "materials": materials_cost,
                              "subcontractor": subcontractor_fee, "total": total})
    return await get_order(principal, order_id)


# ---- the month's figures -----------------------------------------------------------------------

async def month_bounds(month: str) -> tuple[datetime, datetime]:
    """A YYYY-MM month of the company's calendar, as UTC instants [start, end)."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise FieldErrors([ValidationFailed("a month like 2026-11", field="month")]) from None
    problems: list[AppError] = []
    if not rules.check_day(problems, "month", first):
        raise FieldErrors(problems)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    zone = ZoneInfo(await company_zone())
    return datetime.combine(first, time(), zone), datetime.combine(following, time(), zone)


_READERS = (Perm.CATALOGUE_READ, Perm.CATALOGUE_MANAGE, Perm.FINANCE_READ)


async def item_figures(principal: Principal | None, month: str) -> list[dict[str, Any]]:
    """Per item: orders settled in the month, revenue, cost and margin — one grouped query over the month's
    settled orders (the settled_at index), whatever the number of orders."""
    start, end = await month_bounds(month)
    projects = None if principal is None else await projects_in_reach(principal, *_READERS)
    scope = "" if projects is None else " AND s.project_id = ANY($3::uuid[])"
    args: list[Any] = [start, end] + ([projects] if projects is not None else [])
    return await fetch(
        "SELECT i.id AS item, i.code, i.project_id, i.status AS item_status, v.name, f.orders, f.revenue, f.cost,"
        " f.revenue - f.cost AS margin FROM (SELECT s.item, count(*) AS orders,"
        " coalesce(sum(s.final_amount), 0)::bigint AS revenue, coalesce(sum(s.cost_total), 0)::bigint AS cost"
        " FROM service_order s WHERE s.settled_at >= $1 AND s.settled_at < $2 AND s.status = 'settled'"
        f"{scope} GROUP BY s.item) f JOIN service_item i ON i.id = f.item"
        " JOIN service_item_version v ON v.id = i.current_version ORDER BY margin, v.name", *args)


def previous_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return last.strftime("%Y-%m")


async def raise_loss_tasks(month: str | None = None) -> dict[str, int]:
    """The job's part: each item that lost money in the month (last month by default) gets one review and
    its site managers one notification; running it again changes nothing."""
    month = month or previous_month(await company_today())
    raised = 0
    for row in await item_figures(None, month):
        if row["margin"] >= 0:
            continue
        inserted = await fetch(
            "INSERT INTO service_loss_review (id, tenant_id, item, month, orders, revenue, cost, status, updated_at)"
            " VALUES (gen_random_uuid(), app_current_tenant(), $1, $2, $3, $4, $5, 'open', now())"
            " ON CONFLICT (tenant_id, item, month) DO NOTHING RETURNING id",
            row["item"], month, row["orders"], row["revenue"], row["cost"])
        if not inserted:
            continue
        raised += 1
        path = (await unit_paths(row["project_id"])).get(row["project_id"], {}).get("path") \
            if row["project_id"] else None
        managers = await tickets.people_with(Perm.CATALOGUE_MANAGE.value, path)
        await approvals_service.notify(managers, "catalogue_loss", LOSS_TASK,
                                       params={"item": row["name"], "month": month},
                                       link=f"/catalogue/reviews/{inserted[0]['id']}")
    return {"raised": raised}


async def get_review(principal: Principal | None, review_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    rows = await fetch("SELECT * FROM service_loss_review WHERE id = $1" + (" FOR UPDATE" if lock else ""),
                       review_id)
    if not rows:
        raise NotFound("no such loss review", code="loss_review_not_found")
    review = dict(rows[0])
    try:
        review["item_row"] = await get_item(principal, review["item"])
    except NotFound:
        raise NotFound("no such loss review", code="loss_review_not_found") from None
    return review


async def list_reviews(principal: Principal) -> list[dict[str, Any]]:
    projects = await projects_in_reach(principal, *_READERS)
    return await fetch(
        "SELECT r.id, r.month, r.status, r.decision, r.revenue, r.cost, r.orders, v.name, i.code"
        " FROM service_loss_review r JOIN service_item i ON i.id = r.item"
        " JOIN service_item_version v ON v.id = i.current_version"
        " WHERE $1::uuid[] IS NULL OR i.project_id IS NULL OR i.project_id = ANY($1::uuid[])"
        " ORDER BY r.status = 'open' DESC, r.month DESC LIMIT 500", projects)


async def decide_review(principal: Principal, review_id: uuid.UUID, *, decision: str, note: str) -> dict[str, Any]:
    """The site manager's decision (§4.3.3). Stopping goes to the general manager first: the review waits,
    `stopping`, and the service stops when the request is approved."""
    review = await get_review(principal, review_id, lock=True)
    item = review["item_row"]
    path = item["project"]["path"] if item["project"] else None
    if not principal.covers(Perm.CATALOGUE_MANAGE, path):
        raise Forbidden("only the site manager decides on a loss", code="forbidden")
    problems: list[AppError] = []
    if decision not in DECISIONS:
        problems.append(ValidationFailed("decision must be one of %(choices)s", field="decision",
                                         params={"choices": ", ".join(DECISIONS)}))
    note = (note or "").strip()
    if not note:
        problems.append(ValidationFailed("say why in the note", field="note"))
    elif len(note) > 2000:
        problems.append(ValidationFailed("%(field)s is at most %(limit)s characters", field="note",
                                         params={"field": "note", "limit": 2000}))
    if problems:
        raise FieldErrors(problems)
    if review["status"] not in ("open", "decided"):
        raise Conflict("this review is %(status)s", code="review_closed", params={"status": review["status"]})
    changes: dict[Any, Any] = {LossReview.decision: decision, LossReview.note: note,
                               LossReview.decided_by: principal.user_id, LossReview.decided_at: clock.now(),
                               LossReview.status: "decided", LossReview.updated_at: clock.now()}
    await LossReview.update(changes).where(LossReview.id == review_id)
    if decision == "stop":
        await LossReview.update({LossReview.status: "stopping"}).where(LossReview.id == review_id)
        request = await approvals_service.open_request(
            subject_type=SUBJECT, subject_id=f"{STOP_PREFIX}{review_id}", amount=0, category=None, in_plan=True,
            org_unit_id=item["project_id"], title=f"{item['code']} · {item['name']} · {review['month']}"[:300],
            requester_id=principal.user_id)
        await LossReview.update({LossReview.approval_request: request["id"]}).where(LossReview.id == review_id)
    await audit.record("catalogue.loss.decide", "service_loss_review", review_id,
                       after={"decision": decision, "note": note})
    return await get_review(principal, review_id)


async def stop_decided(review_id: uuid.UUID, approved: bool) -> None:
    """The general manager's answer on stopping a service."""
    rows = await fetch("SELECT * FROM service_loss_review WHERE id = $1 FOR UPDATE", review_id)
    if not rows:
        return
    review = rows[0]
    if approved:
        await ServiceItem.update({ServiceItem.status: "stopped", ServiceItem.updated_at: clock.now()}).where(
            ServiceItem.id == review["item"])
        await audit.record("catalogue.item.stopped", "service_item", review["item"], after={"review": str(review_id)})
    await LossReview.update({LossReview.status: "stopped" if approved else "open",
                             LossReview.updated_at: clock.now()}).where(LossReview.id == review_id)


# ---- quality -----------------------------------------------------------------------------------

# per grouping: the order's column the orders are counted by, and its label (looked up for the few groups after
# counting, not joined to every order)
_GROUP_SQL = {
    "item": ("s.item", "(SELECT v2.name FROM service_item i JOIN service_item_version v2"
                       " ON v2.id = i.current_version WHERE i.id = g.key)"),
    "department": ("s.ticket_department", "(SELECT name FROM org_unit WHERE id = g.key)"),
    "staff": ("s.ticket_assignee", "(SELECT display_name FROM app_user WHERE id = g.key)"),
    "subcontractor": ("s.item_subcontractor", "(SELECT name FROM service_subcontractor WHERE id = g.key)"),
}


async def quality(principal: Principal, *, since: date, until: date, by: str = "item") -> list[dict[str, Any]]:
    """Orders booked in [since, until] grouped by item, department, staff member or subcontractor: how
    many, rated, the mean satisfaction, bad ratings (≤ 2), reworks, complaints raised about them, and how many
    were done within their SLA. Each order carries what its ticket says and its complaints (kept by triggers:
    migrations/catalogue 2026-12-01T16:00:01), so this is one grouped scan of the period's orders in an index
    that holds those facts, in the projects the person's rights reach; the groups' names are looked up after."""
    if by not in GROUPS:
        raise FieldErrors([ValidationFailed("group by one of %(choices)s", field="by",
                                            params={"choices": ", ".join(GROUPS)})])
    problems: list[AppError] = []
    if rules.check_day(problems, "since", since) & rules.check_day(problems, "until", until) and until < since:
        problems.append(ValidationFailed("the period ends before it starts", field="until"))
    if problems:
        raise FieldErrors(problems)
    zone = ZoneInfo(await company_zone())
    start = datetime.combine(since, time(), zone)
    end = datetime.combine(until + timedelta(days=1), time(), zone)
    key, label = _GROUP_SQL[by]
    projects = await projects_in_reach(principal, *_READERS)
    args: list[Any] = [start, end]
    scope = ""
    if projects is not None:
        args.append(projects)
        scope = " AND s.project_id = ANY($3::uuid[])"
    # Planned for this period's size (a month: one process; a year, half a million orders: two workers): the generic
    # plan never went parallel (a year 330 ms instead of 190 at a million orders).
    await plan_each_call()
    return await fetch(
        f"SELECT g.*, coalesce({label}, '') AS label FROM (SELECT {key} AS key, count(*) AS orders,"
        " count(s.ticket_satisfaction) AS rated, round(avg(s.ticket_satisfaction), 2)::text AS satisfaction,"
        " count(*) FILTER (WHERE s.ticket_satisfaction <= 2) AS bad,"
        " count(*) FILTER (WHERE s.ticket_reworked) AS rework, coalesce(sum(s.complaints), 0)::int AS complaints,"
        " count(*) FILTER (WHERE NOT s.ticket_breached) AS on_time"
        f" FROM service_order s WHERE s.created_at >= $1 AND s.created_at < $2{scope} GROUP BY {key}) g"
        " ORDER BY g.orders DESC, label", *args)


async def complain(principal: Principal, order_id: uuid.UUID, *, title: str, description: str = "",
                   priority: str = "normal") -> dict[str, Any]:
    """A complaint about a service order (§4.5.2): a complaint ticket of the ticket core, tied to the order so
    the quality figures and the subcontractor's evaluation count it."""
    order = await get_order(principal, order_id)
    return await tickets.create_ticket(
        principal, type_code="complaint", title=title, description=description, unit_id=order["unit"],
        priority=priority, person_id=order["person"] if principal.kind != "member" else None,
        contact_name=order["ticket_row"]["contact_name"], contact_phone=order["ticket_row"]["contact_phone"],
        fields={"order": str(order_id), "order_number": order["number"]})
