"""The management pages as an admin uses them: units, people and grants, roles, tokens, audit."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from litestar import Litestar

from tests.conftest import PASSWORD, signup
from tests.integration.platform.pages import browser, csrf_token, login, submit


def _option_value(html: str, select_name: str, label: str) -> str:
    block = html.split(f'name="{select_name}"', 1)[1].split("</select>", 1)[0]
    match = re.search(r'<option value="([^"]*)"[^>]*>(?:\xa0)*' + re.escape(label) + "</option>", block)
    assert match, (select_name, label, block[:500])
    return match.group(1)


async def test_units_tree_edit_and_refused_delete(app: Litestar, client: Any) -> None:
    t = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        org = await c.get("/org")
        root = _option_value(org.text, "parent_id", f"Company {t['slug']}")
        assert (await submit(c, "/org", parent_id=root, code="NORTH", name="North", kind="region")).status_code == 303
        org = await c.get("/org")
        north = _option_value(org.text, "parent_id", "North")
        assert (await submit(c, "/org", parent_id=north, code="N1", name="North One",
                             kind="project")).status_code == 303
        tree = (await c.get("/org")).text
        assert tree.index(">North<") < tree.index(">North One<")
        assert 'class="depth-2"' in tree  # the grandchild is indented two levels

        taken = await submit(c, "/org", parent_id=north, code="N1", name="Again", kind="project")
        assert taken.status_code == 409 and 'id="e-code"' in taken.text and 'value="Again"' in taken.text

        # delete refused while the unit has a child, with the service's reason on the page
        refused = await submit(c, f"/org/{north}", f"/org/{north}/delete")
        assert refused.status_code == 409 and "child units" in refused.text
        assert ">North<" in (await c.get("/org")).text

        renamed = await submit(c, f"/org/{north}", name="North Region", kind="region")
        assert renamed.status_code == 303
        assert "North Region" in (await c.get(f"/org/{north}")).text
        empty_name = await submit(c, f"/org/{north}", name="  ", kind="region")
        assert empty_name.status_code == 422 and 'id="e-name"' in empty_name.text

        one = _option_value(tree, "parent_id", "North One")
        assert (await submit(c, f"/org/{one}", f"/org/{one}/delete")).status_code == 303
        assert "North One" not in (await c.get("/org")).text


async def test_person_edit_grants_and_revoke(app: Litestar, client: Any) -> None:
    t = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        new = await c.get("/staff/new")
        root = _option_value(new.text, "org_unit", f"Company {t['slug']}")
        dup = await submit(c, "/staff/new", display_name="Twin", email=t["email"], kind="staff", org_unit=root,
                           role="", password="")
        assert dup.status_code == 409 and 'id="e-email"' in dup.text and 'value="Twin"' in dup.text
        weak = await submit(c, "/staff/new", display_name="Weak", email=f"weak@{t['slug']}.test", kind="staff",
                            org_unit=root, role="", password="password123")
        assert weak.status_code == 422 and 'id="e-password"' in weak.text
        made = await submit(c, "/staff/new", display_name="Erin", email=f"erin@{t['slug']}.test", kind="staff",
                            org_unit=root, role="cs_clerk", password=PASSWORD)
        assert made.status_code == 303
        person_path = made.headers["location"].split("?", 1)[0]
        page = await c.get(person_path)
        assert "Customer-service clerk" in page.text

        granted = await submit(c, person_path, f"{person_path}/grants", role="dispatcher", org_unit=root)
        assert granted.status_code == 303
        page = await c.get(person_path)
        assert "Dispatcher" in page.text
        grant_ids = re.findall(rf'action="{person_path}/grants/([0-9a-f-]+)/delete"', page.text)
        assert len(grant_ids) == 2

        saved = await submit(c, person_path, display_name="Erin Lee", phone="138 0000 0000", org_unit=root,
                             locale="en", is_active="on")
        assert saved.status_code == 303
        page = await c.get(person_path)
        assert "Erin Lee" in page.text and 'value="138 0000 0000"' in page.text

        bad = await submit(c, person_path, display_name="", phone="", org_unit=root, locale="", is_active="on")
        assert bad.status_code == 422 and 'id="e-display_name"' in bad.text

        removed = await c.post(f"{person_path}/grants/{grant_ids[0]}/delete", data={"_csrf_token": csrf_token(page)})
        assert removed.status_code == 303
        page = await c.get(person_path)
        assert len(re.findall(rf'action="{person_path}/grants/[0-9a-f-]+/delete"', page.text)) == 1

        # deactivating signs the person out and keeps them from signing in
        async with browser(app) as erin:
            await login(erin, t["slug"], f"erin@{t['slug']}.test", PASSWORD)
            assert (await erin.get("/tokens")).status_code == 200
            off = await submit(c, person_path, display_name="Erin Lee", phone="", org_unit=root, locale="")
            assert off.status_code == 303
            assert (await erin.get("/tokens")).status_code in (302, 303)


async def test_roles_builtin_read_only_custom_editable(app: Litestar, client: Any) -> None:
    t = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        roles = await c.get("/roles")
        finance = re.search(r'href="/roles/([0-9a-f-]+)">Finance<', roles.text)
        assert finance
        builtin = await c.get(f"/roles/{finance.group(1)}")
        assert "built-in role" in builtin.text and "disabled" in builtin.text
        assert f'action="/roles/{finance.group(1)}"' not in builtin.text  # no edit form
        refused = await c.post(f"/roles/{finance.group(1)}/delete", data={"_csrf_token": csrf_token(builtin)})
        assert refused.status_code == 403

        none_chosen = await submit(c, "/roles", code="bad code", name="Bad", description="")
        assert none_chosen.status_code == 422 and 'id="e-code"' in none_chosen.text
        made = await submit(c, "/roles", code="gate", name="Gate", description="front gate",
                            **{"perm:checkins.scan": "on"})
        assert made.status_code == 303
        gate = re.search(r'href="/roles/([0-9a-f-]+)">Gate<', (await c.get("/roles")).text)
        assert gate
        path = f"/roles/{gate.group(1)}"
        edited = await submit(c, path, name="Gate keeper", description="", **{"perm:checkins.scan": "on",
                                                                              "perm:members.read": "on"})
        assert edited.status_code == 303
        page = await c.get(path)
        assert 'name="perm:members.read" value="on" checked' in page.text
        assert (await c.post(f"{path}/delete", data={"_csrf_token": csrf_token(page)})).status_code == 303
        assert "Gate keeper" not in (await c.get("/roles")).text


async def test_tokens_created_once_listed_and_revoked(app: Litestar, client: Any) -> None:
    t = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        bad = await submit(c, "/tokens", name="x", kind="root", hours="")
        assert bad.status_code == 422 and 'id="e-kind"' in bad.text
        bad_hours = await submit(c, "/tokens", name="x", kind="api", hours="0")
        assert bad_hours.status_code == 422 and 'id="e-hours"' in bad_hours.text
        made = await submit(c, "/tokens", name="erp sync", kind="api", hours="24")
        assert made.status_code == 201
        token = made.text.split('id="new-token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        listing = await c.get("/tokens")
        revoke = re.search(r'<span class="row-main">erp sync.*?action="(/tokens/[0-9a-f-]+/revoke)"', listing.text,
                           re.S)
        assert revoke
        assert (await c.post(revoke.group(1), data={"_csrf_token": csrf_token(listing)})).status_code == 303
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_audit_date_range_is_read_in_the_tenant_zone(app: Litestar, client: Any,
                                                           owner: asyncpg.Connection) -> None:
    t = await signup(client)
    zone = ZoneInfo("Asia/Shanghai")
    # an entry at 23:30 Shanghai time on 1 March is 15:30 UTC: it belongs to 1 March, not 2 March
    at = datetime(2026, 3, 1, 23, 30, tzinfo=zone)
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", t["tenant_id"])
        await owner.execute("INSERT INTO audit_entry (id, tenant_id, created_at, actor_name, action, entity_type, "
                            "entity_id, after) VALUES (gen_random_uuid(), $1, $2, 'tester', 'probe.late', 'probe', "
                            "'p1', '{\"note\": \"late\"}')", t["tenant_id"], at)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        day1 = await c.get("/audit", params={"action": "probe.", "since": "2026-03-01", "until": "2026-03-01"})
        assert day1.status_code == 200 and "probe.late" in day1.text
        assert "2026-03-01 23:30:00" in day1.text and '"note": "late"' in day1.text.replace("&#34;", '"')
        day2 = await c.get("/audit", params={"action": "probe.", "since": "2026-03-02"})
        assert "probe.late" not in day2.text
        before = await c.get("/audit", params={"action": "probe.", "until": "2026-02-28"})
        assert "probe.late" not in before.text
        by_actor = await c.get("/audit", params={"actor": "teste", "entity_type": "probe"})
        assert "probe.late" in by_actor.text
