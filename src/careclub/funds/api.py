"""The funds' JSON API: funds and their balances, the trial balance, the ledger, corrections,
contributions with their evidence, accrual rules, periods and payments, and the year-end rollover."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Controller, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from careclub.core.errors import NotFound
from careclub.core.money import to_money
from careclub.core.paging import After, next_after
from careclub.core.principal import Principal
from careclub.funds import rules, schemas, service
from careclub.platform import attachments
from careclub.platform.api import Limit, PrincipalDep, minor_units, provide_principal
from careclub.platform.permissions import Perm
from careclub.platform.service import unit_by_code
from careclub.web.imports import MAX_BYTES as IMPORT_MAX_BYTES

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}

Year = Annotated[int | None, QueryParameter(ge=2000, le=2100)]
Cause = Annotated[str | None, QueryParameter(description=f"one of {', '.join(rules.CAUSES)}", max_length=24)]
Day = Annotated[date | None, QueryParameter(description="a date, YYYY-MM-DD")]
Before = Annotated[int | None, QueryParameter(ge=1, description="the `next_before` of the previous page")]
FundCode = Annotated[str | None, QueryParameter(max_length=32)]
Overdue = Annotated[bool, QueryParameter(description="only periods past their due date with money outstanding")]


def fund_out(row: dict[str, Any], currency: str) -> schemas.FundOut:
    b = row["balances"]
    return schemas.FundOut(id=row["id"], code=row["code"], name=row["name"], year=row["year"],
                           org_unit=row["unit_code"], description=row["description"], closed=row["closed"],
                           acceptance_roles=[r for r in row["acceptance_roles"].split(",") if r],
                           off_plan_cutoff_day=row["off_plan_cutoff_day"],
                           balances=schemas.Balances(**{a: to_money(b[a], currency) for a in rules.ACCOUNTS}))


def entry_out(row: dict[str, Any], currency: str) -> schemas.EntryOut:
    return schemas.EntryOut(
        id=row["id"], seq=row["seq"], cause=row["cause"], cause_id=row["cause_id"], reference=row["reference"],
        memo=row["memo"], occurred_on=row["occurred_on"], reverses=row["reverses"],
        reversed_by=row["reversed_by"]["seq"] if row["reversed_by"] else None, created_by=row["created_by_name"],
        created_at=row["created_at"],
        postings=[schemas.PostingOut(fund=p["fund"], fund_code=p["fund_code"], fund_year=p["fund_year"],
                                     account=p["account"], amount=to_money(p["amount"], currency),
                                     balance_after=to_money(p["balance_after"], currency)) for p in row["postings"]])


def contribution_out(row: dict[str, Any], files: list[dict[str, Any]], currency: str) -> schemas.ContributionOut:
    return schemas.ContributionOut(
        id=row["id"], fund=row["fund"], kind=row["kind"], source=row["source"],
        amount=to_money(row["amount"], currency), received_on=row["received_on"], reference=row["reference"],
        note=row["note"], entry=row["entry"],
        attachments=[schemas.AttachmentOut(id=a["id"], filename=a["filename"], content_type=a["content_type"],
                                           size=a["size"], url=f"/api/v1/attachments/{a['id']}") for a in files])


def rule_out(row: dict[str, Any]) -> schemas.AccrualRuleOut:
    return schemas.AccrualRuleOut(**{f: row[f] for f in schemas.AccrualRuleOut.__struct_fields__})


def period_out(row: dict[str, Any], currency: str) -> schemas.AccrualPeriodOut:
    money = {"base", "amount", "paid"}
    values: dict[str, Any] = {f: to_money(row[f], currency) if f in money else row[f]
                              for f in schemas.AccrualPeriodOut.__struct_fields__}
    return schemas.AccrualPeriodOut(**values)


async def may_read_contribution(principal: Principal, contribution_id: uuid.UUID) -> bool:
    rows = await service.list_contributions_by_id([contribution_id])
    if not rows:
        return False
    try:
        await service.get_fund(principal, rows[0]["fund"])
    except NotFound:
        return False
    return True


attachments.register_owner("fund_contribution", may_read_contribution)


@dataclass
class FileUpload:
    file: UploadFile
    valid_only: bool = False


class FundController(Controller):
    path = "/api/v1/funds"
    tags = ["funds"]
    dependencies = _P

    @get("/", opt={"permission": Perm.FINANCE_READ})
    async def list_funds(self, principal: PrincipalDep, year: Year = None) -> list[schemas.FundOut]:
        """The funds you may see (your finance rights cover their unit), each year of each fund, newest first."""
        return [fund_out(r, principal.tenant.currency) for r in await service.list_funds(principal, year=year)]

    @post("/", opt={"permission": Perm.FINANCE_MANAGE}, status_code=201)
    async def create(self, data: JSONBody[schemas.FundCreate], principal: PrincipalDep) -> schemas.FundOut:
        """A fund's year, company-wide or held by an org unit (its code); every account starts at zero."""
        unit_id = None
        if data.org_unit is not None:
            unit = await unit_by_code(data.org_unit)
            if unit is None:
                raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
            unit_id = unit["id"]
        row = await service.create_fund(code=data.code, name=data.name, year=data.year, org_unit_id=unit_id,
                                        description=data.description)
        return fund_out(row, principal.tenant.currency)

    @get("/{fund_id:uuid}", opt={"permission": Perm.FINANCE_READ})
    async def get_fund(self, fund_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.FundOut:
        return fund_out(await service.get_fund(principal, fund_id), principal.tenant.currency)

    @patch("/{fund_id:uuid}", opt={"permission": Perm.FINANCE_MANAGE})
    async def update(self, fund_id: FromPath[uuid.UUID], data: JSONBody[schemas.FundUpdate],
                     principal: PrincipalDep) -> schemas.FundOut:
        await service.writable_fund(principal, fund_id)
        return fund_out(await service.update_fund(fund_id, name=data.name, description=data.description,
                                                  acceptance_roles=data.acceptance_roles,
                                                  off_plan_cutoff_day=data.off_plan_cutoff_day),
                        principal.tenant.currency)

    @get("/{fund_id:uuid}/trial-balance", opt={"permission": Perm.FINANCE_READ})
    async def trial_balance(self, fund_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.TrialBalanceOut:
        """Every account's balance recomputed from the postings themselves, not from the stored balances."""
        await service.get_fund(principal, fund_id)
        tb = await service.trial_balance(fund_id)
        cur = principal.tenant.currency
        return schemas.TrialBalanceOut(balanced=tb["balanced"], accounts=[
            schemas.TrialBalanceLine(account=a["account"], balance=to_money(a["balance"], cur),
                                     stored=to_money(a["stored"], cur)) for a in tb["accounts"]])

    @get("/{fund_id:uuid}/ledger", opt={"permission": Perm.FINANCE_READ})
    async def ledger(self, fund_id: FromPath[uuid.UUID], principal: PrincipalDep, cause: Cause = None,
                     since: Day = None, until: Day = None, before: Before = None, limit: Limit = 50
                     ) -> schemas.LedgerPage:
        """The fund's ledger, newest first, a keyset page at a time (`before` = the previous page's
        `next_before`)."""
        await service.get_fund(principal, fund_id)
        rows = await service.ledger_page(fund_id, cause=cause, since=since, until=until, before_seq=before,
                                         limit=limit + 1)
        cur = principal.tenant.currency
        more = len(rows) > limit
        rows = rows[:limit]
        return schemas.LedgerPage(limit=limit, next_before=rows[-1]["seq"] if more and rows else None, items=[
            schemas.LedgerLine(id=r["id"], seq=r["seq"], cause=r["cause"], reference=r["reference"], memo=r["memo"],
                               occurred_on=r["occurred_on"], reversed_by=r["reversed_by"], reverses=r["reverses"],
                               created_by=r["created_by_name"],
                               moves={k: to_money(int(v), cur) for k, v in r["moves"].items()},
                               available_after=None if r["available_after"] is None
                               else to_money(r["available_after"], cur)) for r in rows])

    @get("/entries/{entry_id:uuid}", opt={"permission": Perm.FINANCE_READ})
    async def entry(self, entry_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.EntryOut:
        row = await service.entry_detail(entry_id)
        for p in row["postings"]:
            await service.get_fund(principal, p["fund"])
        return entry_out(row, principal.tenant.currency)

    @post("/entries/{entry_id:uuid}/reversal", opt={"permission": Perm.FINANCE_MANAGE}, status_code=201)
    async def reversal(self, entry_id: FromPath[uuid.UUID], data: JSONBody[schemas.ReversalCreate],
                       principal: PrincipalDep) -> schemas.EntryOut:
        """Correct a contribution's entry by reversing it (the same postings, signs turned), with the reason.
        Entries are never changed or deleted; an entry is reversed at most once. Entries that belong to a
        request, an accrual period or a rollover are corrected there (409 `entry_has_workflow`)."""
        row = await service.entry_detail(entry_id)
        for p in row["postings"]:
            await service.writable_fund(principal, p["fund"])
        done = await service.correct(entry_id, reason=data.reason, occurred_on=await service.today())
        return entry_out(await service.entry_detail(done["id"]), principal.tenant.currency)

    @get("/{fund_id:uuid}/contributions", opt={"permission": Perm.FINANCE_READ})
    async def contributions(self, fund_id: FromPath[uuid.UUID], principal: PrincipalDep
                            ) -> list[schemas.ContributionOut]:
        await service.get_fund(principal, fund_id)
        rows = await service.list_contributions(fund_id)
        return [contribution_out(r, await attachments.list_for("fund_contribution", r["id"]), principal.tenant.currency)
                for r in rows]

    @post("/{fund_id:uuid}/contributions", opt={"permission": Perm.FINANCE_MANAGE}, status_code=201)
    async def contribute(self, fund_id: FromPath[uuid.UUID], data: JSONBody[schemas.ContributionCreate],
                         principal: PrincipalDep) -> schemas.ContributionOut:
        """Money in from a source: `reserve` (set aside at a project's set-up), `maintenance_fund` (the building
        maintenance fund: `reference` names the owners' committee decision), `warranty_deposit` (withheld from
        a contractor), `other`."""
        await service.writable_fund(principal, fund_id)
        amount = minor_units(principal, data.amount, "amount") or 0
        row = await service.record_contribution(fund_id, kind=data.kind, source=data.source, amount=amount,
                                                received_on=data.received_on, reference=data.reference,
                                                note=data.note, recorded_by=principal.user_id)
        return contribution_out(row, [], principal.tenant.currency)

    @post("/contributions/{contribution_id:uuid}/attachments",
          opt={"permission": Perm.FINANCE_MANAGE, "statuses": (415,)}, status_code=201,
          request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
    async def attach(self, contribution_id: FromPath[uuid.UUID], principal: PrincipalDep,
                     data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
                     ) -> schemas.ContributionOut:
        """Keep the evidence with a contribution (the committee's decision, the deposit clause): a photo or a
        PDF, as the multipart field `file`."""
        rows = await service.list_contributions_by_id([contribution_id])
        if not rows:
            raise NotFound("no such contribution", code="contribution_not_found")
        await service.writable_fund(principal, rows[0]["fund"])
        await attachments.attach(principal, "fund_contribution", contribution_id,
                                 filename=data.file.filename or "evidence", data=await data.file.read())
        return contribution_out(rows[0], await attachments.list_for("fund_contribution", contribution_id),
                                principal.tenant.currency)

    @post("/rollover", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def rollover(self, data: JSONBody[schemas.RolloverCreate], principal: PrincipalDep) -> schemas.RolloverOut:
        """Carry each fund's unspent money of a finished year into its next year (the job does this on 1 January;
        running it again changes nothing). Only the funds your finance rights cover."""
        moved = await service.rollover(data.year, codes=await service.codes_visible(principal, Perm.FINANCE_MANAGE))
        return schemas.RolloverOut(year=data.year, moved=[
            schemas.RolloverLine(fund=m["fund"], amount=to_money(m["amount"], principal.tenant.currency),
                                 entry_seq=m["entry_seq"]) for m in moved])


class AccrualController(Controller):
    path = "/api/v1/fund-accruals"
    tags = ["funds"]
    dependencies = _P

    @get("/rules", opt={"permission": Perm.FINANCE_READ})
    async def list_rules(self, principal: PrincipalDep, fund_code: FundCode = None) -> list[schemas.AccrualRuleOut]:
        """The accrual rules of the funds you may see."""
        codes = await service.codes_visible(principal)
        return [rule_out(r) for r in await service.list_rules(fund_code) if r["fund_code"] in codes]

    @post("/rules", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def save_rule(self, data: JSONBody[schemas.AccrualRuleSave], principal: PrincipalDep
                        ) -> schemas.AccrualRuleOut:
        """Create the rule, or change the one with this fund code and code. The rate is in basis points of the
        base (5 = 0.05 %); the amount of a period is rounded half-up to the fen, once per period."""
        await _may_run(principal, data.fund_code, "rule")
        return rule_out(await service.save_rule(**{f: getattr(data, f) for f in data.__struct_fields__}))

    @get("/periods", opt={"permission": Perm.FINANCE_READ})
    async def periods(self, principal: PrincipalDep, fund_code: FundCode = None, overdue: Overdue = False,
                      after: After = None, limit: Limit = 50) -> schemas.AccrualPeriodList:
        """The periods of the funds you may see with their base, accrued amount, due date and payments, the
        latest first (by start, then rule code), a keyset page at a time (`after` = the previous page's
        `next_after`). `total` counts at most 10,000 (`total_capped` says when there are more)."""
        codes = await service.codes_visible(principal)
        rows, total, more = await service.period_page(codes=codes, fund_code=fund_code, overdue_only=overdue,
                                                      after=after, limit=limit + 1)
        rows, cursor = next_after(rows, limit, service.period_cursor)
        return schemas.AccrualPeriodList(items=[period_out(r, principal.tenant.currency) for r in rows],
                                         total=total, total_capped=more, limit=limit, next_after=cursor)

    @post("/rules/{rule_id:uuid}/periods", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def enter_base(self, rule_id: FromPath[uuid.UUID], data: JSONBody[schemas.BaseEntry],
                         principal: PrincipalDep) -> schemas.AccrualPeriodOut:
        """The base the source reported for a finished period: posts the receivable. A different base for the
        same period reverses the earlier accrual and posts the new one; the same base changes nothing."""
        await _may_run(principal, (await service.get_rule(rule_id))["fund_code"], "rule")
        base = minor_units(principal, data.base, "base") or 0
        row = await service.enter_base(rule_id, data.period, base, entered_by=principal.user_id)
        return period_out(row, principal.tenant.currency)

    @post("/periods/{period_id:uuid}/payments", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def pay(self, period_id: FromPath[uuid.UUID], data: JSONBody[schemas.PaymentEntry],
                  principal: PrincipalDep) -> schemas.AccrualPeriodOut:
        """Money received against a period (all or part of what is outstanding)."""
        await _may_run(principal, (await service.get_period(period_id))["fund_code"], "period")
        amount = minor_units(principal, data.amount, "amount") or 0
        return period_out(await service.record_payment(period_id, amount, paid_on=data.paid_on),
                          principal.tenant.currency)

    @post("/import", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200,
          request_max_body_size=IMPORT_MAX_BYTES + 1024 * 1024)
    async def import_bases(self, principal: PrincipalDep,
                           data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
                           ) -> schemas.ImportOut:
        """Bases of many periods from an xlsx or CSV file with the columns rule, period and base (yuan). With any
        problem nothing is entered (422 listing each row's problems) unless `valid_only` is true, which enters
        the good rows and lists the others."""
        result = await service.import_bases(await data.file.read(), valid_only=data.valid_only,
                                            entered_by=principal.user_id,
                                            codes=await service.codes_visible(principal, Perm.FINANCE_MANAGE))
        return import_out(result)


def import_out(result: dict[str, Any]) -> schemas.ImportOut:
    return schemas.ImportOut(rows=result["rows"], entered=result["entered"], problems=[
        schemas.ImportProblemOut(row=p.row, field=p.field, code=p.error.code, message=p.error.message)
        for p in result["problems"]])


async def _may_run(principal: Principal, fund_code: str, what: str) -> None:
    """Accrual rules and periods follow their fund: only finance whose rights cover its unit runs them (else
    404, as if absent)."""
    if fund_code not in await service.codes_visible(principal, Perm.FINANCE_MANAGE):
        if what == "period":
            raise NotFound("no such accrual period", code="accrual_period_not_found")
        raise NotFound("no such accrual rule", code="accrual_rule_not_found", field="fund_code")


ROUTES: list[Any] = [FundController, AccrualController]  # api_spending adds its own
