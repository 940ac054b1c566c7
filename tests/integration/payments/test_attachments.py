"""A payment keeps its transfer slip or receipt scan: judged by content, images re-encoded without their
metadata (a phone's location among it), served only to those who may see the payment."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import club_world, ok
from tests.integration.platform.pages import browser, csrf_token, login


def _photo_with_location() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (22.0, 0.0, 0.0), 3: "E", 4: (100.0, 48.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def _offline_payment(client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    w = await club_world(client)
    h = w["t"]["headers"]
    card = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    period = (await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h)))[0]
    paid = await ok(await client.post("/api/v1/payments/offline", headers=h, json={
        "payable_kind": "club_period", "payable_id": period["id"], "method": "bank_transfer",
        "reference": "BT-77"}), 201)
    return w, paid


async def test_a_scan_is_kept_without_its_location_and_served_to_those_who_may_see(client: Any) -> None:
    w, paid = await _offline_payment(client)
    h = w["t"]["headers"]
    photo = _photo_with_location()
    assert Image.open(io.BytesIO(photo)).getexif().get(0x8825)
    r = await client.post(f"/api/v1/payments/{paid['id']}/attachments", headers=h,
                          files={"file": ("../../etc/slip.JPG", photo, "application/octet-stream")})
    body = await ok(r, 201)
    [kept] = body["attachments"]
    assert kept["content_type"] == "image/jpeg" and kept["filename"] == "slip.jpg", kept
    served = await client.get(kept["url"], headers=h)
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/jpeg")
    assert not Image.open(io.BytesIO(served.content)).getexif(), "metadata must be gone"
    # the member who paid may see it; another company may not, and it answers like a missing file
    assert (await client.get(kept["url"], headers=w["member_user"]["headers"])).status_code == 200
    other = await signup(client)
    assert (await client.get(kept["url"], headers=other["headers"])).status_code == 404
    pdf = await client.post(f"/api/v1/payments/{paid['id']}/attachments", headers=h,
                            files={"file": ("slip.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
                                            "application/pdf")})
    assert [a["content_type"] for a in (await ok(pdf, 201))["attachments"]] == ["image/jpeg", "application/pdf"]


async def test_spoofed_broken_and_oversized_files_are_refused(client: Any) -> None:
    w, paid = await _offline_payment(client)
    h = w["t"]["headers"]
    url = f"/api/v1/payments/{paid['id']}/attachments"
    script = await client.post(url, headers=h, files={"file": ("slip.jpg", b"<script>alert(1)</script>", "image/jpeg")})
    assert script.status_code == 415 and script.json()["error"]["field"] == "file", script.text
    not_png = b"\x89PNG\r\n\x1a\nnot really"
    broken = await client.post(url, headers=h, files={"file": ("slip.png", not_png, "image/png")})
    assert broken.status_code == 415, broken.text
    huge = await client.post(url, headers=h, files={"file": ("slip.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024),
                                                             "application/pdf")})
    assert huge.status_code == 413, huge.text
    member = await client.post(url, headers=w["member_user"]["headers"],
                               files={"file": ("slip.pdf", b"%PDF-1.4", "application/pdf")})
    assert member.status_code == 403
    assert (await ok(await client.get(f"/api/v1/payments/{paid['id']}", headers=h)))["attachments"] == []


async def test_finance_attaches_from_the_payment_page(app: Any, client: Any) -> None:
    w, paid = await _offline_payment(client)
    t = w["t"]
    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get(f"/payments/{paid['id']}")
        r = await c.post(f"/payments/{paid['id']}/attachments", data={"_csrf_token": csrf_token(page)},
                         files={"file": ("回单.png", _png(), "image/png")})
        assert r.status_code == 303, r.text[:300]
        after = await c.get(f"/payments/{paid['id']}")
        assert "回单.png" in after.text
        bad = await c.post(f"/payments/{paid['id']}/attachments", data={"_csrf_token": csrf_token(after)},
                           files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")})
        assert bad.status_code == 415 and 'id="e-file"' in bad.text


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 120, 0)).save(out, "PNG")
    return out.getvalue()
