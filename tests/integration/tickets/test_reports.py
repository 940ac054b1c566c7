"""The ticket reports against a small world whose figures are known: tickets registered, dispatched,
resolved (one past its target), rated and closed through the API; the page's numbers, its scope (a
dispatcher sees his project's tickets, the admin the company's), the project filter and the Excel
download."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from litestar import Litestar
from openpyxl import load_workbook

from careclub.core import clock
from tests.conftest import PASSWORD
from tests.integration.clubs.helpers import staff_with_password
from tests.integration.platform.pages import browser, login
from tests.integration.tickets.helpers import move, raise_ticket, tower


def cells(body: str, table: str, key: str, value: str) -> dict[str, str]:
    """The `data-col` cells of the row of table `table` whose `data-<key>` is `value`."""
    block = re.search(rf'<table[^>]*id="table-{table}".*?</table>', body, re.S)
    assert block, f"no table {table}"
    row = re.search(rf'<tr data-{key}="{re.escape(value)}">(.*?)</tr>', block.group(0), re.S)
    assert row, f"no row {value} in {table}"
    return dict(re.findall(r'data-col="(\w+)">([^<]*)<', row.group(1)))


def rows(body: str, table: str, key: str) -> list[str]:
    block = re.search(rf'<table[^>]*id="table-{table}".*?</table>', body, re.S)
    return re.findall(rf'<tr data-{key}="([^"]+)">', block.group(0)) if block else []


async def _world(client: Any) -> dict[str, Any]:
    w = await tower(client)
    h = w["t"]["headers"]
    d, clerk, eng, guard, resident = w["dispatcher"], w["clerk"], w["engineer"], w["guard"], w["resident"]
    # A: a repair dispatched to engineering, signed off and rated 5 by the resident
    a = (await raise_ticket(client, resident, unit=w["unit"]))["id"]
    await move(client, d, a, "dispatched", department=w["eng"]["id"])
    await move(client, eng, a, "accepted")
    await move(client, eng, a, "resolved")
    await move(client, resident, a, "confirmed")
    await move(client, resident, a, "visited", satisfaction=5, reason="satisfied")
    await move(client, d, a, "closed")
    # B: a complaint the desk handles itself: rated 1 (rework), then 4
    b = (await raise_ticket(client, clerk, type="complaint", unit=w["unit"], title="Noise"))["id"]
    await move(client, clerk, b, "accepted")
    await move(client, clerk, b, "resolved")
    back = await move(client, clerk, b, "visited", satisfaction=1, reason="not_fixed")
    assert back["status"] == "in_progress" and back["reopen_count"] == 1
    await move(client, clerk, b, "resolved")
    await move(client, clerk, b, "visited", satisfaction=4, reason="satisfied")
    await move(client, clerk, b, "closed")
    # contact slips: a one-minute target on calendar time
    r = await client.put("/api/v1/ticket-types/contact_slip", headers=h, json={
        "sla": {"normal": {"respond": 1, "resolve": 1, "clock": "calendar"}}})
    assert r.status_code == 200, r.text
    # D: the desk answers a slip in time, rated 5
    s_d = (await raise_ticket(client, clerk, type="contact_slip", unit=w["unit"], title="Lift noise"))["id"]
    await move(client, clerk, s_d, "accepted")
    await move(client, clerk, s_d, "resolved")
    await move(client, clerk, s_d, "visited", satisfaction=5, reason="satisfied")
    await move(client, clerk, s_d, "closed")
    # C: a slip dispatched to security, which lets the target pass; rated 3
    s_c = (await raise_ticket(client, clerk, type="contact_slip", unit=w["unit"], title="Gate"))["id"]
    await move(client, d, s_c, "dispatched", department=w["sec"]["id"])
    await move(client, guard, s_c, "accepted")
    try:
        clock.travel(timedelta(minutes=3))
        late = await move(client, guard, s_c, "resolved")
        assert late["breached"]
        await move(client, guard, s_c, "visited", satisfaction=3, reason="slow")
        await move(client, guard, s_c, "closed")
    finally:
        clock.reset()
    # E: a repair still open; F: a complaint cancelled (closed, never resolved: counted nowhere)
    await raise_ticket(client, clerk, unit=w["unit2"], title="Door")
    f = (await raise_ticket(client, clerk, type="complaint", unit=w["unit"], title="Duplicate"))["id"]
    await move(client, d, f, "cancelled", note="registered twice")
    # G: a repair the admin registers at the company's root, outside the tower: not the dispatcher's
    await raise_ticket(client, w["t"], type="complaint", title="Head office light")
    return w


async def test_the_reports_count_what_happened_in_the_tickets_scope(app: Litestar, client: Any) -> None:
    w = await _world(client)
    t = w["t"]
    dispatcher = await staff_with_password(client, t, roles=["dispatcher"], unit=w["project"]["id"])
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], dispatcher["email"], PASSWORD)
        page = await c.get("/tickets/reports")
        assert page.status_code == 200, page.text[:500]
        body = page.text
        assert "Only the tickets of the projects and departments your rights cover." in body
        # open now: E only (G lies outside the tower)
        age = re.search(r'<tr data-type="repair">(.*?)</tr>', body, re.S)
        assert age and re.findall(r'data-bucket="(\w+)">(\d+)<', age.group(1)) == [
            ("under_1", "1"), ("d1_3", "0"), ("d3_7", "0"), ("over_7", "0")]
        assert rows(body, "age", "type") == ["repair"]
        assert re.search(r'data-testid="total-open">1<', body)
        # SLA per type, over the tickets resolved this month
        assert cells(body, "types", "type", "repair") == {"tickets": "1", "on_time": "1", "breached": "0",
                                                          "rate": "100.0 %", "reopened": "0"}
        assert cells(body, "types", "type", "complaint")["reopened"] == "1"
        assert cells(body, "types", "type", "contact_slip") == {"tickets": "2", "on_time": "1", "breached": "1",
                                                                "rate": "50.0 %", "reopened": "0"}
        # SLA per department: every department that held a resolved ticket, late only by its own legs
        assert cells(body, "departments", "department", "Unit CS") == {
            "tickets": "3", "on_time": "3", "breached": "0", "rate": "100.0 %"}
        # the resident's repair waited for dispatch with no department
        assert cells(body, "departments", "department", "No department")["tickets"] == "1"
        assert cells(body, "departments", "department", "Unit ENG")["on_time"] == "1"
        assert cells(body, "departments", "department", "Unit SEC") == {
            "tickets": "1", "on_time": "0", "breached": "1", "rate": "0.0 %"}
        # satisfaction: every rating of the tickets closed this month, by the department closing them
        assert cells(body, "satisfaction", "department", "Unit CS") == {
            "closed": "2", "ratings": "3", "average": "3.33", "s1": "1", "s2": "0", "s3": "0", "s4": "1", "s5": "1",
            "reworks": "1"}
        assert cells(body, "satisfaction", "department", "Unit ENG")["s5"] == "1"
        assert cells(body, "satisfaction", "department", "Unit SEC")["average"] == "3.00"
        # the contact-slip score: CS 1.0 × 60 + 5/5 × 40 = 100; SEC 0 × 60 + 3/5 × 40 = 24
        assert cells(body, "score", "department", "Unit CS") == {
            "slips": "1", "on_time": "1", "average": "5.00", "reworks": "0", "score": "100.0"}
        assert cells(body, "score", "department", "Unit SEC")["score"] == "24.0"
        assert rows(body, "score", "department") == ["Unit CS", "Unit SEC"]
        assert 'data-testid="score-formula"' in body and "on-time rate × 60" in body
        assert 'data-testid="chart-score"' in body and 'data-testid="chart-open-age"' in body
        # a month without tickets
        empty = (await c.get("/tickets/reports?month=2001-01")).text
        assert "No ticket was resolved in the month." in empty and "No contact slip was closed" in empty
        # one table as a workbook
        r = await c.get("/tickets/reports?format=xlsx&table=score")
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        sheet = load_workbook(io.BytesIO(r.content)).active
        values = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert values[0][0] == "Department" and values[0][-1] == "Score"
        assert values[1][0] == "Unit CS" and values[1][-1] == 100 and values[2][-1] == 24
        assert values[0][3] == "On-time rate (%)" and values[1][3] == 100 and values[2][3] == 0
        r = await c.get("/tickets/reports?format=xlsx&table=satisfaction")
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert [c.value for c in sheet[1]][:4] == ["Department", "Closed", "Ratings", "Average satisfaction"]
    # the admin's rights cover the company: G counts too, and the project filter leaves it out again
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        body = (await c.get("/tickets/reports")).text
        assert "The whole company&#39;s tickets." in body
        assert re.search(r'data-testid="total-open">2<', body)
        body = (await c.get(f"/tickets/reports?project={w['project']['id']}")).text
        assert re.search(r'data-testid="total-open">1<', body)
        # in Chinese the page answers too
    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        assert (await c.get("/tickets/reports?month=2026-02")).status_code == 200


async def test_a_month_counts_only_its_own_tickets_ratings_and_rework(app: Litestar, client: Any) -> None:
    """The month's figures reach legs and events from the month's tickets: a rating or a rework leg of a ticket
    closed in another month never counts, and a rating given in January on a ticket closed in February counts in
    February (the ticket's month, not the rating's)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    w = await tower(client)
    t, clerk = w["t"], w["clerk"]

    def go(text: str) -> None:
        clock.travel(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")) - clock.now())

    try:
        go("2026-01-14 10:00")
        # X: rated 1 (rework), then 4, closed in January
        x = (await raise_ticket(client, clerk, type="complaint", unit=w["unit"], title="Noise"))["id"]
        await move(client, clerk, x, "accepted")
        await move(client, clerk, x, "resolved")
        assert (await move(client, clerk, x, "visited", satisfaction=1, reason="not_fixed"))["reopen_count"] == 1
        await move(client, clerk, x, "resolved")
        await move(client, clerk, x, "visited", satisfaction=4, reason="satisfied")
        await move(client, clerk, x, "closed")
        # Z: resolved and rated 3 in January, closed in February
        z = (await raise_ticket(client, clerk, type="complaint", unit=w["unit"], title="Smell"))["id"]
        await move(client, clerk, z, "accepted")
        await move(client, clerk, z, "resolved")
        await move(client, clerk, z, "visited", satisfaction=3, reason="slow")
        go("2026-02-10 10:00")
        await move(client, clerk, z, "closed")
        # Y: all of it in February, rated 5
        y = (await raise_ticket(client, clerk, type="complaint", unit=w["unit"], title="Light"))["id"]
        await move(client, clerk, y, "accepted")
        await move(client, clerk, y, "resolved")
        await move(client, clerk, y, "visited", satisfaction=5, reason="satisfied")
        await move(client, clerk, y, "closed")
    finally:
        clock.reset()
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        january = (await c.get("/tickets/reports?month=2026-01")).text
        assert cells(january, "satisfaction", "department", "Unit CS") == {
            "closed": "1", "ratings": "2", "average": "2.50", "s1": "1", "s2": "0", "s3": "0", "s4": "1", "s5": "0",
            "reworks": "1"}
        assert cells(january, "departments", "department", "Unit CS")["tickets"] == "2"  # X and Z resolved
        february = (await c.get("/tickets/reports?month=2026-02")).text
        assert cells(february, "satisfaction", "department", "Unit CS") == {
            "closed": "2", "ratings": "2", "average": "4.00", "s1": "0", "s2": "0", "s3": "1", "s4": "0", "s5": "1",
            "reworks": "0"}
        assert cells(february, "departments", "department", "Unit CS")["tickets"] == "1"  # Y
        march = (await c.get("/tickets/reports?month=2026-03")).text
        assert rows(march, "satisfaction", "department") == [] and rows(march, "departments", "department") == []
