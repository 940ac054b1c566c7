"""Approval policies as pure rules: which chain of steps a request gets, and whether a policy is
whole (every amount from zero up matched by exactly one rule per category and plan flag).

No I/O here. A policy is written (tenant file, editor, API) as `PolicySpec`; `compile_policy`
checks it and turns it into integer intervals in fen; `match` picks the one rule for a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from careclub.core.errors import ValidationFailed
from careclub.core.money import format_amount

STEP_KINDS = ("single", "any_of", "countersign", "meeting", "committee", "auto")
# Where a role is looked up, relative to the requester's org unit: the unit itself, its parent,
# the root; or the nearest unit (itself or an ancestor) of a given kind.
RELATIVE_PLACES = ("unit", "parent", "company")
KIND_PLACES = ("region", "branch", "project", "department")
DECISIONS = ("approve", "reject", "return")
SUBJECT_TYPE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
INFINITY = 10**18


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class ApproverSpec(Strict):
    """Who may decide: holders of `role` at a place relative to the requester (`at`), holders of
    `role` at a fixed unit (`unit` = a unit code), or the members of a named body (`body`)."""

    role: str | None = None
    at: str | None = None
    unit: str | None = None
    body: str | None = None


class StepSpec(Strict):
    kind: str
    name: str
    approvers: list[ApproverSpec] = []
    reason: str | None = None  # auto steps: why no person is needed
    deadline_hours: int | None = None
    deadline_working_days: int | None = None
    remind_before_hours: int | None = None
    escalate_to: list[ApproverSpec] = []  # who is added when the deadline passes


class RuleSpec(Strict):
    """One band of one category/plan flag. Bounds are decimal strings; each side names itself
    inclusive or exclusive: `at_least`/`above` below, `up_to`/`below` above. No bound = open."""

    name: str = ""
    category: str | None = None  # None: any category
    in_plan: bool | None = None  # None: in-plan and off-plan alike
    org_unit: str | None = None  # a unit code: this rule applies to requests from its subtree only
    at_least: str | None = None
    above: str | None = None
    up_to: str | None = None
    below: str | None = None
    steps: list[StepSpec] = []


class PolicySpec(Strict):
    subject_type: str
    name: str = ""
    categories: list[str] = []  # empty: the policy does not distinguish categories
    rules: list[RuleSpec] = []


class BodySpec(Strict):
    """A meeting (held monthly, before `meeting_day + 1` of the month) or a committee."""

    code: str
    name: str
    kind: str = "meeting"
    meeting_day: int | None = None
    members: list[str] = []  # emails


@dataclass(frozen=True)
class Band:
    """Integer interval of fen, both ends inclusive; `hi` = INFINITY for open-ended."""

    lo: int
    hi: int

    def contains(self, amount: int) -> bool:
        return self.lo <= amount <= self.hi


@dataclass(frozen=True)
class CompiledRule:
    index: int
    spec: RuleSpec
    band: Band


@dataclass(frozen=True)
class CompiledPolicy:
    spec: PolicySpec
    rules: tuple[CompiledRule, ...]


def _amount(text: str, path: str) -> int:
    from careclub.core.money import parse_amount

    try:
        return parse_amount(text, field=path)
    except ValidationFailed as exc:
        raise ValidationFailed(f"{path}: {exc.message}", field=path) from exc


def band_of(rule: RuleSpec, path: str) -> Band:
    if rule.at_least is not None and rule.above is not None:
        raise ValidationFailed(f"{path}: give at most one of at_least and above", field=path)
    if rule.up_to is not None and rule.below is not None:
        raise ValidationFailed(f"{path}: give at most one of up_to and below", field=path)
    lo = 0
    if rule.at_least is not None:
        lo = _amount(rule.at_least, f"{path}.at_least")
    elif rule.above is not None:
        lo = _amount(rule.above, f"{path}.above") + 1
    hi = INFINITY
    if rule.up_to is not None:
        hi = _amount(rule.up_to, f"{path}.up_to")
    elif rule.below is not None:
        hi = _amount(rule.below, f"{path}.below") - 1
    if hi < lo:
        raise ValidationFailed(f"{path}: the band is empty (its lower bound lies above its upper bound)", field=path)
    return Band(lo, hi)


def describe_band(band: Band) -> str:
    if band.hi >= INFINITY:
        return f"amounts from {format_amount(band.lo)} up"
    if band.lo == band.hi:
        return f"amount {format_amount(band.lo)}"
    return f"amounts {format_amount(band.lo)}–{format_amount(band.hi)}"


def _check_approver(a: ApproverSpec, path: str) -> None:
    if a.body is not None:
        if a.role or a.at or a.unit:
            raise ValidationFailed(f"{path}: a body approver names only the body", field=path)
        return
    if not a.role:
        raise ValidationFailed(f"{path}: name a role (with at or unit) or a body", field=path)
    if a.at is not None and a.unit is not None:
        raise ValidationFailed(f"{path}: give at most one of at and unit", field=path)
    if a.at is not None and a.at not in RELATIVE_PLACES + KIND_PLACES:
        raise ValidationFailed(f"{path}.at: must be one of {', '.join(RELATIVE_PLACES + KIND_PLACES)}",
                               field=f"{path}.at")


def _check_step(step: StepSpec, path: str) -> None:
    if step.kind not in STEP_KINDS:
        raise ValidationFailed(f"{path}.kind: must be one of {', '.join(STEP_KINDS)}", field=f"{path}.kind")
    if not step.name.strip():
        raise ValidationFailed(f"{path}.name: a step needs a name", field=f"{path}.name")
    if step.kind == "auto":
        if step.approvers:
            raise ValidationFailed(f"{path}: an auto step has no approvers", field=path)
        if not (step.reason or "").strip():
            raise ValidationFailed(f"{path}.reason: an auto step records why no person is needed",
                                   field=f"{path}.reason")
    else:
        if not step.approvers:
            raise ValidationFailed(f"{path}.approvers: a {step.kind} step needs approvers", field=f"{path}.approvers")
        if step.kind == "single" and len(step.approvers) != 1:
            raise ValidationFailed(f"{path}.approvers: a single step has exactly one approver (use any_of)",
                                   field=f"{path}.approvers")
        if step.kind == "countersign" and len(step.approvers) < 2:
            raise ValidationFailed(f"{path}.approvers: a countersign step needs at least two signers",
                                   field=f"{path}.approvers")
        if step.kind in ("meeting", "committee") and (len(step.approvers) != 1 or step.approvers[0].body is None):
            raise ValidationFailed(f"{path}.approvers: a {step.kind} step names exactly one body",
                                   field=f"{path}.approvers")
    for i, a in enumerate(step.approvers):
        _check_approver(a, f"{path}.approvers[{i}]")
    for i, a in enumerate(step.escalate_to):
        _check_approver(a, f"{path}.escalate_to[{i}]")
    if step.deadline_hours is not None and step.deadline_working_days is not None:
        raise ValidationFailed(f"{path}: give deadline_hours or deadline_working_days, not both", field=path)
    for name in ("deadline_hours", "deadline_working_days", "remind_before_hours"):
        value = getattr(step, name)
        if value is not None and not 1 <= value <= 24 * 366:
            raise ValidationFailed(f"{path}.{name}: must be a positive whole number", field=f"{path}.{name}")


def _flags(value: bool | None) -> tuple[bool, ...]:
    return (True, False) if value is None else (value,)


def _plan_word(flag: bool) -> str:
    return "in-plan" if flag else "off-plan"


def compile_policy(spec: PolicySpec, *, path: str = "policy") -> CompiledPolicy:
    """Check a policy's shape and coverage; raise ValidationFailed naming every gap or overlap."""
    if not SUBJECT_TYPE.match(spec.subject_type or ""):
        raise ValidationFailed(f"{path}.subject_type: use a snake_case name like fund_request",
                               field=f"{path}.subject_type")
    if len(set(spec.categories)) != len(spec.categories):
        raise ValidationFailed(f"{path}.categories: a category is listed twice", field=f"{path}.categories")
    if not spec.rules:
        raise ValidationFailed(f"{path}.rules: a policy needs at least one rule", field=f"{path}.rules")
    compiled: list[CompiledRule] = []
    for i, rule in enumerate(spec.rules):
        rpath = f"{path}.rules[{i}]"
        if rule.category is not None and rule.category not in spec.categories:
            raise ValidationFailed(f"{rpath}.category: {rule.category!r} is not one of the policy's categories "
                                   f"({', '.join(spec.categories) or 'none'})", field=f"{rpath}.category")
        if not rule.steps:
            raise ValidationFailed(f"{rpath}.steps: a rule yields at least one step", field=f"{rpath}.steps")
        for j, step in enumerate(rule.steps):
            _check_step(step, f"{rpath}.steps[{j}]")
        compiled.append(CompiledRule(i, rule, band_of(rule, rpath)))
    problems = coverage_problems(spec, compiled)
    if problems:
        raise ValidationFailed(f"{path} ({spec.subject_type}): " + "; ".join(problems), code="policy_incomplete",
                               field=f"{path}.rules")
    return CompiledPolicy(spec, tuple(compiled))


def coverage_problems(spec: PolicySpec, rules: list[CompiledRule]) -> list[str]:
    """Every amount from 0 up must match exactly one general rule per category and plan flag;
    org-unit rules (which override the general ones for their subtree) must not overlap."""
    problems: list[str] = []
    categories: list[str | None] = list(spec.categories) or [None]
    scopes: list[str | None] = [None, *sorted({r.spec.org_unit for r in rules if r.spec.org_unit})]
    for scope in scopes:
        for category in categories:
            for flag in (False, True):
                hits = [r for r in rules if r.spec.org_unit == scope
                        and (r.spec.category is None or r.spec.category == category)
                        and flag in _flags(r.spec.in_plan)]
                label = "/".join(x for x in (category, _plan_word(flag)) if x)
                if scope is not None:
                    label += f" at {scope}"
                problems += _interval_problems(hits, label, require_cover=scope is None)
    return problems


def _interval_problems(hits: list[CompiledRule], label: str, *, require_cover: bool) -> list[str]:
    problems: list[str] = []
    ordered = sorted(hits, key=lambda r: (r.band.lo, r.band.hi))
    reach = -1  # highest amount covered so far
    last: CompiledRule | None = None
    for r in ordered:
        if r.band.lo > reach + 1 and require_cover:
            problems.append(f"{describe_band(Band(reach + 1, r.band.lo - 1))} of {label} match no rule")
        if r.band.lo <= reach and last is not None:
            overlap = Band(r.band.lo, min(reach, r.band.hi))
            problems.append(f"{describe_band(overlap)} of {label} match more than one rule "
                            f"(rules {last.index + 1} and {r.index + 1})")
        if r.band.hi > reach:
            reach, last = r.band.hi, r
    if require_cover and reach < INFINITY:
        problems.append(f"{describe_band(Band(reach + 1, INFINITY))} of {label} match no rule")
    return problems


def normalise_category(policy: PolicySpec, category: str | None) -> str | None:
    """A policy that does not distinguish categories ignores the request's; one that does needs
    one of its own."""
    if not policy.categories:
        return None
    if category is None:
        raise ValidationFailed(f"category is required for {policy.subject_type}: one of "
                               f"{', '.join(policy.categories)}", field="category")
    if category not in policy.categories:
        raise ValidationFailed(f"category {category!r} is not one of {', '.join(policy.categories)}",
                               field="category", code="unknown_category")
    return category


def match(policy: CompiledPolicy, *, amount: int | None, category: str | None, in_plan: bool,
          unit_codes: list[str] | tuple[str, ...] = ()) -> CompiledRule:
    """The one rule for a request. `unit_codes` is the requester's unit and its ancestors, nearest
    first: the nearest unit with rules of its own wins over the general rules. A request without
    an amount matches as 0.00."""
    value = 0 if amount is None else amount
    if value < 0:
        raise ValidationFailed("amount must not be negative", field="amount")
    cat = normalise_category(policy.spec, category)

    def fits(r: CompiledRule) -> bool:
        return ((r.spec.category is None or r.spec.category == cat) and in_plan in _flags(r.spec.in_plan)
                and r.band.contains(value))

    for scope in (*unit_codes, None):
        found = [r for r in policy.rules if r.spec.org_unit == scope and fits(r)]
        if found:
            assert len(found) == 1, "compile_policy refuses overlaps"
            return found[0]
    raise ValidationFailed(f"no rule of the {policy.spec.subject_type} policy matches this request",
                           code="no_matching_rule", field="amount")


# ---- deadlines -----------------------------------------------------------------------------

def add_working_days(start: datetime, days: int, zone: str) -> datetime:
    """Monday to Friday in the tenant's zone; the deadline falls at the same local time."""
    local = start.astimezone(ZoneInfo(zone))
    added = 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local.astimezone(start.tzinfo)


def step_deadline(step: StepSpec, start: datetime, zone: str) -> datetime | None:
    if step.deadline_hours:
        return start + timedelta(hours=step.deadline_hours)
    if step.deadline_working_days:
        return add_working_days(start, step.deadline_working_days, zone)
    return None


def next_meeting_date(today: date, meeting_day: int) -> date:
    """The monthly meeting held on `meeting_day` (e.g. the 4th: "before the 5th"); an item
    arriving after this month's meeting waits for next month's."""
    day = min(meeting_day, 28)
    if today.day <= day:
        return today.replace(day=day)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, day)


# ---- countersign -----------------------------------------------------------------------------

def step_outcome(kind: str, slot_count: int, decisions: list[str]) -> str | None:
    """The step's result given the decisions so far (each 'approve'/'reject'/'return'), or None
    while it waits. Countersign: all slots must approve, any rejection rejects."""
    if "reject" in decisions:
        return "rejected"
    if "return" in decisions:
        return "returned"
    if kind == "countersign":
        return "approved" if decisions.count("approve") >= slot_count else None
    return "approved" if decisions else None
