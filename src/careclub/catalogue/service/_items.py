"""Service items and their versions: designed by the site manager, approved by the general manager through
the approval core, then published (seed 004 §4.1.4–4.1.6, §4.2.1). A fee change is a new version that goes
through approval again; orders keep the version they were priced by."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Sequence
from typing import Any

from careclub.approvals import service as approvals_service
from careclub.catalogue import rules
from careclub.catalogue.tables import ServiceItem, ServiceItemVersion, Subcontractor
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import AppError, Conflict, FieldErrors, NotFound, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import projects_in_reach, unit_by_code
from careclub.platform.tables import OrgUnit
from careclub.tickets import service as tickets

SUBJECT = "service_item"
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")

_VERSION_FIELDS = ("name", "description", "standard", "delivery_hours", "provider_department", "subcontractor",
                   "fee_basis", "fee_amount", "fee_min", "fee_max", "unit_label", "prepay_kind", "prepay_amount",
                   "long_term", "daily_capacity", "note")


async def unit_paths(*ids: uuid.UUID | None) -> dict[uuid.UUID, dict[str, Any]]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.path, OrgUnit.kind).where(
        OrgUnit.id.is_in(wanted))
    return {r["id"]: r for r in rows}


async def _check_refs(spec: rules.VersionSpec) -> list[AppError]:
    problems: list[AppError] = []
    if spec.provider_department is not None and not await OrgUnit.exists().where(
            OrgUnit.id == spec.provider_department):
        problems.append(NotFound("no such org unit", code="org_unit_not_found", field="provider_department"))
    if spec.subcontractor is not None and not await Subcontractor.exists().where(
            Subcontractor.id == spec.subcontractor, Subcontractor.active.eq(True)):
        problems.append(NotFound("no such subcontractor", code="subcontractor_not_found", field="subcontractor"))
    return problems


async def check_spec(spec: rules.VersionSpec) -> list[AppError]:
    return rules.check_version(spec) + await _check_refs(spec)


def _may(principal: Principal, path: str | None, *, manage: bool) -> bool:
    """A project's items are its staff's; a company-wide item (no project) is offered everywhere, so anyone
    with catalogue rights sees it, and only those with them at the company change it."""
    if manage:
        return principal.covers(Perm.CATALOGUE_MANAGE, path)
    if path is None:
        return principal.can(Perm.CATALOGUE_READ) or principal.can(Perm.CATALOGUE_MANAGE)
    return principal.covers(Perm.CATALOGUE_READ, path) or principal.covers(Perm.CATALOGUE_MANAGE, path)


async def _item_row(item_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    rows = await fetch("SELECT * FROM service_item WHERE id = $1" + (" FOR UPDATE" if lock else ""), item_id)
    if not rows:
        raise NotFound("no such service item", code="service_item_not_found")
    return rows[0]


async def versions(item_id: uuid.UUID) -> list[dict[str, Any]]:
    return await ServiceItemVersion.select().where(ServiceItemVersion.item == item_id).order_by(
        ServiceItemVersion.version, ascending=False)


async def get_version(version_id: uuid.UUID) -> dict[str, Any]:
    row = await ServiceItemVersion.select().where(ServiceItemVersion.id == version_id).first()
    if row is None:
        raise NotFound("no such version", code="service_item_version_not_found")
    return row


async def get_item(principal: Principal | None, item_id: uuid.UUID, *, manage: bool = False,
                   lock: bool = False) -> dict[str, Any]:
    """The item with all its versions, newest first (`current`: the approved one on offer; `open`: the draft,
    the one in approval or returned). 404 to anyone whose rights do not reach its project."""
    item = await _item_row(item_id, lock=lock)
    units = await unit_paths(item["project_id"])
    path = units[item["project_id"]]["path"] if item["project_id"] in units else None
    if principal is not None and not _may(principal, path, manage=manage):
        raise NotFound("no such service item", code="service_item_not_found")
    item = dict(item)
    item["project"] = units.get(item["project_id"]) if item["project_id"] else None
    item["versions"] = await versions(item_id)
    item["current"] = next((v for v in item["versions"] if v["id"] == item["current_version"]), None)
    item["open"] = next((v for v in item["versions"] if v["status"] in ("draft", "in_review", "returned")), None)
    latest = item["open"] or item["current"] or (item["versions"][0] if item["versions"] else None)
    item["name"] = latest["name"] if latest else item["code"]
    return item


async def list_items(principal: Principal, *, project_id: uuid.UUID | None = None, status: str | None = None,
                     q: str = "") -> list[dict[str, Any]]:
    """Items the person's rights reach, each with the name and fee of its newest version. A company has
    tens of services, not thousands: one query, no paging."""
    if not (principal.can(Perm.CATALOGUE_READ) or principal.can(Perm.CATALOGUE_MANAGE)):
        return []
    args: list[Any] = [await projects_in_reach(principal, Perm.CATALOGUE_READ, Perm.CATALOGUE_MANAGE)]
    where = ["($1::uuid[] IS NULL OR i.project_id IS NULL OR i.project_id = ANY($1::uuid[]))"]
    if project_id is not None:
        args.append(project_id)
        where.append(f"(i.project_id = ${len(args)} OR i.project_id IS NULL)")
    if status:
        args.append(status)
        where.append(f"i.status = ${len(args)}")
    if q.strip():
        args.append(f"%{q.strip()[:60]}%")
        where.append(f"(v.name ILIKE ${len(args)} OR i.code ILIKE ${len(args)})")
    return await fetch(
        "SELECT i.id, i.code, i.category, i.status, i.project_id, o.name AS project_name, o.code AS project_code,"
        " v.id AS version_id, v.version, v.name, v.status AS version_status, v.fee_basis, v.fee_amount, v.fee_min,"
        " v.fee_max, v.unit_label, v.prepay_kind, v.prepay_amount, v.long_term, i.current_version"
        " FROM service_item i LEFT JOIN org_unit o ON o.id = i.project_id"
        " JOIN LATERAL (SELECT * FROM service_item_version x WHERE x.item = i.id ORDER BY x.version DESC LIMIT 1)"
        f" v ON true WHERE {' AND '.join(where)} ORDER BY o.code NULLS FIRST, i.category, v.name", *args)


async def _project(principal: Principal | None, project_id: uuid.UUID | None) -> str | None:
    """The project's path, checking the person may design services there (the company for None)."""
    path = None
    if project_id is not None:
        units = await unit_paths(project_id)
        if project_id not in units:
            raise FieldErrors([NotFound("no such org unit", code="org_unit_not_found", field="project")])
        path = units[project_id]["path"]
    if principal is not None and not principal.covers(Perm.CATALOGUE_MANAGE, path):
        raise FieldErrors([ValidationFailed("you may design services only where your rights reach",
                                            field="project")])
    return path


def _version_row(spec: rules.VersionSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in _VERSION_FIELDS}


async def create_item(principal: Principal | None, *, code: str, project_id: uuid.UUID | None, category: str,
                      spec: rules.VersionSpec, source: str = "staff") -> dict[str, Any]:
    """A new item with its first version as a draft (nothing is on offer until it is approved)."""
    code = (code or "").strip()
    problems = await check_spec(spec)
    if not _CODE.match(code):
        problems.append(ValidationFailed("a code is 1–32 letters, digits, '-' or '_'", field="code"))
    elif await ServiceItem.exists().where(ServiceItem.code == code):
        problems.append(Conflict("an item with this code already exists", code="service_item_exists", field="code"))
    if category not in rules.CATEGORIES:
        problems.append(ValidationFailed("category must be one of %(choices)s", field="category",
                                         params={"choices": ", ".join(rules.CATEGORIES)}))
    try:
        await _project(principal, project_id)
    except FieldErrors as exc:
        problems.extend(exc.errors)
    if problems:
        raise FieldErrors(problems)
    now = clock.now()
    item = ServiceItem(code=code, project_id=project_id, category=category, status="draft", updated_at=now)
    await item.save()
    await ServiceItemVersion(item=item.id, version=1, status="draft", source=source,
                             proposed_by=principal.user_id if principal else None, **_version_row(spec)).save()
    await audit.record("catalogue.item.create", "service_item", item.id, after={"code": code, "name": spec.name})
    return await get_item(None, item.id)


async def save_draft(principal: Principal, item_id: uuid.UUID, spec: rules.VersionSpec) -> dict[str, Any]:
    """Write the item's open version: the draft or the returned one is changed; with none open, a new version
    starts as a draft (a new fee standard, say), and the approved one keeps serving until it is replaced."""
    item = await get_item(principal, item_id, manage=True, lock=True)
    problems = await check_spec(spec)
    if problems:
        raise FieldErrors(problems)
    if item["status"] == "stopped":
        raise Conflict("this service has been stopped", code="service_item_stopped")
    opened = item["open"]
    if opened is not None and opened["status"] == "in_review":
        raise Conflict("a version of this item is in approval: wait for the decision", code="version_in_review")
    if opened is not None:
        await ServiceItemVersion.update({getattr(ServiceItemVersion, k): v for k, v in _version_row(spec).items()}
                                        ).where(ServiceItemVersion.id == opened["id"])
    else:
        number = max((v["version"] for v in item["versions"]), default=0) + 1
        await ServiceItemVersion(item=item_id, version=number, status="draft", proposed_by=principal.user_id,
                                 **_version_row(spec)).save()
    await ServiceItem.update({ServiceItem.updated_at: clock.now()}).where(ServiceItem.id == item_id)
    await audit.record("catalogue.item.draft", "service_item", item_id, after={"name": spec.name})
    return await get_item(principal, item_id)


def amount_for_approval(version: dict[str, Any]) -> int:
    """The fee the approval chain is chosen by: the fee, or a quoted range's top."""
    return int(version["fee_max"] if version["fee_basis"] == "quoted" else version["fee_amount"] or 0)


async def submit(principal: Principal, item_id: uuid.UUID) -> dict[str, Any]:
    """Send the open version to approval on the company's `service_item` policy (§4.1.5)."""
    item = await get_item(principal, item_id, manage=True, lock=True)
    opened = item["open"]
    if opened is None or opened["status"] not in rules.EDITABLE:
        raise Conflict("there is no draft to submit", code="nothing_to_submit")
    if item["status"] == "stopped":
        raise Conflict("this service has been stopped", code="service_item_stopped")
    problems = await check_spec(spec_of(opened))
    if problems:
        raise FieldErrors(problems)
    # in review before the request opens: a chain that ends at once (an `auto` step) publishes inside it
    await ServiceItemVersion.update({ServiceItemVersion.status: "in_review",
                                     ServiceItemVersion.submitted_at: clock.now()}).where(
        ServiceItemVersion.id == opened["id"])
    if opened["status"] == "returned" and opened["approval_request"]:
        await approvals_service.resubmit(request_id=opened["approval_request"], actor_id=principal.user_id,
                                         amount=amount_for_approval(opened))
        request_id = opened["approval_request"]
    else:
        title = f"{item['code']} · {opened['name']} · v{opened['version']}"[:300]
        request = await approvals_service.open_request(
            subject_type=SUBJECT, subject_id=str(opened["id"]), amount=amount_for_approval(opened), category=None,
            in_plan=True, org_unit_id=item["project_id"], title=title, requester_id=principal.user_id)
        request_id = request["id"]
        await ServiceItemVersion.update({ServiceItemVersion.approval_request: request_id}).where(
            ServiceItemVersion.id == opened["id"])
    await audit.record("catalogue.item.submit", "service_item", item_id, after={"version": opened["version"],
                                                                               "request": str(request_id)})
    return await get_item(principal, item_id)


def spec_of(version: dict[str, Any]) -> rules.VersionSpec:
    return rules.VersionSpec(**{f: version[f] for f in _VERSION_FIELDS})


async def _publish(version_id: uuid.UUID) -> None:
    version = await get_version(version_id)
    if version["status"] == "approved":
        return
    now = clock.now()
    await ServiceItemVersion.update({ServiceItemVersion.status: "superseded"}).where(
        ServiceItemVersion.item == version["item"], ServiceItemVersion.status == "approved")
    await ServiceItemVersion.update({ServiceItemVersion.status: "approved", ServiceItemVersion.decided_at: now}
                                    ).where(ServiceItemVersion.id == version_id)
    await ServiceItem.update({ServiceItem.current_version: version_id, ServiceItem.status: "published",
                              ServiceItem.updated_at: now}).where(ServiceItem.id == version["item"])
    await audit.record("catalogue.item.published", "service_item", version["item"],
                       after={"version": version["version"], "fee_amount": version["fee_amount"]})


async def _decided(request: dict[str, Any], status: str) -> None:
    if request["subject_id"].startswith("stop:"):  # stopping a loss-making service (catalogue._reviews)
        from careclub.catalogue.service._reviews import stop_decided

        if status in ("approved", "rejected"):
            await stop_decided(uuid.UUID(request["subject_id"][5:]), status == "approved")
        return
    version_id = uuid.UUID(request["subject_id"])
    if status == "approved":
        await _publish(version_id)
        return
    await ServiceItemVersion.update({ServiceItemVersion.status: status, ServiceItemVersion.decided_at: clock.now()}
                                    ).where(ServiceItemVersion.id == version_id)


async def on_approved(request: dict[str, Any]) -> None:
    await _decided(request, "approved")


async def on_rejected(request: dict[str, Any]) -> None:
    await _decided(request, "rejected")


async def on_returned(request: dict[str, Any]) -> None:
    await _decided(request, "returned")


async def on_withdrawn(request: dict[str, Any]) -> None:
    await _decided(request, "draft")


async def published(projects: Sequence[uuid.UUID] | None = None) -> list[dict[str, Any]]:
    """What residents of these projects can book: published items of the projects and the company-wide ones,
    each with the approved version it is priced by (no project: the company-wide ones alone). None: every
    published item."""
    args: list[Any] = []
    where = "i.status = 'published'"
    if projects is not None:
        args.append(list(projects))
        where += " AND (i.project_id IS NULL OR i.project_id = ANY($1::uuid[]))"
    return await fetch(
        "SELECT i.id, i.code, i.category, i.project_id, v.id AS version_id, v.version, v.name, v.description,"
        " v.standard, v.delivery_hours, v.fee_basis, v.fee_amount, v.fee_min, v.fee_max, v.unit_label,"
        " v.prepay_kind, v.prepay_amount, v.long_term, v.daily_capacity"
        " FROM service_item i JOIN service_item_version v ON v.id = i.current_version"
        f" WHERE {where} ORDER BY i.category, v.name, i.id", *args)


async def resident_projects(principal: Principal) -> list[uuid.UUID]:
    """The projects of the units the resident lives in or owns now."""
    units = await tickets.resident_units(principal)
    if not units:
        return []
    rows = await fetch("SELECT DISTINCT project_id FROM property_unit WHERE id = ANY($1::uuid[])", units)
    return [r["project_id"] for r in rows]


async def offer_for(principal: Principal, project_code: str | None) -> list[dict[str, Any]]:
    """The catalogue as `GET /api/v1/catalogue` and the residents' pages show it (one function, so they never
    disagree). Staff: one project's offer (or every published item); a resident: his units' projects' offer
    (the company-wide one alone while he has no unit); another project's code is 404 to a resident."""
    projects: list[uuid.UUID] | None = None
    if project_code:
        unit = await unit_by_code(project_code)
        if unit is None or (principal.kind == "member" and unit["id"] not in await resident_projects(principal)):
            raise NotFound("no org unit with this code", code="org_unit_not_found", field="project")
        projects = [unit["id"]]
    elif principal.kind == "member":
        projects = await resident_projects(principal)
    return await published(projects)


async def apply_from_file(*, code: str, project_id: uuid.UUID | None, category: str,
                          spec: rules.VersionSpec) -> str:
    """A tenant file states the company's approved catalogue: an item it names is published as written (its
    own approval is the file's), a changed fee becomes a new version, an unchanged one is left alone."""
    row = await ServiceItem.select().where(ServiceItem.code == code).first()
    if row is None:
        await create_item(None, code=code, project_id=project_id, category=category, spec=spec,
                          source="tenant_file")
        row = await ServiceItem.select().where(ServiceItem.code == code).first()
        assert row is not None
        first = await ServiceItemVersion.select(ServiceItemVersion.id).where(
            ServiceItemVersion.item == row["id"]).first()
        assert first is not None
        await _publish(first["id"])
        return "created"
    await ServiceItem.update({ServiceItem.project_id: project_id, ServiceItem.category: category}).where(
        ServiceItem.id == row["id"])
    current = await get_version(row["current_version"]) if row["current_version"] else None
    if current is not None and spec_of(current) == spec:
        return "unchanged"
    problems = await check_spec(spec)
    if problems:
        raise FieldErrors(problems)
    number = (await fetch("SELECT coalesce(max(version), 0) + 1 AS n FROM service_item_version WHERE item = $1",
                          row["id"]))[0]["n"]
    await ServiceItemVersion.delete().where(ServiceItemVersion.item == row["id"],
                                            ServiceItemVersion.status == "draft",
                                            ServiceItemVersion.source == "tenant_file")
    version = ServiceItemVersion(item=row["id"], version=number, status="draft", source="tenant_file",
                                 **_version_row(spec))
    await version.save()
    await _publish(version.id)
    return "updated"


def replace(spec: rules.VersionSpec, **changes: Any) -> rules.VersionSpec:
    return dataclasses.replace(spec, **changes)
