"""Request and response bodies of the customer archive's API (`/api/v1/archive/…`).

Areas travel as m² in decimal text ("89.50", at most four places: kept exactly as square centimetres);
money as the contract's money object in the company's currency; dates as YYYY-MM-DD."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar

import msgspec
from piccolo.table import Table

from careclub.core.money import Money, MoneyIn
from careclub.core.schemas import Input, col, text
from careclub.tickets.tables import ArchiveRecord, Building, Occupancy, Person, PropertyUnit

Area = Annotated[str, msgspec.Meta(max_length=24, description='square metres in decimal text, like "89.50" '
                                   "(at most four decimal places)")]
Floor = Annotated[int, col(PropertyUnit.floor, ge=-20, le=300)]
USE = "residential, office, shop, parking or other"
STATUS = "vacant, occupied or renovating"
ROLE = "owner, tenant, occupant or contact"


class BuildingCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Building,)
    project_id: uuid.UUID
    code: Annotated[str, col(Building.code, min_length=1, description="unique within the project, e.g. A or 1")]
    name: Annotated[str, col(Building.name, min_length=1)]


class BuildingUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Building,)
    code: Annotated[str, col(Building.code, min_length=1)] | None = None
    name: Annotated[str, col(Building.name, min_length=1)] | None = None


class UnitCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (PropertyUnit,)
    building_id: uuid.UUID
    code: Annotated[str, col(PropertyUnit.code, min_length=1, description="unique within the building, e.g. 1201")]
    floor: Floor | None = None
    area: Area | None = None
    use: Annotated[str, col(PropertyUnit.use, description=USE)] = "residential"
    status: Annotated[str, col(PropertyUnit.status, description=STATUS)] = "vacant"


class UnitUpdate(Input):
    """The fields to change; one left out (or null) keeps its value."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (PropertyUnit,)
    code: Annotated[str, col(PropertyUnit.code, min_length=1)] | None = None
    floor: Floor | None = None
    area: Area | None = None
    use: Annotated[str, col(PropertyUnit.use, description=USE)] | None = None
    status: Annotated[str, col(PropertyUnit.status, description=STATUS)] | None = None


class PersonCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Person,)
    name: Annotated[str, col(Person.name, min_length=1)]
    kind: Annotated[str, col(Person.kind, description="individual or company")] = "individual"
    phone: Annotated[str, col(Person.phone, description="kept as its digits (and a leading +)")] = ""
    email: Annotated[str, col(Person.email)] = ""
    emergency_name: Annotated[str, col(Person.emergency_name)] = ""
    emergency_phone: Annotated[str, col(Person.emergency_phone)] = ""
    note: Annotated[str, text(4000)] = ""
    user_id: uuid.UUID | None = None


class PersonUpdate(Input):
    """The fields to change; one left out (or null) keeps its value."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (Person,)
    name: Annotated[str, col(Person.name, min_length=1)] | None = None
    kind: Annotated[str, col(Person.kind)] | None = None
    phone: Annotated[str, col(Person.phone)] | None = None
    email: Annotated[str, col(Person.email)] | None = None
    emergency_name: Annotated[str, col(Person.emergency_name)] | None = None
    emergency_phone: Annotated[str, col(Person.emergency_phone)] | None = None
    note: Annotated[str, text(4000)] | None = None
    user_id: uuid.UUID | None = None


class OccupancyCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Occupancy,)
    unit_id: uuid.UUID
    person_id: uuid.UUID
    role: Annotated[str, col(Occupancy.role, description=ROLE)] = "owner"
    starts_on: date | None = None
    ends_on: date | None = None


class OccupancyEnd(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (Occupancy,)
    ends_on: date | None = None


class RecordCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (ArchiveRecord,)
    unit_id: uuid.UUID
    kind: Annotated[str, col(ArchiveRecord.kind, description="move_in, renovation, payment, deposit, violation, "
                                                             "arrears or note")]
    occurred_on: date
    title: Annotated[str, col(ArchiveRecord.title, min_length=1)]
    amount: MoneyIn | None = None
    person_id: uuid.UUID | None = None
    note: Annotated[str, text(4000)] = ""


# ---- answers ------------------------------------------------------------------------------------------

class ProjectRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str


class BuildingRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str


class BuildingOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project: ProjectRef
    code: str
    name: str
    created_at: datetime


class BuildingList(msgspec.Struct, kw_only=True):
    items: list[BuildingOut]


class UnitOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project: ProjectRef
    building: BuildingRef
    code: str
    floor: int | None
    area: str | None
    use: str
    status: str
    created_at: datetime


class UnitList(msgspec.Struct, kw_only=True):
    """By project, then unit code. `next_after` is the cursor of the next page (pass it as `after`), null on the
    last. `total` counts at most 10,000 matches (`total_capped` says when there are more)."""

    items: list[UnitOut]
    total: int
    total_capped: bool
    limit: int
    next_after: str | None


class PersonOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: str
    phone: str
    email: str
    emergency_name: str
    emergency_phone: str
    note: str
    user_id: uuid.UUID | None
    created_at: datetime


class PersonList(msgspec.Struct, kw_only=True):
    """By name. `next_after`, `total` and `total_capped` as for units."""

    items: list[PersonOut]
    total: int
    total_capped: bool
    limit: int
    next_after: str | None


class OccupancyOut(msgspec.Struct, kw_only=True):
    """A person's tie to a unit; `current` when it holds today (started, not ended)."""

    id: uuid.UUID
    unit_id: uuid.UUID
    person_id: uuid.UUID
    role: str
    starts_on: date | None
    ends_on: date | None
    current: bool


class RecordOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    unit_id: uuid.UUID
    person_id: uuid.UUID | None
    kind: str
    occurred_on: date
    title: str
    amount: Money | None
    note: str
    recorded_by: uuid.UUID | None
    created_at: datetime


class TicketRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    type_code: str
    title: str
    status: str
    priority: str
    created_at: datetime
    closed_at: datetime | None
    satisfaction: int | None


class UnitPerson(msgspec.Struct, kw_only=True):
    occupancy_id: uuid.UUID
    role: str
    starts_on: date | None
    ends_on: date | None
    current: bool
    person: PersonOut


class UnitArchiveOut(msgspec.Struct, kw_only=True):
    """A unit's whole file: its people with roles, dates and contacts (current ties first), its records by kind
    (move_in, renovation, payment, deposit, violation, arrears, note; newest first), and its tickets (newest
    first, the latest 200)."""

    unit: UnitOut
    people: list[UnitPerson]
    records: dict[str, list[RecordOut]]
    tickets: list[TicketRef]


class PersonUnit(msgspec.Struct, kw_only=True):
    occupancy_id: uuid.UUID
    role: str
    starts_on: date | None
    ends_on: date | None
    current: bool
    unit: UnitOut


class PersonArchiveOut(msgspec.Struct, kw_only=True):
    person: PersonOut
    units: list[PersonUnit]
    tickets: list[TicketRef]


class ImportCounts(msgspec.Struct, kw_only=True):
    buildings: int
    units: int
    people: int
    occupancies: int


class ImportProblemOut(msgspec.Struct, kw_only=True):
    row: int
    field: str
    code: str
    message: str


class ArchiveImportOut(msgspec.Struct, kw_only=True):
    """`rows` read, `imported` without a problem; what that created and changed; with `valid_only`, the rows left
    out and why."""

    rows: int
    imported: int
    created: ImportCounts
    updated: ImportCounts
    problems: list[ImportProblemOut]
