"""The policy editor's form: a policy as rows of fields (its rules, each rule's steps, each step's
approvers), read back from a plain POST (the picture of its amount bands is `bands.py`).

No I/O and no rules of its own: the form only turns what people typed into a `PolicySpec` (amounts
typed in yuan, whole numbers for deadlines) and back; whether the policy is whole and every step
finds someone is judged by the one validator every way of saving goes through
(`service.policy_problems`). Field names follow the policy's own paths (`rules[0].steps[1].kind`),
so a problem the validator names lands beside its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from careclub.approvals.rules import (
    KIND_PLACES,
    RELATIVE_PLACES,
    ApproverSpec,
    PolicySpec,
    RuleSpec,
    StepSpec,
)
from careclub.core.errors import ValidationFailed
from careclub.core.i18n import N_
from careclub.core.money import format_amount, parse_amount, parse_typed

# Where an approver's role is looked up; "fixed" names one unit (`unit`).
PLACES = (*RELATIVE_PLACES, *KIND_PLACES, "fixed")
LOWER_KINDS = ("at_least", "above")
UPPER_KINDS = ("below", "up_to")
DEADLINE_UNITS = ("working_days", "hours")
IN_PLAN = {"": None, "in": True, "off": False}
MAX_ROWS = 200  # rules, steps or approvers of one list: a form of more is not someone typing

# What a typed value must look like (beside its field).
NOT_AN_AMOUNT = N_("Type an amount in yuan, like 500 or 1,000.50.")
NOT_A_NUMBER = N_("Type a whole number, like 2.")
CHOOSE_UNIT = N_("Choose the unit.")
NOT_A_CHOICE = N_("Choose one of the options.")


@dataclass
class ApproverRow:
    who: str = ""  # "role:<code>" or "body:<code>"; empty: the row is left blank (ignored)
    place: str = "unit"
    unit: str = ""

    @property
    def blank(self) -> bool:
        return not self.who.strip()


@dataclass
class StepRow:
    kind: str = "single"
    name: str = ""
    reason: str = ""
    deadline: str = ""
    deadline_unit: str = "working_days"
    remind: str = ""
    approvers: list[ApproverRow] = field(default_factory=list)
    escalate_to: list[ApproverRow] = field(default_factory=list)


@dataclass
class RuleRow:
    name: str = ""
    category: str = ""
    in_plan: str = ""
    org_unit: str = ""
    lower: str = ""
    lower_kind: str = "at_least"
    upper: str = ""
    upper_kind: str = "below"
    steps: list[StepRow] = field(default_factory=list)


@dataclass
class PolicyForm:
    name: str = ""
    categories: str = ""
    rules: list[RuleRow] = field(default_factory=list)

    def category_list(self) -> list[str]:
        return split_categories(self.categories)


def blank_rule() -> RuleRow:
    return RuleRow(steps=[StepRow(approvers=[ApproverRow()])])


def split_categories(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,，、;；]+", text or "") if c]


# ---- a policy as a form ----------------------------------------------------------------------

def _amount_text(value: str | None) -> str:
    if value is None:
        return ""
    try:
        return format_amount(parse_amount(value))
    except ValidationFailed:
        return value


def _approver_row(a: ApproverSpec) -> ApproverRow:
    if a.body is not None:
        return ApproverRow(who=f"body:{a.body}", place="unit")
    if a.unit:
        return ApproverRow(who=f"role:{a.role or ''}", place="fixed", unit=a.unit)
    return ApproverRow(who=f"role:{a.role or ''}", place=a.at or "unit")


def from_spec(spec: PolicySpec) -> PolicyForm:
    rules = []
    for r in spec.rules:
        steps = [StepRow(kind=s.kind, name=s.name, reason=s.reason or "",
                         deadline=str(s.deadline_hours or s.deadline_working_days or ""),
                         deadline_unit="hours" if s.deadline_hours else "working_days",
                         remind=str(s.remind_before_hours or ""),
                         approvers=[_approver_row(a) for a in s.approvers],
                         escalate_to=[_approver_row(a) for a in s.escalate_to]) for s in r.steps]
        rules.append(RuleRow(
            name=r.name, category=r.category or "", in_plan={None: "", True: "in", False: "off"}[r.in_plan],
            org_unit=r.org_unit or "",
            lower=_amount_text(r.above if r.above is not None else r.at_least),
            lower_kind="above" if r.above is not None else "at_least",
            upper=_amount_text(r.up_to if r.up_to is not None else r.below),
            upper_kind="up_to" if r.up_to is not None else "below", steps=steps))
    return PolicyForm(name=spec.name, categories=", ".join(spec.categories), rules=rules)


def for_display(form: PolicyForm) -> PolicyForm:
    """Every step that needs people shows at least one (blank) approver row to fill in; blank rows
    are ignored when the form comes back, so they change nothing."""
    for rule in form.rules:
        for step in rule.steps:
            if step.kind != "auto" and not step.approvers:
                step.approvers.append(ApproverRow())
    return form


# ---- a posted form as a policy ---------------------------------------------------------------

_KEY = re.compile(r"^rules\[(\d{1,4})\](?:\.steps\[(\d{1,4})\](?:\.(approvers|escalate_to)\[(\d{1,4})\])?)?\.(\w+)$")


def read(data: Mapping[str, str]) -> PolicyForm:
    """The form as posted. Rows are ordered by their index; indexes need not be contiguous (a row
    removed in the browser leaves a hole), and are renumbered from 0."""
    rules: dict[int, dict[str, str]] = {}
    steps: dict[tuple[int, int], dict[str, str]] = {}
    people: dict[tuple[int, int, str, int], dict[str, str]] = {}
    for key, value in data.items():
        m = _KEY.match(key)
        if not m:
            continue
        i, j, group, k, name = m.groups()
        value = (value or "").strip()
        if group is not None:
            people.setdefault((int(i), int(j), group, int(k)), {})[name] = value
            steps.setdefault((int(i), int(j)), {})
            rules.setdefault(int(i), {})
        elif j is not None:
            steps.setdefault((int(i), int(j)), {})[name] = value
            rules.setdefault(int(i), {})
        else:
            rules.setdefault(int(i), {})[name] = value
    form = PolicyForm(name=(data.get("name") or "").strip(), categories=(data.get("categories") or "").strip())
    for i in sorted(rules)[:MAX_ROWS]:
        r = rules[i]
        rule = RuleRow(name=r.get("name", ""), category=r.get("category", ""), in_plan=r.get("in_plan", ""),
                       org_unit=r.get("org_unit", ""), lower=r.get("lower", ""),
                       lower_kind=r.get("lower_kind", "at_least"), upper=r.get("upper", ""),
                       upper_kind=r.get("upper_kind", "below"))
        for (ri, j) in sorted(s for s in steps if s[0] == i)[:MAX_ROWS]:
            s = steps[(ri, j)]
            step = StepRow(kind=s.get("kind", "single"), name=s.get("name", ""), reason=s.get("reason", ""),
                           deadline=s.get("deadline", ""), deadline_unit=s.get("deadline_unit", "working_days"),
                           remind=s.get("remind", ""))
            for (_i, _j, group, k) in sorted(p for p in people if p[:2] == (i, j))[:MAX_ROWS]:
                a = people[(_i, _j, group, k)]
                getattr(step, group).append(ApproverRow(who=a.get("who", ""), place=a.get("place", "unit"),
                                                        unit=a.get("unit", "")))
            rule.steps.append(step)
        form.rules.append(rule)
    return form


@dataclass
class Parsed:
    spec: PolicySpec
    errors: dict[str, str]  # form key -> an untranslated N_() message (the view translates)
    broken: set[int]  # rules whose amounts could not be read


def _approver(row: ApproverRow, key: str, errors: dict[str, str]) -> ApproverSpec:
    kind, _, code = row.who.partition(":")
    if kind == "body":
        return ApproverSpec(body=code)
    role = code if kind == "role" else row.who
    if row.place not in PLACES:
        errors[key] = NOT_A_CHOICE
        return ApproverSpec(role=role)
    if row.place == "fixed":
        if not row.unit:
            errors[key] = CHOOSE_UNIT
        return ApproverSpec(role=role, unit=row.unit or None)
    return ApproverSpec(role=role, at=None if row.place == "unit" else row.place)


def _whole(text: str, key: str, errors: dict[str, str]) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"\d{1,6}", text):
        errors[key] = NOT_A_NUMBER
        return None
    return int(text)


def _bound(text: str, key: str, errors: dict[str, str]) -> str | None:
    if not text:
        return None
    try:
        return format_amount(parse_typed(text, field=key))
    except ValidationFailed:
        errors[key] = NOT_AN_AMOUNT
        return None


def to_spec(form: PolicyForm, subject_type: str) -> Parsed:
    """The policy the form describes, with what could not be read (each beside its field)."""
    errors: dict[str, str] = {}
    broken: set[int] = set()
    rules = []
    for i, r in enumerate(form.rules):
        key = f"rules[{i}]"
        if r.in_plan not in IN_PLAN:
            errors[f"{key}.in_plan"] = NOT_A_CHOICE
        lower = _bound(r.lower, f"{key}.lower", errors)
        upper = _bound(r.upper, f"{key}.upper", errors)
        if (r.lower and lower is None) or (r.upper and upper is None):
            broken.add(i)
        steps = []
        for j, s in enumerate(r.steps):
            skey = f"{key}.steps[{j}]"
            deadline = _whole(s.deadline, f"{skey}.deadline", errors)
            hours = s.deadline_unit == "hours"
            steps.append(StepSpec(
                kind=s.kind, name=s.name, reason=s.reason or None,
                deadline_hours=deadline if hours else None, deadline_working_days=None if hours else deadline,
                remind_before_hours=_whole(s.remind, f"{skey}.remind", errors),
                approvers=[_approver(a, f"{skey}.approvers[{k}]", errors)
                           for k, a in enumerate(s.approvers) if not a.blank],
                escalate_to=[_approver(a, f"{skey}.escalate_to[{k}]", errors)
                             for k, a in enumerate(s.escalate_to) if not a.blank]))
        rules.append(RuleSpec(
            name=r.name, category=r.category or None, in_plan=IN_PLAN.get(r.in_plan),
            org_unit=r.org_unit or None,
            at_least=lower if r.lower_kind != "above" else None, above=lower if r.lower_kind == "above" else None,
            up_to=upper if r.upper_kind == "up_to" else None, below=upper if r.upper_kind != "up_to" else None,
            steps=steps))
    spec = PolicySpec(subject_type=subject_type, name=form.name, categories=form.category_list(), rules=rules)
    return Parsed(spec, errors, broken)


# ---- adding and removing rows without JavaScript ---------------------------------------------

def apply_op(form: PolicyForm, op: str) -> bool:
    """A row button of the form (`add_step:0`, `remove_approver:0:1:2`, …): change the rows. Answers
    whether it was such a button (one naming a row that is not there changes nothing)."""
    name, *parts = (op or "").split(":")
    if name not in ROW_OPS:
        return False
    idx = [int(p) for p in parts if p.isdigit()]
    if len(idx) != len(parts):
        return True
    try:
        if name == "add_rule" and len(form.rules) < MAX_ROWS:
            form.rules.append(blank_rule())
        elif name == "remove_rule":
            del form.rules[idx[0]]
        elif name == "add_step" and len(form.rules[idx[0]].steps) < MAX_ROWS:
            form.rules[idx[0]].steps.append(StepRow(approvers=[ApproverRow()]))
        elif name == "remove_step":
            del form.rules[idx[0]].steps[idx[1]]
        elif name in ("add_approver", "add_escalate"):
            rows = getattr(form.rules[idx[0]].steps[idx[1]], "approvers" if name == "add_approver" else "escalate_to")
            if len(rows) < MAX_ROWS:
                rows.append(ApproverRow())
        elif name in ("remove_approver", "remove_escalate"):
            rows = getattr(form.rules[idx[0]].steps[idx[1]],
                           "approvers" if name == "remove_approver" else "escalate_to")
            del rows[idx[2]]
    except IndexError:
        pass  # a stale button: the row went meanwhile
    return True


ROW_OPS = ("add_rule", "remove_rule", "add_step", "remove_step", "add_approver", "add_escalate", "remove_approver",
           "remove_escalate")


# ---- where the validator's problems go on the form -------------------------------------------

_RENAMES = ((re.compile(r"\.(at_least|above)$"), ".lower"), (re.compile(r"\.(up_to|below)$"), ".upper"),
            (re.compile(r"\.(deadline_hours|deadline_working_days)$"), ".deadline"),
            (re.compile(r"\.remind_before_hours$"), ".remind"),
            (re.compile(r"(\.(?:approvers|escalate_to)\[\d+\])\.at$"), r"\1"))


def form_key(path: str | None) -> str:
    """The form key of a problem the validator names by its policy path."""
    if not path or path in ("policy", "policy.subject_type"):
        return "form"
    key = path.removeprefix("policy.")
    for pattern, repl in _RENAMES:
        key = pattern.sub(repl, key)
    return key


def placed_keys(form: PolicyForm) -> set[str]:
    """Every key the page shows a problem beside (any other goes above the form)."""
    keys = {"name", "categories", "rules"}
    for i, r in enumerate(form.rules):
        rk = f"rules[{i}]"
        keys |= {rk, *(f"{rk}.{n}" for n in ("name", "category", "in_plan", "org_unit", "lower", "upper", "steps"))}
        for j, s in enumerate(r.steps):
            sk = f"{rk}.steps[{j}]"
            keys |= {sk, *(f"{sk}.{n}" for n in ("kind", "name", "reason", "deadline", "remind", "approvers",
                                                   "escalate_to"))}
            keys |= {f"{sk}.approvers[{k}]" for k in range(len(s.approvers))}
            keys |= {f"{sk}.escalate_to[{k}]" for k in range(len(s.escalate_to))}
    return keys
