"""Roles: the built-in ones read-only, custom ones created, edited and deleted."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from careclub.core.errors import AppError
from careclub.core.i18n import gettext as _
from careclub.platform import service
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import (
    Form,
    clean,
    error_text,
    form_errors,
    page,
)

# ---- roles ---------------------------------------------------------------------------------

ROLE_FORM = ("code", "name", "description", "permissions")
GRANTABLE = [p.value for p in Perm if p is not Perm.AUTHENTICATED]


def _chosen_permissions(data: dict[str, str]) -> list[str]:
    return [p for p in GRANTABLE if data.get(f"perm:{p}")]


async def _roles_page(request: Request[Any, Any, Any], *, form: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None, status_code: int = 200,
                      notice: str | None = None) -> Template:
    return page(request, "platform/roles.html", status_code=status_code, roles=await service.list_roles(),
                permissions=GRANTABLE, form=form or {"permissions": []}, errors=errors or {}, notice=notice)


@get("/roles", opt={"permission": Perm.STAFF_READ}, include_in_schema=False)
async def roles_list(request: Request[Any, Any, Any], done: FromQuery[str | None] = None) -> Template:
    notices = {"created": _("The role was created."), "deleted": _("The role was deleted.")}
    return await _roles_page(request, notice=notices.get(done or ""))


@post("/roles", opt={"permission": Perm.ROLES_MANAGE}, include_in_schema=False)
async def role_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form: dict[str, Any] = {**clean(data, "code", "name", "description"), "permissions": _chosen_permissions(data)}
    try:
        await service.create_role(code=form["code"], name=form["name"], permissions=form["permissions"],
                                  description=form["description"])
    except AppError as exc:
        return await _roles_page(request, form=form, errors=form_errors(exc, ROLE_FORM), status_code=exc.status_code)
    return Redirect("/roles?done=created", status_code=303)


def _role_page(request: Request[Any, Any, Any], role: dict[str, Any], *, form: dict[str, Any] | None = None,
               errors: dict[str, str] | None = None, status_code: int = 200, saved: bool = False) -> Template:
    return page(request, "platform/role.html", status_code=status_code, role=role, permissions=GRANTABLE,
                form=form or role, errors=errors or {}, saved=saved)


@get("/roles/{role_id:uuid}", opt={"permission": Perm.STAFF_READ}, include_in_schema=False)
async def role_detail(request: Request[Any, Any, Any], role_id: FromPath[uuid.UUID],
                      saved: FromQuery[str | None] = None) -> Template:
    return _role_page(request, await service.get_role(role_id), saved=bool(saved))


@post("/roles/{role_id:uuid}", opt={"permission": Perm.ROLES_MANAGE}, include_in_schema=False)
async def role_update(request: Request[Any, Any, Any], role_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    role = await service.get_role(role_id)
    form: dict[str, Any] = {**clean(data, "name", "description"), "permissions": _chosen_permissions(data)}
    try:
        await service.update_role(role_id, name=form["name"], description=form["description"],
                                  permissions=None if role["builtin"] else form["permissions"])
    except AppError as exc:
        return _role_page(request, role, form={**role, **form}, errors=form_errors(exc, ROLE_FORM),
                          status_code=exc.status_code)
    return Redirect(f"/roles/{role_id}?saved=1", status_code=303)


@post("/roles/{role_id:uuid}/delete", opt={"permission": Perm.ROLES_MANAGE}, include_in_schema=False)
async def role_delete(request: Request[Any, Any, Any], role_id: FromPath[uuid.UUID]) -> Response[Any]:
    role = await service.get_role(role_id)
    try:
        await service.delete_role(role_id)
    except AppError as exc:
        return _role_page(request, role, errors={"delete": error_text(exc)}, status_code=exc.status_code)
    return Redirect("/roles?done=deleted", status_code=303)
