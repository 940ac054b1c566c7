"""Helpers for page tests: a browser-like client with its own cookie jar, and form posting with the
real CSRF token the page hands out."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from careclub.core.sessions import COOKIE as SESSION_COOKIE

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


@asynccontextmanager
async def browser(app: Litestar, base_url: str = "http://testserver.local",
                  headers: dict[str, str] | None = None, lang: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookies. It does not run the app's lifespan: the session-wide test
    client already started the pool and Redis this app shares. `lang` sets the language cookie
    (what choosing a language on the page does)."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", **(headers or {})}
    async with httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers,
                                 event_hooks={"response": [_served_as_html]}) as c:
        if lang:
            c.cookies.set("lang", lang, domain=httpx.URL(base_url).host)
        yield c


async def _served_as_html(response: httpx.Response) -> None:
    """Every page any test opens must say it is HTML: with another content type a browser shows the
    markup as text (this once hit every form re-drawn with its errors)."""
    await response.aread()
    if response.content[:15].lower().startswith(b"<!doctype html"):
        kind = response.headers.get("content-type", "")
        assert kind.startswith("text/html"), (response.request.method, response.request.url.path,
                                              response.status_code, kind)


def csrf_token(page: httpx.Response) -> str:
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field on {page.request.url}"
    return html.unescape(match.group(1))


async def submit(c: httpx.AsyncClient, form_page: str, action: str | None = None, **fields: Any) -> httpx.Response:
    """Open the page holding the form (as a person would), then post the form with its token."""
    page = await c.get(form_page)
    assert page.status_code == 200, (form_page, page.status_code, page.text[:300])
    data = {"_csrf_token": csrf_token(page), **{k: str(v) for k, v in fields.items()}}
    return await c.post(action or form_page, data=data)


async def login(c: httpx.AsyncClient, tenant: str, email: str, password: str) -> httpx.Response:
    r = await submit(c, "/login", tenant=tenant, email=email, password=password)
    assert r.status_code == 303, r.text[:500]
    return r


def session_cookie(c: httpx.AsyncClient) -> str | None:
    return c.cookies.get(SESSION_COOKIE)


def set_cookie_headers(r: httpx.Response, name: str) -> list[str]:
    return [h for h in r.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
