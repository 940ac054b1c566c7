"""The settlement calendar, kept by the daily job: a month with confirmed payments must be compiled and
submitted by the property company's finance once it is over (§3.2.4 3): "在月底前提交"); a settlement still in
approval three days before its due date (the 22nd) is brought to the people deciding it. The approval core
reminds and escalates each late step by its own deadlines; this adds the month's view. Each reminder is sent
once per project and month (the inbox is looked up first), so the job may run any number of times."""

from __future__ import annotations

import uuid

from careclub.approvals import service as approvals_service
from careclub.approvals.tables import ApprovalStep, Notification
from careclub.core.db import fetch
from careclub.core.i18n import N_
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today
from careclub.settlements import rules

DUE_SOON_DAYS = 3


async def holders_at(project_path: str, perm: Perm) -> list[uuid.UUID]:
    """Active people holding `perm` at the project or above it."""
    rows = await fetch(
        'SELECT DISTINCT g."user" AS id FROM role_grant g JOIN role r ON r.id = g.role '
        'JOIN org_unit u ON u.id = g.org_unit JOIN app_user a ON a.id = g."user" '
        "WHERE $1 = ANY(r.permissions) AND starts_with($2, u.path) AND a.is_active", perm.value, project_path)
    return [r["id"] for r in rows]


async def _once(kind: str, link: str) -> bool:
    return not await Notification.exists().where(Notification.kind == kind, Notification.link == link)


async def remind_due() -> dict[str, int]:
    today = await company_today()
    this_month = rules.month_start(today)
    counts = {"to_submit": 0, "due_soon": 0}
    # months over with confirmed payments not yet in a submitted settlement
    open_months = await fetch(
        "SELECT p.project_id, p.month, u.code, u.path FROM settlement_payment p JOIN org_unit u ON u.id = p.project_id "
        "LEFT JOIN settlement s ON s.project_id = p.project_id AND s.month = p.month "
        "WHERE p.status = 'confirmed' AND p.settlement IS NULL AND p.month < $1 "
        "AND (s.id IS NULL OR s.status IN ('draft', 'returned', 'rejected')) "
        "GROUP BY p.project_id, p.month, u.code, u.path", this_month)
    for row in open_months:
        month = rules.month_text(row["month"])
        link = f"/settlements/projects/{row['code']}?month={month}"
        if not await _once("settlement_to_submit", link):
            continue
        people = await holders_at(row["path"], Perm.SETTLEMENTS_PREPARE)
        await approvals_service.notify(people, "settlement_to_submit", N_("Submit the settlement of {project} {month}"),
                                       params={"project": row["code"], "month": month},
                                       body=N_("Confirmed payments of {month} wait to be settled."),
                                       body_params={"month": month}, link=link)
        counts["to_submit"] += 1
    due = await fetch("SELECT s.id, s.month, s.due_on, s.approval_request, u.code FROM settlement s "
                      "JOIN org_unit u ON u.id = s.project_id WHERE s.status = 'in_review' AND s.due_on <= $1",
                      today.fromordinal(today.toordinal() + DUE_SOON_DAYS))
    for row in due:
        link = f"/settlements/{row['id']}"
        if not await _once("settlement_due_soon", link):
            continue
        steps = await ApprovalStep.select(ApprovalStep.open_ids).where(
            ApprovalStep.request == row["approval_request"], ApprovalStep.status == "active")
        people = [u for s in steps for u in s["open_ids"]]
        await approvals_service.notify(people, "settlement_due_soon",
                                       N_("The settlement of {project} {month} is due on {due}"),
                                       params={"project": row["code"], "month": rules.month_text(row["month"]),
                                               "due": row["due_on"].isoformat()}, link=link)
        counts["due_soon"] += 1
    return counts



