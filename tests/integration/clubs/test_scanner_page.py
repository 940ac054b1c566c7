"""The scanner page's check-in (`/club/scan/checkin`, issue #11 item 6): the bill amount is what the cashier
typed, in yuan ("1,000", "¥ 12,345.60"); one that is not an amount is refused as `bad_amount` (the page
words it in the reader's language) and nothing is checked in, so the same code still works once the
amount is right. The page carries the scanner's words in both languages."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Litestar

from careclub.platform.tenant_file import apply_text
from careclub.settings import PROJECT_ROOT
from tests.integration.platform.pages import browser, csrf_token, login

SLUG = "tianren-car-club"
PASSWORD = "careclub-demo-2026"


async def _codes(app: Litestar, n: int) -> list[str]:
    async with browser(app) as member:
        await login(member, SLUG, f"member@{SLUG}.example", PASSWORD)
        return [(await member.get("/club/card/TR-000001/qr.json", headers={"Accept": "application/json"})
                 ).json()["token"] for _ in range(n)]


async def test_the_bill_is_typed_in_yuan_and_a_bad_one_checks_nothing_in(app: Litestar, client: Any) -> None:
    await apply_text((PROJECT_ROOT / "tenants" / f"{SLUG}.toml").read_text(encoding="utf-8"), demo=True)
    first, second = await _codes(app, 2)
    async with browser(app, lang="en") as scanner:
        await login(scanner, SLUG, f"merchant@{SLUG}.example", PASSWORD)
        page = await scanner.get("/club/scan")
        words = json.loads(re.search(r'id="scan-messages">([^<]+)<', page.text).group(1))  # type: ignore[union-attr]
        assert words["bad_amount"].startswith("The bill amount") and words["network"] and words["error"]
        assert 'id="scan-next"' in page.text and "Next customer" in page.text
        headers = {"Accept": "application/json", "X-CSRFToken": csrf_token(page)}
        for typed in ("12.345", "abc", "-5", "10,000,000.00", "1e3"):
            r = await scanner.post("/club/scan/checkin", json={"token": first, "amount": typed}, headers=headers)
            assert r.status_code == 422, (typed, r.text)
            assert r.json()["reason"] == "bad_amount" and r.json()["accepted"] is False
        # the API's money object is not what the page sends
        r = await scanner.post("/club/scan/checkin", json={"token": first, "amount": {"amount": "1.00",
                                                                                       "currency": "CNY"}},
                               headers=headers)
        assert r.status_code in (400, 422)
        r = await scanner.post("/club/scan/checkin", json={"token": first, "amount": "¥ 12,345.60"}, headers=headers)
        assert r.status_code == 201, r.text  # the refusals above checked nothing in: the code is still good
        discount = r.json()["discount"]
        assert discount["amount"] == {"amount": "2469.12", "currency": "CNY"}
        assert discount["payable"] == {"amount": "9876.48", "currency": "CNY"}
        r = await scanner.post("/club/scan/checkin", json={"token": second, "amount": "  "}, headers=headers)
        assert r.status_code == 201 and r.json()["discount"]["amount"] is None  # blank: no bill
