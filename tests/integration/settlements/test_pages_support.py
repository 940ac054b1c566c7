"""Support of the settlements page tests (no tests here): signing the world's people in to the pages (a session of
their own: they have no password), posting forms with the page's CSRF token, and reading what the pages answer
(field errors, sheets)."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from openpyxl import load_workbook

from careclub.core import sessions
from careclub.web.exports import XLSX
from tests.integration.platform.pages import browser, csrf_token
from tests.integration.settlements.helpers import World

ERROR = re.compile(r'<small class="error" id="e-([a-z_0-9-]+)">([^<]*)</small>')


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR.finditer(body)}


def user_id(w: World, who: str) -> uuid.UUID:
    return uuid.UUID(next(i for i, short in w.by_id.items() if short == who))


@asynccontextmanager
async def as_person(app: Litestar, w: World, who: str, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(w.tenant_id, user_id(w, who), idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def post_form(c: httpx.AsyncClient, page: str, action: str, files: dict[str, Any] | None = None,
                    **fields: Any) -> httpx.Response:
    """Open the page holding the form (as a person would), then post it with the page's CSRF token."""
    r = await c.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:300])
    data = {"_csrf_token": csrf_token(r), **{k: str(v) for k, v in fields.items()}}
    if files:
        return await c.post(action, data=data, files=files)
    return await c.post(action, data=data)


def sheet(r: httpx.Response) -> list[tuple[Any, ...]]:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith(XLSX)
    return list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
