from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.conftest import PASSWORD, signup, unique_slug


async def test_health_reports_database_and_redis(client: Any) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "redis": "ok"}


async def test_signup_answers_tenant_and_a_working_token(client: Any) -> None:
    t = await signup(client)
    me = await client.get("/api/v1/me", headers=t["headers"])
    assert me.status_code == 200
    assert me.json()["tenant"]["slug"] == t["slug"]
    assert "tenant_admin" in me.json()["roles"]


async def test_signup_slug_taken_is_409(client: Any) -> None:
    t = await signup(client)
    r = await client.post(
        "/api/v1/signup", json={"company": "X", "slug": t["slug"], "email": "x@y.test", "password": PASSWORD}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "slug_taken"


async def test_concurrent_signups_for_one_slug_exactly_one_wins(client: Any) -> None:
    slug = unique_slug("race")

    async def attempt(i: int) -> int:
        r = await client.post(
            "/api/v1/signup", json={"company": f"C{i}", "slug": slug, "email": f"a{i}@x.test", "password": PASSWORD}
        )
        return r.status_code

    codes = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert sorted(codes) == [201] + [409] * 7


async def test_signup_invalid_input_is_422_naming_the_field(client: Any) -> None:
    cases = [
        ({"company": "A", "slug": "Bad Slug", "email": "a@b.test", "password": PASSWORD}, "slug"),
        ({"company": "A", "slug": unique_slug(), "email": "not-an-email", "password": PASSWORD}, "email"),
        ({"company": "A", "slug": unique_slug(), "email": "a@b.test", "password": "short"}, "password"),
        ({"company": "A", "slug": unique_slug(), "email": "a@b.test", "password": "1234567890"}, "password"),
        ({"company": "A", "slug": unique_slug(), "email": "a@b.test"}, "password"),
        ({"company": 5, "slug": unique_slug(), "email": "a@b.test", "password": PASSWORD}, "company"),
        ({"company": "A", "slug": unique_slug(), "email": "a@b.test", "password": PASSWORD, "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = await client.post("/api/v1/signup", json=body)
        assert r.status_code == 422, (body, r.text)
        err = r.json()["error"]
        assert field in err["message"], (field, err)
        assert err["code"] in {"validation_failed", "password_too_short", "password_too_common"}


async def test_common_password_refused_with_reason(client: Any) -> None:
    r = await client.post(
        "/api/v1/signup", json={"company": "A", "slug": unique_slug(), "email": "a@b.test", "password": "password123"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "password_too_common"
    assert "common" in r.json()["error"]["message"]


async def test_malformed_json_is_4xx_not_500(client: Any) -> None:
    r = await client.post("/api/v1/signup", content=b"{not json", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert "error" in r.json()


async def test_token_login_and_wrong_password(client: Any) -> None:
    t = await signup(client)
    ok = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": t["email"], "password": PASSWORD})
    assert ok.status_code == 200
    assert set(ok.json()) == {"token", "expires_at"}
    assert "+" in ok.json()["expires_at"] or ok.json()["expires_at"].endswith("Z")
    bad = await client.post(
        "/api/v1/auth/token", json={"tenant": t["slug"], "email": t["email"], "password": "nope" * 3}
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "invalid_credentials"
    unknown = await client.post(
        "/api/v1/auth/token", json={"tenant": "no-such-co", "email": t["email"], "password": PASSWORD}
    )
    assert unknown.status_code == 401


async def test_repeated_failures_are_rate_limited_with_retry_after(client: Any) -> None:
    t = await signup(client)
    body = {"tenant": t["slug"], "email": t["email"], "password": "wrong-password-here"}
    codes = [(await client.post("/api/v1/auth/token", json=body)).status_code for _ in range(5)]
    assert codes == [401] * 5
    r = await client.post("/api/v1/auth/token", json={**body, "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0


async def test_concurrent_failures_count_atomically(client: Any) -> None:
    t = await signup(client)
    body = {"tenant": t["slug"], "email": t["email"], "password": "wrong-password-here"}
    await asyncio.gather(*(client.post("/api/v1/auth/token", json=body) for _ in range(12)))
    r = await client.post("/api/v1/auth/token", json={**body, "password": PASSWORD})
    assert r.status_code == 429


async def test_logout_revokes_the_token(client: Any) -> None:
    t = await signup(client)
    assert (await client.post("/api/v1/auth/logout", headers=t["headers"])).status_code == 204
    r = await client.get("/api/v1/me", headers=t["headers"])
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


async def test_no_token_or_garbage_token_is_401(client: Any) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    for token in ("garbage", "cc_" + "0" * 32 + "_xyz", "cc_zz_yy"):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


async def test_token_of_one_tenant_relabelled_for_another_is_refused(client: Any) -> None:
    a, b = await signup(client), await signup(client)
    forged = "cc_" + b["tenant_id"].replace("-", "") + "_" + a["token"].split("_", 2)[2]
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


async def test_failures_from_one_address_are_limited_across_accounts(client: Any, app: Any) -> None:
    import dataclasses

    import httpx

    original = app.state.settings
    app.state.settings = dataclasses.replace(original, login_failures_per_address=3)
    transport = httpx.ASGITransport(app=app, client=(f"far-{uuid.uuid4().hex}", 4000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as far:
            targets = [await signup(client) for _ in range(4)]
            codes = []
            for t in targets:
                r = await far.post(
                    "/api/v1/auth/token",
                    json={"tenant": t["slug"], "email": t["email"], "password": "wrong-password-x"},
                )
                codes.append(r.status_code)
            assert codes == [401, 401, 401, 429]
        # another address is unaffected
        other = httpx.ASGITransport(app=app, client=(f"near-{uuid.uuid4().hex}", 4000))
        async with httpx.AsyncClient(transport=other, base_url="http://testserver.local") as near:
            ok = await near.post(
                "/api/v1/auth/token",
                json={"tenant": targets[3]["slug"], "email": targets[3]["email"], "password": PASSWORD},
            )
            assert ok.status_code == 200
    finally:
        app.state.settings = original


async def test_signup_is_in_the_audit_trail_under_the_signers_name(client: Any) -> None:
    t = await signup(client)
    entries = (await client.get("/api/v1/audit?action=tenant.create", headers=t["headers"])).json()["items"]
    assert [e["actor_name"] for e in entries] == [f"sign-up: {t['email']}"]
