"""The clubs sections of the two car-club tenant files: applied (demo mode) twice, the second
time changes nothing; the demo cards work end to end."""

from __future__ import annotations

from typing import Any

import pytest

from careclub.core.errors import ValidationFailed
from careclub.platform.tenant_file import apply_text
from careclub.settings import PROJECT_ROOT
from tests.integration.clubs.helpers import ok

PASSWORD = "careclub-demo-2026"


async def _login(client: Any, slug: str, email: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize("slug,card_no", [("tianren-car-club", "TR-000001"), ("anbao-car-club", "AB-000001")])
async def test_car_club_files_apply_twice_and_demo_card_works(client: Any, slug: str, card_no: str) -> None:
    text = (PROJECT_ROOT / "tenants" / f"{slug}.toml").read_text(encoding="utf-8")
    await apply_text(text, demo=True)
    again = await apply_text(text, demo=True)
    assert again.changes == [], again.changes
    member = await _login(client, slug, f"member@{slug}.example")
    cards = await ok(await client.get("/api/v1/me/cards", headers=member))
    assert [(c["card_no"], c["status"]) for c in cards] == [(card_no, "active")]
    token = (await ok(await client.get(f"/api/v1/cards/{card_no}/qr", headers=member)))["token"]
    if slug == "tianren-car-club":
        scanner = await _login(client, slug, "merchant@tianren-car-club.example")
        body = await ok(await client.post("/api/v1/checkins", headers=scanner, json={
            "token": token, "benefit": "washing", "idempotency_key": "demo-1"}), 201)
        assert body["member"]["card_no"] == card_no and body["discount"]["remaining"] == 3
        assert body["member"]["plan"] == "VIP卡 (钻石会员卡)"
    else:
        branch = await _login(client, slug, "branch@anbao-car-club.example")
        members = await ok(await client.get("/api/v1/members", headers=branch))
        assert [m["name"] for m in members["items"]] == ["赵建国"]
        card = await ok(await client.get(f"/api/v1/cards/{card_no}", headers=branch))
        assert card["policy_no"] == "PDAA2026000001" and card["vehicle"]["plate"] == "江A88888"


async def test_section_errors_name_the_key_path(client: Any) -> None:
    bad = """
[tenant]
slug = "clubs-bad-file"
name = "Bad"

[[clubs]]
code = "c"
name = "C"
card_prefix = "C-"

[[clubs.plans]]
code = "p"
name = "P"
fee = "1.234"
"""
    with pytest.raises(ValidationFailed) as exc:
        await apply_text(bad, demo=False)
    assert "clubs[0].plans[0].fee" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        await apply_text(bad.replace('fee = "1.234"', "colour = 1"), demo=False)
    assert "colour" in exc.value.message


async def test_a_club_changes_its_card_numbers_width_for_cards_to_come(client: Any) -> None:
    text = """
[tenant]
slug = "clubs-digits-file"
name = "Digits"

[[clubs]]
code = "c"
name = "C"
card_prefix = "D-"
card_digits = 6

[[clubs.plans]]
code = "free"
name = "Free"
"""
    from careclub.clubs import service
    from careclub.core.db import tenant_scope
    from careclub.platform.service import tenant_by_slug

    await apply_text(text, demo=False)
    second = await apply_text(text.replace("card_digits = 6", "card_digits = 8"), demo=False)
    assert second.changes == ["club c updated"]
    tenant = await tenant_by_slug("clubs-digits-file")
    assert tenant is not None
    async with tenant_scope(tenant.id):
        club = await service.club_by_code("c")
        assert club is not None and club["card_digits"] == 8
    with pytest.raises(ValidationFailed) as exc:
        await apply_text(text.replace("card_digits = 6", "card_digits = 3"), demo=False)
    assert "clubs[0]" in exc.value.message and "card_digits" in exc.value.message
