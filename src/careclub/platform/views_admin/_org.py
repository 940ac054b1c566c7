"""Org units: the tree, creating, renaming and deleting units."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import gettext as _
from careclub.platform import service
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import (
    Form,
    as_uuid,
    clean,
    error_text,
    form_errors,
    me,
    page,
    unit_choices,
    unit_kinds,
    unit_rows,
)

# ---- org units -----------------------------------------------------------------------------

UNIT_FORM = ("code", "name", "kind", "parent_id")


async def _org_page(request: Request[Any, Any, Any], *, status_code: int = 200, form: dict[str, str] | None = None,
                    errors: dict[str, str] | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    units = unit_rows(await service.list_units(principal))
    parents = await service.list_units(principal, Perm.ORG_MANAGE) if principal.can(Perm.ORG_MANAGE) else []
    return page(request, "platform/org.html", status_code=status_code, units=units, parents=unit_choices(parents),
                kinds=unit_kinds(), form=form or {"kind": "project"},
                errors=errors or {}, notice=notice)


@get("/org", opt={"permission": Perm.ORG_READ}, include_in_schema=False)
async def org_list(request: Request[Any, Any, Any], done: FromQuery[str | None] = None) -> Template:
    notices = {"deleted": _("The unit was deleted."), "created": _("The unit was created.")}
    return await _org_page(request, notice=notices.get(done or ""))


@post("/org", opt={"permission": Perm.ORG_MANAGE}, include_in_schema=False)
async def org_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form = clean(data, *UNIT_FORM)
    parent_id = as_uuid(form["parent_id"])
    try:
        if parent_id is None:
            raise NotFound("no such parent unit", code="org_unit_not_found", field="parent_id")
        await service.create_unit(me(request), code=form["code"], name=form["name"], kind=form["kind"],
                                  parent_id=parent_id)
    except AppError as exc:
        return await _org_page(request, status_code=exc.status_code, form=form, errors=form_errors(exc, UNIT_FORM))
    return Redirect("/org?done=created", status_code=303)


@get("/org/{unit_id:uuid}", opt={"permission": Perm.ORG_READ}, include_in_schema=False)
async def org_detail(request: Request[Any, Any, Any], unit_id: FromPath[uuid.UUID]) -> Template:
    unit = await service.get_unit(me(request), unit_id)
    return page(request, "platform/org_unit.html", unit=unit, form=dict(unit), errors={},
                kinds=unit_kinds(), saved=request.query_params.get("saved"))


@post("/org/{unit_id:uuid}", opt={"permission": Perm.ORG_MANAGE}, include_in_schema=False)
async def org_update(request: Request[Any, Any, Any], unit_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = me(request)
    unit = await service.get_unit(principal, unit_id, Perm.ORG_MANAGE)
    form = clean(data, "name", "kind")
    try:
        await service.update_unit(principal, unit_id, name=form["name"],
                                  kind=form["kind"] if unit["parent"] is not None else None)
    except AppError as exc:
        return page(request, "platform/org_unit.html", status_code=exc.status_code, unit=unit,
                    form={**unit, **form}, errors=form_errors(exc, ("name", "kind")), kinds=unit_kinds(), saved=None)
    return Redirect(f"/org/{unit_id}?saved=1", status_code=303)


@post("/org/{unit_id:uuid}/delete", opt={"permission": Perm.ORG_MANAGE}, include_in_schema=False)
async def org_delete(request: Request[Any, Any, Any], unit_id: FromPath[uuid.UUID]) -> Response[Any]:
    principal = me(request)
    unit = await service.get_unit(principal, unit_id, Perm.ORG_MANAGE)
    try:
        await service.delete_unit(principal, unit_id)
    except AppError as exc:
        return page(request, "platform/org_unit.html", status_code=exc.status_code, unit=unit, form=dict(unit),
                    errors={"delete": error_text(exc)}, kinds=unit_kinds(),
                    saved=None)
    return Redirect("/org?done=deleted", status_code=303)
