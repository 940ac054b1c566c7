"""The ticket workflow as data, and the pure rules over it (no I/O).

A type's workflow is a list of stages and a list of transitions. Each stage has a `phase`, which is all
the core needs to know about it: `new` (waiting for someone to take it: the response clock runs), `work`
(the resolution clock runs), `wait` (waiting on the resident or a contractor: the clock pauses), `done`
(resolved, waiting for sign-off or the return visit: the clock stops), `closed` and `cancelled` (final).
A transition says who may take it (`by`: dispatch, handle, resident) and what it needs (`needs`): a holder
to hand the ticket to, the resident's sign-off, a rating, a complete checklist, a note. A transition may
also name the department it hands the ticket to (`department`, an org-unit code), as a renovation permit
goes to engineering for the drawings review and to security for the fire-safety review.

Each built-in type (`complaint`, `repair`, … `service_order`) has a default workflow that a company can
take as it is or replace in its tenant file or on the type's page."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from careclub.core.errors import AppError, ValidationFailed
from careclub.core.i18n import N_

PRIORITIES = ("low", "normal", "high", "urgent")
SOURCES = ("phone", "walk_in", "web", "portal", "visit", "inspection")
PHASES = ("new", "work", "wait", "done", "closed", "cancelled")
ACTORS = ("dispatch", "handle", "resident")
NEEDS = ("holder", "signoff", "rating", "checklist", "note")
VISIBILITY = ("department", "assignee", "residents")
REQUIRABLE_FIELDS = ("unit", "person", "contact_name", "contact_phone", "description")
CHECK_KINDS = ("check", "amount", "text")
VISIT_REASONS = ("satisfied", "slow", "attitude", "quality", "not_fixed", "other")
# a rating at or below this reopens the ticket: the work is done again, charged to the same department
REWORK_AT_OR_BELOW = 2

BUILTIN_TYPES = ("complaint", "repair", "contact_slip", "renovation_permit", "move_in", "move_out", "inspection",
                 "visit", "service_order")

TYPE_NAMES = {
    "complaint": N_("Complaint"), "repair": N_("Repair"), "contact_slip": N_("Customer-service contact slip"),
    "renovation_permit": N_("Renovation permit"), "move_in": N_("Move-in"), "move_out": N_("Move-out"),
    "inspection": N_("Inspection"), "visit": N_("Customer visit"), "service_order": N_("Service order"),
}
TYPE_PREFIXES = {"complaint": "TS", "repair": "WX", "contact_slip": "LX", "renovation_permit": "ZX", "move_in": "RH",
                 "move_out": "QC", "inspection": "XJ", "visit": "BF", "service_order": "FW"}

STAGE_NAMES = {
    "registered": N_("Registered"), "dispatched": N_("Dispatched"), "accepted": N_("Taken on by its handler"),
    "in_progress": N_("In progress"), "waiting_resident": N_("Waiting on the resident"),
    "waiting_contractor": N_("Waiting on a contractor"), "resolved": N_("Resolved"),
    "confirmed": N_("Signed off"), "visited": N_("Return visit done"), "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
    # the renovation permit (seed 002 §3.2)
    "applied": N_("Application received"), "drawings_review": N_("Drawings review"),
    "fire_review": N_("Fire-safety review"), "permit_issued": N_("Permit issued"),
    "under_works": N_("Works under inspection"), "hidden_works_accepted": N_("Hidden works accepted"),
    "completion_accepted": N_("Completion accepted"),
}
PRIORITY_NAMES = {"low": N_("Low"), "normal": N_("Normal"), "high": N_("High"), "urgent": N_("Urgent")}
SOURCE_NAMES = {"phone": N_("Phone"), "walk_in": N_("Walk-in"), "web": N_("Web"), "portal": N_("Resident portal"),
                "visit": N_("Visit"), "inspection": N_("Inspection")}
REASON_NAMES = {"satisfied": N_("Satisfied"), "slow": N_("Too slow"), "attitude": N_("Staff attitude"),
                "quality": N_("Quality of the work"), "not_fixed": N_("Not fixed"), "other": N_("Other")}


@dataclass(frozen=True)
class Stage:
    code: str
    phase: str
    name: str = ""  # a company's own stage name; empty: the built-in stage's translated name


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    by: tuple[str, ...]
    needs: tuple[str, ...] = ()
    department: str = ""  # org-unit code the ticket is handed to on this step


@dataclass(frozen=True)
class Flow:
    stages: tuple[Stage, ...]
    transitions: tuple[Transition, ...]

    def stage(self, code: str) -> Stage | None:
        return next((s for s in self.stages if s.code == code), None)

    @property
    def first(self) -> Stage:
        return self.stages[0]

    def from_stage(self, code: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == code]


def _t(source: str, target: str, by: str, needs: str = "", department: str = "") -> Transition:
    return Transition(source, target, tuple(by.split()), tuple(needs.split()), department)


_STANDARD_STAGES = (Stage("registered", "new"), Stage("dispatched", "new"), Stage("accepted", "work"),
                    Stage("in_progress", "work"), Stage("waiting_resident", "wait"),
                    Stage("waiting_contractor", "wait"), Stage("resolved", "done"), Stage("confirmed", "done"),
                    Stage("visited", "done"), Stage("closed", "closed"), Stage("cancelled", "cancelled"))

_STANDARD_TRANSITIONS = (
    _t("registered", "dispatched", "dispatch", "holder"),
    _t("registered", "accepted", "handle"),
    _t("registered", "cancelled", "dispatch", "note"),
    _t("dispatched", "dispatched", "dispatch", "holder"),
    _t("dispatched", "accepted", "handle"),
    _t("dispatched", "cancelled", "dispatch", "note"),
    _t("accepted", "in_progress", "handle"),
    _t("accepted", "dispatched", "dispatch", "holder"),
    _t("in_progress", "dispatched", "dispatch", "holder"),
    _t("accepted", "waiting_resident", "handle", "note"),
    _t("in_progress", "waiting_resident", "handle", "note"),
    _t("in_progress", "waiting_contractor", "handle", "note"),
    _t("waiting_resident", "in_progress", "handle"),
    _t("waiting_contractor", "in_progress", "handle"),
    _t("accepted", "resolved", "handle", "checklist"),
    _t("in_progress", "resolved", "handle", "checklist"),
    _t("resolved", "confirmed", "handle resident", "signoff"),
    # a dispute of the work: it goes back to the department that did it
    _t("resolved", "in_progress", "handle resident", "note"),
    _t("resolved", "visited", "handle resident", "rating"),
    _t("confirmed", "visited", "handle resident", "rating"),
    _t("resolved", "closed", "handle"),
    _t("confirmed", "closed", "handle"),
    _t("visited", "closed", "handle"),
)

STANDARD = Flow(_STANDARD_STAGES, _STANDARD_TRANSITIONS)

# Seed 002 §3.2: application, drawings reviewed by engineering, fire safety by security, the permit issued,
# inspections during the works, hidden works accepted before they are covered, completion accepted, and the
# deposit refunded less damages (the checklist's amounts) when the permit closes.
RENOVATION = Flow(
    (Stage("applied", "new"), Stage("drawings_review", "work"), Stage("fire_review", "work"),
     Stage("permit_issued", "work"), Stage("under_works", "work"), Stage("waiting_resident", "wait"),
     Stage("hidden_works_accepted", "work"), Stage("completion_accepted", "done"), Stage("closed", "closed"),
     Stage("cancelled", "cancelled")),
    (_t("applied", "drawings_review", "dispatch handle"),
     _t("applied", "cancelled", "dispatch", "note"),
     _t("drawings_review", "fire_review", "handle", "note"),
     _t("drawings_review", "waiting_resident", "handle", "note"),
     _t("waiting_resident", "drawings_review", "handle"),
     _t("fire_review", "permit_issued", "handle", "note"),
     _t("fire_review", "waiting_resident", "handle", "note"),
     _t("permit_issued", "under_works", "handle"),
     _t("under_works", "hidden_works_accepted", "handle", "note"),
     _t("hidden_works_accepted", "completion_accepted", "handle", "checklist"),
     _t("completion_accepted", "closed", "handle", "note")),
)

# The built-in checklists; an item without a label of its own shows the built-in label, translated.
CHECK_LABELS = {
    "keys_returned": N_("Keys returned"), "meters_read": N_("Meter readings"), "damage": N_("Damage assessed"),
    "deposit_settled": N_("Deposit settled"), "keys_handed": N_("Keys handed over"),
    "defects_noted": N_("Defects noted at handover"), "deposit": N_("Renovation deposit"),
    "site_clean": N_("Site cleared"),
}


def _items(*specs: str) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        code, kind, required = spec.split(":")
        out.append({"code": code, "kind": kind, "required": required == "required"})
    return out


CHECKLISTS: dict[str, list[dict[str, Any]]] = {
    "move_out": _items("keys_returned:check:required", "meters_read:text:required", "damage:amount:required",
                       "deposit_settled:check:required"),
    "move_in": _items("keys_handed:check:required", "meters_read:text:required", "defects_noted:text:optional"),
    "renovation_permit": _items("deposit:amount:required", "damage:amount:required", "site_clean:check:required"),
}

# Targets in minutes per priority: response (someone takes it), resolution; `clock` working or calendar.
DEFAULT_SLA: dict[str, dict[str, Any]] = {
    "low": {"respond": 240, "resolve": 5 * 540, "clock": "working"},
    "normal": {"respond": 60, "resolve": 2 * 540, "clock": "working"},
    "high": {"respond": 30, "resolve": 540, "clock": "working"},
    "urgent": {"respond": 15, "resolve": 240, "clock": "calendar"},
}


def default_flow(code: str) -> Flow:
    return RENOVATION if code == "renovation_permit" else STANDARD


def flow_to_json(flow: Flow) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    stages = [{"code": s.code, "phase": s.phase, **({"name": s.name} if s.name else {})} for s in flow.stages]
    transitions = [{"from": t.source, "to": t.target, "by": list(t.by), "needs": list(t.needs),
                    **({"department": t.department} if t.department else {})} for t in flow.transitions]
    return stages, transitions


def flow_from_json(stages: Iterable[Mapping[str, Any]], transitions: Iterable[Mapping[str, Any]]) -> Flow:
    return Flow(tuple(Stage(s["code"], s["phase"], s.get("name", "")) for s in stages),
                tuple(Transition(t["from"], t["to"], tuple(t.get("by", ())), tuple(t.get("needs", ())),
                                 t.get("department", "")) for t in transitions))


_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def check_flow(flow: Flow) -> list[AppError]:
    """Every problem of a workflow, each naming its field: the pages and the tenant file show them all at once."""
    problems: list[AppError] = []
    seen: set[str] = set()
    if not flow.stages:
        problems.append(ValidationFailed("a workflow needs at least one stage", field="stages"))
        return problems
    for i, s in enumerate(flow.stages):
        if not _CODE.match(s.code):
            problems.append(ValidationFailed("a stage code is lower-case letters, digits and _",
                                             field=f"stages[{i}].code"))
        elif s.code in seen:
            problems.append(ValidationFailed("the stage %(value)s is listed twice",
                                             field=f"stages[{i}].code", params={"value": s.code}))
        seen.add(s.code)
        if len(s.name) > 60:
            problems.append(ValidationFailed("at most %(value)s characters", field=f"stages[{i}].name",
                                             params={"value": 60}))
        if s.phase not in PHASES:
            problems.append(ValidationFailed("a phase is one of %(choices)s",
                                             field=f"stages[{i}].phase", params={"choices": ", ".join(PHASES)}))
    if flow.first.phase != "new":
        problems.append(ValidationFailed("the first stage must be of the phase new", field="stages[0].phase"))
    if not any(s.phase == "closed" for s in flow.stages):
        problems.append(ValidationFailed("a workflow needs a stage of the phase closed", field="stages"))
    for i, t in enumerate(flow.transitions):
        for end, value in (("from", t.source), ("to", t.target)):
            if value not in seen:
                problems.append(ValidationFailed("there is no stage %(value)s",
                                                 field=f"transitions[{i}].{end}", params={"value": value}))
        if not t.by or any(b not in ACTORS for b in t.by):
            problems.append(ValidationFailed("who may take a step is one of %(choices)s",
                                             field=f"transitions[{i}].by", params={"choices": ", ".join(ACTORS)}))
        if any(n not in NEEDS for n in t.needs):
            problems.append(ValidationFailed("what a step needs is one of %(choices)s",
                                             field=f"transitions[{i}].needs", params={"choices": ", ".join(NEEDS)}))
        final = flow.stage(t.source)
        if final is not None and final.phase in ("closed", "cancelled"):
            problems.append(ValidationFailed("nothing leaves a closed or cancelled stage",
                                             field=f"transitions[{i}].from"))
    return problems


def check_sla(sla: Mapping[str, Any]) -> list[AppError]:
    problems: list[AppError] = []
    for priority, target in sla.items():
        where = f"sla.{priority}"
        if priority not in PRIORITIES:
            problems.append(ValidationFailed("a priority is one of %(choices)s",
                                             field=where, params={"choices": ", ".join(PRIORITIES)}))
            continue
        for key in ("respond", "resolve"):
            value = target.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 525_600:
                problems.append(ValidationFailed("a target is a whole number of minutes from 1 to 525600",
                                                 field=f"{where}.{key}"))
        if target.get("clock", "working") not in ("working", "calendar"):
            problems.append(ValidationFailed("a clock counts working or calendar time", field=f"{where}.clock"))
        if isinstance(target.get("respond"), int) and isinstance(target.get("resolve"), int) \
                and target["respond"] > target["resolve"]:
            problems.append(ValidationFailed("the response target cannot be later than the resolution",
                                             field=f"{where}.respond"))
    return problems


def check_checklist(items: Iterable[Mapping[str, Any]]) -> list[AppError]:
    problems: list[AppError] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        code = str(item.get("code", ""))
        if not _CODE.match(code) or code in seen:
            problems.append(ValidationFailed("each checklist item needs its own code: lower-case letters, "
                                                        "digits and _", field=f"checklist[{i}].code"))
        seen.add(code)
        if len(str(item.get("label", ""))) > 120:
            problems.append(ValidationFailed("at most %(value)s characters", field=f"checklist[{i}].label",
                                             params={"value": 120}))
        if not str(item.get("label", "")).strip() and code not in CHECK_LABELS:
            problems.append(ValidationFailed("each checklist item needs a label", field=f"checklist[{i}].label"))
        if item.get("kind", "check") not in CHECK_KINDS:
            problems.append(ValidationFailed("a checklist item is one of %(choices)s",
                                             field=f"checklist[{i}].kind", params={"choices": ", ".join(CHECK_KINDS)}))
    return problems


def checklist_missing(items: Iterable[Mapping[str, Any]], values: Mapping[str, Any]) -> list[str]:
    """The codes of required items without an answer (a check must be ticked, an amount or text given)."""
    missing = []
    for item in items:
        if not item.get("required", False):
            continue
        value = values.get(item["code"])
        if item.get("kind", "check") == "check":
            if value is not True:
                missing.append(item["code"])
        elif value is None or value == "":
            missing.append(item["code"])
    return missing


def allowed(flow: Flow, status: str, actors: set[str], *, requires_signoff: bool,
            requires_visit: bool) -> list[Transition]:
    """The transitions out of `status` that someone acting as `actors` may take. Signing off and the return
    visit, when the type requires them, cannot be skipped: the shortcuts past them are left out."""
    out = []
    for t in flow.from_stage(status):
        if not actors.intersection(t.by):
            continue
        target = flow.stage(t.target)
        if target is None:
            continue
        if requires_signoff and status == "resolved" and t.target in ("visited", "closed"):
            continue
        if requires_visit and target.phase == "closed" and status in ("resolved", "confirmed"):
            continue
        out.append(t)
    return out


def is_rework(satisfaction: int | None) -> bool:
    return satisfaction is not None and satisfaction <= REWORK_AT_OR_BELOW
