"""What accepting an invitation does besides creating the account and granting its role.

A domain registers an action by name (the clubs: link the new person to the merchant whose scanner
he was invited to run); the invitation keeps the action's name and arguments in `Invite.on_accept`,
and accepting runs the action in the same transaction as the account, so nobody ends up with an
account but without what the invitation promised (a failing action rolls the acceptance back and
leaves the invitation unused)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from careclub.core import clock
from careclub.core.errors import AppError, ValidationFailed
from careclub.platform.tables import Invite

# (new user's id, the action's arguments as stored) -> None; raises AppError to refuse.
InviteAction = Callable[[uuid.UUID, dict[str, Any]], Awaitable[None]]
_ACTIONS: dict[str, InviteAction] = {}


def register_invite_action(name: str, action: InviteAction) -> None:
    _ACTIONS[name] = action


def on_accept_value(action: str, **arguments: Any) -> dict[str, Any]:
    """The JSON an invitation keeps for `action` (ids as text)."""
    if action not in _ACTIONS:
        raise ValidationFailed("unknown invitation action %(action)s", field="on_accept", params={"action": action})
    return {"action": action, **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in arguments.items()}}


def _loaded(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else dict(value)


async def run_on_accept(on_accept: Any, user_id: uuid.UUID) -> None:
    spec = _loaded(on_accept)
    if not spec:
        return
    action = _ACTIONS.get(spec.get("action", ""))
    if action is None:  # fail closed: an invitation we cannot honour creates no account
        raise AppError("this invitation cannot be honoured any more; ask for a new one",
                       code="invite_action_unknown", status_code=409)
    await action(user_id, spec)


async def pending_invites(action: str, **match: Any) -> list[dict[str, Any]]:
    """Invitations not yet accepted nor expired whose action is `action` with these arguments, newest
    first. Open invitations are few, so they are matched here rather than by a JSON index."""
    rows = await Invite.select(Invite.id, Invite.email, Invite.display_name, Invite.expires_at, Invite.created_at,
                               Invite.on_accept).where(
        Invite.accepted_at.is_null(), Invite.expires_at > clock.now(), Invite.on_accept.is_not_null()
    ).order_by(Invite.created_at, ascending=False)
    wanted = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in match.items()}
    found = []
    for row in rows:
        spec = _loaded(row.pop("on_accept")) or {}
        if spec.get("action") == action and all(spec.get(k) == v for k, v in wanted.items()):
            found.append(row)
    return found
