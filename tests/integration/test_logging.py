"""Structured logs: JSON lines with request and tenant ids; never a password or a token."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from careclub.core import logging as app_logging
from careclub.core.infra import Infra
from careclub.core.logging import JsonFormatter, scrub
from careclub.settings import Settings
from tests.conftest import PASSWORD, signup


class Capture(logging.Handler):
    """Every record, both raw and as the JSON line production would write."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def raw_text(self) -> str:
        return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in self.records)


@pytest.fixture
def capture() -> Iterator[Capture]:
    root = logging.getLogger()
    handler, level = Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # debug lines of every library too: none may leak a secret
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def request_lines(capture: Capture, path: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in capture.lines]
    return [e for e in entries if e.get("logger") == "careclub.http" and e.get("path") == path]


async def test_request_log_line_carries_request_and_tenant_id(client: Any, capture: Capture) -> None:
    t = await signup(client)
    rid = f"rid-{uuid.uuid4().hex}"
    r = await client.get("/api/v1/me", headers={**t["headers"], "x-request-id": rid})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == rid
    [entry] = [e for e in request_lines(capture, "/api/v1/me") if e["request_id"] == rid]
    assert entry["tenant_id"] == t["tenant_id"]
    assert entry["status"] == 200 and entry["method"] == "GET"
    assert entry["level"] == "info" and isinstance(entry["duration_ms"], float)
    assert entry["ts"].endswith("+00:00")


async def test_request_id_is_generated_when_absent_and_differs_per_request(client: Any, capture: Capture) -> None:
    first = await client.get("/health")
    second = await client.get("/health")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(len(i) >= 16 for i in ids) and ids[0] != ids[1]
    logged = {e["request_id"] for e in request_lines(capture, "/health")}
    assert set(ids) <= logged
    assert all(e["tenant_id"] is None for e in request_lines(capture, "/health"))


async def test_no_password_or_token_reaches_the_logs(client: Any, capture: Capture) -> None:
    t = await signup(client)
    ok = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": t["email"], "password": PASSWORD})
    assert ok.status_code == 200
    issued = ok.json()["token"]
    wrong_password = f"wrong-{uuid.uuid4().hex}"
    bad = await client.post("/api/v1/auth/token",
                            json={"tenant": t["slug"], "email": t["email"], "password": wrong_password})
    assert bad.status_code == 401
    await client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued}"})
    await client.get("/api/v1/me", headers={"Authorization": "Bearer cc_not_a_real_token_but_secret"})
    await client.post("/signup", data={"company": "X", "slug": "x", "email": "x@y.test", "password": wrong_password})
    await client.post("/api/v1/signup", content=json.dumps({"password": wrong_password, "slug": 5}),
                      headers={"content-type": "application/json"})
    assert capture.lines, "nothing was logged: the test would prove nothing"
    written = "\n".join(capture.lines)
    for secret in (PASSWORD, wrong_password, issued, t["token"], "cc_not_a_real_token_but_secret"):
        assert secret not in written, f"a secret reached the JSON log: {secret[:8]}…"
        assert secret not in capture.raw_text(), f"a secret was handed to a logger: {secret[:8]}…"


def test_scrub_masks_what_a_library_might_log() -> None:
    line = scrub('Authorization: Bearer cc_abc.def password="hunter22" postgresql://app:pw123@db/x ?token=zzz&a=1')
    for secret in ("cc_abc.def", "hunter22", "pw123", "zzz"):
        assert secret not in line
    assert "postgresql://app:***@db/x" in line


def test_app_keeps_the_json_log_handler(settings: Settings, infra: Infra) -> None:
    """Litestar configures the root logger by default and would silently replace the JSON lines."""
    from careclub.app import create_app

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        app_logging.setup("INFO", json_lines=True)
        create_app(settings, infra)
        assert [type(h.formatter) for h in root.handlers] == [JsonFormatter]
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
