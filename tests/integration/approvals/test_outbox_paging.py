"""The mail outbox API is paged like the other lists: `limit` / `offset`, the total of the
tenant's mail only, every mail exactly once across the pages."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.approvals.tables import OutboxEmail
from careclub.core.db import tenant_scope
from tests.conftest import signup


async def _mail(tenant_id: str, prefix: str, n: int) -> None:
    # one transaction, so every row shares created_at: paging must still be stable
    async with tenant_scope(uuid.UUID(tenant_id)):
        for i in range(n):
            await OutboxEmail(to_email=f"{prefix}{i}@example.test", subject=f"{prefix} {i}").save()


async def test_outbox_is_paged_and_counts_only_the_tenants_mail(client: Any) -> None:
    mine, theirs = await signup(client), await signup(client)
    url = "/api/v1/approvals/outbox"
    assert (await client.get(url, headers=mine["headers"])).json()["total"] == 0  # a new tenant: no mail yet
    await _mail(mine["tenant_id"], "mine", 5)
    await _mail(theirs["tenant_id"], "theirs", 4)
    pages = []
    for offset in (0, 2, 4):
        r = await client.get(url, headers=mine["headers"], params={"limit": 2, "offset": offset})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["total"], body["limit"], body["offset"]) == (5, 2, offset)
        pages.append(body["items"])
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [m for p in pages for m in p]
    assert len({m["id"] for m in seen}) == len(seen)  # no mail on two pages
    assert sorted(m["subject"] for m in seen) == [f"mine {i}" for i in range(5)]  # none of theirs
    assert all(m["status"] == "queued" and m["body"] == "" for m in seen)
    past = (await client.get(url, headers=mine["headers"], params={"offset": 5})).json()
    assert (past["items"], past["total"]) == ([], 5)
    theirs_page = (await client.get(url, headers=theirs["headers"])).json()
    assert theirs_page["total"] == 4
    assert sorted(m["subject"] for m in theirs_page["items"]) == [f"theirs {i}" for i in range(4)]
    assert (await client.get(url, headers=mine["headers"], params={"limit": 0})).status_code == 422
    assert (await client.get(url, headers=mine["headers"], params={"limit": 201})).status_code == 422


async def test_outbox_status_filter(client: Any) -> None:
    from careclub.core import clock

    mine = await signup(client)
    url = "/api/v1/approvals/outbox"
    await _mail(mine["tenant_id"], "m", 3)
    async with tenant_scope(uuid.UUID(mine["tenant_id"])):
        await OutboxEmail.update({OutboxEmail.sent_at: clock.now()}).where(OutboxEmail.subject == "m 0")
        await OutboxEmail.update({OutboxEmail.error: "550 no such user", OutboxEmail.attempts: 1}).where(
            OutboxEmail.subject == "m 1")
    for status, subjects in (("sent", ["m 0"]), ("failed", ["m 1"]), ("queued", ["m 2"])):
        body = (await client.get(url, headers=mine["headers"], params={"status": status})).json()
        assert (body["total"], [m["subject"] for m in body["items"]]) == (1, subjects)
        assert body["items"][0]["status"] == status
    bad = await client.get(url, headers=mine["headers"], params={"status": "lost"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"
