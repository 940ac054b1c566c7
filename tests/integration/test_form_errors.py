"""Forms show every field's problem at once, next to its field, keeping what was typed; the API lists
them all under `error.fields`; and what a person reads is in their language (a value they typed is
filled in after translating, never looked up in the catalog)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar

from tests.conftest import unique_slug
from tests.integration.platform.pages import browser, submit

ERROR_UNDER = re.compile(r'<small class="error" id="e-([a-z_]+)">([^<]*)</small>')


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR_UNDER.finditer(body)}


async def test_an_empty_sign_up_flags_every_field_at_once_in_chinese_and_english(app: Litestar) -> None:
    for lang, required in (("zh_CN", "必填"), ("en", "required")):
        async with browser(app, lang=lang) as c:
            r = await submit(c, "/signup", company="", slug="", email="", password="", display_name="")
            assert r.status_code == 422, r.text[:300]
            errors = field_errors(r.text)
            assert set(errors) == {"company", "slug", "email", "password"}, errors
            assert required in errors["company"], errors
            if lang == "zh_CN":  # no English left in a Chinese form
                assert not any(re.search(r"[A-Za-z]{3}", text) for text in errors.values()), errors


async def test_a_sign_up_keeps_what_was_typed_and_names_a_taken_slug_in_the_readers_language(
        app: Litestar, client: Any) -> None:
    slug = unique_slug()
    r = await client.post("/api/v1/signup", json={"company": "A", "slug": slug, "email": "a@b.test",
                                                  "password": "a-long-enough-passphrase"})
    assert r.status_code == 201, r.text
    async with browser(app, lang="zh_CN") as c:
        r = await submit(c, "/signup", company="新公司", slug=slug, email="not-an-email", password="short")
        errors = field_errors(r.text)
        assert set(errors) == {"slug", "email", "password"}, errors
        assert slug in errors["slug"] and "已被占用" in errors["slug"], errors
        assert 'value="新公司"' in r.text and f'value="{slug}"' in r.text  # kept; the password never is


async def test_the_api_lists_every_field_at_fault(client: Any) -> None:
    """(The body's shape is checked first, field by field as it is decoded; the rules after it, all at once.)"""
    r = await client.post("/api/v1/signup", json={"company": "", "slug": "admin", "email": "x",
                                                  "password": "1234567890"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert [f["field"] for f in error["fields"]] == ["company", "slug", "email", "password"], error
    assert error["field"] == "company"
    assert [f["code"] for f in error["fields"]] == ["validation_failed", "slug_reserved", "validation_failed",
                                                    "password_too_common"]
    assert all(f["message"] for f in error["fields"])


async def test_a_single_problem_keeps_the_plain_error_body(client: Any) -> None:
    r = await client.post("/api/v1/signup", json={"company": "A", "slug": unique_slug(), "email": "x",
                                                  "password": "a-long-enough-passphrase"})
    assert r.status_code == 422
    assert r.json() == {"error": {"code": "validation_failed", "message": "email is not a valid email address",
                                  "field": "email"}}


async def test_staff_and_member_forms_show_every_problem_at_once(app: Litestar, client: Any) -> None:
    from tests.conftest import PASSWORD
    from tests.integration.clubs.helpers import club_world, root_unit
    from tests.integration.platform.pages import login

    w = await club_world(client)
    t = w["t"]
    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await submit(c, "/staff/new", email="not-an-email", display_name="", password="short", kind="staff",
                         role="club_admin", org_unit=(await root_unit(client, t))["id"])
        assert r.status_code == 422, r.text[:300]
        errors = field_errors(r.text)
        assert {"email", "display_name", "password"} <= set(errors), errors
        r = await submit(c, "/club/members/new", plan=w["free"]["id"], name="", phone="12", id_number="1")
        assert r.status_code == 422, r.text[:300]
        errors = field_errors(r.text)
        assert {"name", "phone", "id_number"} <= set(errors), errors
        assert not any(re.search(r"[A-Za-z]{3}", text) for text in errors.values()), errors
        assert 'value="12"' in r.text  # what was typed stays


async def test_org_unit_and_role_forms_show_every_problem_at_once(app: Litestar, client: Any) -> None:
    from tests.conftest import PASSWORD, signup
    from tests.integration.platform.pages import login

    t = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        from tests.integration.clubs.helpers import root_unit

        root = (await root_unit(client, t))["id"]
        r = await submit(c, "/org", code="bad code!", name="", kind="nonsense", parent_id=root)
        assert r.status_code == 422, r.text[:300]
        assert {"code", "name", "kind"} <= set(field_errors(r.text)), field_errors(r.text)
        r = await submit(c, "/roles", code="bad code!", name="", description="")
        assert r.status_code == 422, r.text[:300]
        assert {"code", "name"} <= set(field_errors(r.text)), field_errors(r.text)


async def test_the_funds_spending_forms_show_every_problem_at_once(app: Litestar, client: Any) -> None:
    """A plan's rows, a spending request and a claim's rows: each cell's problem beside it, all at once."""
    from careclub.core import sessions
    from tests.integration.funds.test_spending import make_world

    w = await make_world(client)
    indexed = re.compile(r'<small class="error" id="e-([a-z_0-9]+)">([^<]*)</small>')
    async with browser(app, lang="en") as c:
        session_id = await sessions.create(w.tenant_id, w.users["fin"], idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        new = f"/funds/{w.fund_id}/plans/new"
        r = await submit(c, new, title="", rows="3", op="save", category_0="customer_care", item_0="", month_0="0",
                         amount_0="1.234", item_1="Lights", month_1="5", amount_1="-3", category_2="x")
        assert r.status_code == 422, r.text[:300]
        errors = dict(indexed.findall(r.text))
        assert {"title", "item_0", "month_0", "amount_0", "category_1", "amount_1", "item_2", "month_2",
                "amount_2"} <= set(errors), errors
        assert 'value="1.234"' in r.text and 'value="Lights"' in r.text
        new = f"/funds/{w.fund_id}/requests/new"
        r = await submit(c, new, op="submit", title="", in_plan="1", plan_line="", category="", amount="12,34",
                         description="")
        assert r.status_code == 422, r.text[:300]
        assert {"title", "amount", "plan_line"} <= set(dict(indexed.findall(r.text))), r.text[:300]
