"""Per-tenant Ed25519 keys that sign QR tokens, and issuing tokens.

One key is `active` (signs). Rotation makes a new active key and moves the old one to
`retiring` with a `retire_at` later than any token it signed can live, so during a rotation two
keys verify. A job retires due keys (status `retired`, private half wiped): their 60-second
tokens stop verifying, but static tokens (printed cards) still do — nobody can sign with a wiped
key, so what it signed stays genuine, and a printed card must not die with each 90-day rotation.
A key that may have leaked is `revoked` instead: it verifies nothing, static or not.
Verifiers cache public keys for 30 seconds per process and reload on an unknown key id.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from careclub.clubs import crypto, rules
from careclub.clubs.service._members import get_card
from careclub.clubs.tables import SigningKey
from careclub.core import clock
from careclub.core.db import current_tenant_id, current_transaction, fetch
from careclub.core.errors import Conflict, NotFound
from careclub.core.principal import Principal
from careclub.core.qr import qr_svg
from careclub.platform import audit
from careclub.platform.permissions import Perm

PURPOSE_KEY = "club.signing_key"
TOKEN_SECONDS = 60
ROTATION_OVERLAP = timedelta(minutes=10)
ROTATE_AFTER = timedelta(days=90)
_CACHE_SECONDS = 30.0

# (tenant id, kid) -> (public key, status, retire_at, loaded at monotonic)
_public_cache: dict[tuple[uuid.UUID, int], tuple[bytes, str, Any, float]] = {}


def forget_cached_keys(tenant_id: uuid.UUID | None = None) -> None:
    for key in [k for k in _public_cache if tenant_id is None or k[0] == tenant_id]:
        _public_cache.pop(key, None)


async def _new_key(status: str = "active") -> dict[str, Any]:
    raw_private, raw_public = crypto.new_signing_key()
    tenant_id = current_tenant_id()
    for _ in range(5):
        kid = secrets.randbelow(2**31 - 1) + 1
        key = SigningKey(kid=kid, public_key=raw_public, status=status,
                         private_key_enc=crypto.encrypt(raw_private, tenant_id=tenant_id, purpose=PURPOSE_KEY))
        savepoint = await current_transaction().savepoint()
        try:
            await key.save()
        except asyncpg.UniqueViolationError:
            await savepoint.rollback_to()
            if await SigningKey.exists().where(SigningKey.status == "active"):
                raise Conflict("the signing key is being created; retry", code="key_busy") from None
            continue  # the random key id was taken: draw another
        await savepoint.release()
        await audit.record("club_signing_key.create", "club_signing_key", key.id, after={"kid": kid, "status": status})
        return {"id": key.id, "kid": kid, "private": raw_private, "public": raw_public}
    raise RuntimeError("could not allocate a key id")


async def _active_row() -> dict[str, Any] | None:
    return await SigningKey.select(SigningKey.id, SigningKey.kid, SigningKey.private_key_enc,
                                   SigningKey.public_key).where(SigningKey.status == "active").first()


async def active_key() -> dict[str, Any]:
    """The signing key, made on first use. First uses that race queue on a lock of the tenant's
    and the later ones find the key the first one made (a refusal of the unique index inside the
    transaction would leave it unusable, and the member's page would answer 500)."""
    row = await _active_row()
    if row is None:
        await fetch("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"club_signing_key:{current_tenant_id()}")
        row = await _active_row()
        if row is None:
            return await _new_key()
    private = crypto.decrypt(row["private_key_enc"], tenant_id=current_tenant_id(), purpose=PURPOSE_KEY)
    return {"id": row["id"], "kid": row["kid"], "private": private, "public": bytes(row["public_key"])}


async def rotate_keys(*, overlap: timedelta = ROTATION_OVERLAP) -> dict[str, Any]:
    """Start a new signing key; the old one keeps verifying until `now + overlap`."""
    # Lock the active row so two rotations queue (raw SQL for FOR UPDATE).

    old = await fetch("SELECT id, kid FROM club_signing_key WHERE status = 'active' FOR UPDATE")
    retire_at = clock.now() + overlap
    if old:
        await SigningKey.update({SigningKey.status: "retiring", SigningKey.retire_at: retire_at}).where(
            SigningKey.id == old[0]["id"])
        await audit.record("club_signing_key.rotate", "club_signing_key", old[0]["id"],
                           before={"status": "active"}, after={"status": "retiring", "retire_at": retire_at})
    new = await _new_key()
    forget_cached_keys(current_tenant_id())
    return {"kid": new["kid"], "previous_kid": old[0]["kid"] if old else None,
            "previous_retire_at": retire_at if old else None}


async def retire_due_keys() -> int:
    """Retire keys past their `retire_at` and wipe their private halves. Idempotent."""
    due = await SigningKey.update({SigningKey.status: "retired", SigningKey.retired_at: clock.now(),
                                   SigningKey.private_key_enc: None}).where(
        SigningKey.status == "retiring", SigningKey.retire_at <= clock.now()).returning(SigningKey.id, SigningKey.kid)
    for row in due:
        await audit.record("club_signing_key.retire", "club_signing_key", row["id"], after={"kid": row["kid"]})
    if due:
        forget_cached_keys(current_tenant_id())
    return len(due)


async def keys_housekeeping() -> dict[str, int]:
    """The scheduled job's work: retire due keys; rotate a key older than ROTATE_AFTER."""
    retired = await retire_due_keys()
    rotated = 0
    active = await SigningKey.select(SigningKey.created_at).where(SigningKey.status == "active").first()
    if active and active["created_at"] <= clock.now() - ROTATE_AFTER:
        await rotate_keys()
        rotated = 1
    return {"retired": retired, "rotated": rotated}


async def list_keys() -> list[dict[str, Any]]:
    return await SigningKey.select(SigningKey.kid, SigningKey.status, SigningKey.retire_at, SigningKey.retired_at,
                                   SigningKey.created_at).order_by(SigningKey.created_at, ascending=False)


async def revoke_key(kid: int) -> dict[str, Any]:
    """Stop trusting a key at once (it may have leaked): it verifies nothing from now on, printed
    static cards included (reprint them), and its private half is wiped. Revoking the active key
    first starts a new one, so members' cards keep working. Idempotent."""

    rows = await fetch("SELECT id, status FROM club_signing_key WHERE kid = $1 FOR UPDATE", kid)
    if not rows:
        raise NotFound("no such signing key", code="signing_key_not_found")
    if rows[0]["status"] != "revoked":
        if rows[0]["status"] == "active":
            await rotate_keys(overlap=timedelta(0))
        await SigningKey.update({SigningKey.status: "revoked", SigningKey.retired_at: clock.now(),
                                 SigningKey.private_key_enc: None}).where(SigningKey.id == rows[0]["id"])
        await audit.record("club_signing_key.revoke", "club_signing_key", rows[0]["id"],
                           before={"status": rows[0]["status"]}, after={"status": "revoked"})
        forget_cached_keys(current_tenant_id())
    active = await SigningKey.select(SigningKey.kid).where(SigningKey.status == "active").first()
    return {"kid": kid, "status": "revoked", "active_kid": active["kid"] if active else None}


async def verification_key(kid: int, *, static: bool = False) -> bytes | None:
    """The public key for `kid` if it may verify this token right now, else None."""
    tenant_id = current_tenant_id()
    cached = _public_cache.get((tenant_id, kid))
    if cached is None or time.monotonic() - cached[3] > _CACHE_SECONDS:
        row = await SigningKey.select(SigningKey.public_key, SigningKey.status, SigningKey.retire_at).where(
            SigningKey.kid == kid).first()
        if row is None:
            return None
        cached = (bytes(row["public_key"]), row["status"], row["retire_at"], time.monotonic())
        if len(_public_cache) > 10_000:
            _public_cache.clear()
        _public_cache[(tenant_id, kid)] = cached
    public, status, retire_at, _ = cached
    if status == "active" or (status == "retiring" and retire_at is not None and retire_at > clock.now()):
        return public
    if static and status in ("retiring", "retired"):
        return public
    return None


# ---- issuing ------------------------------------------------------------------------------

def _can_fetch(principal: Principal, card: dict[str, Any]) -> bool:
    if principal.kind == "member":
        return card["member.user"] == principal.user_id
    return principal.covers(Perm.MEMBERS_READ, card["member.org_unit.path"])


async def issue_qr(principal: Principal | None, card_no: str, *, static: bool = False) -> dict[str, Any]:
    """A fresh signed token for the card (the card's member, or staff in scope)."""
    card = await get_card(None, card_no)
    if principal is not None and not _can_fetch(principal, card):
        from careclub.core.errors import NotFound

        raise NotFound("no such card", code="card_not_found")
    now = clock.now()
    status = rules.card_status(card["state"], card["valid_until"], card["plan.grace_days"], now)
    if status not in ("active", "in_grace"):
        raise Conflict("this card is %(status)s: no QR code", code="card_inactive", extra={"status": status},
                       params={"status": status})
    if static and not card["plan.static_card"]:
        raise Conflict("this plan has no printable static card", code="static_card_not_allowed")
    key = await active_key()
    iat = int(now.timestamp())
    claims = rules.QrClaims(kid=key["kid"], tenant_id=current_tenant_id(), card_id=card["id"], issued_at=iat,
                            expires_at=0 if static else iat + TOKEN_SECONDS, nonce=os.urandom(12), static=static)
    token = rules.encode_token(claims, crypto.sign(key["private"], rules.signing_input(claims.payload())))
    if static:
        await audit.record("club_card.static_qr", "club_card", card["id"], after={"kid": key["kid"]})
    from datetime import UTC, datetime

    return {"token": token, "expires_at": None if static else datetime.fromtimestamp(claims.expires_at, UTC),
            "svg": qr_svg(token, random_text=True), "static": static, "card_no": card_no}
