"""The `[settlements]` section of tenant files: the terms, the projects' stages and phases, and the
early-involvement checklists land as written, applying twice changes nothing, a change in the file
changes exactly that, and every mistake is refused naming where it stands (nothing half applied)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from careclub.core.db import tenant_scope
from careclub.core.errors import ValidationFailed
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from careclub.settlements import service
from careclub.settlements.tables import InvolvementItem

HUAFU = Path(__file__).resolve().parents[3] / "tenants" / "huafu-development.toml"


def huafu(slug: str) -> str:
    text, n = re.subn(r'(?m)^slug = "[^"]*"$', f'slug = "{slug}"', HUAFU.read_text(encoding="utf-8"), count=1)
    assert n == 1
    return text


def fresh() -> str:
    return f"st-{uuid.uuid4().hex[:10]}"


async def state(slug: str) -> dict[str, Any]:
    """What the section wrote, read through the service (terms, projects) and the table (checklists)."""
    tenant = await platform_service.tenant_by_slug(slug)
    assert tenant is not None
    async with tenant_scope(tenant.id):
        terms = await service.terms()
        projects = {p["code"]: p for p in await service.list_projects(None)}
        owners = {r["id"]: r["email"] for r in await User.select(User.id, User.email)}
        items = await InvolvementItem.select().order_by(InvolvementItem.stage).order_by(InvolvementItem.position)
    return {"terms": terms, "projects": projects,
            "items": [(i["stage"], i["position"], i["title"], i["kind"], owners.get(i["owner_id"]), i["due_on"],
                       i["done_on"]) for i in items],
            "tenant_id": tenant.id}


async def test_the_huafu_section_lands_and_reapplies_unchanged(client: Any) -> None:
    slug = fresh()
    text = huafu(slug)
    first = await apply_text(text, demo=False)  # the owners are people of [[staff]]: no demo user needed
    settled = [c for c in first.changes if c.startswith(("settlement", "involvement"))]
    assert "settlement project P-HFYY: post_move_in" in settled
    assert "settlement phase P-HFYY/二期 added: pre_move_in" in settled
    assert "settlement project P-HFGY: pre_move_in" in settled  # the default stage, but with its note
    s = await state(slug)
    assert (s["terms"]["fee_rate_bp"], s["terms"]["due_day"]) == (1000, 22)
    yy, gy = s["projects"]["P-HFYY"], s["projects"]["P-HFGY"]
    assert (yy["stage"], yy["moved_in_on"]) == ("post_move_in", date(2026, 6, 30))
    assert [(p["code"], p["stage"], p["moved_in_on"]) for p in yy["phases"]] == [
        ("一期", "post_move_in", date(2026, 6, 30)), ("二期", "pre_move_in", None)]
    assert (gy["stage"], gy["phases"]) == ("pre_move_in", [])
    assert gy["note"].startswith("售楼处")
    handover = [i for i in s["items"] if i[0] == "handover"]
    assert sum(1 for i in handover if i[3] == "inspection") >= 4  # two per project at least (§3.1.4 7))
    assert {i[0] for i in s["items"]} == {"planning", "marketing", "construction", "handover", "move_in"}
    assert all(i[4] and i[4].endswith("@huafu-development.example") for i in s["items"])
    assert any(i[6] for i in s["items"]) and any(i[6] is None for i in s["items"])
    assert len(settled) == len(s["items"]) + 4  # every item added once, the two projects and the two phases

    again = await apply_text(text, demo=False)
    assert again.changes == [], again.summary()
    assert (await apply_text(text, demo=True)).changes and (await apply_text(text, demo=True)).changes == []
    assert (await state(slug))["items"] == s["items"]


async def test_a_change_in_the_file_changes_exactly_that(client: Any) -> None:
    slug = fresh()
    text = huafu(slug)
    await apply_text(text, demo=False)
    before = await state(slug)
    phase = 'code = "二期"\nname = "华府御园二期 (9-15栋)"\nstage = '
    changed = (text.replace('due_day = 22', 'due_day = 20')
               .replace(phase + '"pre_move_in"', phase + '"post_move_in"\nmoved_in_on = 2027-06-18')
               .replace('title = "二期分户工程质量现状报告"\nowner = "lv.wuye@huafu-development.example"\n'
                        'due_on = 2026-12-31', 'title = "二期分户工程质量现状报告"\n'
                        'owner = "lv.wuye@huafu-development.example"\ndue_on = 2026-12-31\ndone_on = 2026-12-20'))
    report = await apply_text(changed, demo=False)
    assert sorted(report.changes) == sorted([
        "settlement terms: fee 10.00 %, due on day 20",
        "settlement phase P-HFYY/二期 updated: post_move_in",
        "involvement P-HFYY/construction: 二期分户工程质量现状报告 updated"]), report.summary()
    after = await state(slug)
    assert after["terms"]["due_day"] == 20 and after["terms"]["fee_rate_bp"] == 1000
    assert after["projects"]["P-HFYY"]["phases"][1]["moved_in_on"] == date(2027, 6, 18)
    assert (await apply_text(changed, demo=False)).changes == []
    # an item marked done on the pages keeps its date when the file gives none
    item = next(i for i in before["items"] if i[6] is None and i[2] != "二期分户工程质量现状报告")
    async with tenant_scope(after["tenant_id"]):
        await InvolvementItem.update({InvolvementItem.done_on: date(2026, 11, 30)}).where(
            InvolvementItem.title == item[2])
    assert (await apply_text(changed, demo=False)).changes == []
    assert next(i for i in (await state(slug))["items"] if i[2] == item[2])[6] == date(2026, 11, 30)


SMALL = """\
[tenant]
slug = "{slug}"
name = "测试地产"

[[org_units]]
code = "P1"
name = "一期"

[[org_units]]
code = "D1"
name = "营销客服部"
kind = "department"

[[staff]]
email = "a@x.example"
name = "甲"
unit = "P1"

[settlements]
fee_rate = "8.5"
due_day = 15

[[settlements.projects]]
code = "P1"
stage = "post_move_in"
moved_in_on = 2026-05-01

[[settlements.projects.phases]]
code = "A"
name = "A区"
stage = "pre_move_in"

[[settlements.involvement]]
project = "P1"
stage = "handover"
title = "第一次承接查验"
kind = "inspection"
owner = "a@x.example"
due_on = 2026-09-30
"""

MALFORMED = {
    "bad fee": (('fee_rate = "8.5"', 'fee_rate = "8.555"'), "settlements.fee_rate"),
    "fee above 100": (('fee_rate = "8.5"', 'fee_rate = "120"'), "settlements.fee_rate"),
    "due day past 28": (("due_day = 15", "due_day = 31"), "settlements.due_day"),
    "unknown key": (("due_day = 15", "due_day = 15\nfee = 3"), "settlements.fee"),
    "unknown stage": (('stage = "post_move_in"', 'stage = "moved_in"'), "settlements.projects[0].stage"),
    "moved in without a date": (("moved_in_on = 2026-05-01\n", ""), "settlements.projects[0].moved_in_on"),
    "no such unit": (('code = "P1"\nstage', 'code = "P9"\nstage'), "settlements.projects[0].code"),
    "not a project": (('code = "P1"\nstage', 'code = "D1"\nstage'), "settlements.projects[0].code"),
    "phase after move-in without a date": (('A区"\nstage = "pre_move_in"', 'A区"\nstage = "post_move_in"'),
                                           "settlements.projects[0].phases[0].moved_in_on"),
    "unknown phase key": (('name = "A区"', 'name = "A区"\nfloor = 3'), "settlements.projects[0].phases[0].floor"),
    "unknown involvement stage": (('stage = "handover"', 'stage = "sales"'), "settlements.involvement[0].stage"),
    "unknown kind": (('kind = "inspection"', 'kind = "audit"'), "settlements.involvement[0].kind"),
    "unknown owner": (('owner = "a@x.example"', 'owner = "b@x.example"'), "settlements.involvement[0].owner"),
    "involvement of a department": (('project = "P1"', 'project = "D1"'), "settlements.involvement[0].project"),
    "blank title": (('title = "第一次承接查验"', 'title = "  "'), "settlements.involvement[0].title"),
    "listed twice": (('due_on = 2026-09-30', 'due_on = 2026-09-30\n\n[[settlements.involvement]]\nproject = "P1"\n'
                                           'stage = "handover"\ntitle = "第一次承接查验"'),
                     "settlements.involvement[1].title"),
    "bad date": (("due_on = 2026-09-30", 'due_on = "soon"'), "settlements.involvement[0].due_on"),
}


async def test_the_small_file_applies_once(client: Any) -> None:
    slug = fresh()
    first = await apply_text(SMALL.format(slug=slug), demo=False)
    assert "settlement terms: fee 8.50 %, due on day 15" in first.changes
    s = await state(slug)
    assert s["items"] == [("handover", 1, "第一次承接查验", "inspection", "a@x.example", date(2026, 9, 30), None)]
    assert (await apply_text(SMALL.format(slug=slug), demo=False)).changes == []


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_a_mistake_is_refused_naming_where_it_stands(client: Any, case: str) -> None:
    (old, new), path = MALFORMED[case]
    slug = fresh()
    text = SMALL.format(slug=slug)
    assert old in text, case
    with pytest.raises(ValidationFailed) as caught:
        await apply_text(text.replace(old, new, 1), demo=False)
    assert caught.value.code == "tenant_file_invalid"
    assert caught.value.field == path, (case, caught.value.field, caught.value.message)
    assert path in caught.value.message
    assert await platform_service.tenant_by_slug(slug) is None  # nothing half applied
