"""The customer archive's pages as staff use them in a browser, in Chinese and English: the units list with its
search, filters and Excel download, a unit's whole archive, the people search and a person's page, the forms
(every problem beside its field, what was typed kept; money in yuan, areas in m²), the import with its
row-by-row report, and a clerk who reaches only his own project."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
from litestar import Litestar
from openpyxl import load_workbook

from careclub.core.db import tenant_scope
from careclub.tickets import service
from careclub.tickets.tables import ArchiveRecord, PropertyUnit, Ticket, TicketType
from tests.conftest import PASSWORD
from tests.integration.clubs.helpers import ok, staff_with_password
from tests.integration.platform.pages import browser, csrf_token, login, submit
from tests.integration.tickets.test_archive_api import API, archive_world, money
from tests.integration.tickets.test_archive_import import GOOD, HEADER, xlsx

ERROR_UNDER = re.compile(r'<small class="error" id="e-([a-z_]+)">([^<]*)</small>')


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR_UNDER.finditer(body)}


def value_of(body: str, name: str) -> str | None:
    m = re.search(rf'<input id="f-{name}" name="{name}"[^>]*value="([^"]*)"', body)
    return m.group(1) if m else None


async def _world(client: httpx.AsyncClient) -> dict[str, Any]:
    """archive_world with an owner and a tenant on A's unit, a deposit, a violation, and two tickets."""
    w = await archive_world(client)
    h, unit_id = w["h"], w["unit_a"]["id"]
    owner = await ok(await client.post(f"{API}/people", headers=h, json={
        "name": "陈先生", "phone": "13700001102", "emergency_name": "陈太太", "emergency_phone": "13700002102"}), 201)
    await ok(await client.post(f"{API}/occupancies", headers=h, json={
        "unit_id": unit_id, "person_id": owner["id"], "role": "owner", "starts_on": "2023-10-01"}), 201)
    await ok(await client.post(f"{API}/records", headers=h, json={
        "unit_id": unit_id, "kind": "deposit", "occurred_on": "2023-10-02", "title": "装修押金",
        "amount": money("2000.00")}), 201)
    await ok(await client.post(f"{API}/records", headers=h, json={
        "unit_id": unit_id, "kind": "violation", "occurred_on": "2024-05-02", "title": "Balcony enclosed"}), 201)
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        await service.ensure_builtin_types()
        for code, number in (("repair", "WX-2026-00001"), ("complaint", "TS-2026-00001")):
            kind = await TicketType.select().where(TicketType.code == code).first()
            await Ticket(type=kind["id"], type_code=code, number=number, title=f"About {code}", status="registered",
                         project_id=w["a"]["id"], unit=uuid.UUID(unit_id), person=uuid.UUID(owner["id"])).save()
    w["owner"] = owner
    return w


async def test_every_archive_page_renders_in_chinese_and_english(app: Litestar, client: httpx.AsyncClient) -> None:
    w = await _world(client)
    t, unit_id = w["t"], w["unit_a"]["id"]
    pages = ["/archive", f"/archive?project={w['a']['id']}&q=12", f"/archive?building={w['building_b']['id']}",
             f"/archive/units/{unit_id}", "/archive/people", "/archive/people?q=137",
             f"/archive/people/{w['owner']['id']}", "/archive/people/new", f"/archive/people/new?unit={unit_id}",
             "/archive/buildings", "/archive/units/new", "/archive/import"]
    for lang, html_lang, words in (("en", 'lang="en"', ["Customer archive", "Emergency contacts", "Deposit",
                                                          "Repair", "Complaint", "Payments and deposits"]),
                                   ("zh_CN", 'lang="zh-CN"', ["陈太太", "装修押金"])):
        async with browser(app, lang=lang) as c:
            await login(c, t["slug"], t["email"], PASSWORD)
            for url in pages:
                r = await c.get(url)
                assert r.status_code == 200, (lang, url, r.text[:300])
                assert html_lang in r.text, (lang, url)
            archive = (await c.get(f"/archive/units/{unit_id}")).text
            for word in words:
                assert word in archive, (lang, word)
            assert "2,000.00" in archive and "89.50 m²" in archive
            assert 'data-testid="tickets-repair"' in archive and 'data-testid="tickets-complaint"' in archive
            assert "WX-2026-00001" in archive and "TS-2026-00001" in archive
            nav = (await c.get("/archive")).text
            assert 'id="nav-archive"' in nav and f'href="/archive/units/{unit_id}"' in nav


async def test_the_units_and_people_lists_download_as_workbooks(app: Litestar, client: httpx.AsyncClient) -> None:
    w = await _world(client)
    async with browser(app, lang="en") as c:
        await login(c, w["t"]["slug"], w["t"]["email"], PASSWORD)
        r = await c.get("/archive", params={"project": w["a"]["id"], "format": "xlsx"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:4] == ("Project", "Building", "Building name", "Unit")
        assert [(row[1], row[3], row[4], float(row[5])) for row in rows[1:]] == [("A", "1201", 12, 89.5)]
        r = await c.get("/archive/people", params={"q": "陈", "format": "xlsx"})
        sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
        assert [row[:3] for row in sheet.iter_rows(values_only=True)][1:] == [("陈先生", "Individual", "13700001102")]


async def test_the_forms_show_every_problem_beside_its_field_and_save_in_yuan_and_m2(
        app: Litestar, client: httpx.AsyncClient) -> None:
    w = await _world(client)
    unit_id = w["unit_a"]["id"]
    async with browser(app, lang="en") as c:
        await login(c, w["t"]["slug"], w["t"]["email"], PASSWORD)
        # a unit with three wrong fields: all three shown, what was typed kept, nothing saved
        r = await submit(c, "/archive/units/new", building=w["building_a"]["id"], code="12 02", floor="twelve",
                         area="big", use="residential", status="vacant")
        assert r.status_code == 422
        assert set(field_errors(r.text)) == {"code", "floor", "area"}, field_errors(r.text)
        assert value_of(r.text, "area") == "big" and value_of(r.text, "code") == "12 02"
        r = await submit(c, "/archive/units/new", building=w["building_a"]["id"], code="1202", floor="12",
                         area="1,089.5", use="office", status="occupied")
        assert r.status_code == 303
        new_unit = r.headers["location"].split("/")[-1].split("?")[0]
        async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
            row = await PropertyUnit.select().where(PropertyUnit.id == new_unit).first()
            assert (row["area_cm2"], row["use"], row["floor"]) == (10_895_000, "office", 12)
        # a building: each problem beside its field
        r = await submit(c, "/archive/buildings", project="", code="no spaces", name="")
        assert r.status_code in (404, 422)
        assert set(field_errors(r.text)) == {"project", "code", "name"}, field_errors(r.text)
        # a record: money typed in yuan
        r = await submit(c, f"/archive/units/{unit_id}", f"/archive/units/{unit_id}/records", kind="payment",
                         occurred_on="2026-03-01", title="", amount="1,31", record_person="", note="")
        assert r.status_code == 422
        assert set(field_errors(r.text)) == {"title", "amount"}, field_errors(r.text)
        r = await submit(c, f"/archive/units/{unit_id}", f"/archive/units/{unit_id}/records", kind="payment",
                         occurred_on="2026-03-01", title="Property fees 2026", amount="1,314.50",
                         record_person=w["owner"]["id"], note="paid at the desk")
        assert r.status_code == 303
        async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
            paid = await ArchiveRecord.select().where(ArchiveRecord.title == "Property fees 2026").first()
            assert paid["amount"] == 131_450 and paid["kind"] == "payment"
        # a new person tied to the unit from its page, then someone tied by phone, and that tie ended
        r = await submit(c, f"/archive/people/new?unit={unit_id}", "/archive/people/new", unit=unit_id,
                         name="王小姐", kind="individual", phone="139 0000 0001", email="", emergency_name="",
                         emergency_phone="", note="", role="tenant", starts_on="2024-03-01")
        assert r.status_code == 303 and r.headers["location"].startswith(f"/archive/units/{unit_id}")
        r = await submit(c, f"/archive/units/{unit_id}", f"/archive/units/{unit_id}/people",
                         link_phone="000", link_role="owner", link_starts_on="")
        assert r.status_code == 422 and "link_phone" in field_errors(r.text)
        r = await submit(c, f"/archive/units/{unit_id}", f"/archive/units/{unit_id}/people",
                         link_phone="13900000001", link_role="occupant", link_starts_on="2024-03-01")
        assert r.status_code == 303
        archive = await ok(await client.get(f"{API}/units/{unit_id}", headers=w["h"]))
        occupant = next(p for p in archive["people"] if p["role"] == "occupant")
        r = await submit(c, f"/archive/units/{unit_id}", f"/archive/occupancies/{occupant['occupancy_id']}/end",
                         ends_on="2025-01-31")
        assert r.status_code == 303
        page = (await c.get(f"/archive/units/{unit_id}")).text
        assert "王小姐" in page and "Property fees 2026" in page and "1,314.50" in page
        # a person's details changed, with a wrong email shown beside its field
        person_url = f"/archive/people/{w['owner']['id']}"
        r = await submit(c, person_url, name="陈先生", kind="individual", phone="13700001102", email="not-an-email",
                         emergency_name="陈太太", emergency_phone="13700002102", note="")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"email"}


async def test_the_import_page_reports_each_row_and_imports_the_valid_rows_when_asked(
        app: Litestar, client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    bad = ["1", "", "1104", "eleven", "", "", "", "", "", "", "", ""]
    data = xlsx([HEADER, GOOD[0], bad])
    async with browser(app, lang="zh_CN") as c:
        await login(c, w["t"]["slug"], w["t"]["email"], PASSWORD)
        form = await c.get("/archive/import")
        token = csrf_token(form)
        r = await c.post("/archive/import", files={"file": ("units.xlsx", data)},
                         data={"_csrf_token": token, "project": w["a"]["id"]})
        assert r.status_code == 422
        assert 'data-testid="problem-row-3"' in r.text and 'data-testid="problem-row-2"' not in r.text
        assert (await ok(await client.get(f"{API}/units", headers=w["h"], params={"q": "1102"})))["total"] == 0
        r = await c.post("/archive/import", files={"file": ("units.xlsx", data)},
                         data={"_csrf_token": token, "project": w["a"]["id"], "valid_only": "1"})
        assert r.status_code == 200 and 'data-testid="import-result"' in r.text
        assert 'data-testid="problem-row-3"' in r.text
        assert (await ok(await client.get(f"{API}/units", headers=w["h"], params={"q": "1102"})))["total"] == 1


async def test_a_clerk_opens_only_his_projects_units(app: Litestar, client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    clerk = await staff_with_password(client, w["t"], roles=["cs_clerk"], unit=w["a"]["id"])
    reader = await staff_with_password(client, w["t"], roles=["dispatcher"])
    async with browser(app, lang="en") as c:
        await login(c, w["t"]["slug"], clerk["email"], PASSWORD)
        listed = (await c.get("/archive")).text
        assert w["unit_a"]["id"] in listed and w["unit_b"]["id"] not in listed
        assert (await c.get(f"/archive/units/{w['unit_b']['id']}")).status_code == 404
        assert (await c.get(f"/archive/units/{w['unit_a']['id']}")).status_code == 200
        r = await submit(c, f"/archive/units/{w['unit_a']['id']}", f"/archive/units/{w['unit_b']['id']}/records",
                         kind="note", occurred_on="2026-01-01", title="Not mine", amount="", record_person="", note="")
        assert r.status_code == 404
    async with browser(app, lang="en") as c:  # a dispatcher reads the archive and changes none of it
        await login(c, w["t"]["slug"], reader["email"], PASSWORD)
        page = await c.get(f"/archive/units/{w['unit_b']['id']}")
        assert page.status_code == 200 and 'action="/archive/units/' not in page.text
        assert (await c.get("/archive/units/new")).status_code == 403


PAYLOAD = "<img src=x onerror=alert(1)>\"'&"


async def test_what_people_typed_is_shown_escaped_on_every_archive_page(app: Litestar,
                                                                       client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    h, unit_id = w["h"], w["unit_a"]["id"]
    await ok(await client.patch(f"{API}/buildings/{w['building_a']['id']}", headers=h, json={"name": f"b{PAYLOAD}"}))
    someone = await ok(await client.post(f"{API}/people", headers=h, json={
        "name": f"n{PAYLOAD}", "phone": "13700009999", "emergency_name": f"e{PAYLOAD}", "note": f"o{PAYLOAD}"}), 201)
    await ok(await client.post(f"{API}/occupancies", headers=h, json={"unit_id": unit_id,
                                                                      "person_id": someone["id"]}), 201)
    await ok(await client.post(f"{API}/records", headers=h, json={
        "unit_id": unit_id, "kind": "note", "occurred_on": "2026-01-01", "title": f"t{PAYLOAD}",
        "note": f"r{PAYLOAD}", "person_id": someone["id"]}), 201)
    async with browser(app, lang="zh_CN") as c:
        await login(c, w["t"]["slug"], w["t"]["email"], PASSWORD)
        for url in ("/archive", f"/archive/units/{unit_id}", "/archive/people", f"/archive/people/{someone['id']}",
                    "/archive/buildings", "/archive/units/new", f"/archive/people/new?unit={unit_id}",
                    f"/archive?q={PAYLOAD}", f"/archive/people?q={PAYLOAD}"):
            r = await c.get(url)
            assert r.status_code == 200, url
            assert "<img src=x" not in r.text, url
        page = (await c.get(f"/archive/units/{unit_id}")).text
        for tag in ("b", "n", "e", "t", "r"):
            assert f"{tag}&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;" in page, tag
        r = await submit(c, "/archive/buildings", project=w["a"]["id"], code="Q", name=f"x{PAYLOAD}")
        assert r.status_code == 303
        r = await submit(c, "/archive/units/new", building=w["building_a"]["id"], code=PAYLOAD, floor=PAYLOAD,
                         area=PAYLOAD, use=PAYLOAD, status=PAYLOAD)
        assert r.status_code == 422 and "<img src=x" not in r.text
