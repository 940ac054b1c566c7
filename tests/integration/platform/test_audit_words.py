"""The audit log reads as words: who did what to which record, the changes as "field: before → after"
with labels, money as money, links to the records' pages, no raw codes or JSON outside the folded
details, in the reader's language; names are looked up once per kind of record for a whole page;
the "who" filter takes what is typed literally; the log downloads with its filters."""

from __future__ import annotations

import html
import io
import re
import uuid
from typing import Any

import asyncpg
from litestar import Litestar
from openpyxl import load_workbook

from careclub.platform.views_admin import _audit_words as words
from tests.conftest import PASSWORD
from tests.integration.clubs.helpers import as_owner, club_world, ok
from tests.integration.platform.pages import browser, login

DETAILS = re.compile(r"<details.*?</details>", re.S)


def main_text(page: str) -> str:
    """What a person reads on the page: the log's list without its folded details, tags dropped,
    spaces collapsed."""
    listing = page.split('id="audit"', 1)[1].split("</ul>\n<nav", 1)[0].split("{% endfor %}", 1)[0]
    listing = DETAILS.sub(" ", listing)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", listing.replace("</li>", " </li>"))))


async def _world(client: Any) -> dict[str, Any]:
    w = await club_world(client)
    h = w["t"]["headers"]
    card_no = w["card"]["card_no"]
    await ok(await client.post(f"/api/v1/cards/{card_no}/suspend", headers=h, json={"reason": "unpaid fee"}))
    # a paid card: its joining fee paid at the counter, then a renewal opened
    vip = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=h,
                                     json={"plan_id": w["vip"]["id"]}), 201)
    join = (await ok(await client.get(f"/api/v1/cards/{vip['card_no']}/periods", headers=h)))[0]
    await ok(await client.post(f"/api/v1/periods/{join['id']}/offline-payment", headers=h, json={"reference": "R-1"}))
    await ok(await client.post(f"/api/v1/cards/{vip['card_no']}/periods", headers=h), 201)
    await ok(await client.patch(f"/api/v1/merchants/{w['wash']['id']}", headers=h, json={
        "offer_kind": "amount", "offer_amount": {"amount": "15.00", "currency": "CNY"}}))
    return {**w, "vip": vip}


async def test_the_log_reads_as_words_with_links_and_money(app: Litestar, client: Any,
                                                           owner: asyncpg.Connection) -> None:
    w = await _world(client)
    t = w["t"]
    await as_owner(owner, t["tenant_id"],
                   "INSERT INTO audit_entry (id, tenant_id, actor_name, action, entity_type, entity_id, after) "
                   "VALUES (gen_random_uuid(), $1, 'job:nightly_sweep', 'probe.operator_unlink', 'club_merchant', $2, "
                   "'{\"user\": null, \"detail\": {\"count\": 2, \"fee\": 100}}')", t["tenant_id"], w["wash"]["id"])
    card, vip, member = w["card"]["card_no"], w["vip"]["card_no"], w["member"]["id"]
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/audit")
        assert page.status_code == 200
        text = main_text(page.text)
        # who did what to which record, with the record's page linked
        assert f"admin suspended card {card} of 张三丰" in text, text[:3000]
        assert f'href="/club/members/{member}">card {card} of 张三丰</a>' in page.text
        assert f"admin renewed card {vip} of 张三丰" in text
        assert f"admin recorded the payment for card {vip} of 张三丰" in text
        enrolled = main_text((await c.get("/audit", params={"entity_type": "club_member"})).text)
        assert "admin enrolled the member 张三丰" in enrolled and "Phone: 13800000001" in enrolled
        merchants = await c.get("/audit", params={"entity_type": "club_merchant"})
        assert "admin added the merchant Sparkle Wash" in main_text(merchants.text)
        assert f'href="/club/admin/merchant/{w["wash"]["id"]}"' in merchants.text
        assert 'href="/staff/' in page.text  # who, linked to the person's page
        # changes field by field, with labels, translated values and money as money
        assert "Status: active → suspended" in text and "Reason: unpaid fee" in text
        plans = main_text((await c.get("/audit", params={"entity_type": "club_plan"})).text)
        assert "Fee: ¥365.00" in plans  # the plan's fee, stored as 36500 fen
        assert "Offer: percent → amount" in main_text(merchants.text)
        assert "Offer value: 20% → ¥15.00" in main_text(merchants.text)
        assert "Member: 张三丰" in main_text((await c.get("/audit", params={"entity_type": "club_card"})).text)
        # an action nobody labelled still reads, by a job, nested values flattened
        assert "The scheduled job nightly_sweep: operator unlink, the merchant Sparkle Wash" in text
        assert "detail: Fee: ¥1.00; Count: 2" in text
        # no codes, ids or JSON outside the folded details
        for raw in ("club_card.suspend", "club_member", '{"', "36500", w["wash"]["id"]):
            assert raw not in text, raw
        assert "club_card.suspend" in page.text and "&#34;state&#34;: &#34;suspended&#34;" in page.text  # the details


async def test_the_log_in_chinese(app: Litestar, client: Any) -> None:
    w = await _world(client)
    t = w["t"]
    card = w["card"]["card_no"]
    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        text = main_text((await c.get("/audit")).text)
        assert f"admin 暂停了会员卡 {card}（张三丰）" in text, text[:2000]
        assert "状态: 已启用 → 已暂停" in text, text[:2000]
        assert "费用: ¥365.00" in main_text((await c.get("/audit", params={"entity_type": "club_plan"})).text)
        rows = list(load_workbook(io.BytesIO((await c.get("/audit?format=xlsx")).content),
                                  read_only=True).active.iter_rows(values_only=True))
        assert rows[0][:3] == ("时间", "操作人", "操作"), rows[0]


async def test_names_are_looked_up_once_per_kind_for_a_page(app: Litestar, client: Any, monkeypatch: Any) -> None:
    w = await _world(client)
    t = w["t"]
    calls: dict[str, int] = {}
    for kind, look_up in list(words.LOOK_UP.items()):
        def counted(ids: list[uuid.UUID], _kind: str = kind, _look_up: Any = look_up) -> Any:
            calls[_kind] = calls.get(_kind, 0) + 1
            return _look_up(ids)
        monkeypatch.setitem(words.LOOK_UP, kind, counted)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        calls.clear()
        page = await c.get("/audit")
        assert page.status_code == 200 and page.text.count('class="row-main audit-what"') == 25
        assert calls and max(calls.values()) == 1, calls  # one query per kind of record, whatever the rows
        assert {"club_member", "club_card", "club_merchant", "user"} <= set(calls), calls


async def test_who_is_matched_literally_and_the_log_downloads_with_its_filters(app: Litestar, client: Any,
                                                                              owner: asyncpg.Connection) -> None:
    w = await _world(client)
    t = w["t"]
    await as_owner(owner, t["tenant_id"],
                   "INSERT INTO audit_entry (id, tenant_id, actor_name, action, entity_type, entity_id) VALUES "
                   "(gen_random_uuid(), $1, '100% sure', 'probe.a', 'probe', 'x'), "
                   "(gen_random_uuid(), $1, '1000 sure', 'probe.b', 'probe', 'y'), "
                   "(gen_random_uuid(), $1, 'a_b', 'probe.c', 'probe', 'z'), "
                   "(gen_random_uuid(), $1, 'axb', 'probe.d', 'probe', 'w')", t["tenant_id"])
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        percent = main_text((await c.get("/audit", params={"actor": "100%"})).text)
        assert "100% sure" in percent and "1000 sure" not in percent
        underscore = main_text((await c.get("/audit", params={"actor": "a_b"})).text)
        assert "a_b" in underscore and "axb" not in underscore
        page = await c.get("/audit", params={"entity_type": "club_card"})
        assert '<option value="club_card" selected>card</option>' in page.text
        assert 'href="?entity_type=club_card&amp;format=xlsx"' in page.text
        r = await c.get("/audit", params={"entity_type": "club_card", "format": "xlsx"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
        rows = list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
        assert rows[0][:5] == ("Time", "Who", "What happened", "Record type", "Changes"), rows[0]
        shown = main_text(page.text)
        assert len(rows) - 1 == page.text.count('class="row-main audit-what"') >= 3
        assert {r[3] for r in rows[1:]} == {"card"}
        assert any(r[2] == f"admin suspended card {w['card']['card_no']} of 张三丰" and
                   "Status: active → suspended" in r[4] for r in rows[1:]), rows
        assert all(r[2] in shown for r in rows[1:])  # the download says what the page says
