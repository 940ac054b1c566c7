"""The shared Redis client and tenant-namespaced keys."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

_client: Redis | None = None


def connect(url: str) -> Redis:
    global _client
    _client = Redis.from_url(url, decode_responses=True)
    return _client


def redis() -> Redis:
    if _client is None:
        raise RuntimeError("redis not connected")
    return _client


async def close() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None


def tenant_key(tenant_id: uuid.UUID, *parts: object) -> str:
    """Every tenant's keys live under `t:<tenant id>:`; nothing tenant-owned lives elsewhere."""
    return ":".join(["t", str(tenant_id), *map(str, parts)])
