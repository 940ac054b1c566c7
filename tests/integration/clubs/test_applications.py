"""Applications on a plan that needs approval go through the approval core: approved → the
card activates (free) or waits for its first period (paid); rejected → the card is cancelled."""

from __future__ import annotations

from typing import Any

from careclub.platform.tenant_file import apply_text
from tests.conftest import unique_slug
from tests.integration.clubs.helpers import ok

PASSWORD = "careclub-demo-2026"

FILE = """
[tenant]
slug = "{slug}"
name = "Club approvals {slug}"

[demo]
password = "{password}"

[[demo.users]]
email = "approver@{slug}.test"
name = "Ann Approver"
roles = ["approver"]

[[demo.users]]
email = "admin@{slug}.test"
name = "Admin"
roles = ["tenant_admin"]

[[demo.users]]
email = "m1@{slug}.test"
name = "Member One"
kind = "member"
roles = ["member"]

[[demo.users]]
email = "m2@{slug}.test"
name = "Member Two"
kind = "member"
roles = ["member"]

[[approvals.policies]]
subject_type = "member_application"
name = "Club applications"

[[approvals.policies.rules]]
name = "all"

[[approvals.policies.rules.steps]]
kind = "single"
name = "Club approves"
approvers = [{{ role = "approver", unit = "HQ" }}]

[[clubs]]
code = "gold"
name = "Gold club"
card_prefix = "G-"

[[clubs.plans]]
code = "free"
name = "Free by approval"
needs_approval = true

[[clubs.plans]]
code = "paid"
name = "Paid by approval"
fee = "100.00"
needs_approval = true
"""


async def _login(client: Any, slug: str, who: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": f"{who}@{slug}.test",
                                                      "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _decide(client: Any, approver: dict[str, str], decision: str) -> None:
    tasks = await ok(await client.get("/api/v1/approvals/tasks", headers=approver))
    assert len(tasks) == 1 and tasks[0]["subject_type"] == "member_application"
    await ok(await client.post(f"/api/v1/approvals/requests/{tasks[0]['request_id']}/decisions", headers=approver,
                               json={"step_id": tasks[0]["step_id"], "decision": decision,
                                     "comment": "checked"}), 201)


async def test_application_approved_then_rejected(client: Any) -> None:
    slug = unique_slug("club")
    await apply_text(FILE.format(slug=slug, password=PASSWORD), demo=True)
    admin, approver = await _login(client, slug, "admin"), await _login(client, slug, "approver")
    m1, m2 = await _login(client, slug, "m1"), await _login(client, slug, "m2")
    club = (await ok(await client.get("/api/v1/clubs", headers=admin)))[0]
    plans = {p["code"]: p for p in await ok(await client.get(f"/api/v1/clubs/{club['id']}/plans", headers=admin))}

    card = await ok(await client.post(f"/api/v1/clubs/{club['id']}/applications", headers=m1, json={
        "plan_id": plans["free"]["id"], "name": "Member One", "phone": "13000000001"}), 201)
    assert card["status"] == "pending"
    await _decide(client, approver, "approve")
    mine = await ok(await client.get("/api/v1/me/cards", headers=m1))
    assert [c["status"] for c in mine] == ["active"]
    events = [e["kind"] for e in await ok(await client.get(f"/api/v1/cards/{card['card_no']}/events",
                                                           headers=admin))]
    assert events == ["created", "approval_requested", "approved", "activated"]

    paid = await ok(await client.post(f"/api/v1/clubs/{club['id']}/applications", headers=m2, json={
        "plan_id": plans["paid"]["id"], "name": "Member Two", "phone": "13000000002"}), 201)
    await _decide(client, approver, "approve")
    periods = await ok(await client.get(f"/api/v1/cards/{paid['card_no']}/periods", headers=m2))
    assert [(p["kind"], p["status"], p["amount"]) for p in periods] == [
        ("join", "pending", {"amount": "100.00", "currency": "CNY"})]
    assert (await ok(await client.get(f"/api/v1/cards/{paid['card_no']}", headers=m2)))["status"] == "pending"

    third = await ok(await client.post(f"/api/v1/clubs/{club['id']}/applications", headers=m2, json={
        "plan_id": plans["free"]["id"], "name": "Member Two", "phone": "13000000002"}), 201)
    await _decide(client, approver, "reject")
    assert (await ok(await client.get(f"/api/v1/cards/{third['card_no']}", headers=m2)))["status"] == "cancelled"


async def test_an_automatically_approved_paid_application_opens_one_period(client: Any) -> None:
    slug = unique_slug("club")
    automatic = FILE.replace('''kind = "single"
name = "Club approves"
approvers = [{{ role = "approver", unit = "HQ" }}]''', '''kind = "auto"
name = "Accepted on sight"
reason = "every applicant is welcome"''')
    await apply_text(automatic.format(slug=slug, password=PASSWORD), demo=True)
    admin, m1 = await _login(client, slug, "admin"), await _login(client, slug, "m1")
    club = (await ok(await client.get("/api/v1/clubs", headers=admin)))[0]
    plans = {p["code"]: p for p in await ok(await client.get(f"/api/v1/clubs/{club['id']}/plans", headers=admin))}
    card = await ok(await client.post(f"/api/v1/clubs/{club['id']}/applications", headers=m1, json={
        "plan_id": plans["paid"]["id"], "name": "Member One", "phone": "13000000001"}), 201)
    periods = await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=m1))
    assert [(p["kind"], p["status"]) for p in periods] == [("join", "pending")]
    events = [e["kind"] for e in await ok(await client.get(f"/api/v1/cards/{card['card_no']}/events",
                                                           headers=admin))]
    assert events.count("approved") == 1
