"""The customer archive's other pages: the people search (by phone or name, Excel), a person's page with their
units and tickets, and the forms that add a person (tied to a unit when asked from its page), a building and a
unit, and the import of a project's units and people from a sheet, with its row-by-row report and the choice
to import only the valid rows. Helpers and labels are in views_archive_common.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from careclub.core.errors import AppError
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import PER_PAGE, Form, as_uuid, clean, keyset_pages, me
from careclub.tickets import service
from careclub.tickets.service._archive_rules import PERSON_KINDS, ROLES, UNIT_STATUSES, USES
from careclub.tickets.views_archive_common import (
    FIELD_NAMES,
    Filter,
    archive_page,
    attempt,
    choices,
    coded,
    field_errors,
    kind_name,
    refused_status,
    role_name,
    stamp,
    status_label,
    typed_day,
    use_label,
    whole,
)
from careclub.web import exports
from careclub.web.imports import MAX_BYTES as IMPORT_MAX_BYTES
from careclub.web.imports import RowProblem, RowsRefused

PERSON_FIELDS = ("name", "kind", "phone", "email", "emergency_name", "emergency_phone", "note")

# ---- people -------------------------------------------------------------------------------------------

PEOPLE_EXPORT = [
    exports.Column(N_("Name"), lambda r: r["name"], 16),
    exports.Column(N_("Kind"), lambda r: kind_name(r["kind"]), 10),
    exports.Column(N_("Phone"), lambda r: r["phone"], 16),
    exports.Column(N_("Email"), lambda r: r["email"], 24),
    exports.Column(N_("Emergency contact"), lambda r: r["emergency_name"], 16),
    exports.Column(N_("Emergency contact's phone"), lambda r: r["emergency_phone"], 16),
    exports.Column(N_("Created"), lambda r: r["created_at"], 18),
]


@get("/archive/people", opt={"permission": Perm.ARCHIVE_READ}, include_in_schema=False)
async def people(request: Request[Any, Any, Any], q: Filter = None, after: Filter = None,
                 format: Filter = None) -> Response[Any]:
    """People by name; `q` a phone (however written) or a name's beginning; `?format=xlsx` downloads them."""
    principal = me(request)
    form = {"q": (q or "").strip()[:120]}
    if format == "xlsx":
        async def batches() -> AsyncIterator[list[dict[str, Any]]]:
            cursor: str | None = None
            while True:
                rows, cursor = await service.person_list(principal, q=form["q"], after=cursor,
                                                                        limit=1000)
                if rows:
                    yield rows
                if cursor is None:
                    return

        return await exports.xlsx(f"people-{stamp()}.xlsx", str(_("People")), PEOPLE_EXPORT, batches())
    rows, cursor = await service.person_list(principal, q=form["q"], after=after, limit=PER_PAGE)
    total, more = await service.person_count(principal, q=form["q"])
    return archive_page(request, "tickets/archive/people.html", rows=rows, form=form,
                        **keyset_pages(form, after, cursor, total, more))


async def _person_page(request: Request[Any, Any, Any], person_id: uuid.UUID, *, status_code: int = 200,
                       form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                       notice: str | None = None) -> Template:
    found = await service.person_archive(me(request), person_id)
    person = found["person"]
    return archive_page(request, "tickets/archive/person.html", status_code=status_code, person=person,
                        units=found["units"], tickets=found["tickets"], notice=notice, errors=errors or {},
                        form={**{f: person[f] or "" for f in PERSON_FIELDS}, **(form or {})},
                        open_form="edit" if errors else None, kinds=coded(PERSON_KINDS, kind_name))


@get("/archive/people/{person_id:uuid}", opt={"permission": Perm.ARCHIVE_READ}, include_in_schema=False)
async def person_page(request: Request[Any, Any, Any], person_id: FromPath[uuid.UUID], done: Filter = None) -> Template:
    notices = {"created": _("The person is saved."), "saved": _("The person is saved.")}
    return await _person_page(request, person_id, notice=notices.get(done or ""))


@post("/archive/people/{person_id:uuid}", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def person_save(request: Request[Any, Any, Any], person_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    form = clean(data, *PERSON_FIELDS)
    try:
        await service.update_person(me(request), person_id, **form)
    except AppError as exc:
        if exc.status_code == 404 and exc.field is None:
            raise
        return await _person_page(request, person_id, status_code=refused_status(exc), form=form,
                                  errors=field_errors(exc, PERSON_FIELDS))
    return Redirect(f"/archive/people/{person_id}?done=saved", status_code=303)


# ---- adding a person (to a unit) ----------------------------------------------------------------------

NEW_PERSON_FIELDS = (*PERSON_FIELDS, "role", "starts_on")


async def _new_person(request: Request[Any, Any, Any], unit: dict[str, Any] | None, *, form: dict[str, str],
                      errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
    return archive_page(request, "tickets/archive/person_new.html", status_code=status_code, unit=unit,
                        form=form, errors=errors or {}, kinds=coded(PERSON_KINDS, kind_name),
                        roles=coded(ROLES, role_name))


async def _unit_param(request: Request[Any, Any, Any], value: str | None) -> dict[str, Any] | None:
    unit_id = as_uuid(value)
    return await service.get_unit(me(request), unit_id, manage=True) if unit_id else None


@get("/archive/people/new", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def person_new(request: Request[Any, Any, Any], unit: Filter = None) -> Template:
    """`?unit=` ties the new person to that unit."""
    return await _new_person(request, await _unit_param(request, unit), form={"kind": "individual", "role": "owner"})


@post("/archive/people/new", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def person_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    principal = me(request)
    form = clean(data, *NEW_PERSON_FIELDS, "unit")
    unit = await _unit_param(request, form["unit"])
    errors: dict[str, str] = {}
    starts_on = typed_day(form["starts_on"], "starts_on", errors)
    try:
        person = await attempt(errors, service.create_person(
            principal, name=form["name"], kind=form["kind"], phone=form["phone"], email=form["email"],
            emergency_name=form["emergency_name"], emergency_phone=form["emergency_phone"], note=form["note"]))
        if unit is not None and person is not None:
            await service.link_person(principal, unit_id=unit["id"], person_id=person["id"], role=form["role"],
                                      starts_on=starts_on)
    except AppError as exc:
        return await _new_person(request, unit, form=form, status_code=refused_status(exc),
                                 errors={**field_errors(exc, NEW_PERSON_FIELDS), **errors})
    if errors or person is None:
        return await _new_person(request, unit, form=form, status_code=422, errors=errors)
    if unit is not None:
        return Redirect(f"/archive/units/{unit['id']}?done=linked", status_code=303)
    return Redirect(f"/archive/people/{person['id']}?done=created", status_code=303)


# ---- buildings and units ------------------------------------------------------------------------------

async def _buildings(request: Request[Any, Any, Any], *, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
    principal = me(request)
    return archive_page(request, "tickets/archive/buildings.html", status_code=status_code,
                        rows=await service.list_buildings(principal), form=form or {}, errors=errors or {},
                        projects=choices(await service.projects_in_scope(principal, manage=True),
                                         lambda p: f"{p['name']} ({p['code']})"))


@get("/archive/buildings", opt={"permission": Perm.ARCHIVE_READ}, include_in_schema=False)
async def buildings(request: Request[Any, Any, Any]) -> Template:
    """The buildings of the reader's projects; the form adds one."""
    return await _buildings(request)


@post("/archive/buildings", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def building_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form = clean(data, "project", "code", "name")
    try:
        await service.create_building(me(request), project_id=as_uuid(form["project"]), code=form["code"],
                                      name=form["name"])
    except AppError as exc:
        return await _buildings(request, form=form, status_code=refused_status(exc),
                                errors=field_errors(exc, ("project", "code", "name"), {"project_id": "project"}))
    return Redirect("/archive?done=building", status_code=303)


UNIT_FIELDS = ("building", "code", "floor", "area", "use", "status")


async def _unit_form(request: Request[Any, Any, Any], *, form: dict[str, str], errors: dict[str, str] | None = None,
                     status_code: int = 200) -> Template:
    rows = await service.list_buildings(me(request), manage=True)
    return archive_page(request, "tickets/archive/unit_new.html", status_code=status_code, form=form,
                        errors=errors or {}, uses=coded(USES, use_label), statuses=coded(UNIT_STATUSES, status_label),
                        buildings=choices(rows, lambda b: f"{b['project_name']} · {b['code']} {b['name']}"))


@get("/archive/units/new", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def unit_new(request: Request[Any, Any, Any], building: Filter = None) -> Template:
    return await _unit_form(request, form={"building": building or "", "use": "residential", "status": "vacant"})


@post("/archive/units/new", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def unit_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form = clean(data, *UNIT_FIELDS)
    errors: dict[str, str] = {}
    floor = whole(form["floor"], "floor", errors)
    try:
        unit = await attempt(errors, service.create_unit(
            me(request), building_id=as_uuid(form["building"]), code=form["code"], floor=floor, area=form["area"],
            use=form["use"], status=form["status"]))
    except AppError as exc:
        return await _unit_form(request, form=form, status_code=refused_status(exc),
                                errors={**field_errors(exc, UNIT_FIELDS, {"building_id": "building"}), **errors})
    if errors or unit is None:
        return await _unit_form(request, form=form, status_code=422, errors=errors)
    return Redirect(f"/archive/units/{unit['id']}?done=created", status_code=303)


# ---- the import ---------------------------------------------------------------------------------------

@dataclass
class ImportForm:
    file: UploadFile | None = None
    project: str = ""
    valid_only: str = ""


async def _import_page(request: Request[Any, Any, Any], *, form: dict[str, str], status_code: int = 200,
                       errors: dict[str, str] | None = None, problems: list[RowProblem] | None = None,
                       result: dict[str, Any] | None = None) -> Template:
    principal = me(request)
    shown = [{"row": p.row, "column": _(FIELD_NAMES[p.field]) if p.field in FIELD_NAMES else p.field,
              "message": field_errors(p.error, (p.error.field or "",)).get(p.error.field or "", "")
              or field_errors(p.error, ()).get("form", "")} for p in problems or []]
    return archive_page(request, "tickets/archive/import.html", status_code=status_code, form=form,
                        errors=errors or {}, problems=shown, result=result,
                        projects=choices(await service.projects_in_scope(principal, manage=True),
                                         lambda p: f"{p['name']} ({p['code']})"))


@get("/archive/import", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False)
async def import_form(request: Request[Any, Any, Any], project: Filter = None) -> Template:
    return await _import_page(request, form={"project": project or ""})


@post("/archive/import", opt={"permission": Perm.ARCHIVE_MANAGE}, include_in_schema=False,
      request_max_body_size=IMPORT_MAX_BYTES + 1024 * 1024)
async def import_run(request: Request[Any, Any, Any],
                     data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    """Units and people of a project from an xlsx or CSV file: with any wrong row nothing is imported and every
    row's problem is listed, unless only the valid rows are to be imported."""
    form = {"project": (data.project or "").strip()[:64], "valid_only": "1" if data.valid_only else ""}
    try:
        if data.file is None or not data.file.filename:
            raise AppError("choose an Excel or CSV file", code="validation_failed", status_code=422, field="file")
        result = await service.import_units(me(request), await data.file.read(), project_id=as_uuid(form["project"]),
                                            valid_only=bool(data.valid_only))
    except RowsRefused as exc:
        return await _import_page(request, form=form, status_code=422, problems=exc.problems,
                                  errors={"file": field_errors(exc, ("file",)).get("file", "")})
    except AppError as exc:
        return await _import_page(request, form=form, status_code=refused_status(exc),
                                  errors=field_errors(exc, ("file", "project")))
    return await _import_page(request, form=form, problems=result["problems"], result=result)


ROUTES: list[Any] = [people, person_new, person_create, person_page, person_save, buildings, building_create,
                     unit_new, unit_create, import_form, import_run]
