"""A small tenant built from a tenant file (so the `[approvals]` section is exercised too): a
region with a project, a property management centre, approvers, a monthly board and a brand
committee, and a `purchase` policy with an auto, a single, a countersign and a meeting chain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from careclub.approvals import service
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from tests.conftest import unique_slug

DECIDER = '["dashboard.view", "org.read", "approvals.decide"]'

WORLD = """
[tenant]
slug = "{slug}"
name = "Approvals test {slug}"

[[org_units]]
code = "REG"
name = "Region"
kind = "region"

[[org_units]]
code = "P1"
name = "Project one"
kind = "project"
parent = "REG"

[[org_units]]
code = "PMC"
name = "Property management centre"
kind = "department"

[[roles]]
code = "region_reviewer"
name = "Region reviewer"
permissions = {decider}

[[roles]]
code = "project_manager"
name = "Project manager"
permissions = {decider}

[[roles]]
code = "region_approvals_manager"
name = "Region approvals manager"
permissions = ["dashboard.view", "org.read", "approvals.decide", "approvals.manage"]

[[roles]]
code = "requester"
name = "Requester"
permissions = ["dashboard.view", "org.read"]

[[staff]]
email = "clerk@{slug}.test"
name = "Clerk Requester"
unit = "P1"
roles = ["requester"]

[[staff]]
email = "pm@{slug}.test"
name = "Pat Manager"
unit = "P1"
roles = ["project_manager"]

[[staff]]
email = "rr@{slug}.test"
name = "Rita Reviewer"
unit = "REG"
roles = ["region_reviewer"]

[[staff]]
email = "pmc1@{slug}.test"
name = "Pam Centre"
unit = "PMC"
roles = ["approver"]

[[staff]]
email = "pmc2@{slug}.test"
name = "Paul Centre"
unit = "PMC"
roles = ["approver"]

[[staff]]
email = "lead1@{slug}.test"
name = "Lee Board"
unit = "HQ"
roles = ["approver"]

[[staff]]
email = "lead2@{slug}.test"
name = "Lou Board"
unit = "HQ"
roles = ["approver"]

[[staff]]
email = "deputy@{slug}.test"
name = "Dana Deputy"
unit = "REG"
roles = ["region_reviewer"]

[[staff]]
email = "regmgr@{slug}.test"
name = "Reggie Region"
unit = "REG"
roles = ["region_approvals_manager"]

[[staff]]
email = "admin@{slug}.test"
name = "Ada Admin"
unit = "HQ"
roles = ["tenant_admin"]

[[approvals.bodies]]
code = "board"
name = "Monthly board"
kind = "meeting"
meeting_day = 4
members = ["lead1@{slug}.test", "lead2@{slug}.test"]

[[approvals.bodies]]
code = "brand"
name = "Brand committee"
kind = "committee"
members = ["lead2@{slug}.test"]

[[approvals.policies]]
subject_type = "purchase"
name = "Purchases"

[[approvals.policies.rules]]
name = "small"
below = "100.00"

[[approvals.policies.rules.steps]]
kind = "auto"
name = "Small purchases pass"
reason = "below 100.00 no approval is needed"

[[approvals.policies.rules]]
name = "medium"
at_least = "100.00"
below = "1000.00"

[[approvals.policies.rules.steps]]
kind = "single"
name = "Centre approves"
approvers = [{{ role = "approver", unit = "PMC" }}]
deadline_hours = 4
remind_before_hours = 1
escalate_to = [{{ role = "approver", at = "company" }}]

[[approvals.policies.rules]]
name = "large"
at_least = "1000.00"
up_to = "9999.99"

[[approvals.policies.rules.steps]]
kind = "countersign"
name = "Countersign"
approvers = [{{ role = "project_manager", at = "unit" }}, {{ role = "region_reviewer", at = "region" }},
             {{ role = "approver", unit = "PMC" }}]

[[approvals.policies.rules]]
name = "huge"
above = "9999.99"

[[approvals.policies.rules.steps]]
kind = "any_of"
name = "Centre files it"
approvers = [{{ role = "approver", unit = "PMC" }}]

[[approvals.policies.rules.steps]]
kind = "meeting"
name = "Board decides"
approvers = [{{ body = "board" }}]

[[approvals.policies.rules.steps]]
kind = "committee"
name = "Brand committee decides last"
approvers = [{{ body = "brand" }}]
"""


@dataclass
class World:
    slug: str
    tenant_id: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # short name -> id
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    units: dict[str, uuid.UUID] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return self.headers[who]

    async def open(self, amount: int | None, *, who: str = "clerk", unit: str = "P1", title: str = "Buy chairs",
                   subject_type: str = "purchase") -> dict[str, Any]:
        async with tenant_scope(self.tenant_id):
            return await service.open_request(subject_type=subject_type, subject_id=str(uuid.uuid4()),
                                              amount=amount, category=None, in_plan=False,
                                              org_unit_id=self.units[unit], title=title,
                                              requester_id=self.users[who])


PEOPLE = ("clerk", "pm", "rr", "pmc1", "pmc2", "lead1", "lead2", "deputy", "regmgr", "admin")

CALLS: list[tuple[str, dict[str, Any]]] = []


def _recorder(name: str) -> Any:
    async def cb(request: dict[str, Any]) -> None:
        CALLS.append((name, request))
    return cb


service.register_subject("purchase", on_approved=_recorder("approved"), on_rejected=_recorder("rejected"),
                         on_returned=_recorder("returned"), on_withdrawn=_recorder("withdrawn"))


def world_text(slug: str) -> str:
    return WORLD.format(slug=slug, decider=DECIDER)


async def make_world(client: Any) -> World:
    slug = unique_slug("appr")
    report = await apply_text(world_text(slug), demo=False)
    assert report.created
    tenant = await platform_service.tenant_by_slug(slug)
    assert tenant is not None
    w = World(slug=slug, tenant_id=tenant.id)
    async with tenant_scope(tenant.id):
        for short in PEOPLE:
            row = await User.select(User.id).where(User.email == f"{short}@{slug}.test").first()
            assert row is not None
            w.users[short] = row["id"]
            token, _ = await platform_service.issue_token(row["id"], kind="login", hours=24 * 30)
            w.headers[short] = {"Authorization": f"Bearer {token}"}
        for code in ("HQ", "REG", "P1", "PMC"):
            unit = await platform_service.unit_by_code(code)
            assert unit is not None
            w.units[code] = unit["id"]
    return w


@pytest.fixture
async def world(client: Any) -> World:
    return await make_world(client)


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()
