"""An order's costs recorded from its page in yuan (the work records' minutes offered), every problem shown at
once; a complaint about the service registered by the desk and by the resident from their order pages, tied to
the order; neither form for those who may not use it."""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar

from careclub.core.db import tenant_scope
from careclub.tickets.tables import Ticket
from tests.integration.catalogue.helpers import book, make_world, ok, work_done
from tests.integration.catalogue.test_pages_staff import _order, as_person, field_errors, post_form


async def test_costs_are_recorded_from_the_order_page_in_yuan(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    await ok(await client.post(f"/api/v1/tickets/{order['ticket']}/work", headers=w.h("site"),
                               json={"note": "packed and carried", "minutes": 95}), 201)
    page = f"/catalogue/orders/{order['id']}"
    async with as_person(app, w, "site") as c:
        shown = await c.get(page)
        assert 'id="costs"' in shown.text and 'value="95"' in shown.text  # the work records' minutes
        bad = await post_form(c, page, f"{page}/costs", labour_minutes="lots", labour_rate="40",
                              materials_cost="five", subcontractor_fee="120")
        assert bad.status_code == 422
        assert set(field_errors(bad.text)) >= {"costs-labour_minutes", "costs-materials_cost"}
        good = await post_form(c, page, f"{page}/costs", labour_minutes="90", labour_rate="40",
                               materials_cost="5.50", subcontractor_fee="1,200")
        assert good.status_code == 303
    row = await _order(w, order["id"])
    assert (row["labour_minutes"], row["labour_rate"], row["materials_cost"], row["subcontractor_fee"]) == (
        90, 4000, 550, 120000)
    assert row["cost_total"] == 6000 + 550 + 120000
    async with as_person(app, w, "neighbour") as c:
        r = await c.get(page)
        assert r.status_code in (302, 303, 404)


async def test_a_complaint_about_a_service_from_the_desk_and_from_the_resident(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    await work_done(client, w, order["ticket"], handler="site")
    page = f"/catalogue/orders/{order['id']}"
    async with as_person(app, w, "clerk") as c:
        r = await post_form(c, page, f"{page}/complaints", title="", description="")
        assert r.status_code == 422 and "complaint-title" in field_errors(r.text)
        r = await post_form(c, page, f"{page}/complaints", title="Movers were late", description="two hours")
        assert r.status_code == 303 and r.headers["location"].startswith("/tickets/")
    mine = f"/my/services/orders/{order['id']}"
    async with as_person(app, w, "res") as c:
        shown = await c.get(mine)
        assert 'id="complaint"' in shown.text
        r = await post_form(c, mine, f"{mine}/complaint", title="", description="")
        assert r.status_code == 303 and "complaint_error=1" in r.headers["location"]
        r = await post_form(c, mine, f"{mine}/complaint", title="A scratched wall", description="")
        assert r.status_code == 303 and r.headers["location"].startswith("/my/tickets/")
    async with tenant_scope(w.tenant_id):
        complaints = await Ticket.select(Ticket.title, Ticket.fields).where(Ticket.type_code == "complaint")
    assert sorted(c["title"] for c in complaints) == ["A scratched wall", "Movers were late"]
    tied = [json.loads(c["fields"]) if isinstance(c["fields"], str) else c["fields"] for c in complaints]
    assert [f["order"] for f in tied] == [order["id"], order["id"]]
    async with as_person(app, w, "neighbour") as c:
        r = await c.get(mine)
        assert r.status_code == 404
