"""`GET /health`: is PostgreSQL answering, is Redis answering."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import MediaType, Response, get

from careclub.core.db import DB
from careclub.core.redis import redis

log = logging.getLogger("careclub.health")


class Health(msgspec.Struct, kw_only=True):
    """Each part answers "ok" or "failing: <error>"; `status` is "ok" only when every part is."""

    status: str
    database: str
    redis: str


async def _database() -> str:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
    return "ok"


async def _redis() -> str:
    await redis().ping()
    return "ok"


@get("/health", opt={"public": True, "no_transaction": True}, tags=["operations"], media_type=MediaType.JSON)
async def health() -> Response[Health]:
    """200 when PostgreSQL and Redis answer; 503 naming the part that does not."""
    body = Health(status="ok", database="ok", redis="ok")
    for part, check in (("database", _database), ("redis", _redis)):
        try:
            await asyncio.wait_for(check(), timeout=3)
        except Exception as exc:  # any failure is the answer here, not an error of ours
            log.warning("health: %s failing: %s", part, exc)
            setattr(body, part, f"failing: {type(exc).__name__}")
            body.status = "failing"
    return Response(body, status_code=200 if body.status == "ok" else 503)
