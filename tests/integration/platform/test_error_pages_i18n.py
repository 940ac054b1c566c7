"""Error pages in the reader's language: the exact translation of a message when there is one, else
wording chosen by the error code, else by the status; the English original stays on the page in a
secondary line (never on a 5xx). The API keeps its English messages and codes unchanged."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar, get

from careclub.core.errors import AppError
from tests.conftest import PASSWORD, signup
from tests.integration.platform.pages import browser, login

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
DETAIL = 'class="muted error-detail '
FORBIDDEN_ZH = "您的角色没有此项权限"


@get("/__test/errors/boom", opt={"public": True}, include_in_schema=False)
async def _boom() -> str:
    raise RuntimeError("connection to 10.9.8.7 refused by pgbouncer")


@get("/__test/errors/unavailable", opt={"public": True}, include_in_schema=False)
async def _unavailable() -> str:
    raise AppError("replica db-7 is 93 s behind", code="replica_lag", status_code=503)


def _with_failing_routes(app: Litestar) -> None:
    """Nothing in the app fails with a 5xx on purpose, so the tests bring two routes that do."""
    if "/__test/errors/boom" not in app.route_handler_method_map:
        app.register(_boom)
        app.register(_unavailable)


async def _operator(client: Any, t: dict[str, Any]) -> dict[str, Any]:
    """A merchant operator: signed in, but without org.read."""
    units = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"]
    root = str(next(u["id"] for u in units if u["parent"] is None))
    email = f"op@{t['slug']}.test"
    r = await client.post("/api/v1/staff", headers=t["headers"],
                          json={"email": email, "display_name": "Op", "org_unit": root,
                                "roles": ["merchant_operator"], "password": PASSWORD})
    assert r.status_code == 201, r.text
    token = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"email": email, "headers": {"Authorization": f"Bearer {token.json()['token']}"}}


# ---- 404 ---------------------------------------------------------------------------------------

async def test_unknown_page_is_a_404_in_the_readers_language(app: Litestar, client: Any) -> None:
    # An unknown path fails in the router, before the request context picks the language.
    async with browser(app, headers=ZH) as c:
        r = await c.get("/no-such-page-at-all")
        assert r.status_code == 404
        assert '<html lang="zh-CN">' in r.text
        assert "这里什么也没有" in r.text and "nothing here" not in r.text
    async with browser(app, headers=EN) as c:
        r = await c.get("/no-such-page-at-all")
        assert r.status_code == 404
        assert '<html lang="en">' in r.text and "nothing here: no such page or record" in r.text
        assert DETAIL not in r.text  # the English message is the headline; no second copy
    async with browser(app, headers=EN, lang="zh_CN") as c:  # the chosen language beats the header
        r = await c.get("/no-such-page-at-all")
        assert '<html lang="zh-CN">' in r.text and "这里什么也没有" in r.text


async def test_unknown_page_api_json_is_unchanged(client: Any) -> None:
    r = await client.get("/api/v1/no-such-endpoint", headers=ZH)
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "nothing here: no such page or record"}}


async def test_missing_record_404_falls_back_to_the_code_and_leaks_nothing(app: Litestar, client: Any) -> None:
    a = await signup(client)
    b = await signup(client)
    b_root = (await client.get("/api/v1/org-units", headers=b["headers"])).json()["items"][0]["id"]
    r = await client.post("/api/v1/staff", headers=b["headers"],
                          json={"email": f"secret-person@{b['slug']}.test", "display_name": "Secret Person",
                                "org_unit": b_root, "roles": [], "password": PASSWORD})
    assert r.status_code == 201, r.text
    b_person = r.json()["id"]
    async with browser(app, headers=ZH, lang="zh_CN") as c:
        await login(c, a["slug"], a["email"], PASSWORD)
        # another tenant's person answers exactly like a made-up id, in Chinese, naming nothing of B
        theirs = await c.get(f"/staff/{b_person}")
        made_up = await c.get(f"/staff/{uuid.uuid4()}")
        assert theirs.status_code == made_up.status_code == 404
        assert "人员不存在" in theirs.text
        for secret in ("Secret Person", "secret-person", b["slug"]):
            assert secret not in theirs.text
        assert "人员不存在" in made_up.text
        # every error message has its own translation (the catalogs extract them): no English detail needed
        club = await c.get(f"/club/stats/{uuid.uuid4()}")
        assert club.status_code == 404
        assert "找不到该俱乐部" in club.text and "no such club" not in club.text


# ---- 403 ---------------------------------------------------------------------------------------

async def test_missing_permission_403_in_chinese_with_english_detail(app: Litestar, client: Any) -> None:
    t = await signup(client)
    op = await _operator(client, t)
    async with browser(app, headers=ZH, lang="zh_CN") as c:
        await login(c, t["slug"], op["email"], PASSWORD)
        r = await c.get("/org")
        assert r.status_code == 403
        assert FORBIDDEN_ZH in r.text
        # the original, for support, in the secondary line only
        assert DETAIL in r.text and "forbidden" in r.text
        assert "your roles do not include the permission org.read" in r.text
        headline = r.text.split('class="error-message">', 1)[1].split("</p>", 1)[0]
        assert FORBIDDEN_ZH in headline and "your roles" not in headline
        # still signed in on the error page: their company, their menu (the scanner), sign-out
        assert f"Company {t['slug']}" in r.text and 'href="/club/scan"' in r.text and 'action="/logout"' in r.text
        assert 'href="/org"' not in r.text  # the menu offers only what the person may open
    async with browser(app, headers=EN, lang="en") as c:
        await login(c, t["slug"], op["email"], PASSWORD)
        r = await c.get("/org")
        assert r.status_code == 403
        assert "your roles do not include the permission org.read" in r.text and FORBIDDEN_ZH not in r.text
        assert DETAIL not in r.text


async def test_missing_permission_api_json_is_unchanged(client: Any) -> None:
    t = await signup(client)
    op = await _operator(client, t)
    r = await client.get("/api/v1/org-units", headers={**op["headers"], **ZH})
    assert r.status_code == 403
    assert r.json() == {"error": {"code": "forbidden",
                                  "message": "your roles do not include the permission org.read"}}


# ---- 409 / 422 with a dynamic message ------------------------------------------------------------

async def test_invalid_query_422_in_chinese_with_english_detail(app: Litestar, client: Any) -> None:
    t = await signup(client)
    async with browser(app, headers=ZH, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await c.get("/staff", params={"page": "0"})
        assert r.status_code == 422
        assert "提交的部分内容无效" in r.text
        assert DETAIL in r.text and "validation_failed" in r.text and "invalid input: page" in r.text


async def test_invalid_query_api_json_is_unchanged(client: Any) -> None:
    t = await signup(client)
    r = await client.get("/api/v1/org-units", params={"limit": "0"}, headers={**t["headers"], **ZH})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_failed" and error["field"] == "limit"
    assert error["message"].startswith("invalid input: limit: ")


async def test_taken_slug_409_api_json_is_unchanged(client: Any) -> None:
    t = await signup(client)
    r = await client.post("/api/v1/signup", headers=ZH,
                          json={"company": "Again", "slug": t["slug"], "email": "x@again.test", "password": PASSWORD})
    assert r.status_code == 409
    assert r.json() == {"error": {"code": "slug_taken", "message": f"the slug {t['slug']!r} is already taken",
                                  "field": "slug"}}


# ---- 5xx: never the English detail ---------------------------------------------------------------

async def test_server_errors_show_no_english_detail(app: Litestar, client: Any) -> None:
    _with_failing_routes(app)
    async with browser(app, headers=ZH, lang="zh_CN") as c:
        r = await c.get("/__test/errors/boom")
        assert r.status_code == 500
        assert "系统出现问题" in r.text
        assert DETAIL not in r.text
        assert "10.9.8.7" not in r.text and "pgbouncer" not in r.text and "RuntimeError" not in r.text
        assert "something went wrong" not in r.text
        assert r.headers["x-request-id"] in r.text  # a reference support can find in the logs

        r = await c.get("/__test/errors/unavailable")
        assert r.status_code == 503
        assert "服务繁忙或正在维护" in r.text
        assert DETAIL not in r.text and "db-7" not in r.text and "replica" not in r.text
    async with browser(app, headers=EN, lang="en") as c:
        r = await c.get("/__test/errors/unavailable")
        assert r.status_code == 503
        assert "The service is busy or under maintenance" in r.text and "db-7" not in r.text


async def test_server_error_api_json_is_unchanged(app: Litestar, client: Any) -> None:
    _with_failing_routes(app)
    r = await client.get("/__test/errors/boom", headers={"Accept": "application/json", **ZH})
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error",
                                  "message": "something went wrong on our side; it has been logged"}}
    r = await client.get("/__test/errors/unavailable", headers={"Accept": "application/json", **ZH})
    assert r.status_code == 503
    assert r.json() == {"error": {"code": "replica_lag", "message": "replica db-7 is 93 s behind"}}
