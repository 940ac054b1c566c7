"""Fixed-window counters in Redis, incremented atomically (one Lua call: INCR and first EXPIRE)."""

from __future__ import annotations

from careclub.core.redis import redis

_INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
return {n, ttl}
"""


async def hit(key: str, window_seconds: int) -> tuple[int, int]:
    """Count one event; returns (events in the window, seconds until it resets)."""
    n, ttl = await redis().eval(_INCR, 1, key, str(window_seconds))
    return int(n), max(int(ttl), 1)


async def peek(key: str) -> tuple[int, int]:
    pipe = redis().pipeline()
    pipe.get(key)
    pipe.ttl(key)
    value, ttl = await pipe.execute()
    return int(value or 0), max(int(ttl), 1)


async def clear(key: str) -> None:
    await redis().delete(key)
