"""Funds and the movements of money inside them: creating a fund's year, contributions, commitments,
their release and reimbursement, and the year-end rollover."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import Conflict, NotFound, Problems, ValidationFailed
from careclub.core.money import format_grouped
from careclub.core.principal import Principal
from careclub.funds import rules
from careclub.funds.rules import AVAILABLE, COMMITTED, CONTRIBUTED, SPENT, Line
from careclub.funds.service._ledger import balances, post
from careclub.funds.tables import CareFund, Contribution
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today

today = company_today  # a ledger's days are the company's days, not UTC's


_FUNDS = """
SELECT f.id, f.code, f.name, f.year, f.org_unit_id, f.description, f.closed, f.created_at, f.acceptance_roles,
       f.off_plan_cutoff_day,
       u.code AS unit_code, u.name AS unit_name, u.path AS unit_path
FROM care_fund f LEFT JOIN org_unit u ON u.tenant_id = f.tenant_id AND u.id = f.org_unit_id
WHERE f.tenant_id = $1
"""


def _visible(principal: Principal | None, row: dict[str, Any], permission: str = Perm.FINANCE_READ) -> bool:
    """A fund held by a unit is seen by those whose finance rights cover that unit; a company-wide fund by
    those whose rights start at the top (a project lead sees his project's fund, not the group's)."""
    return principal is None or principal.covers(permission, row["unit_path"])


async def list_funds(principal: Principal | None, *, year: int | None = None) -> list[dict[str, Any]]:
    sql = _FUNDS + (" AND f.year = $2" if year is not None else "") + " ORDER BY f.year DESC, f.code"
    rows = [r for r in await fetch(sql, current_tenant_id(), *([year] if year is not None else []))
            if _visible(principal, r)]
    held = await balances([r["id"] for r in rows])
    for r in rows:
        r["balances"] = held[r["id"]]
    return rows


async def fund_years(principal: Principal | None) -> list[int]:
    """The years in which the reader sees a fund, the latest first (the funds page's year links)."""
    rows = await fetch("SELECT DISTINCT f.year, u.path AS unit_path FROM care_fund f LEFT JOIN org_unit u "
                       "ON u.tenant_id = f.tenant_id AND u.id = f.org_unit_id WHERE f.tenant_id = $1",
                       current_tenant_id())
    return sorted({r["year"] for r in rows if _visible(principal, r)}, reverse=True)


async def get_fund(principal: Principal | None, fund_id: uuid.UUID, *, permission: str = Perm.FINANCE_READ
                   ) -> dict[str, Any]:
    rows = await fetch(_FUNDS + " AND f.id = $2", current_tenant_id(), fund_id)
    if not rows or not _visible(principal, rows[0], permission):
        raise NotFound("no such fund", code="fund_not_found", field="fund")
    row = rows[0]
    row["balances"] = (await balances([fund_id]))[fund_id]
    return row


async def writable_fund(principal: Principal, fund_id: uuid.UUID) -> dict[str, Any]:
    """The fund, when the caller may change it (finance rights over its unit); else 404 as if absent."""
    return await get_fund(principal, fund_id, permission=Perm.FINANCE_MANAGE)


async def fund_by_code(code: str, year: int) -> dict[str, Any] | None:
    rows = await fetch(_FUNDS + " AND f.code = $2 AND f.year = $3", current_tenant_id(), code, year)
    return rows[0] if rows else None


def check_code(code: str, *, field: str = "code") -> str:
    code = (code or "").strip()
    if not code or len(code) > 32 or any(c not in rules.CODE_CHARS for c in code):
        raise ValidationFailed("%(field)s must be 1 to 32 letters, digits, - or _", field=field,
                               params={"field": field})
    return code


async def create_fund(*, code: str, name: str, year: int, org_unit_id: uuid.UUID | None = None,
                      description: str = "") -> dict[str, Any]:
    """A fund's year, with every account at zero. The same code and year twice is a 409."""
    problems = Problems()
    code = problems.check(check_code, code)
    name = (name or "").strip()
    if not name:
        problems.add(ValidationFailed("name is required", field="name"))
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        problems.add(ValidationFailed("year must be between 2000 and 2100", field="year"))
    if org_unit_id is not None and not await fetch("SELECT 1 FROM org_unit WHERE tenant_id = $1 AND id = $2",
                                                   current_tenant_id(), org_unit_id):
        problems.add(NotFound("no such org unit", code="org_unit_not_found", field="org_unit"))
    problems.done()
    if await fund_by_code(code, year) is not None:
        raise Conflict("a fund %(code)s for %(year)s exists already", code="fund_exists", field="code",
                       params={"code": code, "year": year})
    fund = CareFund(code=code, name=name, year=year, org_unit_id=org_unit_id, description=description.strip())
    await fund.save()
    await fetch("INSERT INTO fund_balance (id, tenant_id, created_at, fund, account, balance) "
                "SELECT gen_random_uuid(), $1, now(), $2, a, 0 FROM unnest($3::text[]) a",
                current_tenant_id(), fund.id, list(rules.ACCOUNTS))
    await audit.record("fund.create", "care_fund", fund.id, after={"code": code, "name": name, "year": year})
    return await get_fund(None, fund.id)


async def update_fund(fund_id: uuid.UUID, *, name: str, description: str, acceptance_roles: list[str] | None = None,
                      off_plan_cutoff_day: int | None = None) -> dict[str, Any]:
    """Name and description; who signs a claim's acceptance (role codes); the day after which off-plan
    requests join next month's batch."""
    before = await get_fund(None, fund_id)
    problems = Problems()
    name = (name or "").strip()
    if not name:
        problems.add(ValidationFailed("name is required", field="name"))
    values: dict[Any, Any] = {CareFund.name: name, CareFund.description: (description or "").strip()}
    if acceptance_roles is not None:
        roles = [r.strip() for r in acceptance_roles if r.strip()]
        known = {r["code"] for r in await fetch("SELECT code FROM role WHERE tenant_id = $1", current_tenant_id())}
        unknown = [r for r in roles if r not in known and r != "finance"]
        if unknown:
            problems.add(NotFound("no role has the code %(codes)s", code="role_not_found", field="acceptance_roles",
                                  params={"codes": ", ".join(unknown)}))
        values[CareFund.acceptance_roles] = ",".join(dict.fromkeys(roles))
    if off_plan_cutoff_day is not None:
        if not 1 <= off_plan_cutoff_day <= 28:
            problems.add(ValidationFailed("the cut-off day must be between 1 and 28", field="off_plan_cutoff_day"))
        values[CareFund.off_plan_cutoff_day] = off_plan_cutoff_day
    problems.done()
    await CareFund.update(values).where(CareFund.id == fund_id)
    await audit.record("fund.update", "care_fund", fund_id, before={"name": before["name"]}, after={"name": name})
    return await get_fund(None, fund_id)


async def record_contribution(fund_id: uuid.UUID, *, kind: str, source: str, amount: int, received_on: date,
                              reference: str = "", note: str = "", recorded_by: uuid.UUID | None = None
                              ) -> dict[str, Any]:
    """Money in from a source (seed 001): all problems of the form at once, then one entry."""
    fund = await get_fund(None, fund_id)
    problems = Problems()
    if kind not in rules.CONTRIBUTION_KINDS:
        problems.add(ValidationFailed("kind must be one of %(choices)s", field="kind",
                                      params={"choices": ", ".join(rules.CONTRIBUTION_KINDS)}))
    if not (source or "").strip():
        problems.add(ValidationFailed("source is required", field="source"))
    if amount <= 0:
        problems.add(ValidationFailed("amount must be more than zero", field="amount"))
    if kind in rules.NEEDS_REFERENCE and not (reference or "").strip():
        problems.add(ValidationFailed("the owners' committee decision reference is required for the building "
                                      "maintenance fund", field="reference"))
    problems.done()
    row = Contribution(fund=fund_id, kind=kind, source=source.strip(), amount=amount, received_on=received_on,
                       reference=(reference or "").strip(), note=(note or "").strip(), recorded_by=recorded_by)
    await row.save()
    entry = await post(cause="contribution", cause_id=row.id, occurred_on=received_on, reference=row.reference,
                       memo=row.source, lines=[Line(fund_id, AVAILABLE, amount), Line(fund_id, CONTRIBUTED, -amount)])
    await Contribution.update({Contribution.entry: entry["id"]}).where(Contribution.id == row.id)
    await audit.record("fund.contribution", "care_fund", fund_id,
                       after={"contribution": str(row.id), "kind": kind, "amount": amount, "fund": fund["code"]})
    return {**(await Contribution.select().where(Contribution.id == row.id).first() or {}), "entry_seq": entry["seq"]}


async def list_contributions(fund_id: uuid.UUID) -> list[dict[str, Any]]:
    return await Contribution.select().where(Contribution.fund == fund_id).order_by(
        Contribution.received_on, ascending=False)


async def list_contributions_by_id(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    return await Contribution.select().where(Contribution.id.is_in(ids)) if ids else []


async def commit(fund_id: uuid.UUID, amount: int, *, cause_id: uuid.UUID, reference: str = "", memo: str = "",
                 key: str | None = None) -> dict[str, Any]:
    """Approved spending sets money aside: available -> committed. Refused (409 insufficient_funds) when
    less is available, whatever else is being committed at the same moment."""
    if amount <= 0:
        raise ValidationFailed("amount must be more than zero", field="amount")
    return await post(cause="commitment", open_only=True, cause_id=cause_id, occurred_on=await today(),
                      reference=reference, memo=memo, key=key,
                      lines=[Line(fund_id, COMMITTED, amount), Line(fund_id, AVAILABLE, -amount)])


async def release(fund_id: uuid.UUID, amount: int, *, cause_id: uuid.UUID, reference: str = "", memo: str = "",
                  key: str | None = None) -> dict[str, Any]:
    """A commitment no longer needed (withdrawn, or left over after the claim): committed -> available."""
    if amount <= 0:
        raise ValidationFailed("amount must be more than zero", field="amount")
    return await post(cause="release", cause_id=cause_id, occurred_on=await today(), reference=reference, memo=memo,
                      key=key, lines=[Line(fund_id, AVAILABLE, amount), Line(fund_id, COMMITTED, -amount)])


async def reimburse(fund_id: uuid.UUID, *, committed: int, actual: int, cause_id: uuid.UUID, reference: str = "",
                    memo: str = "", key: str | None = None) -> dict[str, Any]:
    """The actual spend against a commitment, in one entry: committed -> spent, and what is left of the
    commitment back to available. More than was committed needs a new approval first."""
    if actual <= 0:
        raise ValidationFailed("the actual amount must be more than zero", field="actual")
    if actual > committed:
        raise Conflict("the claim (%(actual)s) is more than was approved (%(committed)s); more spending needs a new "
                       "approval", code="claim_exceeds_commitment", field="actual",
                       params={"actual": format_grouped(actual), "committed": format_grouped(committed)})
    lines = [Line(fund_id, SPENT, actual), Line(fund_id, COMMITTED, -committed)]
    if committed > actual:
        lines.append(Line(fund_id, AVAILABLE, committed - actual))
    return await post(cause="reimbursement", cause_id=cause_id, occurred_on=await today(), reference=reference,
                      memo=memo, key=key, lines=lines)


async def codes_visible(principal: Principal | None, permission: str = Perm.FINANCE_READ) -> set[str]:
    """The fund codes whose latest year the person may see (or, with FINANCE_MANAGE, run): accrual rules
    and periods belong to a fund code, and follow its unit."""
    rows = await fetch("SELECT DISTINCT ON (f.code) f.code, u.path AS unit_path FROM care_fund f "
                       "LEFT JOIN org_unit u ON u.tenant_id = f.tenant_id AND u.id = f.org_unit_id "
                       "WHERE f.tenant_id = $1 ORDER BY f.code, f.year DESC", current_tenant_id())
    return {r["code"] for r in rows if _visible(principal, r, permission)}


async def rollover(year: int, *, codes: set[str] | None = None) -> list[dict[str, Any]]:
    """Carry what is left available in each fund of `year` into the same fund's next year, creating that
    year's fund when missing, and mark the year closed. Running it again moves only money that arrived
    since (a late payment of a receivable): with nothing new, nothing changes. `codes` limits it to some
    funds (a person rolls over the funds he runs; the job all of them)."""
    if (await today()).year <= year:
        raise Conflict("the year %(year)s has not ended yet", code="year_not_ended", field="year",
                       params={"year": year})
    moved: list[dict[str, Any]] = []
    funds = await fetch("SELECT id, code, name, org_unit_id, description FROM care_fund "
                        "WHERE tenant_id = $1 AND year = $2 ORDER BY code", current_tenant_id(), year)
    for fund in funds:
        if codes is not None and fund["code"] not in codes:
            continue
        nxt = await fund_by_code(fund["code"], year + 1)
        if nxt is None:
            nxt = await create_fund(code=fund["code"], name=fund["name"], year=year + 1,
                                    org_unit_id=fund["org_unit_id"], description=fund["description"])
        # locked, so a commitment landing meanwhile waits instead of making the carried amount stale
        left = (await fetch("SELECT balance FROM fund_balance WHERE tenant_id = $1 AND fund = $2 AND account = $3 "
                            "FOR UPDATE", current_tenant_id(), fund["id"], AVAILABLE))[0]["balance"]
        await CareFund.update({CareFund.closed: True}).where(CareFund.id == fund["id"])
        if left <= 0:
            continue
        entry = await post(cause="rollover", cause_id=fund["id"], occurred_on=date(year + 1, 1, 1),
                           reference=f"{year}→{year + 1}", memo=fund["name"],
                           lines=rules.rollover_lines(fund["id"], nxt["id"], left))
        moved.append({"fund": fund["code"], "amount": left, "entry_seq": entry["seq"]})
    if moved:
        await audit.record("fund.rollover", "care_fund", "", after={"year": year, "moved": moved})
    return moved
