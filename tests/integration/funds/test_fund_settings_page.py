"""A fund's settings from its page: what the tenant file and the API set (acceptance roles, the off-plan
cut-off day), with the same checks, every problem shown at once."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar

from careclub.core.db import tenant_scope
from careclub.funds import service
from tests.conftest import PASSWORD
from tests.integration.funds.helpers import new_fund
from tests.integration.funds.test_pages import field_errors
from tests.integration.platform.pages import browser, csrf_token, login


async def test_acceptance_roles_and_the_cutoff_day_are_set_from_the_fund_page(app: Litestar,
                                                                               tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant)
    url = f"/funds/{fund['id']}"
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        page = await c.get(url)
        assert 'name="acceptance_roles" value="finance"' in page.text
        bad = await c.post(f"{url}/edit", data={"_csrf_token": csrf_token(page), "name": "", "description": "",
                                                "acceptance_roles": ["finance", "no_such_role"],
                                                "off_plan_cutoff_day": "31"})
        assert bad.status_code in (404, 422), bad.text[:300]
        assert set(field_errors(bad.text)) == {"name", "acceptance_roles", "off_plan_cutoff_day"}
        good = await c.post(f"{url}/edit", data={"_csrf_token": csrf_token(page), "name": "Care fund",
                                                 "description": "", "acceptance_roles": ["finance", "approver"],
                                                 "off_plan_cutoff_day": "20"})
        assert good.status_code == 303, good.text[:300]
        page = await c.get(url)
        assert 'value="approver" checked' in page.text
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        saved = await service.get_fund(None, fund["id"])
    assert (saved["acceptance_roles"], saved["off_plan_cutoff_day"]) == ("finance,approver", 20)
