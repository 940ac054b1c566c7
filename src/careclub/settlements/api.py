"""The settlements API: the contract's `GET /api/v1/settlements` and around it the budget forms, the
payments with their confirmation, the month's settlement, the projects' stages and the company's terms.

Who: the property company's people (`settlements.prepare`, at their projects) write budgets, record
payments and compile settlements; the developer's authorised people (`settlements.confirm`) confirm or
refuse payments and start budget additions; approvers decide on the approval core; `settlements.read`
(the developer's auditors) reads every account in reach and changes nothing; `settlements.manage` keeps
the projects' stages and the terms. A project out of reach answers 404."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from careclub.core.errors import AppError, FieldErrors, Forbidden, ValidationFailed
from careclub.core.money import from_money, parse_amount, to_money
from careclub.core.paging import After, decode_cursor, encode_cursor
from careclub.platform.api import Limit, PrincipalDep, provide_principal
from careclub.platform.permissions import Perm
from careclub.settlements import rules, schemas, service
from careclub.settlements.service._common import reader

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}
Code = Annotated[str | None, QueryParameter(max_length=64, description="a project's org unit code")]
Month = Annotated[str | None, QueryParameter(pattern=r"^\d{4}-\d{2}$", description="a month: 2026-11")]
Short = Annotated[str | None, QueryParameter(max_length=32)]


def month_of(text: str | None, field: str = "month") -> date | None:
    return rules.parse_month(text, field=field) if text else None


def signed_amount(text: str, currency: str, field: str = "amount") -> int:
    negative = text.startswith("-")
    value = parse_amount(text.removeprefix("-"), field=field)
    return -value if negative else value


def summary(row: dict[str, Any], currency: str) -> schemas.SettlementSummary:
    return schemas.SettlementSummary(
        id=row["id"], project=row["project"], month=row["month"], status=row["status"],
        confirmed_cost=to_money(row["confirmed_cost"], currency),
        management_fee=to_money(row["management_fee"], currency),
        total=to_money(row["total"], currency), due_on=row["due_on"], project_name=row["project_name"],
        late=row["late"], approved_at=row["approved_at"])


def _adjustment(a: dict[str, Any], currency: str) -> schemas.AdjustmentOut:
    return schemas.AdjustmentOut(id=a["id"], corrects=a["corrects"], month=a["month"], cost_type=a["cost_type"],
                                 amount=to_money(a["amount"], currency), reason=a["reason"],
                                 created_by_name=a["created_by_name"], settlement=a["settlement"])


def settlement_out(row: dict[str, Any], currency: str) -> schemas.SettlementOut:
    m = lambda k: to_money(row[k], currency)  # noqa: E731
    return schemas.SettlementOut(
        id=row["id"], project=row["project"], month=row["month"], status=row["status"],
        confirmed_cost=m("confirmed_cost"), management_fee=m("management_fee"), total=m("total"),
        due_on=row["due_on"], project_name=row["project_name"], late=row["late"], approved_at=row["approved_at"],
        number=row["number"], stage=row["stage"], cost_staff=m("cost_staff"), cost_admin=m("cost_admin"),
        cost_purchase=m("cost_purchase"), cost_special=m("cost_special"), adjustments=m("adjustments"),
        budget_total=m("budget_total"), fee_rate=service.rate_text(row["fee_rate_bp"]),
        payment_count=row["payment_count"], approval_request=row["approval_request"],
        compiled_by_name=row["compiled_by_name"], compiled_at=row["compiled_at"], submitted_at=row["submitted_at"],
        payments=[schemas.SettledPayment(id=p["id"], cost_type=p["cost_type"], amount=to_money(p["amount"], currency),
                                         paid_on=p["paid_on"], payee=p["payee"], evidence=p["evidence"],
                                         month=p["month"]) for p in row["payments"]],
        adjustments_taken=[_adjustment(a, currency) for a in row["adjustments_taken"]],
        corrections=[_adjustment(a, currency) for a in row["corrections"]],
        waiting_count=row["waiting_count"], waiting_amount=m("waiting_amount"))


def lines_from(data: list[schemas.LineIn], currency: str, *, kind: str | None, cost_type: str | None, title: str,
               problems: list[AppError] | None = None) -> list[rules.LineIn]:
    """The lines' amounts parsed; a bad one is named with every other problem of the form (the form's own
    rules are checked here too, so a person sees all of them at once, not the amounts first)."""
    found: list[AppError] = problems if problems is not None else []
    out = []
    unparsed = set()
    for i, line in enumerate(data):
        try:
            amount = from_money(line.amount, currency=currency, field=f"lines[{i}].amount")
        except ValidationFailed as exc:
            found.append(exc)
            unparsed.add(f"lines[{i}].amount")
            amount = 1
        out.append(rules.LineIn(description=line.description, amount=amount, cost_type=line.cost_type,
                                quantity=line.quantity))
    if found:
        # a change (kind None) has its form's kind in the service: there its rules are checked with it
        rest = (rules.check_form(kind, cost_type, out) if kind else []) + rules.check_title(title)
        found.extend(e for e in rest if e.field not in unparsed)
        raise FieldErrors(found)
    return out


def budget_summary(row: dict[str, Any], currency: str) -> schemas.BudgetSummary:
    return schemas.BudgetSummary(
        id=row["id"], project=row["project"], project_name=row["project_name"], number=row["number"],
        kind=row["kind"], cost_type=row["cost_type"], month=row["month"], title=row["title"], stage=row["stage"],
        status=row["status"], total=to_money(row["total"], currency), approval_request=row["approval_request"],
        requested_by_name=row["requested_by_name"], submitted_at=row["submitted_at"], decided_at=row["decided_at"],
        created_at=row["created_at"], phase=row["phase_id"], note=row["note"])


def budget_out(row: dict[str, Any], currency: str) -> schemas.BudgetOut:
    base = budget_summary(row, currency)
    lines = [schemas.BudgetLineOut(id=ln["id"], line_no=ln["line_no"], cost_type=ln["cost_type"],
                                   description=ln["description"], quantity=ln["quantity"],
                                   amount=to_money(ln["amount"], currency),
                                   confirmed=to_money(ln["confirmed"], currency),
                                   pending=to_money(ln["pending"], currency),
                                   remaining=to_money(ln["remaining"], currency), evidence=ln["evidence"])
             for ln in row["lines"]]
    return schemas.BudgetOut(**{f: getattr(base, f) for f in base.__struct_fields__}, lines=lines)


def payment_out(row: dict[str, Any], currency: str) -> schemas.PaymentOut:
    return schemas.PaymentOut(**{**row, "amount": to_money(row["amount"], currency)})


def project_out(row: dict[str, Any]) -> schemas.ProjectOut:
    return schemas.ProjectOut(id=row["id"], code=row["code"], name=row["name"], stage=row["stage"],
                              moved_in_on=row["moved_in_on"], note=row["note"],
                              phases=[schemas.PhaseOut(**p) for p in row["phases"]])


class SettlementController(Controller):
    path = "/api/v1/settlements"
    tags = ["settlements"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def settlements(self, principal: PrincipalDep, project: Code = None, month: Month = None,
                          status: Short = None,
                          limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
                          ) -> list[schemas.SettlementSummary]:
        """Monthly settlements of the projects in reach, newest month first (at most `limit`; narrow by `project`
        or `month` for older ones): confirmed cost, the management fee, the total and the date it is to be
        approved by."""
        reader(principal)
        rows = await service.list_settlements(principal, project=project, month=month_of(month), status=status,
                                              limit=limit)
        return [summary(r, principal.tenant.currency) for r in rows]

    @post("", opt={"permission": Perm.SETTLEMENTS_PREPARE}, status_code=201)
    async def compile(self, data: JSONBody[schemas.CompileIn], principal: PrincipalDep) -> schemas.SettlementOut:
        """Compile (or compile again) a project's month from its confirmed payments, as a draft."""
        row = await service.compile_settlement(principal, project=data.project, month=rules.parse_month(data.month))
        return settlement_out(row, principal.tenant.currency)

    @get("/{settlement_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def one(self, settlement_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.SettlementOut:
        reader(principal)
        return settlement_out(await service.get_settlement(principal, settlement_id), principal.tenant.currency)

    @post("/{settlement_id:uuid}/submit", opt={"permission": Perm.SETTLEMENTS_PREPARE}, status_code=200)
    async def submit(self, settlement_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.SettlementOut:
        """Compile once more and send the month round the countersign chain (409 `nothing_to_settle` when no
        payment of it is confirmed)."""
        return settlement_out(await service.submit_settlement(principal, settlement_id), principal.tenant.currency)

    @post("/{settlement_id:uuid}/withdraw", opt={"permission": Perm.SETTLEMENTS_PREPARE}, status_code=200)
    async def withdraw(self, settlement_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.SettlementOut:
        return settlement_out(await service.withdraw_settlement(principal, settlement_id), principal.tenant.currency)

    @post("/{settlement_id:uuid}/adjustments", opt={"permission": Perm.SETTLEMENTS_PREPARE}, status_code=201)
    async def adjust(self, settlement_id: FromPath[uuid.UUID], data: JSONBody[schemas.AdjustmentIn],
                     principal: PrincipalDep) -> schemas.SettlementOut:
        """Correct an approved settlement: the correction goes into the next month's, this one stays."""
        amount = signed_amount(data.amount, principal.tenant.currency)
        row = await service.add_adjustment(principal, settlement_id, cost_type=data.cost_type, amount=amount,
                                           reason=data.reason)
        return settlement_out(row, principal.tenant.currency)


class AdjustmentController(Controller):
    path = "/api/v1/settlement-adjustments"
    tags = ["settlements"]
    dependencies = _P

    @delete("/{adjustment_id:uuid}", opt={"permission": Perm.SETTLEMENTS_PREPARE}, status_code=204)
    async def remove(self, adjustment_id: FromPath[uuid.UUID], principal: PrincipalDep) -> None:
        """Take back a correction made by mistake, until a settlement in approval or approved has taken it (409
        `adjustment_settled`: correct it with another correction)."""
        await service.remove_adjustment(principal, adjustment_id)


class BudgetController(Controller):
    path = "/api/v1/settlement-budgets"
    tags = ["settlements"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def budgets(self, principal: PrincipalDep, project: Code = None, month: Month = None,
                      kind: Short = None, status: Short = None, limit: Limit = 50,
                      offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0) -> schemas.BudgetPage:
        reader(principal)
        rows, total = await service.list_budgets(principal, project=project, month=month_of(month), kind=kind,
                                                 status=status, limit=limit, offset=offset)
        return schemas.BudgetPage(items=[budget_summary(r, principal.tenant.currency) for r in rows], total=total,
                                  limit=limit, offset=offset)

    @post("", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def create(self, data: JSONBody[schemas.BudgetIn], principal: PrincipalDep) -> schemas.BudgetOut:
        """A draft form with its lines: the property company's (an addition: the developer's)."""
        if not (principal.can(Perm.SETTLEMENTS_PREPARE) or principal.can(Perm.SETTLEMENTS_CONFIRM)):
            raise Forbidden("your roles do not include the permission %(needed)s", code="forbidden",
                            params={"needed": Perm.SETTLEMENTS_PREPARE})
        problems: list[AppError] = []
        month = None
        try:
            month = rules.parse_month(data.month)
        except ValidationFailed as exc:
            problems.append(exc)
        lines = lines_from(data.lines, principal.tenant.currency, kind=data.kind, cost_type=data.cost_type,
                           title=data.title, problems=problems)
        assert month is not None
        row = await service.create_budget(principal, project=data.project, phase=data.phase, kind=data.kind,
                                          cost_type=data.cost_type, month=month, title=data.title, note=data.note,
                                          lines=lines)
        return budget_out(row, principal.tenant.currency)

    @get("/{budget_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def one(self, budget_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.BudgetOut:
        reader(principal)
        return budget_out(await service.get_budget(principal, budget_id), principal.tenant.currency)

    @put("/{budget_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def change(self, budget_id: FromPath[uuid.UUID], data: JSONBody[schemas.BudgetUpdate],
                     principal: PrincipalDep) -> schemas.BudgetOut:
        reader(principal)
        row = await service.update_budget(principal, budget_id, title=data.title, note=data.note,
                                          lines=lines_from(data.lines, principal.tenant.currency, kind=None,
                                                           cost_type=data.cost_type, title=data.title),
                                          cost_type=data.cost_type)
        return budget_out(row, principal.tenant.currency)

    @post("/{budget_id:uuid}/submit", opt={"permission": Perm.AUTHENTICATED}, status_code=200)
    async def submit(self, budget_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.BudgetOut:
        """Send the form to the reviewer its kind and the work's stage call for."""
        reader(principal)
        return budget_out(await service.submit_budget(principal, budget_id), principal.tenant.currency)

    @post("/{budget_id:uuid}/withdraw", opt={"permission": Perm.AUTHENTICATED}, status_code=200)
    async def withdraw(self, budget_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.BudgetOut:
        reader(principal)
        return budget_out(await service.withdraw_budget(principal, budget_id), principal.tenant.currency)


class PaymentController(Controller):
    path = "/api/v1/settlement-payments"
    tags = ["settlements"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def payments(self, principal: PrincipalDep, project: Code = None, month: Month = None,
                       status: Short = None, budget: Annotated[uuid.UUID | None, QueryParameter()] = None,
                       limit: Limit = 50, after: After = None) -> schemas.PaymentPage:
        """Payments in reach, oldest first; `status=recorded` is the queue awaiting confirmation."""
        reader(principal)
        rows = await service.list_payments(principal, project=project, month=month_of(month), status=status,
                                           budget=budget, limit=limit, after=decode_cursor(after))
        nxt = encode_cursor(rows[-1]) if len(rows) == limit else None
        return schemas.PaymentPage(items=[payment_out(r, principal.tenant.currency) for r in rows], next_cursor=nxt)

    @post("", opt={"permission": Perm.SETTLEMENTS_PREPARE}, status_code=201)
    async def record(self, data: JSONBody[schemas.PaymentIn], principal: PrincipalDep) -> schemas.PaymentOut:
        """Record a payment against an approved budget line; 409 `budget_line_not_approved` or
        `exceeds_budget_line` says why one is refused."""
        amount = from_money(data.amount, currency=principal.tenant.currency)
        row = await service.record_payment(principal, line=data.line, amount=amount, paid_on=data.paid_on,
                                           payee=data.payee, note=data.note)
        return payment_out(row, principal.tenant.currency)

    @get("/{payment_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def one(self, payment_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.PaymentOut:
        reader(principal)
        return payment_out(await service.get_payment(principal, payment_id), principal.tenant.currency)

    @post("/{payment_id:uuid}/confirm", opt={"permission": Perm.SETTLEMENTS_CONFIRM}, status_code=200)
    async def confirm(self, payment_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.PaymentOut:
        """The developer's confirmation (409 `payment_already_decided` for the second of two at once)."""
        return payment_out(await service.decide_payment(principal, payment_id, confirm=True),
                           principal.tenant.currency)

    @post("/{payment_id:uuid}/refuse", opt={"permission": Perm.SETTLEMENTS_CONFIRM}, status_code=200)
    async def refuse(self, payment_id: FromPath[uuid.UUID], data: JSONBody[schemas.RefusalIn],
                     principal: PrincipalDep) -> schemas.PaymentOut:
        return payment_out(await service.decide_payment(principal, payment_id, confirm=False, reason=data.reason),
                           principal.tenant.currency)


class ProjectController(Controller):
    path = "/api/v1/settlement-projects"
    tags = ["settlements"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def projects(self, principal: PrincipalDep) -> list[schemas.ProjectOut]:
        reader(principal)
        return [project_out(r) for r in await service.list_projects(principal)]

    @get("/{code:str}", opt={"permission": Perm.AUTHENTICATED})
    async def one(self, code: FromPath[str], principal: PrincipalDep) -> schemas.ProjectOut:
        reader(principal)
        return project_out(await service.get_project(principal, code))

    @put("/{code:str}", opt={"permission": Perm.SETTLEMENTS_MANAGE})
    async def change(self, code: FromPath[str], data: JSONBody[schemas.ProjectIn],
                     principal: PrincipalDep) -> schemas.ProjectOut:
        """Set the project's stage: after move-in, its work is reviewed by the customer-service group."""
        return project_out(await service.set_project(principal, code, stage=data.stage, moved_in_on=data.moved_in_on,
                                                     note=data.note))

    @post("/{code:str}/phases", opt={"permission": Perm.SETTLEMENTS_MANAGE}, status_code=200)
    async def phase(self, code: FromPath[str], data: JSONBody[schemas.PhaseIn],
                    principal: PrincipalDep) -> schemas.ProjectOut:
        """Add or change a phase (by its code) of a phased project, with its own stage."""
        return project_out(await service.set_phase(principal, code, code=data.code, name=data.name,
                                                   stage=data.stage, moved_in_on=data.moved_in_on))


class TermsController(Controller):
    path = "/api/v1/settlement-terms"
    tags = ["settlements"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def read(self, principal: PrincipalDep) -> schemas.TermsOut:
        reader(principal)
        t = await service.terms()
        return schemas.TermsOut(fee_rate=service.rate_text(t["fee_rate_bp"]), due_day=t["due_day"],
                                updated_at=t["updated_at"])

    @put("", opt={"permission": Perm.SETTLEMENTS_MANAGE})
    async def change(self, data: JSONBody[schemas.TermsIn], principal: PrincipalDep) -> schemas.TermsOut:
        """The management fee (per cent of the confirmed cost) and the day of the next month a settlement is
        approved by. Settlements already compiled keep the rate they were compiled with until compiled again."""
        if not principal.covers(Perm.SETTLEMENTS_MANAGE, None):
            raise Forbidden("the terms are the company's: they are set at the company", code="forbidden")
        t = await service.set_terms(fee_rate_bp=service.parse_rate(data.fee_rate), due_day=data.due_day)
        return schemas.TermsOut(fee_rate=service.rate_text(t["fee_rate_bp"]), due_day=t["due_day"],
                                updated_at=t["updated_at"])


ROUTES = [SettlementController, AdjustmentController, BudgetController, PaymentController, ProjectController,
          TermsController]
