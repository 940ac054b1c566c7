"""A company that signs up has no developer: the settlements' hub says what it still has to set up, with links,
until its projects, policies and people are in place."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar

from careclub.core import sessions
from careclub.core.db import tenant_scope
from careclub.platform.tables import User
from tests.conftest import signup
from tests.integration.platform.pages import browser
from tests.integration.settlements.helpers import make_world
from tests.integration.settlements.test_pages_support import as_person


async def test_a_new_company_is_shown_what_to_set_up(app: Litestar, client: Any) -> None:
    fresh = await signup(client)
    tenant_id = uuid.UUID(fresh["tenant_id"])
    async with tenant_scope(tenant_id):
        admin = await User.select(User.id).where(User.email == fresh["email"]).first()
    assert admin is not None
    for lang, words in (("en", ["Before the first settlement", "Monthly settlements with the property company"]),
                        ("zh_CN", ["首次结算前的准备", "与物业公司的月度结算"])):
        async with browser(app, lang=lang) as c:
            sid = await sessions.create(tenant_id, admin["id"], idle_seconds=3600, absolute_seconds=7200)
            c.cookies.set(sessions.COOKIE, sid, domain="testserver.local")
            r = await c.get("/settlements")
            assert r.status_code == 200, r.text[:300]
            assert all(word in r.text for word in words), lang
            assert 'href="/approvals/policies"' in r.text and 'href="/org"' in r.text


async def test_a_company_set_up_sees_no_checklist(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    async with as_person(app, w, "admin") as c:
        r = await c.get("/settlements")
        assert r.status_code == 200 and 'id="setup"' not in r.text
