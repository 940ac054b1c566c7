"""Forgotten passwords: a one-use link, valid for an hour, sent by mail.

Asking for a link answers the same whether or not the address is registered (nothing is said about
who has an account), and is rate-limited per address and per client. Only the SHA-256 of a link's
secret is stored. Using a link claims it with one conditional UPDATE, so of two concurrent uses of
the same link exactly one sets the password; the claim, the new password and the audit entry are
one transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from careclub.core import clock, i18n, ratelimit
from careclub.core.db import bind_tenant
from careclub.core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.principal import Actor, TenantInfo, current_actor, set_actor
from careclub.core.security import check_password_strength, digest, hash_password, new_secret
from careclub.platform import audit, rules
from careclub.platform.service._accounts import _limit_keys, tenant_by_slug
from careclub.platform.service._mail import send_mail
from careclub.platform.tables import PasswordReset, User
from careclub.settings import Settings

RESET_MINUTES = 60
# Requests for a link, counted whatever the answer (so the count tells nothing either):
RESETS_PER_ACCOUNT = 3  # per company and address, per window: enough for a lost mail or two
RESETS_PER_CLIENT = 20  # per client address, per window
RESET_WINDOW_SECONDS = 3600

RESET_SUBJECT = N_("Reset your password at %(company)s")
RESET_BODY = N_("Hello %(name)s,\n\nSomeone, we hope you, asked to reset your password at %(company)s. Open this "
                "link within an hour to choose a new one (it works once):\n\n%(link)s\n\nIf it was not you, "
                "ignore this mail: your password stays as it is.")


def _limit_key(kind: str, value: str) -> str:
    return f"rl:pwreset:{kind}:{digest(value)}"


def reset_path(tenant_slug: str, secret: str) -> str:
    return f"/password/reset/{quote(tenant_slug)}/{secret}"


async def request_password_reset(settings: Settings, *, tenant_slug: str, email: str, address: str,
                                 site_url: str) -> None:
    """Send a reset link when the company and address name an active account; otherwise do nothing,
    the same way. Raises only for a malformed address and for too many requests."""
    slug = (tenant_slug or "").strip().lower()
    email = rules.check_email(email)
    limited = None
    for key, limit in ((_limit_key("acct", f"{slug}|{email}"), RESETS_PER_ACCOUNT),
                       (_limit_key("addr", address), RESETS_PER_CLIENT)):
        count, retry_after = await ratelimit.hit(key, RESET_WINDOW_SECONDS)
        if count > limit:
            limited = max(limited or 0, retry_after)
    if limited is not None:
        raise RateLimited("too many password-reset requests; try again later", retry_after=limited)
    tenant = await tenant_by_slug(slug) if slug else None
    if tenant is None:
        return
    await bind_tenant(tenant.id)
    user = await User.select(User.id, User.email, User.display_name, User.locale, User.is_active).where(
        User.email == email).first()
    if user is None or not user["is_active"]:
        return
    secret = new_secret(32)
    link = PasswordReset(user=user["id"], token_hash=digest(secret),
                         expires_at=clock.now() + timedelta(minutes=RESET_MINUTES))
    await link.save()
    set_actor(Actor(None, f"password reset: {email}"))
    await audit.record("auth.password_reset_requested", "user", user["id"], after={"link": link.id})
    lang = user["locale"] or tenant.locale
    values = {"name": user["display_name"], "company": tenant.name,
              "link": site_url.rstrip("/") + reset_path(tenant.slug, secret)}
    await send_mail(settings, user["email"], i18n.translate(lang, RESET_SUBJECT) % values,
                    i18n.translate(lang, RESET_BODY) % values)


async def open_reset_link(tenant_slug: str, secret: str) -> tuple[TenantInfo, dict[str, Any]]:
    """The tenant and the link a reset URL names (binding the transaction to the tenant); raises
    404 for an unknown link, 409 for a used one, 410 for an expired one."""
    tenant = await tenant_by_slug(tenant_slug)
    if tenant is None:
        raise NotFound("this password-reset link is not valid", code="reset_link_not_found")
    await bind_tenant(tenant.id)
    row = await PasswordReset.select(PasswordReset.id, PasswordReset.user, PasswordReset.user.email,
                                     PasswordReset.user.is_active, PasswordReset.expires_at,
                                     PasswordReset.used_at).where(PasswordReset.token_hash == digest(secret)).first()
    if row is None or not row["user.is_active"]:
        raise NotFound("this password-reset link is not valid", code="reset_link_not_found")
    if row["used_at"] is not None:
        raise Conflict("this password-reset link has been used already", code="reset_link_used")
    if row["expires_at"] <= clock.now():
        raise ValidationFailed("this password-reset link has expired; ask for a new one", code="reset_link_expired",
                               status_code=410)
    return tenant, row


async def reset_password(tenant_slug: str, secret: str, password: str) -> tuple[TenantInfo, uuid.UUID]:
    """Set a new password through a reset link, once. The caller ends the person's other sessions."""
    tenant, link = await open_reset_link(tenant_slug, secret)
    check_password_strength(password)
    now = clock.now()
    # The claim: of concurrent uses of one link, exactly one updates the row (the others wait for its
    # lock, then find `used_at` set and update nothing).
    claimed = await PasswordReset.update({PasswordReset.used_at: now}).where(
        PasswordReset.id == link["id"], PasswordReset.used_at.is_null(),
        PasswordReset.expires_at > now).returning(PasswordReset.user)
    if not claimed:
        raise Conflict("this password-reset link has been used already", code="reset_link_used")
    user_id = claimed[0]["user"]
    await User.update({User.password_hash: hash_password(password)}).where(User.id == user_id)
    # Any other link the person asked for is void now.
    await PasswordReset.update({PasswordReset.used_at: now}).where(
        PasswordReset.user == user_id, PasswordReset.used_at.is_null())
    if current_actor().id is None:
        set_actor(Actor(user_id, link["user.email"]))
    await audit.record("auth.password_reset", "user", user_id, after={"link": link["id"]})
    # The sign-in lockout of the account is over: the person proved they own the address.
    await ratelimit.clear(_limit_keys(tenant.slug, link["user.email"], "")[0])
    return tenant, user_id
