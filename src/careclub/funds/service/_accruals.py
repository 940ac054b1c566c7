"""Accruals: money a source owes a fund as a rate of a base it reports each period (seed 000: five
basis points of a quarter's sales subscriptions, paid by the 20th of the next quarter's first month).

Staff enter (or import) the base of a period; that posts the receivable (receivable / accrued).
When the money arrives it is recorded against the period (available / receivable). A corrected base
reverses the earlier accrual and posts the new one, so the ledger shows both. A periodic job flags
periods past their due date with money outstanding."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.core.db import current_tenant_id, current_transaction, fetch
from careclub.core.errors import Conflict, NotFound, Problems, ValidationFailed
from careclub.core.money import parse_typed
from careclub.core.paging import CAP, capped, decode_keys, encode_keys
from careclub.funds import rules
from careclub.funds.rules import ACCRUED, AVAILABLE, RECEIVABLE, Line
from careclub.funds.service._funds import check_code, create_fund, fund_by_code, today
from careclub.funds.service._ledger import post, reverse
from careclub.funds.tables import AccrualPeriod, AccrualRule
from careclub.platform import audit
from careclub.web.imports import Field, RowProblem, RowsRefused, read_table


async def list_rules(fund_code: str | None = None) -> list[dict[str, Any]]:
    query = AccrualRule.select().order_by(AccrualRule.fund_code).order_by(AccrualRule.code)
    if fund_code is not None:
        query = query.where(AccrualRule.fund_code == fund_code)
    return await query


async def get_rule(rule_id: uuid.UUID) -> dict[str, Any]:
    row = await AccrualRule.select().where(AccrualRule.id == rule_id).first()
    if row is None:
        raise NotFound("no such accrual rule", code="accrual_rule_not_found", field="rule")
    return row


def _check_rule(problems: Problems, *, name: str, rate_bp: int, period: str, due_day: int) -> None:
    if not (name or "").strip():
        problems.add(ValidationFailed("name is required", field="name"))
    if not isinstance(rate_bp, int) or not 1 <= rate_bp <= 10_000:
        problems.add(ValidationFailed("rate must be between 1 and 10,000 basis points (0.01 % to 100 %)",
                                      field="rate_bp"))
    if period not in rules.PERIODS:
        problems.add(ValidationFailed("period must be one of %(choices)s", field="period",
                                      params={"choices": ", ".join(rules.PERIODS)}))
    if not isinstance(due_day, int) or not 1 <= due_day <= 31:
        problems.add(ValidationFailed("the due day must be between 1 and 31", field="due_day"))


async def save_rule(*, fund_code: str, code: str, name: str, rate_bp: int, period: str = "quarter",
                    due_day: int = 20, source: str = "", base_label: str = "", active: bool = True
                    ) -> dict[str, Any]:
    """Create the rule, or change the one with this fund code and code (the tenant file and the page)."""
    problems = Problems()
    fund_code = problems.check(check_code, fund_code, field="fund_code")
    code = problems.check(check_code, code)
    _check_rule(problems, name=name, rate_bp=rate_bp, period=period, due_day=due_day)
    if fund_code and not await fetch("SELECT 1 FROM care_fund WHERE tenant_id = $1 AND code = $2 LIMIT 1",
                                     current_tenant_id(), fund_code):
        problems.add(NotFound("no fund has the code %(code)s", code="fund_not_found", field="fund_code",
                              params={"code": fund_code}))
    problems.done()
    values: dict[Any, Any] = {AccrualRule.name: name.strip(), AccrualRule.rate_bp: rate_bp, AccrualRule.period: period,
              AccrualRule.due_day: due_day, AccrualRule.source: (source or "").strip(),
              AccrualRule.base_label: (base_label or "").strip(), AccrualRule.active: active}
    existing = await AccrualRule.select().where(AccrualRule.fund_code == fund_code, AccrualRule.code == code).first()
    if existing is None:
        row = AccrualRule(fund_code=fund_code, code=code)
        for column, value in values.items():
            setattr(row, column._meta.name, value)
        await row.save()
        rule_id = row.id
        await audit.record("fund.accrual_rule.create", "fund_accrual_rule", rule_id,
                           after={"code": code, "rate_bp": rate_bp, "period": period})
    else:
        rule_id = existing["id"]
        if existing["period"] != period and await AccrualPeriod.exists().where(AccrualPeriod.rule == rule_id):
            raise Conflict("the period of a rule with entered periods cannot change; make a new rule",
                           code="accrual_period_fixed", field="period")
        await AccrualRule.update(values).where(AccrualRule.id == rule_id)
        await audit.record("fund.accrual_rule.update", "fund_accrual_rule", rule_id,
                           before={"rate_bp": existing["rate_bp"], "due_day": existing["due_day"]},
                           after={"rate_bp": rate_bp, "due_day": due_day})
    return await get_rule(rule_id)


async def _fund_for(rule: dict[str, Any], year: int) -> dict[str, Any]:
    """The fund's year the period belongs to; created (named as the latest year) when it is missing."""
    fund = await fund_by_code(rule["fund_code"], year)
    if fund is not None:
        return fund
    latest = await fetch("SELECT name, org_unit_id, description FROM care_fund WHERE tenant_id = $1 AND code = $2 "
                         "ORDER BY year DESC LIMIT 1", current_tenant_id(), rule["fund_code"])
    if not latest:
        raise NotFound("no fund has the code %(code)s", code="fund_not_found", field="fund_code",
                       params={"code": rule["fund_code"]})
    return await create_fund(code=rule["fund_code"], name=latest[0]["name"], year=year,
                             org_unit_id=latest[0]["org_unit_id"], description=latest[0]["description"])


async def enter_base(rule_id: uuid.UUID, label: str, base: int, *, entered_by: uuid.UUID | None = None
                     ) -> dict[str, Any]:
    """The base a source reported for a period; posts (or re-posts) the period's accrual. The same base
    again changes nothing. A period is locked while it changes, so two clerks entering it at once
    leave one accrual, not two."""
    rule = await get_rule(rule_id)
    if base < 0:
        raise ValidationFailed("the base must not be negative", field="base")
    starts_on, ends_on, label = rules.period_of(rule["period"], rules.parse_label(rule["period"], label))
    if ends_on >= await today():
        raise Conflict("the period %(label)s has not ended yet", code="period_not_ended", field="period",
                       params={"label": label})
    fund = await _fund_for(rule, starts_on.year)
    tenant_id = current_tenant_id()
    await fetch("""INSERT INTO fund_accrual_period (id, tenant_id, created_at, rule, fund, label, starts_on, ends_on,
                       base, amount, due_on, paid, overdue_flagged, entered_by)
                   VALUES (gen_random_uuid(), $1, now(), $2, $3, $4, $5, $6, 0, 0, $7, 0, false, $8)
                   ON CONFLICT (tenant_id, rule, starts_on) DO NOTHING""",
                tenant_id, rule_id, fund["id"], label, starts_on, ends_on, rules.due_on(ends_on, rule["due_day"]),
                entered_by)
    period = (await fetch("SELECT * FROM fund_accrual_period WHERE tenant_id = $1 AND rule = $2 AND starts_on = $3 "
                          "FOR UPDATE", tenant_id, rule_id, starts_on))[0]
    amount = rules.accrue(base, rule["rate_bp"])
    if period["accrual_entry"] is not None and period["base"] == base:
        return await get_period(period["id"])
    if amount < period["paid"]:
        raise Conflict("%(paid)s has been received for %(label)s already, more than the new base accrues",
                       code="accrual_below_paid", field="base",
                       params={"paid": period["paid"] / 100, "label": label})
    day = await today()
    if period["accrual_entry"] is not None:
        await reverse(period["accrual_entry"], reason=f"base {period['base'] / 100:.2f} → {base / 100:.2f}",
                      occurred_on=day)
    entry_id = None
    if amount > 0:
        entry = await post(cause="accrual", cause_id=period["id"], occurred_on=day, reference=f"{rule['code']} {label}",
                           memo=rule["name"], lines=[Line(fund["id"], RECEIVABLE, amount),
                                                     Line(fund["id"], ACCRUED, -amount)])
        entry_id = entry["id"]
    await AccrualPeriod.update({AccrualPeriod.base: base, AccrualPeriod.amount: amount,
                                AccrualPeriod.accrual_entry: entry_id, AccrualPeriod.entered_by: entered_by}
                               ).where(AccrualPeriod.id == period["id"])
    await audit.record("fund.accrual", "fund_accrual_period", period["id"],
                       before={"base": period["base"], "amount": period["amount"]},
                       after={"base": base, "amount": amount, "label": label})
    return await get_period(period["id"])


async def record_payment(period_id: uuid.UUID, amount: int, *, paid_on: date) -> dict[str, Any]:
    """Money received against a period's accrual (part or all of what is outstanding)."""
    rows = await fetch("SELECT * FROM fund_accrual_period WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                       current_tenant_id(), period_id)
    if not rows:
        raise NotFound("no such accrual period", code="accrual_period_not_found", field="period")
    period = rows[0]
    outstanding = period["amount"] - period["paid"]
    if amount <= 0:
        raise ValidationFailed("amount must be more than zero", field="amount")
    if amount > outstanding:
        raise Conflict("only %(outstanding)s is outstanding for %(label)s", code="overpayment", field="amount",
                       params={"outstanding": f"{outstanding / 100:,.2f}", "label": period["label"]})
    if paid_on > await today():
        raise ValidationFailed("the payment date may not be in the future", field="paid_on")
    await post(cause="collection", cause_id=period_id, occurred_on=paid_on, reference=period["label"],
               lines=[Line(period["fund"], AVAILABLE, amount), Line(period["fund"], RECEIVABLE, -amount)])
    await AccrualPeriod.update({AccrualPeriod.paid: period["paid"] + amount, AccrualPeriod.paid_on: paid_on}
                               ).where(AccrualPeriod.id == period_id)
    await audit.record("fund.collection", "fund_accrual_period", period_id, after={"amount": amount})
    return await get_period(period_id)


def status_of(period: dict[str, Any], day: date) -> str:
    if period["amount"] == 0:
        return "nothing_due"
    if period["paid"] >= period["amount"]:
        return "paid"
    if period["due_on"] < day:
        return "overdue"
    return "partly_paid" if period["paid"] else "awaiting_payment"


_PERIODS = """
SELECT p.*, r.code AS rule_code, r.name AS rule_name, r.rate_bp, f.code AS fund_code, f.year AS fund_year
FROM fund_accrual_period p JOIN fund_accrual_rule r ON r.tenant_id = p.tenant_id AND r.id = p.rule
JOIN care_fund f ON f.tenant_id = p.tenant_id AND f.id = p.fund
WHERE p.tenant_id = $1
"""


async def get_period(period_id: uuid.UUID) -> dict[str, Any]:
    rows = await fetch(_PERIODS + " AND p.id = $2", current_tenant_id(), period_id)
    if not rows:
        raise NotFound("no such accrual period", code="accrual_period_not_found", field="period")
    rows[0]["status"] = status_of(rows[0], await today())
    return rows[0]


def period_cursor(row: dict[str, Any]) -> str:
    """Where the next page of periods starts: after this period in their order (start, rule code, id)."""
    return encode_keys(row["starts_on"], row["rule_code"], row["id"])


async def period_page(*, codes: set[str], fund_code: str | None = None, overdue_only: bool = False,
                      payable_only: bool = False, after: str | None = None, limit: int = 50
                      ) -> tuple[list[dict[str, Any]], int, bool]:
    """A keyset page of the periods of the funds whose codes are given, the latest period first (by its
    start, then rule code): `limit` rows (ask for one more than shown to know whether there is a next page),
    how many match (counted up to `CAP`) and whether there are more. `overdue_only`: past the due date with
    money outstanding; `payable_only`: with money outstanding."""
    day = await today()
    args: list[Any] = [current_tenant_id(), sorted(codes)]
    where = ["p.tenant_id = $1", "f.code = ANY($2::text[])"]
    if fund_code is not None:
        args.append(fund_code)
        where.append(f"f.code = ${len(args)}")
    if overdue_only or payable_only:
        where.append("p.amount > 0 AND p.paid < p.amount")
    if overdue_only:
        args.append(day)
        where.append(f"p.due_on < ${len(args)}")
    joins = _PERIODS[_PERIODS.index("FROM"):_PERIODS.index("WHERE")]
    counted = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 {joins} WHERE {' AND '.join(where)} "
                          f"LIMIT {CAP + 1}) AS capped", *args)
    total, more = capped(int(counted[0]["n"]))
    if after:
        start, code, ident = decode_keys(after, date, str, uuid.UUID) or ()
        args += [start, code, ident]
        n = len(args)
        where.append(f"(p.starts_on < ${n - 2} OR (p.starts_on = ${n - 2} AND (r.code, p.id) > (${n - 1}, ${n})))")
    args.append(limit)
    rows = await fetch(_PERIODS.replace("WHERE p.tenant_id = $1", "WHERE " + " AND ".join(where))
                       + f" ORDER BY p.starts_on DESC, r.code, p.id LIMIT ${len(args)}", *args)
    for r in rows:
        r["status"] = status_of(r, day)
    return rows, total, more


async def flag_overdue() -> list[dict[str, Any]]:
    """Mark once each period past its due date with money outstanding (the job; the pages show every
    overdue period whether flagged or not). Answers the periods newly flagged."""
    rows = await fetch("UPDATE fund_accrual_period SET overdue_flagged = true WHERE tenant_id = $1 AND paid < amount "
                       "AND due_on < $2 AND NOT overdue_flagged RETURNING id, label, amount - paid AS outstanding",
                       current_tenant_id(), await today())
    for r in rows:
        await audit.record("fund.accrual.overdue", "fund_accrual_period", r["id"],
                           after={"label": r["label"], "outstanding": r["outstanding"]})
    return rows


IMPORT_FIELDS = [Field("rule", ("rule", "规则", "规则代码", "rule code")),
                 Field("period", ("period", "期间", "季度", "月份")),
                 Field("base", ("base", "基数", "销售认购金额", "金额", "amount"))]


async def import_bases(data: bytes, *, valid_only: bool = False, entered_by: uuid.UUID | None = None,
                       codes: set[str] | None = None) -> dict[str, Any]:
    """Bases for many periods from an xlsx or CSV (columns: rule code, period label, base in yuan). Every
    row is checked first; with any problem nothing is entered unless `valid_only`, which enters the good
    rows and reports the others."""
    table = read_table(data, IMPORT_FIELDS)
    by_code = {r["code"]: r for r in await list_rules()}
    problems: list[RowProblem] = []
    good: list[tuple[int, dict[str, Any], str, int]] = []
    for number, row in table.rows:
        rule = by_code.get(row["rule"].strip())
        bad = len(problems)
        if rule is None:
            problems.append(RowProblem(number, "rule", NotFound("no accrual rule has the code %(code)s",
                                                                code="accrual_rule_not_found", field="rule",
                                                                params={"code": row["rule"]})))
        else:
            try:
                rules.parse_label(rule["period"], row["period"])
            except ValidationFailed as exc:
                problems.append(RowProblem(number, "period", exc))
        try:
            base = parse_typed(row["base"], field="base")
        except ValidationFailed as exc:
            problems.append(RowProblem(number, "base", exc))
        if len(problems) == bad and rule is not None:
            good.append((number, rule, row["period"], base))
    entered = 0
    if problems and not valid_only:
        raise RowsRefused(problems)
    for number, rule, label, base in good:
        try:
            async with current_transaction().connection.transaction():  # a savepoint: a refused row leaves nothing
                await enter_base(rule["id"], label, base, entered_by=entered_by)
            entered += 1
        except (ValidationFailed, Conflict, NotFound) as exc:
            problems.append(RowProblem(number, exc.field or "row", exc))
    if problems and not valid_only:
        raise RowsRefused(problems)
    return {"entered": entered, "problems": problems, "rows": len(table.rows)}
