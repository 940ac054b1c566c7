"""The QR signing keys on the clubs admin page: see them, rotate now, revoke one that may have leaked.
The same service calls and limits as `/api/v1/club-signing-keys`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from careclub.clubs import service
from careclub.clubs.service._checkin import ROTATION_OVERLAP_S
from careclub.core.errors import ValidationFailed
from careclub.platform.permissions import Perm

# Minutes a rotated key keeps verifying, offered on the page (the API takes any length within its limits).
OVERLAP_MINUTES = (10, 60, 1440, 10080)


def overlap_of(minutes: str) -> timedelta:
    """The rotation overlap chosen on the page, checked as the API checks it: the old key must outlive
    every code it signed (a code lives 60 s, plus the clock allowance), and at most a week."""
    try:
        seconds = int(minutes or "10") * 60
    except ValueError:
        seconds = -1
    shortest, longest = ROTATION_OVERLAP_S
    if not shortest <= seconds <= longest:
        raise ValidationFailed("the old key must keep working between 2 minutes and 7 days", field="overlap_minutes")
    return timedelta(seconds=seconds)


@post("/club/admin/keys/rotate", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def keys_rotate(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Redirect | Template:
    from careclub.clubs.views import _admin_page
    from careclub.core.error_messages import error_text

    try:
        overlap = overlap_of(data.get("overlap_minutes", ""))
    except ValidationFailed as exc:
        return await _admin_page(request, status_code=exc.status_code, key_error=error_text(exc))
    await service.rotate_keys(overlap=overlap)
    return Redirect("/club/admin?done=keys#keys", status_code=303)


@post("/club/admin/keys/{kid:int}/revoke", opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def keys_revoke(kid: FromPath[int]) -> Redirect:
    if not 1 <= kid <= 2**31 - 1:
        raise ValidationFailed("no such signing key", field="kid")
    await service.revoke_key(kid)
    return Redirect("/club/admin?done=keys#keys", status_code=303)


ROUTES = [keys_rotate, keys_revoke]
