"""The register of subcontractors the company hands services to (seed 004 §4.2.5–4.2.6): the list (with
its Excel download) and, for those who design services (`catalogue.manage`), adding one and changing one.
A subcontractor's code names it in tenant files and never changes."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.catalogue import service
from careclub.catalogue.views_common import (
    Filter,
    attempt,
    catalogue_page,
    field_errors,
    refused_status,
    stamp,
)
from careclub.core.errors import AppError
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, clean, me
from careclub.web import exports

FIELDS = ("code", "name", "services", "contact_name", "contact_phone", "contract_from", "contract_until", "active")
DONE = {"added": N_("The subcontractor is added to the register."), "saved": N_("The subcontractor is saved.")}
done_text = labeller(DONE)

EXPORT_COLUMNS = [
    exports.Column(N_("Code"), lambda r: r["code"], 12),
    exports.Column(N_("Name"), lambda r: r["name"], 24),
    exports.Column(N_("Services offered"), lambda r: r["services"], 30),
    exports.Column(N_("Contact name"), lambda r: r["contact_name"], 14),
    exports.Column(N_("Contact phone"), lambda r: r["contact_phone"], 14),
    exports.Column(N_("Contract from"), lambda r: r["contract_from"], 12),
    exports.Column(N_("Contract until"), lambda r: r["contract_until"], 12),
    exports.Column(N_("Active"), lambda r: _("Yes") if r["active"] else _("No"), 8),
]


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = _("Use the form YYYY-MM-DD.")
        return None


def read_form(data: dict[str, str]) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    form = clean(data, *FIELDS)
    form["active"] = "1" if form["active"] else ""
    errors: dict[str, str] = {}
    args = {"code": form["code"], "name": form["name"], "services": form["services"],
            "contact_name": form["contact_name"], "contact_phone": form["contact_phone"],
            "contract_from": _day(form["contract_from"], "contract_from", errors),
            "contract_until": _day(form["contract_until"], "contract_until", errors), "active": form["active"] == "1"}
    return form, args, errors


def shown(row: dict[str, Any]) -> dict[str, str]:
    return {"code": row["code"], "name": row["name"], "services": row["services"],
            "contact_name": row["contact_name"], "contact_phone": row["contact_phone"],
            "contract_from": row["contract_from"].isoformat() if row["contract_from"] else "",
            "contract_until": row["contract_until"].isoformat() if row["contract_until"] else "",
            "active": "1" if row["active"] else ""}


async def _list_page(request: Request[Any, Any, Any], *, status_code: int = 200, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    return catalogue_page(request, "catalogue/subcontractors.html", status_code=status_code,
                          rows=await service.list_subcontractors(), may_manage=principal.can(Perm.CATALOGUE_MANAGE),
                          form=form if form is not None else {"active": "1"}, errors=errors or {}, notice=notice,
                          export="?format=xlsx")


@get("/catalogue/subcontractors", opt={"permission": Perm.CATALOGUE_READ}, include_in_schema=False)
async def subcontractor_list(request: Request[Any, Any, Any], done: Filter = None,
                             format: Filter = None) -> Response[Any]:
    """The register; `?format=xlsx` downloads it."""
    if format == "xlsx":
        return await exports.xlsx(f"subcontractors-{stamp()}.xlsx", str(_("Subcontractors")), EXPORT_COLUMNS,
                                  exports.all_rows(await service.list_subcontractors()))
    return await _list_page(request, notice=done_text(done) if done in DONE else None)


@post("/catalogue/subcontractors", opt={"permission": Perm.CATALOGUE_MANAGE}, include_in_schema=False)
async def subcontractor_add(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form, args, errors = read_form(data)
    try:
        saved = await attempt(errors, service.save_subcontractor(**args))
    except AppError as exc:
        errors = {**field_errors(exc, FIELDS), **errors}
        return await _list_page(request, status_code=refused_status(exc), form=form, errors=errors)
    if saved is None:
        return await _list_page(request, status_code=422, form=form, errors=errors)
    return Redirect("/catalogue/subcontractors?done=added", status_code=303)


async def _edit_page(request: Request[Any, Any, Any], sub_id: uuid.UUID, *, status_code: int = 200,
                     form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                     notice: str | None = None) -> Template:
    row = await service.get_subcontractor(sub_id)
    return catalogue_page(request, "catalogue/subcontractor.html", status_code=status_code, sub=row,
                          form=form if form is not None else shown(row), errors=errors or {}, notice=notice,
                          may_manage=me(request).can(Perm.CATALOGUE_MANAGE))


@get("/catalogue/subcontractors/{sub_id:uuid}", opt={"permission": Perm.CATALOGUE_READ}, include_in_schema=False)
async def subcontractor_detail(request: Request[Any, Any, Any], sub_id: FromPath[uuid.UUID],
                               done: Filter = None) -> Template:
    return await _edit_page(request, sub_id, notice=done_text(done) if done in DONE else None)


@post("/catalogue/subcontractors/{sub_id:uuid}", opt={"permission": Perm.CATALOGUE_MANAGE}, include_in_schema=False)
async def subcontractor_save(request: Request[Any, Any, Any], sub_id: FromPath[uuid.UUID],
                             data: Form) -> Response[Any]:
    form, args, errors = read_form(data)
    form["code"] = (await service.get_subcontractor(sub_id))["code"]  # it never changes
    try:
        saved = await attempt(errors, service.save_subcontractor(sub_id=sub_id, **args))
    except AppError as exc:
        errors = {**field_errors(exc, FIELDS), **errors}
        return await _edit_page(request, sub_id, status_code=refused_status(exc), form=form, errors=errors)
    if saved is None:
        return await _edit_page(request, sub_id, status_code=422, form=form, errors=errors)
    return Redirect(f"/catalogue/subcontractors/{sub_id}?done=saved", status_code=303)


ROUTES: list[Any] = [subcontractor_list, subcontractor_add, subcontractor_detail, subcontractor_save]
