"""The customer archive through its API and service: buildings, units, people, ties and records with every
problem named at once, the idempotent helpers the tenant file calls, a clerk's projects, the archive of a unit
and of a person, keyset lists, and another company's archive answering 404 everywhere."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from careclub.core.db import tenant_scope
from careclub.core.errors import ValidationFailed
from careclub.tickets import service
from careclub.tickets.service._archive_import import parse_day
from careclub.tickets.service._archive_rules import check_choice, format_area, parse_area, parse_floor
from careclub.tickets.tables import ArchiveRecord, Building, Occupancy, Person, PropertyUnit, Ticket, TicketType
from tests.conftest import signup
from tests.integration.clubs.helpers import ok, person, root_unit
from tests.integration.tickets.helpers import unit as org_unit

API = "/api/v1/archive"


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def archive_world(client: httpx.AsyncClient, t: dict[str, Any] | None = None) -> dict[str, Any]:
    """Two projects, A and B, each with a building and a unit; a clerk whose archive rights are at A only; a
    finance reader at the company (archive.read, no manage)."""
    t = t or await signup(client)
    root = await root_unit(client, t)
    w: dict[str, Any] = {"t": t, "h": t["headers"]}
    for key in ("a", "b"):
        w[key] = await org_unit(client, t, f"P{key.upper()}-{uuid.uuid4().hex[:4]}", root["id"], "project")
        w[f"building_{key}"] = await ok(await client.post(f"{API}/buildings", headers=t["headers"], json={
            "project_id": w[key]["id"], "code": "A", "name": f"Tower {key}"}), 201)
        w[f"unit_{key}"] = await ok(await client.post(f"{API}/units", headers=t["headers"], json={
            "building_id": w[f"building_{key}"]["id"], "code": "1201", "floor": 12, "area": "89.5"}), 201)
    w["clerk"] = await person(client, t, kind="staff", roles=["cs_clerk"], unit=w["a"]["id"])
    w["finance"] = await person(client, t, kind="staff", roles=["finance"])
    return w


async def test_buildings_units_people_ties_and_records_through_the_api(client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    h = w["h"]
    unit = w["unit_a"]
    assert unit["area"] == "89.50" and unit["floor"] == 12 and unit["building"]["code"] == "A"
    assert unit["project"]["id"] == w["a"]["id"] and unit["use"] == "residential" and unit["status"] == "vacant"
    # the same code again in the building, and the same building code in the project: 409
    r = await client.post(f"{API}/units", headers=h, json={"building_id": w["building_a"]["id"], "code": "1201"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "unit_code_taken"
    r = await client.post(f"{API}/buildings", headers=h, json={"project_id": w["a"]["id"], "code": "A", "name": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "building_code_taken"
    changed = await ok(await client.patch(f"{API}/units/{unit['id']}", headers=h, json={
        "status": "occupied", "area": "1,089.1234", "use": "商铺"}))
    assert (changed["status"], changed["area"], changed["use"], changed["floor"]) == ("occupied", "1089.1234",
                                                                                      "shop", 12)
    owner = await ok(await client.post(f"{API}/people", headers=h, json={
        "name": "陈先生", "phone": "137 0000-1102", "email": "Chen@Example.com", "emergency_name": "陈太太",
        "emergency_phone": "13700002102"}), 201)
    assert owner["phone"] == "13700001102" and owner["email"] == "chen@example.com"
    tie = await ok(await client.post(f"{API}/occupancies", headers=h, json={
        "unit_id": unit["id"], "person_id": owner["id"], "role": "owner", "starts_on": "2023-10-01"}), 201)
    assert tie["current"] is True and tie["role"] == "owner"
    r = await client.post(f"{API}/occupancies", headers=h, json={
        "unit_id": unit["id"], "person_id": owner["id"], "role": "owner"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "occupancy_exists"
    tenant = await ok(await client.post(f"{API}/people", headers=h, json={"name": "王租户", "phone": "13900000009"}),
                      201)
    lease = await ok(await client.post(f"{API}/occupancies", headers=h, json={
        "unit_id": unit["id"], "person_id": tenant["id"], "role": "tenant", "starts_on": "2024-01-01"}), 201)
    ended = await ok(await client.post(f"{API}/occupancies/{lease['id']}/end", headers=h,
                                       json={"ends_on": "2024-12-31"}))
    assert ended["ends_on"] == "2024-12-31" and ended["current"] is False
    r = await client.post(f"{API}/occupancies/{lease['id']}/end", headers=h, json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "occupancy_ended"
    deposit = await ok(await client.post(f"{API}/records", headers=h, json={
        "unit_id": unit["id"], "kind": "deposit", "occurred_on": "2023-10-02", "title": "Renovation deposit",
        "amount": money("2000.00"), "person_id": owner["id"]}), 201)
    assert deposit["amount"] == money("2000.00")
    await ok(await client.post(f"{API}/records", headers=h, json={
        "unit_id": unit["id"], "kind": "move_in", "occurred_on": "2023-10-05", "title": "Keys handed over"}), 201)
    # a ticket about the unit, written the way the ticket core writes it
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        await service.ensure_builtin_types()
        repair = await TicketType.select().where(TicketType.code == "repair").first()
        await Ticket(type=repair["id"], type_code="repair", number="WX-2026-00001", title="Leaking tap",
                     status="closed", project_id=w["a"]["id"], unit=uuid.UUID(unit["id"]),
                     person=uuid.UUID(owner["id"]), satisfaction=5).save()
    archive = await ok(await client.get(f"{API}/units/{unit['id']}", headers=h))
    assert archive["unit"]["id"] == unit["id"]
    assert [(p["person"]["name"], p["role"], p["current"]) for p in archive["people"]] == [
        ("陈先生", "owner", True), ("王租户", "tenant", False)]
    assert archive["people"][0]["person"]["emergency_phone"] == "13700002102"
    assert [r["title"] for r in archive["records"]["deposit"]] == ["Renovation deposit"]
    assert [r["title"] for r in archive["records"]["move_in"]] == ["Keys handed over"]
    assert archive["records"]["arrears"] == []
    assert [(t["number"], t["type_code"], t["satisfaction"]) for t in archive["tickets"]] == [
        ("WX-2026-00001", "repair", 5)]
    theirs = await ok(await client.get(f"{API}/people/{owner['id']}", headers=h))
    assert [u["unit"]["code"] for u in theirs["units"]] == ["1201"]
    assert [t["number"] for t in theirs["tickets"]] == ["WX-2026-00001"]


async def test_every_problem_is_named_at_once(client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    h = w["h"]
    r = await client.post(f"{API}/units", headers=h, json={
        "building_id": str(uuid.uuid4()), "code": "12 01", "area": "lots", "use": "castle", "status": "gone"})
    assert r.status_code in (404, 422), r.text
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert fields == {"code", "area", "use", "status", "building_id"}, r.text
    r = await client.post(f"{API}/people", headers=h, json={
        "name": " ", "kind": "robot", "phone": "call me", "email": "nope", "emergency_phone": "x"})
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"name", "kind", "phone", "email", "emergency_phone"}
    r = await client.post(f"{API}/records", headers=h, json={
        "unit_id": w["unit_a"]["id"], "kind": "payment", "occurred_on": "2026-01-01", "title": " "})
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"title", "amount"}
    r = await client.post(f"{API}/occupancies", headers=h, json={
        "unit_id": w["unit_a"]["id"], "person_id": str(uuid.uuid4()), "role": "landlord",
        "starts_on": "2026-02-01", "ends_on": "2026-01-01"})
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"role", "ends_on", "person_id"}
    r = await client.post(f"{API}/buildings", headers=h, json={"project_id": w["clerk"]["id"], "code": "B",
                                                               "name": "Nowhere"})
    assert r.status_code == 404 and r.json()["error"]["field"] == "project_id"


async def test_a_clerk_sees_and_runs_only_the_projects_his_rights_cover(client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    clerk, finance = w["clerk"]["headers"], w["finance"]["headers"]
    listed = await ok(await client.get(f"{API}/units", headers=clerk))
    assert [u["id"] for u in listed["items"]] == [w["unit_a"]["id"]] and listed["total"] == 1
    assert (await client.get(f"{API}/units/{w['unit_b']['id']}", headers=clerk)).status_code == 404
    assert (await client.get(f"{API}/units/{w['unit_a']['id']}", headers=clerk)).status_code == 200
    assert [b["id"] for b in (await ok(await client.get(f"{API}/buildings", headers=clerk)))["items"]] == [
        w["building_a"]["id"]]
    r = await client.post(f"{API}/units", headers=clerk, json={"building_id": w["building_b"]["id"], "code": "9"})
    assert r.status_code == 404
    r = await client.post(f"{API}/buildings", headers=clerk, json={"project_id": w["b"]["id"], "code": "Z",
                                                                   "name": "Not mine"})
    assert r.status_code == 404
    r = await client.patch(f"{API}/units/{w['unit_b']['id']}", headers=clerk, json={"status": "occupied"})
    assert r.status_code == 404
    # someone tied to a unit of B only is not the clerk's to see; someone tied to nothing yet is everyone's
    h = w["h"]
    b_owner = await ok(await client.post(f"{API}/people", headers=h, json={"name": "Mr B", "phone": "13500000001"}),
                       201)
    await ok(await client.post(f"{API}/occupancies", headers=h, json={"unit_id": w["unit_b"]["id"],
                                                                      "person_id": b_owner["id"]}), 201)
    loose = await ok(await client.post(f"{API}/people", headers=clerk, json={"name": "Mr Loose"}), 201)
    assert (await client.get(f"{API}/people/{b_owner['id']}", headers=clerk)).status_code == 404
    names = [p["name"] for p in (await ok(await client.get(f"{API}/people", headers=clerk)))["items"]]
    assert names == ["Mr Loose"]
    r = await client.post(f"{API}/occupancies", headers=clerk, json={"unit_id": w["unit_a"]["id"],
                                                                     "person_id": b_owner["id"]})
    assert r.status_code == 404 and r.json()["error"]["field"] == "person_id"
    await ok(await client.post(f"{API}/occupancies", headers=clerk, json={"unit_id": w["unit_a"]["id"],
                                                                          "person_id": loose["id"]}), 201)
    # finance reads the whole company's archive but changes none of it
    assert (await ok(await client.get(f"{API}/units", headers=finance)))["total"] == 2
    r = await client.post(f"{API}/units", headers=finance, json={"building_id": w["building_a"]["id"], "code": "2"})
    assert r.status_code == 403


async def test_lists_page_by_keyset_and_search_by_code_phone_and_name(client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    h = w["h"]
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        building = uuid.UUID(w["building_a"]["id"])
        for n in range(1, 31):
            await service.ensure_unit(building, f"{n:02d}0{n % 3}", floor=n)
        for n in range(12):
            await service.ensure_person(f"张{n:02d}", f"1380000{n:04d}")
    seen: list[str] = []
    after = None
    while True:
        page = await ok(await client.get(f"{API}/units", headers=h, params={
            "project": w["a"]["id"], "limit": 7, **({"after": after} if after else {})}))
        seen += [u["code"] for u in page["items"]]
        assert page["total"] == 31
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) == 31 and seen == sorted(seen) and len(set(seen)) == 31
    every = await ok(await client.get(f"{API}/units", headers=h, params={"limit": 40}))
    assert [u["project"]["id"] for u in every["items"]].count(w["b"]["id"]) == 1 and every["total"] == 32
    found = await ok(await client.get(f"{API}/units", headers=h, params={"q": "120"}))
    assert [u["code"] for u in found["items"]] == ["1200", "1201", "1201"]  # 12th of A, and each project's 1201
    exact = await ok(await client.get(f"{API}/units", headers=h,
                                      params={"q": "0101", "building": w["building_a"]["id"]}))
    assert [u["code"] for u in exact["items"]] == ["0101"]
    by_phone = await ok(await client.get(f"{API}/people", headers=h, params={"q": "138 0000 0007"}))
    assert [p["name"] for p in by_phone["items"]] == ["张07"]
    by_name = await ok(await client.get(f"{API}/people", headers=h, params={"q": "张1", "limit": 1}))
    assert [p["name"] for p in by_name["items"]] == ["张10"] and by_name["total"] == 2
    following = await ok(await client.get(f"{API}/people", headers=h,
                                          params={"q": "张1", "after": by_name["next_after"]}))
    assert [p["name"] for p in following["items"]] == ["张11"] and following["next_after"] is None
    r = await client.get(f"{API}/units", headers=h, params={"after": "not-a-cursor"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "after"


async def test_the_tenant_file_helpers_change_nothing_when_run_twice(tenant: dict[str, Any],
                                                                      client: httpx.AsyncClient) -> None:
    root = await root_unit(client, tenant)
    project = await org_unit(client, tenant, "HY", root["id"], "project")

    async def apply() -> tuple[Any, ...]:
        async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
            b = await service.ensure_building(uuid.UUID(project["id"]), "1", "海悦花园1号楼")
            u = await service.ensure_unit(b, "1102", floor=11, area_cm2=1_186_000, use="residential",
                                          status="occupied")
            p = await service.ensure_person("陈先生", "13700001102", kind="individual", email="",
                                            emergency_name="陈太太", emergency_phone="13700002102", note="",
                                            user_id=None)
            o = await service.ensure_occupancy(u, p, "owner", date(2023, 10, 1))
            counts = tuple([await t.count() for t in (Building, PropertyUnit, Person, Occupancy)])
            return (b, u, p, o), counts

    first, counts = await apply()
    again, counts_again = await apply()
    assert first == again and counts == counts_again == (1, 1, 1, 1)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        row = await PropertyUnit.select().where(PropertyUnit.id == first[1]).first()
        assert (row["area_cm2"], row["status"], row["floor"]) == (1_186_000, "occupied", 11)
        # without a phone, a person is found by name; what was not given is left as it was
        assert await service.ensure_person("陈先生", "") == first[2]
        person = await Person.select().where(Person.id == first[2]).first()
        assert person["emergency_name"] == "陈太太"


async def test_another_companys_archive_answers_404_and_never_changes(client: httpx.AsyncClient) -> None:
    theirs = await archive_world(client)
    mine = await signup(client)
    h = mine["headers"]
    their_owner = await ok(await client.post(f"{API}/people", headers=theirs["h"], json={
        "name": "Their owner", "phone": "13600000001"}), 201)
    tie = await ok(await client.post(f"{API}/occupancies", headers=theirs["h"], json={
        "unit_id": theirs["unit_a"]["id"], "person_id": their_owner["id"]}), 201)
    record = await ok(await client.post(f"{API}/records", headers=theirs["h"], json={
        "unit_id": theirs["unit_a"]["id"], "kind": "arrears", "occurred_on": "2026-01-31", "title": "Fees owed",
        "amount": money("300.00")}), 201)
    unit_id, building_id, person_id = theirs["unit_a"]["id"], theirs["building_a"]["id"], their_owner["id"]
    for path in (f"{API}/units/{unit_id}", f"{API}/people/{person_id}"):
        assert (await client.get(path, headers=h)).status_code == 404, path
    for method, path, body in (
            ("PATCH", f"{API}/buildings/{building_id}", {"name": "Mine now"}),
            ("PATCH", f"{API}/units/{unit_id}", {"status": "renovating"}),
            ("PATCH", f"{API}/people/{person_id}", {"name": "Mine now"}),
            ("POST", f"{API}/occupancies/{tie['id']}/end", {}),
            ("POST", f"{API}/buildings", {"project_id": theirs["a"]["id"], "code": "Q", "name": "Q"}),
            ("POST", f"{API}/units", {"building_id": building_id, "code": "Q"}),
            ("POST", f"{API}/occupancies", {"unit_id": unit_id, "person_id": person_id}),
            ("POST", f"{API}/records", {"unit_id": unit_id, "kind": "note", "occurred_on": "2026-01-01",
                                        "title": "x"})):
        r = await client.request(method, path, headers=h, json=body)
        assert r.status_code == 404, (method, path, r.text)
    for path in ("units", "people", "buildings"):
        listed = await ok(await client.get(f"{API}/{path}", headers=h))
        assert listed["items"] == [], path
    assert (await ok(await client.get(f"{API}/people", headers=h, params={"q": "13600000001"})))["items"] == []
    assert (await ok(await client.get(f"{API}/units", headers=h, params={"q": "1201"})))["items"] == []
    archive = await ok(await client.get(f"{API}/units/{unit_id}", headers=theirs["h"]))
    assert archive["unit"]["status"] == "vacant" and archive["people"][0]["current"] is True
    assert archive["records"]["arrears"][0]["id"] == record["id"]
    async with tenant_scope(uuid.UUID(theirs["t"]["tenant_id"])):
        assert (await Building.select().where(Building.id == building_id).first())["name"] == "Tower a"
        assert (await Person.select().where(Person.id == person_id).first())["name"] == "Their owner"
        assert await ArchiveRecord.count() == 1 and await Occupancy.count() == 1 and await PropertyUnit.count() == 2


def test_areas_floors_dates_and_sheet_words_are_read_as_people_write_them() -> None:
    assert [parse_area(t) for t in ("89.5", "1,089.50 m²", "96.2㎡", "0.0001", "118.60平方米", "")] == [
        895_000, 10_895_000, 962_000, 1, 1_186_000, None]
    for bad in ("0", "-3", "1.23456", "1,23", "lots", "1e3", "2000000"):
        with pytest.raises(ValidationFailed):
            parse_area(bad)
    assert [format_area(v) for v in (895_000, 1, 10_000, 1_234_567, None)] == [
        "89.50", "0.0001", "1.00", "123.4567", None]
    assert (parse_floor("12层"), parse_floor("-2"), parse_floor("")) == (12, -2, None)
    assert [parse_day(t) for t in ("2023-10-01", "2023/10/1", "2023年10月1日")] == [date(2023, 10, 1)] * 3
    assert check_choice("业主", ("owner", "tenant"), "role", {"业主": "owner"}) == "owner"
    assert check_choice(" Tenant ", ("owner", "tenant"), "role") == "tenant"
