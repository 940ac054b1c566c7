"""Forgotten passwords: ask for a link (company short name and e-mail), then set a new password
through it. Asking answers the same whether or not the address is registered."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from careclub.core import sessions
from careclub.core.error_messages import error_text, form_errors
from careclub.core.errors import AppError, Problems, RateLimited, ValidationFailed
from careclub.platform import landing, service
from careclub.platform.api import client_address
from careclub.platform.views import page, start_session
from careclub.settings import Settings

Form = URLEncodedBody[dict[str, str]]
FORGOT_FIELDS = ("tenant", "email")
RESET_FIELDS = ("password", "password2")
# The links carry a secret: no cache keeps them, no referrer sends them on.
NO_STORE = CacheControlHeader(no_store=True)


def site_url(request: Request[Any, Any, Any]) -> str:
    """The address links in mail point to: PUBLIC_URL when set, else the address this request came to."""
    settings: Settings = request.app.state.settings
    return settings.public_url or str(request.base_url).rstrip("/")


@get("/password/forgot", opt={"public": True}, include_in_schema=False)
async def forgot_form(request: Request[Any, Any, Any], tenant: FromQuery[str | None] = None) -> Template:
    return page(request, "platform/password_forgot.html", form={"tenant": (tenant or "")[:48]}, errors={},
                sent=False)


@post("/password/forgot", opt={"public": True}, include_in_schema=False)
async def forgot_submit(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    settings: Settings = request.app.state.settings
    form = {k: (data.get(k) or "").strip() for k in FORGOT_FIELDS}
    form["tenant"] = form["tenant"].lower()
    try:
        problems = Problems()
        if not form["tenant"]:
            problems.add(ValidationFailed("Give your company's short name.", field="tenant"))
        if not form["email"]:
            problems.add(ValidationFailed("Give the email address you sign in with.", field="email"))
        problems.done()
        await service.request_password_reset(settings, tenant_slug=form["tenant"], email=form["email"],
                                             address=client_address(request), site_url=site_url(request))
    except AppError as exc:
        response = page(request, "platform/password_forgot.html", status_code=exc.status_code, form=form,
                        errors=form_errors(exc, FORGOT_FIELDS), sent=False)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    # The same answer whether or not the address has an account.
    return page(request, "platform/password_forgot.html", form=form, errors={}, sent=True)


def _problem_page(request: Request[Any, Any, Any], exc: AppError) -> Template:
    return page(request, "platform/password_reset.html", status_code=exc.status_code, problem=error_text(exc),
                form={}, errors={}, tenant_slug=None)


@get("/password/reset/{tenant_slug:str}/{token:str}", opt={"public": True}, include_in_schema=False,
     cache_control=NO_STORE)
async def reset_form(request: Request[Any, Any, Any], tenant_slug: FromPath[str], token: FromPath[str]) -> Template:
    try:
        tenant, link = await service.open_reset_link(tenant_slug, token)
    except AppError as exc:
        return _problem_page(request, exc)
    return page(request, "platform/password_reset.html", problem=None, form={"email": link["user.email"]},
                errors={}, company=tenant.name, tenant_slug=tenant.slug)


@post("/password/reset/{tenant_slug:str}/{token:str}", opt={"public": True}, include_in_schema=False,
      cache_control=NO_STORE)
async def reset_submit(request: Request[Any, Any, Any], tenant_slug: FromPath[str], token: FromPath[str],
                       data: Form) -> Response[Any]:
    """Set the new password (once per link), end every other session of the person, sign them in here."""
    settings: Settings = request.app.state.settings
    password = data.get("password") or ""
    try:
        tenant, link = await service.open_reset_link(tenant_slug, token)
    except AppError as exc:
        return _problem_page(request, exc)
    try:
        if password != (data.get("password2") or ""):
            raise ValidationFailed("the two passwords differ", field="password2")
        tenant, user_id = await service.reset_password(tenant_slug, token, password)
    except AppError as exc:
        if exc.code in ("reset_link_not_found", "reset_link_used", "reset_link_expired"):
            return _problem_page(request, exc)
        return page(request, "platform/password_reset.html", status_code=exc.status_code, problem=None,
                    form={"email": link["user.email"]}, errors=form_errors(exc, RESET_FIELDS), company=tenant.name,)
    await sessions.destroy_all_for(tenant.id, user_id)
    principal = await service.load_principal(tenant, user_id)
    return await start_session(request, settings, tenant.id, user_id,
                               landing.home_of(principal) if principal else "/dashboard")


ROUTES: list[Any] = [forgot_form, forgot_submit, reset_form, reset_submit]
