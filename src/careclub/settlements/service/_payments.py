"""Payments the property company makes, each against an approved budget line with its evidence, and the
developer's confirmation of each (the second confirmation): unconfirmed payments are never settled."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import Conflict, FieldErrors, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.money import format_grouped
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, company_zone
from careclub.platform.tables import OrgUnit
from careclub.settlements import rules
from careclub.settlements.service import _figures
from careclub.settlements.service._budgets import line_for_payment, line_usage
from careclub.settlements.service._common import lock_project, project_unit, reach
from careclub.settlements.tables import Settlement, SettlementPayment

_STATUS_WHY = {
    "draft": N_("still a draft"),
    "in_review": N_("still in review"),
    "returned": N_("returned to its author"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}


async def record_payment(principal: Principal, *, line: uuid.UUID, amount: int, paid_on: date, payee: str,
                         note: str = "") -> dict[str, Any]:
    """Record a payment against an approved line. Refused, with every reason at once: the line's form is not
    approved, the payment would take the line past its approved amount, it is dated before the form was approved
    or after today, or the month it was paid in has already been submitted for settlement."""
    problems: list[Any] = []
    if amount <= 0:
        problems.append(ValidationFailed("amount must be more than zero", field="amount", code="invalid_amount"))
    if not payee.strip() or len(payee.strip()) > 200:
        problems.append(ValidationFailed("payee is required (at most 200 characters)", field="payee",
                                         code="invalid_payee"))
    if paid_on > await company_today():
        problems.append(ValidationFailed("paid_on is after today: record a payment once it is made", field="paid_on",
                                         code="paid_in_future"))
    line_row, budget = await line_for_payment(line)
    await project_unit(principal, budget["project_id"], Perm.SETTLEMENTS_PREPARE, field="line")
    await lock_project(budget["project_id"])
    if budget["status"] != "approved":
        problems.append(Conflict(
            "%(number)s line %(line)s is not approved (its budget is %(why)s): a payment needs an approved budget "
            "line", code="budget_line_not_approved", field="line",
            params={"number": budget["number"], "line": line_row["line_no"],
                    "why": _STATUS_WHY.get(budget["status"], budget["status"])}))
    used = (await line_usage([line]))[line]
    remaining = line_row["amount"] - used["confirmed"] - used["pending"]
    if budget["status"] == "approved" and amount > remaining:
        problems.append(Conflict(
            "%(number)s line %(line)s has %(remaining)s left of its approved %(approved)s: pay the rest after a "
            "budget addition", code="exceeds_budget_line", field="amount",
            params={"number": budget["number"], "line": line_row["line_no"], "remaining": format_grouped(remaining),
                    "approved": format_grouped(line_row["amount"])}))
    # The first confirmation comes first (§3.2.1 两次确认): a payment dated before its form was approved paid for
    # work nobody had approved.
    decided = clock.local(budget["decided_at"], await company_zone())
    approved_on = decided.date() if decided is not None else None
    if approved_on is not None and paid_on < approved_on:
        problems.append(Conflict(
            "the payment is dated %(paid_on)s, before %(number)s was approved on %(approved_on)s: work is paid for "
            "only once its budget is approved", code="paid_before_approval", field="paid_on",
            params={"paid_on": paid_on.isoformat(), "number": budget["number"],
                    "approved_on": approved_on.isoformat()}))
    month = rules.month_start(paid_on)
    closed = await Settlement.select(Settlement.status).where(
        Settlement.project_id == budget["project_id"], Settlement.month == month).first()
    if closed is not None and closed["status"] in ("in_review", "approved"):
        problems.append(Conflict("the settlement of %(month)s is already submitted: date the payment in a later "
                                 "month", code="month_closed", field="paid_on",
                                 params={"month": rules.month_text(month)}))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise FieldErrors(problems)
    payment = SettlementPayment(project_id=budget["project_id"], budget=budget["id"], line=line,
                                cost_type=line_row["cost_type"], month=month, amount=amount, paid_on=paid_on,
                                payee=payee.strip(), note=note.strip(),
                                evidence=rules.evidence(budget["month"], line_row["cost_type"], budget["number"],
                                                        line_row["line_no"]),
                                status="recorded", recorded_by=principal.user_id,
                                recorded_by_name=principal.display_name)
    await payment.save()
    await _figures.bump(budget["project_id"], month, line_row["cost_type"], pending=amount)
    await audit.record("settlements.payment.record", "settlement_payment", payment.id,
                       after={"amount": amount, "line": str(line), "evidence": payment.evidence})
    return await get_payment(principal, payment.id)


async def decide_payment(principal: Principal, payment_id: uuid.UUID, *, confirm: bool,
                         reason: str = "") -> dict[str, Any]:
    """The developer's confirmation (or refusal, with its reason) of one payment. The payment is locked:
    of several people confirming it at once, one decides and the others are told it is decided."""
    if not confirm and not reason.strip():
        raise ValidationFailed("say why the payment is refused", field="reason", code="reason_required")
    rows = await fetch("SELECT id FROM settlement_payment WHERE id = $1 FOR UPDATE", payment_id)
    row = await SettlementPayment.select().where(SettlementPayment.id == payment_id).first() if rows else None
    if row is None:
        raise NotFound("no such payment", code="payment_not_found")
    await project_unit(principal, row["project_id"], Perm.SETTLEMENTS_CONFIRM)
    if row["status"] != "recorded":
        raise Conflict("this payment was already %(status)s by %(by)s", code="payment_already_decided",
                       params={"status": row["status"], "by": row["decided_by_name"]})
    status = "confirmed" if confirm else "refused"
    await SettlementPayment.update({SettlementPayment.status: status, SettlementPayment.decided_by: principal.user_id,
                                    SettlementPayment.decided_by_name: principal.display_name,
                                    SettlementPayment.decided_at: clock.now(),
                                    SettlementPayment.refused_reason: reason.strip()}).where(
        SettlementPayment.id == payment_id)
    await _figures.bump(row["project_id"], row["month"], row["cost_type"], pending=-row["amount"],
                        confirmed=row["amount"] if confirm else 0)
    await audit.record(f"settlements.payment.{status}", "settlement_payment", payment_id,
                       after={"amount": row["amount"], "reason": reason.strip()})
    return await get_payment(principal, payment_id)


def _payment_row(row: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "project": unit["code"], "project_name": unit["name"], "budget": row["budget"],
            "line": row["line"], "cost_type": row["cost_type"], "month": rules.month_text(row["month"]),
            "amount": row["amount"], "paid_on": row["paid_on"], "payee": row["payee"], "evidence": row["evidence"],
            "note": row["note"], "status": row["status"], "recorded_by_name": row["recorded_by_name"],
            "decided_by_name": row["decided_by_name"], "decided_at": row["decided_at"],
            "refused_reason": row["refused_reason"], "settlement": row["settlement"], "created_at": row["created_at"]}


async def get_payment(principal: Principal | None, payment_id: uuid.UUID) -> dict[str, Any]:
    row = await SettlementPayment.select().where(SettlementPayment.id == payment_id).first()
    if row is None:
        raise NotFound("no such payment", code="payment_not_found")
    unit = await project_unit(principal, row["project_id"])
    return _payment_row(row, unit)


async def list_payments(principal: Principal | None, *, project: str | None = None, month: date | None = None,
                        status: str | None = None, budget: uuid.UUID | None = None, limit: int = 50,
                        after: tuple[Any, uuid.UUID] | None = None) -> list[dict[str, Any]]:
    """Payments in reach, oldest first (the queue awaiting confirmation is served first come), a keyset page
    after (created_at, id)."""
    clauses: list[Any] = []
    in_reach = await reach(principal)
    if in_reach is not None:
        clauses.append(SettlementPayment.project_id.is_in(in_reach or [uuid.uuid4()]))
    if project:
        unit = await project_unit(principal, project)
        clauses.append(SettlementPayment.project_id == unit["id"])
    if month is not None:
        clauses.append(SettlementPayment.month == month)
    if status:
        clauses.append(SettlementPayment.status == status)
    if budget is not None:
        clauses.append(SettlementPayment.budget == budget)
    query = SettlementPayment.select()
    if after is not None:
        at, last = after
        query = query.where((SettlementPayment.created_at > at) | (
            (SettlementPayment.created_at == at) & (SettlementPayment.id > last)))
    if clauses:
        query = query.where(*clauses)
    rows = await query.order_by(SettlementPayment.created_at).order_by(SettlementPayment.id).limit(limit)
    units = {u["id"]: u for u in await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
        OrgUnit.id.is_in(list({r["project_id"] for r in rows}) or [uuid.uuid4()]))}
    return [_payment_row(r, units[r["project_id"]]) for r in rows]
