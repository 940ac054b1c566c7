"""Writing and reading the audit trail. Every service write calls `record`."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from piccolo.columns.combination import WhereRaw

from careclub.core.db import fetch, like_escape
from careclub.core.logging import request_id
from careclub.core.principal import current_actor
from careclub.platform.tables import AuditEntry


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime | date):
        return value.isoformat() if not isinstance(value, uuid.UUID) else str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


_NEVER = {"password_hash", "token_hash"}


def snapshot(row: Any, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    data = row.to_dict() if hasattr(row, "to_dict") else dict(row)
    keys = fields or tuple(data)
    return {k: _jsonable(data[k]) for k in keys if k in data and k not in _NEVER}


async def record(action: str, entity_type: str, entity_id: object = "", *,
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    actor = current_actor()
    await AuditEntry(
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        request_id=request_id.get(),
    ).save()


def _filters(*, action: str | None, entity_type: str | None, entity_id: str | None, actor: str | None,
             since: datetime | None, until: datetime | None) -> list[Any]:
    where = []
    if action:
        where.append(AuditEntry.action.like(like_escape(action) + "%"))
    if entity_type:
        where.append(AuditEntry.entity_type == entity_type)
    if entity_id:
        where.append(AuditEntry.entity_id == entity_id)
    if actor:
        where.append(AuditEntry.actor_name.ilike("%" + like_escape(actor) + "%"))
    if since:
        where.append(AuditEntry.created_at >= since)
    if until:
        where.append(AuditEntry.created_at < until)
    return where


async def browse(*, action: str | None = None, entity_type: str | None = None,
                 entity_id: str | None = None, actor: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 after: tuple[datetime, Any] | None = None, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Newest first, a keyset page after (created_at, id), from the (tenant, created_at, id) index."""
    where = _filters(action=action, entity_type=entity_type, entity_id=entity_id, actor=actor, since=since,
                     until=until)
    if after is not None:
        where.append(WhereRaw("(created_at, id) < ({}, {})", after[0], after[1]))
    query = AuditEntry.select().order_by(AuditEntry.created_at, AuditEntry.id, ascending=False).limit(limit)
    if offset:
        query = query.offset(offset)
    if where:
        query = query.where(*where)
    rows = await query
    for row in rows:  # Piccolo hands JSONB back as text
        for key in ("before", "after"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
    return rows


async def count(*, cap: int, action: str | None = None, entity_type: str | None = None, entity_id: str | None = None,
                actor: str | None = None, since: datetime | None = None, until: datetime | None = None) -> int:
    """How many entries match, counting no further than `cap` (the trail of a busy company holds millions)."""
    where = _filters(action=action, entity_type=entity_type, entity_id=entity_id, actor=actor, since=since,
                     until=until)
    inner = AuditEntry.select(AuditEntry.id).limit(cap)
    if where:
        inner = inner.where(*where)
    sql, args = inner.querystrings[0].compile_string(engine_type="postgres")
    rows = await fetch(f"SELECT count(*) AS n FROM ({sql}) AS capped", *args)
    return int(rows[0]["n"])
