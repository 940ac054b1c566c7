"""Test harness: one fresh database (and the two roles) per run on the real PostgreSQL and Redis
the environment names, or on the embedded ones when it names none."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from careclub.core.infra import Infra, dsn_with, resolve
from careclub.core.migrate import migrate
from careclub.settings import Settings

# Cheap password hashing for the suite (see core/security.py); set before careclub is imported.
os.environ.setdefault("CARECLUB_INSECURE_FAST_HASH", "1")

RUN_ID = uuid.uuid4().hex[:10]
PASSWORD = "correct-horse-battery-staple"


def _test_redis_url(url: str | None) -> str | None:
    # A logical database of its own, so tests never touch a developer's demo data. Keys made by
    # tests carry random tenant slugs, so concurrent runs do not collide.
    if url and url.startswith("redis://"):
        base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
        return f"{base}/13"
    return url


@pytest.fixture(scope="session")
def settings() -> Settings:
    base = Settings.from_env()
    return dataclasses.replace(base, redis_url=_test_redis_url(base.redis_url), login_failures_per_address=10_000,
                               joins_per_address=10_000,
                               log_json=False)


@pytest.fixture(scope="session")
async def infra(settings: Settings) -> AsyncIterator[Infra]:
    database = f"careclub_test_{RUN_ID}"
    infra = await resolve(settings, database=database)
    await migrate(infra.owner_dsn, infra.app_dsn)
    yield infra
    if os.environ.get("KEEP_TEST_DB"):
        return
    admin = settings.database_url or (infra.handles[0].get_uri() if infra.handles else None)
    if admin:
        conn = await asyncpg.connect(dsn_with(admin, database="postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def app(settings: Settings, infra: Infra) -> Litestar:
    from careclub.app import create_app

    return create_app(settings, infra)


# Keys that carry money anywhere in the JSON API; the contract gives money as {"amount": "365.00",
# "currency": "CNY"}, so a bare number under one of them is a contract break, whichever endpoint.
MONEY_KEYS = frozenset({"amount", "fee", "fees", "discount_amount", "payable", "offer_amount"})


def is_money(value: Any) -> bool:
    """The contract's money: `{"amount": "365.00", "currency": "CNY"}`; the catalogue's fee also says what it
    is `per` (`{"amount", "currency", "per"}`)."""
    return isinstance(value, dict) and set(value) in ({"amount", "currency"}, {"amount", "currency", "per"}) \
        and isinstance(value["amount"], str)


def money_breaks(value: Any, path: str = "") -> list[str]:
    """Where a JSON document holds money that is not in the contract's form."""
    found: list[str] = []
    if isinstance(value, dict):
        if is_money(value):
            return found  # this is money itself
        for key, item in value.items():
            if key in MONEY_KEYS and item is not None and not is_money(item):
                found.append(f"{path}.{key}={item!r}")
            else:
                found += money_breaks(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += money_breaks(item, f"{path}[{i}]")
    return found


async def _money_as_the_contract_says(response: httpx.Response) -> None:
    if not response.request.url.path.startswith("/api/") or "json" not in response.headers.get("content-type", ""):
        return
    await response.aread()
    breaks = money_breaks(response.json())
    assert not breaks, (response.request.method, response.request.url.path, breaks[:5])


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app served in the tests' own event loop (its lifespan run here too), so tests may also
    call services and the database directly on the same pool."""
    # Litestar's lifespan() opens an anyio task group, which cannot span pytest's fixture
    # set-up and tear-down tasks; the app's own start-up and shut-down hooks are all it does here.
    for hook in app.on_startup:
        await hook(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local",
                                     event_hooks={"response": [_money_as_the_contract_says]}) as c:
            yield c
    finally:
        for hook in app.on_shutdown:
            await hook(app)


@pytest.fixture(scope="session")
async def owner(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the schema owner, for looking behind the app's back in assertions."""
    conn = await asyncpg.connect(infra.owner_dsn)
    yield conn
    await conn.close()


@asynccontextmanager
async def owner_transactions(infra: Infra, tenant_id: str, n: int) -> AsyncIterator[list[asyncpg.Connection]]:
    """`n` connections as the schema owner, each in an open transaction bound to the tenant: writes held open while
    another statement runs (a race a test stages by hand). Whatever is left uncommitted is rolled back on close."""
    conns = [await asyncpg.connect(infra.owner_dsn) for _ in range(n)]
    try:
        for conn in conns:
            await conn.execute("BEGIN")
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
        yield conns
    finally:
        for conn in conns:
            await conn.close()


def unique_slug(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def signup(client: httpx.AsyncClient, slug: str | None = None, **extra: Any) -> dict[str, Any]:
    slug = slug or unique_slug()
    body = {"company": f"Company {slug}", "slug": slug, "email": f"admin@{slug}.test", "password": PASSWORD, **extra}
    r = await client.post("/api/v1/signup", json=body)
    assert r.status_code == 201, r.text
    data = r.json()
    return {"slug": slug, "token": data["token"], "tenant_id": data["tenant"]["id"], "email": body["email"],
            "headers": {"Authorization": f"Bearer {data['token']}"}}


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> dict[str, Any]:
    return await signup(client)


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient) -> dict[str, Any]:
    return await signup(client)
