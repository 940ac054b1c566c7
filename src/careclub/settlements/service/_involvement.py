"""Early involvement (§3.1) as checklists per project: the deliverables the property company owes at each stage
(planning and design review, marketing support, construction, handover inspection, mass move-in), each with its
owner, due date and the date it was done.

Rules: a deliverable past its due date and not done is overdue (by the company's calendar); a stage is complete
when every item of it is done, and the handover stage only once at least `rules.MIN_HANDOVER_INSPECTIONS`
inspections are done ("一个项目物业至少要进行二次查验"). `DEFAULT_CHECKLIST` is the guide's list, added to a
project once by `seed_checklist` (matched by stage and title, so seeding twice adds nothing).

Who: anyone with a settlements permission over the project reads its checklist; the property company's people
(`settlements.prepare`) and the keepers of the accounts (`settlements.manage`) at the project change it. An item
or project out of reach answers 404 as one that does not exist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import AppError, FieldErrors, Forbidden, NotFound, ValidationFailed
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today
from careclub.settlements import rules
from careclub.settlements.service._common import lock_project, project_unit
from careclub.settlements.tables import InvolvementItem

KINDS = ("deliverable", "inspection")
WRITERS = (Perm.SETTLEMENTS_PREPARE, Perm.SETTLEMENTS_MANAGE)
TITLE_MAX = 200
NOTE_MAX = 4000
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


@dataclass(frozen=True)
class DefaultItem:
    stage: str
    title: str
    kind: str = "deliverable"
    note: str = ""  # when the guide wants it, as the guide says it


# §3.1 of the guide, stage by stage, in the guide's words (what the forms and reports are called).
DEFAULT_CHECKLIST: tuple[DefaultItem, ...] = (
    # §3.1.1 规划设计阶段
    DefaultItem("planning", "物业管理定位调研报告", note="项目规划设计阶段"),
    DefaultItem("planning", "物业相关项目细节建议书", note="参与规划设计方案评审"),
    DefaultItem("planning", "物业管理模式建议", note="设计阶段由物业公司提出"),
    # §3.1.2 营销配合阶段: 售楼处开放前两个月介入
    DefaultItem("marketing", "前期物业管理方案", note="售楼处开放前两个月介入"),
    DefaultItem("marketing", "临时管理规约", note="售楼处开放前两个月介入"),
    DefaultItem("marketing", "入伙方案", note="入伙前两个月"),
    DefaultItem("marketing", "售楼处及样板房物业服务", note="售楼处开放时上岗"),
    # §3.1.3 施工建设阶段: 入伙前约六个月
    DefaultItem("construction", "分户工程质量现状报告", note="入伙前约六个月起"),
    DefaultItem("construction", "公共部位工地巡查报告", note="入伙前约六个月起"),
    DefaultItem("construction", "房屋质量缺陷报告", note="入伙前约六个月起"),
    # §3.1.4 承接查验阶段: 不晚于竣工验收前三个月; 一个项目物业至少要进行二次查验
    DefaultItem("handover", "设施设备清点及检查", note="不晚于竣工验收前三个月"),
    DefaultItem("handover", "设施设备厂家操作培训"),
    DefaultItem("handover", "房屋及公共设施验收交接表"),
    DefaultItem("handover", "房屋整体移交验收表"),
    DefaultItem("handover", "房屋/附属设施遗留问题登记表"),
    DefaultItem("handover", "第一次承接查验", kind="inspection"),
    DefaultItem("handover", "第二次承接查验 (返修后复验)", kind="inspection"),
    # §3.1.5 集中入伙阶段: 入伙前两个月
    DefaultItem("move_in", "客户服务中心组建 (与地产共同)", note="集中入伙前两个月"),
    DefaultItem("move_in", "集中入伙人员培训", note="集中入伙前两个月"),
    DefaultItem("move_in", "入伙物资及资料准备"),
    DefaultItem("move_in", "集中入伙现场配合"),
    DefaultItem("move_in", "入伙满意度调查"),
)


def stage_name(stage: str) -> str:
    return _(rules.INVOLVEMENT_STAGE_NAMES[stage]) if stage in rules.INVOLVEMENT_STAGE_NAMES else stage


def is_overdue(item: dict[str, Any], today: date) -> bool:
    """Past its due date and not done."""
    return item["done_on"] is None and item["due_on"] is not None and item["due_on"] < today


def stage_complete(stage: str, items: list[dict[str, Any]]) -> bool:
    """Every item done; the handover stage also needs at least MIN_HANDOVER_INSPECTIONS inspections done."""
    if not items or any(i["done_on"] is None for i in items):
        return False
    if stage == "handover":
        done = sum(1 for i in items if i["kind"] == "inspection" and i["done_on"] is not None)
        return done >= rules.MIN_HANDOVER_INSPECTIONS
    return True


# ---- reading -----------------------------------------------------------------------------------

_ITEMS_SQL = ("SELECT i.id, i.project_id, i.stage, i.position, i.title, i.kind, i.owner_id, i.due_on, i.done_on, "
              "i.note, i.updated_at, i.created_at, coalesce(u.display_name, '') AS owner_name, "
              "coalesce(u.email, '') AS owner_email FROM involvement_item i LEFT JOIN app_user u ON u.id = i.owner_id ")
_STAGE_ORDER = {s: n for n, s in enumerate(rules.INVOLVEMENT_STAGES)}


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (_STAGE_ORDER.get(r["stage"], 99), r["position"], r["created_at"], r["id"]))


def _item(row: dict[str, Any], today: date) -> dict[str, Any]:
    return {"id": row["id"], "project_id": row["project_id"], "stage": row["stage"], "position": row["position"],
            "title": row["title"], "kind": row["kind"], "owner_id": row["owner_id"], "owner_name": row["owner_name"],
            "owner_email": row["owner_email"], "due_on": row["due_on"], "done_on": row["done_on"],
            "note": row["note"], "updated_at": row["updated_at"], "overdue": is_overdue(row, today),
            "days_overdue": (today - row["due_on"]).days if is_overdue(row, today) else 0}


def summarise(items: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """The checklist by stage with each stage's progress, the inspections and the overdue deliverables."""
    stages = []
    for stage in rules.INVOLVEMENT_STAGES:
        mine = [i for i in items if i["stage"] == stage]
        stages.append({"stage": stage, "name": stage_name(stage), "items": mine,
                       "done": sum(1 for i in mine if i["done_on"] is not None), "total": len(mine),
                       "overdue": sum(1 for i in mine if i["overdue"]), "complete": stage_complete(stage, mine)})
    inspections = [i for i in items if i["stage"] == "handover" and i["kind"] == "inspection"]
    return {"stages": stages, "today": today,
            "inspections_done": sum(1 for i in inspections if i["done_on"] is not None),
            "inspections_planned": len(inspections), "inspections_needed": rules.MIN_HANDOVER_INSPECTIONS,
            "overdue": [i for i in items if i["overdue"]],
            "done": sum(1 for i in items if i["done_on"] is not None), "total": len(items)}


async def _project_items(project_id: uuid.UUID, today: date) -> list[dict[str, Any]]:
    rows = await fetch(_ITEMS_SQL + "WHERE i.project_id = $1", project_id)
    return [_item(r, today) for r in _sorted(rows)]


async def panel(project_id: uuid.UUID) -> dict[str, Any]:
    """For the project page: each stage's progress and the deliverables past their date.
    {"stages": [{"stage", "name", "done", "total"}], "overdue": [{"id", "title", "stage", "due_on",
    "owner_name"}], "inspections_done": int, "inspections_needed": int}"""
    today = await company_today()
    found = summarise(await _project_items(project_id, today), today)
    return {"stages": [{k: s[k] for k in ("stage", "name", "done", "total")} for s in found["stages"]],
            "overdue": [{k: i[k] for k in ("id", "title", "stage", "due_on", "owner_name")} for i in found["overdue"]],
            "inspections_done": found["inspections_done"], "inspections_needed": found["inspections_needed"]}


def may_write(principal: Principal | None, unit: dict[str, Any]) -> bool:
    return principal is None or any(principal.covers(p, unit["path"]) for p in WRITERS)


async def _writable(principal: Principal | None, ref: uuid.UUID | str) -> dict[str, Any]:
    unit = await project_unit(principal, ref)
    if not may_write(principal, unit):
        raise Forbidden("your roles do not include the permission %(needed)s for this project", code="forbidden",
                        params={"needed": Perm.SETTLEMENTS_PREPARE})
    return unit


async def list_items(principal: Principal | None, project: uuid.UUID | str) -> dict[str, Any]:
    """The project's checklist by stage: {"project": {id, code, name}, "may_edit", "stages": [{stage, name, items,
    done, total, overdue, complete}], "inspections_done", "inspections_planned", "inspections_needed", "overdue",
    "done", "total", "today"}."""
    unit = await project_unit(principal, project)
    today = await company_today()
    out = summarise(await _project_items(unit["id"], today), today)
    return {**out, "project": {"id": unit["id"], "code": unit["code"], "name": unit["name"]},
            "may_edit": may_write(principal, unit)}


async def get_item(principal: Principal | None, item_id: uuid.UUID) -> dict[str, Any]:
    rows = await fetch(_ITEMS_SQL + "WHERE i.id = $1", item_id)
    if not rows:
        raise NotFound("no such checklist item", code="involvement_item_not_found")
    try:
        unit = await project_unit(principal, rows[0]["project_id"])
    except NotFound:
        raise NotFound("no such checklist item", code="involvement_item_not_found") from None
    return {**_item(rows[0], await company_today()), "project": unit["code"], "project_name": unit["name"]}


# ---- checking ----------------------------------------------------------------------------------

async def check_owner(owner_id: uuid.UUID | None, field: str = "owner") -> list[AppError]:
    """The owner is an active staff member of the company (a member or a merchant operator owns nothing here)."""
    if owner_id is None:
        return []
    rows = await fetch("SELECT kind, is_active FROM app_user WHERE id = $1", owner_id)
    if not rows or rows[0]["kind"] != "staff" or not rows[0]["is_active"]:
        return [ValidationFailed("the owner must be an active staff member of the company", field=field,
                                 code="owner_not_staff")]
    return []


async def owner_by_email(email: str) -> uuid.UUID | None:
    """An active staff member by e-mail (what a page's owner field takes), or None."""
    rows = await fetch("SELECT id FROM app_user WHERE lower(email) = lower($1) AND kind = 'staff' AND is_active",
                       email.strip())
    return rows[0]["id"] if rows else None


async def check_item(*, title: str, owner_id: uuid.UUID | None, due_on: date | None, done_on: date | None,
                     note: str, stage: str | None = None, kind: str | None = None,
                     today: date | None = None) -> list[AppError]:
    """Every problem of an item at once, each naming its field (nothing is written)."""
    problems: list[AppError] = []
    if stage is not None and stage not in rules.INVOLVEMENT_STAGES:
        problems.append(ValidationFailed("%(field)s must be one of %(choices)s", field="stage", code="invalid_choice",
                                         params={"field": "stage", "choices": ", ".join(rules.INVOLVEMENT_STAGES)}))
    if kind is not None and kind not in KINDS:
        problems.append(ValidationFailed("%(field)s must be one of %(choices)s", field="kind", code="invalid_choice",
                                         params={"field": "kind", "choices": ", ".join(KINDS)}))
    if not title.strip() or len(title.strip()) > TITLE_MAX:
        problems.append(ValidationFailed("title is required (at most 200 characters)", field="title",
                                         code="invalid_title"))
    if len(note) > NOTE_MAX:
        problems.append(ValidationFailed("a note is at most 4000 characters", field="note", code="too_long"))
    for name, day in (("due_on", due_on), ("done_on", done_on)):
        if day is not None and not EARLIEST <= day <= LATEST:
            problems.append(ValidationFailed("give a date from 2000 to 2100", field=name, code="invalid_date"))
    today = today or await company_today()
    if done_on is not None and done_on > today:
        problems.append(ValidationFailed("the day it was done cannot be later than today", field="done_on",
                                         code="done_in_future"))
    problems.extend(await check_owner(owner_id))
    return problems


# ---- writing -----------------------------------------------------------------------------------

async def add_item(principal: Principal | None, project: uuid.UUID | str, *, stage: str, title: str,
                   kind: str = "deliverable", owner_id: uuid.UUID | None = None, due_on: date | None = None,
                   done_on: date | None = None, note: str = "") -> dict[str, Any]:
    """A deliverable (or an inspection) of its own, at the end of its stage."""
    unit = await _writable(principal, project)
    problems = await check_item(title=title, owner_id=owner_id, due_on=due_on, done_on=done_on, note=note,
                                stage=stage, kind=kind)
    if problems:
        raise FieldErrors(problems)
    await lock_project(unit["id"])
    last = await fetch("SELECT coalesce(max(position), 0) AS n FROM involvement_item WHERE project_id = $1 "
                       "AND stage = $2", unit["id"], stage)
    item = InvolvementItem(project_id=unit["id"], stage=stage, position=int(last[0]["n"]) + 1, title=title.strip(),
                           kind=kind, owner_id=owner_id, due_on=due_on, done_on=done_on, note=note.strip(),
                           updated_at=clock.now())
    await item.save()
    await audit.record("settlements.involvement.add", "involvement_item", item.id,
                       after={"project": unit["code"], "stage": stage, "title": item.title, "kind": kind,
                              "owner": owner_id, "due_on": due_on, "done_on": done_on})
    return await get_item(principal, item.id)


async def seed_checklist(principal: Principal | None, project: uuid.UUID | str) -> dict[str, Any]:
    """Add the guide's deliverables (DEFAULT_CHECKLIST) the project's checklist lacks, each at the end of its stage;
    an item of the same stage and title already there (from the tenant file, or seeded before) is left as it is.
    Answers the checklist and, under "added", how many were added (0 the second time)."""
    unit = await _writable(principal, project)
    await lock_project(unit["id"])
    have = {(r["stage"], r["title"]) for r in await fetch(
        "SELECT stage, title FROM involvement_item WHERE project_id = $1", unit["id"])}
    positions = {r["stage"]: int(r["n"]) for r in await fetch(
        "SELECT stage, max(position) AS n FROM involvement_item WHERE project_id = $1 GROUP BY stage", unit["id"])}
    now = clock.now()
    added = []
    for default in DEFAULT_CHECKLIST:
        if (default.stage, default.title) in have:
            continue
        positions[default.stage] = positions.get(default.stage, 0) + 1
        added.append(InvolvementItem(project_id=unit["id"], stage=default.stage, position=positions[default.stage],
                                     title=default.title, kind=default.kind, note=default.note, updated_at=now))
    if added:
        await InvolvementItem.insert(*added)
        await audit.record("settlements.involvement.seed", "org_unit", unit["id"],
                           after={"project": unit["code"], "added": [a.title for a in added]})
    return {**await list_items(principal, unit["id"]), "added": len(added)}


async def _lock_item(principal: Principal | None, item_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = await fetch("SELECT * FROM involvement_item WHERE id = $1 FOR UPDATE", item_id)
    if not rows:
        raise NotFound("no such checklist item", code="involvement_item_not_found")
    try:
        unit = await project_unit(principal, rows[0]["project_id"])
    except NotFound:
        raise NotFound("no such checklist item", code="involvement_item_not_found") from None
    if not may_write(principal, unit):
        raise Forbidden("your roles do not include the permission %(needed)s for this project", code="forbidden",
                        params={"needed": Perm.SETTLEMENTS_PREPARE})
    return rows[0], unit


async def update_item(principal: Principal | None, item_id: uuid.UUID, *, owner_id: uuid.UUID | None,
                      due_on: date | None, done_on: date | None, note: str, title: str) -> dict[str, Any]:
    """Set an item's owner, due date, the date it was done (None: not done yet), note and title."""
    row, _unit = await _lock_item(principal, item_id)
    problems = await check_item(title=title, owner_id=owner_id, due_on=due_on, done_on=done_on, note=note)
    if problems:
        raise FieldErrors(problems)
    after = {"title": title.strip(), "owner_id": owner_id, "due_on": due_on, "done_on": done_on,
             "note": note.strip()}
    before = {k: row[k] for k in after}
    if before != after:
        await InvolvementItem.update({**{getattr(InvolvementItem, k): v for k, v in after.items()},
                                      InvolvementItem.updated_at: clock.now()}).where(InvolvementItem.id == item_id)
        await audit.record("settlements.involvement.update", "involvement_item", item_id,
                           before={k: v for k, v in before.items() if after[k] != v},
                           after={k: v for k, v in after.items() if before[k] != v})
    return await get_item(principal, item_id)


async def remove_item(principal: Principal | None, item_id: uuid.UUID) -> None:
    row, unit = await _lock_item(principal, item_id)
    await InvolvementItem.delete().where(InvolvementItem.id == item_id)
    await audit.record("settlements.involvement.remove", "involvement_item", item_id,
                       before={"project": unit["code"], "stage": row["stage"], "title": row["title"],
                               "kind": row["kind"], "done_on": row["done_on"]})
