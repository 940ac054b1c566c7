"""The paths built for a million members, on small data: keyset pages, capped totals, search by
shape through indexes, the tallies behind the statistics (kept by triggers, checked against a
recount), today's check-ins by the tenant's day, and the streamed export. Nothing here times
anything: `careclub bench scale` measures; these prove the answers are right and stay isolated."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from openpyxl import load_workbook

from careclub.core.infra import Infra
from tests.conftest import PASSWORD, owner_transactions, signup
from tests.integration.clubs.helpers import as_owner, branch, club_world, ok, qr, scan
from tests.integration.platform.pages import browser, login


async def _member(client: Any, t: dict[str, Any], club_id: str, name: str, phone: str, **extra: Any) -> Any:
    return await ok(await client.post("/api/v1/members", headers=t["headers"], json={
        "club_id": club_id, "name": name, "phone": phone, **extra}), 201)


async def _names(client: Any, headers: dict[str, str], **params: Any) -> list[str]:
    page = await ok(await client.get("/api/v1/members", headers=headers, params=params))
    return [m["name"] for m in page["items"]]


async def tally_differences(owner: asyncpg.Connection, tenant_id: str) -> list[dict[str, Any]]:
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
        return [dict(r) for r in await owner.fetch("SELECT * FROM club_tally_check()")]


async def test_members_page_by_keyset_with_a_capped_total(client: Any) -> None:
    w = await club_world(client)
    t, cid = w["t"], w["club"]["id"]
    for i in range(6):
        await _member(client, t, cid, f"会员{i}", f"1390000{i:04d}")
    seen: list[str] = []
    after = None
    while True:
        page = await ok(await client.get("/api/v1/members", headers=t["headers"],
                                         params={"limit": 3, **({"after": after} if after else {})}))
        assert page["total"] == 7 and page["total_capped"] is False
        seen += [m["id"] for m in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 7  # every member once, none twice across the pages
    first = await ok(await client.get("/api/v1/members", headers=t["headers"]))
    assert [m["id"] for m in first["items"]] == seen  # the same order as one page: newest first
    # a cursor is ours or refused; OFFSET is bounded
    bad = await client.get("/api/v1/members", headers=t["headers"], params={"after": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 422 and "after" in bad.text, bad.text
    far = await client.get("/api/v1/members", headers=t["headers"], params={"offset": 500000})
    assert far.status_code == 422 and "offset" in far.text, far.text


async def test_search_by_shape(client: Any) -> None:
    w = await club_world(client)
    t, cid, h = w["t"], w["club"]["id"], w["t"]["headers"]
    li = await _member(client, t, cid, "李四", "139 0000 0002")
    assert li["phone"] == "13900000002"  # one form, however it was typed
    await ok(await client.post(f"/api/v1/members/{li['id']}/vehicles", headers=h, json={"plate": "云A12345"}), 201)
    await _member(client, t, cid, "欧阳娜娜", "+8613700000003")
    await _member(client, t, cid, "Wang Xiaoming", "13600000004")
    card_no = w["card"]["card_no"]  # 张三丰's
    assert await _names(client, h, q="13900000002") == ["李四"]
    assert await _names(client, h, q="139-0000-0002") == ["李四"]
    assert await _names(client, h, q="+8613900000002") == ["李四"]
    assert await _names(client, h, q="13700000003") == ["欧阳娜娜"]  # stored with +86
    assert await _names(client, h, q="0002") == ["李四"]  # a phone's last four digits
    assert await _names(client, h, q=card_no) == ["张三丰"]
    assert await _names(client, h, q=card_no.lower()) == ["张三丰"]
    assert await _names(client, h, q=str(int(card_no.split("-")[-1]))) == ["张三丰"]  # the number alone
    assert await _names(client, h, q="云A12345") == ["李四"]
    assert await _names(client, h, q="a12345") == ["李四"]  # without the province, any case
    assert await _names(client, h, q="李四") == ["李四"]  # a two-character name
    assert await _names(client, h, q="张") == ["张三丰"]  # one character
    assert await _names(client, h, q="三丰") == ["张三丰"]  # the given name only
    assert await _names(client, h, q="阳娜") == ["欧阳娜娜"]
    assert await _names(client, h, q="欧阳娜娜") == ["欧阳娜娜"]
    assert await _names(client, h, q="娜欧") == []  # the pairs must be there, in order
    assert await _names(client, h, q="xiaoming") == ["Wang Xiaoming"]
    assert await _names(client, h, q="wang  xiao") == ["Wang Xiaoming"]
    assert await _names(client, h, q="丰三") == []
    assert await _names(client, h, q="%") == []
    # a rename moves the terms along
    await ok(await client.patch(f"/api/v1/members/{li['id']}", headers=h, json={"name": "李小龙"}))
    assert await _names(client, h, q="李四") == []
    assert await _names(client, h, q="小龙") == ["李小龙"]


async def test_search_never_crosses_tenants(client: Any) -> None:
    a = await club_world(client)
    b = await club_world(client)
    h = a["t"]["headers"]
    await ok(await client.post(f"/api/v1/members/{a['member']['id']}/vehicles", headers=h, json={"plate": "粤B54321"}),
             201)
    # B holds a member of the same name and phone: B finds only its own, and A's terms give B nothing
    for q in ("张三丰", "三丰", "张", "13800000001", "0001", a["card"]["card_no"], "粤B54321", "B54321"):
        found = await ok(await client.get("/api/v1/members", headers=b["t"]["headers"], params={"q": q}))
        assert all(m["id"] != a["member"]["id"] for m in found["items"]), q
    assert await _names(client, b["t"]["headers"], q="B54321") == []
    assert await _names(client, h, q="B54321") == ["张三丰"]


async def test_tallies_follow_every_write_and_agree_with_a_recount(client: Any, owner: asyncpg.Connection) -> None:
    w = await club_world(client)
    t, cid, h = w["t"], w["club"]["id"], w["t"]["headers"]
    east = await branch(client, t, "east")
    west = await branch(client, t, "west")
    members = [await _member(client, t, cid, f"甲{i}", f"1350000{i:04d}", org_unit=(east if i % 2 else west)["id"])
               for i in range(4)]
    cards = [await ok(await client.post(f"/api/v1/members/{m['id']}/cards", headers=h,
                                        json={"plan_id": w["vip"]["id"]}), 201) for m in members]
    for c in cards[:3]:  # three paid at the cashier, one twice (a renewal stacked on the first term)
        period = (await ok(await client.get(f"/api/v1/cards/{c['card_no']}/periods", headers=h)))[0]
        await ok(await client.post(f"/api/v1/periods/{period['id']}/offline-payment", headers=h,
                                   json={"reference": "R"}))
    renewal = await ok(await client.post(f"/api/v1/cards/{cards[0]['card_no']}/periods", headers=h), 201)
    await ok(await client.post(f"/api/v1/periods/{renewal['id']}/offline-payment", headers=h,
                               json={"reference": "R2"}))
    await ok(await client.post(f"/api/v1/cards/{cards[1]['card_no']}/suspend", headers=h, json={"reason": "x"}))
    await ok(await client.post(f"/api/v1/cards/{cards[2]['card_no']}/reissue", headers=h, json={"reason": "lost"}))
    await ok(await client.patch(f"/api/v1/members/{members[3]['id']}", headers=h, json={"org_unit": east["id"]}))
    for _ in range(3):
        assert (await scan(client, w, await qr(client, w))).status_code == 201
    # behind the app's back too: a hand-run UPDATE of many rows at once
    await as_owner(owner, t["tenant_id"], "UPDATE club_period SET starts_at = starts_at - interval '14 months', "
                   "ends_at = ends_at - interval '14 months'")
    await as_owner(owner, t["tenant_id"], "UPDATE club_card SET valid_until = valid_until - interval '3 days'")
    assert await tally_differences(owner, t["tenant_id"]) == []
    stats = await ok(await client.get(f"/api/v1/clubs/{cid}/stats", headers=h))
    assert sum(stats["checkins_by_merchant"].values()) == 3
    assert sum(f["count"] for f in stats["fees_per_month"]) == 4
    assert sum(stats["members_by_plan"].values()) == 5  # 5 cards, the replaced one swapped for its replacement


async def test_stats_agree_with_a_recount_from_the_rows(client: Any, owner: asyncpg.Connection) -> None:
    """The figures as the tallies give them equal the same figures counted from the rows by the
    definitions (rules.card_status), edge days included."""
    from careclub.clubs import rules

    w = await club_world(client, grace_days=10)
    t, cid, h = w["t"], w["club"]["id"], w["t"]["headers"]
    cards = []
    for i in range(8):
        m = await _member(client, t, cid, f"乙{i}", f"1340000{i:04d}")
        cards.append(await ok(await client.post(f"/api/v1/members/{m['id']}/cards", headers=h,
                                                json={"plan_id": w["free"]["id"]}), 201))
    # ends spread over the edges: an hour ago/ahead (today), grace running out today, a year ago
    for c, shift in zip(cards, ("-1 hour", "+1 hour", "-10 days -1 hour", "-10 days +1 hour", "-9 days",
                                "-365 days -1 hour", "-365 days +1 hour", "-400 days"), strict=True):
        await as_owner(owner, t["tenant_id"], f"UPDATE club_card SET valid_until = now() + interval '{shift}' "
                       "WHERE card_no = $1", c["card_no"])
    stats = await ok(await client.get(f"/api/v1/clubs/{cid}/stats", headers=h))
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", t["tenant_id"])
        rows = await owner.fetch("SELECT c.state, c.valid_until, p.grace_days, now() AS now FROM club_card c "
                                 "JOIN club_plan p ON p.id = c.plan WHERE c.club = $1 AND c.state <> 'replaced'",
                                 uuid.UUID(cid))
    expected: dict[str, int] = {}
    lapsed = 0
    for r in rows:
        s = rules.card_status(r["state"], r["valid_until"], r["grace_days"], r["now"])
        expected[s] = expected.get(s, 0) + 1
        if s == "expired" and r["valid_until"] > r["now"] - __import__("datetime").timedelta(days=365):
            lapsed += 1
    assert stats["members_by_status"] == expected
    assert stats["lapses_last_year"] == lapsed


async def test_todays_checkins_are_the_tenants_day(client: Any, owner: asyncpg.Connection) -> None:
    w = await club_world(client)
    t = w["t"]
    assert (await scan(client, w, await qr(client, w))).status_code == 201
    # one from two days ago (its own partition or the default one) is not today's
    await as_owner(owner, t["tenant_id"], "INSERT INTO club_checkin (tenant_id, created_at, card, member, merchant, "
                   "nonce, scanned_on) SELECT tenant_id, now() - interval '2 days', card, member, merchant, 'old', "
                   "current_date - 2 FROM club_checkin LIMIT 1")
    today = await ok(await client.get("/api/v1/checkins", headers=w["operator"]["headers"]))
    assert len(today) == 1


async def test_a_recount_beside_a_check_in_that_opens_a_new_days_tally_counts_it_once(
        client: Any, owner: asyncpg.Connection, infra: Infra) -> None:
    """A zone change's recount runs while members check in. Check-ins still open when it starts, one adding to
    today's tally rows and one making the row of a day that had none, commit while it runs: each counted once (the
    recount was a DELETE, which waited for today's rows, and an INSERT, which then met the new day's row and
    failed on the unique key)."""
    w = await club_world(client)
    t = w["t"]
    assert (await scan(client, w, await qr(client, w))).status_code == 201
    async with owner_transactions(infra, t["tenant_id"], 2) as (checking_in, recount):
        # two check-ins at once: today's adds to rows the recount reads, the other opens a day of its own
        await checking_in.execute(
            "INSERT INTO club_checkin (tenant_id, created_at, card, member, merchant, benefit, nonce, scanned_on)"
            " SELECT tenant_id, now() - d * interval '1 day', card, member, merchant, benefit, 'late' || d,"
            " current_date - d FROM (SELECT * FROM club_checkin LIMIT 1) c, unnest(ARRAY[0, 2]) AS d")
        counting = asyncio.ensure_future(recount.fetchval("SELECT club_tally_rebuild()"))
        await asyncio.sleep(0.3)
        await checking_in.execute("COMMIT")
        await counting
        await recount.execute("COMMIT")
    assert await tally_differences(owner, t["tenant_id"]) == []


async def test_the_recount_is_planned_for_the_company_it_names_and_sees_no_other(
        client: Any, owner: asyncpg.Connection) -> None:
    """The recount names its company on every table it reads, so a statement planned for that value (how the
    rebuild and the check run it) judges from the statistics how much of each table is the company's. Naming
    another company changes nothing the policy allows: its rows stay invisible; no company at all fails."""
    w = await club_world(client)
    t = w["t"]
    assert (await scan(client, w, await qr(client, w))).status_code == 201
    other = await club_world(client)
    assert (await scan(client, other, await qr(client, other))).status_code == 201
    mine, theirs = t["tenant_id"], other["t"]["tenant_id"]
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", mine)
        plan = "\n".join(r[0] for r in await owner.fetch(
            f"EXPLAIN SELECT * FROM club_tally_compute('{mine}'::uuid)"))
        for table in ("club_card", "club_member", "club_period", "club_merchant", "club_checkin"):
            assert f"on {table}" in plan, (table, plan)  # inlined: the tables themselves, not a function scan
        assert f"tenant_id = '{mine}'::uuid" in plan  # the value itself, where the statistics can weigh it
        counted = await owner.fetch("SELECT metric, n FROM club_tally_compute($1) WHERE metric = 'checkin_all'",
                                    uuid.UUID(mine))
        assert [r["n"] for r in counted] == [1]
        assert await owner.fetchval("SELECT count(*) FROM club_tally_compute($1)", uuid.UUID(theirs)) == 0
        assert await owner.fetchval("SELECT club_tally_rebuild()") == 0  # the triggers had it right
    assert await tally_differences(owner, mine) == [] and await tally_differences(owner, theirs) == []
    for sql in ("SELECT club_tally_rebuild()", "SELECT count(*) FROM club_tally_check()"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="no tenant in context"):
            async with owner.transaction():
                await owner.fetchval(sql)


async def test_a_name_search_is_planned_for_its_term_and_a_phone_lookup_is_not(client: Any) -> None:
    """A name's term matches twenty members or two thousand: a plan kept from rare names (one match guessed) joined
    and sorted every member of a common one for a page of 25 (45–60 ms at a million members, `careclub bench
    scale`). The search's transaction plans each statement for its values; an exact lookup keeps cached plans."""
    from careclub.clubs.service._members import member_page
    from careclub.core.db import fetch, tenant_scope
    from careclub.core.principal import Principal, TenantInfo
    from careclub.platform.permissions import Perm

    w = await club_world(client)
    t, cid = w["t"], w["club"]["id"]
    await _member(client, t, cid, "李敏", "13911112222")
    tenant = uuid.UUID(t["tenant_id"])
    staff = Principal(TenantInfo(tenant, t["slug"], "", "CNY", "Asia/Shanghai", "zh_CN"), uuid.uuid4(), "", "",
                      "staff", None, grants={Perm.MEMBERS_READ: {"/"}})
    for q, mode in (("李敏", "force_custom_plan"), ("13911112222", "auto"), ("敏", "force_custom_plan")):
        async with tenant_scope(tenant):
            rows, total, _more = await member_page(staff, q=q)
            assert [r["name"] for r in rows] == ["李敏"] and total == 1, q
            assert (await fetch("SELECT current_setting('plan_cache_mode') AS m"))[0]["m"] == mode, q


async def test_members_download_streams_the_filtered_list(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t, cid = w["t"], w["club"]["id"]
    for i in range(3):
        await _member(client, t, cid, f"丙{i}", f"1330000{i:04d}")
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        r = await admin.get("/club/members", params={"format": "xlsx", "q": "丙"})
        assert r.status_code == 200, r.text
        sheet = load_workbook(io.BytesIO(r.content)).active
        names = sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True))
        assert names == ["丙0", "丙1", "丙2"]
        everyone = load_workbook(io.BytesIO((await admin.get("/club/members?format=xlsx")).content)).active
        assert everyone.max_row == 1 + 4  # the header and every member (张三丰 too)
        page = await admin.get("/club/members")
        assert "4" in page.text and "format=xlsx" in page.text


async def test_another_tenant_signing_up_sees_no_tallies(client: Any, owner: asyncpg.Connection) -> None:
    w = await club_world(client)
    assert (await scan(client, w, await qr(client, w))).status_code == 201
    other = await signup(client)
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", other["tenant_id"])
        assert await owner.fetchval("SELECT count(*) FROM club_tally") == 0
        assert await owner.fetchval("SELECT count(*) FROM club_member_term") == 0


async def test_first_uses_of_the_signing_key_racing_all_get_the_one_key(client: Any, owner: asyncpg.Connection
                                                                        ) -> None:
    """Found by the scale benchmark: members opening their cards at once, before the company had a
    signing key, raced to make it, and the losers' transactions broke (a 500)."""
    import asyncio

    from careclub.clubs.service._keys import active_key
    from careclub.core.db import tenant_scope

    w = await club_world(client)
    tenant = uuid.UUID(w["t"]["tenant_id"])
    await as_owner(owner, w["t"]["tenant_id"], "DELETE FROM club_signing_key")

    async def first_use() -> int:
        async with tenant_scope(tenant):
            key = await active_key()
            await asyncio.sleep(0.05)  # hold the transaction open while the others try
            return int(key["kid"])

    kids = await asyncio.gather(*(first_use() for _ in range(8)))
    assert len(set(kids)) == 1, kids
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", w["t"]["tenant_id"])
        assert await owner.fetchval("SELECT count(*) FROM club_signing_key") == 1


async def test_a_term_whose_grace_ran_out_an_hour_ago_has_lapsed_and_one_an_hour_from_now_has_not(
        client: Any, owner: asyncpg.Connection) -> None:
    """Renewal figures come from tallies by the day a term ends; on the day whose grace runs out today
    the hour decides, and those terms are counted one by one."""
    w = await club_world(client, grace_days=10)
    t, cid, h = w["t"], w["club"]["id"], w["t"]["headers"]
    cards = []
    for i in range(3):
        m = await _member(client, t, cid, f"丁{i}", f"1320000{i:04d}")
        card = await ok(await client.post(f"/api/v1/members/{m['id']}/cards", headers=h,
                                          json={"plan_id": w["vip"]["id"]}), 201)
        period = (await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h)))[0]
        await ok(await client.post(f"/api/v1/periods/{period['id']}/offline-payment", headers=h,
                                   json={"reference": "R"}))
        cards.append(card)
    for card, shift in zip(cards, ("-10 days -1 hour", "-10 days +1 hour", "-10 days -2 hours"), strict=True):
        await as_owner(owner, t["tenant_id"], f"UPDATE club_period p SET ends_at = now() + interval '{shift}' "
                       "FROM club_card c WHERE c.id = p.card AND c.card_no = $1", card["card_no"])
    rates = (await ok(await client.get(f"/api/v1/clubs/{cid}/stats", headers=h)))["renewal_rates"]
    assert sum(r["due"] for r in rates) == 3, rates
    assert sum(r["renewed"] for r in rates) == 0, rates
    assert sum(r["lapsed"] for r in rates) == 2, rates
    assert await tally_differences(owner, t["tenant_id"]) == []


def _loader_module() -> Any:
    from careclub.core.bench import helper_module

    return helper_module("_scale_load")


async def test_the_bench_loaders_bare_rebuild_leaves_the_table_as_the_schema_has_it(
        client: Any, owner: asyncpg.Connection) -> None:
    """`careclub bench scale` rebuilds the search terms with the table's indexes and keys dropped and made
    again after: the same rows, the same indexes and constraints (the keys validated), the policy forced."""
    w = await club_world(client)
    for i, (name, phone) in enumerate((("王小明", "13800001111"), ("李华", "13900002222"))):
        m = await _member(client, w["t"], w["club"]["id"], name, phone)
        await ok(await client.post(f"/api/v1/members/{m['id']}/vehicles", headers=w["t"]["headers"],
                                   json={"plate": f"粤B1234{i}"}), 201)
    other = await club_world(client)
    await _member(client, other["t"], other["club"]["id"], "张三", "13700003333")
    shape = ("SELECT (SELECT array_agg(d ORDER BY d) FROM (SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index "
             "WHERE indrelid = 'club_member_term'::regclass) i) AS indexes, "
             "(SELECT array_agg(d ORDER BY d) FROM (SELECT conname || ' ' || pg_get_constraintdef(oid) || ' ' || "
             "convalidated AS d FROM pg_constraint WHERE conrelid = 'club_member_term'::regclass) c) AS constraints, "
             "(SELECT array_agg(relforcerowsecurity ORDER BY relname) FROM pg_class "
             "WHERE relname IN ('club_member_term', 'club_member')) AS forced")
    terms = "SELECT member, term FROM club_member_term ORDER BY 1, 2"

    async def rows(tenant: str) -> list[Any]:
        async with owner.transaction():
            await owner.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            return [tuple(r) for r in await owner.fetch(terms)]

    before, theirs = await owner.fetchrow(shape), await rows(other["t"]["tenant_id"])
    mine = await rows(w["t"]["tenant_id"])
    assert mine and theirs
    await owner.execute("SELECT set_config('app.tenant_id', $1, false)", w["t"]["tenant_id"])
    try:
        made = await _loader_module().Loader._rebuild_bare(owner, "club_member_terms_rebuild", "club_member_term")
    finally:
        await owner.execute("RESET app.tenant_id")
    assert made == len([r for r in mine if not r[1].startswith("=")])
    assert await owner.fetchrow(shape) == before
    assert await rows(w["t"]["tenant_id"]) == mine and await rows(other["t"]["tenant_id"]) == theirs


async def test_the_bench_loaders_bare_tables_come_back_with_every_index_key_and_foreign_key(
        client: Any, owner: asyncpg.Connection, infra: Any) -> None:
    """From 100,000 members `careclub bench scale` fills every club table bare (`Loader._strip`) and makes
    their indexes, keys and foreign keys once at the end (`_unstrip`): afterwards every table, each check-in
    partition included, has the indexes (by name, columns, uniqueness, partial or not; PostgreSQL may print a
    predicate it parsed again differently) and constraints the schema gives it, valid, and the policy forced. (A
    partitioned table's index is defined `ON ONLY` its parent: made again so, the partitions had none.)"""
    from types import SimpleNamespace

    w = await club_world(client)
    assert (await scan(client, w, await qr(client, w))).status_code == 201  # a partition with a row
    module = _loader_module()
    shape = (
        "WITH t AS (SELECT oid FROM pg_class WHERE relname = ANY($1::text[]) AND relnamespace = 'public'::regnamespace "
        "UNION SELECT inhrelid FROM pg_inherits WHERE inhparent = 'club_checkin'::regclass) "
        "SELECT (SELECT array_agg(d ORDER BY d) FROM (SELECT i.indrelid::regclass::text || ' ' "
        "|| i.indexrelid::regclass::text || ' ' || i.indkey::text || ' ' || i.indisunique || ' ' || i.indisvalid "
        "|| ' ' || (i.indpred IS NOT NULL) AS d FROM pg_index i JOIN t ON t.oid = i.indrelid) x) "
        "AS indexes, (SELECT array_agg(d ORDER BY d) FROM (SELECT c.conrelid::regclass::text || ' ' || c.conname "
        "|| ' ' || pg_get_constraintdef(c.oid) || ' ' || c.convalidated AS d FROM pg_constraint c "
        "JOIN t ON t.oid = c.conrelid) y) AS constraints, "
        "(SELECT array_agg(d ORDER BY d) FROM (SELECT c.oid::regclass::text || ' ' || c.relforcerowsecurity AS d "
        "FROM pg_class c JOIN t ON t.oid = c.oid) z) AS forced")
    tables = list(module.BARE_TABLES)
    before = await owner.fetchrow(shape, tables)
    loader = module.Loader(infra.owner_dsn, SimpleNamespace(tenant_id=w["t"]["tenant_id"], slug="test"), None,
                           seed=1, emit=lambda line: None)
    await owner.execute("SELECT set_config('app.tenant_id', $1, false)", w["t"]["tenant_id"])
    try:
        assert await loader._strip(owner) > 0
        bare = await owner.fetchrow(shape, tables)
        assert len(bare["indexes"]) < len(before["indexes"]) and len(bare["constraints"]) < len(before["constraints"])
        await loader._unstrip()
    finally:
        await owner.execute("RESET app.tenant_id")
    after = await owner.fetchrow(shape, tables)
    assert after["indexes"] == before["indexes"]
    assert after["constraints"] == before["constraints"]
    assert after["forced"] == before["forced"]


async def test_a_migrations_backfill_rebuilds_each_company_under_its_own_binding(client: Any,
                                                                               owner: asyncpg.Connection) -> None:
    """`per_tenant_sql`, the backfill every migration of derived rows runs: each company holding members gets its
    search terms and tallies made again with itself in context, and the table's policy is forced again after."""
    from careclub.core.db import per_tenant_sql

    worlds = [await club_world(client), await club_world(client)]
    terms = "SELECT member, term FROM club_member_term ORDER BY member, term"
    kept = {}
    for w in worlds:
        tid = w["t"]["tenant_id"]
        kept[tid] = await as_owner(owner, tid, terms)
        assert kept[tid]
        await as_owner(owner, tid, "DELETE FROM club_member_term")
        await as_owner(owner, tid, "DELETE FROM club_tally")
        assert await tally_differences(owner, tid) != []
    async with owner.transaction():
        await owner.execute(per_tenant_sql("club_member", "club_member_terms_rebuild()", "club_tally_rebuild()"))
    for w in worlds:
        tid = w["t"]["tenant_id"]
        assert await as_owner(owner, tid, terms) == kept[tid]
        assert await tally_differences(owner, tid) == []
    assert await owner.fetchval("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'club_member'")
    assert await owner.fetchval("SELECT current_setting('app.tenant_id', true)") in (None, "")


def test_the_bench_loaders_month_chunks_each_go_straight_into_one_partition() -> None:
    """`careclub bench scale` writes each month's check-ins straight into that month's partition (`partition_of`;
    the parent's policy check skipped): every chunk it draws lies within one UTC month, named as the partitions
    are; a range crossing into the next month goes through the parent."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    module = _loader_module()
    march = "club_checkin_parts.club_checkin_y2026m03"
    assert module.partition_of(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)) == march
    assert module.partition_of(datetime(2026, 3, 17, 5, tzinfo=UTC), datetime(2026, 3, 31, 16, tzinfo=UTC)) == march
    assert module.partition_of(datetime(2026, 3, 31, 16, tzinfo=UTC), datetime(2026, 4, 1, 0, 1, tzinfo=UTC)) == \
        "club_checkin"
    assert "INSERT INTO club_checkin_parts.club_checkin_y2026m03 (" in module.checkins_into(march)
    for zone in ("Asia/Shanghai", "America/New_York", "Pacific/Auckland"):
        loader = module.Loader("", SimpleNamespace(tenant_id=uuid.uuid4(), slug="test", timezone=zone),
                               module.Sizes(members=1000, checkins=100_000, audit=0, months=24), seed=1,
                               emit=lambda line: None)
        chunks, _midnight, today = loader._checkin_chunks()
        assert len(chunks) >= 24 and sum(n for _, _, n in chunks) + today == 100_000
        assert all(module.partition_of(a, b) != "club_checkin" for a, b, _ in chunks), zone
