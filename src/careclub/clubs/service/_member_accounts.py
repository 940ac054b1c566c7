"""A club member's own account: staff enrol a member, then invite them to sign in and see their card.

The invitation is the platform's (`platform.invite_member`); accepting it creates the account and runs
`link_account` (registered here as the invitation's action) in the same transaction, so an account
is never made without its member, nor a member linked twice."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.clubs.service._members import get_member
from careclub.clubs.tables import Member
from careclub.core.errors import Conflict, NotFound
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform import service as platform
from careclub.platform.permissions import Perm
from careclub.platform.tables import User


async def link_account(user_id: uuid.UUID, spec: dict[str, Any]) -> None:
    """The invitation's action: the member's `user` becomes the new account, unless they have one."""
    member_id = uuid.UUID(str(spec["member"]))
    linked = await Member.update({Member.user: user_id}).where(
        Member.id == member_id, Member.user.is_null()).returning(Member.id)
    if not linked:
        if not await Member.exists().where(Member.id == member_id):
            raise NotFound("no such member", code="member_not_found")
        raise Conflict("this member has an account already", code="member_has_account")
    await audit.record("club_member.account_linked", "club_member", member_id, after={"user": user_id})


platform.register_invite_action(platform.MEMBER_ACCOUNT, link_account)


async def invite_member(principal: Principal, member_id: uuid.UUID, *, email: str,
                        hours: int) -> tuple[str, dict[str, Any]]:
    """A one-use link for the member's account (a new one voids the earlier unused ones); staff who
    manage the member's branch only, and only while the member has no account."""
    member = await get_member(principal, member_id, Perm.MEMBERS_MANAGE)
    if member["user"] is not None:
        raise Conflict("this member has an account already", code="member_has_account")
    return await platform.invite_member(principal, member_id=member_id, unit_id=member["org_unit"],
                                        display_name=member["name"], email=email, hours=hours)


async def account_of(member: dict[str, Any]) -> dict[str, Any]:
    """What the member's page says about their account: the address they sign in with, or the
    invitation still open (when it was made, to which address, until when)."""
    if member["user"] is not None:
        user = await User.select(User.email, User.is_active, User.last_login_at).where(
            User.id == member["user"]).first()
        return {"user": user}
    return {"user": None, "invite": await platform.open_member_invite(member["id"])}
