"""The check-in endpoint against real PostgreSQL and Redis: every refusal reason, replay under
concurrency, quotas under concurrency, key rotation, grace, tenants."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from datetime import timedelta
from typing import Any

import pytest

from careclub.clubs import crypto, rules
from careclub.core import clock
from careclub.core.redis import redis, tenant_key
from tests.integration.clubs.helpers import as_owner, club_world, ok, qr, scan


@pytest.fixture
async def world(client: Any) -> dict[str, Any]:
    return await club_world(client)


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


def refused(r: Any, reason: str) -> None:
    assert 400 <= r.status_code < 500, r.text
    body = r.json()
    assert body["accepted"] is False and body["reason"] == reason, body


async def test_accepted_scan_answers_the_contract_body(client: Any, world: dict[str, Any]) -> None:
    token = await qr(client, world)
    r = await scan(client, world, token, amount={"amount": "100.00", "currency": "CNY"})
    body = await ok(r, 201)
    assert body["accepted"] is True and body["reason"] is None
    assert uuid.UUID(body["checkin_id"])
    assert body["member"] == {"display_name": "张**", "card_no": world["card"]["card_no"], "plan": "Free card",
                              "valid_until": body["member"]["valid_until"]}
    assert body["member"]["valid_until"].endswith("+08:00")
    assert body["discount"]["kind"] == "percent"
    assert body["discount"]["amount"] == {"amount": "20.00", "currency": "CNY"}
    assert body["discount"]["payable"] == {"amount": "80.00", "currency": "CNY"}
    today = await ok(await client.get("/api/v1/checkins", headers=world["operator"]["headers"]))
    assert [c["id"] for c in today] == [body["checkin_id"]]
    assert today[0]["amount"] == {"amount": "100.00", "currency": "CNY"}
    assert today[0]["discount_amount"] == {"amount": "20.00", "currency": "CNY"}


async def test_accepted_body_is_exactly_what_the_service_answered(client: Any, world: dict[str, Any],
                                                                  owner: Any) -> None:
    # The API builds the check-in's struct field by field (the hot path): nothing the service answered
    # (kept in the check-in row as `answer`) may be lost or changed on the way out.
    import json

    for extra in ({"amount": {"amount": "100.00", "currency": "CNY"}},
                  {"benefit": "washing", "amount": {"amount": "35.50", "currency": "CNY"}}, {}):
        body = await ok(await scan(client, world, await qr(client, world), **extra), 201)
        rows = await as_owner(owner, world["t"]["tenant_id"], "SELECT answer FROM club_checkin WHERE id = $1",
                              uuid.UUID(body["checkin_id"]))
        assert body == json.loads(rows[0]["answer"]), extra


async def test_token_holds_no_personal_data_and_lives_at_most_60_seconds(client: Any, world: dict[str, Any]) -> None:
    token = await qr(client, world)
    claims, _, _ = rules.decode_token(token)
    assert 0 < claims.expires_at - claims.issued_at <= 60
    assert str(claims.tenant_id) == world["t"]["tenant_id"]
    assert str(claims.card_id) == world["card"]["id"]
    raw = base64.b32decode(token[4:] + "=" * (-len(token[4:]) % 8))
    for personal in ("张三丰".encode(), b"13800000001", b"110101199003071234"):
        assert personal not in raw


async def test_malformed(client: Any, world: dict[str, Any]) -> None:
    for text in ("hello", "CC1:", "CC1:AAAA", "CC1:!!!!", "x" * 500):
        refused(await scan(client, world, text), "malformed")


async def test_bad_signature_when_tampered_or_unknown_key(client: Any, world: dict[str, Any]) -> None:
    token = await qr(client, world)
    i = len(token) - 30
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    refused(await scan(client, world, tampered), "bad_signature")
    # A well-formed token for this tenant signed by a key the tenant never had.
    claims, _, _ = rules.decode_token(token)
    private, _ = crypto.new_signing_key()
    forged = rules.QrClaims(kid=claims.kid ^ 0x5A5A, tenant_id=claims.tenant_id, card_id=claims.card_id,
                            issued_at=claims.issued_at, expires_at=claims.expires_at, nonce=os.urandom(12),
                            static=False)
    refused(await scan(client, world, rules.encode_token(forged, crypto.sign(private, rules.signing_input(
        forged.payload())))), "bad_signature")
    # The tenant's own key id, but the wrong key.
    same_kid = rules.QrClaims(kid=claims.kid, tenant_id=claims.tenant_id, card_id=claims.card_id,
                              issued_at=claims.issued_at, expires_at=claims.expires_at, nonce=os.urandom(12),
                              static=False)
    refused(await scan(client, world, rules.encode_token(same_kid, crypto.sign(private, rules.signing_input(
        same_kid.payload())))), "bad_signature")


async def test_expired_token_after_the_30_second_allowance(client: Any, world: dict[str, Any]) -> None:
    t1, t2 = await qr(client, world), await qr(client, world)
    clock.travel(timedelta(seconds=80))  # past expiry, within the allowance
    await ok(await scan(client, world, t1), 201)
    clock.travel(timedelta(seconds=15))  # 95 s after issue
    refused(await scan(client, world, t2), "expired_token")


async def test_replayed_sequentially_and_from_the_database_when_redis_forgot(client: Any, world: dict[str, Any]
                                                                             ) -> None:
    token = await qr(client, world)
    await ok(await scan(client, world, token), 201)
    refused(await scan(client, world, token), "replayed")
    claims, _, _ = rules.decode_token(token)
    await redis().delete(tenant_key(uuid.UUID(world["t"]["tenant_id"]), "qr", "nonce", claims.nonce.hex()))
    refused(await scan(client, world, token), "replayed")


async def test_fifty_concurrent_scans_of_one_token_exactly_one_accepted(client: Any, world: dict[str, Any]) -> None:
    token = await qr(client, world)
    results = await asyncio.gather(*(scan(client, world, token) for _ in range(50)))
    accepted = [r for r in results if r.status_code == 201]
    assert len(accepted) == 1
    assert sorted(r.json()["reason"] for r in results if r.status_code != 201) == ["replayed"] * 49
    count = (await ok(await client.get("/api/v1/checkins", headers=world["operator"]["headers"])))
    assert len(count) == 1


async def test_wrong_tenant_and_other_tenants_cards_are_404(client: Any, world: dict[str, Any]) -> None:
    other = await club_world(client)
    foreign_token = await qr(client, other)
    refused(await scan(client, world, foreign_token), "wrong_tenant")
    # B's card number means nothing to A: 404 exactly like a number that does not exist.
    for path in (f"/api/v1/cards/{other['card']['card_no']}", f"/api/v1/cards/{other['card']['card_no']}/qr",
                 "/api/v1/cards/NOPE-000001/qr", f"/api/v1/members/{other['member']['id']}",
                 f"/api/v1/merchants/{other['wash']['id']}"):
        r = await client.get(path, headers=world["t"]["headers"])
        assert r.status_code == 404, (path, r.text)
    r = await client.patch(f"/api/v1/merchants/{other['wash']['id']}", headers=world["t"]["headers"],
                           json={"name": "hijacked"})
    assert r.status_code == 404
    # The token is still good at home.
    await ok(await scan(client, other, foreign_token), 201)


async def test_card_not_found_when_card_unknown(client: Any, world: dict[str, Any]) -> None:
    token = await qr(client, world)
    claims, _, _ = rules.decode_token(token)
    # Sign a token for a card id that does not exist with the tenant's own active key.
    from careclub.clubs.tables import SigningKey
    from careclub.core.db import tenant_scope

    async with tenant_scope(uuid.UUID(world["t"]["tenant_id"])):
        row = await SigningKey.select().where(SigningKey.kid == claims.kid).first()
        private = crypto.decrypt(row["private_key_enc"], tenant_id=uuid.UUID(world["t"]["tenant_id"]),
                                 purpose="club.signing_key")
    ghost = rules.QrClaims(kid=claims.kid, tenant_id=claims.tenant_id, card_id=uuid.uuid4(),
                           issued_at=claims.issued_at, expires_at=claims.expires_at, nonce=os.urandom(12), static=False)
    refused(await scan(client, world, rules.encode_token(ghost, crypto.sign(private, rules.signing_input(
        ghost.payload())))), "card_not_found")


async def test_card_inactive_when_suspended_and_after_reissue(client: Any, world: dict[str, Any]) -> None:
    h = world["t"]["headers"]
    no = world["card"]["card_no"]
    token = await qr(client, world)
    await ok(await client.post(f"/api/v1/cards/{no}/suspend", headers=h, json={"reason": "unpaid"}))
    refused(await scan(client, world, token), "card_inactive")
    r = await client.get(f"/api/v1/cards/{no}/qr", headers=world["member_user"]["headers"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "card_inactive"
    await ok(await client.post(f"/api/v1/cards/{no}/resume", headers=h, json={}))
    token = await qr(client, world)
    new = await ok(await client.post(f"/api/v1/cards/{no}/reissue", headers=h, json={"reason": "lost"}))
    assert new["card_no"] != no and new["status"] == "active" and new["valid_until"] == world["card"]["valid_until"]
    refused(await scan(client, world, token), "card_inactive")  # the old number stopped at once
    await ok(await scan(client, world, await qr(client, world, new["card_no"])), 201)
    kinds = [e["kind"] for e in await ok(await client.get(f"/api/v1/cards/{no}/events", headers=h))]
    assert kinds == ["created", "activated", "suspend", "resume", "replaced"]


async def test_grace_then_expired(client: Any, world: dict[str, Any], owner: Any) -> None:
    tid = world["t"]["tenant_id"]
    await as_owner(owner, tid, "UPDATE club_card SET valid_until = now() - interval '5 days' WHERE id = $1",
                   uuid.UUID(world["card"]["id"]))
    card = await ok(await client.get(f"/api/v1/cards/{world['card']['card_no']}", headers=world["t"]["headers"]))
    assert card["status"] == "in_grace"
    body = await ok(await scan(client, world, await qr(client, world)), 201)
    assert body["card_status"] == "in_grace"
    token = await qr(client, world)
    await as_owner(owner, tid, "UPDATE club_card SET valid_until = now() - interval '11 days' WHERE id = $1",
                   uuid.UUID(world["card"]["id"]))
    refused(await scan(client, world, token), "card_expired")
    card = await ok(await client.get(f"/api/v1/cards/{world['card']['card_no']}", headers=world["t"]["headers"]))
    assert card["status"] == "expired"


async def test_merchant_of_another_club_is_refused(client: Any, world: dict[str, Any]) -> None:
    refused(await scan(client, world, await qr(client, world), operator=world["foreign_op"]),
            "merchant_not_in_network")
    await ok(await client.patch(f"/api/v1/merchants/{world['wash']['id']}", headers=world["t"]["headers"],
                                json={"is_open": False}))
    refused(await scan(client, world, await qr(client, world)), "merchant_not_in_network")


async def test_quota_exhausted_under_concurrency(client: Any) -> None:
    w = await club_world(client, quota=4)
    tokens = [await qr(client, w) for _ in range(12)]
    results = await asyncio.gather(*(scan(client, w, t, benefit="washing") for t in tokens))
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 4, [r.text for r in results]
    assert sorted(r.json()["reason"] for r in results if r.status_code != 201) == ["quota_exhausted"] * 8
    remaining = sorted(r.json()["discount"]["remaining"] for r in results if r.status_code == 201)
    assert remaining == [0, 1, 2, 3]


async def test_benefit_not_offered_is_a_validation_error_and_burns_nothing(client: Any, world: dict[str, Any]
                                                                           ) -> None:
    token = await qr(client, world)
    r = await scan(client, world, token, benefit="towing")
    assert r.status_code == 422 and r.json()["error"]["field"] == "benefit"
    await ok(await scan(client, world, token), 201)


async def test_idempotency_key_answers_the_first_answer(client: Any, world: dict[str, Any]) -> None:
    token = await qr(client, world)
    first = await ok(await scan(client, world, token, idempotency_key="scan-1"), 201)
    again = await ok(await scan(client, world, token, idempotency_key="scan-1"), 201)
    assert again == first
    # Concurrent re-sends of one scan: one answer, every time.
    token = await qr(client, world)
    results = await asyncio.gather(*(scan(client, world, token, idempotency_key="scan-2") for _ in range(5)))
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["checkin_id"] for r in results}) == 1
    # Another key with the same token is a replay.
    refused(await scan(client, world, token, idempotency_key="scan-3"), "replayed")
    # A refusal is answered again too.
    other = await club_world(client)
    foreign = await qr(client, other)
    refused(await scan(client, world, foreign, idempotency_key="scan-4"), "wrong_tenant")
    refused(await scan(client, world, foreign, idempotency_key="scan-4"), "wrong_tenant")


async def test_idempotent_resend_after_redis_lost_its_keys_answers_from_the_database(
        client: Any, world: dict[str, Any]) -> None:
    # Redis restarted between the scan and the re-send: neither the answer nor the nonce mark is
    # there any more, so the re-send reaches the database, whose nonce row says "used".
    token = await qr(client, world)
    first = await ok(await scan(client, world, token, benefit="washing", idempotency_key="lost-1"), 201)
    assert first["discount"]["remaining"] == 3
    tenant_id = uuid.UUID(world["t"]["tenant_id"])
    gone = [k async for k in redis().scan_iter(match=tenant_key(tenant_id, "*"))]
    assert gone and await redis().delete(*gone)
    again = await ok(await scan(client, world, token, benefit="washing", idempotency_key="lost-1"), 201)
    assert again == first
    # the re-send was answered, not counted: the next wash still leaves 2
    fresh = await ok(await scan(client, world, await qr(client, world), benefit="washing"), 201)
    assert fresh["discount"]["remaining"] == 2
    # Without the key it is a replay, as always; with another key too.
    refused(await scan(client, world, token), "replayed")
    refused(await scan(client, world, token, idempotency_key="lost-2"), "replayed")


async def test_redis_down_scans_are_still_answered_rightly_from_the_database(
        client: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.asyncio import Redis

    from careclub.clubs.service import _checkin

    token = await qr(client, world)  # issued while Redis is up (the card page needs it)
    again = await qr(client, world)
    dead = Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.5)
    monkeypatch.setattr(_checkin, "redis", lambda: dead)
    try:
        first = await ok(await scan(client, world, token, benefit="washing", idempotency_key="down-1"), 201)
        assert first["discount"]["remaining"] == 3
        # the re-send gets the first answer (from the check-in row), a replay is refused (the nonce row)
        assert await ok(await scan(client, world, token, benefit="washing", idempotency_key="down-1"), 201) == first
        refused(await scan(client, world, token, benefit="washing"), "replayed")
        second = await ok(await scan(client, world, again, benefit="washing"), 201)
        assert second["discount"]["remaining"] == 2  # nothing counted twice
    finally:
        await dead.aclose()


async def test_key_rotation_previous_key_verifies_until_retired(client: Any, world: dict[str, Any]) -> None:
    from careclub.clubs import jobs

    a1, a2 = await qr(client, world), await qr(client, world)
    old_kid = rules.decode_token(a1)[0].kid
    too_short = await client.post("/api/v1/club-signing-keys/rotate", headers=world["t"]["headers"],
                                  json={"overlap_seconds": 60})  # a code signed just before would die forged
    assert too_short.status_code == 422 and too_short.json()["error"]["field"] == "overlap_seconds"
    rot = await ok(await client.post("/api/v1/club-signing-keys/rotate", headers=world["t"]["headers"],
                                     json={"overlap_seconds": 90}), 201)
    assert rot["previous_kid"] == old_kid and rot["kid"] != old_kid
    b1 = await qr(client, world)
    assert rules.decode_token(b1)[0].kid == rot["kid"]
    await ok(await scan(client, world, a1), 201)  # signed by the previous key, during rotation
    await ok(await scan(client, world, b1), 201)
    keys = await ok(await client.get("/api/v1/club-signing-keys", headers=world["t"]["headers"]))
    assert sorted(k["status"] for k in keys) == ["active", "retiring"]
    clock.travel(timedelta(seconds=89))
    await jobs.clubs_housekeeping({}, tenant_id=world["t"]["tenant_id"])
    await ok(await scan(client, world, a2), 201)  # the last moment of its life: the old key still verifies
    clock.travel(timedelta(seconds=2))
    await jobs.clubs_housekeeping({}, tenant_id=world["t"]["tenant_id"])
    # the old key is gone: what it signed is refused as not ours (the signature is checked first)
    refused(await scan(client, world, a1), "bad_signature")
    keys = await ok(await client.get("/api/v1/club-signing-keys", headers=world["t"]["headers"]))
    assert sorted(k["status"] for k in keys) == ["active", "retired"]
    await ok(await scan(client, world, await qr(client, world)), 201)


async def test_static_card_capped_per_day(client: Any, owner: Any) -> None:
    w = await club_world(client)
    h = w["t"]["headers"]
    card = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    assert card["status"] == "pending"
    periods = await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h))
    await ok(await client.post(f"/api/v1/periods/{periods[0]['id']}/offline-payment", headers=h,
                               json={"reference": "cash-1"}))
    static = await ok(await client.get(f"/api/v1/cards/{card['card_no']}/static-qr", headers=h))
    assert static["static"] is True and static["expires_at"] is None
    r = await client.get(f"/api/v1/cards/{w['card']['card_no']}/static-qr", headers=h)
    assert r.status_code == 409  # the free plan has no static card
    clock.travel(timedelta(hours=3))  # no expiry (the scanner's own token outlives this)
    first = await ok(await scan(client, w, static["token"]), 201)
    assert first["static"] is True
    await ok(await scan(client, w, static["token"]), 201)
    refused(await scan(client, w, static["token"]), "quota_exhausted")


async def test_printed_static_cards_outlive_routine_rotation_but_not_revocation(client: Any) -> None:
    from careclub.clubs import jobs

    w = await club_world(client)
    h = w["t"]["headers"]
    card = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    periods = await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h))
    await ok(await client.post(f"/api/v1/periods/{periods[0]['id']}/offline-payment", headers=h, json={}))
    printed = (await ok(await client.get(f"/api/v1/cards/{card['card_no']}/static-qr", headers=h)))["token"]
    dynamic = await qr(client, w, card["card_no"], headers=h)
    kid = rules.decode_token(printed)[0].kid
    # the routine (the job does it every 90 days): a new key, then the old one retired, private half wiped
    await ok(await client.post("/api/v1/club-signing-keys/rotate", headers=h, json={"overlap_seconds": 90}), 201)
    clock.travel(timedelta(seconds=95))
    await jobs.clubs_housekeeping({}, tenant_id=w["t"]["tenant_id"])
    keys = {k["kid"]: k["status"] for k in await ok(await client.get("/api/v1/club-signing-keys", headers=h))}
    assert keys[kid] == "retired" and "active" in keys.values()
    refused(await scan(client, w, dynamic), "bad_signature")  # a 60-second code dies with its key
    assert (await ok(await scan(client, w, printed), 201))["static"] is True  # the printed card does not
    # a key that may have leaked is revoked: nothing it signed verifies, printed cards included
    r = await client.post(f"/api/v1/club-signing-keys/{kid}/revoke", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    refused(await scan(client, w, printed), "bad_signature")
    reprinted = (await ok(await client.get(f"/api/v1/cards/{card['card_no']}/static-qr", headers=h)))["token"]
    await ok(await scan(client, w, reprinted), 201)
    # revoking the active key replaces it first: members' codes keep working
    active = next(k for k, st in keys.items() if st == "active")
    after = await ok(await client.post(f"/api/v1/club-signing-keys/{active}/revoke", headers=h))
    assert after["active_kid"] not in (None, active)
    refused(await scan(client, w, reprinted), "bad_signature")
    await ok(await scan(client, w, await qr(client, w)), 201)
    assert (await client.post("/api/v1/club-signing-keys/999999/revoke", headers=h)).status_code == 404
    # another tenant cannot reach this tenant's keys: 404, and ours keep working
    other = await club_world(client)
    await qr(client, other)  # the other tenant has keys of its own
    r = await client.post(f"/api/v1/club-signing-keys/{after['active_kid']}/revoke", headers=other["t"]["headers"])
    assert r.status_code == 404
    await ok(await scan(client, w, await qr(client, w)), 201)


async def test_checkins_are_append_only_and_partitioned_by_month(client: Any, world: dict[str, Any], infra: Any,
                                                                  owner: Any) -> None:
    import asyncpg

    from careclub.clubs import jobs

    body = await ok(await scan(client, world, await qr(client, world)), 201)
    rows = await as_owner(owner, world["t"]["tenant_id"],
                          "SELECT tableoid::regclass::text AS part FROM club_checkin WHERE id = $1",
                          uuid.UUID(body["checkin_id"]))
    where = rows[0]["part"]
    month = clock.now().strftime("y%Ym%m")
    assert where == f"club_checkin_parts.club_checkin_{month}"
    conn = await asyncpg.connect(infra.app_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", world["t"]["tenant_id"])
            assert await conn.fetchval("SELECT count(*) FROM club_checkin") == 1
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("UPDATE club_checkin SET amount = 0")
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", world["t"]["tenant_id"])
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM club_checkin")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"UPDATE club_checkin_parts.club_checkin_{month} SET amount = 0")
        assert await conn.fetchval("SELECT club_checkin_add_partitions(3)") >= 0
    finally:
        await conn.close()
    assert await jobs.clubs_fanout({}) >= 1
