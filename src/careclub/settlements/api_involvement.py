"""Early involvement (§3.1) through the API: a project's checklist by stage (`GET
/api/v1/settlement-projects/{code}/involvement`), adding an item, adding the guide's default deliverables once
(`POST …/involvement/seed`), and setting or removing one item (`/api/v1/involvement-items/{id}`).

Who: anyone with a settlements permission over the project reads; `settlements.prepare` or `settlements.manage`
at the project writes. A project or an item out of reach answers 404."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from piccolo.table import Table

from careclub.core.schemas import Input, col, text
from careclub.platform.api import PrincipalDep, provide_principal
from careclub.platform.permissions import Perm
from careclub.settlements.service import _involvement
from careclub.settlements.service._common import reader
from careclub.settlements.tables import InvolvementItem

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}
Stage = Literal["planning", "marketing", "construction", "handover", "move_in"]
Kind = Literal["deliverable", "inspection"]


class ItemIn(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (InvolvementItem,)
    stage: Stage
    title: Annotated[str, col(InvolvementItem.title, min_length=1)]
    kind: Kind = "deliverable"
    owner: uuid.UUID | None = None  # an active staff member's user id
    due_on: date | None = None
    done_on: date | None = None
    note: Annotated[str, text(4000)] = ""


class ItemUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (InvolvementItem,)
    title: Annotated[str, col(InvolvementItem.title, min_length=1)]
    owner: uuid.UUID | None = None
    due_on: date | None = None
    done_on: date | None = None  # None: not done yet
    note: Annotated[str, text(4000)] = ""


class ItemOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    stage: str
    position: int
    title: str
    kind: str
    owner: uuid.UUID | None
    owner_name: str
    due_on: date | None
    done_on: date | None
    note: str
    overdue: bool  # past its due date and not done
    updated_at: datetime | None


class StageOut(msgspec.Struct, kw_only=True):
    stage: str
    name: str
    done: int
    total: int
    overdue: int
    complete: bool  # every item done (handover: and at least the inspections needed)
    items: list[ItemOut]


class ChecklistOut(msgspec.Struct, kw_only=True):
    project: str
    project_name: str
    stages: list[StageOut]
    done: int
    total: int
    inspections_done: int
    inspections_needed: int
    overdue: list[ItemOut]
    added: int = 0  # seeding: how many default deliverables were added


def item_out(row: dict[str, Any]) -> ItemOut:
    return ItemOut(id=row["id"], stage=row["stage"], position=row["position"], title=row["title"], kind=row["kind"],
                   owner=row["owner_id"], owner_name=row["owner_name"], due_on=row["due_on"], done_on=row["done_on"],
                   note=row["note"], overdue=row["overdue"], updated_at=row["updated_at"])


def checklist_out(found: dict[str, Any]) -> ChecklistOut:
    return ChecklistOut(
        project=found["project"]["code"], project_name=found["project"]["name"],
        stages=[StageOut(stage=s["stage"], name=s["name"], done=s["done"], total=s["total"], overdue=s["overdue"],
                         complete=s["complete"], items=[item_out(i) for i in s["items"]]) for s in found["stages"]],
        done=found["done"], total=found["total"], inspections_done=found["inspections_done"],
        inspections_needed=found["inspections_needed"], overdue=[item_out(i) for i in found["overdue"]],
        added=found.get("added", 0))


class InvolvementController(Controller):
    path = "/api/v1/settlement-projects/{code:str}/involvement"
    tags = ["settlements"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def checklist(self, code: FromPath[str], principal: PrincipalDep) -> ChecklistOut:
        """The project's early-involvement checklist by stage, with each stage's progress, the handover
        inspections done against those needed and the deliverables overdue."""
        reader(principal)
        return checklist_out(await _involvement.list_items(principal, code))

    @post("", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def add(self, code: FromPath[str], data: JSONBody[ItemIn], principal: PrincipalDep) -> ItemOut:
        """Add a deliverable or an inspection at the end of its stage (422 names every field at fault)."""
        reader(principal)
        return item_out(await _involvement.add_item(principal, code, stage=data.stage, title=data.title,
                                                    kind=data.kind, owner_id=data.owner, due_on=data.due_on,
                                                    done_on=data.done_on, note=data.note))

    @post("/seed", opt={"permission": Perm.AUTHENTICATED}, status_code=200)
    async def seed(self, code: FromPath[str], principal: PrincipalDep) -> ChecklistOut:
        """Add the guide's default deliverables the checklist lacks (by stage and title): twice adds nothing."""
        reader(principal)
        return checklist_out(await _involvement.seed_checklist(principal, code))


class InvolvementItemController(Controller):
    path = "/api/v1/involvement-items"
    tags = ["settlements"]
    dependencies = _P

    @get("/{item_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def one(self, item_id: FromPath[uuid.UUID], principal: PrincipalDep) -> ItemOut:
        reader(principal)
        return item_out(await _involvement.get_item(principal, item_id))

    @put("/{item_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def change(self, item_id: FromPath[uuid.UUID], data: JSONBody[ItemUpdate],
                     principal: PrincipalDep) -> ItemOut:
        """Set the owner, the due date, the date it was done (null: not done), the note and the title."""
        reader(principal)
        return item_out(await _involvement.update_item(principal, item_id, owner_id=data.owner, due_on=data.due_on,
                                                       done_on=data.done_on, note=data.note, title=data.title))

    @delete("/{item_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, status_code=204)
    async def remove(self, item_id: FromPath[uuid.UUID], principal: PrincipalDep) -> None:
        reader(principal)
        await _involvement.remove_item(principal, item_id)


ROUTES = [InvolvementController, InvolvementItemController]
