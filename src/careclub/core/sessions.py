"""Server-side web sessions in Redis. The cookie holds only a random id; Redis holds its hash.

Idle timeout is the key's TTL (refreshed on use); the absolute timeout is checked against the
login time stored inside, so an active session still ends on schedule.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from careclub.core.redis import redis
from careclub.core.security import digest, new_secret

COOKIE = "cc_session"


@dataclass(frozen=True, slots=True)
class WebSession:
    id: str
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    created: float


def _key(session_id: str) -> str:
    return f"sess:{digest(session_id)}"


def _user_index(tenant_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"t:{tenant_id}:user_sessions:{user_id}"


async def create(tenant_id: uuid.UUID, user_id: uuid.UUID, *, idle_seconds: int,
                 absolute_seconds: int) -> str:
    session_id = new_secret(32)
    key = _key(session_id)
    pipe = redis().pipeline()
    pipe.hset(key, mapping={"t": str(tenant_id), "u": str(user_id), "c": f"{time.time():.3f}"})
    pipe.expire(key, idle_seconds)
    pipe.sadd(_user_index(tenant_id, user_id), key)
    pipe.expire(_user_index(tenant_id, user_id), absolute_seconds)
    await pipe.execute()
    return session_id


async def load(session_id: str, *, idle_seconds: int, absolute_seconds: int) -> WebSession | None:
    if not session_id or len(session_id) > 128:
        return None
    key = _key(session_id)
    data = await redis().hgetall(key)
    if not data:
        return None
    created = float(data["c"])
    if time.time() - created > absolute_seconds:
        await redis().delete(key)
        return None
    await redis().expire(key, idle_seconds)
    return WebSession(session_id, uuid.UUID(str(data["t"])), uuid.UUID(str(data["u"])), created)


async def destroy(session_id: str) -> None:
    await redis().delete(_key(session_id))


async def destroy_all_for(tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Sign a person out everywhere (deactivation, password change)."""
    index = _user_index(tenant_id, user_id)
    keys = await redis().smembers(index)
    if keys:
        await redis().delete(*keys)
    await redis().delete(index)
