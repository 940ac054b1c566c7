"""Budget forms: written by the property company (an addition by the developer's marketing and
customer-service department), approved on the approval core by the reviewer the form's kind and the
work's stage call for; only an approved form's lines can be paid against (the first confirmation)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.approvals import service as approvals_service
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import Conflict, FieldErrors, NotFound
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit
from careclub.settlements import rules
from careclub.settlements.rules import LineIn
from careclub.settlements.service._common import lock_project, may_read_record, project_unit, reach, stage_of
from careclub.settlements.tables import SettlementBudget, SettlementBudgetLine

SUBJECTS = (rules.SUBJECT_BUDGET, rules.SUBJECT_WORK, rules.SUBJECT_ADDITION)


def _perm_for(kind: str) -> Perm:
    # §3.2.6: additions are started by the developer's marketing and customer-service department
    return Perm.SETTLEMENTS_CONFIRM if kind == "addition" else Perm.SETTLEMENTS_PREPARE


def _form_month(kind: str, month: date) -> date:
    return date(month.year, 1, 1) if kind == "annual" else rules.month_start(month)


async def _write_lines(budget_id: uuid.UUID, kind: str, cost_type: str | None, lines: list[LineIn]) -> int:
    await SettlementBudgetLine.delete().where(SettlementBudgetLine.budget == budget_id)
    total = 0
    for n, line in enumerate(lines, start=1):
        kind_type = line.cost_type if kind == "annual" else cost_type
        assert kind_type is not None
        await SettlementBudgetLine(budget=budget_id, line_no=n, cost_type=kind_type,
                                   description=line.description.strip()[:300], quantity=line.quantity.strip()[:40],
                                   amount=line.amount).save()
        total += line.amount
    return total


async def create_budget(principal: Principal | None, *, project: uuid.UUID | str, phase: uuid.UUID | None, kind: str,
                        cost_type: str | None, month: date, title: str, note: str = "",
                        lines: list[LineIn]) -> dict[str, Any]:
    """A draft form with its lines, numbered per project ("2026-11-M-PUR-01") for payments to cite."""
    problems = rules.check_form(kind, cost_type, lines) + rules.check_title(title)
    unit = await project_unit(principal, project, _perm_for(kind) if kind in rules.KINDS else Perm.SETTLEMENTS_PREPARE)
    if phase is not None:
        try:
            await stage_of(unit["id"], phase)
        except NotFound as exc:
            problems.append(exc)
    if problems:
        raise FieldErrors(list(problems))
    await lock_project(unit["id"])
    form_month = _form_month(kind, month)
    form_type = None if kind == "annual" else cost_type
    same = await SettlementBudget.count().where(SettlementBudget.project_id == unit["id"],
                                                SettlementBudget.month == form_month, SettlementBudget.kind == kind,
                                                SettlementBudget.cost_type == form_type if form_type else
                                                SettlementBudget.cost_type.is_null())
    number = rules.budget_number(kind, form_type, form_month, same + 1)
    budget = SettlementBudget(project_id=unit["id"], phase_id=phase, number=number, kind=kind, cost_type=form_type,
                              month=form_month, title=title.strip(), note=note.strip(),
                              stage=await stage_of(unit["id"], phase), status="draft",
                              requested_by=principal.user_id if principal else None,
                              requested_by_name=principal.display_name if principal else "", updated_at=clock.now())
    await budget.save()
    total = await _write_lines(budget.id, kind, form_type, lines)
    await SettlementBudget.update({SettlementBudget.total: total}).where(SettlementBudget.id == budget.id)
    await audit.record("settlements.budget.create", "settlement_budget", budget.id,
                       after={"number": number, "kind": kind, "total": total})
    return await get_budget(principal, budget.id)


async def _lock_budget(principal: Principal | None, budget_id: uuid.UUID, *, act: bool) -> dict[str, Any]:
    rows = await fetch("SELECT id FROM settlement_budget WHERE id = $1 FOR UPDATE", budget_id)
    row = await SettlementBudget.select().where(SettlementBudget.id == budget_id).first() if rows else None
    if row is None:
        raise NotFound("no such budget", code="budget_not_found")
    await project_unit(principal, row["project_id"], _perm_for(row["kind"]) if act else None)
    return row


async def update_budget(principal: Principal | None, budget_id: uuid.UUID, *, title: str, note: str,
                        lines: list[LineIn], cost_type: str | None = None) -> dict[str, Any]:
    """Change a draft, or a form its reviewer returned; a form in review or decided stays as it is."""
    row = await _lock_budget(principal, budget_id, act=True)
    form_type = row["cost_type"] if cost_type is None or row["kind"] == "annual" else cost_type
    problems = rules.check_form(row["kind"], form_type, lines) + rules.check_title(title)
    if problems:
        raise FieldErrors(list(problems))
    if row["status"] not in rules.BUDGET_EDITABLE:
        raise Conflict("this budget is %(status)s: only a draft or a returned budget changes", code="budget_locked",
                       params={"status": row["status"]})
    total = await _write_lines(budget_id, row["kind"], form_type, lines)
    await SettlementBudget.update({SettlementBudget.title: title.strip(), SettlementBudget.note: note.strip(),
                                   SettlementBudget.cost_type: form_type, SettlementBudget.total: total,
                                   SettlementBudget.updated_at: clock.now()}).where(SettlementBudget.id == budget_id)
    await audit.record("settlements.budget.update", "settlement_budget", budget_id, after={"total": total})
    return await get_budget(principal, budget_id)


async def submit_budget(principal: Principal, budget_id: uuid.UUID) -> dict[str, Any]:
    """Send the form to its reviewers: the stage the work belongs to is read now, so a project that moved
    in meanwhile goes to the customer-service group."""
    row = await _lock_budget(principal, budget_id, act=True)
    if row["status"] not in rules.BUDGET_EDITABLE:
        raise Conflict("this budget is %(status)s: only a draft or a returned budget is submitted",
                       code="budget_locked", params={"status": row["status"]})
    stage = await stage_of(row["project_id"], row["phase_id"])
    subject, category = rules.approval_route(row["kind"], stage)
    now = clock.now()
    await SettlementBudget.update({SettlementBudget.status: "in_review", SettlementBudget.stage: stage,
                                   SettlementBudget.submitted_at: now, SettlementBudget.updated_at: now}).where(
        SettlementBudget.id == budget_id)
    if row["status"] == "returned" and row["approval_request"]:
        await approvals_service.resubmit(request_id=row["approval_request"], actor_id=principal.user_id,
                                         amount=row["total"])
    else:
        project = await OrgUnit.select(OrgUnit.code).where(OrgUnit.id == row["project_id"]).first()
        title = f"{project['code'] if project else ''} {row['number']} {row['title']}"[:300]
        request = await approvals_service.open_request(
            subject_type=subject, subject_id=str(budget_id), amount=row["total"], category=category,
            in_plan=row["kind"] in ("annual", "monthly"), org_unit_id=row["project_id"], title=title,
            requester_id=principal.user_id)
        await SettlementBudget.update({SettlementBudget.approval_request: request["id"]}).where(
            SettlementBudget.id == budget_id)
    await audit.record("settlements.budget.submit", "settlement_budget", budget_id,
                       after={"subject": subject, "category": category, "total": row["total"]})
    return await get_budget(principal, budget_id)


async def withdraw_budget(principal: Principal, budget_id: uuid.UUID) -> dict[str, Any]:
    row = await _lock_budget(principal, budget_id, act=True)
    if row["status"] not in ("in_review", "returned") or not row["approval_request"]:
        raise Conflict("only a budget in review is withdrawn", code="budget_not_in_review")
    await approvals_service.withdraw(request_id=row["approval_request"], actor_id=principal.user_id)
    return await get_budget(principal, budget_id)


async def _decided(request: dict[str, Any], status: str) -> None:
    now = clock.now()
    await SettlementBudget.update({SettlementBudget.status: status, SettlementBudget.decided_at: now,
                                   SettlementBudget.updated_at: now}).where(
        SettlementBudget.id == uuid.UUID(request["subject_id"]))
    await audit.record(f"settlements.budget.{status}", "settlement_budget", request["subject_id"],
                       after={"request": str(request["id"])})


async def on_approved(request: dict[str, Any]) -> None:
    from careclub.settlements.service import _figures

    await _decided(request, "approved")
    await _figures.budget_approved(uuid.UUID(request["subject_id"]))


async def on_rejected(request: dict[str, Any]) -> None:
    await _decided(request, "rejected")


async def on_returned(request: dict[str, Any]) -> None:
    await SettlementBudget.update({SettlementBudget.status: "returned", SettlementBudget.updated_at: clock.now()}
                                  ).where(SettlementBudget.id == uuid.UUID(request["subject_id"]))


async def on_withdrawn(request: dict[str, Any]) -> None:
    await _decided(request, "withdrawn")


def budget_link(subject_id: str) -> str:
    return f"/settlements/budgets/{subject_id}"


async def line_usage(line_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Per line: what is confirmed and what awaits confirmation (refused payments count for nothing)."""
    if not line_ids:
        return {}
    rows = await fetch("SELECT line, status, sum(amount) AS amount, count(*) AS n FROM settlement_payment "
                       "WHERE line = ANY($1) AND status <> 'refused' GROUP BY line, status", line_ids)
    out: dict[uuid.UUID, dict[str, int]] = {i: {"confirmed": 0, "pending": 0} for i in line_ids}
    for r in rows:
        out[r["line"]]["confirmed" if r["status"] == "confirmed" else "pending"] += int(r["amount"])
    return out


async def get_budget(principal: Principal | None, budget_id: uuid.UUID) -> dict[str, Any]:
    row = await SettlementBudget.select().where(SettlementBudget.id == budget_id).first()
    if row is None:
        raise NotFound("no such budget", code="budget_not_found")
    unit = await project_unit(principal, row["project_id"])
    lines = await SettlementBudgetLine.select().where(SettlementBudgetLine.budget == budget_id).order_by(
        SettlementBudgetLine.line_no)
    usage = await line_usage([ln["id"] for ln in lines])
    out_lines = []
    for ln in lines:
        used = usage[ln["id"]]
        out_lines.append({"id": ln["id"], "line_no": ln["line_no"], "cost_type": ln["cost_type"],
                          "description": ln["description"], "quantity": ln["quantity"], "amount": ln["amount"],
                          "confirmed": used["confirmed"], "pending": used["pending"],
                          "remaining": ln["amount"] - used["confirmed"] - used["pending"],
                          "evidence": rules.evidence(row["month"], ln["cost_type"], row["number"], ln["line_no"])})
    return {**_budget_row(row, unit), "lines": out_lines}


def _budget_row(row: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "project": unit["code"], "project_name": unit["name"], "project_id": row["project_id"],
            "phase_id": row["phase_id"], "number": row["number"], "kind": row["kind"], "cost_type": row["cost_type"],
            "month": rules.month_text(row["month"]), "title": row["title"], "note": row["note"], "stage": row["stage"],
            "status": row["status"], "total": row["total"], "approval_request": row["approval_request"],
            "requested_by_name": row["requested_by_name"], "submitted_at": row["submitted_at"],
            "decided_at": row["decided_at"], "created_at": row["created_at"]}


async def list_budgets(principal: Principal | None, *, project: str | None = None, month: date | None = None,
                       kind: str | None = None, status: str | None = None, limit: int = 50,
                       offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Forms in reach, newest month first (a project has a few forms a month: counting them is cheap)."""
    query = SettlementBudget.select()
    counted = SettlementBudget.count()
    clauses: list[Any] = []
    in_reach = await reach(principal)
    if in_reach is not None:
        clauses.append(SettlementBudget.project_id.is_in(in_reach or [uuid.uuid4()]))
    if project:
        unit = await project_unit(principal, project)
        clauses.append(SettlementBudget.project_id == unit["id"])
    if month is not None:
        clauses.append(SettlementBudget.month == month)
    if kind:
        clauses.append(SettlementBudget.kind == kind)
    if status:
        clauses.append(SettlementBudget.status == status)
    if clauses:
        query = query.where(*clauses)
        counted = counted.where(*clauses)
    rows = await query.order_by(SettlementBudget.month, ascending=False).order_by(
        SettlementBudget.created_at, ascending=False).limit(limit).offset(offset)
    units = {u["id"]: u for u in await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
        OrgUnit.id.is_in(list({r["project_id"] for r in rows}) or [uuid.uuid4()]))}
    return [_budget_row(r, units[r["project_id"]]) for r in rows], await counted


async def line_for_payment(line_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """The line and its form, the line locked: payments against one line are recorded one at a time."""
    rows = await fetch("SELECT id FROM settlement_budget_line WHERE id = $1 FOR UPDATE", line_id)
    line = await SettlementBudgetLine.select().where(SettlementBudgetLine.id == line_id).first() if rows else None
    if line is None:
        raise NotFound("no such budget line", code="budget_line_not_found", field="line")
    budget = await SettlementBudget.select().where(SettlementBudget.id == line["budget"]).first()
    assert budget is not None
    return line, budget





async def readable(principal: Any, subject_id: str) -> bool:
    return await may_read_record(get_budget, principal, subject_id)
