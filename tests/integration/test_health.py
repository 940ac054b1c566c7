from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from careclub.core import redis as redis_mod


async def test_health_names_the_failing_part(client: Any) -> None:
    original = redis_mod.redis()
    broken = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    redis_mod._client = broken
    try:
        r = await client.get("/health")
    finally:
        redis_mod._client = original
        await broken.aclose()
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "failing" and body["database"] == "ok" and body["redis"].startswith("failing")
    assert (await client.get("/health")).status_code == 200


async def test_openapi_document_is_served(client: Any) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/v1/signup", "/api/v1/auth/token", "/health", "/api/v1/org-units", "/api/v1/audit"):
        assert path in paths, path
