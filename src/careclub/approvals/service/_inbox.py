"""Reading the in-app inbox (one person's own notifications) and, for admins, the mail outbox.

A notification belongs to exactly one person: every function here takes the reader's user id and
answers another person's notification exactly like a missing one (RLS already hides other
tenants' rows)."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.approvals.tables import Notification, OutboxEmail
from careclub.core import clock
from careclub.core.errors import NotFound, ValidationFailed
from careclub.platform import audit

NOTIFICATION_FIELDS = (Notification.id, Notification.kind, Notification.title, Notification.body,
                       Notification.link, Notification.read_at, Notification.created_at)
OUTBOX_STATUSES = ("queued", "sent", "failed")


def _mine(user_id: uuid.UUID, unread_only: bool = False) -> list[Any]:
    where: list[Any] = [Notification.user_id == user_id]
    if unread_only:
        where.append(Notification.read_at.is_null())
    return where


async def notifications(user_id: uuid.UUID, *, unread_only: bool = False, limit: int = 50,
                        offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One person's notifications, newest first, and how many there are in all."""
    where = _mine(user_id, unread_only)
    rows = await (Notification.select(*NOTIFICATION_FIELDS).where(*where)
                  .order_by(Notification.created_at, Notification.id, ascending=False)
                  .limit(limit).offset(offset))
    total = await Notification.count().where(*where)
    return rows, total


async def unread_count(user_id: uuid.UUID) -> int:
    return await Notification.count().where(*_mine(user_id, unread_only=True))


async def read_notification(user_id: uuid.UUID, notification_id: uuid.UUID) -> dict[str, Any]:
    """Mark one of the person's own notifications read (again is harmless) and answer it."""
    row = await Notification.select(*NOTIFICATION_FIELDS).where(
        Notification.id == notification_id, Notification.user_id == user_id).first()
    if row is None:
        raise NotFound("no such notification", field="notification_id", code="notification_not_found")
    if row["read_at"] is None:
        # Only the still-unread row changes: two tabs opening it at once record one read.
        marked = await Notification.update({Notification.read_at: clock.now()}).where(
            Notification.id == notification_id, Notification.user_id == user_id,
            Notification.read_at.is_null()).returning(Notification.read_at)
        if marked:
            row["read_at"] = marked[0]["read_at"]
            await audit.record("notification.read", "notification", notification_id, after={"read": True})
        else:
            fresh = await Notification.select(Notification.read_at).where(Notification.id == notification_id).first()
            row["read_at"] = fresh["read_at"] if fresh else clock.now()
    return row


async def read_all(user_id: uuid.UUID) -> int:
    """Mark every unread notification of the person read; answers how many changed."""
    marked = await Notification.update({Notification.read_at: clock.now()}).where(
        *_mine(user_id, unread_only=True)).returning(Notification.id)
    if marked:
        await audit.record("notification.read_all", "user", user_id, after={"marked": len(marked)})
    return len(marked)


def outbox_status(row: dict[str, Any]) -> str:
    if row.get("sent_at") is not None:
        return "sent"
    return "failed" if row.get("error") else "queued"


def outbox_where(status: str | None) -> list[Any]:
    """The conditions that keep only the mail of one status (`OUTBOX_STATUSES`; none: all of it)."""
    if status == "sent":
        return [OutboxEmail.sent_at.is_not_null()]
    if status == "failed":
        return [OutboxEmail.sent_at.is_null(), OutboxEmail.error != ""]
    if status == "queued":
        return [OutboxEmail.sent_at.is_null(), OutboxEmail.error == ""]
    if status:
        raise ValidationFailed("status must be one of %(choices)s", field="status",
                               params={"choices": ', '.join(OUTBOX_STATUSES)})
    return []


async def outbox_page(*, status: str | None = None, limit: int = 25, offset: int = 0,
                      with_body: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The tenant's mail, newest first, optionally only queued / sent / failed (failed: not sent,
    the last attempt left an error; it is tried again on the next run). Mail written in one
    transaction shares its `created_at`, so the id breaks ties and pages neither repeat nor skip."""
    where = outbox_where(status)
    columns = [OutboxEmail.id, OutboxEmail.to_email, OutboxEmail.subject, OutboxEmail.sent_at, OutboxEmail.error,
               OutboxEmail.attempts, OutboxEmail.last_attempt_at, OutboxEmail.created_at]
    query = OutboxEmail.select(*columns, *([OutboxEmail.body] if with_body else []))
    count = OutboxEmail.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    rows = await query.order_by(OutboxEmail.created_at, OutboxEmail.id, ascending=False).limit(limit).offset(offset)
    return [{**r, "status": outbox_status(r)} for r in rows], await count
