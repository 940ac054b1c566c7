"""Approval policies as pure rules: which chain of steps a request gets, and whether a policy is
whole (every amount from zero up matched by exactly one rule per category and plan flag).

No I/O here. A policy is written (tenant file, editor, API) as `PolicySpec`; `compile_policy`
checks it and turns it into integer intervals in fen; `match` picks the one rule for a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from careclub.core.errors import FieldErrors, ValidationFailed
from careclub.core.i18n import N_
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


class PolicyProblem(ValidationFailed):
    """One thing wrong with a policy, at `path` (`policy.rules[2].steps[0].kind`). The message says
    where ("policy.rules[2].steps[0].kind: must be one of …", for the API and tenant files); `short`
    and `short_params` say the same without the where, for beside the field of a form."""

    def __init__(self, short: str, *, path: str, code: str | None = None, **params: Any) -> None:
        super().__init__("%(path)s: " + short, field=path, code=code, params={"path": path, **params})
        self.short = short
        self.short_params = params


Problems = list[PolicyProblem]


def raise_all(problems: list[ValidationFailed]) -> None:
    """Raise every problem found, together (one alone as itself), so a form shows them all at once."""
    if not problems:
        return
    if len(problems) == 1:
        raise problems[0]
    every = FieldErrors(list(problems))
    every.message = "; ".join(p.message for p in problems)  # each message says where already
    every.args = (every.message,)
    codes = {p.code for p in problems}
    if len(codes) == 1:  # all of one kind (a policy whose steps find nobody): keep its code
        every.code = codes.pop()
    raise every


def _amount(text: str, path: str, problems: Problems) -> int | None:
    from careclub.core.money import parse_amount

    try:
        return parse_amount(text, field=path)
    except ValidationFailed:
        problems.append(PolicyProblem(N_('must be a decimal string with at most two places, like "365.00"'), path=path))
        return None


def band_of(rule: RuleSpec, path: str, problems: Problems) -> Band | None:
    """The rule's interval of fen, or None (its problems added) when its bounds are wrong."""
    before = len(problems)
    if rule.at_least is not None and rule.above is not None:
        problems.append(PolicyProblem(N_("give at most one of at_least and above"), path=path))
    if rule.up_to is not None and rule.below is not None:
        problems.append(PolicyProblem(N_("give at most one of up_to and below"), path=path))
    lo: int | None = 0
    if rule.at_least is not None:
        lo = _amount(rule.at_least, f"{path}.at_least", problems)
    elif rule.above is not None:
        lo = _amount(rule.above, f"{path}.above", problems)
        lo = None if lo is None else lo + 1
    hi: int | None = INFINITY
    if rule.up_to is not None:
        hi = _amount(rule.up_to, f"{path}.up_to", problems)
    elif rule.below is not None:
        hi = _amount(rule.below, f"{path}.below", problems)
        hi = None if hi is None else hi - 1
    if lo is None or hi is None or len(problems) > before:
        return None
    if hi < lo:
        problems.append(PolicyProblem(N_("the band is empty (its lower bound lies above its upper bound)"), path=path))
        return None
    return Band(lo, hi)


def describe_band(band: Band) -> str:
    if band.hi >= INFINITY:
        return f"amounts from {format_amount(band.lo)} up"
    if band.lo == band.hi:
        return f"amount {format_amount(band.lo)}"
    return f"amounts {format_amount(band.lo)}–{format_amount(band.hi)}"


def approver_ok(a: ApproverSpec) -> bool:
    """Whether the reference is well formed (a role, or a body alone): only such are looked up."""
    if a.body is not None:
        return not (a.role or a.at or a.unit)
    return bool(a.role) and not (a.at is not None and a.unit is not None) and (
        a.at is None or a.at in RELATIVE_PLACES + KIND_PLACES)


def _check_approver(a: ApproverSpec, path: str, problems: Problems) -> None:
    if a.body is not None:
        if a.role or a.at or a.unit:
            problems.append(PolicyProblem(N_("a body approver names only the body"), path=path))
        return
    if not a.role:
        problems.append(PolicyProblem(N_("name a role (with at or unit) or a body"), path=path))
    if a.at is not None and a.unit is not None:
        problems.append(PolicyProblem(N_("give at most one of at and unit"), path=path))
    elif a.at is not None and a.at not in RELATIVE_PLACES + KIND_PLACES:
        problems.append(PolicyProblem(N_("must be one of %(choices)s"), path=f"{path}.at",
                                      choices=", ".join(RELATIVE_PLACES + KIND_PLACES)))


def _check_step(step: StepSpec, path: str, problems: Problems) -> None:
    if step.kind not in STEP_KINDS:
        problems.append(PolicyProblem(N_("must be one of %(choices)s"), path=f"{path}.kind",
                                      choices=", ".join(STEP_KINDS)))
    if not step.name.strip():
        problems.append(PolicyProblem(N_("a step needs a name"), path=f"{path}.name"))
    if step.kind == "auto":
        if step.approvers:
            problems.append(PolicyProblem(N_("an auto step has no approvers"), path=f"{path}.approvers"))
        if not (step.reason or "").strip():
            problems.append(PolicyProblem(N_("an auto step records why no person is needed"), path=f"{path}.reason"))
    elif step.kind in STEP_KINDS:
        where = f"{path}.approvers"
        if not step.approvers:
            problems.append(PolicyProblem(N_("a %(kind)s step needs approvers"), path=where, kind=step.kind))
        elif step.kind == "single" and len(step.approvers) != 1:
            problems.append(PolicyProblem(N_("a single step has exactly one approver (use any_of)"), path=where))
        elif step.kind == "countersign" and len(step.approvers) < 2:
            problems.append(PolicyProblem(N_("a countersign step needs at least two signers"), path=where))
        elif step.kind in ("meeting", "committee") and (len(step.approvers) != 1 or step.approvers[0].body is None):
            problems.append(PolicyProblem(N_("a %(kind)s step names exactly one body"), path=where, kind=step.kind))
    for i, a in enumerate(step.approvers):
        _check_approver(a, f"{path}.approvers[{i}]", problems)
    for i, a in enumerate(step.escalate_to):
        _check_approver(a, f"{path}.escalate_to[{i}]", problems)
    if step.deadline_hours is not None and step.deadline_working_days is not None:
        problems.append(PolicyProblem(N_("give deadline_hours or deadline_working_days, not both"),
                                      path=f"{path}.deadline_hours"))
    for name in ("deadline_hours", "deadline_working_days", "remind_before_hours"):
        value = getattr(step, name)
        if value is not None and not 1 <= value <= 24 * 366:
            problems.append(PolicyProblem(N_("must be a positive whole number"), path=f"{path}.{name}"))


def _flags(value: bool | None) -> tuple[bool, ...]:
    return (True, False) if value is None else (value,)


def _plan_word(flag: bool) -> str:
    return "in-plan" if flag else "off-plan"


@dataclass(frozen=True)
class Checked:
    """What checking a policy found: the rules whose bands could be read (`broken` holds the
    indexes of those that could not) and every problem."""

    rules: tuple[CompiledRule, ...]
    broken: frozenset[int]
    problems: tuple[PolicyProblem, ...]


def check_policy(spec: PolicySpec, *, path: str = "policy") -> Checked:
    """Every problem of a policy's shape and coverage at once. Coverage (every amount from 0 up
    matched exactly once) is judged for each category and plan flag whose rules all have readable
    bounds: a rule whose amounts are wrong would otherwise show as a gap it does not leave."""
    problems: Problems = []
    if not SUBJECT_TYPE.match(spec.subject_type or ""):
        problems.append(PolicyProblem(N_("use a snake_case name like fund_request"), path=f"{path}.subject_type"))
    if len(set(spec.categories)) != len(spec.categories):
        problems.append(PolicyProblem(N_("a category is listed twice"), path=f"{path}.categories"))
    if not spec.rules:
        problems.append(PolicyProblem(N_("a policy needs at least one rule"), path=f"{path}.rules"))
    compiled: list[CompiledRule] = []
    broken: set[int] = set()
    for i, rule in enumerate(spec.rules):
        rpath = f"{path}.rules[{i}]"
        if rule.category is not None and rule.category not in spec.categories:
            problems.append(PolicyProblem(N_("%(category)r is not one of the policy's categories (%(categories)s)"),
                                          path=f"{rpath}.category", category=rule.category,
                                          categories=", ".join(spec.categories) or "none"))
        if not rule.steps:
            problems.append(PolicyProblem(N_("a rule yields at least one step"), path=f"{rpath}.steps"))
        for j, step in enumerate(rule.steps):
            _check_step(step, f"{rpath}.steps[{j}]", problems)
        band = band_of(rule, rpath, problems)
        if band is None:
            broken.add(i)
        else:
            compiled.append(CompiledRule(i, rule, band))
    if spec.rules:
        gaps = coverage_problems(spec, compiled, broken=broken, all_rules=spec.rules)
        if gaps:
            problems.append(PolicyProblem(N_("(%(subject_type)s) %(problems)s"), path=f"{path}.rules",
                                          code="policy_incomplete", subject_type=spec.subject_type,
                                          problems="; ".join(gaps)))
    return Checked(tuple(compiled), frozenset(broken), tuple(problems))


def compile_policy(spec: PolicySpec, *, path: str = "policy") -> CompiledPolicy:
    """Check a policy's shape and coverage; raise ValidationFailed naming every problem (each gap
    and overlap among them)."""
    checked = check_policy(spec, path=path)
    raise_all(list(checked.problems))
    return CompiledPolicy(spec, checked.rules)


def _hits(rules: list[CompiledRule], scope: str | None, category: str | None, flag: bool) -> list[CompiledRule]:
    return [r for r in rules if r.spec.org_unit == scope and (r.spec.category is None or r.spec.category == category)
            and flag in _flags(r.spec.in_plan)]


def coverage_groups(spec: PolicySpec, rules: list[CompiledRule] | list[RuleSpec]) -> list[tuple[str | None, str | None,
                                                                                              bool]]:
    """The (org-unit scope, category, plan flag) groups whose amounts a policy must cover: the general
    rules' (scope None) in full, each org unit's without overlaps."""
    specs = [r.spec if isinstance(r, CompiledRule) else r for r in rules]
    categories: list[str | None] = list(spec.categories) or [None]
    scopes: list[str | None] = [None, *sorted({r.org_unit for r in specs if r.org_unit})]
    return [(scope, category, flag) for scope in scopes for category in categories for flag in (False, True)]


def group_label(scope: str | None, category: str | None, flag: bool) -> str:
    label = "/".join(x for x in (category, _plan_word(flag)) if x)
    return label + (f" at {scope}" if scope is not None else "")


def coverage_problems(spec: PolicySpec, rules: list[CompiledRule], *, broken: set[int] | frozenset[int] = frozenset(),
                      all_rules: list[RuleSpec] | None = None) -> list[str]:
    """Every amount from 0 up must match exactly one general rule per category and plan flag;
    org-unit rules (which override the general ones for their subtree) must not overlap. A group
    holding a rule whose bounds could not be read (`broken`) is not judged."""
    problems: list[str] = []
    everything = all_rules if all_rules is not None else [r.spec for r in rules]
    for scope, category, flag in coverage_groups(spec, everything):
        if any(i in broken and rule.org_unit == scope and (rule.category is None or rule.category == category)
               and flag in _flags(rule.in_plan) for i, rule in enumerate(everything)):
            continue
        problems += _interval_problems(_hits(rules, scope, category, flag), group_label(scope, category, flag),
                                       require_cover=scope is None)
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
        raise ValidationFailed("category is required for %(subject_type)s: one of %(categories)s", field="category",
                               params={"subject_type": policy.subject_type, "categories": ", ".join(policy.categories)})
    if category not in policy.categories:
        raise ValidationFailed("category %(category)r is not one of %(categories)s", field="category",
                               code="unknown_category",
                               params={"category": category, "categories": ", ".join(policy.categories)})
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
    raise ValidationFailed("no rule of the %(subject_type)s policy matches this request",
                           params={"subject_type": policy.spec.subject_type},
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
