"""The check-in: a merchant operator scans a member's QR token.

Order of checks (each refusal names one reason code of the contract): the text's format, the
token's tenant against the scanner's (another tenant's keys are never read), key id and
signature, expiry (30 s allowance), replay (Redis SET NX first, a unique row second), the card
at this moment, the merchant's membership of the card's club, quotas. Accepted scans are
appended to `club_checkin`; the app role cannot change or delete them.

Redis is the fast path and never the truth: the nonce row decides replays and the check-in row
keeps each answer, so with Redis unreachable every scan is still answered rightly, only slower.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from careclub.clubs import crypto, rules
from careclub.clubs.service._keys import verification_key
from careclub.clubs.tables import Benefit, CheckIn, MemberCard, TokenNonce
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import AppError, Forbidden, ValidationFailed
from careclub.core.money import parse_amount, to_money
from careclub.core.principal import Principal
from careclub.core.redis import redis, tenant_key

T = TypeVar("T")
log = logging.getLogger("careclub.clubs.checkin")
_encode = msgspec.json.Encoder().encode
CLOCK_ALLOWANCE = 30
# How long a rotated key may keep verifying (s): it must outlive every code it signed (their lifetime plus
# the clock allowance), or a fresh code would be refused as forged mid-rotation; a week at most.
ROTATION_OVERLAP_S = (rules.MAX_LIFETIME + CLOCK_ALLOWANCE, 7 * 86400)
IDEMPOTENCY_SECONDS = 24 * 3600
_PRUNE_AFTER = timedelta(hours=1)

REFUSAL_STATUS = {
    "malformed": 400, "bad_signature": 422, "expired_token": 422, "replayed": 409, "wrong_tenant": 422,
    "card_not_found": 404, "card_inactive": 409, "card_expired": 409, "merchant_not_in_network": 403,
    "quota_exhausted": 409,
}
MESSAGES = {
    "malformed": "this is not a careclub member code",
    "bad_signature": "the code's signature is not valid",
    "expired_token": "the code has expired; ask the member to refresh it",
    "replayed": "this code has been used already",
    "wrong_tenant": "this card belongs to another company",
    "card_not_found": "no such card",
    "card_inactive": "the card is not active",
    "card_expired": "the card has expired",
    "merchant_not_in_network": "this merchant is not in the card's club network",
    "quota_exhausted": "the member has used up this benefit for the period",
}


class CheckinRefused(AppError):
    def __init__(self, reason: str, message: str | None = None, *, racing: bool = False) -> None:
        super().__init__(message or MESSAGES[reason], code=reason, status_code=REFUSAL_STATUS[reason],
                         extra={"accepted": False, "reason": reason})
        self.reason = reason
        # "replayed" by a scan of the same idempotency key that may still be running: worth waiting
        # a moment for its answer rather than refusing
        self.racing = racing


# The check-in is the hot path: its reads and writes are hand-written SQL (prepared and cached
# by asyncpg) because building the equivalent Piccolo queries with joins costs more CPU than the
# database work itself (profiled: ~2 ms per joined select). RLS still scopes every statement.

_SCANNER_SQL = """
SELECT m.id, m.club, m.name, m.code, m.offer_kind, m.offer_value, m.offer_text, m.is_open,
       b.id AS benefit_id, b.code AS benefit_code, b.name AS benefit_name, b.quota, b.quota_period
FROM club_merchant_operator o
JOIN club_merchant m ON m.id = o.merchant
LEFT JOIN LATERAL (
    SELECT b.id, b.code, b.name, b.quota, b.quota_period
    FROM club_benefit_merchant bm JOIN club_benefit b ON b.id = bm.benefit
    WHERE bm.merchant = m.id AND b.code = $2 AND b.active
) b ON true
WHERE o."user" = $1
"""

# After the token checks (no database), one round trip records the nonce (the replay truth: a
# used one comes back as `fresh = false`, an unknown card raises a foreign-key violation), reads
# the card, the scanner's merchant and the requested benefit, and takes one unit of the benefit's
# quota when the nonce was fresh. One row always comes back; a missing part is NULLs. Taking the
# unit before Python has judged the card is safe: every refusal answers 4xx, and a 4xx rolls the
# whole transaction back. A used nonce does not raise, so the transaction stays usable for the
# idempotent re-send that must read the first answer back.
_SCAN_SELECT = """
SELECT c.id AS card_id, c.card_no, c.state, c.valid_until, c.club AS card_club, c.member, c.member_name,
       c.plan_name, c.grace_days, c.static_card, c.static_daily_cap,
       s.id AS merchant_id, s.club AS merchant_club, s.name AS merchant_name, s.code AS merchant_code,
       s.offer_kind, s.offer_value, s.offer_text, s.is_open,
       s.benefit_id, s.benefit_code, s.benefit_name, s.quota, s.quota_period
FROM (SELECT 1) AS one
LEFT JOIN (
    SELECT c.id, c.card_no, c.state, c.valid_until, c.club, c.member, mb.name AS member_name,
           p.name AS plan_name, p.grace_days, p.static_card, p.static_daily_cap
    FROM club_card c JOIN club_plan p ON p.id = c.plan JOIN club_member mb ON mb.id = c.member
    WHERE c.id = $1
) c ON true
LEFT JOIN (""" + _SCANNER_SQL.replace("$1", "$5").replace("$2", "$6") + """) s ON true
"""
# Takes one unit of a usage counter if fewer than {limit} were used: inserts, or row-locks and
# increments, in one statement, so concurrent scans queue and never overshoot. {rows} are the
# values of a new counter row (member, counter, period).
_TAKE_UNIT = """
    INSERT INTO club_benefit_usage (id, tenant_id, created_at, member, counter, period, used)
    {rows}
    ON CONFLICT (tenant_id, member, counter, period)
    DO UPDATE SET used = club_benefit_usage.used + 1
    WHERE club_benefit_usage.used < {limit}
    RETURNING used
"""
# $7..$10: the quota window keys of today for each period (rules.period_key), so SQL only picks one.
_SCAN_WITH_NONCE_SQL = """
WITH used AS (
    INSERT INTO club_token_nonce (id, tenant_id, created_at, nonce, card, expires_at)
    VALUES ($2, app_current_tenant(), now(), $3, $1, $4)
    ON CONFLICT (tenant_id, nonce) DO NOTHING
    RETURNING id
), scan AS (""" + _SCAN_SELECT + """), bump AS (""" + _TAKE_UNIT.format(
    rows="""SELECT gen_random_uuid(), app_current_tenant(), now(), scan.member, 'benefit:' || scan.benefit_code,
           CASE scan.quota_period WHEN 'year' THEN $7 WHEN 'month' THEN $8 WHEN 'day' THEN $9 ELSE $10 END, 1
    FROM scan, used WHERE scan.quota > 0 AND scan.member IS NOT NULL""",
    limit="(SELECT quota FROM scan)") + """)
SELECT scan.*, (SELECT used FROM bump) AS quota_used, EXISTS (SELECT 1 FROM used) AS fresh FROM scan
"""
_SCAN_STATIC_SQL = _SCAN_SELECT.replace("$5", "$2").replace("$6", "$3")
_PERIODS = ("year", "month", "day", "ever")

_CHECKIN_SQL = """
INSERT INTO club_checkin (id, tenant_id, created_at, card, member, merchant, benefit, operator_id, amount,
                          discount_amount, discount, static, nonce, idempotency_key, answer, scanned_on)
VALUES ($1, app_current_tenant(), now(), $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13::jsonb, $14)
"""


async def _scanner_context(principal: Principal, benefit_code: str | None) -> dict[str, Any]:
    rows = await fetch(_SCANNER_SQL, principal.user_id, benefit_code or "")
    if not rows:
        raise Forbidden("you are not the operator of a merchant", code="not_a_merchant_operator")
    return rows[0]


async def operator_merchant(principal: Principal) -> dict[str, Any]:
    row = await _scanner_context(principal, None)
    return {k: row[k] for k in ("id", "club", "name", "code", "offer_kind", "offer_value", "offer_text", "is_open")}


async def _fast(call: Awaitable[T], unavailable: T) -> T:
    """Redis is the check-in's fast path, never its truth (the nonce row is, and the check-in row
    keeps each answer): when Redis cannot be reached a scan is still answered rightly from the
    database, a little slower, instead of failing at the counter."""
    try:
        return await call
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        log.warning("check-in: Redis unavailable (%s); answering from the database", exc)
        return unavailable


def _idem_key(tenant_id: uuid.UUID, operator_id: Any, key: str) -> str:
    return tenant_key(tenant_id, "checkin", "idem", operator_id, key)


async def check_in(principal: Principal, *, token: str, benefit: str | None, amount: Any | None,
                   idempotency_key: str | None) -> dict[str, Any]:
    """Answers the accepted body, or raises CheckinRefused (4xx, `accepted: false`)."""
    tenant_id = principal.tenant.id
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 120:
        raise ValidationFailed("idempotency_key must be 1–120 characters", field="idempotency_key")
    # Keyed by the operator (who holds exactly one merchant): known before any database work.
    idem = _idem_key(tenant_id, principal.user_id, idempotency_key) if idempotency_key else None
    if idem:
        stored = await _fast(redis().get(idem), None)
        if stored:
            return _replay_answer(json.loads(stored))
    try:
        body = await _check_in(principal, token=token, benefit_code=benefit, amount=amount,
                               idempotency_key=idempotency_key)
    except CheckinRefused as refusal:
        if refusal.reason == "replayed" and idem:
            # The same scan re-sent while (or after) the first one ran: answer what it answered. It is
            # in the check-in row once the first has committed (the only copy if Redis lost its keys),
            # and in Redis a moment before that, which is what a re-send racing the first waits for.
            answer = await _first_answer(principal.user_id, idempotency_key)
            if answer is None and refusal.racing:
                for _ in range(30):
                    stored = await _fast(redis().get(idem), None)
                    if stored:
                        return _replay_answer(json.loads(stored))
                    await asyncio.sleep(0.1)
                answer = await _first_answer(principal.user_id, idempotency_key)
            if answer is not None:
                return answer
        if idem:
            await _fast(redis().set(idem, json.dumps({"refused": refusal.reason, "message": refusal.message}),
                                    ex=IDEMPOTENCY_SECONDS, nx=True), None)
        raise
    if idem:
        await _fast(redis().set(idem, json.dumps({"accepted": body}), ex=IDEMPOTENCY_SECONDS, nx=True), None)
    return body


async def _first_answer(operator_id: uuid.UUID, idempotency_key: str | None) -> dict[str, Any] | None:
    row = await CheckIn.select(CheckIn.answer).where(CheckIn.operator_id == operator_id,
                                                     CheckIn.idempotency_key == idempotency_key).first()
    if not row or not row["answer"]:
        return None
    answer = row["answer"] if isinstance(row["answer"], dict) else json.loads(row["answer"])
    return cast("dict[str, Any]", answer)


def _replay_answer(stored: dict[str, Any]) -> dict[str, Any]:
    if "accepted" in stored:
        answer: dict[str, Any] = stored["accepted"]
        return answer
    raise CheckinRefused(stored["refused"], stored.get("message"))


_BUMP_SQL = _TAKE_UNIT.format(rows="VALUES ($1, app_current_tenant(), now(), $2, $3, $4, 1)", limit="$5")


async def _bump(member_id: uuid.UUID, counter: str, period: str, limit: int) -> int | None:
    """Take one unit of a counter if fewer than `limit` were used (the static card's daily cap,
    a static scan's benefit); the used count after, or None when none was left."""
    rows = await fetch(_BUMP_SQL, uuid.uuid4(), member_id, counter, period, limit)
    return rows[0]["used"] if rows else None


async def _check_in(principal: Principal, *, token: str, benefit_code: str | None, amount: Any | None,
                    idempotency_key: str | None) -> dict[str, Any]:
    tenant = principal.tenant
    amount_minor = None
    if amount is not None:
        amount_minor = parse_amount(getattr(amount, "amount", None) or "", field="amount.amount")
        if getattr(amount, "currency", None) != tenant.currency:
            raise ValidationFailed("amount.currency must be %(currency)s", field="amount.currency",
                                   params={"currency": tenant.currency})

    try:
        claims, payload, signature = rules.decode_token(token)
    except rules.TokenRefused as exc:
        raise CheckinRefused(exc.reason) from None
    if claims.tenant_id != tenant.id:
        raise CheckinRefused("wrong_tenant")
    public = await verification_key(claims.kid, static=claims.static)
    if public is None or not crypto.verify(public, signature, rules.signing_input(payload)):
        raise CheckinRefused("bad_signature")
    now = clock.now()
    now_s = int(now.timestamp())
    today = now.astimezone(ZoneInfo(tenant.timezone)).date()
    if not claims.static and (now_s > claims.expires_at + CLOCK_ALLOWANCE
                              or claims.issued_at > now_s + CLOCK_ALLOWANCE):
        raise CheckinRefused("expired_token")
    nonce = claims.nonce.hex()
    nonce_key = tenant_key(tenant.id, "qr", "nonce", nonce)
    if not claims.static:
        ttl = max(claims.expires_at + CLOCK_ALLOWANCE - now_s, 1) + 60
        # The mark keeps the scan's idempotency key: a re-send of the same scan racing the first one
        # waits for its answer, any other use of the code is refused at once. Unreachable Redis
        # counts as "not seen": the nonce row below decides.
        if not await _fast(redis().set(nonce_key, idempotency_key or "", nx=True, ex=ttl), True):
            first_key = await _fast(redis().get(nonce_key), None)
            raise CheckinRefused("replayed", racing=bool(idempotency_key) and first_key == idempotency_key)
        try:
            rows = await fetch(_SCAN_WITH_NONCE_SQL, claims.card_id, uuid.uuid4(), nonce,
                               datetime.fromtimestamp(claims.expires_at + CLOCK_ALLOWANCE, UTC),
                               principal.user_id, benefit_code or "",
                               *(rules.period_key(p, today) for p in _PERIODS))
        except asyncpg.ForeignKeyViolationError:
            raise CheckinRefused("card_not_found") from None
        if not rows[0]["fresh"]:
            raise CheckinRefused("replayed")
    else:
        rows = await fetch(_SCAN_STATIC_SQL, claims.card_id, principal.user_id, benefit_code or "")
    card = rows[0]
    # Refusals that are about the request, not the card, give the code back (the nonce row rolls
    # back with the 4xx answer; the Redis mark is removed here).
    if card["merchant_id"] is None or (benefit_code and card["benefit_id"] is None):
        if not claims.static:
            await _fast(redis().delete(nonce_key), 0)
        if card["merchant_id"] is None:
            raise Forbidden("you are not the operator of a merchant", code="not_a_merchant_operator")
        raise ValidationFailed("this merchant does not offer the benefit %(benefit_code)r",
                               code="benefit_not_offered", field="benefit", params={"benefit_code": benefit_code})
    merchant = {"id": card["merchant_id"], "club": card["merchant_club"], "name": card["merchant_name"],
                "code": card["merchant_code"], "offer_kind": card["offer_kind"], "offer_value": card["offer_value"],
                "offer_text": card["offer_text"], "is_open": card["is_open"]}
    benefit = ({"id": card["benefit_id"], "code": card["benefit_code"], "name": card["benefit_name"],
                "quota": card["quota"], "quota_period": card["quota_period"]} if benefit_code else None)
    if card["card_id"] is None:
        raise CheckinRefused("card_not_found")
    status = rules.card_status(card["state"], card["valid_until"], card["grace_days"], now)
    if status == "expired":
        raise CheckinRefused("card_expired")
    if status not in ("active", "in_grace"):
        raise CheckinRefused("card_inactive", f"the card is {status}")
    if merchant["club"] != card["card_club"] or not merchant["is_open"]:
        raise CheckinRefused("merchant_not_in_network")

    if claims.static:
        if not card["static_card"]:
            raise CheckinRefused("card_inactive", "this plan no longer accepts static cards")
        cap = card["static_daily_cap"]
        if cap and await _bump(card["member"], "__static__", today.isoformat(), cap) is None:
            raise CheckinRefused("quota_exhausted", "the static card's check-ins for today are used up")

    remaining = None
    if benefit is not None and benefit["quota"] > 0:
        # The dynamic scan took its unit in the same statement that read the card; a static scan
        # (rare: printed cards) takes it here.
        used = card["quota_used"] if not claims.static else await _bump(
            card["member"], "benefit:" + benefit["code"], rules.period_key(benefit["quota_period"], today),
            benefit["quota"])
        if used is None:
            raise CheckinRefused("quota_exhausted")
        remaining = benefit["quota"] - used

    discount = _discount(merchant, benefit, amount_minor, tenant.currency, remaining)
    checkin_id = uuid.uuid4()
    body = {
        "accepted": True, "reason": None, "checkin_id": str(checkin_id),
        "member": {"display_name": rules.mask_name(card["member_name"]), "card_no": card["card_no"],
                   "plan": card["plan_name"], "valid_until": _iso(card["valid_until"], tenant.timezone)},
        "discount": discount, "card_status": status, "static": claims.static,
        "merchant": {"code": merchant["code"], "name": merchant["name"]},
    }
    await fetch(_CHECKIN_SQL, checkin_id, card["card_id"], card["member"], merchant["id"],
                benefit["id"] if benefit else None, principal.user_id, amount_minor,
                _discount_minor(merchant, benefit, amount_minor), _json(discount) if discount else None,
                claims.static, nonce if not claims.static else "", idempotency_key, _json(body), today)
    return body


def _json(value: Any) -> str:
    return _encode(value).decode()


def _iso(value: datetime | None, zone: str) -> str | None:
    return value.astimezone(ZoneInfo(zone)).isoformat() if value else None


def _discount_minor(merchant: dict[str, Any], benefit: dict[str, Any] | None, amount: int | None) -> int | None:
    return rules.discount_for(merchant["offer_kind"], merchant["offer_value"], amount, free_benefit=benefit is not None)


def _discount(merchant: dict[str, Any], benefit: dict[str, Any] | None, amount: int | None, currency: str,
              remaining: int | None) -> dict[str, Any] | None:
    if benefit is None and merchant["offer_kind"] == "none":
        return None
    minor = _discount_minor(merchant, benefit, amount)
    out: dict[str, Any] = {
        "kind": "benefit" if benefit else merchant["offer_kind"],
        "description": benefit["name"] if benefit else merchant["offer_text"],
        "benefit": benefit["code"] if benefit else None,
        "remaining": remaining,
        "percent": merchant["offer_value"] if not benefit and merchant["offer_kind"] == "percent" else None,
        "amount": _money(minor, currency),
        "payable": _money(amount - minor, currency) if amount is not None and minor is not None else None,
    }
    return out


def _money(minor: int | None, currency: str) -> dict[str, str] | None:
    if minor is None:
        return None
    m = to_money(minor, currency)
    return {"amount": m.amount, "currency": m.currency}


def local_day(timezone: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The tenant's today as a UTC range [start, end): what check-ins are filtered by, since their
    table is partitioned and indexed by created_at (a range on it reads one partition's index)."""
    zone = ZoneInfo(timezone)
    day = (now or clock.now()).astimezone(zone).date()
    start = datetime.combine(day, time(), zone)
    return start.astimezone(UTC), datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


async def list_checkins(*, merchant_id: uuid.UUID | None = None, card_id: uuid.UUID | None = None,
                        during: tuple[datetime, datetime] | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, from the (tenant, merchant | card, created_at) indexes."""
    where: list[Any] = []
    if merchant_id:
        where.append(CheckIn.merchant == merchant_id)
    if card_id:
        where.append(CheckIn.card == card_id)
    if during:
        where.append(CheckIn.created_at >= during[0])
        where.append(CheckIn.created_at < during[1])
    q = CheckIn.select(CheckIn.id, CheckIn.created_at, CheckIn.card.card_no, CheckIn.member.name, CheckIn.merchant.name,
                       CheckIn.benefit.code, CheckIn.benefit.name, CheckIn.amount, CheckIn.discount_amount,
                       CheckIn.static)
    if where:
        q = q.where(*where)
    rows = await q.order_by(CheckIn.created_at, ascending=False).limit(limit)
    for r in rows:
        r["member.name"] = rules.mask_name(r["member.name"])
    return rows


async def benefits_left(card_id: uuid.UUID, *, timezone: str) -> list[dict[str, Any]]:
    """The card's club's benefits with their quota and what the member has left this period."""
    card = await MemberCard.select(MemberCard.club, MemberCard.member).where(MemberCard.id == card_id).first()
    assert card is not None
    today = clock.now().astimezone(ZoneInfo(timezone)).date()
    benefits = await Benefit.select(Benefit.code, Benefit.name, Benefit.group_name, Benefit.quota,
                                    Benefit.quota_period).where(Benefit.club == card["club"], Benefit.active == True)  # noqa: E712
    usage = {(u["counter"], u["period"]): u["used"] for u in await fetch(
        "SELECT counter, period, used FROM club_benefit_usage WHERE member = $1", card["member"])}
    for b in benefits:
        used = usage.get(("benefit:" + b["code"], rules.period_key(b["quota_period"], today)), 0)
        b["used"] = used
        b["left"] = b["quota"] - used if b["quota"] else None
    return benefits


async def prune_nonces() -> int:
    """Nonce rows of tokens long expired guard nothing (an expired token is refused anyway)."""
    gone = await TokenNonce.delete().where(TokenNonce.expires_at < clock.now() - _PRUNE_AFTER).returning(TokenNonce.id)
    return len(gone)

