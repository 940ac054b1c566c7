"""The platform's pages: sign-up, sign-in, sign-out, dashboard, language. Management pages
(org units, staff, roles, invitations, audit) live in `views_admin.py`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import MediaType, Request, Response, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from careclub.core import i18n, sessions
from careclub.core.error_messages import error_text, form_errors
from careclub.core.errors import AppError
from careclub.core.principal import Principal, principal_in
from careclub.platform import landing, onboarding, resident_home, service
from careclub.platform.api import client_address
from careclub.platform.permissions import Perm
from careclub.platform.tables import User
from careclub.settings import Settings


def principal_of(request: Request[Any, Any, Any]) -> Principal | None:
    return principal_in(request.scope)


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    principal = principal_of(request)
    return Template(
        template,
        context={
            "principal": principal,
            "tenant": principal.tenant if principal else None,
            "path": request.url.path,
            **ctx,
        },
        status_code=status_code,
        # Said outright: Litestar takes the media type from the handler's return annotation, and a
        # handler that may answer a page or a redirect (`-> Any`) would send the page as JSON.
        media_type=MediaType.HTML,
    )


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after login would be a phishing tool."""
    if not target:
        return "/dashboard"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/dashboard"
    return target


async def start_session(
    request: Request[Any, Any, Any], settings: Settings, tenant_id: Any, user_id: Any, target: str
) -> Response[Any]:
    """Sign in: always a fresh session id (the old one, if any, is destroyed)."""
    old = request.cookies.get(sessions.COOKIE)
    if old:
        await sessions.destroy(old)
    session_id = await sessions.create(
        tenant_id,
        user_id,
        idle_seconds=settings.session_idle_minutes * 60,
        absolute_seconds=settings.session_absolute_hours * 3600,
    )
    response = Redirect(_safe_next(target), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        session_id,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
        max_age=settings.session_absolute_hours * 3600,
    )
    return response


@get("/", opt={"public": True}, include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template | Redirect:
    principal = principal_of(request)
    if principal:
        return Redirect(landing.home_of(principal))
    return page(request, "platform/home.html")


@get("/signup", opt={"public": True}, include_in_schema=False)
async def signup_form(request: Request[Any, Any, Any]) -> Template:
    return page(request, "platform/signup.html", form={}, errors={})


@post("/signup", opt={"public": True}, include_in_schema=False)
async def signup_submit(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    settings: Settings = request.app.state.settings
    form = {k: (data.get(k) or "").strip() for k in ("company", "slug", "email", "display_name")}
    try:
        info, _token, user_id = await service.signup(
            settings,
            company=form["company"],
            slug=form["slug"],
            email=form["email"],
            password=data.get("password") or "",
            display_name=form["display_name"],
            locale=i18n.current_locale(),
        )
    except AppError as exc:
        return page(
            request,
            "platform/signup.html",
            status_code=exc.status_code,
            form=form,
            errors=form_errors(exc, ("company", "slug", "email", "display_name", "password")),
        )
    return await start_session(request, settings, info.id, user_id, "/dashboard")


@get("/login", opt={"public": True}, include_in_schema=False)
async def login_form(
    request: Request[Any, Any, Any], next: FromQuery[str | None] = None, tenant: FromQuery[str | None] = None
) -> Template:
    return page(request, "platform/login.html", form={"tenant": tenant or "", "next": next or ""}, errors={})


@post("/login", opt={"public": True}, include_in_schema=False)
async def login_submit(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    settings: Settings = request.app.state.settings
    form = {
        "tenant": (data.get("tenant") or "").strip().lower(),
        "email": (data.get("email") or "").strip(),
        "next": data.get("next") or "",
    }
    try:
        tenant, user_id = await service.authenticate(
            settings,
            tenant_slug=form["tenant"],
            email=form["email"],
            password=data.get("password") or "",
            address=client_address(request),
        )
    except AppError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
        response = page(
            request, "platform/login.html", status_code=exc.status_code, form=form, errors={"form": error_text(exc)}
        )
        if headers:
            response.headers.update(headers)
        return response
    principal = await service.load_principal(tenant, user_id)
    target = landing.after_sign_in(request.app, principal, form["next"]) if principal else "/dashboard"
    return await start_session(request, settings, tenant.id, user_id, target)


@post("/logout", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    session_id = request.cookies.get(sessions.COOKIE)
    if session_id:
        await sessions.destroy(session_id)
    response = Redirect("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@post("/lang", opt={"public": True}, include_in_schema=False)
async def switch_language(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Redirect:
    """The user's own choice wins over the tenant default and the browser."""
    lang = data.get("lang") if data.get("lang") in i18n.SUPPORTED else i18n.SUPPORTED[0]
    principal = principal_of(request)
    if principal is not None:
        await User.update({User.locale: lang}).where(User.id == principal.user_id)
    response = Redirect(_safe_next(data.get("next")), status_code=303)
    response.set_cookie("lang", lang, samesite="lax", path="/", max_age=365 * 86400)
    return response


@get("/dashboard", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any]) -> Template | Redirect:
    principal = principal_of(request)
    assert principal is not None
    if principal.can(Perm.CHECKINS_SCAN) and not principal.can(Perm.DASHBOARD_VIEW):
        return page(request, "platform/dashboard_limited.html")
    counts: dict[str, int] = {}
    if principal.can(Perm.ORG_READ):
        counts["units"] = len(await service.list_units(principal))
    if principal.can(Perm.STAFF_READ):
        _rows, counts["people"] = await service.list_staff(principal, limit=1)
    counts["roles"] = len(await service.list_roles()) if principal.can(Perm.STAFF_READ) else 0
    from careclub.clubs import dashboard as clubs  # clubs' pages import this module: imported when first asked
    return page(request, "platform/dashboard.html", counts=counts, checklist=await onboarding.checklist(principal),
                club_panels=await clubs.club_panels(principal))


ROUTES: list[Any] = [home, signup_form, signup_submit, login_form, login_submit, logout, switch_language, dashboard,
                     *resident_home.ROUTES]
