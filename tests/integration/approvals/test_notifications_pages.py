"""The in-app notifications (page and API, only one's own) and the admins' mail outbox page."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

from litestar import Litestar

from careclub.approvals import service
from careclub.approvals.tables import Notification, OutboxEmail
from careclub.core.db import tenant_scope
from careclub.platform.tables import AuditEntry
from tests.integration.approvals.conftest import World, make_world
from tests.integration.approvals.test_mail import FakeSmtp
from tests.integration.approvals.test_pages import post_form, signed_in
from tests.integration.approvals.test_requests import active_step, decide, detail
from tests.integration.platform.pages import csrf_token


async def notes(client: Any, w: World, who: str, **params: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/notifications", headers=w.h(who), params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    return body


def listed_ids(page_html: str) -> list[str]:
    return re.findall(r'<li(?: class="unread")? data-id="([0-9a-f-]{36})"', page_html)


async def test_a_decision_reaches_the_requester_on_the_page_and_through_the_api(
        app: Litestar, client: Any, world: World) -> None:
    req = await world.open(50000, title="Replace the gate motor")
    step = active_step(await detail(client, world, req["id"]))
    assert (await notes(client, world, "clerk"))["total"] == 0
    r = await decide(client, world, req["id"], step["id"], "pmc1", comment="go ahead")
    assert r.status_code == 201, r.text

    body = await notes(client, world, "clerk")
    [note] = body["items"]
    assert body["total"] == 1 and body["limit"] == 50 and body["offset"] == 0
    assert note["kind"] == "approval_approved" and note["title"] == "已批准：Replace the gate motor"
    assert note["link"] == f"/approvals/requests/{req['id']}" and note["read_at"] is None
    assert "user_id" not in note

    async with signed_in(app, world, "clerk") as c:
        listing = await c.get("/notifications")
        assert listing.status_code == 200
        assert "已批准：Replace the gate motor" in listing.text
        assert listed_ids(listing.text) == [note["id"]]
        assert f'<li class="unread" data-id="{note["id"]}"' in listing.text
        assert re.search(r'data-notifications-count\s*>1<', listing.text), "the navigation shows one unread"
        assert (await c.get("/notifications/count")).json() == {"count": 1}
        # another page shows the badge too (the approvals pages count it on the server)
        assert re.search(r'data-notifications-count\s*>1<', (await c.get("/approvals")).text)
        # opening it without the form's CSRF token changes nothing
        assert (await c.post(f"/notifications/{note['id']}/open")).status_code == 403
        assert (await notes(client, world, "clerk", unread="true"))["total"] == 1
        r = await post_form(c, "/notifications", f"/notifications/{note['id']}/open")
        assert r.status_code == 303
        assert r.headers["location"] == f"/approvals/requests/{req['id']}"
        assert (await c.get(r.headers["location"])).status_code == 200
        after = await c.get("/notifications")
        assert 'class="unread"' not in after.text and "已批准：Replace the gate motor" in after.text
        assert re.search(r'data-notifications-count\s+hidden\s*><', after.text)
    [read] = (await notes(client, world, "clerk"))["items"]
    assert read["read_at"] is not None
    assert (await notes(client, world, "clerk", unread="true"))["total"] == 0
    # the approvers were told too, each in their own inbox
    assert [n["title"] for n in (await notes(client, world, "pmc2"))["items"]] == ["待您审批：Replace the gate motor"]


async def test_each_recipient_reads_notifications_and_mail_in_their_own_language(client: Any, world: World) -> None:
    from careclub.platform.tables import User

    async with tenant_scope(world.tenant_id):
        await User.update({User.locale: "en"}).where(User.id == world.users["pmc2"])
    await world.open(50000, title="Repaint the railings")
    assert [n["title"] for n in (await notes(client, world, "pmc1"))["items"]] == ["待您审批：Repaint the railings"]
    assert [n["title"] for n in (await notes(client, world, "pmc2"))["items"]] == ["To approve: Repaint the railings"]
    async with tenant_scope(world.tenant_id):
        subjects = {m["to_email"]: m["subject"] for m in await OutboxEmail.select(
            OutboxEmail.to_email, OutboxEmail.subject).where(OutboxEmail.subject.like("%Repaint the railings"))}
        emails = {u["id"]: u["email"] for u in await User.select(User.id, User.email)}
    assert subjects[emails[world.users["pmc1"]]] == "待您审批：Repaint the railings"
    assert subjects[emails[world.users["pmc2"]]] == "To approve: Repaint the railings"
    # a title is a value, never looked up as a message or read as a format string
    await world.open(50000, title="Approved: {title} {0}")
    assert "待您审批：Approved: {title} {0}" in [n["title"] for n in (await notes(client, world, "pmc1"))["items"]]


async def test_read_one_read_all_and_paging(app: Litestar, client: Any, world: World) -> None:
    async with tenant_scope(world.tenant_id):
        for i in range(27):
            await service.notify([world.users["clerk"]], "approval_reminder", f"Reminder {i:02d}",
                                 link="/approvals")
    first = await notes(client, world, "clerk", limit=2, offset=1)
    assert first["total"] == 27 and first["limit"] == 2 and first["offset"] == 1
    assert [n["title"] for n in first["items"]] == ["Reminder 25", "Reminder 24"], "newest first"
    assert (await client.get("/api/v1/notifications?limit=0", headers=world.h("clerk"))).status_code == 422

    one = first["items"][0]
    r = await client.post(f"/api/v1/notifications/{one['id']}/read", headers=world.h("clerk"))
    assert r.status_code == 200 and r.json()["read_at"] is not None and r.json()["id"] == one["id"]
    again = await client.post(f"/api/v1/notifications/{one['id']}/read", headers=world.h("clerk"))
    assert again.status_code == 200 and again.json()["read_at"] == r.json()["read_at"]
    assert (await notes(client, world, "clerk", unread="true"))["total"] == 26
    async with tenant_scope(world.tenant_id):
        reads = await AuditEntry.count().where(AuditEntry.action == "notification.read",
                                               AuditEntry.entity_id == one["id"])
    assert reads == 1, "reading it again records nothing"

    async with signed_in(app, world, "clerk") as c:
        page1 = await c.get("/notifications")
        assert "Page 1 of 2" in page1.text and "Reminder 26" in page1.text and "Reminder 00" not in page1.text
        assert len(listed_ids(page1.text)) == 25
        page2 = await c.get("/notifications?page=2")
        assert "Reminder 00" in page2.text and "Reminder 26" not in page2.text
        unread_only = await c.get("/notifications?unread=1")
        assert "Reminder 25" not in unread_only.text and "Reminder 24" in unread_only.text
        assert (await c.post("/notifications/read-all")).status_code == 403  # no CSRF token
        r = await post_form(c, "/notifications", "/notifications/read-all")
        assert r.status_code == 303
        done = await c.get(r.headers["location"])
        assert "26 notification(s) marked read." in done.text
        assert 'class="unread"' not in done.text and 'id="read-all"' not in done.text
    assert (await notes(client, world, "clerk", unread="true"))["total"] == 0
    r = await client.post("/api/v1/notifications/read-all", headers=world.h("clerk"))
    assert r.status_code == 200 and r.json() == {"marked": 0}


async def test_racing_reads_mark_each_notification_once(client: Any, world: World) -> None:
    async with tenant_scope(world.tenant_id):
        for i in range(5):
            await service.notify([world.users["clerk"]], "approval_task", f"Task {i}", link="/approvals")
    [one, *_rest] = (await notes(client, world, "clerk"))["items"]
    reads = await asyncio.gather(*[client.post(f"/api/v1/notifications/{one['id']}/read", headers=world.h("clerk"))
                                   for _ in range(8)])
    assert {r.status_code for r in reads} == {200}
    assert len({r.json()["read_at"] for r in reads}) == 1, "every caller sees the one recorded read"
    alls = await asyncio.gather(*[client.post("/api/v1/notifications/read-all", headers=world.h("clerk"))
                                  for _ in range(8)])
    assert sum(r.json()["marked"] for r in alls) == 4, "each of the other four is marked exactly once"
    async with tenant_scope(world.tenant_id):
        audited = await AuditEntry.count().where(AuditEntry.action == "notification.read",
                                                 AuditEntry.entity_id == one["id"])
    assert audited == 1


async def test_only_ones_own_notifications(app: Litestar, client: Any, world: World) -> None:
    other = await make_world(client)
    async with tenant_scope(world.tenant_id):
        await service.notify([world.users["clerk"]], "approval_task", "For the clerk", link="/approvals")
    async with tenant_scope(other.tenant_id):
        await service.notify([other.users["clerk"]], "approval_task", "For the other tenant's clerk",
                             link="/approvals")
    [mine] = (await notes(client, world, "clerk"))["items"]
    [theirs] = (await notes(client, other, "clerk"))["items"]
    assert theirs["title"] == "For the other tenant's clerk"

    # a colleague in the same tenant, and the other tenant's own clerk: 404, as if it did not exist
    for w, who, nid in ((world, "pm", mine["id"]), (other, "clerk", mine["id"]), (world, "clerk", theirs["id"])):
        r = await client.post(f"/api/v1/notifications/{nid}/read", headers=w.h(who))
        assert r.status_code == 404, (who, r.text)
        assert r.json()["error"]["code"] == "notification_not_found"
    assert (await notes(client, world, "pm"))["items"] == []
    assert [n["id"] for n in (await notes(client, world, "clerk"))["items"]] == [mine["id"]]
    assert (await client.post("/api/v1/notifications/read-all", headers=world.h("pm"))).json() == {"marked": 0}
    assert (await client.post("/api/v1/notifications/read-all", headers=other.h("clerk"))).json() == {"marked": 1}

    async with signed_in(app, world, "pm") as c:
        listing = await c.get("/notifications")
        assert "For the clerk" not in listing.text and "No notifications yet." in listing.text
        token = csrf_token(listing)
        for nid in (mine["id"], theirs["id"]):
            r = await c.post(f"/notifications/{nid}/open", data={"_csrf_token": token})
            assert r.status_code == 404
    async with tenant_scope(world.tenant_id):
        row = await Notification.select(Notification.read_at).where(Notification.id == mine["id"]).first()
    assert row is not None and row["read_at"] is None, "nobody else's attempt marked the clerk's notification"


async def test_a_stored_link_never_leads_off_site(app: Litestar, world: World) -> None:
    async with tenant_scope(world.tenant_id):
        await service.notify([world.users["clerk"]], "approval_task", "Odd link", link="//evil.example/x")
    async with signed_in(app, world, "clerk") as c:
        listing = await c.get("/notifications")
        [nid] = listed_ids(listing.text)
        r = await c.post(f"/notifications/{nid}/open", data={"_csrf_token": csrf_token(listing)})
        assert r.status_code == 303 and r.headers["location"] == "/notifications"


async def test_outbox_page_shows_queued_sent_and_failed_mail_to_admins_only(app: Litestar, world: World) -> None:
    await world.open(50000, title="Projector")
    smtp = FakeSmtp()
    port = await smtp.start()
    try:
        async with tenant_scope(world.tenant_id):
            assert await service.send_outbox(f"smtp://127.0.0.1:{port}") == 2
    finally:
        await smtp.stop()
    await world.open(50000, title="Speakers")
    async with tenant_scope(world.tenant_id):
        assert await service.send_outbox("smtp://127.0.0.1:1") == 0
        failed = await OutboxEmail.select().where(OutboxEmail.subject == "待您审批：Speakers")
    assert len(failed) == 2 and all(m["error"] and m["attempts"] == 1 and m["sent_at"] is None for m in failed)
    await world.open(50000, title="Lamp")

    for who in ("pmc1", "clerk"):
        async with signed_in(app, world, who) as c:
            assert (await c.get("/approvals/outbox")).status_code == 403
            assert 'href="/approvals/outbox"' not in (await c.get("/approvals")).text

    async with signed_in(app, world, "admin") as c:
        policies = await c.get("/approvals/policies")
        assert 'href="/approvals/outbox"' in policies.text
        everything = await c.get("/approvals/outbox")
        assert everything.status_code == 200
        assert "6 messages" in everything.text
        assert "No mail server is configured" in everything.text
        for title in ("Projector", "Speakers", "Lamp"):
            assert f"待您审批：{title}" in everything.text
        assert f"pmc1@{world.slug}.test" in everything.text

        only_failed = await c.get("/approvals/outbox?status=failed")
        assert "待您审批：Speakers" in only_failed.text
        assert "待您审批：Lamp" not in only_failed.text and "待您审批：Projector" not in only_failed.text
        assert html.escape(failed[0]["error"]) in only_failed.text
        assert only_failed.text.count('data-status="failed"') == 2 and "1 attempt" in only_failed.text

        queued = await c.get("/approvals/outbox?status=queued")
        assert "待您审批：Lamp" in queued.text and "待您审批：Speakers" not in queued.text
        assert queued.text.count('data-status="queued"') == 2 and "0 attempts" in queued.text

        sent = await c.get("/approvals/outbox?status=sent")
        assert "待您审批：Projector" in sent.text and "待您审批：Lamp" not in sent.text
        assert sent.text.count('data-status="sent"') == 2

        nonsense = await c.get("/approvals/outbox?status=bogus")
        assert nonsense.status_code == 200 and nonsense.text.count("data-status=") == 6
