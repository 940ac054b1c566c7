"""Early involvement (§3.1): the checklist's rules (overdue, the handover stage complete only after two
inspections), the owner an active staff member, every problem at once, seeding the guide's list once, who reads
and who writes, one company's items out of another's reach, and the page with its forms and download."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

from litestar import Litestar
from openpyxl import load_workbook

from careclub.core.db import tenant_scope
from careclub.platform.tables import User
from careclub.settlements.service import _involvement
from careclub.web.exports import XLSX
from tests.integration.platform.pages import csrf_token
from tests.integration.settlements.helpers import GY, YY, World, make_world, ok
from tests.integration.settlements.test_reports import as_user

ERROR = re.compile(r'<small class="error" id="e-([a-z_0-9-]+)">([^<]*)</small>')


def url(project: str, rest: str = "") -> str:
    return f"/api/v1/settlement-projects/{project}/involvement{rest}"


def user_id(w: World, who: str) -> str:
    return next(i for i, short in w.by_id.items() if short == who)


def stage(checklist: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in checklist["stages"] if s["stage"] == name)


async def test_overdue_and_handover_needs_two_inspections(client: Any) -> None:
    w = await make_world(client)
    lv = user_id(w, "lv.wuye")
    checklist = await ok(await client.get(url(YY), headers=w.h("property")))
    handover = stage(checklist, "handover")
    assert [i["kind"] for i in handover["items"]] == ["deliverable", "inspection", "inspection"]
    assert checklist["inspections_done"] == 0 and checklist["inspections_needed"] == 2
    assert not handover["complete"] and stage(checklist, "planning")["complete"]
    late = await ok(await client.post(url(YY), headers=w.h("property"), json={
        "stage": "construction", "title": "公共部位工地巡查报告", "owner": lv, "due_on": "2020-01-31"}), 201)
    assert late["overdue"] and late["owner_name"] == "吕经理 (御园项目物业经理)" and late["kind"] == "deliverable"
    later = await ok(await client.post(url(YY), headers=w.h("property"), json={
        "stage": "construction", "title": "房屋质量缺陷报告", "due_on": "2099-12-31"}), 201)
    assert not later["overdue"] and later["position"] == late["position"] + 1
    checklist = await ok(await client.get(url(YY), headers=w.h("auditor")))
    assert [i["id"] for i in checklist["overdue"]] == [late["id"]]
    assert stage(checklist, "construction")["overdue"] == 1
    done = await ok(await client.put(f"/api/v1/involvement-items/{late['id']}", headers=w.h("property"), json={
        "title": late["title"], "owner": lv, "due_on": "2020-01-31", "done_on": "2020-02-03", "note": "一周后补交"}))
    assert not done["overdue"] and done["note"] == "一周后补交"

    # handover: every item done but one inspection is not complete; two are
    deliverable, first, second = (i["id"] for i in handover["items"])
    for item in (deliverable, first):
        row = next(i for i in handover["items"] if i["id"] == item)
        await ok(await client.put(f"/api/v1/involvement-items/{item}", headers=w.h("property"), json={
            "title": row["title"], "owner": row["owner"], "due_on": row["due_on"], "done_on": "2026-11-20"}))
    assert (await client.delete(f"/api/v1/involvement-items/{second}", headers=w.h("property"))).status_code == 204
    assert (await client.get(f"/api/v1/involvement-items/{second}", headers=w.h("property"))).status_code == 404
    checklist = await ok(await client.get(url(YY), headers=w.h("property")))
    handover = stage(checklist, "handover")
    assert handover["done"] == handover["total"] == 2 and checklist["inspections_done"] == 1
    assert not handover["complete"]
    await ok(await client.post(url(YY), headers=w.h("property"), json={
        "stage": "handover", "kind": "inspection", "title": "返修后第二次查验", "done_on": "2026-11-28"}), 201)
    checklist = await ok(await client.get(url(YY), headers=w.h("property")))
    assert stage(checklist, "handover")["complete"] and checklist["inspections_done"] == 2

    async with tenant_scope(w.tenant_id):
        panel = await _involvement.panel(uuid.UUID(w.org[YY]))
    assert set(panel) == {"stages", "overdue", "inspections_done", "inspections_needed"}
    assert [s["stage"] for s in panel["stages"]] == ["planning", "marketing", "construction", "handover", "move_in"]
    assert set(panel["stages"][0]) == {"stage", "name", "done", "total"}
    assert panel["inspections_done"] == 2 and panel["inspections_needed"] == 2
    assert all(set(o) == {"id", "title", "stage", "due_on", "owner_name"} for o in panel["overdue"])


async def test_owner_validation_and_every_problem_at_once(client: Any) -> None:
    w = await make_world(client)
    item = await ok(await client.post(url(YY), headers=w.h("property"), json={
        "stage": "planning", "title": "物业管理模式建议"}), 201)
    stranger = await client.post(url(YY), headers=w.h("property"), json={
        "stage": "planning", "title": "x", "owner": str(uuid.uuid4())})
    assert stranger.status_code == 422 and stranger.json()["error"]["code"] == "owner_not_staff"
    async with tenant_scope(w.tenant_id):
        await User.update({User.is_active: False}).where(User.email.like("han.quyu@%"))
    gone = await client.put(f"/api/v1/involvement-items/{item['id']}", headers=w.h("property"), json={
        "title": "物业管理模式建议", "owner": user_id(w, "han.quyu")})
    assert gone.status_code == 422 and gone.json()["error"]["field"] == "owner"
    everything = await client.put(f"/api/v1/involvement-items/{item['id']}", headers=w.h("property"), json={
        "title": "   ", "owner": str(uuid.uuid4()), "done_on": "2099-01-01"})
    assert everything.status_code == 422
    fields = {f["field"]: f["code"] for f in everything.json()["error"]["fields"]}
    assert fields == {"title": "invalid_title", "owner": "owner_not_staff", "done_on": "done_in_future"}
    bad_stage = await client.post(url(YY), headers=w.h("property"), json={"stage": "demolition", "title": "x"})
    assert bad_stage.status_code in (400, 422)
    unknown = await client.post(url(YY), headers=w.h("property"), json={"stage": "planning", "title": "x", "who": 1})
    assert unknown.status_code in (400, 422)
    long = await client.post(url(YY), headers=w.h("property"), json={"stage": "planning", "title": "长" * 201})
    assert long.status_code in (400, 422)


async def test_who_reads_and_who_writes(client: Any) -> None:
    w = await make_world(client)
    item = await ok(await client.post(url(GY), headers=w.h("property2"), json={
        "stage": "marketing", "title": "入伙方案"}), 201)
    assert (await client.get(url(GY), headers=w.h("auditor"))).status_code == 200
    read_only = await client.put(f"/api/v1/involvement-items/{item['id']}", headers=w.h("auditor"),
                                 json={"title": "入伙方案"})
    assert read_only.status_code == 403
    assert (await client.post(url(GY), headers=w.h("auditor"), json={"stage": "planning", "title": "x"})
            ).status_code == 403
    assert (await client.post(url(GY, "/seed"), headers=w.h("auditor"))).status_code == 403
    # the manager of the other project sees neither the checklist nor the item
    assert (await client.get(url(GY), headers=w.h("property"))).status_code == 404
    assert (await client.get(f"/api/v1/involvement-items/{item['id']}", headers=w.h("property"))).status_code == 404
    assert (await client.put(f"/api/v1/involvement-items/{item['id']}", headers=w.h("property"),
                             json={"title": "x"})).status_code == 404
    assert (await client.delete(f"/api/v1/involvement-items/{item['id']}", headers=w.h("property"))).status_code == 404
    # the admin keeps the accounts (settlements.manage): writes anywhere
    assert (await client.put(f"/api/v1/involvement-items/{item['id']}", headers=w.h("admin"),
                             json={"title": "入伙方案 (入伙前两个月)"})).status_code == 200


async def test_two_companies_never_see_each_others_items(client: Any) -> None:
    first = await make_world(client)
    second = await make_world(client)
    item = await ok(await client.post(url(YY), headers=first.h("admin"), json={
        "stage": "move_in", "title": "入伙满意度调查"}), 201)
    theirs = f"/api/v1/involvement-items/{item['id']}"
    assert (await client.get(theirs, headers=second.h("admin"))).status_code == 404
    assert (await client.put(theirs, headers=second.h("admin"), json={"title": "x"})).status_code == 404
    assert (await client.delete(theirs, headers=second.h("admin"))).status_code == 404
    assert (await client.get(theirs, headers=first.h("admin"))).status_code == 200
    mine = await ok(await client.get(url(YY), headers=second.h("admin")))
    assert item["id"] not in {i["id"] for s in mine["stages"] for i in s["items"]}


async def test_seed_adds_the_guide_once(client: Any) -> None:
    w = await make_world(client)
    before = await ok(await client.get(url(GY), headers=w.h("property2")))
    seeded = await ok(await client.post(url(GY, "/seed"), headers=w.h("property2")))
    # 物业管理定位调研报告, 临时管理规约 and 分户工程质量现状报告 are on the tenant file's checklist already: they stay
    have = {(s["stage"], i["title"]) for s in before["stages"] for i in s["items"]}
    lacking = [d for d in _involvement.DEFAULT_CHECKLIST if (d.stage, d.title) not in have]
    assert len(lacking) == len(_involvement.DEFAULT_CHECKLIST) - 3
    assert seeded["added"] == len(lacking)
    assert seeded["total"] == before["total"] + seeded["added"]
    titles = [i["title"] for s in seeded["stages"] for i in s["items"]]
    assert titles.count("物业管理定位调研报告") == 1
    handover = stage(seeded, "handover")
    assert sum(1 for i in handover["items"] if i["kind"] == "inspection") >= 2 + 2
    again = await ok(await client.post(url(GY, "/seed"), headers=w.h("property2")))
    assert again["added"] == 0 and again["total"] == seeded["total"]
    assert [i["position"] for i in stage(again, "planning")["items"]] == list(
        range(1, stage(again, "planning")["total"] + 1))


async def test_checklist_page_forms_and_download(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    page = f"/settlements/projects/{YY}/involvement"
    async with as_user(app, w, "property") as c:
        r = await c.get(page)
        assert r.status_code == 200, r.text[:500]
        assert 'data-stage="handover"' in r.text and "二期第一次承接查验" in r.text
        assert 'data-testid="add-form"' in r.text and 'data-testid="seed"' in r.text
        token = csrf_token(r)
        bad = await c.post(page, data={"_csrf_token": token, "stage": "construction", "kind": "deliverable",
                                       "title": "", "owner": "not-an-id", "due_on": "31/12/2026",
                                       "done_on": "2099-01-01", "note": ""})
        assert bad.status_code == 422
        errors = dict(ERROR.findall(bad.text))
        assert set(errors) == {"new-title", "new-owner", "new-due_on", "new-done_on"}
        assert 'value="31/12/2026"' in bad.text  # what was typed is kept
        script = "<script>alert(1)</script>"
        added = await c.post(page, data={"_csrf_token": token, "stage": "construction", "kind": "deliverable",
                                         "title": script, "owner": user_id(w, "lv.wuye"), "due_on": "2020-06-30",
                                         "done_on": "", "note": ""})
        assert added.status_code == 303, added.text[:500]
        item_id = added.headers["location"].split("#item-")[1]
        r = await c.get(page)
        assert script not in r.text and "&lt;script&gt;" in r.text
        assert f'id="item-{item_id}" data-id="{item_id}" data-kind="deliverable" class="is-loss" data-overdue="1"' \
            in r.text
        edit = await c.get(page, params={"edit": item_id})
        assert 'data-testid="item-form"' in edit.text
        refused = await c.post(f"/settlements/involvement-items/{item_id}", data={
            "_csrf_token": csrf_token(edit), "title": "x", "owner": "", "due_on": "2020-06-30",
            "done_on": "2099-01-01", "note": ""})
        assert refused.status_code == 422 and "item-done_on" in dict(ERROR.findall(refused.text))
        saved = await c.post(f"/settlements/involvement-items/{item_id}", data={
            "_csrf_token": csrf_token(edit), "title": "工地巡查报告", "owner": "", "due_on": "2020-06-30",
            "done_on": "2020-07-02", "note": "补交"})
        assert saved.status_code == 303
        seeded = await c.post(f"{page}/seed", data={"_csrf_token": token})
        assert seeded.status_code == 303 and "done=seeded" in seeded.headers["location"]
        download = await c.get(page, params={"format": "xlsx"})
        assert download.headers["content-type"].startswith(XLSX)
        rows = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
        assert rows[0][:3] == ("Stage", "No.", "Deliverable")
        assert any(r[2] == "工地巡查报告" and r[6] is not None for r in rows[1:])
        removed = await c.post(f"/settlements/involvement-items/{item_id}/remove", data={"_csrf_token": token})
        assert removed.status_code == 303
    async with as_user(app, w, "auditor", lang="zh_CN") as c:
        r = await c.get(page)
        assert r.status_code == 200 and 'data-testid="add-form"' not in r.text
        assert (await c.post(f"{page}/seed", data={"_csrf_token": csrf_token(r)})
                ).status_code == 403
    async with as_user(app, w, "property2") as c:
        assert (await c.get(page)).status_code == 404


async def test_project_page_panel_renders(client: Any, app: Litestar) -> None:
    """The panel another page includes: progress per stage, inspections, overdue deliverables, the link."""
    w = await make_world(client)
    late = await ok(await client.post(url(GY), headers=w.h("property2"), json={
        "stage": "construction", "title": "<b>房屋质量缺陷报告</b>", "due_on": "2020-03-31",
        "owner": user_id(w, "fang.wuye")}), 201)
    async with tenant_scope(w.tenant_id):
        panel = await _involvement.panel(uuid.UUID(w.org[GY]))
    assert [o["id"] for o in panel["overdue"]] == [uuid.UUID(late["id"])]
    engine = app.template_engine
    assert engine is not None
    html = engine.engine.get_template("settlements/_involvement_panel.html").render(  # type: ignore[attr-defined]
        involvement=panel, project={"code": GY, "id": w.org[GY], "name": "华府公园里"})
    assert 'data-testid="panel-overdue"' in html and "&lt;b&gt;房屋质量缺陷报告&lt;/b&gt;" in html
    assert f'href="/settlements/projects/{GY}/involvement"' in html
    assert 'data-testid="panel-inspections"' in html
