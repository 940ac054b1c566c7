"""Notifications: the in-app inbox, and email — sent through SMTP when configured, otherwise
kept in the outbox table that admins can read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from careclub.approvals.tables import Notification, OutboxEmail
from careclub.core import clock, i18n
from careclub.core.db import current_tenant_id
from careclub.platform.service import get_tenant
from careclub.platform.tables import User


async def notify(user_ids: list[uuid.UUID], kind: str, title: str, *, params: dict[str, str] | None = None,
                 body: str = "", body_params: dict[str, str] | None = None, link: str = "") -> None:
    """`title` (and `body`, when `body_params` is given) are English messages with {placeholders},
    marked with N_: each recipient reads them in their own language (theirs, else the company's), in
    the inbox and in the mail. The values are put in after translating, so a request's own title is
    never looked up as a message."""
    ids = list(dict.fromkeys(u for u in user_ids if u is not None))
    if not ids:
        return
    people = await User.select(User.id, User.email, User.locale).where(User.id.is_in(ids), User.is_active.eq(True))
    company = await get_tenant(current_tenant_id())
    for p in people:
        lang = p["locale"] or (company.locale if company else None)
        subject = i18n.translate(lang, title).format(**(params or {}))[:300]
        text = i18n.translate(lang, body).format(**body_params) if body_params is not None else body
        await Notification(user_id=p["id"], kind=kind, title=subject, body=text, link=link).save()
        await OutboxEmail(to_email=p["email"], subject=subject, body=f"{text}\n\n{link}".strip()).save()


async def queue_email(to_email: str, subject: str, body: str) -> None:
    """Mail to someone who may have no account yet (an invitation, a password-reset link), already
    written in the reader's language: kept in the outbox, sent by `send_outbox` when SMTP is set."""
    await OutboxEmail(to_email=to_email, subject=subject[:300], body=body).save()


async def local_time(value: datetime) -> str:
    """A time as the company's people read it (in its time zone), for text kept and read later."""
    company = await get_tenant(current_tenant_id())
    return f"{clock.local(value, company.timezone if company else 'UTC'):%Y-%m-%d %H:%M}"


async def send_outbox(smtp_url: str, limit: int = 50) -> int:
    """Send unsent mail through SMTP (`smtp://user:pass@host:port`); a failure is recorded on the
    row and retried next time."""
    import asyncio
    import smtplib
    from email.message import EmailMessage
    from urllib.parse import unquote, urlsplit

    rows = await OutboxEmail.select().where(OutboxEmail.sent_at.is_null()).order_by(OutboxEmail.created_at).limit(
        limit)
    if not rows or not smtp_url:
        return 0
    url = urlsplit(smtp_url)

    def send(row: dict[str, Any]) -> None:
        msg = EmailMessage()
        msg["From"] = f"careclub@{url.hostname or 'localhost'}"
        msg["To"] = row["to_email"]
        msg["Subject"] = row["subject"]
        msg.set_content(row["body"])
        with smtplib.SMTP(url.hostname or "localhost", url.port or 25, timeout=10) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(msg)

    sent = 0
    for row in rows:
        try:
            await asyncio.to_thread(send, row)
        except OSError as exc:
            await OutboxEmail.update({OutboxEmail.error: str(exc)[:500] or type(exc).__name__,
                                      OutboxEmail.attempts: OutboxEmail.attempts + 1,
                                      OutboxEmail.last_attempt_at: clock.now()}).where(OutboxEmail.id == row["id"])
            continue
        await OutboxEmail.update({OutboxEmail.sent_at: clock.now(), OutboxEmail.error: "",
                                  OutboxEmail.attempts: OutboxEmail.attempts + 1,
                                  OutboxEmail.last_attempt_at: clock.now()}).where(OutboxEmail.id == row["id"])
        sent += 1
    return sent
