"""Service orders from booking to settlement: prepayment before the work, sign-off before the cashier, the
surplus refunded and a balance collected, no close without a settlement, and who may see and do what."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from careclub.core import clock
from tests.integration.catalogue.helpers import book, make_world, money, move, ok, pay_offline, work_done


def later(days: int = 2, hour: int = 2) -> str:
    return (clock.now().replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)).isoformat()


async def test_the_catalogue_shows_each_resident_his_projects_offer_as_the_contract_says(client: Any) -> None:
    w = await make_world(client)
    mine = await ok(await client.get("/api/v1/catalogue", headers=w.h("res")))
    assert sorted(e["name"] for e in mine) == ["Appliance repair", "Car wash", "Deep cleaning", "Moving help"]
    clean = next(e for e in mine if e["name"] == "Deep cleaning")
    assert clean["fee"] == {"amount": "5.00", "currency": "CNY", "per": "m2"}
    assert clean["deposit"] == money("500.00") and clean["version"] == 1 and clean["category"] == "cleaning"
    fix = next(e for e in mine if e["name"] == "Appliance repair")
    assert fix["fee"]["per"] == "quote" and fix["fee"]["amount"] == "50.00" and fix["fee_max"] == money("300.00")
    wash = next(e for e in mine if e["name"] == "Car wash")
    assert wash["deposit"] is None
    far = await ok(await client.get("/api/v1/catalogue", headers=w.h("far")))
    assert sorted(e["name"] for e in far) == ["Car wash", "Moving help"]  # P1's own services are not his
    r = await client.get("/api/v1/catalogue?project=P1", headers=w.h("far"))
    assert r.status_code == 404
    staff = await ok(await client.get("/api/v1/catalogue?project=P2", headers=w.h("clerk")))
    assert sorted(e["name"] for e in staff) == ["Car wash", "Moving help"]


async def test_a_prepaid_order_waits_for_its_money_then_settles_with_the_surplus_refunded(client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="80", note="before Spring Festival")
    assert order["status"] == "awaiting_prepayment" and order["price"] == money("400.00")
    assert order["prepay"] == money("500.00") and order["ticket_status"] == "registered"
    ticket = order["ticket"]
    refused = await move(client, w, "clerk", ticket, "accepted", 409)
    assert refused["error"]["code"] == "prepayment_due"
    # only the cashier takes money (§4.4.6: no private settlement)
    r = await client.post("/api/v1/payments/offline", headers=w.h("clerk"), json={
        "payable_kind": "service_prepay", "payable_id": order["id"], "method": "cash", "reference": "X"})
    assert r.status_code == 403
    paid = await pay_offline(client, w, "service_prepay", order["id"], "R-100")
    assert paid["amount"] == money("500.00") and paid["status"] == "paid"
    again = await pay_offline(client, w, "service_prepay", order["id"], "R-101", status=409)
    assert again["error"]["code"] == "already_paid"
    early = await ok(await client.post(f"/api/v1/service-orders/{order['id']}/settlement", headers=w.h("cashier"),
                                       json={}), 409)
    assert early["error"]["code"] == "not_signed_off"
    await move(client, w, "clerk", ticket, "accepted")
    await move(client, w, "clerk", ticket, "resolved")
    await move(client, w, "res", ticket, "confirmed")
    await move(client, w, "clerk", ticket, "visited", satisfaction=5, reason="satisfied")
    closing = await move(client, w, "clerk", ticket, "closed", 409)
    assert closing["error"]["code"] == "not_settled"
    r = await client.post(f"/api/v1/service-orders/{order['id']}/settlement", headers=w.h("clerk"), json={})
    assert r.status_code == 403
    settled = await ok(await client.post(f"/api/v1/service-orders/{order['id']}/settlement",
                                         headers=w.h("cashier"), json={"quantity": "80"}))
    assert settled["status"] == "settled" and settled["final_amount"] == money("400.00")
    assert settled["refund"] == money("100.00") and settled["balance"] == money("0.00")
    prepay = next(p for p in settled["payments"] if p["purpose"] == "service_prepay")
    assert prepay["status"] == "partially_refunded" and prepay["refunded"] == money("100.00")
    await move(client, w, "clerk", ticket, "closed")
    twice = await client.post(f"/api/v1/service-orders/{order['id']}/settlement", headers=w.h("cashier"), json={})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "order_not_open"


async def test_a_deposit_order_with_a_quote_collects_the_balance_before_it_settles(client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "clerk", "FIX", unit=w.units["A-101"], contact_name="Lin",
                       contact_phone="13900000101", note="washing machine leaks")
    assert order["price"] is None and order["prepay_kind"] == "deposit" and order["source"] == "phone"
    await pay_offline(client, w, "service_prepay", order["id"])
    await work_done(client, w, order["ticket"], handler="eng")
    url = f"/api/v1/service-orders/{order['id']}/settlement"
    missing = await ok(await client.post(url, headers=w.h("cashier"), json={}), 422)
    assert missing["error"]["field"] == "final_amount"
    outside = await ok(await client.post(url, headers=w.h("cashier"), json={"final_amount": money("350.00")}), 422)
    assert outside["error"]["code"] == "outside_fee_range"
    due = await ok(await client.post(url, headers=w.h("cashier"), json={"final_amount": money("250.00")}))
    assert due["status"] == "balance_due" and due["balance"] == money("150.00") and due["refund"] == money("0.00")
    await move(client, w, "eng", order["ticket"], "visited", satisfaction=4, reason="satisfied")
    r = await client.post(f"/api/v1/tickets/{order['ticket']}/transitions", headers=w.h("eng"), json={"to": "closed"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_settled"
    await pay_offline(client, w, "service_balance", order["id"], "R-200")
    done = await ok(await client.get(f"/api/v1/service-orders/{order['id']}", headers=w.h("cashier")))
    assert done["status"] == "settled" and [p["purpose"] for p in done["payments"]] == [
        "service_prepay", "service_balance"]
    await move(client, w, "eng", order["ticket"], "closed")


async def test_an_order_without_prepayment_settles_its_whole_charge_as_a_balance(client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "MOVE", unit=w.units["A-101"], quantity="2.5")
    assert order["status"] == "open" and order["price"] == money("200.00")
    # the subcontractor holds the ticket from the start
    ticket = await ok(await client.get(f"/api/v1/tickets/{order['ticket']}", headers=w.h("site")))
    assert ticket["subcontractor"] == "Swift Movers"
    await move(client, w, "site", order["ticket"], "accepted")
    await move(client, w, "site", order["ticket"], "resolved")
    await move(client, w, "res", order["ticket"], "confirmed")
    due = await ok(await client.post(f"/api/v1/service-orders/{order['id']}/settlement", headers=w.h("cashier"),
                                     json={"quantity": "3"}))
    assert due["final_amount"] == money("240.00") and due["balance"] == money("240.00")
    await pay_offline(client, w, "service_balance", order["id"])
    assert (await ok(await client.get(f"/api/v1/service-orders/{order['id']}", headers=w.h("res"))))[
        "status"] == "settled"


async def test_residents_see_only_their_own_units_orders_and_staff_only_their_projects(client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "WASH", unit=w.units["A-101"], preferred_at=later())
    for who in ("neighbour", "far", "site2"):
        r = await client.get(f"/api/v1/service-orders/{order['id']}", headers=w.h(who))
        assert r.status_code == 404, who
    for who in ("res", "clerk", "site", "cashier"):
        await ok(await client.get(f"/api/v1/service-orders/{order['id']}", headers=w.h(who)))
    mine = await ok(await client.get("/api/v1/service-orders", headers=w.h("res")))
    assert [o["id"] for o in mine["items"]] == [order["id"]]
    assert (await ok(await client.get("/api/v1/service-orders", headers=w.h("neighbour"))))["items"] == []
    assert (await ok(await client.get("/api/v1/service-orders", headers=w.h("site2"))))["items"] == []
    listed = await ok(await client.get("/api/v1/service-orders", headers=w.h("clerk")))
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    # a resident books only for his own unit
    r = await client.post("/api/v1/service-orders", headers=w.h("res"), json={
        "item": w.items["WASH"], "unit": w.units["A-102"], "preferred_at": later()})
    assert r.status_code == 404 and r.json()["error"]["field"] == "unit"


async def test_racing_bookings_of_the_last_places_of_a_day_book_exactly_the_capacity(client: Any) -> None:
    w = await make_world(client)
    day = later(days=3)
    await book(client, w, "res", "WASH", unit=w.units["A-101"], preferred_at=day)
    answers = await asyncio.gather(*(client.post("/api/v1/service-orders", headers=w.h("clerk"), json={
        "item": w.items["WASH"], "contact_name": f"Caller {i}", "preferred_at": day}) for i in range(8)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 201] + [409] * 6, codes
    assert all(r.json()["error"]["code"] == "fully_booked" for r in answers if r.status_code == 409)
    # another day still has its places; a cancelled booking gives its place back
    await book(client, w, "res", "WASH", unit=w.units["A-101"], preferred_at=later(days=4))
    won = next(r.json() for r in answers if r.status_code == 201)
    await move(client, w, "site", won["ticket"], "cancelled", note="changed his mind")
    cancelled = await ok(await client.get(f"/api/v1/service-orders/{won['id']}", headers=w.h("clerk")))
    assert cancelled["status"] == "cancelled"
    await book(client, w, "clerk", "WASH", contact_name="Late caller", preferred_at=day)


async def test_an_order_with_money_paid_is_settled_not_cancelled(client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="10")
    await pay_offline(client, w, "service_prepay", order["id"])
    refused = await move(client, w, "site", order["ticket"], "cancelled", 409, note="resident away")
    assert refused["error"]["code"] == "money_held"


async def test_bookings_are_refused_with_every_problem_named(client: Any) -> None:
    w = await make_world(client)
    r = await client.post("/api/v1/service-orders", headers=w.h("clerk"), json={
        "item": w.items["WASH"], "quantity": "0"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "quantity"
    r = await client.post("/api/v1/service-orders", headers=w.h("clerk"), json={"item": w.items["WASH"]})
    fields = {e["field"] for e in r.json()["error"]["fields"]}
    assert r.status_code == 422 and fields == {"contact_name", "preferred_at"}
    past = (clock.now() - timedelta(hours=1)).isoformat()
    r = await client.post("/api/v1/service-orders", headers=w.h("res"), json={
        "item": w.items["WASH"], "unit": w.units["A-101"], "preferred_at": past})
    assert r.status_code == 422 and r.json()["error"]["field"] == "preferred_at"
    r = await client.post("/api/v1/service-orders", headers=w.h("far"), json={
        "item": w.items["CLEAN"], "unit": w.units["B-201"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "item"
