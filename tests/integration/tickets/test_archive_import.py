"""Importing a project's units and people from a sheet: a good workbook, one with wrong rows (nothing imported,
each row's problem named rows[N].column), the valid rows only, the same file again (nothing changes), a CSV
saved by Excel on a Chinese Windows (GB18030), and a project out of the importer's reach."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import httpx
from openpyxl import Workbook

from careclub.core.db import tenant_scope
from careclub.tickets.tables import Building, Occupancy, Person, PropertyUnit
from tests.integration.clubs.helpers import ok
from tests.integration.tickets.test_archive_api import API, archive_world

HEADER = ["楼栋", "楼栋名称", "房号", "楼层", "面积（㎡）", "用途", "姓名", "电话", "身份", "起始日期", "紧急联系人",
          "紧急联系电话"]
GOOD = [
    ["1", "海悦花园1号楼", "1102", 11, "118.60", "住宅", "陈先生", "137 0000 1102", "业主", date(2023, 10, 1), "陈太太",
     "13700002102"],
    ["1", "海悦花园1号楼", "1102", 11, "118.60", "住宅", "王小姐", "13900000001", "租户", "2024-03-01", "", ""],
    ["1", "", "1103", "11", "96.2", "", "林女士", "13700001103", "owner", "2023/10/01", "", ""],
    ["2", "海悦花园2号楼", "0101", "1", "", "商铺", "", "", "", "", "", ""],
]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def counts(t: dict[str, Any]) -> tuple[int, ...]:
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        return tuple([await table.count() for table in (Building, PropertyUnit, Person, Occupancy)])


async def upload(client: httpx.AsyncClient, headers: dict[str, str], project: str, data: bytes, name: str = "u.xlsx",
                 **extra: str) -> httpx.Response:
    return await client.post(f"{API}/import", headers=headers, files={"file": (name, data)},
                             data={"project": project, **extra})


async def test_a_good_workbook_imports_and_importing_it_again_changes_nothing(client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    before = await counts(w["t"])
    data = xlsx([HEADER, *GOOD])
    result = await ok(await upload(client, w["h"], w["a"]["id"], data))
    assert (result["rows"], result["imported"], result["problems"]) == (4, 4, [])
    assert result["created"] == {"buildings": 2, "units": 3, "people": 3, "occupancies": 3}
    assert set(result["updated"].values()) == {0}
    after = await counts(w["t"])
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (2, 3, 3, 3)
    units = await ok(await client.get(f"{API}/units", headers=w["h"], params={"project": w["a"]["id"]}))
    by_code = {(u["building"]["code"], u["code"]): u for u in units["items"]}
    assert by_code[("1", "1102")]["area"] == "118.60" and by_code[("1", "1102")]["floor"] == 11
    assert by_code[("1", "1103")]["area"] == "96.20" and by_code[("2", "0101")]["use"] == "shop"
    archive = await ok(await client.get(f"{API}/units/{by_code[('1', '1102')]['id']}", headers=w["h"]))
    ties = {(p["person"]["name"], p["role"], p["starts_on"]) for p in archive["people"]}
    assert ties == {("陈先生", "owner", "2023-10-01"), ("王小姐", "tenant", "2024-03-01")}
    chen = next(p["person"] for p in archive["people"] if p["role"] == "owner")
    assert (chen["phone"], chen["emergency_name"], chen["emergency_phone"]) == ("13700001102", "陈太太", "13700002102")
    # the same file again: nothing new, nothing changed
    again = await ok(await upload(client, w["h"], w["a"]["id"], data))
    assert again["imported"] == 4
    assert set(again["created"].values()) == {0} and set(again["updated"].values()) == {0}
    assert await counts(w["t"]) == after
    # the project may be named by its code too
    by_code_result = await ok(await upload(client, w["h"], w["a"]["code"], data))
    assert set(by_code_result["created"].values()) == {0}


async def test_wrong_rows_import_nothing_unless_only_the_valid_rows_are_asked_for(client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    before = await counts(w["t"])
    rows = [HEADER, GOOD[0],
            ["1", "", "11 02", "eleven", "-5", "castle", "", "13700009999", "landlord", "2023-02-30", "", "call"],
            GOOD[2],
            ["1", "", "1103", "12", "", "", "", "", "", "", "", ""]]  # 1103 again, on another floor
    data = xlsx(rows)
    r = await upload(client, w["h"], w["a"]["id"], data)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "import_rows_refused"
    assert [f["field"] for f in error["fields"]] == [
        "rows[3].unit", "rows[3].floor", "rows[3].area", "rows[3].use", "rows[3].role", "rows[3].starts_on",
        "rows[3].emergency_phone", "rows[3].name", "rows[5].floor"]
    assert await counts(w["t"]) == before
    r = await upload(client, w["h"], w["a"]["id"], data, valid_only="true")
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["imported"] == 2 and result["created"]["units"] == 2 and result["created"]["people"] == 2
    assert sorted({p["row"] for p in result["problems"]}) == [3, 5]
    after = await counts(w["t"])
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (1, 2, 2, 2)
    # a missing column is refused at once, naming the file
    r = await upload(client, w["h"], w["a"]["id"], xlsx([["楼栋", "姓名"], ["1", "x"]]))
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"


async def test_a_gb18030_csv_and_a_project_out_of_reach(client: httpx.AsyncClient) -> None:
    w = await archive_world(client)
    csv = ("楼栋,房号,面积(m²),姓名,手机,身份,紧急联系人,紧急联系人电话\n"
           "3,301,75.5㎡,赵先生,13800000301,住户,赵太太,13800000302\n"
           "3,302,80,钱女士,,联系人,,\n").encode("gb18030")
    result = await ok(await upload(client, w["clerk"]["headers"], w["a"]["id"], csv, name="units.csv"))
    assert result["created"] == {"buildings": 1, "units": 2, "people": 2, "occupancies": 2}
    found = await ok(await client.get(f"{API}/people", headers=w["h"], params={"q": "赵"}))
    assert [(p["name"], p["emergency_phone"]) for p in found["items"]] == [("赵先生", "13800000302")]
    again = await ok(await upload(client, w["clerk"]["headers"], w["a"]["id"], csv, name="units.csv"))
    assert set(again["created"].values()) == {0} and set(again["updated"].values()) == {0}
    # the clerk's rights are at project A: B answers 404 as if it did not exist, and nothing is imported
    before = await counts(w["t"])
    r = await upload(client, w["clerk"]["headers"], w["b"]["id"], csv, name="units.csv")
    assert r.status_code == 404 and r.json()["error"]["field"] == "project"
    r = await upload(client, w["clerk"]["headers"], "NO-SUCH-PROJECT", csv, name="units.csv")
    assert r.status_code == 404
    assert await counts(w["t"]) == before
