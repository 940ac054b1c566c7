"""The approval pages' lists read whole for their Excel downloads, a keyset page at a time
(newest first by created_at and id): a person's own requests, and the tenant's mail outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from piccolo.columns.combination import WhereRaw

from careclub.approvals.service._inbox import outbox_status, outbox_where
from careclub.approvals.service._requests import request_dict
from careclub.approvals.tables import ApprovalRequest, OutboxEmail

Keyset = tuple[datetime, uuid.UUID] | None


def _after(after: Keyset) -> list[Any]:
    return [WhereRaw("(created_at, id) < ({}, {})", after[0], after[1])] if after is not None else []


async def requests_of(user_id: uuid.UUID, *, after: Keyset = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Requests the person opened, newest first, after a keyset cursor."""
    rows = await ApprovalRequest.select().where(ApprovalRequest.requester_id == user_id, *_after(after)).order_by(
        ApprovalRequest.created_at, ApprovalRequest.id, ascending=False).limit(limit)
    return [request_dict(r) for r in rows]


async def outbox_rows(*, status: str | None = None, after: Keyset = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The tenant's mail as `outbox_page` lists it (same status filter), newest first, by keyset."""
    where: list[Any] = [*_after(after), *outbox_where(status)]
    query = OutboxEmail.select(OutboxEmail.id, OutboxEmail.to_email, OutboxEmail.subject, OutboxEmail.sent_at,
                               OutboxEmail.error, OutboxEmail.attempts, OutboxEmail.last_attempt_at,
                               OutboxEmail.created_at)
    if where:
        query = query.where(*where)
    rows = await query.order_by(OutboxEmail.created_at, OutboxEmail.id, ascending=False).limit(limit)
    return [{**r, "status": outbox_status(r)} for r in rows]
