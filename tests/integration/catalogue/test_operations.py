"""Long-term agreements and their visits, costs and the monthly loss review (stopping a service needs the
general manager), quality figures with complaints about a service, needs surveys, and a subcontractor's own
people who see only what is handed to their company."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from careclub.catalogue import jobs as catalogue_jobs
from careclub.catalogue import service
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.service import company_today
from tests.integration.catalogue.helpers import World, book, make_world, money, move, ok, pay_offline, work_done
from tests.integration.catalogue.test_items import _decide


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


async def _today(w: World) -> Any:
    async with tenant_scope(w.tenant_id):
        return await company_today()


async def _run_job(w: World) -> dict[str, int]:
    return await catalogue_jobs.catalogue_tenant({}, tenant_id=str(w.tenant_id))


async def _enable_long_term(client: Any, w: World, code: str = "CLEAN") -> None:
    async with tenant_scope(w.tenant_id):
        from careclub.catalogue.tables import ServiceItem, ServiceItemVersion

        item = await ServiceItem.select().where(ServiceItem.code == code).first()
        assert item is not None
        await ServiceItemVersion.update({ServiceItemVersion.long_term: True}).where(
            ServiceItemVersion.id == item["current_version"])


async def test_an_agreements_visits_become_orders_once_at_the_agreed_price(client: Any) -> None:
    w = await make_world(client)
    await _enable_long_term(client, w)
    today = await _today(w)
    refused = await ok(await client.post("/api/v1/service-agreements", headers=w.h("clerk"), json={
        "item": w.items["WASH"], "unit": w.units["A-101"], "starts_on": today.isoformat(),
        "ends_on": (today - timedelta(days=1)).isoformat(), "every_weeks": 1, "weekday": 9 % 7}), 422)
    assert {e["field"] for e in refused["error"]["fields"]} == {"item", "ends_on"}
    agreement = await ok(await client.post("/api/v1/service-agreements", headers=w.h("clerk"), json={
        "item": w.items["CLEAN"], "unit": w.units["A-101"], "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=27)).isoformat(), "every_weeks": 1, "weekday": today.weekday(),
        "time_of_day": "23:30", "quantity": "60", "price_per_visit": money("240.00"),
        "terms": "weekly deep cleaning, paid per visit"}), 201)
    assert agreement["price_per_visit"] == money("240.00") and agreement["next_visit"] == today.isoformat()
    # the job, twice, and racing itself: each visit in the week ahead exists once
    first = await _run_job(w)
    await asyncio.gather(_run_job(w), _run_job(w))
    detail = await ok(await client.get(f"/api/v1/service-agreements/{agreement['id']}", headers=w.h("clerk")))
    days = [v["day"] for v in detail["visits"]]
    assert first["visits"] == 2 and days == [today.isoformat(), (today + timedelta(days=7)).isoformat()]
    assert all(v["price"] == money("240.00") for v in detail["visits"])
    # a new fee standard meanwhile does not touch the agreement's visits
    body = {"name": "Deep cleaning", "fee_basis": "per_m2", "fee": money("9.00"), "prepay_kind": "prepayment",
            "prepay": money("500.00"), "provider_department": w.org["P1-CS"], "long_term": True}
    await ok(await client.put(f"/api/v1/catalogue/items/{w.items['CLEAN']}/draft", headers=w.h("site"), json=body))
    sent = await ok(await client.post(f"/api/v1/catalogue/items/{w.items['CLEAN']}/submit", headers=w.h("site")))
    await _decide(client, w, sent["versions"][0])
    clock.travel(timedelta(days=14))
    await _run_job(w)
    detail = await ok(await client.get(f"/api/v1/service-agreements/{agreement['id']}", headers=w.h("clerk")))
    assert len(detail["visits"]) == 4 and detail["status"] == "ended" and detail["next_visit"] is None
    assert {v["price"]["amount"] for v in detail["visits"]} == {"240.00"}
    visit = await ok(await client.get(f"/api/v1/service-orders/{detail['visits'][3]['id']}", headers=w.h("res")))
    assert visit["version"] == 1 and visit["status"] == "open" and visit["source"] == "agreement"


async def _settled(client: Any, w: World, code: str, final: str | None = None, **body: Any) -> dict[str, Any]:
    order = await book(client, w, "res", code, unit=w.units["A-101"], **body)
    if order["prepay_kind"] != "none":
        await pay_offline(client, w, "service_prepay", order["id"])
    await work_done(client, w, order["ticket"], handler="site")
    settle = {"final_amount": money(final)} if final else {}
    done = await ok(await client.post(f"/api/v1/service-orders/{order['id']}/settlement", headers=w.h("cashier"),
                                      json=settle))
    if done["status"] == "balance_due":
        await pay_offline(client, w, "service_balance", order["id"])
    return done


async def test_a_loss_making_service_raises_a_review_and_stopping_it_needs_the_general_manager(client: Any) -> None:
    w = await make_world(client)
    order = await _settled(client, w, "FIX", final="80.00")
    r = await client.put(f"/api/v1/service-orders/{order['id']}/costs", headers=w.h("res"), json={})
    assert r.status_code == 403
    costs = await ok(await client.put(f"/api/v1/service-orders/{order['id']}/costs", headers=w.h("site"), json={
        "labour_minutes": 90, "labour_rate": money("40.00"), "materials_cost": money("5.00"),
        "subcontractor_fee": money("70.00")}))
    assert costs["order_version"] > order["order_version"]
    profitable = await _settled(client, w, "CLEAN", quantity="100")  # 500.00 earned, nothing spent
    month = clock.local(clock.now(), "Asia/Shanghai").strftime("%Y-%m")  # type: ignore[union-attr]
    figures = await ok(await client.get(f"/api/v1/catalogue/figures?month={month}", headers=w.h("site")))
    move_row = next(f for f in figures if f["code"] == "FIX")
    assert move_row["revenue"] == money("80.00") and move_row["cost"] == money("135.00")
    assert move_row["margin"] == money("-55.00")
    assert next(f for f in figures if f["code"] == "CLEAN")["margin"] == money("500.00")
    assert profitable["status"] == "settled"
    # next month, the job raises one review for the loss, once
    clock.travel(timedelta(days=32))
    async with tenant_scope(w.tenant_id):
        first = await service.raise_loss_tasks(month)
        again = await service.raise_loss_tasks(month)
        reviews = await service.list_reviews(await _principal(w, "site"))
    assert first == {"raised": 1} and again == {"raised": 0}
    review = reviews[0]
    assert review["code"] == "FIX" and review["status"] == "open"
    url = f"/api/v1/catalogue/reviews/{review['id']}/decision"
    missing = await ok(await client.post(url, headers=w.h("site"), json={"decision": "stop"}), 422)
    assert missing["error"]["field"] == "note"
    decided = await ok(await client.post(url, headers=w.h("site"), json={
        "decision": "stop", "note": "too few residents and spare parts cost more"}))
    assert decided["status"] == "stopping" and decided["approval_request"]
    still = await ok(await client.get(f"/api/v1/catalogue/items/{w.items['FIX']}", headers=w.h("site")))
    assert still["status"] == "published"
    await _decide(client, w, {"approval_request": decided["approval_request"]})
    stopped = await ok(await client.get(f"/api/v1/catalogue/items/{w.items['FIX']}", headers=w.h("site")))
    assert stopped["status"] == "stopped"
    names = {e["name"] for e in await ok(await client.get("/api/v1/catalogue", headers=w.h("res")))}
    assert "Appliance repair" not in names
    r = await client.post("/api/v1/service-orders", headers=w.h("res"), json={"item": w.items["FIX"],
                                                                               "unit": w.units["A-101"]})
    assert r.status_code == 404


async def _principal(w: World, who: str) -> Any:
    tenant = await platform_service.get_tenant(w.tenant_id)
    assert tenant is not None
    principal = await platform_service.load_principal(tenant, w.users[who])
    assert principal is not None
    return principal


async def test_quality_counts_return_visits_reworks_complaints_and_on_time_work(client: Any) -> None:
    w = await make_world(client)
    good = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    await work_done(client, w, good["ticket"], handler="site")
    await move(client, w, "site", good["ticket"], "visited", satisfaction=5, reason="satisfied")
    bad = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    await work_done(client, w, bad["ticket"], handler="site")
    await move(client, w, "site", bad["ticket"], "visited", satisfaction=1, reason="quality")  # reopens: rework
    complaint = await ok(await client.post(f"/api/v1/service-orders/{bad['id']}/complaints", headers=w.h("res"),
                                           json={"title": "They scratched the floor"}), 201)
    assert complaint["number"].startswith("TS")
    r = await client.post(f"/api/v1/service-orders/{bad['id']}/complaints", headers=w.h("neighbour"),
                          json={"title": "not mine"})
    assert r.status_code == 404
    today = await _today(w)
    q = f"since={(today - timedelta(days=1)).isoformat()}&until={(today + timedelta(days=1)).isoformat()}"
    rows = await ok(await client.get(f"/api/v1/catalogue/quality?{q}&by=subcontractor", headers=w.h("site")))
    assert len(rows) == 1
    row = rows[0]
    assert row["label"] == "Swift Movers" and row["orders"] == 2 and row["rated"] == 2
    assert row["satisfaction"] == "3.00" and row["bad"] == 1 and row["rework"] == 1 and row["complaints"] == 1
    by_item = await ok(await client.get(f"/api/v1/catalogue/quality?{q}&by=item", headers=w.h("site")))
    assert [(r["label"], r["orders"]) for r in by_item] == [("Moving help", 2)]
    assert (await ok(await client.get(f"/api/v1/catalogue/quality?{q}", headers=w.h("site2")))) == []


async def test_a_survey_reaches_the_projects_residents_who_answer_once_and_staff_see_the_tally(client: Any) -> None:
    w = await make_world(client)
    bad = await ok(await client.post("/api/v1/catalogue/surveys", headers=w.h("site"), json={
        "project": w.org["P1"], "title": "", "proposals": []}), 422)
    assert {e["field"] for e in bad["error"]["fields"]} == {"title", "proposals"}
    survey = await ok(await client.post("/api/v1/catalogue/surveys", headers=w.h("site"), json={
        "project": w.org["P1"], "title": "Which services would help you?",
        "proposals": [{"code": "laundry", "name": "Laundry pick-up"},
                      {"code": "clean", "name": "Deep cleaning", "item": "CLEAN"}]}), 201)
    assert survey["sent_to"] == 2 and survey["respondents"] == 0
    inbox = await ok(await client.get("/api/v1/notifications", headers=w.h("res")))
    assert any(f"/my/surveys/{survey['id']}" == n["link"] for n in inbox["items"])
    url = f"/api/v1/catalogue/surveys/{survey['id']}"
    seen = await ok(await client.get(url, headers=w.h("res")))
    assert seen["respondents"] is None and all(p["wanted"] is None for p in seen["proposals"])
    assert (await client.get(url, headers=w.h("far"))).status_code == 404
    await ok(await client.post(f"{url}/answers", headers=w.h("res"), json={"wanted": ["laundry"]}))
    await ok(await client.post(f"{url}/answers", headers=w.h("res"), json={"wanted": ["laundry", "clean"]}))
    await ok(await client.post(f"{url}/answers", headers=w.h("neighbour"), json={"wanted": ["clean"]}))
    wrong = await ok(await client.post(f"{url}/answers", headers=w.h("neighbour"), json={"wanted": ["spa"]}), 422)
    assert wrong["error"]["field"] == "wanted"
    tallied = await ok(await client.get(url, headers=w.h("site")))
    assert tallied["respondents"] == 2
    assert {p["code"]: p["wanted"] for p in tallied["proposals"]} == {"laundry": 1, "clean": 2}
    async with tenant_scope(w.tenant_id):
        beside = await service.tallies_for_item("CLEAN")
    assert [(b["wanted"], b["respondents"]) for b in beside] == [(2, 2)]
    await ok(await client.post(f"{url}/close", headers=w.h("site")))
    closed = await ok(await client.post(f"{url}/answers", headers=w.h("res"), json={"wanted": []}), 409)
    assert closed["error"]["code"] == "survey_closed"


async def test_a_subcontractors_people_see_and_work_only_what_is_handed_to_their_company(client: Any) -> None:
    w = await make_world(client)
    theirs = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    other = await book(client, w, "res", "WASH", unit=w.units["A-101"],
                       preferred_at=(clock.now() + timedelta(days=2)).isoformat())
    async with tenant_scope(w.tenant_id):
        from careclub.catalogue.tables import Subcontractor
        from careclub.platform.tables import User

        sub = await Subcontractor.select().where(Subcontractor.code == "MOVE").first()
        assert sub is not None
        mover = User(email=f"mover-{uuid.uuid4().hex[:6]}@{w.slug}.test", display_name="Mover", kind="staff",
                     org_unit=uuid.UUID(w.org["P1"]))
        await mover.save()
        token, _ = await platform_service.issue_token(mover.id, kind="login", hours=24)
    headers = {"Authorization": f"Bearer {token}"}
    before = await client.get(f"/api/v1/service-orders/{theirs['id']}", headers=headers)
    assert before.status_code == 404
    r = await client.post(f"/api/v1/catalogue/subcontractors/{sub['id']}/users", headers=w.h("site"),
                          json={"user": str(mover.id)})
    assert r.status_code == 403  # the register is the company's: a company-wide right is needed
    async with tenant_scope(w.tenant_id):
        await service.link_user(sub["id"], mover.id)
    mine = await ok(await client.get("/api/v1/service-orders", headers=headers))
    assert [o["id"] for o in mine["items"]] == [theirs["id"]]
    await ok(await client.get(f"/api/v1/service-orders/{theirs['id']}", headers=headers))
    assert (await client.get(f"/api/v1/service-orders/{other['id']}", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/tickets/{other['ticket']}", headers=headers)).status_code == 404
    taken = await ok(await client.post(f"/api/v1/tickets/{theirs['ticket']}/transitions", headers=headers,
                                       json={"to": "accepted"}))
    assert taken["status"] == "accepted"
    # handed back to a department, it leaves the subcontractor's sight
    await move(client, w, "site", theirs["ticket"], "dispatched", department=w.org["P1-CS"])
    assert (await client.get(f"/api/v1/service-orders/{theirs['id']}", headers=headers)).status_code == 404


async def test_dates_far_outside_any_calendar_are_refused_by_name_not_with_a_500(client: Any) -> None:
    w = await make_world(client)
    await _enable_long_term(client, w)
    r = await client.get("/api/v1/catalogue/quality?since=0001-01-01&until=9999-12-31", headers=w.h("site"))
    assert r.status_code == 422 and {e["field"] for e in r.json()["error"]["fields"]} == {"since", "until"}
    r = await client.get("/api/v1/catalogue/figures?month=9999-12", headers=w.h("site"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "month"
    r = await client.post("/api/v1/service-agreements", headers=w.h("clerk"), json={
        "item": w.items["CLEAN"], "unit": w.units["A-101"], "starts_on": "9999-12-30", "ends_on": "9999-12-31"})
    assert r.status_code == 422 and {e["field"] for e in r.json()["error"]["fields"]} == {"starts_on", "ends_on"}
    r = await client.post("/api/v1/catalogue/surveys", headers=w.h("site"), json={
        "project": w.org["P1"], "title": "t", "proposals": [{"name": "n"}], "closes_on": "9999-12-31"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "closes_on"


async def test_one_company_never_sees_anothers_agreements_surveys_reviews_or_subcontractors(client: Any) -> None:
    a = await make_world(client)
    b = await make_world(client)
    await _enable_long_term(client, a)
    today = await _today(a)
    agreement = await ok(await client.post("/api/v1/service-agreements", headers=a.h("clerk"), json={
        "item": a.items["CLEAN"], "unit": a.units["A-101"], "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(), "quantity": "50"}), 201)
    survey = await ok(await client.post("/api/v1/catalogue/surveys", headers=a.h("site"), json={
        "project": a.org["P1"], "title": "Needs", "proposals": [{"name": "Laundry"}]}), 201)
    settled = await _settled(client, a, "FIX", final="50.00")
    await ok(await client.put(f"/api/v1/service-orders/{settled['id']}/costs", headers=a.h("site"),
                              json={"materials_cost": money("80.00")}))
    clock.travel(timedelta(days=32))
    async with tenant_scope(a.tenant_id):
        await service.raise_loss_tasks(clock.local(clock.now() - timedelta(days=32),  # type: ignore[union-attr]
                                                   "Asia/Shanghai").strftime("%Y-%m"))
        from careclub.catalogue.tables import LossReview, Subcontractor

        review = await LossReview.select(LossReview.id).first()
        sub = await Subcontractor.select(Subcontractor.id).first()
    assert review is not None and sub is not None
    assert (await client.get(f"/api/v1/catalogue/reviews/{review['id']}", headers=a.h("site"))).status_code == 200
    for who in ("site", "clerk", "cashier", "res"):
        for url in (f"/api/v1/service-agreements/{agreement['id']}", f"/api/v1/catalogue/surveys/{survey['id']}",
                    f"/api/v1/catalogue/reviews/{review['id']}"):
            r = await client.get(url, headers=b.h(who))
            assert r.status_code in (403, 404), (who, url, r.status_code)
    assert agreement["id"] not in {x["id"] for x in await ok(await client.get("/api/v1/service-agreements",
                                                                             headers=b.h("clerk")))}
    assert survey["id"] not in {x["id"] for x in await ok(await client.get("/api/v1/catalogue/surveys",
                                                                          headers=b.h("site")))}
    assert str(sub["id"]) not in {x["id"] for x in await ok(await client.get("/api/v1/catalogue/subcontractors",
                                                                             headers=b.h("site")))}
    r = await client.post(f"/api/v1/catalogue/surveys/{survey['id']}/answers", headers=b.h("res"), json={"wanted": []})
    assert r.status_code == 404
    month = clock.local(clock.now() - timedelta(days=32), "Asia/Shanghai").strftime("%Y-%m")  # type: ignore[union-attr]
    assert await ok(await client.get(f"/api/v1/catalogue/figures?month={month}", headers=b.h("site"))) == []

