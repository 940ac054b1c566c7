"""The month's settlement per project: confirmed cost by type, corrections carried in, the management fee,
the countersign chain on the approval core, and its due date (the 22nd of the next month)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from careclub.approvals import service as approvals_service
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import Conflict, FieldErrors, NotFound, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, company_zone
from careclub.platform.tables import OrgUnit
from careclub.settlements import rules
from careclub.settlements.service._common import lock_project, may_read_record, project_unit, reach, stage_of, terms
from careclub.settlements.tables import Settlement, SettlementAdjustment, SettlementPayment

OPEN = ("draft", "returned", "rejected")
# What a settlement's budget is compared with: every approved form of the month but the annual one
MONTH_KINDS = ("monthly", "unplanned", "proxy_purchase", "sales_office", "addition")


async def _sums(project_id: uuid.UUID, month: date, settlement_id: uuid.UUID | None) -> dict[str, Any]:
    """What the month takes: confirmed payments of it and earlier months not yet settled, and the corrections
    carried into it; both counted in SQL, never row by row."""
    taken = settlement_id or uuid.uuid4()
    by_type = {t: 0 for t in rules.COST_TYPES}
    count = 0
    for r in await fetch("SELECT cost_type, sum(amount) AS amount, count(*) AS n FROM settlement_payment "
                         "WHERE project_id = $1 AND month <= $2 AND status = 'confirmed' "
                         "AND (settlement IS NULL OR settlement = $3) GROUP BY cost_type", project_id, month, taken):
        by_type[r["cost_type"]] = int(r["amount"])
        count += int(r["n"])
    adjustments = await fetch("SELECT coalesce(sum(amount), 0) AS amount FROM settlement_adjustment WHERE "
                              "project_id = $1 AND month <= $2 AND (settlement IS NULL OR settlement = $3)",
                              project_id, month, taken)
    # The budget it is held against: the month's approved forms and the forms of every payment it takes (a
    # payment of an earlier month, or against an earlier month's line, brings its own budget). Payments never
    # exceed their lines, so a month goes above budget only through the corrections carried into it.
    budget = await fetch("SELECT coalesce(sum(total), 0) AS amount FROM settlement_budget WHERE project_id = $1 "
                         "AND status = 'approved' AND kind = ANY($3) AND (month = $2 OR id IN ("
                         "SELECT budget FROM settlement_payment WHERE project_id = $1 AND month <= $2 "
                         "AND status = 'confirmed' AND (settlement IS NULL OR settlement = $4)))", project_id, month,
                         list(MONTH_KINDS), taken)
    waiting = await fetch("SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount FROM settlement_payment "
                          "WHERE project_id = $1 AND month <= $2 AND status = 'recorded'", project_id, month)
    return {"by_type": by_type, "count": count, "adjustments": int(adjustments[0]["amount"]),
            "budget_total": int(budget[0]["amount"]), "waiting_count": int(waiting[0]["n"]),
            "waiting_amount": int(waiting[0]["amount"])}


async def compile_settlement(principal: Principal | None, *, project: uuid.UUID | str, month: date) -> dict[str, Any]:
    """Compile (or compile again) the month's settlement from the confirmed payments. A settlement in review
    or approved is not touched: an approved one changes only through adjustments in a later month."""
    unit = await project_unit(principal, project, Perm.SETTLEMENTS_PREPARE)
    month = rules.month_start(month)
    if month > rules.month_start(await company_today()):
        raise ValidationFailed("%(month)s has not begun: a month is settled once it has costs",
                               field="month", code="month_in_future", params={"month": rules.month_text(month)})
    await lock_project(unit["id"])
    existing = await Settlement.select().where(Settlement.project_id == unit["id"], Settlement.month == month).first()
    if existing is not None and existing["status"] not in OPEN:
        raise Conflict("the settlement of %(month)s is %(status)s and does not change", code="settlement_locked",
                       params={"month": rules.month_text(month), "status": existing["status"]})
    sums = await _sums(unit["id"], month, existing["id"] if existing else None)
    settings = await terms()
    costs = sums["by_type"]
    confirmed = sum(costs.values()) + sums["adjustments"]
    fee = rules.management_fee(confirmed, settings["fee_rate_bp"])
    values = {"cost_staff": costs["staff"], "cost_admin": costs["admin"], "cost_purchase": costs["purchase"],
              "cost_special": costs["special"], "adjustments": sums["adjustments"], "confirmed_cost": confirmed,
              "budget_total": sums["budget_total"], "fee_rate_bp": settings["fee_rate_bp"], "management_fee": fee,
              "total": confirmed + fee, "payment_count": sums["count"],
              "due_on": rules.due_on(month, settings["due_day"]), "stage": await stage_of(unit["id"], None),
              "compiled_by": principal.user_id if principal else None,
              "compiled_by_name": principal.display_name if principal else "", "compiled_at": clock.now()}
    if existing is None:
        row = Settlement(project_id=unit["id"], month=month, number=f"{unit['code']}-{rules.month_text(month)}"[:40],
                         status="draft", **values)
        await row.save()
        settlement_id = row.id
    else:
        settlement_id = existing["id"]
        status = "draft" if existing["status"] == "rejected" else existing["status"]
        await Settlement.update({getattr(Settlement, k): v for k, v in {**values, "status": status}.items()}).where(
            Settlement.id == settlement_id)
    # Which payments and corrections it took: released first, so a recompiled month takes exactly today's.
    await fetch("UPDATE settlement_payment SET settlement = NULL WHERE settlement = $1", settlement_id)
    await fetch("UPDATE settlement_adjustment SET settlement = NULL WHERE settlement = $1", settlement_id)
    await fetch("UPDATE settlement_payment SET settlement = $1 WHERE project_id = $2 AND month <= $3 "
                "AND status = 'confirmed' AND settlement IS NULL", settlement_id, unit["id"], month)
    await fetch("UPDATE settlement_adjustment SET settlement = $1 WHERE project_id = $2 AND month <= $3 "
                "AND settlement IS NULL", settlement_id, unit["id"], month)
    await audit.record("settlements.settlement.compile", "settlement", settlement_id,
                       after={"confirmed_cost": confirmed, "management_fee": fee, "payments": sums["count"]})
    return await get_settlement(principal, settlement_id)


async def _lock(principal: Principal | None, settlement_id: uuid.UUID, perm: Perm | None) -> dict[str, Any]:
    rows = await fetch("SELECT id FROM settlement WHERE id = $1 FOR UPDATE", settlement_id)
    row = await Settlement.select().where(Settlement.id == settlement_id).first() if rows else None
    if row is None:
        raise NotFound("no such settlement", code="settlement_not_found")
    await project_unit(principal, row["project_id"], perm)
    return row


async def submit_settlement(principal: Principal, settlement_id: uuid.UUID) -> dict[str, Any]:
    """Compile the month once more from what is confirmed now and send it round the countersign chain; a
    month above its approved budget also goes to the regional head (§3.2.6.2)."""
    row = await _lock(principal, settlement_id, Perm.SETTLEMENTS_PREPARE)
    if row["status"] not in ("draft", "returned"):
        raise Conflict("the settlement of %(month)s is %(status)s", code="settlement_locked",
                       params={"month": rules.month_text(row["month"]), "status": row["status"]})
    # Submitted by the month's end (§3.2.4 3)), not before its last day: a month submitted early would refuse
    # every payment of the days it has left (they belong to it, and it is closed).
    last_day = rules.next_month(row["month"]) - timedelta(days=1)
    if await company_today() < last_day:
        raise Conflict("%(month)s is submitted from its last day, %(day)s: payments of the month may still come",
                       code="month_not_over", params={"month": rules.month_text(row["month"]),
                                                      "day": last_day.isoformat()})
    fresh = await compile_settlement(principal, project=row["project_id"], month=row["month"])
    if fresh["payment_count"] == 0 and fresh["adjustments"] == 0:
        raise Conflict("the settlement of %(month)s has no confirmed payment: nothing to settle",
                       code="nothing_to_settle", params={"month": fresh["month"]})
    category = rules.settlement_category(fresh["stage"], fresh["confirmed_cost"], fresh["budget_total"])
    now = clock.now()
    await Settlement.update({Settlement.status: "in_review", Settlement.submitted_at: now}).where(
        Settlement.id == settlement_id)
    if row["status"] == "returned" and row["approval_request"]:
        await approvals_service.resubmit(request_id=row["approval_request"], actor_id=principal.user_id,
                                         amount=abs(fresh["total"]))
    else:
        # a month that only gives money back (corrections above its cost) is decided by the size of it
        title = f"{fresh['project']} {fresh['month']} 物业前期介入费用结算"
        request = await approvals_service.open_request(
            subject_type=rules.SUBJECT_SETTLEMENT, subject_id=str(settlement_id), amount=abs(fresh["total"]),
            category=category, in_plan=category != "over_budget", org_unit_id=row["project_id"], title=title,
            requester_id=principal.user_id)
        await Settlement.update({Settlement.approval_request: request["id"]}).where(Settlement.id == settlement_id)
    await audit.record("settlements.settlement.submit", "settlement", settlement_id,
                       after={"category": category, "total": fresh["total"]})
    return await get_settlement(principal, settlement_id)


async def on_approved(request: dict[str, Any]) -> None:
    settlement_id = uuid.UUID(request["subject_id"])
    row = await Settlement.select(Settlement.due_on).where(Settlement.id == settlement_id).first()
    assert row is not None
    now = clock.now()
    local = clock.local(now, await company_zone())
    assert local is not None
    await Settlement.update({Settlement.status: "approved", Settlement.approved_at: now,
                             Settlement.late: local.date() > row["due_on"]}).where(Settlement.id == settlement_id)
    await audit.record("settlements.settlement.approved", "settlement", settlement_id,
                       after={"late": local.date() > row["due_on"]})


async def on_rejected(request: dict[str, Any]) -> None:
    settlement_id = uuid.UUID(request["subject_id"])
    await _release(settlement_id, "rejected")


async def on_returned(request: dict[str, Any]) -> None:
    await Settlement.update({Settlement.status: "returned"}).where(Settlement.id == uuid.UUID(request["subject_id"]))


async def on_withdrawn(request: dict[str, Any]) -> None:
    """Withdrawn by its author: a draft again, its payments and corrections back with the month."""
    await _release(uuid.UUID(request["subject_id"]), "draft")


async def _release(settlement_id: uuid.UUID, status: str) -> None:
    """A month out of its chain (rejected, or withdrawn: a draft again): its payments and corrections go back to
    the month, and compiled again they are settled again."""
    await Settlement.update({Settlement.status: status, Settlement.approval_request: None}).where(
        Settlement.id == settlement_id)
    await fetch("UPDATE settlement_payment SET settlement = NULL WHERE settlement = $1", settlement_id)
    await fetch("UPDATE settlement_adjustment SET settlement = NULL WHERE settlement = $1", settlement_id)
    await audit.record(f"settlements.settlement.{'rejected' if status == 'rejected' else 'withdrawn'}",
                       "settlement", settlement_id, after={})


def settlement_link(subject_id: str) -> str:
    return f"/settlements/{subject_id}"


async def withdraw_settlement(principal: Principal, settlement_id: uuid.UUID) -> dict[str, Any]:
    row = await _lock(principal, settlement_id, Perm.SETTLEMENTS_PREPARE)
    if row["status"] not in ("in_review", "returned") or not row["approval_request"]:
        raise Conflict("only a settlement in review is withdrawn", code="settlement_not_in_review")
    await approvals_service.withdraw(request_id=row["approval_request"], actor_id=principal.user_id)
    return await get_settlement(principal, settlement_id)


async def add_adjustment(principal: Principal, settlement_id: uuid.UUID, *, cost_type: str, amount: int,
                         reason: str) -> dict[str, Any]:
    """Correct an approved settlement: the correction (either sign) goes into the next month's settlement,
    the approved one stays as it was."""
    problems: list[Any] = []
    if cost_type not in rules.COST_TYPES:
        problems.append(ValidationFailed("cost_type must be one of %(choices)s", field="cost_type",
                                         code="invalid_choice", params={"choices": ", ".join(rules.COST_TYPES)}))
    if amount == 0:
        problems.append(ValidationFailed("amount must not be zero", field="amount", code="invalid_amount"))
    if not reason.strip():
        problems.append(ValidationFailed("say why the settlement is corrected", field="reason",
                                         code="reason_required"))
    if problems:
        raise FieldErrors(problems)
    row = await Settlement.select().where(Settlement.id == settlement_id).first()
    if row is None:
        raise NotFound("no such settlement", code="settlement_not_found")
    await project_unit(principal, row["project_id"], Perm.SETTLEMENTS_PREPARE)
    if row["status"] != "approved":
        raise Conflict("only an approved settlement is corrected; change this one before it is approved",
                       code="settlement_not_approved")
    await lock_project(row["project_id"])
    # into the first later month still open (one submitted or approved meanwhile takes nothing more)
    target = rules.next_month(row["month"])
    closed = {r["month"] for r in await Settlement.select(Settlement.month).where(
        Settlement.project_id == row["project_id"], Settlement.month > row["month"],
        Settlement.status.is_in(["in_review", "approved"]))}
    while target in closed:
        target = rules.next_month(target)
    adjustment = SettlementAdjustment(project_id=row["project_id"], corrects=settlement_id,
                                      month=target, cost_type=cost_type, amount=amount,
                                      reason=reason.strip(), created_by=principal.user_id,
                                      created_by_name=principal.display_name)
    await adjustment.save()
    await audit.record("settlements.adjustment", "settlement", settlement_id,
                       after={"amount": amount, "cost_type": cost_type, "reason": reason.strip()})
    return await get_settlement(principal, settlement_id)


async def remove_adjustment(principal: Principal, adjustment_id: uuid.UUID) -> dict[str, Any]:
    """Take back a correction made by mistake, while no settlement submitted for approval has taken it (a month
    compiled as a draft lets it go; one in approval or approved keeps it, and a new correction undoes it)."""
    rows = await fetch("SELECT id FROM settlement_adjustment WHERE id = $1 FOR UPDATE", adjustment_id)
    row = await SettlementAdjustment.select().where(SettlementAdjustment.id == adjustment_id).first() if rows else None
    if row is None:
        raise NotFound("no such correction", code="adjustment_not_found")
    await project_unit(principal, row["project_id"], Perm.SETTLEMENTS_PREPARE)
    await lock_project(row["project_id"])
    taker = await Settlement.select(Settlement.project_id, Settlement.status, Settlement.month).where(
        Settlement.id == row["settlement"]).first() if row["settlement"] is not None else None
    if taker is not None and taker["status"] in ("in_review", "approved"):
        raise Conflict("the settlement of %(month)s has taken this correction and is %(status)s: correct it "
                       "with another correction", code="adjustment_settled",
                       params={"month": rules.month_text(taker["month"]), "status": taker["status"]})
    await SettlementAdjustment.delete().where(SettlementAdjustment.id == adjustment_id)
    await audit.record("settlements.adjustment.remove", "settlement", row["corrects"],
                       before={"amount": row["amount"], "cost_type": row["cost_type"], "reason": row["reason"]})
    if taker is not None:  # a draft that took it: compiled again without it
        await compile_settlement(None, project=taker["project_id"], month=taker["month"])
    return await get_settlement(principal, row["corrects"])


def _row(row: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "project": unit["code"], "project_name": unit["name"], "project_id": row["project_id"],
            "month": rules.month_text(row["month"]), "number": row["number"], "status": row["status"],
            "stage": row["stage"], "cost_staff": row["cost_staff"], "cost_admin": row["cost_admin"],
            "cost_purchase": row["cost_purchase"], "cost_special": row["cost_special"],
            "adjustments": row["adjustments"], "confirmed_cost": row["confirmed_cost"],
            "budget_total": row["budget_total"], "fee_rate_bp": row["fee_rate_bp"],
            "management_fee": row["management_fee"], "total": row["total"], "payment_count": row["payment_count"],
            "due_on": row["due_on"], "approval_request": row["approval_request"],
            "compiled_by_name": row["compiled_by_name"], "compiled_at": row["compiled_at"],
            "submitted_at": row["submitted_at"], "approved_at": row["approved_at"], "late": row["late"]}


async def get_settlement(principal: Principal | None, settlement_id: uuid.UUID) -> dict[str, Any]:
    row = await Settlement.select().where(Settlement.id == settlement_id).first()
    if row is None:
        raise NotFound("no such settlement", code="settlement_not_found")
    unit = await project_unit(principal, row["project_id"])
    out = _row(row, unit)
    payments = await SettlementPayment.select().where(SettlementPayment.settlement == settlement_id).order_by(
        SettlementPayment.paid_on).order_by(SettlementPayment.id)
    out["payments"] = [{"id": p["id"], "cost_type": p["cost_type"], "amount": p["amount"], "paid_on": p["paid_on"],
                        "payee": p["payee"], "evidence": p["evidence"], "month": rules.month_text(p["month"])}
                       for p in payments]
    taken = await SettlementAdjustment.select().where(SettlementAdjustment.settlement == settlement_id)
    made = await SettlementAdjustment.select().where(SettlementAdjustment.corrects == settlement_id)
    out["adjustments_taken"] = [_adjustment(a) for a in taken]
    out["corrections"] = [_adjustment(a) for a in made]
    waiting = await fetch("SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount FROM settlement_payment "
                          "WHERE project_id = $1 AND month <= $2 AND status = 'recorded'", row["project_id"],
                          row["month"])
    out["waiting_count"] = int(waiting[0]["n"])
    out["waiting_amount"] = int(waiting[0]["amount"])
    return out


def _adjustment(a: dict[str, Any]) -> dict[str, Any]:
    return {"id": a["id"], "corrects": a["corrects"], "month": rules.month_text(a["month"]),
            "cost_type": a["cost_type"], "amount": a["amount"], "reason": a["reason"],
            "created_by_name": a["created_by_name"], "settlement": a["settlement"]}


async def list_settlements(principal: Principal | None, *, project: str | None = None, month: date | None = None,
                           status: str | None = None, open_only: bool = False,
                           limit: int = 200) -> list[dict[str, Any]]:
    """Settlements in reach, newest month first (a project has twelve a year)."""
    clauses: list[Any] = []
    in_reach = await reach(principal)
    if in_reach is not None:
        clauses.append(Settlement.project_id.is_in(in_reach or [uuid.uuid4()]))
    if project:
        unit = await project_unit(principal, project)
        clauses.append(Settlement.project_id == unit["id"])
    if month is not None:
        clauses.append(Settlement.month == month)
    if status:
        clauses.append(Settlement.status == status)
    if open_only:  # not yet approved: a company's months still to decide, however many are done
        clauses.append(Settlement.status != "approved")
    query = Settlement.select()
    if clauses:
        query = query.where(*clauses)
    rows = await query.order_by(Settlement.month, ascending=False).order_by(Settlement.number).limit(limit)
    units = {u["id"]: u for u in await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
        OrgUnit.id.is_in(list({r["project_id"] for r in rows}) or [uuid.uuid4()]))}
    return [_row(r, units[r["project_id"]]) for r in rows]



async def readable(principal: Any, subject_id: str) -> bool:
    return await may_read_record(get_settlement, principal, subject_id)
