"""The `[[clubs]]` section of tenant files: clubs with their plans, merchants (and the operators
who scan for them), benefits, and — in demo mode only — demo members holding cards.

    [[clubs]]
    code = "vip"            name = "…"            card_prefix = "TR-"       card_digits = 6
                            description, projected_monthly_joins (new members a month the club's
                            business plan expects, a whole number ≥ 0; left out: no projection)
    [[clubs.plans]]         code, name, fee = "365.00", term_months, grace_days, requires_vehicle,
                            one_card_per_vehicle, policy_linked, needs_approval, auto_renew,
                            static_card, static_daily_cap, refund_rule (remove_period|keep)
    [[clubs.merchants]]     code, name, category, address, contact_name, contact_phone,
                            offer_kind (none|percent|amount|free), offer_value, offer_text, is_open,
                            operators = ["email", …]   (users that exist; demo users in demo mode)
    [[clubs.benefits]]      code, name, group, quota (0 = unlimited), quota_period, merchants = [codes]
    [[clubs.demo_members]]  name, phone, email (links the user), unit, plan, card_no, plate, vin,
                            id_number, policy_no, policy_days

Applying is idempotent: existing rows are compared and only differences written.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import msgspec

from careclub.clubs import service
from careclub.clubs.tables import Member, MemberCard, MerchantOperator, Vehicle
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import ValidationFailed
from careclub.core.money import parse_amount
from careclub.platform.tables import User
from careclub.platform.tenant_file import ApplyContext, register_section, with_path


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class PlanSpec(Strict):
    code: str
    name: str
    fee: str = "0.00"
    term_months: int = 12
    grace_days: int = 0
    requires_vehicle: bool = False
    one_card_per_vehicle: bool = False
    policy_linked: bool = False
    needs_approval: bool = False
    auto_renew: bool = False
    static_card: bool = False
    static_daily_cap: int = 0
    refund_rule: Literal["remove_period", "keep"] = "remove_period"


class MerchantSpec(Strict):
    code: str
    name: str
    category: str = ""
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    offer_kind: str = "none"
    offer_value: int = 0
    offer_text: str = ""
    is_open: bool = True
    operators: list[str] = []


class BenefitSpec(Strict):
    code: str
    name: str
    group: str = ""
    quota: int = 0
    quota_period: str = "year"
    merchants: list[str] = []


class DemoMemberSpec(Strict):
    name: str
    phone: str
    plan: str
    card_no: str
    email: str | None = None
    unit: str = "HQ"
    plate: str | None = None
    vin: str = ""
    id_number: str | None = None
    policy_no: str | None = None
    policy_days: int = 365


class ClubSpec(Strict):
    code: str
    name: str
    card_prefix: str
    card_digits: int = 6
    description: str = ""
    projected_monthly_joins: int | None = None
    plans: list[PlanSpec] = []
    merchants: list[MerchantSpec] = []
    benefits: list[BenefitSpec] = []
    demo_members: list[DemoMemberSpec] = []


def _diff(row: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if row.get(k) != v}


async def apply_clubs(clubs: list[ClubSpec], ctx: ApplyContext) -> None:
    for i, spec in enumerate(clubs):
        path = f"clubs[{i}]"
        club = await service.club_by_code(spec.code)
        fields: dict[str, Any] = {"name": spec.name, "card_prefix": spec.card_prefix, "card_digits": spec.card_digits,
                                  "description": spec.description,
                                  "projected_monthly_joins": spec.projected_monthly_joins}
        if club is None:
            club = await with_path(path, service.create_club(code=spec.code, **fields))
            ctx.changed(f"club {spec.code} created")
        elif changes := _diff(club, fields):
            club = await with_path(path, service.update_club(club["id"], **changes))
            ctx.changed(f"club {spec.code} updated")
        cid = club["id"]
        plans = {p["code"]: p for p in await service.list_plans(cid)}
        for j, p in enumerate(spec.plans):
            ppath = f"{path}.plans[{j}]"
            values = {f: getattr(p, f) for f in p.__struct_fields__ if f not in ("code", "fee")}
            values["fee"] = await with_path(ppath, _amount(p.fee))
            if p.code not in plans:
                await with_path(ppath, service.create_plan(cid, code=p.code, **values))
                ctx.changed(f"plan {spec.code}/{p.code} created")
            elif changes := _diff(plans[p.code], values):
                await with_path(ppath, service.update_plan(plans[p.code]["id"], **changes))
                ctx.changed(f"plan {spec.code}/{p.code} updated")
        merchants = {m["code"]: m for m in await service.list_merchants(cid)}
        for j, m in enumerate(spec.merchants):
            mpath = f"{path}.merchants[{j}]"
            values = {f: getattr(m, f) for f in m.__struct_fields__ if f not in ("code", "operators")}
            if m.code not in merchants:
                merchants[m.code] = await with_path(mpath, service.create_merchant(cid, code=m.code, **values))
                ctx.changed(f"merchant {spec.code}/{m.code} created")
            elif changes := _diff(merchants[m.code], values):
                await with_path(mpath, service.update_merchant(merchants[m.code]["id"], **changes))
                ctx.changed(f"merchant {spec.code}/{m.code} updated")
            for email in m.operators:
                user = await User.select(User.id).where(User.email == email.strip().lower()).first()
                if user is None:
                    continue  # a demo user outside demo mode: nothing to link
                linked = await MerchantOperator.select(MerchantOperator.merchant).where(
                    MerchantOperator.user == user["id"]).first()
                if not linked or linked["merchant"] != merchants[m.code]["id"]:
                    await service.link_operator(merchants[m.code]["id"], user["id"])
                    ctx.changed(f"merchant {spec.code}/{m.code} operator {email} linked")
        benefits = {b["code"]: b for b in await service.list_benefits(cid)}
        for j, b in enumerate(spec.benefits):
            bpath = f"{path}.benefits[{j}]"
            values = {"name": b.name, "group_name": b.group, "quota": b.quota, "quota_period": b.quota_period}
            if b.code not in benefits:
                await with_path(bpath, service.create_benefit(cid, code=b.code, merchants=b.merchants, **values))
                ctx.changed(f"benefit {spec.code}/{b.code} created")
            else:
                changes = _diff(benefits[b.code], values)
                moved = sorted(b.merchants) != benefits[b.code]["merchants"]
                if changes or moved:
                    await with_path(bpath, service.update_benefit(benefits[b.code]["id"], merchants=b.merchants,
                                                                   **changes))
                    ctx.changed(f"benefit {spec.code}/{b.code} updated")
        if ctx.demo:
            for j, dm in enumerate(spec.demo_members):
                await with_path(f"{path}.demo_members[{j}]", _demo_member(cid, spec.code, dm, ctx))


async def _amount(text: str) -> int:
    return parse_amount(text, field="fee")


async def _demo_member(club_id: Any, club_code: str, dm: DemoMemberSpec, ctx: ApplyContext) -> None:
    if await MemberCard.exists().where(MemberCard.card_no == dm.card_no):
        return
    plan = next((p for p in await service.list_plans(club_id) if p["code"] == dm.plan), None)
    if plan is None:
        raise ValidationFailed("no plan %(plan)r in this club", field="plan", params={"plan": dm.plan})
    unit_id = await ctx.unit_id(dm.unit, path="unit")
    user_id = None
    if dm.email:
        user = await User.select(User.id).where(User.email == dm.email.strip().lower()).first()
        user_id = user["id"] if user else None
    existing = await Member.select(Member.id).where(Member.club == club_id, Member.phone == dm.phone).first()
    member = existing or await service.create_member(None, club_id, name=dm.name, phone=dm.phone,
                                                     id_number=dm.id_number, org_unit=unit_id, user_id=user_id)
    vehicle_id = None
    if dm.plate:
        v = await Vehicle.select(Vehicle.id).where(Vehicle.plate == dm.plate.strip().upper()).first()
        vehicle_id = v["id"] if v else (await service.add_vehicle(None, member["id"], plate=dm.plate, vin=dm.vin))["id"]
    # The demo number is fixed: move the club's counter past it so later cards never collide.
    seq = int("".join(ch for ch in dm.card_no.rsplit("-", 1)[-1] if ch.isdigit()) or 0)
    await fetch("UPDATE club SET card_seq = GREATEST(card_seq, $2) WHERE id = $1", club_id, seq)
    ends = clock.now() + timedelta(days=dm.policy_days) if plan["policy_linked"] else None
    card = await service.enrol(None, member["id"], plan_id=plan["id"], vehicle_id=vehicle_id,
                               policy_no=dm.policy_no, policy_ends_at=ends, card_no=dm.card_no, via="tenant-file")
    if card["status"] == "pending":
        periods = await service.list_periods(None, dm.card_no)
        for p in periods:
            await service.mark_period_paid(p["id"], method="offline", reference="demo")
    ctx.changed(f"demo member {dm.name} with card {club_code}/{dm.card_no} created")


register_section("clubs", list[ClubSpec], apply_clubs, order=200)
