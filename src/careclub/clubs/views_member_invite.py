"""A member enrolled by staff gets an account of their own: staff make a one-use invitation (a link
and its QR code, to print or send; mailed when an address is given), and the member accepts it on
`/welcome/…`, choosing a password, and lands on their card."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from careclub.clubs import service, views_staff
from careclub.core import clock, i18n
from careclub.core.db import bind_tenant
from careclub.core.error_messages import error_text, form_errors
from careclub.core.errors import AppError, NotFound, Problems, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.qr import qr_svg
from careclub.core.security import check_password_strength
from careclub.platform import rules as prules
from careclub.platform import service as platform
from careclub.platform.permissions import Perm
from careclub.platform.service._mail import send_mail
from careclub.platform.views import page, start_session
from careclub.platform.views_admin._common import me
from careclub.settings import Settings
from careclub.web.svg import trusted_svg

Form = URLEncodedBody[dict[str, str]]
# The invitation page carries a secret: no cache keeps it.
NO_STORE = CacheControlHeader(no_store=True)
WELCOME_FIELDS = ("email", "password", "password2")

INVITE_SUBJECT = N_("Your member account at %(company)s")
INVITE_BODY = N_("Hello %(name)s,\n\n%(company)s has enrolled you in %(club)s. Open this link to choose a password "
                 "and see your member card with its QR code. The link works once, until %(until)s:\n\n%(link)s\n")


def welcome_path(tenant_slug: str, secret: str) -> str:
    return f"/welcome/{quote(tenant_slug)}/{secret}"


def _site_url(request: Request[Any, Any, Any]) -> str:
    settings: Settings = request.app.state.settings
    return settings.public_url or str(request.base_url).rstrip("/")


async def _invite(request: Request[Any, Any, Any], member_id: uuid.UUID, email: str) -> dict[str, Any]:
    """Make the invitation, mail it when there is an address, and answer what the page shows once:
    the link and its QR code (only the link's hash is kept)."""
    settings: Settings = request.app.state.settings
    principal = me(request)
    secret, invite = await service.invite_member(principal, member_id, email=email, hours=settings.invite_hours)
    link = _site_url(request) + welcome_path(principal.tenant.slug, secret)
    if invite["email"]:
        member = await service.get_member(principal, member_id)
        club = await service.get_club(member["club"])
        lang = principal.tenant.locale
        values = {"name": member["name"], "company": principal.tenant.name, "club": club["name"], "link": link,
                  "until": f"{clock.local(invite['expires_at'], principal.tenant.timezone):%Y-%m-%d %H:%M}"}
        await send_mail(settings, invite["email"], i18n.translate(lang, INVITE_SUBJECT) % values,
                        i18n.translate(lang, INVITE_BODY) % values)
    return {"link": link, "qr": trusted_svg(qr_svg(link)), "email": invite["email"],
            "expires_at": invite["expires_at"], "smtp": bool(settings.smtp_url)}


async def invite_after_enrolment(request: Request[Any, Any, Any], member_id: uuid.UUID, email: str) -> Template:
    """The member's page right after enrolment, with the invitation made (or why it could not be)."""
    invitation, exc = await views_staff._guarded(lambda: _invite(request, member_id, email))
    notice = _(views_staff.DONE_TEXTS["enrolled"])
    if exc is not None:  # the enrolment stands; the page says why there is no invitation
        return await views_staff._detail(request, member_id, status_code=201, notice=notice,
                                         errors=form_errors(exc, ("invite_email",), rename={"email": "invite_email"}),
                                         form={"invite_email": email})
    response = await views_staff._detail(request, member_id, status_code=201, notice=notice, invitation=invitation)
    response.headers["Cache-Control"] = "no-store"  # it shows the link's secret
    return response


@post("/club/members/{member_id:uuid}/invite", opt={"permission": Perm.MEMBERS_MANAGE}, include_in_schema=False,
      cache_control=NO_STORE)
async def member_invite(request: Request[Any, Any, Any], member_id: FromPath[uuid.UUID], data: Form) -> Template:
    """A new invitation for a member without an account (it voids their earlier unused links)."""
    email = (data.get("invite_email") or "").strip()
    await service.get_member(me(request), member_id, Perm.MEMBERS_MANAGE)  # out of scope: 404 first
    invitation, exc = await views_staff._guarded(lambda: _invite(request, member_id, email))
    if exc is not None:
        return await views_staff._detail(request, member_id, status_code=exc.status_code,
                                         errors=form_errors(exc, ("invite_email",), rename={"email": "invite_email"}),
                                         form={"invite_email": email})
    return await views_staff._detail(request, member_id, status_code=201, invitation=invitation)


# ---- the member's side --------------------------------------------------------------------------

async def _open(tenant_slug: str, token: str) -> tuple[Any, dict[str, Any]]:
    tenant = await platform.tenant_by_slug(tenant_slug)
    if tenant is None:
        raise NotFound("this invitation link is not valid", code="invite_not_found")
    await bind_tenant(tenant.id)
    return tenant, await platform.find_member_invite(token)


def _welcome(request: Request[Any, Any, Any], *, status_code: int = 200, tenant: Any = None,
             invite: dict[str, Any] | None = None, problem: str | None = None, form: dict[str, str] | None = None,
             errors: dict[str, str] | None = None) -> Template:
    return page(request, "clubs/welcome.html", status_code=status_code, company=tenant.name if tenant else None,
                slug=tenant.slug if tenant else None, invite=invite, problem=problem, form=form or {},
                errors=errors or {})


@get("/welcome/{tenant_slug:str}/{token:str}", opt={"public": True}, include_in_schema=False, cache_control=NO_STORE)
async def welcome_form(request: Request[Any, Any, Any], tenant_slug: FromPath[str], token: FromPath[str]) -> Template:
    try:
        tenant, invite = await _open(tenant_slug, token)
    except AppError as exc:
        return _welcome(request, status_code=exc.status_code, problem=error_text(exc))
    return _welcome(request, tenant=tenant, invite=invite, form={"email": invite["email"]})


@post("/welcome/{tenant_slug:str}/{token:str}", opt={"public": True}, include_in_schema=False,
      cache_control=NO_STORE)
async def welcome_accept(request: Request[Any, Any, Any], tenant_slug: FromPath[str], token: FromPath[str],
                         data: Form) -> Response[Any]:
    """Create the member's account, linked to their membership, sign them in and show their card.
    A second accept of the same link (even at the same moment) is refused: one account per invitation."""
    settings: Settings = request.app.state.settings
    try:
        tenant, invite = await _open(tenant_slug, token)
    except AppError as exc:
        return _welcome(request, status_code=exc.status_code, problem=error_text(exc))
    email = invite["email"] or (data.get("email") or "").strip()
    password = data.get("password") or ""
    try:
        problems = Problems()  # every field's problem at once
        if not invite["email"]:
            problems.check(prules.check_email, email)
        problems.check(check_password_strength, password)
        if password != (data.get("password2") or ""):
            problems.add(ValidationFailed("the two passwords differ", field="password2"))
        problems.done()
        user_id = await platform.accept_member_invite(token, email=email, password=password)
    except AppError as exc:
        if exc.code in ("invite_used", "invite_expired", "invite_not_found", "member_has_account"):
            return _welcome(request, status_code=exc.status_code, problem=error_text(exc))
        return _welcome(request, status_code=exc.status_code, tenant=tenant, invite=invite, form={"email": email},
                        errors=form_errors(exc, WELCOME_FIELDS))
    return await start_session(request, settings, tenant.id, user_id, "/club/card")


ROUTES: list[Any] = [member_invite, welcome_form, welcome_accept]
