"""The clubs' pages: the member's card (rotating QR), the merchant's scanner, the public join
page of a club, and the admin overview of clubs, plans, merchants and benefits."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Template

from careclub.clubs import schemas, service, views_staff
from careclub.clubs.tables import Benefit, BenefitMerchant, Club, Plan
from careclub.core import clock
from careclub.core.db import bind_tenant
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform import service as platform_service
from careclub.platform.permissions import Perm
from careclub.platform.views import page, principal_of


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_of(request)
    assert principal is not None, "the guard lets no anonymous request reach here"
    return principal


@get("/club/card", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_card(request: Request[Any, Any, Any]) -> Template:
    """The member's cards: QR (refreshed by /static/clubs/card.js), validity, plan, benefits
    left, recent check-ins."""
    principal = _principal(request)
    cards = await service.cards_of_user(principal.user_id)
    shown = []
    for card in cards:
        if card["status"] == "cancelled" and card.get("replaces") is None and len(cards) > 1:
            continue
        live = card["status"] in ("active", "in_grace")
        shown.append({
            **card,
            "qr": await service.issue_qr(principal, card["card_no"]) if live else None,
            "benefits": await service.benefits_left(card["id"], timezone=principal.tenant.timezone),
            "checkins": await service.list_checkins(card_id=card["id"], limit=5),
        })
    return page(request, "clubs/card.html", cards=shown)


@get("/club/card/{card_no:str}/qr.json", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_card_qr(request: Request[Any, Any, Any], card_no: FromPath[str]) -> dict[str, Any]:
    out = await service.issue_qr(_principal(request), card_no)
    return {"token": out["token"], "expires_at": out["expires_at"], "svg": out["svg"]}


@get("/club/scan", opt={"permission": Perm.CHECKINS_SCAN}, include_in_schema=False)
async def scanner(request: Request[Any, Any, Any]) -> Template:
    principal = _principal(request)
    merchant = await service.operator_merchant(principal)
    benefits = await BenefitMerchant.select(BenefitMerchant.benefit.code, BenefitMerchant.benefit.name).where(
        BenefitMerchant.merchant == merchant["id"], BenefitMerchant.benefit.active == True)  # noqa: E712
    day = clock.now().astimezone(ZoneInfo(principal.tenant.timezone)).date()
    today = await service.list_checkins(merchant_id=merchant["id"], day=day, limit=100)
    return page(request, "clubs/scan.html", merchant=merchant, benefits=benefits, today=today)


@post("/club/scan/checkin", opt={"permission": Perm.CHECKINS_SCAN}, include_in_schema=False, status_code=201)
async def scanner_checkin(request: Request[Any, Any, Any], data: JSONBody[schemas.CheckinCreate]) -> Response[Any]:
    """The scanner page's check-in (session + CSRF header); the same service as the API."""
    body = await service.check_in(_principal(request), token=data.token, benefit=data.benefit, amount=data.amount,
                                  idempotency_key=data.idempotency_key)
    return Response(body, status_code=201)


async def _public_club(slug: str, club_code: str) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    tenant = await platform_service.tenant_by_slug(slug)
    if tenant is None:
        raise NotFound("no such club", code="club_not_found")
    await bind_tenant(tenant.id)
    club = await Club.select().where(Club.code == club_code, Club.active == True).first()  # noqa: E712
    if club is None:
        raise NotFound("no such club", code="club_not_found")
    plans = await Plan.select().where(Plan.club == club["id"], Plan.active == True).order_by(Plan.fee)  # noqa: E712
    return tenant, club, plans


@get("/join/{slug:str}/{club_code:str}", opt={"public": True}, include_in_schema=False)
async def join_form(request: Request[Any, Any, Any], slug: FromPath[str], club_code: FromPath[str]) -> Template:
    tenant, club, plans = await _public_club(slug, club_code)
    benefits = await Benefit.select(Benefit.name, Benefit.group_name).where(Benefit.club == club["id"],
                                                                           Benefit.active == True)  # noqa: E712
    return page(request, "clubs/join.html", club=club, plans=plans, benefits=benefits, form={}, errors={},
                public_tenant=tenant, done=None)


@post("/join/{slug:str}/{club_code:str}", opt={"public": True}, include_in_schema=False)
async def join_submit(request: Request[Any, Any, Any], slug: FromPath[str], club_code: FromPath[str],
                      data: URLEncodedBody[dict[str, str]]) -> Template:
    tenant, club, plans = await _public_club(slug, club_code)
    form = {k: (data.get(k) or "").strip() for k in ("plan", "name", "phone", "plate", "vin", "policy_no")}
    try:
        try:
            plan_id = uuid.UUID(form["plan"])
        except ValueError:
            raise AppError(_("choose a plan"), code="validation_failed", status_code=422, field="plan") from None
        if not any(p["id"] == plan_id for p in plans):
            raise AppError(_("choose a plan"), code="validation_failed", status_code=422, field="plan")
        card = await service.apply(principal_of(request), club["id"], plan_id=plan_id, name=form["name"],
                                   phone=form["phone"], plate=form["plate"] or None, vin=form["vin"])
    except AppError as exc:
        return page(request, "clubs/join.html", status_code=exc.status_code, club=club, plans=plans, benefits=[],
                    form=form, errors={exc.field or "form": _(exc.message)}, public_tenant=tenant, done=None)
    return page(request, "clubs/join.html", status_code=201, club=club, plans=plans, benefits=[], form={},
                errors={}, public_tenant=tenant, done=card)


@get("/club/admin", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def admin_overview(request: Request[Any, Any, Any], done: FromQuery[str | None] = None) -> Template:
    return await _admin_page(request, notice=_("Saved.") if done else None)


def _int(form: dict[str, str], key: str, default: int = 0) -> int:
    raw = (form.get(key) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise AppError(f"{key} must be a whole number", code="validation_failed", status_code=422,
                       field=key) from None


def _flag(form: dict[str, str], key: str) -> bool:
    return form.get(key) in ("on", "true", "1")


@post("/club/admin/{kind:str}", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def admin_create(request: Request[Any, Any, Any], kind: FromPath[str],
                       data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    """The admin page's small forms: a club, a plan, a merchant or a benefit."""
    from litestar.response import Redirect

    from careclub.core.money import parse_amount

    form = {k: (v or "").strip() for k, v in data.items() if k != "_csrf_token"}
    try:
        if kind == "club":
            await service.create_club(code=form.get("code", ""), name=form.get("name", ""),
                                      card_prefix=form.get("card_prefix", ""))
        else:
            try:
                club_id = uuid.UUID(form.get("club", ""))
            except ValueError:
                raise AppError("choose a club", code="validation_failed", status_code=422, field="club") from None
            if kind == "plan":
                await service.create_plan(club_id, code=form.get("code", ""), name=form.get("name", ""),
                                          fee=parse_amount(form.get("fee") or "0", field="fee"),
                                          term_months=_int(form, "term_months", 12),
                                          grace_days=_int(form, "grace_days"),
                                          requires_vehicle=_flag(form, "requires_vehicle"),
                                          needs_approval=_flag(form, "needs_approval"),
                                          static_card=_flag(form, "static_card"),
                                          static_daily_cap=_int(form, "static_daily_cap"))
            elif kind == "merchant":
                await service.create_merchant(club_id, code=form.get("code", ""), name=form.get("name", ""),
                                              category=form.get("category", ""), address=form.get("address", ""),
                                              offer_kind=form.get("offer_kind") or "none",
                                              offer_value=_int(form, "offer_value"),
                                              offer_text=form.get("offer_text", ""))
            elif kind == "benefit":
                await service.create_benefit(club_id, code=form.get("code", ""), name=form.get("name", ""),
                                             group_name=form.get("group_name", ""), quota=_int(form, "quota"),
                                             quota_period=form.get("quota_period") or "year",
                                             merchants=[m.strip() for m in form.get("merchants", "").split(",")
                                                        if m.strip()])
            else:
                raise NotFound("no such form", code="not_found")
    except AppError as exc:
        return await _admin_page(request, status_code=exc.status_code,
                                 errors={"kind": kind, "field": exc.field, "message": _(exc.message)}, form=form)
    return Redirect("/club/admin", status_code=303)


async def _admin_page(request: Request[Any, Any, Any], *, status_code: int = 200, errors: dict[str, Any] | None = None,
                      form: dict[str, str] | None = None, notice: str | None = None) -> Template:
    clubs = []
    for club in await service.list_clubs():
        clubs.append({**club, "plans": await service.list_plans(club["id"]),
                      "merchants": await service.list_merchants(club["id"]),
                      "benefits": await service.list_benefits(club["id"])})
    return page(request, "clubs/admin.html", status_code=status_code, clubs=clubs, keys=await service.list_keys(),
                tenant_slug=_principal(request).tenant.slug, errors=errors or {}, form=form or {}, notice=notice)


@get("/club/stats/{club_id:uuid}", opt={"permission": Perm.MEMBERS_READ}, include_in_schema=False)
async def stats_page(request: Request[Any, Any, Any], club_id: FromPath[uuid.UUID]) -> Template:
    stats = await service.club_stats(_principal(request), club_id)
    return page(request, "clubs/stats.html", stats=stats, chart=service.chart_svg(stats))


ROUTES = [my_card, my_card_qr, scanner, scanner_checkin, join_form, join_submit, admin_overview, admin_create,
          stats_page, *views_staff.ROUTES]
