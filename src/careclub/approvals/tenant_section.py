"""The `[approvals]` section of tenant files: bodies (meetings, committees) and policies.

    [[approvals.bodies]]          code, name, kind = "meeting" | "committee", meeting_day, members (emails)
    [[approvals.policies]]        subject_type, name, categories
    [[approvals.policies.rules]]  name, category, in_plan, org_unit, at_least | above, up_to | below
    [[approvals.policies.rules.steps]]  kind, name, approvers = [{role, at | unit} | {body}], reason,
                                        deadline_hours | deadline_working_days, remind_before_hours, escalate_to

Policies are validated exactly as on the policy editor page (coverage of every amount, an
approver for every step) and stored as a new version only when they changed.
"""

from __future__ import annotations

from careclub.approvals import service
from careclub.approvals.rules import BodySpec, PolicySpec, Strict
from careclub.platform.tenant_file import ApplyContext, register_section


class ApprovalsSection(Strict):
    bodies: list[BodySpec] = []
    policies: list[PolicySpec] = []


async def apply(section: ApprovalsSection, ctx: ApplyContext) -> None:
    for i, body in enumerate(section.bodies):
        change = await service.apply_body(body, path=f"approvals.bodies[{i}]")
        if change:
            ctx.changed(change)
    for i, policy in enumerate(section.policies):
        row, changed = await service.apply_policy(policy, source="tenant_file", path=f"approvals.policies[{i}]")
        if changed:
            ctx.changed(f"approval policy {policy.subject_type} version {row['version']}")


register_section("approvals", ApprovalsSection, apply, order=10)
