"""Staff pages of the clubs: the member list, enrolling a member, a member's page with its card
actions (activate, suspend, resume, cancel, reissue, renew, offline payment), and the admin's edit
forms for clubs, plans, merchants and benefits.

Every read and write goes through the clubs service, which cuts to the caller's org-unit scope: a
member outside it answers 404 exactly like a missing one. A failed action is rolled back to a
savepoint so the page can be drawn again with the error beside the form (the request then ends
with a 4xx, which rolls the whole transaction back).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from careclub.clubs import payable, rules, service
from careclub.clubs.projection import parse_monthly_joins
from careclub.clubs.service._members import CARD_STATUSES
from careclub.core import clock
from careclub.core.db import current_transaction
from careclub.core.error_messages import CODE_MESSAGES, error_text, form_errors
from careclub.core.errors import AppError, NotFound, Problems, ValidationFailed, each_error
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped, parse_typed
from careclub.core.paging import decode_cursor, next_after
from careclub.core.principal import Principal
from careclub.payments import rules as payment_rules
from careclub.payments import service as payments
from careclub.payments.views import method_label
from careclub.platform import service as platform_service
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import (
    PER_PAGE,
    Form,
    as_uuid,
    keyset_pages,
    me,
    page,
    unit_choices,
)
from careclub.web import exports
from careclub.web.svg import trusted_svg

STATUS_LABELS = {"pending": N_("pending"), "active": N_("active"), "in_grace": N_("in grace"),
                 "expired": N_("expired"), "suspended": N_("suspended"), "cancelled": N_("cancelled"),
                 "replaced": N_("replaced"), "paid": N_("paid")}
EVENT_LABELS = {"created": N_("created"), "activated": N_("activated"), "activate": N_("activated by staff"),
                "suspend": N_("suspended"), "resume": N_("resumed"), "cancel": N_("cancelled"),
                "replaced": N_("replaced (lost card)"), "reissued": N_("reissued"),
                "period_opened": N_("period opened"), "period_paid": N_("period paid"),
                "policy_renewed": N_("policy renewed"), "approval_requested": N_("approval requested"),
                "approved": N_("approved")}
DONE_TEXTS = {"enrolled": N_("The member is enrolled."), "vehicle": N_("The vehicle is added."),
              "card": N_("The card is issued."), "activate": N_("The card is active."),
              "application": N_("The application is sent for approval: the card becomes valid once it is approved."),
              "suspend": N_("The card is suspended."), "resume": N_("The card is active again."),
              "cancel": N_("The card is cancelled."), "reissue": N_("A new card replaces the lost one."),
              "renew": N_("A renewal period is open for payment."),
              "paid": N_("The payment is recorded and the card extended."), "saved": N_("Saved."),
              "edited": N_("The member's details are saved."),
              "policy": N_("The card now follows the renewed policy.")}
OFFER_KINDS = ("none", "percent", "amount", "free")
QUOTA_PERIODS = ("year", "month", "day", "ever")
KIND_WORDS = {"none": N_("none"), "percent": N_("percent"), "amount": N_("amount"), "free": N_("free"),
              "year": N_("year"), "month": N_("month"), "day": N_("day"), "ever": N_("ever")}
CARD_ACTIONS = ("activate", "suspend", "resume", "cancel", "reissue", "renew")
# service field names → the form field that holds the value
FIELD_MAP = {"plan_id": "plan", "vehicle_id": "plate", "policy_ends_at": "policy_ends_at", "club_id": "plan",
             "card_no": "form", "action": "form"}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def event_label(kind: str) -> str:
    if kind in EVENT_LABELS:
        return _(EVENT_LABELS[kind])
    return _(STATUS_LABELS[kind]) if kind in STATUS_LABELS else kind


def word(value: str) -> str:
    return _(KIND_WORDS[value]) if value in KIND_WORDS else value


def _page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    return page(request, template, status_code=status_code, status_label=status_label, event_label=event_label,
                word=word, **ctx)


def _errors(exc: AppError, fields: tuple[str, ...]) -> dict[str, str]:
    return with_policy_link(exc, form_errors(exc, fields, rename=FIELD_MAP))


def with_policy_link(exc: AppError, errors: dict[str, str]) -> dict[str, str]:
    """A plan that needs approval refused for want of the applications' approval policy: the form
    also links to the page where it is set up (`policy_link`)."""
    missing = [e for e in each_error(exc) if e.code == "approval_policy_missing"]
    if missing:
        errors["policy_link"] = service.APPLICATION_POLICY_PAGE
        # The link says where; the words need not name the bare address the service's message carries.
        bare = {error_text(e) for e in missing}
        plain = _(CODE_MESSAGES["approval_policy_missing"])
        for key, text in errors.items():
            if text in bare:
                errors[key] = plain
    return errors


async def _guarded(action: Callable[[], Awaitable[Any]]) -> tuple[Any, AppError | None]:
    """Run a service call inside a savepoint: on a refusal the transaction is usable again (to draw
    the page with the error) and nothing of the attempt remains."""
    savepoint = await current_transaction().savepoint()
    try:
        result = await action()
    except AppError as exc:
        await savepoint.rollback_to()
        return None, exc
    await savepoint.release()
    return result, None


def whole_number(value: str, field: str, default: int = 0) -> int:
    """A whole number typed into a form (empty: `default`), refused naming its field."""
    value = (value or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed("%(field)s must be a whole number", field=field, params={"field": field}) from None


def _flag(form: dict[str, str], key: str) -> bool:
    return form.get(key) in ("on", "true", "1")


def _date_end(value: str, field: str, principal: Principal) -> datetime | None:
    """A date typed on a form: the end of that day in the tenant's zone."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValidationFailed("%(field)s must be a date (YYYY-MM-DD)", field=field, params={"field": field}) from None
    return day.replace(hour=23, minute=59, second=59, tzinfo=ZoneInfo(principal.tenant.timezone))


async def _plan_choices(clubs: list[dict[str, Any]], *, active_only: bool = True) -> list[dict[str, Any]]:
    plans = []
    for club in clubs:
        for p in await service.list_plans(club["id"]):
            if p["active"] or not active_only:
                plans.append({**p, "club_name": club["name"]})
    return plans


# ---- the member list ----------------------------------------------------------------------------

MEMBER_EXPORT = [
    exports.Column(N_("Name"), lambda m: m["name"], 14),
    exports.Column(N_("Phone"), lambda m: m["phone"]),
    exports.Column(N_("Branch"), lambda m: m["org_unit.name"], 20),
    exports.Column(N_("Card number"), lambda m: " ".join(c["card_no"] for c in m["cards"])),
    exports.Column(N_("Card status"), lambda m: " ".join(status_label(c["status"]) for c in m["cards"])),
    exports.Column(N_("Plan"), lambda m: " ".join(c["plan"]["name"] for c in m["cards"]), 20),
    exports.Column(N_("Valid until"), lambda m: max((c["valid_until"] for c in m["cards"] if c["valid_until"]),
                                                  default=None), 18),
    exports.Column(N_("Joined"), lambda m: m["created_at"], 18),
]


@get("/club/members", opt={"permission": Perm.MEMBERS_READ}, include_in_schema=False)
async def member_list(request: Request[Any, Any, Any], q: FromQuery[str | None] = None,
                      club: FromQuery[str | None] = None, plan: FromQuery[str | None] = None,
                      status: FromQuery[str | None] = None, after: FromQuery[str | None] = None,
                      format: FromQuery[str | None] = None) -> Response[Any]:
    """Newest first, a keyset page at a time ("Older" follows the last row); `?format=xlsx` downloads
    the whole filtered list, read in batches and streamed."""
    principal = me(request)
    form = {"q": (q or "").strip()[:100], "club": club or "", "plan": plan or "",
            "status": status if status in CARD_STATUSES else ""}
    filters: dict[str, Any] = {"q": form["q"] or None, "club_id": as_uuid(form["club"]),
                               "plan_id": as_uuid(form["plan"]), "card_status": form["status"] or None}
    if format == "xlsx":
        async def read(after: Any, limit: int) -> list[dict[str, Any]]:
            rows = await service.list_members(principal, **filters, after=after, limit=limit)
            cards = await service.cards_by_member([r["id"] for r in rows])
            return [{**r, "cards": cards[r["id"]]} for r in rows]

        return await exports.xlsx(f"members-{clock.local(clock.now()):%Y%m%d}.xlsx", str(_("Members")),
                                  MEMBER_EXPORT, exports.keyset_batches(read))
    rows, total, more = await service.member_page(principal, **filters, after=decode_cursor(after),
                                                  limit=PER_PAGE + 1)
    rows, cursor = next_after(rows, PER_PAGE)
    cards = await service.cards_by_member([r["id"] for r in rows])
    clubs = await service.list_clubs()
    return _page(request, "clubs/members.html", rows=[{**r, "cards": cards[r["id"]]} for r in rows], form=form,
                 clubs=clubs, plans=await _plan_choices(clubs, active_only=False), statuses=CARD_STATUSES,
                 **keyset_pages(form, after, cursor, total, more))


# ---- enrolling a member -------------------------------------------------------------------------

ENROL_FIELDS = ("name", "phone", "id_number", "org_unit", "plan", "plate", "vin", "policy_no", "policy_ends_at",
                "household")


async def _enrol_page(request: Request[Any, Any, Any], form: dict[str, str], errors: dict[str, str],
                      status_code: int = 200) -> Template:
    principal = me(request)
    units = await platform_service.list_units(principal, Perm.MEMBERS_MANAGE)
    plans = await _plan_choices(await service.list_clubs())
    household = None
    if as_uuid(form.get("household")):
        try:
            household = await service.get_member(principal, as_uuid(form["household"]))  # type: ignore[arg-type]
        except NotFound:
            form["household"] = ""
    return _page(request, "clubs/member_new.html", status_code=status_code, form=form, errors=errors,
                 units=unit_choices(units), plans=plans, household=household)


@get("/club/members/new", opt={"permission": Perm.MEMBERS_MANAGE}, include_in_schema=False)
async def member_new(request: Request[Any, Any, Any], household: FromQuery[str | None] = None) -> Template:
    return await _enrol_page(request, {"household": household or ""}, {})


@post("/club/members/new", opt={"permission": Perm.MEMBERS_MANAGE}, include_in_schema=False)
async def member_create(request: Request[Any, Any, Any], data: Form) -> Any:
    principal = me(request)
    form = {k: (data.get(k) or "").strip() for k in ENROL_FIELDS}
    # the member's own account: an invitation made with the enrolment (mailed when an address is given)
    form.update(invite="on" if data.get("invite") else "", invite_email=(data.get("invite_email") or "").strip())

    async def enrol() -> dict[str, Any]:
        if form["invite"] and form["invite_email"]:
            await platform_service.check_member_email(form["invite_email"], field="invite_email")
        plan_id = as_uuid(form["plan"])
        if plan_id is None:
            raise ValidationFailed("choose a plan", field="plan")
        plan = await service.get_plan(plan_id)
        ends_at = _date_end(form["policy_ends_at"], "policy_ends_at", principal)
        member = await service.create_member(principal, plan["club"], name=form["name"], phone=form["phone"],
                                             id_number=form["id_number"] or None, org_unit=as_uuid(form["org_unit"]),
                                             household=as_uuid(form["household"]))
        vehicle_id = None
        if form["plate"]:
            vehicle_id = (await service.add_vehicle(principal, member["id"], plate=form["plate"],
                                                    vin=form["vin"]))["id"]
        await service.enrol(principal, member["id"], plan_id=plan_id, vehicle_id=vehicle_id,
                            policy_no=form["policy_no"] or None, policy_ends_at=ends_at)
        return member

    member, exc = await _guarded(enrol)
    if exc is not None:
        return await _enrol_page(request, form, _errors(exc, (*ENROL_FIELDS, "invite_email")),
                                 status_code=exc.status_code)
    if form["invite"]:
        from careclub.clubs.views_member_invite import invite_after_enrolment  # that module builds on this one

        return await invite_after_enrolment(request, member["id"], form["invite_email"])
    return Redirect(f"/club/members/{member['id']}?done=enrolled", status_code=303)


# ---- a member's page and its actions ------------------------------------------------------------

async def _detail(request: Request[Any, Any, Any], member_id: uuid.UUID, *, status_code: int = 200,
                  errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                  notice: str | None = None, revealed: str | None = None,
                  invitation: dict[str, Any] | None = None) -> Template:
    principal = me(request)
    member = await service.get_member(principal, member_id)
    plans = {p["id"]: p for p in await service.list_plans(member["club"])}
    cards = []
    for card in await service.list_cards(principal, member_id):
        events = await service.card_events(principal, card["card_no"])
        cards.append({**card, "plan_row": plans.get(card["plan"]["id"], {}), "events": events,
                      "periods": await service.list_periods(principal, card["card_no"]),
                      "waiting_approval": bool(card["approval_request"]) and card["state"] == "pending"
                      and not any(e["kind"] == "approved" for e in events)})
    cards.reverse()  # newest first
    head = None
    if member["household"]:
        try:
            head = await service.get_member(principal, member["household"])
        except NotFound:
            head = None
    household = await service.list_members(principal, household_id=member["household"] or member_id, limit=50)
    units: list[tuple[str, str]] = []
    if principal.can(Perm.MEMBERS_MANAGE):
        units = unit_choices(await platform_service.list_units(principal, Perm.MEMBERS_MANAGE))
    edit = {"name": member["name"], "phone": member["phone"], "org_unit": str(member["org_unit"]),
            **{k: v for k, v in (form or {}).items() if k in EDIT_FIELDS}}
    return _page(request, "clubs/member.html", status_code=status_code, member=member, cards=cards,
                 club=await service.get_club(member["club"]), plans=[p for p in plans.values() if p["active"]],
                 head=head, household=[h for h in household if h["id"] != member_id], errors=errors or {},
                 form=form or {}, notice=notice, units=units, edit=edit, revealed=revealed,
                 may_reveal=await service.may_reveal_id_number(principal, member_id),
                 offline_methods=payment_rules.OFFLINE_METHODS, method_label=method_label,
                 account=await service.account_of(member), invitation=invitation)



@get("/club/members/{member_id:uuid}", opt={"permission": Perm.MEMBERS_READ}, include_in_schema=False)
async def member_detail(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID],
                        done: FromQuery[str | None] = None) -> Template:
    notice = _(DONE_TEXTS[done]) if done in DONE_TEXTS else None
    return await _detail(request, member_id, notice=notice)


@post("/club/members/{member_id:uuid}/id-number", opt={"permission": Perm.MEMBERS_MANAGE}, include_in_schema=False,
      cache_control=CacheControlHeader(no_store=True))
async def member_reveal_id_number(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID]) -> Template:
    """The member's page once more, with the clear ID number in place of the masked one. A POST
    (with CSRF) so that no prefetch, crawler or cache ever triggers or keeps a reveal; the service
    checks the branch scope and writes the audit entry."""
    clear = await service.reveal_id_number(me(request), member_id)
    return await _detail(request, member_id, revealed=clear)


async def _member_action(request: Request[Any, Any, Any], member_id: uuid.UUID, form: dict[str, str],
                         fields: tuple[str, ...], action: Callable[[], Awaitable[Any]], done: str) -> Any:
    # Out of scope or another tenant's: 404 before anything is tried.
    await service.get_member(me(request), member_id, Perm.MEMBERS_MANAGE)
    _result, exc = await _guarded(action)
    if exc is not None:
        return await _detail(request, member_id, status_code=exc.status_code, errors=_errors(exc, fields),
                             form=form)
    return Redirect(f"/club/members/{member_id}?done={done}", status_code=303)


@post("/club/members/{member_id:uuid}/vehicles", opt={"permission": Perm.MEMBERS_MANAGE}, include_in_schema=False)
async def member_add_vehicle(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID], data: Form) -> Any:
    form = {k: (data.get(k) or "").strip() for k in ("plate", "vin")}

    async def add() -> Any:
        return await service.add_vehicle(me(request), member_id, plate=form["plate"], vin=form["vin"])

    return await _member_action(request, member_id, form, ("plate", "vin"), add, "vehicle")


@post("/club/members/{member_id:uuid}/cards", opt={"permission": Perm.MEMBERS_MANAGE}, include_in_schema=False)
async def member_add_card(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID], data: Form) -> Any:
    """Enrol an existing member on (another) plan, optionally for one of his vehicles."""
    principal = me(request)
    form = {k: (data.get(k) or "").strip() for k in ("plan", "vehicle", "policy_no", "policy_ends_at")}

    async def enrol() -> Any:
        plan_id = as_uuid(form["plan"])
        if plan_id is None:
            raise ValidationFailed("choose a plan", field="plan")
        return await service.enrol(principal, member_id, plan_id=plan_id, vehicle_id=as_uuid(form["vehicle"]),
                                   policy_no=form["policy_no"] or None,
                                   policy_ends_at=_date_end(form["policy_ends_at"], "policy_ends_at", principal))

    fields = ("plan", "vehicle", "policy_no", "policy_ends_at")
    card_fields = {"vehicle_id": "vehicle"}
    await service.get_member(principal, member_id, Perm.MEMBERS_MANAGE)
    _result, exc = await _guarded(enrol)
    if exc is not None:
        if exc.field in card_fields:
            exc.field = card_fields[exc.field]
        return await _detail(request, member_id, status_code=exc.status_code, errors=_errors(exc, fields), form=form)
    waiting = _result["status"] == "pending" and _result["approval_request"]
    return Redirect(f"/club/members/{member_id}?done={'application' if waiting else 'card'}", status_code=303)


async def _own_card(principal: Principal, member_id: uuid.UUID, card_no: str) -> dict[str, Any]:
    """The card, when it is this member's (a number of another member answers 404)."""
    card = await service.get_card(principal, card_no, Perm.MEMBERS_MANAGE)
    if card["member"] != member_id:
        raise NotFound("no such card", code="card_not_found")
    return card


@post("/club/members/{member_id:uuid}/cards/{card_no:str}/{action:str}", opt={"permission": Perm.MEMBERS_MANAGE},
      include_in_schema=False)
async def member_card_action(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID],
                             card_no: FromPath[str], action: FromPath[str], data: Form) -> Any:
    principal = me(request)
    if action not in CARD_ACTIONS:
        raise NotFound("no such card action", code="not_found")
    await service.get_member(principal, member_id, Perm.MEMBERS_MANAGE)
    await _own_card(principal, member_id, card_no)
    reason = (data.get("reason") or "").strip()[:200]

    async def act() -> Any:
        if action == "reissue":
            return await service.reissue(principal, card_no, reason=reason or "lost")
        if action == "renew":
            return await service.open_period(principal, card_no, kind="renewal")
        return await service.change_state(principal, card_no, action, reason=reason)

    return await _member_action(request, member_id, {}, (), act, action)


@post("/club/members/{member_id:uuid}/periods/{period_id:uuid}/paid", opt={"permission": Perm.FINANCE_MANAGE},
      include_in_schema=False)
async def member_period_paid(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID],
                             period_id: FromPath[uuid.UUID], data: Form) -> Any:
    """Staff record that a pending period was paid offline: the card grows by the plan's term."""
    principal = me(request)
    await service.get_member(principal, member_id, Perm.MEMBERS_MANAGE)
    period = await service.get_period(period_id)
    await _own_card(principal, member_id, period["card.card_no"])
    form = {"reference": (data.get("reference") or "").strip()[:120], "method": (data.get("method") or "cash")}

    async def pay() -> Any:
        if period["status"] != "pending":
            raise ValidationFailed(N_("this period is paid already"), field="form")
        # Through payments: a payment with its receipt number, in finance's list, reversible only with a reason.
        return await payments.record_offline(principal, payable.KIND, period_id, method=form["method"],
                                             reference=form["reference"])

    return await _member_action(request, member_id, form, ("reference", "method"), pay, "paid")


# ---- editing a member, renewing a policy-linked card -----------------------------------------

EDIT_FIELDS = ("name", "phone", "org_unit")
RENEW_FIELDS = ("renew_policy_no", "renew_policy_ends_at")


@post("/club/members/{member_id:uuid}/edit", opt={"permission": Perm.MEMBERS_MANAGE}, include_in_schema=False)
async def member_edit(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID], data: Form) -> Any:
    """Change the member's name, phone and branch (the new branch must be in the editor's scope)."""
    principal = me(request)
    form = {k: (data.get(k) or "").strip() for k in EDIT_FIELDS}

    async def save() -> Any:
        unit = as_uuid(form["org_unit"])
        if form["org_unit"] and unit is None:
            raise ValidationFailed(N_("choose a branch"), field="org_unit")
        return await service.update_member(principal, member_id, name=form["name"], phone=form["phone"],
                                           org_unit=unit)

    return await _member_action(request, member_id, form, EDIT_FIELDS, save, "edited")


@post("/club/members/{member_id:uuid}/policy/{card_no:str}", opt={"permission": Perm.MEMBERS_MANAGE},
      include_in_schema=False)
async def member_policy_renew(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID],
                              card_no: FromPath[str], data: Form) -> Any:
    """The card's insurance policy was renewed: the card follows the new policy's end (plus the
    plan's grace days, as for every card)."""
    principal = me(request)
    await service.get_member(principal, member_id, Perm.MEMBERS_MANAGE)
    await _own_card(principal, member_id, card_no)
    form = {k: (data.get(k) or "").strip() for k in RENEW_FIELDS}

    async def renew() -> Any:
        if not form["renew_policy_no"]:
            raise ValidationFailed(N_("give the new policy number"), field="renew_policy_no")
        if len(form["renew_policy_no"]) > 64:
            raise ValidationFailed(N_("the policy number is too long"), field="renew_policy_no")
        ends = _date_end(form["renew_policy_ends_at"], "renew_policy_ends_at", principal)
        if ends is None:
            raise ValidationFailed(N_("give the date the new policy ends"), field="renew_policy_ends_at")
        try:
            return await service.renew_policy(principal, card_no, policy_no=form["renew_policy_no"],
                                              policy_ends_at=ends)
        except AppError as exc:
            if exc.field in ("policy_no", "policy_ends_at"):
                exc.field = "renew_" + exc.field
            raise

    _result, exc = await _guarded(renew)
    if exc is not None:
        return await _detail(request, member_id, status_code=exc.status_code, errors=_errors(exc, RENEW_FIELDS),
                             form={**form, "renew_card": card_no})
    return Redirect(f"/club/members/{member_id}?done=policy", status_code=303)


# ---- the printable static card ------------------------------------------------------------------

@get("/club/cards/{card_no:str}/print", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def card_print(request: Request[Any, Any, Any], card_no: FromPath[str]) -> Template:
    """A print-friendly static card (no expiry, marked static) for the card's own member or staff
    reading members in the card's branch; others' cards answer 404. A plan without static cards
    (or a card that cannot be used now) answers 409 with the reason."""
    principal = me(request)
    card = await service.get_card(principal, card_no, Perm.MEMBERS_READ)  # 404 when not ours to see
    club = await service.get_club(card["club"])
    shown = {**service.card_out(card), "masked_name": rules.mask_name(card["member.name"] or "")}
    if not card["plan.static_card"]:
        return _page(request, "clubs/card_print.html", status_code=409, card=shown, club=club, qr=None,
                     refusal=_("This plan has no printable static card."))
    qr, exc = await _guarded(lambda: service.issue_qr(principal, card_no, static=True))
    if exc is not None:
        return _page(request, "clubs/card_print.html", status_code=exc.status_code, card=shown, club=club, qr=None,
                     refusal=_("This card cannot be used right now, so it cannot be printed."))
    return _page(request, "clubs/card_print.html", card=shown, club=club, qr={**qr, "svg": trusted_svg(qr["svg"])},
                 refusal=None)


# ---- admin: edit a club, plan, merchant or benefit ----------------------------------------------

ADMIN_KINDS = ("club", "plan", "merchant", "benefit")


async def _admin_item(kind: str, item_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """The item and its club."""
    if kind == "club":
        club = await service.get_club(item_id)
        return club, club
    getter = {"plan": service.get_plan, "merchant": service.get_merchant, "benefit": service.get_benefit}.get(kind)
    if getter is None:
        raise NotFound("no such form", code="not_found")
    item = await getter(item_id)
    return item, await service.get_club(item["club"])


def offer_value(form: dict[str, str]) -> int:
    """The offer field of the merchant forms: a percent for a percent offer, the amount off in yuan for an
    amount offer ("20" is 20.00 off, kept as 2000 fen)."""
    if (form.get("offer_kind") or "none") == "amount":
        return parse_typed(form.get("offer_value") or "", field="offer_value")
    return whole_number(form.get("offer_value", ""), "offer_value")


EDIT_BOXES = ("active", "needs_approval", "auto_renew", "static_card", "is_open")  # absent from a post when unticked


async def _edit_page(request: Request[Any, Any, Any], kind: str, item_id: uuid.UUID, *, status_code: int = 200,
                     errors: dict[str, str] | None = None, form: dict[str, Any] | None = None) -> Template:
    item, club = await _admin_item(kind, item_id)
    ctx: dict[str, Any] = {}
    if kind == "merchant":
        benefits = await service.list_benefits(club["id"])
        ctx["benefits"] = [{**b, "honoured": item["code"] in b["merchants"]} for b in benefits]
        from careclub.clubs.views_merchants import operators_section  # who scans here (views_merchants.py)
        ctx["ops"] = await operators_section(request, item)
    if kind == "benefit":
        ctx["merchants"] = await service.list_merchants(club["id"])
    values = dict(item)
    if kind == "plan":
        values["fee"] = format_grouped(item["fee"])
    if kind == "merchant" and item["offer_kind"] == "amount":  # people read and type yuan, never fen
        values["offer_value"] = format_grouped(item["offer_value"])
    if form is not None:  # an unticked box is absent from the post
        for box in EDIT_BOXES:
            values[box] = form.get(box) == "on"
        values.update(form)
    return _page(request, "clubs/admin_edit.html", status_code=status_code, kind=kind, item=item, club=club,
                 form=values, errors=errors or {}, offer_kinds=OFFER_KINDS, quota_periods=QUOTA_PERIODS, **ctx)


@get("/club/admin/{kind:str}/{item_id:uuid}", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def admin_edit(request: Request[Any, Any, Any], kind: FromPath[str], item_id: FromPath[uuid.UUID]) -> Template:
    if kind not in ADMIN_KINDS:
        raise NotFound("no such form", code="not_found")
    return await _edit_page(request, kind, item_id)


@post("/club/admin/{kind:str}/{item_id:uuid}", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def admin_update(request: Request[Any, Any, Any], kind: FromPath[str], item_id: FromPath[uuid.UUID]) -> Any:
    if kind not in ADMIN_KINDS:
        raise NotFound("no such form", code="not_found")
    item, club = await _admin_item(kind, item_id)
    data = await request.form()  # a multi-dict: the ticked boxes share one name
    form = {k: str(data.get(k) or "").strip() for k in data if k not in ("_csrf_token", "benefits", "merchants")}
    honoured = [str(v) for v in data.getall("benefits", [])]
    merchants = [str(v) for v in data.getall("merchants", [])]

    async def save() -> Any:
        if kind == "club":
            return await service.update_club(item_id, name=form.get("name", ""),
                                             description=form.get("description", ""),
                                             card_prefix=form.get("card_prefix", ""), active=_flag(form, "active"),
                                             projected_monthly_joins=parse_monthly_joins(
                                                 form.get("projected_monthly_joins")))
        if kind == "plan":
            problems = Problems()  # what the page reads, all checked before any is refused
            fee = problems.check(parse_typed, form.get("fee") or "0", field="fee")
            numbers = {name: problems.check(whole_number, form.get(name, ""), name, default)
                       for name, default in (("term_months", 12), ("grace_days", 0), ("static_daily_cap", 0))}
            problems.done()
            return await service.update_plan(item_id, name=form.get("name", ""), fee=fee,
                                             term_months=numbers["term_months"], grace_days=numbers["grace_days"],
                                             needs_approval=_flag(form, "needs_approval"),
                                             auto_renew=_flag(form, "auto_renew"),
                                             static_card=_flag(form, "static_card"),
                                             static_daily_cap=numbers["static_daily_cap"],
                                             refund_rule=form.get("refund_rule") or None,
                                             active=_flag(form, "active"))
        if kind == "merchant":
            out = await service.update_merchant(
                item_id, name=form.get("name", ""), category=form.get("category", ""),
                address=form.get("address", ""), contact_name=form.get("contact_name", ""),
                contact_phone=form.get("contact_phone", ""), offer_kind=form.get("offer_kind") or "none",
                offer_value=offer_value(form), offer_text=form.get("offer_text", ""),
                is_open=_flag(form, "is_open"))
            wanted = set(honoured)
            for b in await service.list_benefits(club["id"]):
                has = item["code"] in b["merchants"]
                if has != (str(b["id"]) in wanted):
                    codes = [c for c in b["merchants"] if c != item["code"]] + ([] if has else [item["code"]])
                    await service.update_benefit(b["id"], merchants=sorted(codes))
            return out
        return await service.update_benefit(item_id, name=form.get("name", ""),
                                            group_name=form.get("group_name", ""),
                                            quota=whole_number(form.get("quota", ""), "quota"),
                                            quota_period=form.get("quota_period") or "year",
                                            active=_flag(form, "active"),
                                            merchants=merchants)

    _result, exc = await _guarded(save)
    if exc is not None:
        shown: dict[str, Any] = dict(form)
        return await _edit_page(request, kind, item_id, status_code=exc.status_code,
                                errors=with_policy_link(exc, form_errors(exc, (*form, *EDIT_BOXES))), form=shown)
    return Redirect(f"/club/admin?done={kind}#{kind}-{item_id}", status_code=303)


ROUTES = [member_list, member_new, member_create, member_detail, member_reveal_id_number, member_add_vehicle,
          member_add_card, member_card_action, member_period_paid, member_edit, member_policy_renew, card_print,
          admin_edit, admin_update]
