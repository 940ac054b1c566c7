"""Invitations that give a club member, enrolled by staff, an account of their own.

They are the platform's invitations (`Invite`) with the `member` role; what accepting also does
(link the account to the club member) is the invitation's `on_accept` action, which the clubs
register (`MEMBER_ACCOUNT`, with the member's id). The e-mail may be left out: the member then gives
it when accepting. The staff invitation page does not accept them (`find_invite`): the account is a
member's, and the member's own page says what it is for. Accepting claims the invitation with one
conditional UPDATE, so of concurrent accepts exactly one creates an account."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from careclub.core import clock
from careclub.core.errors import Conflict, NotFound, Problems
from careclub.core.principal import Actor, Principal, current_actor, set_actor
from careclub.core.security import check_password_strength, digest, new_secret
from careclub.platform import audit, rules
from careclub.platform.service._invite_actions import on_accept_value, pending_invites, run_on_accept
from careclub.platform.service._org import check_invite_open, create_staff, role_by_code
from careclub.platform.tables import Invite, User

MEMBER_ROLE = "member"
# The on_accept action of a member's invitation (registered by the clubs), with the argument `member`.
MEMBER_ACCOUNT = "club_member_account"


def is_member_invite(on_accept: Any) -> bool:
    spec = json.loads(on_accept) if isinstance(on_accept, str) else on_accept
    return isinstance(spec, dict) and spec.get("action") == MEMBER_ACCOUNT


async def check_member_email(email: str, *, field: str = "email") -> str:
    """An address a new member account may use: well formed, nobody's yet."""
    email = rules.check_email(email, field=field)
    if await User.exists().where(User.email == email):
        raise Conflict("someone with the email %(email)s exists already", code="email_taken", field=field,
                       params={"email": email})
    return email


async def invite_member(principal: Principal, *, member_id: uuid.UUID, unit_id: uuid.UUID, display_name: str,
                        email: str, hours: int) -> tuple[str, dict[str, Any]]:
    """A one-use link for the member's account. The caller has checked the member is in the
    principal's scope and has no account. A new link voids the member's earlier unused ones."""
    email = await check_member_email(email) if (email or "").strip() else ""
    role = await role_by_code(MEMBER_ROLE)
    now = clock.now()
    earlier = [row["id"] for row in await pending_invites(MEMBER_ACCOUNT, member=member_id)]
    if earlier:
        await Invite.update({Invite.expires_at: now}).where(Invite.id.is_in(earlier))
    secret = new_secret(24)
    invite = Invite(email=email, display_name=display_name.strip()[:120], role=role["id"], org_unit=unit_id,
                    token_hash=digest(secret), invited_by=principal.user_id, expires_at=now + timedelta(hours=hours),
                    on_accept=on_accept_value(MEMBER_ACCOUNT, member=member_id))
    await invite.save()
    await audit.record("invite.create", "invite", invite.id,
                       after={"member": member_id, "email": email or None, "role": MEMBER_ROLE, "org_unit": unit_id})
    return secret, {"id": invite.id, "email": email, "expires_at": invite.expires_at, "created_at": invite.created_at}


async def open_member_invite(member_id: uuid.UUID) -> dict[str, Any] | None:
    """The member's invitation still waiting to be accepted, if any (its link is not kept: only its hash)."""
    rows = await pending_invites(MEMBER_ACCOUNT, member=member_id)
    return rows[0] if rows else None


async def find_member_invite(secret: str) -> dict[str, Any]:
    row = await Invite.select(Invite.id, Invite.email, Invite.display_name, Invite.org_unit, Invite.on_accept,
                              Invite.expires_at, Invite.accepted_at).where(Invite.token_hash == digest(secret)).first()
    if row is None or not is_member_invite(row["on_accept"]):
        raise NotFound("this invitation link is not valid", code="invite_not_found")
    return check_invite_open(row)


async def accept_member_invite(secret: str, *, email: str, password: str) -> uuid.UUID:
    """Create the member's account (kind `member`, role `member`) and run the invitation's action (link
    the club member to it) in the same transaction; answers the new user's id."""
    invite = await find_member_invite(secret)
    problems = Problems()
    if not invite["email"]:
        email = problems.check(rules.check_email, email) or ""
    problems.check(check_password_strength, password)
    problems.done()
    email = invite["email"] or email
    if await User.exists().where(User.email == email):
        raise Conflict("someone with the email %(email)s exists already", code="email_taken", field="email",
                       params={"email": email})
    now = clock.now()
    claimed = await Invite.update({Invite.accepted_at: now}).where(
        Invite.id == invite["id"], Invite.accepted_at.is_null(), Invite.expires_at > now).returning(Invite.id)
    if not claimed:
        raise Conflict("this invitation has been used already", code="invite_used")
    if current_actor().id is None:
        set_actor(Actor(None, f"invitation: {email}"))
    user = await create_staff(None, email=email, display_name=invite["display_name"] or email.split("@")[0],
                              unit_id=invite["org_unit"], roles=[MEMBER_ROLE], password=password, kind="member")
    set_actor(Actor(user["id"], user["display_name"]))
    await run_on_accept(invite["on_accept"], user["id"])
    await audit.record("invite.accept", "invite", invite["id"], after={"user": user["id"]})
    return uuid.UUID(str(user["id"]))
