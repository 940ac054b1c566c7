"""Policies and bodies: applying them (validated, versioned) and previewing a chain."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import msgspec

from careclub.approvals import rules
from careclub.approvals.rules import BodySpec, CompiledPolicy, PolicySpec
from careclub.approvals.service._people import Org, Person, Unit, describe, exists_anywhere, resolve
from careclub.approvals.tables import ApprovalBody, ApprovalPolicy
from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import Conflict, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.platform import audit
from careclub.platform import rules as platform_rules
from careclub.platform.tables import OrgUnit, Role, User

BODY_KINDS = ("meeting", "committee")


def spec_of(row: dict[str, Any]) -> PolicySpec:
    raw = row["spec"]
    return msgspec.json.decode(raw, type=PolicySpec) if isinstance(raw, str | bytes) else msgspec.convert(
        raw, PolicySpec)


def spec_json(spec: PolicySpec) -> dict[str, Any]:
    return msgspec.to_builtins(spec)


async def current_policy(subject_type: str) -> dict[str, Any]:
    row = await ApprovalPolicy.select().where(ApprovalPolicy.subject_type == subject_type,
                                              ApprovalPolicy.is_current.eq(True)).first()
    if row is None:
        raise NotFound("no approval policy for subject type %(subject_type)r", code="approval_policy_not_found",
                       field="subject_type", params={"subject_type": subject_type})
    return row


async def policy_version(policy_id: uuid.UUID) -> dict[str, Any]:
    row = await ApprovalPolicy.select().where(ApprovalPolicy.id == policy_id).first()
    if row is None:
        raise NotFound("no such policy version", code="approval_policy_not_found")
    return row


async def list_policies() -> list[dict[str, Any]]:
    rows = await ApprovalPolicy.select(ApprovalPolicy.id, ApprovalPolicy.subject_type, ApprovalPolicy.version,
                                       ApprovalPolicy.name, ApprovalPolicy.source, ApprovalPolicy.created_at,
                                       ApprovalPolicy.spec).where(ApprovalPolicy.is_current.eq(True)).order_by(
        ApprovalPolicy.subject_type)
    return rows


async def list_bodies() -> list[dict[str, Any]]:
    return await ApprovalBody.select().order_by(ApprovalBody.code)


# ---- bodies ------------------------------------------------------------------------------------

async def _member_ids(emails: list[str], path: str) -> list[uuid.UUID]:
    ids = []
    for i, email in enumerate(emails):
        address = platform_rules.check_email(email, field=f"{path}.members[{i}]")
        row = await User.select(User.id).where(User.email == address).first()
        if row is None:
            raise ValidationFailed("%(path)s: nobody with the email %(email)s", field=f"{path}.members[{i}]",
                                   params={"path": f"{path}.members[{i}]", "email": address})
        ids.append(row["id"])
    return ids


def check_body(spec: BodySpec, path: str) -> None:
    platform_rules.check_code(spec.code, f"{path}.code")
    if spec.kind not in BODY_KINDS:
        raise ValidationFailed("%(path)s: must be meeting or committee", field=f"{path}.kind",
                               params={"path": f"{path}.kind"})
    if spec.kind == "meeting" and not (spec.meeting_day and 1 <= spec.meeting_day <= 28):
        raise ValidationFailed("%(path)s: a meeting body is held on a day 1–28 of each month",
                               field=f"{path}.meeting_day", params={"path": f"{path}.meeting_day"})
    if spec.kind == "committee" and spec.meeting_day is not None:
        raise ValidationFailed("%(path)s: a committee has no monthly meeting", field=f"{path}.meeting_day",
                               params={"path": f"{path}.meeting_day"})
    if not spec.members:
        raise ValidationFailed("%(path)s: a body needs at least one member", field=f"{path}.members",
                               params={"path": f"{path}.members"})


async def apply_body(spec: BodySpec, *, path: str = "body") -> str | None:
    """Create or update a body; answers a change description or None when nothing changed."""
    check_body(spec, path)
    members = await _member_ids(spec.members, path)
    row = await ApprovalBody.select().where(ApprovalBody.code == spec.code).first()
    wanted = {"name": spec.name, "kind": spec.kind, "meeting_day": spec.meeting_day, "member_ids": members}
    if row is None:
        body = ApprovalBody(code=spec.code, name=spec.name, kind=spec.kind, meeting_day=spec.meeting_day,
                            member_ids=members)
        await body.save()
        await audit.record("approval_body.create", "approval_body", body.id, after={"code": spec.code, **wanted})
        return f"approval body {spec.code} created"
    current = {k: row[k] for k in wanted}
    if current == wanted:
        return None
    await ApprovalBody.update({getattr(ApprovalBody, k): v for k, v in wanted.items()}).where(
        ApprovalBody.id == row["id"])
    await audit.record("approval_body.update", "approval_body", row["id"], before=current, after=wanted)
    return f"approval body {spec.code} updated"


# ---- policies -----------------------------------------------------------------------------------

async def approver_problems(spec: PolicySpec, org: Org, *, path: str = "policy") -> list[rules.PolicyProblem]:
    """Every step can find at least one approver among the tenant's real staff: one problem per
    reference that finds nobody (well-formed references only; `rules` reports the others)."""
    problems: list[rules.PolicyProblem] = []
    for i, rule in enumerate(spec.rules):
        if rule.org_unit and rule.org_unit not in org.by_code:
            problems.append(rules.PolicyProblem(N_("no org unit with code %(unit)r"),
                                                path=f"{path}.rules[{i}].org_unit", code="policy_without_approver",
                                                unit=rule.org_unit))
        for j, step in enumerate(rule.steps):
            for group in ("approvers", "escalate_to"):
                for k, a in enumerate(getattr(step, group)):
                    where = f"{path}.rules[{i}].steps[{j}].{group}[{k}]"
                    if not rules.approver_ok(a):
                        continue
                    if a.unit and a.unit not in org.by_code:
                        problems.append(rules.PolicyProblem(N_("no org unit with code %(unit)r"), path=where,
                                                            code="policy_without_approver", unit=a.unit))
                    elif a.body and not await exists_anywhere(a, org):
                        problems.append(rules.PolicyProblem(
                            N_("nobody is %(who)s (no such body, or no member) (step %(step)s)"), path=where,
                            code="policy_without_approver", who=describe(a), step=step.name))
                    elif not await exists_anywhere(a, org):
                        problems.append(rules.PolicyProblem(
                            N_("nobody is %(who)s (step %(step)s)"), path=where, code="policy_without_approver",
                            who=describe(a), step=step.name))
    return problems


async def check_approvers(compiled: CompiledPolicy, org: Org, *, path: str = "policy") -> None:
    rules.raise_all(list(await approver_problems(compiled.spec, org, path=path)))


async def policy_problems(spec: PolicySpec, *, path: str = "policy") -> rules.Checked:
    """Everything wrong with a policy, all at once: its shape and coverage (`rules.check_policy`) and
    the steps that find nobody. The one validator of every way a policy is saved (editor form, TOML,
    API, tenant file); the form's "check" shows what it finds without saving."""
    checked = rules.check_policy(spec, path=path)
    found = await approver_problems(spec, await Org.load(), path=path)
    return rules.Checked(checked.rules, checked.broken, checked.problems + tuple(found))


async def validate_policy(spec: PolicySpec, *, path: str = "policy") -> CompiledPolicy:
    checked = await policy_problems(spec, path=path)
    rules.raise_all(list(checked.problems))
    return CompiledPolicy(spec, checked.rules)


async def policy_covers(subject_type: str, *, category: str | None = None, in_plan: bool = True) -> bool:
    """Whether the subject type has a current policy that gives every request of this category and
    plan flag a rule (a policy with categories gives none to a request without one)."""
    row = await ApprovalPolicy.select(ApprovalPolicy.spec).where(ApprovalPolicy.subject_type == subject_type,
                                                                 ApprovalPolicy.is_current.eq(True)).first()
    if row is None:
        return False
    try:
        compiled = rules.compile_policy(spec_of(row))
        rules.normalise_category(compiled.spec, category)
    except ValidationFailed:
        return False
    return any(r.spec.org_unit is None and in_plan in ((True, False) if r.spec.in_plan is None else (r.spec.in_plan,))
               for r in compiled.rules)


async def apply_policy(spec: PolicySpec, *, source: str = "api", actor_id: uuid.UUID | None = None,
                       path: str = "policy") -> tuple[dict[str, Any], bool]:
    """Validate and store a policy as the subject type's new current version; applying the same
    policy again changes nothing (answers the current row and False)."""
    await validate_policy(spec, path=path)
    # One saver at a time per tenant and subject type: a transaction-scoped advisory lock (raw
    # SQL; Piccolo has no locks). A row lock on the current version is not enough: the waiter
    # wakes to find that row no longer current, sees no current version at all, and the two
    # savers then deadlock on each other's new rows. Behind this lock the next statement reads
    # the winner's committed version, so two editors make versions n+1 and n+2.
    await fetch("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"approval_policy:{current_tenant_id()}:{spec.subject_type}")
    locked = await fetch("SELECT id, version, spec FROM approval_policy WHERE subject_type = $1 AND is_current",
                         spec.subject_type)
    wanted = spec_json(spec)
    if locked:
        current = await policy_version(locked[0]["id"])
        if spec_json(spec_of(current)) == wanted:
            return current, False
        await ApprovalPolicy.update({ApprovalPolicy.is_current: False}).where(ApprovalPolicy.id == current["id"])
    last = await ApprovalPolicy.select(ApprovalPolicy.version).where(
        ApprovalPolicy.subject_type == spec.subject_type).order_by(ApprovalPolicy.version, ascending=False).first()
    version = (last["version"] if last else 0) + 1
    row = ApprovalPolicy(subject_type=spec.subject_type, version=version, name=spec.name, spec=wanted,
                         is_current=True, source=source, created_by=actor_id)
    try:
        await row.save()
    except asyncpg.UniqueViolationError as exc:
        # Two first versions at once (nothing to lock yet): the unique indexes let one win.
        raise Conflict("someone saved this policy at the same moment; reload and try again",
                       code="policy_changed_concurrently") from exc
    await audit.record("approval_policy.apply", "approval_policy", row.id,
                       before={"version": locked[0]["version"]} if locked else None,
                       after={"subject_type": spec.subject_type, "version": version, "spec": wanted})
    return await policy_version(row.id), True


async def editor_choices() -> dict[str, list[dict[str, Any]]]:
    """What the policy form offers: the tenant's roles, org units (in tree order) and bodies."""
    roles = await Role.select(Role.code, Role.name, Role.builtin).order_by(Role.builtin, ascending=False).order_by(
        Role.code)
    units = await OrgUnit.select(OrgUnit.code, OrgUnit.name, OrgUnit.path).order_by(OrgUnit.path)
    bodies = await ApprovalBody.select(ApprovalBody.code, ApprovalBody.name).order_by(ApprovalBody.code)
    return {"roles": roles, "units": units, "bodies": bodies}


# ---- chains -------------------------------------------------------------------------------------

def person_json(p: Person) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "email": p.email}


async def resolve_step(step: rules.StepSpec, org: Org, unit: Unit) -> list[dict[str, Any]]:
    """The step's signer slots: [{"label", "user_ids", "names"}]. Countersign has one slot per
    approver reference; every other kind pools its references into one slot."""
    if step.kind == "auto":
        return []
    slots: list[dict[str, Any]] = []
    for a in step.approvers:
        found = await resolve(a, org, unit)
        slots.append({"label": describe(a), "user_ids": [p.id for p in found],
                      "people": [person_json(p) for p in found]})
    if step.kind != "countersign":
        seen: dict[uuid.UUID, dict[str, Any]] = {}
        for s in slots:
            for p in s["people"]:
                seen.setdefault(p["id"], p)
        slots = [{"label": ", ".join(s["label"] for s in slots), "user_ids": list(seen),
                  "people": list(seen.values())}]
    return slots


Chain = list[tuple[rules.StepSpec, list[dict[str, Any]]]]


async def chain_for(policy_row: dict[str, Any], *, amount: int | None, category: str | None, in_plan: bool,
                    unit: Unit, org: Org) -> tuple[rules.CompiledRule, Chain]:
    compiled = rules.compile_policy(spec_of(policy_row))
    rule = rules.match(compiled, amount=amount, category=category, in_plan=in_plan,
                       unit_codes=[u.code for u in org.chain(unit)])
    return rule, [(step, await resolve_step(step, org, unit)) for step in rule.spec.steps]


async def preview(*, subject_type: str, amount: int | None, category: str | None, in_plan: bool,
                  org_unit: uuid.UUID | str | None) -> dict[str, Any]:
    policy = await current_policy(subject_type)
    org = await Org.load()
    unit = org.find(org_unit)
    rule, steps = await chain_for(policy, amount=amount, category=category, in_plan=in_plan, unit=unit, org=org)
    chain = []
    for step, slots in steps:
        approvers: list[dict[str, Any]] = []
        for s in slots:
            approvers += [{**p, "as": s["label"]} for p in s["people"]]
        item: dict[str, Any] = {"kind": step.kind, "name": step.name, "approvers": approvers}
        if step.kind == "countersign":
            item["signers"] = [{"as": s["label"], "people": s["people"]} for s in slots]
        if step.kind == "auto":
            item["reason"] = step.reason
        if step.approvers and step.approvers[0].body:
            item["body"] = step.approvers[0].body
        chain.append(item)
    return {"policy_version": policy["version"], "subject_type": subject_type, "rule": rule.spec.name,
            "org_unit": {"id": unit.id, "code": unit.code, "name": unit.name}, "chain": chain}
