"""The `[settlements]` section of tenant files: the company's terms with its property company, its projects'
stages and phases, and the early-involvement checklists (docs/settlements.md).

    [settlements]                fee_rate = "10.00" (management fee, per cent of the confirmed cost),
                                 due_day = 22 (a month's settlement is approved by this day of the next month);
                                 either left out: the terms as they stand (the guide's 10 % and the 22nd)
    [[settlements.projects]]     code (an org unit of kind project), stage = "pre_move_in" | "post_move_in",
                                 moved_in_on (required after move-in), note
    [[settlements.projects.phases]]  code, name, stage, moved_in_on
    [[settlements.involvement]]  project (code), stage = "planning" | "marketing" | "construction" | "handover" |
                                 "move_in", title, kind = "deliverable" | "inspection", owner (e-mail of a staff
                                 member), due_on, done_on, note

Applying is idempotent: the terms, a project and a phase (by its code) are written only when they differ from
the file; a checklist item is matched by (project, stage, title) and takes its place in the file's order within
its stage. What the file does not name stays: phases and items added on the pages are not removed, and an item
the file gives no `done_on` keeps the date recorded on the pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from careclub.core import clock
from careclub.core.errors import ValidationFailed
from careclub.platform.tables import OrgUnit, User
from careclub.platform.tenant_file import ApplyContext, register_section, with_path
from careclub.settlements import service
from careclub.settlements.tables import InvolvementItem

Stage = Literal["pre_move_in", "post_move_in"]
InvolvementStage = Literal["planning", "marketing", "construction", "handover", "move_in"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class PhaseSpec(Strict):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    stage: Stage = "pre_move_in"
    moved_in_on: date | None = None


class ProjectSpec(Strict):
    code: str
    stage: Stage = "pre_move_in"
    moved_in_on: date | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    phases: list[PhaseSpec] = []


class InvolvementSpec(Strict):
    project: str
    stage: InvolvementStage
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: Literal["deliverable", "inspection"] = "deliverable"
    owner: str | None = None
    due_on: date | None = None
    done_on: date | None = None
    note: Annotated[str, msgspec.Meta(max_length=4000)] = ""


class SettlementsSection(Strict):
    fee_rate: str | None = None
    due_day: Annotated[int, msgspec.Meta(ge=1, le=28)] | None = None
    projects: list[ProjectSpec] = []
    involvement: list[InvolvementSpec] = []


def _invalid(path: str, why: str) -> ValidationFailed:
    """A refusal named by where it stands in the file (`why` is already filled in)."""
    return ValidationFailed("%(path)s: %(message)s", code="tenant_file_invalid", field=path,
                            params={"path": path, "message": why})


async def _project(code: str, path: str, ctx: ApplyContext) -> dict[str, Any]:
    """The org unit of kind project the file names."""
    unit_id = await ctx.unit_id(code, path=path)
    row = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.kind).where(OrgUnit.id == unit_id).first()
    if row is None or row["kind"] != "project":
        raise ValidationFailed("%(path)s: org unit %(code)s is not a project (kind = \"project\")",
                               code="tenant_file_invalid", field=path, params={"path": path, "code": code})
    return row


async def _terms(section: SettlementsSection, ctx: ApplyContext) -> None:
    if section.fee_rate is None and section.due_day is None:
        return
    now = await service.terms()
    rate = now["fee_rate_bp"]
    if section.fee_rate is not None:
        try:
            rate = service.parse_rate(section.fee_rate)
        except ValidationFailed as exc:
            raise _invalid("settlements.fee_rate", exc.message) from None
    due_day = section.due_day if section.due_day is not None else now["due_day"]
    if (rate, due_day) == (now["fee_rate_bp"], now["due_day"]):
        return
    await with_path("settlements", service.set_terms(fee_rate_bp=rate, due_day=due_day))
    ctx.changed(f"settlement terms: fee {service.rate_text(rate)} %, due on day {due_day}")


def _check_stage(path: str, stage: str, moved_in_on: date | None) -> None:
    if stage == "post_move_in" and moved_in_on is None:
        raise ValidationFailed("%(path)s: give the move-in date of a project or phase after move-in",
                               code="tenant_file_invalid", field=path, params={"path": path})


async def _projects(section: SettlementsSection, ctx: ApplyContext) -> None:
    seen: set[str] = set()
    for i, spec in enumerate(section.projects):
        path = f"settlements.projects[{i}]"
        if spec.code in seen:
            raise ValidationFailed("%(path)s: project %(code)s is listed twice", code="tenant_file_invalid",
                                   field=f"{path}.code", params={"path": f"{path}.code", "code": spec.code})
        seen.add(spec.code)
        unit = await _project(spec.code, f"{path}.code", ctx)
        _check_stage(f"{path}.moved_in_on", spec.stage, spec.moved_in_on)
        now = await service.get_project(None, unit["id"])
        if (now["stage"], now["moved_in_on"], now["note"]) != (spec.stage, spec.moved_in_on, spec.note.strip()):
            await with_path(path, service.set_project(None, unit["id"], stage=spec.stage,
                                                      moved_in_on=spec.moved_in_on, note=spec.note))
            ctx.changed(f"settlement project {spec.code}: {spec.stage}")
            now = await service.get_project(None, unit["id"])
        phases = {p["code"]: p for p in now["phases"]}
        codes: set[str] = set()
        for j, phase in enumerate(spec.phases):
            where = f"{path}.phases[{j}]"
            code, name = phase.code.strip(), phase.name.strip()
            if code in codes:
                raise ValidationFailed("%(path)s: phase %(code)s is listed twice", code="tenant_file_invalid",
                                       field=f"{where}.code", params={"path": f"{where}.code", "code": code})
            codes.add(code)
            _check_stage(f"{where}.moved_in_on", phase.stage, phase.moved_in_on)
            have = phases.get(code)
            if have is not None and (have["name"], have["stage"], have["moved_in_on"]) == (
                    name, phase.stage, phase.moved_in_on):
                continue
            await with_path(where, service.set_phase(None, unit["id"], code=code, name=name, stage=phase.stage,
                                                     moved_in_on=phase.moved_in_on))
            ctx.changed(f"settlement phase {spec.code}/{code} {'updated' if have else 'added'}: {phase.stage}")


async def _owner(email: str, path: str) -> Any:
    row = await User.select(User.id, User.kind, User.is_active).where(User.email == email.strip().lower()).first()
    if row is None or row["kind"] != "staff" or not row["is_active"]:
        raise ValidationFailed("%(path)s: no staff member %(email)s (give the e-mail of a person of the file)",
                               code="tenant_file_invalid", field=path, params={"path": path, "email": email})
    return row["id"]


async def _involvement(section: SettlementsSection, ctx: ApplyContext) -> None:
    units: dict[str, Any] = {}
    keys: set[tuple[str, str, str]] = set()
    positions: dict[tuple[str, str], int] = {}
    wanted: list[tuple[InvolvementSpec, Any, int, Any]] = []
    # every item checked before the first is written, each problem named by where it stands
    for i, spec in enumerate(section.involvement):
        path = f"settlements.involvement[{i}]"
        if spec.project not in units:
            units[spec.project] = (await _project(spec.project, f"{path}.project", ctx))["id"]
        title = spec.title.strip()
        if not title:
            raise ValidationFailed("%(path)s: say what the deliverable is", code="tenant_file_invalid",
                                   field=f"{path}.title", params={"path": f"{path}.title"})
        key = (spec.project, spec.stage, title)
        if key in keys:
            raise ValidationFailed("%(path)s: %(title)s is listed twice for %(project)s at stage %(stage)s",
                                   code="tenant_file_invalid", field=f"{path}.title",
                                   params={"path": f"{path}.title", "title": title, "project": spec.project,
                                           "stage": spec.stage})
        keys.add(key)
        owner = await _owner(spec.owner, f"{path}.owner") if spec.owner else None
        position = positions.get((spec.project, spec.stage), 0) + 1
        positions[(spec.project, spec.stage)] = position
        wanted.append((spec, units[spec.project], position, owner))
    for spec, project_id, position, owner in wanted:
        title = spec.title.strip()
        fields: dict[str, Any] = {"position": position, "kind": spec.kind, "owner_id": owner, "due_on": spec.due_on,
                                  "note": spec.note.strip()}
        if spec.done_on is not None:
            fields["done_on"] = spec.done_on
        row = await InvolvementItem.select().where(
            InvolvementItem.project_id == project_id, InvolvementItem.stage == spec.stage,
            InvolvementItem.title == title).first()
        label = f"involvement {spec.project}/{spec.stage}: {title}"
        if row is None:
            await InvolvementItem(project_id=project_id, stage=spec.stage, title=title, updated_at=clock.now(),
                                  **{"done_on": None, **fields}).save()
            ctx.changed(f"{label} added")
        elif any(row[k] != v for k, v in fields.items()):
            await InvolvementItem.update({**{getattr(InvolvementItem, k): v for k, v in fields.items()},
                                          InvolvementItem.updated_at: clock.now()}).where(
                InvolvementItem.id == row["id"])
            ctx.changed(f"{label} updated")


async def apply(section: SettlementsSection, ctx: ApplyContext) -> None:
    await _terms(section, ctx)
    await _projects(section, ctx)
    await _involvement(section, ctx)


# After the platform part (people: the checklists' owners) and the approvals section (the policies the
# forms are approved under), after the other domains.
register_section("settlements", SettlementsSection, apply, order=70)
