"""Clubs, plans, the merchant network and the benefits catalogue (admin configuration)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from msgspec import UNSET, UnsetType

from careclub.clubs import rules
from careclub.clubs.projection import check_monthly_joins
from careclub.clubs.tables import Benefit, BenefitMerchant, Club, Merchant, Plan
from careclub.core.db import fetch
from careclub.core.errors import Conflict, NotFound, ValidationFailed
from careclub.platform import audit
from careclub.platform import rules as prules

CLUB_FIELDS = (Club.id, Club.code, Club.name, Club.description, Club.card_prefix, Club.card_digits, Club.active,
               Club.projected_monthly_joins)
PLAN_FIELDS = (Plan.id, Plan.club, Plan.code, Plan.name, Plan.fee, Plan.term_months, Plan.grace_days,
               Plan.requires_vehicle, Plan.one_card_per_vehicle, Plan.policy_linked, Plan.needs_approval,
               Plan.auto_renew, Plan.static_card, Plan.static_daily_cap, Plan.refund_rule, Plan.active)
MERCHANT_FIELDS = (Merchant.id, Merchant.club, Merchant.code, Merchant.name, Merchant.category, Merchant.address,
                   Merchant.contact_name, Merchant.contact_phone, Merchant.offer_kind, Merchant.offer_value,
                   Merchant.offer_text, Merchant.is_open)
BENEFIT_FIELDS = (Benefit.id, Benefit.club, Benefit.code, Benefit.name, Benefit.group_name, Benefit.quota,
                  Benefit.quota_period, Benefit.active)


async def _unique(coro: Any, taken: Conflict) -> Any:
    """Saves, answering `taken` when the unique index refuses."""
    try:
        return await coro
    except asyncpg.UniqueViolationError as exc:
        raise taken from exc


# ---- clubs ----------------------------------------------------------------------------------

async def list_clubs() -> list[dict[str, Any]]:
    return await Club.select(*CLUB_FIELDS).order_by(Club.code)


async def get_club(club_id: uuid.UUID) -> dict[str, Any]:
    row = await Club.select(*CLUB_FIELDS).where(Club.id == club_id).first()
    if row is None:
        raise NotFound("no such club", code="club_not_found")
    return row


async def club_by_code(code: str) -> dict[str, Any] | None:
    return await Club.select(*CLUB_FIELDS).where(Club.code == code).first()


async def create_club(*, code: str, name: str, card_prefix: str, card_digits: int = 6,
                      description: str = "", projected_monthly_joins: int | None = None) -> dict[str, Any]:
    code, name = prules.check_code(code), prules.check_text(name, "name")
    projected_monthly_joins = check_monthly_joins(projected_monthly_joins)
    rules.check_card_prefix(card_prefix)
    if not 4 <= card_digits <= 12:
        raise ValidationFailed("card_digits must be between 4 and 12", field="card_digits")
    if await Club.exists().where(Club.code == code):
        raise Conflict("a club with code %(code)r exists already", code="club_code_taken", field="code",
                       params={"code": code})
    club = Club(code=code, name=name, card_prefix=card_prefix, card_digits=card_digits, description=description,
                projected_monthly_joins=projected_monthly_joins)
    await _unique(club.save(), Conflict("a club with code %(code)r exists already",
                                        code="club_code_taken", field="code", params={"code": code}))
    await audit.record("club.create", "club", club.id, after={"code": code, "name": name, "card_prefix": card_prefix,
                                                              "projected_monthly_joins": projected_monthly_joins})
    return await get_club(club.id)


async def update_club(club_id: uuid.UUID, *, projected_monthly_joins: int | UnsetType | None = UNSET,
                      **fields: Any) -> dict[str, Any]:
    """Changes the fields given (None leaves one as it is), except the projection, which None empties
    (left out, it stays)."""
    # Two edits of one club queue on its row, so each audit entry's `before` is what the one before left
    # (raw SQL for FOR UPDATE).
    await fetch("SELECT id FROM club WHERE id = $1 FOR UPDATE", club_id)
    club = await get_club(club_id)
    changes = {k: v for k, v in fields.items() if v is not None and club.get(k) != v}
    if projected_monthly_joins is not UNSET:
        projected = check_monthly_joins(projected_monthly_joins)
        if projected != club["projected_monthly_joins"]:
            changes["projected_monthly_joins"] = projected
    if "name" in changes:
        changes["name"] = prules.check_text(changes["name"], "name")
    if "card_prefix" in changes:
        rules.check_card_prefix(changes["card_prefix"])
    if "card_digits" in changes and not 4 <= changes["card_digits"] <= 12:
        # Only numbers given from now on change width; the sequence never repeats, so none collide.
        raise ValidationFailed("card_digits must be between 4 and 12", field="card_digits")
    if changes:
        await Club.update({getattr(Club, k): v for k, v in changes.items()}).where(Club.id == club_id)
        await audit.record("club.update", "club", club_id, before={k: club[k] for k in changes}, after=changes)
    return await get_club(club_id)


# ---- plans ----------------------------------------------------------------------------------

def _check_plan(values: dict[str, Any]) -> None:
    if values.get("fee", 0) < 0:
        raise ValidationFailed("fee cannot be negative", field="fee")
    if not 1 <= values.get("term_months", 12) <= 120:
        raise ValidationFailed("term_months must be between 1 and 120", field="term_months")
    if not 0 <= values.get("grace_days", 0) <= 366:
        raise ValidationFailed("grace_days must be between 0 and 366", field="grace_days")
    if values.get("static_daily_cap", 0) < 0:
        raise ValidationFailed("static_daily_cap cannot be negative", field="static_daily_cap")
    if values.get("refund_rule", "remove_period") not in rules.REFUND_RULES:
        raise ValidationFailed("refund_rule must be one of %(choices)s", field="refund_rule",
                               params={"choices": ', '.join(rules.REFUND_RULES)})
    if values.get("one_card_per_vehicle") and not values.get("requires_vehicle"):
        raise ValidationFailed("one card per vehicle needs requires_vehicle", field="one_card_per_vehicle")


async def list_plans(club_id: uuid.UUID) -> list[dict[str, Any]]:
    await get_club(club_id)
    return await Plan.select(*PLAN_FIELDS).where(Plan.club == club_id).order_by(Plan.code)


async def get_plan(plan_id: uuid.UUID) -> dict[str, Any]:
    row = await Plan.select(*PLAN_FIELDS).where(Plan.id == plan_id).first()
    if row is None:
        raise NotFound("no such plan", code="plan_not_found")
    return row


# Applications on a plan that needs approval go to the approval core under this subject type; its
# policy is edited on this page.
APPLICATION_SUBJECT = "member_application"
APPLICATION_POLICY_PAGE = "/approvals/policies/member_application"


async def require_application_policy(field: str = "needs_approval") -> None:
    """Refuse (409 `approval_policy_missing`) unless a current approval policy gives every member
    application a rule: without one, a plan that needs approval could take no application."""
    from careclub.approvals import service as approvals

    if not await approvals.policy_covers(APPLICATION_SUBJECT, category=None, in_plan=True):
        raise Conflict("no approval policy covers member applications: set one up at %(page)s first",
                       code="approval_policy_missing", field=field, params={"page": APPLICATION_POLICY_PAGE})


async def _check_needs_approval(values: dict[str, Any]) -> None:
    """A plan that takes members (active) and needs approval needs the applications' policy. An
    inactive plan takes no applications, so one can still be switched off when its policy is gone."""
    if values.get("needs_approval") and values.get("active", True):
        await require_application_policy()


async def create_plan(club_id: uuid.UUID, *, code: str, name: str, **values: Any) -> dict[str, Any]:
    await get_club(club_id)
    code, name = prules.check_code(code), prules.check_text(name, "name")
    _check_plan(values)
    await _check_needs_approval(values)
    if await Plan.exists().where(Plan.club == club_id, Plan.code == code):
        raise Conflict("a plan with code %(code)r exists already", code="plan_code_taken", field="code",
                       params={"code": code})
    plan = Plan(club=club_id, code=code, name=name, **values)
    await _unique(plan.save(), Conflict("a plan with code %(code)r exists already",
                                        code="plan_code_taken", field="code", params={"code": code}))
    await audit.record("club_plan.create", "club_plan", plan.id, after={"club": club_id, "code": code, **values})
    return await get_plan(plan.id)


async def update_plan(plan_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    plan = await get_plan(plan_id)
    changes = {k: v for k, v in fields.items() if v is not None and plan.get(k) != v}
    _check_plan({**plan, **changes})
    if changes:
        await _check_needs_approval({**plan, **changes})
        await Plan.update({getattr(Plan, k): v for k, v in changes.items()}).where(Plan.id == plan_id)
        await audit.record("club_plan.update", "club_plan", plan_id, before={k: plan[k] for k in changes},
                           after=changes)
    return await get_plan(plan_id)


# ---- merchants ------------------------------------------------------------------------------

def _check_offer(kind: str, value: int) -> None:
    if kind not in rules.OFFER_KINDS:
        raise ValidationFailed("offer_kind must be one of %(choices)s", field="offer_kind",
                               params={"choices": ', '.join(rules.OFFER_KINDS)})
    if kind == "percent" and not 0 < value <= 100:
        raise ValidationFailed("a percent offer needs offer_value between 1 and 100", field="offer_value")
    if kind == "amount" and value <= 0:
        raise ValidationFailed("an amount offer needs a positive offer_value (minor units)", field="offer_value")


async def list_merchants(club_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    query = Merchant.select(*MERCHANT_FIELDS).order_by(Merchant.code)
    if club_id is not None:
        query = query.where(Merchant.club == club_id)
    return await query


async def get_merchant(merchant_id: uuid.UUID) -> dict[str, Any]:
    row = await Merchant.select(*MERCHANT_FIELDS).where(Merchant.id == merchant_id).first()
    if row is None:
        raise NotFound("no such merchant", code="merchant_not_found")
    return row


async def create_merchant(club_id: uuid.UUID, *, code: str, name: str, offer_kind: str = "none",
                          offer_value: int = 0, **values: Any) -> dict[str, Any]:
    await get_club(club_id)
    code, name = prules.check_code(code), prules.check_text(name, "name")
    _check_offer(offer_kind, offer_value)
    if await Merchant.exists().where(Merchant.club == club_id, Merchant.code == code):
        raise Conflict("a merchant with code %(code)r exists already", code="merchant_code_taken", field="code",
                       params={"code": code})
    m = Merchant(club=club_id, code=code, name=name, offer_kind=offer_kind, offer_value=offer_value, **values)
    await _unique(m.save(), Conflict("a merchant with code %(code)r exists already",
                                     code="merchant_code_taken", field="code", params={"code": code}))
    await audit.record("club_merchant.create", "club_merchant", m.id,
                       after={"club": club_id, "code": code, "name": name, "offer_kind": offer_kind,
                              "offer_value": offer_value, **values})
    return await get_merchant(m.id)


async def update_merchant(merchant_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    m = await get_merchant(merchant_id)
    changes = {k: v for k, v in fields.items() if v is not None and m.get(k) != v}
    _check_offer(changes.get("offer_kind", m["offer_kind"]), changes.get("offer_value", m["offer_value"]))
    if changes:
        await Merchant.update({getattr(Merchant, k): v for k, v in changes.items()}).where(Merchant.id == merchant_id)
        await audit.record("club_merchant.update", "club_merchant", merchant_id,
                           before={k: m[k] for k in changes}, after=changes)
    return await get_merchant(merchant_id)


# ---- benefits -------------------------------------------------------------------------------

def _check_benefit(quota: int, quota_period: str) -> None:
    if quota < 0:
        raise ValidationFailed("quota cannot be negative (0 = unlimited)", field="quota")
    if quota_period not in rules.QUOTA_PERIODS:
        raise ValidationFailed("quota_period must be one of %(choices)s", field="quota_period",
                               params={"choices": ', '.join(rules.QUOTA_PERIODS)})


async def list_benefits(club_id: uuid.UUID) -> list[dict[str, Any]]:
    await get_club(club_id)
    rows = await Benefit.select(*BENEFIT_FIELDS).where(Benefit.club == club_id).order_by(Benefit.group_name).order_by(
        Benefit.code)
    links = await BenefitMerchant.select(BenefitMerchant.benefit, BenefitMerchant.merchant.code).where(
        BenefitMerchant.benefit.club == club_id)
    by_benefit: dict[Any, list[str]] = {}
    for link in links:
        by_benefit.setdefault(link["benefit"], []).append(link["merchant.code"])
    for r in rows:
        r["merchants"] = sorted(by_benefit.get(r["id"], []))
    return rows


async def get_benefit(benefit_id: uuid.UUID) -> dict[str, Any]:
    row = await Benefit.select(*BENEFIT_FIELDS).where(Benefit.id == benefit_id).first()
    if row is None:
        raise NotFound("no such benefit", code="benefit_not_found")
    links = await BenefitMerchant.select(BenefitMerchant.merchant.code).where(BenefitMerchant.benefit == benefit_id)
    row["merchants"] = sorted(link["merchant.code"] for link in links)
    return row


async def _set_benefit_merchants(benefit_id: uuid.UUID, club_id: uuid.UUID, codes: list[str]) -> bool:
    wanted = {}
    for code in codes:
        m = await Merchant.select(Merchant.id).where(Merchant.club == club_id, Merchant.code == code).first()
        if m is None:
            raise ValidationFailed("no merchant with code %(code)r in this club", field="merchants",
                                   params={"code": code})
        wanted[m["id"]] = code
    have = {r["merchant"]: r["id"] for r in await BenefitMerchant.select().where(BenefitMerchant.benefit == benefit_id)}
    for mid in set(have) - set(wanted):
        await BenefitMerchant.delete().where(BenefitMerchant.id == have[mid])
    for mid in set(wanted) - set(have):
        await BenefitMerchant(benefit=benefit_id, merchant=mid).save()
    return set(have) != set(wanted)


async def create_benefit(club_id: uuid.UUID, *, code: str, name: str, group_name: str = "", quota: int = 0,
                         quota_period: str = "year", merchants: list[str] | None = None) -> dict[str, Any]:
    await get_club(club_id)
    code, name = prules.check_code(code), prules.check_text(name, "name")
    _check_benefit(quota, quota_period)
    if await Benefit.exists().where(Benefit.club == club_id, Benefit.code == code):
        raise Conflict("a benefit with code %(code)r exists already", code="benefit_code_taken", field="code",
                       params={"code": code})
    b = Benefit(club=club_id, code=code, name=name, group_name=group_name, quota=quota, quota_period=quota_period)
    await _unique(b.save(), Conflict("a benefit with code %(code)r exists already",
                                     code="benefit_code_taken", field="code", params={"code": code}))
    await _set_benefit_merchants(b.id, club_id, merchants or [])
    await audit.record("club_benefit.create", "club_benefit", b.id,
                       after={"club": club_id, "code": code, "quota": quota, "quota_period": quota_period,
                              "merchants": merchants or []})
    return await get_benefit(b.id)


async def update_benefit(benefit_id: uuid.UUID, *, merchants: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    b = await get_benefit(benefit_id)
    changes = {k: v for k, v in fields.items() if v is not None and b.get(k) != v}
    _check_benefit(changes.get("quota", b["quota"]), changes.get("quota_period", b["quota_period"]))
    if changes:
        await Benefit.update({getattr(Benefit, k): v for k, v in changes.items()}).where(Benefit.id == benefit_id)
    moved = merchants is not None and await _set_benefit_merchants(benefit_id, b["club"], merchants)
    if changes or moved:
        await audit.record("club_benefit.update", "club_benefit", benefit_id,
                           before={**{k: b[k] for k in changes}, **({"merchants": b["merchants"]} if moved else {})},
                           after={**changes, **({"merchants": merchants} if moved else {})})
    return await get_benefit(benefit_id)


async def benefit_by_code(club_id: uuid.UUID, code: str) -> dict[str, Any] | None:
    return await Benefit.select(*BENEFIT_FIELDS).where(Benefit.club == club_id, Benefit.code == code).first()
