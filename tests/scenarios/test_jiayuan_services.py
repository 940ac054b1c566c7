"""嘉园物业 (tenants/jiayuan-services.toml, seed 004: 业主特约服务策划与提供控制程序).

A year of owners' special services: a needs survey, a service proposed by the site manager and approved by
the general manager before it is published, a phone booking and a resident's own booking, a prepaid order
settled with the surplus refunded, a deposit order with a quote, the long-term cleaning agreement's visits,
a complaint after a service, and a loss review that stops a service with the general manager's approval."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from careclub.catalogue import jobs as catalogue_jobs
from careclub.core import clock
from careclub.platform import service as platform_service
from tests.scenarios.helpers import Scenario, sign_in, visible_unit_codes
from tests.scenarios.tickets_steps import step, unit_id

SLUG = "jiayuan-services"
E = "@jiayuan-services.example"


def who(scenario: Scenario, name: str) -> dict[str, str]:
    return scenario.as_(f"{name}{E}")


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def call(client: Any, verb: str, url: str, headers: dict[str, str], status: int = 200, **body: Any) -> Any:
    r = await client.request(verb, url, headers=headers, json=body if verb != "GET" else None)
    assert r.status_code == status, (url, r.text)
    return r.json() if r.content else None


async def approve_all(client: Any, scenario: Scenario) -> int:
    """The general manager decides every step waiting for him."""
    gm = who(scenario, "gm")
    tasks = await call(client, "GET", "/api/v1/approvals/tasks", gm)
    for t in tasks:
        await call(client, "POST", f"/api/v1/approvals/requests/{t['request_id']}/decisions", gm, 201,
                   step_id=t["step_id"], decision="approve", comment="同意")
    return len(tasks)


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


async def test_site_manager_sees_only_his_site(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("site@jiayuan-services.example")
    assert await visible_unit_codes(client, headers) == {"JY1", "JY1-CSC", "JY1-ENG", "JY1-CLEAN"}


async def test_resident_cannot_read_the_organisation(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("member@jiayuan-services.example")
    assert await visible_unit_codes(client, headers) == 403


async def test_the_published_catalogue_is_the_files_approved_one(client: Any, scenario: Scenario) -> None:
    mine = await call(client, "GET", "/api/v1/catalogue", who(scenario, "member"))
    names = {e["name"] for e in mine}
    assert {"家居深度保洁", "钟点家政", "家电维修", "空调清洗", "车辆清洗", "代收代送快递", "搬家协助"} <= names
    assert "家居保洁" not in names  # 二区's own service
    clean = next(e for e in mine if e["name"] == "家居深度保洁")
    assert clean["fee"] == {"amount": "6.00", "currency": "CNY", "per": "m2"} and clean["deposit"] == money("600.00")


async def test_a_year_of_special_services(client: Any, scenario: Scenario) -> None:
    ids = await scenario.unit_ids(client)
    tenant = await platform_service.tenant_by_slug(SLUG)
    assert tenant is not None
    member, csc, site, cashier = who(scenario, "member"), who(scenario, "csc"), who(scenario, "site"), \
        who(scenario, "cashier")
    reception, engineer = who(scenario, "reception"), who(scenario, "staff")
    home, chen = await unit_id(SLUG, "3", "1201"), await unit_id(SLUG, "3", "1502")
    items = {i["code"]: i["id"] for i in await call(client, "GET", "/api/v1/catalogue/items", site)}

    # §4.1.2–4.1.3: the customer-service centre surveys 一区's residents; the tally sits beside the proposal
    survey = await call(client, "POST", "/api/v1/catalogue/surveys", csc, 201, project=ids["JY1"],
                        title="便民服务需求调查", proposals=[{"code": "window", "name": "擦窗服务"},
                                                        {"code": "aircon", "name": "空调清洗", "item": "JY1-AIRCON"}])
    await call(client, "POST", f"/api/v1/catalogue/surveys/{survey['id']}/answers", member,
               wanted=["window", "aircon"], comment="高层擦窗很需要")
    tally = await call(client, "GET", f"/api/v1/catalogue/surveys/{survey['id']}", csc)
    assert tally["respondents"] == 1 and {p["code"]: p["wanted"] for p in tally["proposals"]} == {
        "window": 1, "aircon": 1}

    # §4.1.4–4.1.6: the site manager designs window cleaning; the general manager approves; only then published
    item = await call(client, "POST", "/api/v1/catalogue/items", site, 201, code="JY1-WINDOW", name="擦窗服务",
                      category="cleaning", project=ids["JY1"], provider_department=ids["JY1-CLEAN"],
                      fee_basis="per_m2", fee=money("8.00"), standard="高层外窗由持证人员操作", delivery_hours=72)
    assert "擦窗服务" not in {e["name"] for e in await call(client, "GET", "/api/v1/catalogue", member)}
    await call(client, "POST", f"/api/v1/catalogue/items/{item['id']}/submit", site)
    assert await approve_all(client, scenario) == 1
    assert "擦窗服务" in {e["name"] for e in await call(client, "GET", "/api/v1/catalogue", member)}

    # §4.2.3–4.2.4: 陈先生 books air-conditioner cleaning by phone; the clerk registers it
    phoned = await call(client, "POST", "/api/v1/service-orders", reception, 201, item=items["JY1-AIRCON"],
                        unit=chen, contact_name="陈先生", contact_phone="13900031502", quantity="2",
                        note="两台挂机")
    assert phoned["price"] == money("160.00") and phoned["source"] == "phone"

    # a resident's own prepaid booking, settled with the surplus refunded (§4.3.1)
    own = await call(client, "POST", "/api/v1/service-orders", member, 201, item=items["JY1-CLEAN"], unit=home,
                     quantity="96", preferred_at=(clock.now() + timedelta(days=2)).isoformat())
    assert own["status"] == "awaiting_prepayment" and own["price"] == money("576.00")
    refused = await call(client, "POST", f"/api/v1/tickets/{own['ticket']}/transitions", csc, 409, to="accepted")
    assert refused["error"]["code"] == "prepayment_due"
    await call(client, "POST", "/api/v1/payments/offline", cashier, 201, payable_kind="service_prepay",
               payable_id=own["id"], method="cash", reference="SY-0001")
    await step(client, csc, own["ticket"], "accepted")
    await step(client, csc, own["ticket"], "resolved", note="全屋保洁完成")
    await step(client, member, own["ticket"], "confirmed")
    settled = await call(client, "POST", f"/api/v1/service-orders/{own['id']}/settlement", cashier)
    assert settled["status"] == "settled" and settled["refund"] == money("24.00")
    await step(client, csc, own["ticket"], "visited", satisfaction=5, reason="satisfied")
    await step(client, csc, own["ticket"], "closed")

    # a deposit order: the engineer quotes within the approved range, the balance is collected
    repair = await call(client, "POST", "/api/v1/service-orders", member, 201, item=items["JY1-APPLIANCE"],
                        unit=home, note="洗衣机不脱水")
    await call(client, "POST", "/api/v1/payments/offline", cashier, 201, payable_kind="service_prepay",
               payable_id=repair["id"], method="wechat_transfer", reference="WX-7788")
    await step(client, engineer, repair["ticket"], "accepted")
    await call(client, "POST", f"/api/v1/tickets/{repair['ticket']}/work", engineer, 201, note="更换排水泵",
               minutes=90, materials=[{"name": "排水泵", "quantity": "1", "supplied_by": "company"}])
    await step(client, engineer, repair["ticket"], "resolved")
    await step(client, member, repair["ticket"], "confirmed")
    due = await call(client, "POST", f"/api/v1/service-orders/{repair['id']}/settlement", cashier,
                     final_amount=money("350.00"))
    assert due["status"] == "balance_due" and due["balance"] == money("250.00")
    await call(client, "POST", "/api/v1/payments/offline", cashier, 201, payable_kind="service_balance",
               payable_id=repair["id"], method="cash", reference="SY-0002")
    costs = await call(client, "PUT", f"/api/v1/service-orders/{repair['id']}/costs", engineer,
                       labour_rate=money("60.00"), materials_cost=money("120.00"))
    assert costs["status"] == "settled"

    # a complaint after the phoned air-conditioner cleaning (§4.5.2)
    await step(client, engineer, phoned["ticket"], "accepted")
    await step(client, engineer, phoned["ticket"], "resolved")
    await step(client, engineer, phoned["ticket"], "confirmed", signed_by="陈先生")
    await call(client, "POST", f"/api/v1/service-orders/{phoned['id']}/complaints", reception, 201,
               title="清洗后空调滴水", description="陈先生来电投诉")
    today = clock.local(clock.now(), "Asia/Shanghai").date()  # type: ignore[union-attr]
    period = f"since={(today - timedelta(days=1)).isoformat()}&until={(today + timedelta(days=1)).isoformat()}"
    quality = await call(client, "GET", f"/api/v1/catalogue/quality?{period}&by=department", site)
    eng = next(r for r in quality if r["key"] == ids["JY1-ENG"])
    assert eng["orders"] == 2 and eng["complaints"] == 1

    # the long-term agreement: its visits become orders a week ahead, once, at the agreed price
    await catalogue_jobs.catalogue_tenant({}, tenant_id=str(tenant.id))
    await catalogue_jobs.catalogue_tenant({}, tenant_id=str(tenant.id))
    agreements = await call(client, "GET", "/api/v1/service-agreements", reception)
    agreement = await call(client, "GET", f"/api/v1/service-agreements/{agreements[0]['id']}", reception)
    assert agreement["number"] == "XY2026-0001" and 1 <= len(agreement["visits"]) <= 2
    assert {v["price"]["amount"] for v in agreement["visits"]} == {"600.00"}
    visit = agreement["visits"][0]
    order = await call(client, "GET", f"/api/v1/service-orders/{visit['id']}", csc)
    await step(client, csc, order["ticket"], "accepted")
    await step(client, csc, order["ticket"], "resolved")
    await step(client, csc, order["ticket"], "confirmed", signed_by="陈先生")
    await call(client, "POST", f"/api/v1/service-orders/{visit['id']}/settlement", cashier)
    await call(client, "POST", "/api/v1/payments/offline", cashier, 201, payable_kind="service_balance",
               payable_id=visit["id"], method="bank_transfer", reference="YH-2026-12")

    # parcels cost more than they earn: next month the loss review asks the site manager, who stops the
    # service with the general manager's approval (§4.3.2–4.3.3)
    parcel = await call(client, "POST", "/api/v1/service-orders", member, 201, item=items["JY1-PARCEL"], unit=home)
    await step(client, csc, parcel["ticket"], "accepted")
    await step(client, csc, parcel["ticket"], "resolved")
    await step(client, member, parcel["ticket"], "confirmed")
    await call(client, "POST", f"/api/v1/service-orders/{parcel['id']}/settlement", cashier)
    await call(client, "POST", "/api/v1/payments/offline", cashier, 201, payable_kind="service_balance",
               payable_id=parcel["id"], method="cash", reference="SY-0003")
    await call(client, "PUT", f"/api/v1/service-orders/{parcel['id']}/costs", csc, labour_minutes=30,
               labour_rate=money("40.00"))
    clock.travel(timedelta(days=31))
    for person in scenario.demo_users:  # a month on: sign in again
        scenario.headers[person["email"]] = await sign_in(client, SLUG, person["email"],
                                                          scenario.data["demo"]["password"])
    site, member = who(scenario, "site"), who(scenario, "member")
    await catalogue_jobs.catalogue_tenant({}, tenant_id=str(tenant.id))
    inbox = await call(client, "GET", "/api/v1/notifications", site)
    link = next(n["link"] for n in inbox["items"] if n["link"].startswith("/catalogue/reviews/"))
    review = await call(client, "GET", f"/api/v1/catalogue{link.removeprefix('/catalogue')}", site)
    assert review["margin"] == money("-17.00") and review["status"] == "open"
    decided = await call(client, "POST", f"/api/v1/catalogue{link.removeprefix('/catalogue')}/decision", site,
                         decision="stop", note="代收快递量少, 人工成本高于收费")
    assert decided["status"] == "stopping"
    assert await approve_all(client, scenario) == 1
    stopped = await call(client, "GET", f"/api/v1/catalogue/items/{items['JY1-PARCEL']}", site)
    assert stopped["status"] == "stopped"
    assert "代收代送快递" not in {e["name"] for e in await call(client, "GET", "/api/v1/catalogue", member)}
