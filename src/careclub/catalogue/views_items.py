"""The catalogue's item pages for the staff: the list of services their rights reach (`/catalogue`, with its
Excel download), a new service (`/catalogue/items/new`), and a service's page (`/catalogue/items/{id}`) with
every version of its fee standard, the open draft's form and "Send for approval".

A service is designed by the site manager (`catalogue.manage` over its project, or at the company for a
company-wide one) and published only when the general manager approves it through the approval core (the
company's `service_item` policy); a fee change is a new version approved again, and the approved one keeps
serving until then (seed 004 §4.1.4–4.1.6). The approval core links to `/catalogue/versions/{id}`, which
opens the service's page; those asked to decide see it even without catalogue rights."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.approvals import service as approvals_service
from careclub.catalogue import rules, service
from careclub.catalogue.views_common import (
    CHOOSE_FROM_LIST,
    Filter,
    attempt,
    catalogue_page,
    category_label,
    fee_text,
    field_errors,
    item_status_label,
    prepay_text,
    refused_status,
    stamp,
    typed_money,
    typed_uuid,
    typed_whole,
    units_under,
    version_status_label,
)
from careclub.core.errors import AppError, NotFound, each_error
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, as_uuid, clean, me
from careclub.web import exports

ITEM_FIELDS = ("code", "category", "project")
VERSION_FIELDS = ("name", "description", "standard", "delivery_hours", "provider_department", "subcontractor",
                  "fee_basis", "fee_amount", "fee_min", "fee_max", "unit_label", "prepay_kind", "prepay_amount",
                  "long_term", "daily_capacity", "note")
POLICY_PAGE = "/approvals/policies"
DONE = {"created": N_("The service is saved as a draft. Send it for approval to publish it."),
        "saved": N_("The draft is saved."),
        "submitted": N_("The fee standard is sent for approval. It is published once it is approved.")}
done_text = labeller(DONE)


# ---- choices -----------------------------------------------------------------------------------

def _indented(units: list[dict[str, Any]]) -> list[tuple[str, str]]:
    if not units:
        return []
    top = min(u["path"].count("/") for u in units)
    return [(str(u["id"]), "\u00a0\u00a0" * (u["path"].count("/") - top) + u["name"]) for u in units]


async def project_choices(principal: Principal, perm: Perm) -> list[tuple[str, str]]:
    """The projects the person's right reaches (a service is offered in one project, or company-wide)."""
    return [(str(u["id"]), u["name"]) for u in await units_under(principal, perm) if u["kind"] == "project"]


async def reading_projects(principal: Principal) -> list[dict[str, Any]]:
    seen: dict[uuid.UUID, dict[str, Any]] = {}
    for perm in (Perm.CATALOGUE_READ, Perm.CATALOGUE_MANAGE):
        for u in await units_under(principal, perm):
            if u["kind"] == "project":
                seen.setdefault(u["id"], u)
    return sorted(seen.values(), key=lambda u: u["path"])


async def department_choices(principal: Principal, keep: uuid.UUID | None = None) -> list[tuple[str, str]]:
    """The departments that could provide a service the person designs (those under their design rights),
    and the one a version names already."""
    units = [u for u in await units_under(principal, Perm.CATALOGUE_MANAGE) if u["kind"] == "department"]
    if keep is not None and keep not in {u["id"] for u in units}:
        units += (await service.unit_paths(keep)).values()
    return _indented(sorted(units, key=lambda u: u["path"]))


async def subcontractor_choices(keep: uuid.UUID | None = None) -> list[tuple[str, str]]:
    rows = await service.list_subcontractors()
    return [(str(r["id"]), f"{r['name']} ({r['code']})") for r in rows if r["active"] or r["id"] == keep]


def basis_choices() -> list[tuple[str, str]]:
    return [(b, _(rules.FEE_BASIS_NAMES[b])) for b in rules.FEE_BASES]


def prepay_choices() -> list[tuple[str, str]]:
    return [(k, _(rules.PREPAY_NAMES[k])) for k in rules.PREPAY_KINDS]


def category_choices() -> list[tuple[str, str]]:
    return [(c, category_label(c)) for c in rules.CATEGORIES]


async def version_choices(principal: Principal, version: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"departments": await department_choices(principal, (version or {}).get("provider_department")),
            "subcontractors": await subcontractor_choices((version or {}).get("subcontractor")),
            "bases": basis_choices(), "prepay_kinds": prepay_choices()}


# ---- reading the form --------------------------------------------------------------------------

def read_version(data: dict[str, str]) -> tuple[dict[str, str], rules.VersionSpec, dict[str, str]]:
    """The version's fields as typed (kept for the form drawn again), the spec for the service (money typed in
    yuan, kept in minor units), and what could not be read at all."""
    form = clean(data, *VERSION_FIELDS)
    form["long_term"] = "1" if form["long_term"] else ""
    errors: dict[str, str] = {}
    spec = rules.VersionSpec(
        name=form["name"], description=form["description"], standard=form["standard"],
        delivery_hours=typed_whole(form["delivery_hours"], "delivery_hours", errors),
        provider_department=typed_uuid(form["provider_department"], "provider_department", errors,
                                       CHOOSE_FROM_LIST),
        subcontractor=typed_uuid(form["subcontractor"], "subcontractor", errors, CHOOSE_FROM_LIST),
        fee_basis=form["fee_basis"] or "per_time",
        fee_amount=typed_money(form["fee_amount"], "fee_amount", errors),
        fee_min=typed_money(form["fee_min"], "fee_min", errors),
        fee_max=typed_money(form["fee_max"], "fee_max", errors),
        unit_label=form["unit_label"], prepay_kind=form["prepay_kind"] or "none",
        prepay_amount=typed_money(form["prepay_amount"], "prepay_amount", errors) or 0,
        long_term=form["long_term"] == "1",
        daily_capacity=typed_whole(form["daily_capacity"], "daily_capacity", errors), note=form["note"])
    return form, spec, errors


def version_form(version: dict[str, Any], *, note: bool = True) -> dict[str, str]:
    """A version as its form shows it: amounts in yuan, numbers as text."""
    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return {"name": version["name"], "description": version["description"], "standard": version["standard"],
            "delivery_hours": text(version["delivery_hours"]),
            "provider_department": text(version["provider_department"]),
            "subcontractor": text(version["subcontractor"]), "fee_basis": version["fee_basis"],
            "fee_amount": format_grouped(version["fee_amount"]) if version["fee_amount"] is not None else "",
            "fee_min": format_grouped(version["fee_min"]) if version["fee_min"] is not None else "",
            "fee_max": format_grouped(version["fee_max"]) if version["fee_max"] is not None else "",
            "unit_label": version["unit_label"], "prepay_kind": version["prepay_kind"],
            "prepay_amount": format_grouped(version["prepay_amount"]) if version["prepay_kind"] != "none" else "",
            "long_term": "1" if version["long_term"] else "", "daily_capacity": text(version["daily_capacity"]),
            "note": version["note"] if note else ""}


def policy_errors(exc: AppError, errors: dict[str, str]) -> dict[str, str]:
    """No approval policy for paid services: a clear word, and the page that sets one up."""
    if any(e.code in ("approval_policy_not_found", "approval_policy_missing") for e in each_error(exc)):
        errors["form"] = _("There is no approval policy for paid services yet, so the fee standard cannot be "
                           "sent for approval.")
        errors["policy_link"] = POLICY_PAGE
    return errors


# ---- the list ----------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    exports.Column(N_("Code"), lambda r: r["code"], 12),
    exports.Column(N_("Service"), lambda r: r["name"], 28),
    exports.Column(N_("Category"), lambda r: category_label(r["category"]), 16),
    exports.Column(N_("Project"), lambda r: r["project_name"] or _("Company-wide"), 16),
    exports.Column(N_("Fee"), lambda r: r["fee_text"], 20),
    exports.Column(N_("Paid before the work"), lambda r: r["prepay_text"], 22),
    exports.Column(N_("Version"), lambda r: r["version"], 8),
    exports.Column(N_("Version status"), lambda r: version_status_label(r["version_status"]), 16),
    exports.Column(N_("Status"), lambda r: item_status_label(r["status"]), 14),
]


@get("/catalogue", opt={"permission": Perm.CATALOGUE_READ}, include_in_schema=False)
async def catalogue_list(request: Request[Any, Any, Any], project: Filter = None, status: Filter = None,
                         q: Filter = None, format: Filter = None) -> Response[Any]:
    """The services the person's rights reach, with the fee of each one's newest version; `?format=xlsx`
    downloads the same filtered list."""
    principal = me(request)
    currency = principal.tenant.currency
    projects = await reading_projects(principal)
    form = {"project": project or "" if as_uuid(project) in {p["id"] for p in projects} else "",
            "status": status or "" if status in rules.ITEM_STATUSES else "", "q": (q or "").strip()[:60]}
    rows = await service.list_items(principal, project_id=as_uuid(form["project"]), status=form["status"] or None,
                                    q=form["q"])
    rows = [{**r, "fee_text": fee_text(r, currency), "prepay_text": prepay_text(r, currency)} for r in rows]
    if format == "xlsx":
        return await exports.xlsx(f"services-{stamp()}.xlsx", str(_("Paid services")), EXPORT_COLUMNS,
                                  exports.all_rows(rows))
    query = {k: v for k, v in form.items() if v}
    return catalogue_page(request, "catalogue/list.html", rows=rows, form=form,
                          projects=[(str(p["id"]), p["name"]) for p in projects], notices=projects,
                          statuses=[(s, item_status_label(s)) for s in rules.ITEM_STATUSES],
                          export="?" + urlencode({**query, "format": "xlsx"}),
                          may_manage=principal.can(Perm.CATALOGUE_MANAGE),
                          may_book=principal.can(Perm.TICKETS_HANDLE))


# ---- a new service -----------------------------------------------------------------------------

async def _new_page(request: Request[Any, Any, Any], form: dict[str, str], errors: dict[str, str] | None = None,
                    status_code: int = 200) -> Template:
    principal = me(request)
    return catalogue_page(request, "catalogue/item_new.html", status_code=status_code, form=form,
                          errors=errors or {}, categories=category_choices(),
                          projects=await project_choices(principal, Perm.CATALOGUE_MANAGE),
                          company_wide=principal.covers(Perm.CATALOGUE_MANAGE, None),
                          **await version_choices(principal))


@get("/catalogue/items/new", opt={"permission": Perm.CATALOGUE_MANAGE}, include_in_schema=False)
async def item_new(request: Request[Any, Any, Any]) -> Template:
    principal = me(request)
    form = {"category": "other", "fee_basis": "per_time", "prepay_kind": "none"}
    projects = await project_choices(principal, Perm.CATALOGUE_MANAGE)
    if projects and not principal.covers(Perm.CATALOGUE_MANAGE, None):  # no company-wide service is theirs
        form["project"] = projects[0][0]
    return await _new_page(request, form)


@post("/catalogue/items/new", opt={"permission": Perm.CATALOGUE_MANAGE}, include_in_schema=False)
async def item_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """A new service with its first version as a draft: every problem at once, beside its field."""
    principal = me(request)
    form, spec, errors = read_version(data)
    form.update(clean(data, *ITEM_FIELDS))
    project_id = typed_uuid(form["project"], "project", errors, CHOOSE_FROM_LIST)
    try:
        item = await attempt(errors, service.create_item(principal, code=form["code"], project_id=project_id,
                                                         category=form["category"], spec=spec))
    except AppError as exc:
        errors = {**field_errors(exc, ITEM_FIELDS + VERSION_FIELDS), **errors}
        return await _new_page(request, form, errors, status_code=refused_status(exc))
    if item is None:  # the service took what it could read; a field it could not is still refused (and undone)
        return await _new_page(request, form, errors, status_code=422)
    return Redirect(f"/catalogue/items/{item['id']}?done=created", status_code=303)


# ---- a service's page --------------------------------------------------------------------------

async def deciding(principal: Principal, item: dict[str, Any]) -> bool:
    """Whether the person may see an approval request of one of the item's versions (an approver, a delegate,
    an approvals manager over its unit): they see what they are asked to decide."""
    for v in item["versions"]:
        if v["approval_request"] is None:
            continue
        try:
            await approvals_service.visible_request(v["approval_request"], principal.user_id,
                                                    manage_scope=principal.scope(Perm.APPROVALS_MANAGE))
        except NotFound:
            continue
        return True
    return False


async def readable_item(principal: Principal, item_id: uuid.UUID) -> dict[str, Any]:
    """The item for those with catalogue rights over its project, and for those deciding its approval; else
    404 as if absent."""
    if principal.kind != "member":
        try:
            return await service.get_item(principal, item_id)
        except NotFound:
            item = await service.get_item(None, item_id)
            if await deciding(principal, item):
                return item
    raise NotFound("no such service item", code="service_item_not_found")


def _path(item: dict[str, Any]) -> str | None:
    return item["project"]["path"] if item.get("project") else None


async def _item_page(request: Request[Any, Any, Any], item_id: uuid.UUID, *, status_code: int = 200,
                     form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                     notice: str | None = None) -> Template:
    principal = me(request)
    item = await readable_item(principal, item_id)
    currency = principal.tenant.currency
    may_manage = principal.covers(Perm.CATALOGUE_MANAGE, _path(item)) and item["status"] != "stopped"
    opened, current = item["open"], item["current"]
    editable = opened is not None and opened["status"] in rules.EDITABLE
    # the form: the open draft (or returned version), else a new fee standard starting from the approved one
    base = opened if editable else (current if opened is None else None)
    shown = form if form is not None else (version_form(base, note=editable) if base is not None else {})
    subs = {r["id"]: r["name"] for r in await service.list_subcontractors()}
    units = await service.unit_paths(*(v["provider_department"] for v in item["versions"]))
    versions = [{**v, "fee_text": fee_text(v, currency), "prepay_text": prepay_text(v, currency),
                 "provider": (units[v["provider_department"]]["name"] if v["provider_department"] in units
                              else subs.get(v["subcontractor"], "—"))} for v in item["versions"]]
    return catalogue_page(
        request, "catalogue/item.html", status_code=status_code, item=item, versions=versions, opened=opened,
        current=current, editable=editable, may_manage=may_manage, form=shown, errors=errors or {},
        notice=notice, new_standard=may_manage and opened is None,
        may_submit=may_manage and editable, **(await version_choices(principal, base) if may_manage else {}))


@get("/catalogue/items/{item_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def item_detail(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID],
                      done: Filter = None) -> Template:
    return await _item_page(request, item_id, notice=done_text(done) if done in DONE else None)


@post("/catalogue/items/{item_id:uuid}/draft", opt={"permission": Perm.CATALOGUE_MANAGE}, include_in_schema=False)
async def item_draft(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Write the open draft, or start a new version (a new fee standard) when none is open."""
    principal = me(request)
    form, spec, errors = read_version(data)
    try:
        saved = await attempt(errors, service.save_draft(principal, item_id, spec))
    except AppError as exc:
        errors = {**field_errors(exc, VERSION_FIELDS), **errors}
        return await _item_page(request, item_id, status_code=refused_status(exc), form=form, errors=errors)
    if saved is None:
        return await _item_page(request, item_id, status_code=422, form=form, errors=errors)
    return Redirect(f"/catalogue/items/{item_id}?done=saved", status_code=303)


@post("/catalogue/items/{item_id:uuid}/submit", opt={"permission": Perm.CATALOGUE_MANAGE}, include_in_schema=False)
async def item_submit(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Send the open version to approval on the company's `service_item` policy."""
    try:
        await attempt({}, service.submit(me(request), item_id))  # a refusal leaves the draft as it was
    except AppError as exc:
        errors = policy_errors(exc, field_errors(exc, VERSION_FIELDS))
        return await _item_page(request, item_id, status_code=refused_status(exc), errors=errors)
    return Redirect(f"/catalogue/items/{item_id}?done=submitted", status_code=303)


@get("/catalogue/versions/{version_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def version_detail(request: Request[Any, Any, Any], version_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Where the approval core links a version: its service's page (which checks who may see it)."""
    version = await service.get_version(version_id)
    await readable_item(me(request), version["item"])
    return Redirect(f"/catalogue/items/{version['item']}#version-{version['version']}")


ROUTES: list[Any] = [catalogue_list, item_new, item_create, item_detail, item_draft, item_submit, version_detail]
