"""People, their role grants, and invitations (creating them and accepting one)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from careclub.core.db import bind_tenant
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import gettext as _
from careclub.platform import landing, rules, service
from careclub.platform.permissions import Perm
from careclub.platform.views import start_session
from careclub.platform.views_admin._common import (
    PER_PAGE,
    Form,
    PageNo,
    as_uuid,
    clean,
    error_text,
    form_errors,
    kind_label,
    me,
    page,
    pager,
    role_choices,
    unit_choices,
)
from careclub.platform.views_admin._exports import staff_xlsx
from careclub.settings import Settings

# ---- people --------------------------------------------------------------------------------

STAFF_FORM = ("email", "display_name", "org_unit", "role", "kind", "password")
PERSON_FORM = ("display_name", "phone", "org_unit", "locale", "is_active")
GRANT_FORM = ("role", "org_unit")


@get("/staff", opt={"permission": Perm.STAFF_READ}, include_in_schema=False)
async def staff_list(request: Request[Any, Any, Any], q: FromQuery[str | None] = None,
                     kind: FromQuery[str | None] = None, unit: FromQuery[str | None] = None,
                     page_no: PageNo = 1, format: FromQuery[str | None] = None) -> Response[Any]:
    kind = kind if kind in rules.USER_KINDS else None
    q = (q or "").strip()[:100] or None
    if format == "xlsx":  # the whole filtered list
        return await staff_xlsx(me(request), q=q, kind=kind, unit_id=as_uuid(unit))
    rows, total = await service.list_staff(me(request), q=q, kind=kind, unit_id=as_uuid(unit), limit=PER_PAGE,
                                           offset=(page_no - 1) * PER_PAGE)
    return page(request, "platform/staff.html", rows=rows, form={"q": q or "", "kind": kind or ""},
                kinds=[(k, kind_label(k)) for k in rules.USER_KINDS],
                pages=pager(total, page_no, {"q": q, "kind": kind, "unit": unit if as_uuid(unit) else None}))


async def _staff_form(request: Request[Any, Any, Any], form: dict[str, str], errors: dict[str, str],
                      status_code: int = 200) -> Template:
    principal = me(request)
    units = unit_choices(await service.list_units(principal, Perm.STAFF_MANAGE))
    return page(request, "platform/staff_new.html", status_code=status_code, form=form, errors=errors,
                units=units, roles=role_choices(await service.list_roles()),
                kinds=[(k, kind_label(k)) for k in rules.USER_KINDS])


@get("/staff/new", opt={"permission": Perm.STAFF_MANAGE}, include_in_schema=False)
async def staff_new(request: Request[Any, Any, Any]) -> Template:
    return await _staff_form(request, {"kind": "staff"}, {})


@post("/staff/new", opt={"permission": Perm.STAFF_MANAGE}, include_in_schema=False)
async def staff_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form = clean(data, *STAFF_FORM[:-1])
    password = data.get("password") or None
    try:
        unit_id = as_uuid(form["org_unit"])
        if unit_id is None:
            raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
        person = await service.create_staff(me(request), email=form["email"], display_name=form["display_name"],
                                            unit_id=unit_id, roles=[form["role"]] if form["role"] else [],
                                            password=password, kind=form["kind"] or "staff")
    except AppError as exc:
        return await _staff_form(request, form, form_errors(exc, STAFF_FORM), exc.status_code)
    return Redirect(f"/staff/{person['id']}?saved=created", status_code=303)


async def _person_page(request: Request[Any, Any, Any], user_id: uuid.UUID, *, status_code: int = 200,
                       form: dict[str, str] | None = None, grant_form: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, grant_errors: dict[str, str] | None = None,
                       notice: str | None = None) -> Template:
    principal = me(request)
    person = await service.get_staff(principal, user_id)
    can_manage = principal.covers(Perm.STAFF_MANAGE, person["org_unit.path"])
    units = unit_choices(await service.list_units(principal, Perm.STAFF_MANAGE)) if can_manage else []
    current = {"display_name": person["display_name"], "phone": person["phone"] or "",
               "org_unit": str(person["org_unit"]), "locale": person["locale"] or "",
               "is_active": "on" if person["is_active"] else ""}
    return page(request, "platform/person.html", status_code=status_code, person=person, can_manage=can_manage,
                units=units, roles=role_choices(await service.list_roles()) if can_manage else [],
                form=form or current,
                grant_form=grant_form or {}, errors=errors or {}, grant_errors=grant_errors or {}, notice=notice)


@get("/staff/{user_id:uuid}", opt={"permission": Perm.STAFF_READ}, include_in_schema=False)
async def person_detail(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID],
                        saved: FromQuery[str | None] = None) -> Template:
    notices = {"created": _("The person was created."), "saved": _("Saved."),
               "granted": _("The role was granted."), "revoked": _("The role was removed.")}
    return await _person_page(request, user_id, notice=notices.get(saved or ""))


@post("/staff/{user_id:uuid}", opt={"permission": Perm.STAFF_MANAGE}, include_in_schema=False)
async def person_update(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    form = clean(data, *PERSON_FORM)
    try:
        unit_id = as_uuid(form["org_unit"])
        if unit_id is None:
            raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
        await service.update_staff(me(request), user_id, display_name=form["display_name"], phone=form["phone"],
                                   unit_id=unit_id, is_active=form["is_active"] == "on",
                                   locale=form["locale"] or None)
    except AppError as exc:
        if exc.code == "user_not_found":
            raise
        return await _person_page(request, user_id, status_code=exc.status_code, form=form,
                                  errors=form_errors(exc, PERSON_FORM))
    return Redirect(f"/staff/{user_id}?saved=saved", status_code=303)


@post("/staff/{user_id:uuid}/grants", opt={"permission": Perm.STAFF_MANAGE}, include_in_schema=False)
async def person_grant(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    form = clean(data, *GRANT_FORM)
    try:
        unit_id = as_uuid(form["org_unit"])
        if unit_id is None:
            raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
        await service.grant_role(me(request), user_id, form["role"], unit_id)
    except AppError as exc:
        if exc.code == "user_not_found":
            raise
        return await _person_page(request, user_id, status_code=exc.status_code, grant_form=form,
                                  grant_errors=form_errors(exc, GRANT_FORM))
    return Redirect(f"/staff/{user_id}?saved=granted", status_code=303)


@post("/staff/{user_id:uuid}/grants/{grant_id:uuid}/delete", opt={"permission": Perm.STAFF_MANAGE},
      include_in_schema=False)
async def person_revoke(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID],
                        grant_id: FromPath[uuid.UUID]) -> Response[Any]:
    try:
        await service.revoke_grant(me(request), user_id, grant_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return await _person_page(request, user_id, status_code=exc.status_code,
                                  grant_errors={"form": error_text(exc)})
    return Redirect(f"/staff/{user_id}?saved=revoked", status_code=303)


# ---- invitations ---------------------------------------------------------------------------

INVITE_FORM = ("email", "display_name", "role", "org_unit")


async def _invite_page(request: Request[Any, Any, Any], *, form: dict[str, str], errors: dict[str, str],
                       link: str | None = None, status_code: int = 200) -> Template:
    principal = me(request)
    units = unit_choices(await service.list_units(principal, Perm.STAFF_MANAGE))
    roles = role_choices(await service.list_roles())
    return page(request, "platform/invites.html", status_code=status_code, form=form, errors=errors, link=link,
                units=units, roles=roles, role_names=dict(roles),
                # the service lists the whole tenant's invitations: only a company-wide manager sees them
                invites=await service.list_invites(principal))


@get("/staff/invite", opt={"permission": Perm.STAFF_MANAGE}, include_in_schema=False)
async def invite_form(request: Request[Any, Any, Any]) -> Template:
    return await _invite_page(request, form={}, errors={})


@post("/staff/invite", opt={"permission": Perm.STAFF_MANAGE}, include_in_schema=False)
async def invite_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    settings: Settings = request.app.state.settings
    principal = me(request)
    form = clean(data, *INVITE_FORM)
    try:
        unit_id = as_uuid(form["org_unit"])
        if unit_id is None:
            raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
        secret, _invite = await service.create_invite(principal, email=form["email"], role_code=form["role"],
                                                      unit_id=unit_id, hours=settings.invite_hours,
                                                      display_name=form["display_name"])
    except AppError as exc:
        return await _invite_page(request, form=form, errors=form_errors(exc, INVITE_FORM),
                                  status_code=exc.status_code)
    base = str(request.base_url).rstrip("/")
    return await _invite_page(request, form={}, errors={}, link=f"{base}/invite/{principal.tenant.slug}/{secret}",
                              status_code=201)


async def _invite_context(tenant_slug: str, token: str) -> tuple[Any, dict[str, Any]]:
    tenant = await service.tenant_by_slug(tenant_slug)
    if tenant is None:
        raise NotFound("this invitation link is not valid", code="invite_not_found")
    await bind_tenant(tenant.id)
    return tenant, await service.find_invite(token)


@get("/invite/{tenant_slug:str}/{token:str}", opt={"public": True}, include_in_schema=False)
async def invite_accept_form(request: Request[Any, Any, Any], tenant_slug: FromPath[str],
                             token: FromPath[str]) -> Template:
    try:
        tenant, invite = await _invite_context(tenant_slug, token)
    except AppError as exc:
        return page(request, "platform/invite_accept.html", status_code=exc.status_code, problem=error_text(exc),
                    form={}, errors={}, invite=None, company=None)
    return page(request, "platform/invite_accept.html", invite=invite, company=tenant.name, problem=None,
                form={"display_name": invite["display_name"]}, errors={})


@post("/invite/{tenant_slug:str}/{token:str}", opt={"public": True}, include_in_schema=False)
async def invite_accept(request: Request[Any, Any, Any], tenant_slug: FromPath[str], token: FromPath[str],
                        data: Form) -> Response[Any]:
    settings: Settings = request.app.state.settings
    form = clean(data, "display_name")
    try:
        tenant, invite = await _invite_context(tenant_slug, token)
    except AppError as exc:
        return page(request, "platform/invite_accept.html", status_code=exc.status_code, problem=error_text(exc),
                    form={}, errors={}, invite=None, company=None)
    password = data.get("password") or ""
    try:
        if password != (data.get("password2") or ""):
            raise AppError("the two passwords differ", code="validation_failed", status_code=422,
                           field="password2")
        user_id = await service.accept_invite(token, display_name=form["display_name"], password=password)
    except AppError as exc:
        if exc.code in ("invite_used", "invite_expired", "invite_not_found"):
            return page(request, "platform/invite_accept.html", status_code=exc.status_code,
                        problem=error_text(exc), form={}, errors={}, invite=None, company=None)
        return page(request, "platform/invite_accept.html", status_code=exc.status_code, invite=invite,
                    company=tenant.name, problem=None, form=form,
                    errors=form_errors(exc, ("display_name", "password", "password2")))
    # Their roles' own page: a merchant operator lands on the scanner, staff on the dashboard.
    principal = await service.load_principal(tenant, user_id)
    return await start_session(request, settings, tenant.id, user_id,
                               landing.home_of(principal) if principal else "/dashboard")
