"""Merchant operators: the people who scan members' codes at one merchant's counter.

A person scans for one merchant at most (a unique index on the link's user). Linking needs a role
that carries the scanning permission; linking someone who scans elsewhere moves him. Every link and
unlink of one person first locks that person's row, so concurrent changes to his link queue up
and each sees the one before it (two admins linking him to two merchants at once: one link, then a
move, both audited; a double click: one link, then "already linked")."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.clubs.service._setup import get_merchant
from careclub.clubs.tables import MerchantOperator
from careclub.core.errors import NotFound, ValidationFailed
from careclub.platform import audit
from careclub.platform import service as platform
from careclub.platform.permissions import BUILTIN_ROLES, Perm
from careclub.platform.tables import Role, RoleGrant, User

SCAN = Perm.CHECKINS_SCAN.value
OPERATOR_ROLE = "merchant_operator"
INVITE_ACTION = "club_merchant_operator"


async def _lock_person(user_id: uuid.UUID) -> dict[str, Any]:
    """The person's row, locked until the transaction ends (FOR UPDATE)."""
    row = await User.select(User.id, User.display_name, User.email).where(User.id == user_id).lock_rows(
        "UPDATE").first()
    if row is None:
        raise NotFound("no such person", code="user_not_found", field="user_id")
    return row


async def _scanning_roles() -> list[uuid.UUID]:
    """The roles carrying the scanning permission (the built-in merchant_operator, tenant_admin, and any
    of the company's own)."""
    return [r["id"] for r in await Role.select(Role.id).where(Role.permissions.any(SCAN))]


async def may_scan(user_id: uuid.UUID) -> bool:
    """Whether the person holds, anywhere, a role carrying the scanning permission."""
    roles = await _scanning_roles()
    return bool(roles) and await RoleGrant.exists().where(RoleGrant.user == user_id, RoleGrant.role.is_in(roles))


async def link_operator(merchant_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
    """Make a person the operator of one merchant (moving him if he served another). He must hold
    a role with the scanning permission (merchant_operator, or one of the tenant's own)."""
    await get_merchant(merchant_id)
    person = await _lock_person(user_id)
    if not await may_scan(user_id):
        raise ValidationFailed("%(person)s holds no role that may scan member cards: grant the role %(role)s first",
                               code="operator_role_missing", field="user_id",
                               params={"person": person["display_name"] or person["email"],
                                       "role": BUILTIN_ROLES[OPERATOR_ROLE][0]})
    existing = await MerchantOperator.select().where(MerchantOperator.user == user_id).first()
    if existing and existing["merchant"] == merchant_id:
        return {"merchant": merchant_id, "user": user_id}
    if existing:
        await MerchantOperator.delete().where(MerchantOperator.id == existing["id"])
    await MerchantOperator(merchant=merchant_id, user=user_id).save()
    await audit.record("club_merchant.operator", "club_merchant", merchant_id,
                       before={"user": user_id, "merchant": existing["merchant"]} if existing else None,
                       after={"user": user_id, "merchant": merchant_id})
    return {"merchant": merchant_id, "user": user_id}


async def unlink_operator(merchant_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
    """Stop a person scanning for this merchant (his roles stay: he may be linked again)."""
    await get_merchant(merchant_id)
    await _lock_person(user_id)
    gone = await MerchantOperator.delete().where(
        MerchantOperator.merchant == merchant_id, MerchantOperator.user == user_id).returning(MerchantOperator.id)
    if not gone:
        raise NotFound("this person is not an operator of this merchant", code="operator_not_found",
                       field="user_id")
    await audit.record("club_merchant.operator_unlink", "club_merchant", merchant_id,
                       before={"user": user_id, "merchant": merchant_id})
    return {"merchant": merchant_id, "user": user_id}


async def list_operators(merchant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The merchant's operators, first linked first; `may_scan` is false for one who lost his role."""
    await get_merchant(merchant_id)
    rows = await MerchantOperator.select(
        MerchantOperator.user, MerchantOperator.user.display_name.as_alias("display_name"),
        MerchantOperator.user.email.as_alias("email"), MerchantOperator.user.is_active.as_alias("is_active"),
        MerchantOperator.created_at.as_alias("linked_at"),
    ).where(MerchantOperator.merchant == merchant_id).order_by(MerchantOperator.created_at)
    scanners = await _scanners({r["user"] for r in rows})
    return [{**r, "may_scan": r["user"] in scanners} for r in rows]


async def _scanners(user_ids: set[uuid.UUID] | None = None) -> set[uuid.UUID]:
    roles = await _scanning_roles()
    if not roles:
        return set()
    query = RoleGrant.select(RoleGrant.user).where(RoleGrant.role.is_in(roles))
    if user_ids is not None:
        if not user_ids:
            return set()
        query = query.where(RoleGrant.user.is_in(list(user_ids)))
    return {r["user"] for r in await query}


async def operator_candidates() -> list[dict[str, Any]]:
    """Everyone who may be linked: active people holding a role with the scanning permission, by name,
    each with the merchant he scans for now (None when free)."""
    ids = await _scanners()
    if not ids:
        return []
    people = await User.select(User.id, User.display_name, User.email).where(
        User.id.is_in(list(ids)), User.is_active == True).order_by(User.display_name)  # noqa: E712
    links = {r["user"]: r for r in await MerchantOperator.select(
        MerchantOperator.user, MerchantOperator.merchant, MerchantOperator.merchant.name.as_alias("merchant_name"),
    ).where(MerchantOperator.user.is_in([p["id"] for p in people]))} if people else {}
    return [{**p, "merchant": links[p["id"]]["merchant"] if p["id"] in links else None,
             "merchant_name": links[p["id"]]["merchant_name"] if p["id"] in links else None} for p in people]


async def merchant_of_operator(user_id: uuid.UUID) -> dict[str, Any] | None:
    row = await MerchantOperator.select(MerchantOperator.merchant).where(MerchantOperator.user == user_id).first()
    return await get_merchant(row["merchant"]) if row else None


# ---- inviting a new operator straight into a merchant ------------------------------------------

async def _on_invite_accepted(user_id: uuid.UUID, spec: dict[str, Any]) -> None:
    await link_operator(uuid.UUID(spec["merchant"]), user_id)


platform.register_invite_action(INVITE_ACTION, _on_invite_accepted)


def invite_on_accept(merchant_id: uuid.UUID) -> dict[str, Any]:
    """What an invitation keeps to link its person to this merchant when accepted."""
    return platform.on_accept_value(INVITE_ACTION, merchant=merchant_id)


async def pending_operator_invites(merchant_id: uuid.UUID) -> list[dict[str, Any]]:
    return await platform.pending_invites(INVITE_ACTION, merchant=merchant_id)

