"""The customer archive's JSON API: buildings, units, people, their ties (occupancies) and a unit's records; a
unit's whole archive and a person's; the import of units and people from a sheet.

Reads need `archive.read` over the project, writes `archive.manage`; a building, unit, person, tie or record
outside the caller's projects answers 404 exactly like a missing one (another company's included)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from careclub.core.money import to_money
from careclub.core.paging import After
from careclub.core.schemas import out
from careclub.platform.api import Limit, PrincipalDep, minor_units, provide_principal
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit
from careclub.tickets import schemas_archive as schemas
from careclub.tickets import service
from careclub.tickets.service._archive_rules import format_area
from careclub.web.imports import MAX_BYTES as IMPORT_MAX_BYTES

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}
Id = Annotated[uuid.UUID | None, QueryParameter(description="an id")]
UnitQuery = Annotated[str | None, QueryParameter(max_length=32, description="a unit code or its beginning")]
PersonQuery = Annotated[str | None, QueryParameter(max_length=120, description=(
    "a phone (found by its digits, exactly) or the beginning of a name"))]


def project_ref(row: dict[str, Any]) -> schemas.ProjectRef:
    return schemas.ProjectRef(id=row["project_id"], code=row["project_code"], name=row["project_name"])


def building_out(row: dict[str, Any]) -> schemas.BuildingOut:
    return schemas.BuildingOut(id=row["id"], project=project_ref(row), code=row["code"], name=row["name"],
                               created_at=row["created_at"])


def unit_out(row: dict[str, Any]) -> schemas.UnitOut:
    return schemas.UnitOut(
        id=row["id"], project=project_ref(row),
        building=schemas.BuildingRef(id=row["building"], code=row["building_code"], name=row["building_name"]),
        code=row["code"], floor=row["floor"], area=format_area(row["area_cm2"]), use=row["use"], status=row["status"],
        created_at=row["created_at"])


def person_out(row: dict[str, Any]) -> schemas.PersonOut:
    return schemas.PersonOut(**{f: row[f] for f in schemas.PersonOut.__struct_fields__})


def occupancy_out(row: dict[str, Any]) -> schemas.OccupancyOut:
    return schemas.OccupancyOut(id=row["id"], unit_id=row["unit"], person_id=row["person"], role=row["role"],
                                starts_on=row["starts_on"], ends_on=row["ends_on"], current=row["current"])


def record_out(row: dict[str, Any], currency: str) -> schemas.RecordOut:
    return schemas.RecordOut(
        id=row["id"], unit_id=row["unit"], person_id=row["person_id"], kind=row["kind"],
        occurred_on=row["occurred_on"], title=row["title"],
        amount=to_money(row["amount"], currency) if row["amount"] is not None else None, note=row["note"],
        recorded_by=row["recorded_by"], created_at=row["created_at"])


def ticket_ref(row: dict[str, Any]) -> schemas.TicketRef:
    return schemas.TicketRef(**{f: row[f] for f in schemas.TicketRef.__struct_fields__})


def import_out(result: dict[str, Any]) -> schemas.ArchiveImportOut:
    return schemas.ArchiveImportOut(
        rows=result["rows"], imported=result["imported"], created=out(schemas.ImportCounts, result["created"]),
        updated=out(schemas.ImportCounts, result["updated"]),
        problems=[schemas.ImportProblemOut(row=p.row, field=p.field, code=p.error.code, message=p.error.message)
                  for p in result["problems"]])


def given(data: Any) -> dict[str, Any]:
    """The fields of an update body that were sent (null or left out: keep)."""
    return {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not None}


@dataclass
class ArchiveUpload:
    file: UploadFile
    project: str
    valid_only: bool = False


class ArchiveController(Controller):
    path = "/api/v1/archive"
    tags = ["archive"]
    dependencies = _P

    @get("/buildings", opt={"permission": Perm.ARCHIVE_READ})
    async def list_buildings(self, principal: PrincipalDep, project: Id = None) -> schemas.BuildingList:
        """The buildings of the projects your archive rights cover (of one project with `project`)."""
        rows = await service.list_buildings(principal, project_id=project)
        return schemas.BuildingList(items=[building_out(r) for r in rows])

    @post("/buildings", opt={"permission": Perm.ARCHIVE_MANAGE}, status_code=201)
    async def create_building(self, data: JSONBody[schemas.BuildingCreate], principal: PrincipalDep
                              ) -> schemas.BuildingOut:
        """A building of a project (an org unit of kind project your `archive.manage` rights cover); its code is
        unique within the project (409 `building_code_taken`)."""
        return building_out(await service.create_building(principal, project_id=data.project_id, code=data.code,
                                                          name=data.name))

    @patch("/buildings/{building_id:uuid}", opt={"permission": Perm.ARCHIVE_MANAGE})
    async def update_building(self, building_id: FromPath[uuid.UUID], data: JSONBody[schemas.BuildingUpdate],
                              principal: PrincipalDep) -> schemas.BuildingOut:
        return building_out(await service.update_building(principal, building_id, **given(data)))

    @get("/units", opt={"permission": Perm.ARCHIVE_READ})
    async def list_units(self, principal: PrincipalDep, project: Id = None, building: Id = None,
                         q: UnitQuery = None, after: After = None, limit: Limit = 50) -> schemas.UnitList:
        """Units of your projects by project, then code, a keyset page at a time (`after` = the previous page's
        `next_after`); `q` finds a unit code or the codes beginning with it."""
        filters: dict[str, Any] = {"project_id": project, "building_id": building, "q": (q or "").strip() or None}
        rows, cursor = await service.unit_list(principal, **filters, after=after, limit=limit)
        total, more = await service.unit_count(principal, **filters)
        return schemas.UnitList(items=[unit_out(r) for r in rows], total=total, total_capped=more, limit=limit,
                                next_after=cursor)

    @post("/units", opt={"permission": Perm.ARCHIVE_MANAGE}, status_code=201)
    async def create_unit(self, data: JSONBody[schemas.UnitCreate], principal: PrincipalDep) -> schemas.UnitOut:
        """A unit of a building; its code is unique within the building (409 `unit_code_taken`)."""
        return unit_out(await service.create_unit(principal, building_id=data.building_id, code=data.code,
                                                  floor=data.floor, area=data.area, use=data.use, status=data.status))

    @get("/units/{unit_id:uuid}", opt={"permission": Perm.ARCHIVE_READ})
    async def unit_archive(self, unit_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.UnitArchiveOut:
        """The unit's whole archive: its people and contacts, its records by kind, its tickets."""
        found = await service.unit_archive(principal, unit_id)
        cur = principal.tenant.currency
        return schemas.UnitArchiveOut(
            unit=unit_out(found["unit"]),
            people=[schemas.UnitPerson(occupancy_id=p["occupancy_id"], role=p["role"], starts_on=p["starts_on"],
                                       ends_on=p["ends_on"], current=p["current"], person=person_out(p))
                    for p in found["people"]],
            records={k: [record_out(r, cur) for r in rows] for k, rows in found["records"].items()},
            tickets=[ticket_ref(t) for t in found["tickets"]])

    @patch("/units/{unit_id:uuid}", opt={"permission": Perm.ARCHIVE_MANAGE})
    async def update_unit(self, unit_id: FromPath[uuid.UUID], data: JSONBody[schemas.UnitUpdate],
                          principal: PrincipalDep) -> schemas.UnitOut:
        return unit_out(await service.update_unit(principal, unit_id, **given(data)))

    @get("/people", opt={"permission": Perm.ARCHIVE_READ})
    async def list_people(self, principal: PrincipalDep, q: PersonQuery = None, after: After = None,
                          limit: Limit = 50) -> schemas.PersonList:
        """People tied to units of your projects (and those tied to none yet), by name, a keyset page at a time."""
        rows, cursor = await service.person_list(principal, q=q, after=after, limit=limit)
        total, more = await service.person_count(principal, q=q)
        return schemas.PersonList(items=[person_out(r) for r in rows], total=total, total_capped=more, limit=limit,
                                  next_after=cursor)

    @post("/people", opt={"permission": Perm.ARCHIVE_MANAGE}, status_code=201)
    async def create_person(self, data: JSONBody[schemas.PersonCreate], principal: PrincipalDep
                            ) -> schemas.PersonOut:
        """A person (or company) in the archive; tie them to a unit with `POST /api/v1/archive/occupancies`."""
        return person_out(await service.create_person(principal, **{f: getattr(data, f)
                                                                     for f in data.__struct_fields__}))

    @get("/people/{person_id:uuid}", opt={"permission": Perm.ARCHIVE_READ})
    async def person_archive(self, person_id: FromPath[uuid.UUID], principal: PrincipalDep
                             ) -> schemas.PersonArchiveOut:
        """The person, the units of your projects they are tied to, and their tickets there."""
        found = await service.person_archive(principal, person_id)
        return schemas.PersonArchiveOut(
            person=person_out(found["person"]),
            units=[schemas.PersonUnit(occupancy_id=u["occupancy_id"], role=u["role"], starts_on=u["starts_on"],
                                      ends_on=u["ends_on"], current=u["current"], unit=unit_out(u))
                   for u in found["units"]],
            tickets=[ticket_ref(t) for t in found["tickets"]])

    @patch("/people/{person_id:uuid}", opt={"permission": Perm.ARCHIVE_MANAGE})
    async def update_person(self, person_id: FromPath[uuid.UUID], data: JSONBody[schemas.PersonUpdate],
                            principal: PrincipalDep) -> schemas.PersonOut:
        return person_out(await service.update_person(principal, person_id, **given(data)))

    @post("/occupancies", opt={"permission": Perm.ARCHIVE_MANAGE}, status_code=201)
    async def link(self, data: JSONBody[schemas.OccupancyCreate], principal: PrincipalDep) -> schemas.OccupancyOut:
        """Tie a person to a unit as owner, tenant, occupant or contact, from a date (and until one). The same
        current tie twice answers 409 `occupancy_exists`."""
        return occupancy_out(await service.link_person(principal, unit_id=data.unit_id, person_id=data.person_id,
                                                       role=data.role, starts_on=data.starts_on,
                                                       ends_on=data.ends_on))

    @post("/occupancies/{occupancy_id:uuid}/end", opt={"permission": Perm.ARCHIVE_MANAGE}, status_code=200)
    async def end(self, occupancy_id: FromPath[uuid.UUID], data: JSONBody[schemas.OccupancyEnd],
                  principal: PrincipalDep) -> schemas.OccupancyOut:
        """End a tie on a day (today, in the company's zone, when none is given); 409 when it ended already."""
        return occupancy_out(await service.end_occupancy(principal, occupancy_id, ends_on=data.ends_on))

    @post("/records", opt={"permission": Perm.ARCHIVE_MANAGE}, status_code=201)
    async def add_record(self, data: JSONBody[schemas.RecordCreate], principal: PrincipalDep) -> schemas.RecordOut:
        """Something in a unit's file that is not a ticket: `move_in`, `renovation`, `payment`, `deposit`,
        `violation`, `arrears` or `note`. Payments, deposits and arrears need their `amount`."""
        row = await service.add_record(principal, unit_id=data.unit_id, kind=data.kind, occurred_on=data.occurred_on,
                                       title=data.title, amount=minor_units(principal, data.amount, "amount"),
                                       person_id=data.person_id, note=data.note)
        return record_out(row, principal.tenant.currency)

    @post("/import", opt={"permission": Perm.ARCHIVE_MANAGE}, status_code=200,
          request_max_body_size=IMPORT_MAX_BYTES + 1024 * 1024)
    async def import_units(self, principal: PrincipalDep,
                           data: Annotated[ArchiveUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
                           ) -> schemas.ArchiveImportOut:
        """Units and people of one project (`project`: its id or code) from an xlsx or CSV file with the columns
        building, building name, unit, floor, area (m²), use, status, name, phone, role, starts on, emergency
        contact and emergency phone (English or Chinese headers). With any problem nothing is imported (422
        `import_rows_refused`, each row's problem under `error.fields` as `rows[N].column`) unless `valid_only` is
        true, which imports the good rows and lists the others. Importing the same file again changes nothing."""
        project_id = await project_param(data.project)
        result = await service.import_units(principal, await data.file.read(), project_id=project_id,
                                            valid_only=data.valid_only)
        return import_out(result)


async def project_param(value: str) -> uuid.UUID | None:
    """A project named by its id or its org-unit code."""
    text = (value or "").strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        row = await OrgUnit.select(OrgUnit.id).where(OrgUnit.code == text).first() if text else None
        return row["id"] if row else None


ROUTES: list[Any] = [ArchiveController]
