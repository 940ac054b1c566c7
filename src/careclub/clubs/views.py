"""The clubs' pages: the member's card (rotating QR), the merchant's scanner, the public join
page of a club, and the admin overview of clubs, plans, merchants and benefits."""

from __future__ import annotations

import inspect
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from careclub.clubs import (
    dashboard,
    payable,
    rules,
    schemas,
    service,
    views_keys,
    views_lists,
    views_merchants,
    views_staff,
)
from careclub.clubs.tables import Benefit, BenefitMerchant, CardEvent, Club, Plan, Vehicle
from careclub.core import ratelimit
from careclub.core.db import bind_tenant
from careclub.core.error_messages import form_errors
from careclub.core.errors import AppError, Conflict, NotFound, Problems, RateLimited
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_typed
from careclub.core.principal import Actor, Principal, set_actor
from careclub.core.security import MIN_PASSWORD_LENGTH, check_password_strength
from careclub.payments import service as payments
from careclub.platform import rules as prules
from careclub.platform import service as platform_service
from careclub.platform.api import client_address
from careclub.platform.permissions import Perm
from careclub.platform.tables import User
from careclub.platform.views import page, principal_of, start_session
from careclub.platform.views_admin._common import error_text
from careclub.settings import Settings
from careclub.web.svg import trusted_svg

KEY_STATUSES = {"active": N_("active"), "retiring": N_("retiring"), "retired": N_("retired"),
                "revoked": N_("revoked")}


def key_status(status: str) -> str:
    return _(KEY_STATUSES[status]) if status in KEY_STATUSES else status


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_of(request)
    assert principal is not None, "the guard lets no anonymous request reach here"
    return principal


# Why a Pay button led back to the card instead of to the checkout (shown in the reader's language).
PAY_ERRORS = ("online_payments_unavailable", "payment_provider_unavailable", "already_paid", "card_state_conflict",
              "auto_renewal_on", "auto_renewal_off", "auto_renewal_unavailable")


@get("/club/card", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_card(request: Request[Any, Any, Any], pay_error: FromQuery[str | None] = None) -> Template:
    """The member's cards: QR (refreshed by /static/clubs/card.js), validity, plan, benefits
    left, recent check-ins."""
    principal = _principal(request)
    cards = await service.cards_of_user(principal.user_id)
    shown = []
    for card in cards:
        if card["status"] == "cancelled" and card.get("replaces") is None and len(cards) > 1:
            continue
        live = card["status"] in ("active", "in_grace")
        waiting = None
        if card["status"] == "pending":
            approved = await CardEvent.exists().where(CardEvent.card == card["id"], CardEvent.kind == "approved")
            waiting = "approval" if card["approval_request"] and not approved else "payment"
        row = await service.get_card(principal, card["card_no"])
        fee = row["plan.fee"]
        auto_plan = await Plan.select(Plan.auto_renew).where(Plan.id == row["plan"]).first()
        shown.append({
            **card,
            "waiting": waiting,
            "fee": fee,
            # pay the pending period, or renew ahead while the card is live (not a closed or suspended one)
            "payable": fee > 0 and (waiting == "payment" or live),
            "auto_renew_offered": bool(auto_plan and auto_plan["auto_renew"]) and fee > 0 and card["status"] in (
                "pending", "active", "in_grace", "expired"),
            "auto_renewal": await payments.subscription_of(payable.KIND, card["id"]),
            "qr": _with_svg(await service.issue_qr(principal, card["card_no"])) if live else None,
            "benefits": await service.benefits_left(card["id"], timezone=principal.tenant.timezone),
            "checkins": await service.list_checkins(card_id=card["id"], limit=5),
        })
    return page(request, "clubs/card.html", cards=shown, status_label=views_staff.status_label,
                pay_error=error_text(AppError("", code=pay_error)) if pay_error in PAY_ERRORS else None)


def _with_svg(qr: dict[str, Any]) -> dict[str, Any]:
    """The QR as markup for the page (checked: a plain drawing of the signed token)."""
    return {**qr, "svg": trusted_svg(qr["svg"])}


@get("/club/card/{card_no:str}/qr.json", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_card_qr(request: Request[Any, Any, Any], card_no: FromPath[str]) -> dict[str, Any]:
    out = await service.issue_qr(_principal(request), card_no)
    return {"token": out["token"], "expires_at": out["expires_at"], "svg": out["svg"]}


# What the scanner page's script says (/static/clubs/scan.js), by check-in answer.
SCAN_MESSAGES = {
    "accepted": N_("Accepted"), "refused": N_("Refused"), "valid_until": N_("Valid until"), "discount": N_("Discount"),
    "payable": N_("To pay"), "static": N_("Static card"), "left": N_("left"),
    "in_grace": N_("In grace period — remind the member to renew"),
    "bad_signature": N_("The code's signature is not valid"), "malformed": N_("Not a member code"),
    "expired_token": N_("The code has expired: ask the member to refresh it"),
    "replayed": N_("This code was used already"),
    "wrong_tenant": N_("This card belongs to another company"), "card_not_found": N_("No such card"),
    "card_inactive": N_("The card is not active"), "card_expired": N_("The card has expired"),
    "merchant_not_in_network": N_("Not valid at this merchant"),
    "quota_exhausted": N_("Benefit used up for this period"),
    "no_camera": N_("No camera available: type or paste the code"),
    "bad_amount": N_("The bill amount is not an amount in yuan: type it like 100 or 1,314.50"),
    "benefit_not_offered": N_("This merchant does not offer that benefit"),
    "not_a_merchant_operator": N_("You do not scan for any merchant: ask your administrator to link you"),
    "csrf_failed": N_("The page has expired: reload it and scan again"),
    "not_authenticated": N_("You were signed out: sign in again and scan again"),
    "forbidden": N_("You may not check members in"),
    "rate_limited": N_("Too many scans at once: wait a moment and scan again"),
    "network": N_("No connection: check the network and scan again"),
    "error": N_("The check-in did not go through: scan again"),
}
# The most a bill may be (the check-in keeps it in an integer column, as the API's MoneyIn32 does).
MAX_BILL = 999_999_999


@get("/club/scan", opt={"permission": Perm.CHECKINS_SCAN}, include_in_schema=False)
async def scanner(request: Request[Any, Any, Any]) -> Template:
    principal = _principal(request)
    merchant = await service.operator_merchant(principal)
    benefits = await BenefitMerchant.select(BenefitMerchant.benefit.code, BenefitMerchant.benefit.name).where(
        BenefitMerchant.merchant == merchant["id"], BenefitMerchant.benefit.active == True)  # noqa: E712
    today = await service.list_checkins(merchant_id=merchant["id"], during=service.local_day(principal.tenant.timezone),
                                        limit=100)
    return page(request, "clubs/scan.html", merchant=merchant, benefits=benefits, today=today,
                scan_messages={key: _(text) for key, text in SCAN_MESSAGES.items()})


@post("/club/scan/checkin", opt={"permission": Perm.CHECKINS_SCAN}, include_in_schema=False, status_code=201)
async def scanner_checkin(request: Request[Any, Any, Any], data: JSONBody[schemas.ScanPageCheckin]) -> Response[Any]:
    """The scanner page's check-in (session + CSRF header); the same service as the API. The bill amount
    is what the cashier typed, in yuan ("100", "1,314.50"); one that is not answers `bad_amount`."""
    from careclub.core.money import parse_typed, to_money

    principal = _principal(request)
    amount = None
    if data.amount is not None and data.amount.strip():
        refused = AppError("the bill amount must be an amount in yuan, like 100 or 1,314.50", code="bad_amount",
                           status_code=422, field="amount", extra={"accepted": False, "reason": "bad_amount"})
        try:
            minor = parse_typed(data.amount, field="amount")
        except AppError:
            raise refused from None
        if minor > MAX_BILL:
            raise refused
        amount = to_money(minor, principal.tenant.currency)
    body = await service.check_in(principal, token=data.token, benefit=data.benefit, amount=amount,
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


JOIN_FIELDS = ("plan", "name", "phone", "plate", "vin", "policy_no", "email")


def _join_url(slug: str, club_code: str) -> str:
    return f"/join/{quote(slug)}/{quote(club_code)}"


async def _join_page(request: Request[Any, Any, Any], tenant: Any, club: dict[str, Any], plans: list[dict[str, Any]],
                     *, status_code: int = 200, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, done: dict[str, Any] | None = None) -> Template:
    # After a failed write the transaction may be aborted (a unique violation lost to a racing
    # applicant): answers other than the blank form query nothing more.
    benefits = [] if status_code != 200 else await Benefit.select(Benefit.name, Benefit.group_name).where(
        Benefit.club == club["id"], Benefit.active == True)  # noqa: E712
    principal = principal_of(request)
    signed_in = principal is not None and principal.tenant.id == tenant.id
    url = _join_url(tenant.slug, club["code"])
    login_url = "/login?" + urlencode({"tenant": tenant.slug, "next": url})
    return page(request, "clubs/join.html", status_code=status_code, club=club, plans=plans, benefits=benefits,
                form=form or {}, errors=errors or {}, public_tenant=tenant, done=done, signed_in=signed_in,
                login_url=login_url)


@get("/join/{slug:str}/{club_code:str}", opt={"public": True}, include_in_schema=False)
async def join_form(request: Request[Any, Any, Any], slug: FromPath[str], club_code: FromPath[str]) -> Template:
    tenant, club, plans = await _public_club(slug, club_code)
    return await _join_page(request, tenant, club, plans)


def _message(exc: AppError) -> str:
    """The visitor's words for the errors the join form expects (the services' messages are English)."""
    known = {
        "password_too_short": _("The password is too short: use at least %(n)s characters.") % {
            "n": MIN_PASSWORD_LENGTH},
        "password_too_common": _("This password is too common and easy to guess; choose another."),
        "email_taken": _("An account with this email exists already: sign in to apply with it."),
        "vehicle_taken": _("This vehicle is registered already."),
        "vehicle_has_card": _("This vehicle already has a card in this club."),
    }
    if exc.code in CLOSED_TO_APPLICATIONS:  # the company's approval set-up, not the visitor's input
        return _("This plan cannot take applications at the moment. Please try again later or contact the club.")
    return known.get(exc.code) or error_text(exc)


# Why a plan that needs approval could take no application: its policy is missing or finds nobody.
CLOSED_TO_APPLICATIONS = ("approval_policy_missing", "approval_policy_not_found", "no_approver", "no_matching_rule",
                          "unknown_category")


async def _check_join(form: dict[str, str], passwords: tuple[str, str], plan: dict[str, Any], *,
                      account: bool) -> dict[str, str]:
    """Everything the application needs, checked before anything is written: the form's errors by field."""
    errors: dict[str, str] = {}

    async def check(field: str, fn: Any, invalid: str | None = None) -> None:
        if field in errors:
            return
        try:
            result = fn()
            if inspect.isawaitable(result):
                await result
        except AppError as exc:
            errors[exc.field or field] = invalid if invalid and exc.code == "validation_failed" else _message(exc)

    await check("name", lambda: prules.check_text(form["name"], "name", max_len=120),
                _("Give your name (at most 120 characters)."))
    await check("phone", lambda: rules.check_phone(form["phone"]),
                _("The phone number may hold only digits, an optional +, spaces or dashes."))
    if plan["requires_vehicle"] and not form["plate"]:
        errors["plate"] = _("This plan needs a vehicle: give its licence plate.")
    if form["plate"]:
        async def plate_free() -> None:
            plate = rules.check_plate(form["plate"])
            if await Vehicle.exists().where(Vehicle.plate == plate):
                raise Conflict("the vehicle is registered already", code="vehicle_taken", field="plate")
        await check("plate", plate_free, _("The licence plate must be 2–16 letters or digits."))
    if form["vin"] and len(form["vin"]) != 17:
        errors["vin"] = _("The VIN must be 17 characters.")
    if account:
        async def email_free() -> None:
            email = prules.check_email(form["email"])
            if await User.exists().where(User.email == email):
                raise Conflict("email taken", code="email_taken", field="email")

        if not form["email"]:
            errors["email"] = _("Give your email: it signs you in to follow your application.")
        else:
            await check("email", email_free)
        await check("password", lambda: check_password_strength(passwords[0]))
        if "password" not in errors and passwords[0] != passwords[1]:
            errors["password2"] = _("The two passwords differ.")
    return errors


@post("/join/{slug:str}/{club_code:str}", opt={"public": True}, include_in_schema=False)
async def join_submit(request: Request[Any, Any, Any], slug: FromPath[str], club_code: FromPath[str],
                      data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    """Apply from the public page. An anonymous applicant may (and, for a plan that needs approval,
    must) create an account here: validated first, then account, member, card and approval request
    in the request's one transaction, then signed in and sent to the card page. Any failure answers
    the form with a 4xx status, so the middleware rolls everything back."""
    settings: Settings = request.app.state.settings
    count, reset = await ratelimit.hit(f"join:{client_address(request)}", settings.join_window_seconds)
    if count > settings.joins_per_address:
        raise RateLimited("too many applications from this address; try again later", retry_after=reset)
    tenant, club, plans = await _public_club(slug, club_code)
    form = {k: (data.get(k) or "").strip() for k in JOIN_FIELDS}
    passwords = (data.get("password") or "", data.get("password2") or "")
    principal = principal_of(request)
    if principal is not None and principal.tenant.id != tenant.id:
        principal = None  # signed in elsewhere: here a visitor like any other
    plan = None
    try:
        plan = next((p for p in plans if str(p["id"]) == form["plan"]), None)
        if plan is None:
            raise AppError("choose a plan", code="validation_failed", status_code=422, field="plan")
        account = principal is None and (plan["needs_approval"] or bool(form["email"] or passwords[0]))
        errors = await _check_join(form, passwords, plan, account=account)
        if errors:
            return await _join_page(request, tenant, club, plans, status_code=422, form=form, errors=errors)
        user_id = principal.user_id if principal is not None and principal.kind == "member" else None
        if account:
            user = await platform_service.create_staff(
                None, email=form["email"], display_name=form["name"],
                unit_id=(await platform_service.root_unit())["id"], roles=["member"], password=passwords[0],
                phone=form["phone"], kind="member")
            user_id = user["id"]
            set_actor(Actor(user_id, form["name"]))  # the requester of the approval, and the audit's actor
        card = await service.apply(principal, club["id"], plan_id=plan["id"], name=form["name"],
                                   phone=form["phone"], plate=form["plate"] or None, vin=form["vin"],
                                   user_id=user_id)
    except AppError as exc:
        return await _join_page(request, tenant, club, plans, status_code=max(exc.status_code, 400), form=form,
                                errors={exc.field if exc.field in (*JOIN_FIELDS, "password", "password2")
                                        else "form": _message(exc)})
    # A paid plan that needs no approval goes straight on to the checkout page; the rest to the card.
    target = "/club/card"
    if plan["fee"] > 0 and not plan["needs_approval"] and card.get("card_no"):
        target = f"/club/card/{quote(card['card_no'])}/pay"
    if principal is None and user_id is not None:
        return await start_session(request, settings, tenant.id, user_id, target)
    if user_id is not None:
        return Redirect(target, status_code=303)
    return await _join_page(request, tenant, club, plans, status_code=201, done=card)


@get("/club/admin", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def admin_overview(request: Request[Any, Any, Any], done: FromQuery[str | None] = None) -> Template:
    return await _admin_page(request, notice=_("Saved.") if done else None)


def _chosen_club(form: dict[str, str]) -> uuid.UUID:
    try:
        return uuid.UUID(form.get("club", ""))
    except ValueError:
        raise AppError("choose a club", code="validation_failed", status_code=422, field="club") from None


def _flag(form: dict[str, str], key: str) -> bool:
    return form.get(key) in ("on", "true", "1")


@post("/club/admin/{kind:str}", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def admin_create(request: Request[Any, Any, Any], kind: FromPath[str],
                       data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    """The admin page's small forms: a club, a plan, a merchant or a benefit. What the page itself reads
    (amounts in yuan, whole numbers) is checked all together before the service sees the rest."""
    form = {k: (v or "").strip() for k, v in data.items() if k != "_csrf_token"}
    if kind not in ("club", "plan", "merchant", "benefit"):
        raise NotFound("no such form", code="not_found")
    problems = Problems()
    try:
        if kind == "club":
            await service.create_club(code=form.get("code", ""), name=form.get("name", ""),
                                      card_prefix=form.get("card_prefix", ""))
        else:
            club_id = problems.check(_chosen_club, form)
            if kind == "plan":
                fee = problems.check(parse_typed, form.get("fee") or "0", field="fee")
                numbers = {name: problems.check(views_staff.whole_number, form.get(name, ""), name, default)
                           for name, default in (("term_months", 12), ("grace_days", 0), ("static_daily_cap", 0))}
                problems.done()
                await service.create_plan(club_id, code=form.get("code", ""), name=form.get("name", ""),
                                          fee=fee, term_months=numbers["term_months"],
                                          grace_days=numbers["grace_days"],
                                          requires_vehicle=_flag(form, "requires_vehicle"),
                                          needs_approval=_flag(form, "needs_approval"),
                                          static_card=_flag(form, "static_card"),
                                          static_daily_cap=numbers["static_daily_cap"],
                                          refund_rule=form.get("refund_rule") or "remove_period")
            elif kind == "merchant":
                value = problems.check(views_staff.offer_value, form)
                problems.done()
                await service.create_merchant(club_id, code=form.get("code", ""), name=form.get("name", ""),
                                              category=form.get("category", ""), address=form.get("address", ""),
                                              offer_kind=form.get("offer_kind") or "none",
                                              offer_value=value, offer_text=form.get("offer_text", ""))
            else:
                quota = problems.check(views_staff.whole_number, form.get("quota", ""), "quota")
                problems.done()
                await service.create_benefit(club_id, code=form.get("code", ""), name=form.get("name", ""),
                                             group_name=form.get("group_name", ""), quota=quota,
                                             quota_period=form.get("quota_period") or "year",
                                             merchants=[m.strip() for m in form.get("merchants", "").split(",")
                                                        if m.strip()])
    except AppError as exc:
        return await _admin_page(request, status_code=exc.status_code,
                                 errors={"kind": kind, "fields": views_staff.with_policy_link(
                                     exc, form_errors(exc, tuple(form)))}, form=form)
    return Redirect(f"/club/admin?done={kind}", status_code=303)


async def _admin_page(request: Request[Any, Any, Any], *, status_code: int = 200, errors: dict[str, Any] | None = None,
                      form: dict[str, str] | None = None, notice: str | None = None,
                      key_error: str | None = None) -> Template:
    clubs = []
    for club in await service.list_clubs():
        clubs.append({**club, "plans": await service.list_plans(club["id"]),
                      "merchants": await service.list_merchants(club["id"]),
                      "benefits": await service.list_benefits(club["id"])})
    return page(request, "clubs/admin.html", status_code=status_code, clubs=clubs, keys=await service.list_keys(),
                tenant_slug=_principal(request).tenant.slug, errors=errors or {}, form=form or {}, notice=notice,
                offer_kinds=views_staff.OFFER_KINDS, quota_periods=views_staff.QUOTA_PERIODS, word=views_staff.word,
                key_status=key_status, key_error=key_error, overlap_minutes=views_keys.OVERLAP_MINUTES)


@get("/club/stats/{club_id:uuid}", opt={"permission": Perm.MEMBERS_READ}, include_in_schema=False)
async def stats_page(request: Request[Any, Any, Any], club_id: FromPath[uuid.UUID]) -> Template:
    principal = _principal(request)
    stats = await service.club_stats(principal, club_id)
    figures = dashboard.stats_figures(principal, stats, await service.list_merchants(club_id))
    return page(request, "clubs/stats.html", stats=stats, figures=figures)


ROUTES = [my_card, my_card_qr, scanner, scanner_checkin, join_form, join_submit, admin_overview, admin_create,
          stats_page, *views_staff.ROUTES, *views_lists.ROUTES, *views_merchants.ROUTES,
          *views_keys.ROUTES]
