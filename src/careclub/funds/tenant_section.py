"""The `[funds]` section of tenant files: the company's funds (each year listed), accrual rules, and
contributions already received.

    [[funds.funds]]          code, name, years = [2026], unit (org unit code; left out: company-wide),
                             description, acceptance_roles = ["role code", …] (who signs a claim's
                             acceptance; empty: one finance sign-off), off_plan_cutoff_day = 25
    [[funds.accrual_rules]]  fund (a fund code), code, name, rate_bp (5 = 0.05 %), period (month|quarter|
                             year), due_day (of the month after the period), source, base_label
    [[funds.contributions]]  fund, year, kind (reserve|maintenance_fund|warranty_deposit|other), source,
                             amount = "200000.00", received_on = 2026-01-05, reference, note

Applying is idempotent: funds and rules are matched by their codes (names and rates updated), a
contribution by fund, year, kind, source, date and amount (recorded once, never changed: a ledger
entry is corrected by reversing it, from the fund's pages)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from careclub.core.errors import ValidationFailed
from careclub.core.money import parse_amount
from careclub.funds import service
from careclub.funds.tables import Contribution
from careclub.platform.tenant_file import ApplyContext, register_section, with_path


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class FundSpec(Strict):
    code: str
    name: str
    years: Annotated[list[Annotated[int, msgspec.Meta(ge=2000, le=2100)]], msgspec.Meta(min_length=1)]
    unit: str | None = None
    description: str = ""
    acceptance_roles: list[str] = []
    off_plan_cutoff_day: Annotated[int, msgspec.Meta(ge=1, le=28)] = 25


class RuleSpec(Strict):
    fund: str
    code: str
    name: str
    rate_bp: int
    period: Literal["month", "quarter", "year"] = "quarter"
    due_day: int = 20
    source: str = ""
    base_label: str = ""


class ContributionSpec(Strict):
    fund: str
    year: int
    kind: Literal["reserve", "maintenance_fund", "warranty_deposit", "other"]
    source: str
    amount: str
    received_on: date
    reference: str = ""
    note: str = ""


class FundsSection(Strict):
    funds: list[FundSpec] = []
    accrual_rules: list[RuleSpec] = []
    contributions: list[ContributionSpec] = []


async def apply(section: FundsSection, ctx: ApplyContext) -> None:
    for i, spec in enumerate(section.funds):
        path = f"funds.funds[{i}]"
        unit_id = await ctx.unit_id(spec.unit, path=f"{path}.unit") if spec.unit else None
        for year in spec.years:
            row = await service.fund_by_code(spec.code, year)
            if row is None:
                await with_path(path, service.create_fund(code=spec.code, name=spec.name, year=year,
                                                           org_unit_id=unit_id, description=spec.description))
                ctx.changed(f"fund {spec.code} {year} created")
                row = await service.fund_by_code(spec.code, year)
                assert row is not None
            fund_wanted = (spec.name, spec.description, ",".join(spec.acceptance_roles), spec.off_plan_cutoff_day)
            if (row["name"], row["description"], row["acceptance_roles"], row["off_plan_cutoff_day"]) != fund_wanted:
                await with_path(path, service.update_fund(row["id"], name=spec.name, description=spec.description,
                                                           acceptance_roles=spec.acceptance_roles,
                                                           off_plan_cutoff_day=spec.off_plan_cutoff_day))
                ctx.changed(f"fund {spec.code} {year} updated")
    existing = {(r["fund_code"], r["code"]): r for r in await service.list_rules()}
    for i, rule in enumerate(section.accrual_rules):
        wanted: dict[str, Any] = {"name": rule.name, "rate_bp": rule.rate_bp, "period": rule.period,
                                  "due_day": rule.due_day, "source": rule.source, "base_label": rule.base_label,
                                  "active": True}
        row = existing.get((rule.fund, rule.code))
        if row is not None and all(row[k] == v for k, v in wanted.items()):
            continue
        await with_path(f"funds.accrual_rules[{i}]", service.save_rule(fund_code=rule.fund, code=rule.code,
                                                                        **wanted))
        ctx.changed(f"accrual rule {rule.fund}/{rule.code} {'updated' if row else 'created'}")
    for i, c in enumerate(section.contributions):
        path = f"funds.contributions[{i}]"
        try:
            amount = parse_amount(c.amount, field=f"{path}.amount")
        except ValidationFailed as exc:
            raise ValidationFailed("%(path)s: %(message)s", code="tenant_file_invalid", field=f"{path}.amount",
                                   params={"path": path, "message": exc.message}) from None
        fund = await service.fund_by_code(c.fund, c.year)
        if fund is None:
            raise ValidationFailed("%(path)s: no fund %(code)s for %(year)s is listed", code="tenant_file_invalid",
                                   field=f"{path}.fund", params={"path": path, "code": c.fund, "year": c.year})
        if await Contribution.exists().where(Contribution.fund == fund["id"], Contribution.kind == c.kind,
                                             Contribution.source == c.source.strip(),
                                             Contribution.received_on == c.received_on, Contribution.amount == amount):
            continue
        await with_path(path, service.record_contribution(fund["id"], kind=c.kind, source=c.source, amount=amount,
                                                           received_on=c.received_on, reference=c.reference,
                                                           note=c.note))
        ctx.changed(f"contribution to {c.fund} {c.year}: {c.source}")


register_section("funds", FundsSection, apply, order=45)
