"""Safe by construction: the headers every answer carries (a strict Content-Security-Policy among
them), templates with nothing inline for that policy to refuse and no way to print text unescaped,
and gettext that never marks someone's text as safe HTML. The pages themselves are opened one by
one, with the policy checked on each, in test_xss_every_page.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from markupsafe import Markup

from careclub.core import i18n
from careclub.core.error_messages import page_message
from careclub.core.security_headers import POLICY
from careclub.settings import PROJECT_ROOT
from tests.integration.platform.pages import browser

TEMPLATES = PROJECT_ROOT / "web" / "templates"
STATIC = PROJECT_ROOT / "web" / "static"
SRC = PROJECT_ROOT / "src" / "careclub"

HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin", "x-frame-options": "DENY"}
DIRECTIVES = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
              "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'")


def _templates() -> list[Path]:
    found = sorted(TEMPLATES.rglob("*.html"))
    assert len(found) > 30
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


# ---- the policy and its companions -------------------------------------------------------------

def test_the_policy_is_strict() -> None:
    for directive in DIRECTIVES:
        assert directive in POLICY.split("; "), directive
    assert "unsafe-inline" not in POLICY and "unsafe-eval" not in POLICY and "*" not in POLICY


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/join/no-such-company/club", "/static/css/app.css",
                                  "/static/favicon.svg", "/health", "/schema/swagger", "/schema/openapi.json"])
async def test_every_answer_carries_the_headers(app: Litestar, client: Any, path: str) -> None:
    async with browser(app) as c:
        r = await c.get(path)
    assert r.status_code in (200, 404), (path, r.status_code)
    assert r.headers.get("content-security-policy") == POLICY, path
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, (path, name)


async def test_api_answers_and_refusals_carry_them_too(client: Any) -> None:
    for r in (await client.get("/api/v1/org-units"), await client.post("/api/v1/signup", json={})):
        assert r.status_code in (401, 422), r.status_code
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == POLICY


async def test_error_pages_carry_the_policy(app: Litestar, client: Any) -> None:
    """An error a handler raises passes the middleware; one from Litestar's router (no route for the
    path or method) does not, and its page carries the same policy in a <meta> element."""
    async with browser(app) as c:
        handled = await c.get("/join/no-such-company/club")
        assert handled.status_code == 404 and handled.headers["content-security-policy"] == POLICY
        for routing in (await c.get("/no-such-page"), await c.put("/login")):
            assert routing.status_code in (404, 405) and routing.headers["content-type"].startswith("text/html")
            meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', routing.text)
            assert meta, routing.text[:300]
            content = meta.group(1).replace("&#39;", "'")
            assert content == POLICY.replace("; frame-ancestors 'none'", "")


# ---- templates: nothing inline, nothing unescaped ------------------------------------------------

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER_ATTR = re.compile(r"<[a-zA-Z][^>]*?\son[a-z]+\s*=", re.I | re.S)
STYLE_ATTR = re.compile(r"<[a-zA-Z][^>]*?\sstyle\s*=", re.I | re.S)
VARIABLE_GETTEXT = re.compile(r"\b(?:_|gettext|ngettext)\(\s*(?![\"'])")


@pytest.mark.parametrize("path", _templates(), ids=_rel)
def test_no_template_holds_inline_script_style_or_handler(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for attrs in SCRIPT_TAG.findall(text):
        assert "src=" in attrs or 'type="application/json"' in attrs, f"inline <script{attrs}> in {_rel(path)}"
    assert not HANDLER_ATTR.search(text), f"an inline event handler in {_rel(path)}"
    assert not STYLE_ATTR.search(text), f"a style attribute in {_rel(path)}"
    assert "<style" not in text.lower(), f"a <style> block in {_rel(path)}"


@pytest.mark.parametrize("path", _templates(), ids=_rel)
def test_no_template_prints_text_unescaped(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\|\s*safe\b", text), f"| safe in {_rel(path)}"
    assert "autoescape" not in text, f"autoescape switched in {_rel(path)}"
    assert "csrf_input" not in text, f"csrf_input (a plain string: it needs | safe) in {_rel(path)}; use csrf_field()"
    # Translating goes through fixed messages only; a label for a code goes through a mapping of codes to N_().
    calls = [m.group(0) for m in VARIABLE_GETTEXT.finditer(text)]
    assert not calls, f"gettext called with a variable in {_rel(path)}: {calls}"


def test_markup_is_made_in_two_places_only() -> None:
    """Text becomes Markup only where it is built with escaping (templating.py) or checked first (svg.py)."""
    makers = sorted(_rel(p) for p in SRC.rglob("*.py") if re.search(r"\bMarkup\(", p.read_text(encoding="utf-8")))
    assert makers == ["src/careclub/web/svg.py", "src/careclub/web/templating.py"], makers


def test_static_scripts_build_no_html_from_strings() -> None:
    for path in sorted(STATIC.rglob("*.js")):
        if "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\.(?:innerHTML|outerHTML)\s*=\s*([^;]+);", text):
            assert m.group(1).strip() in ('""', "''"), f"{_rel(path)} assigns HTML: {m.group(0)}"
        assert "insertAdjacentHTML" not in text and "document.write" not in text and "eval(" not in text, _rel(path)


# ---- gettext never marks someone's text safe ----------------------------------------------------

def test_template_gettext_escapes_what_it_is_given(app: Litestar) -> None:
    env = app.template_engine.engine  # type: ignore[union-attr]
    i18n.set_locale("en")
    out = env.from_string("{{ _(name) }}|{{ ngettext(name, name, 2) }}|{{ _('Welcome, %(name)s.', name=name) }}")
    rendered = out.render(name="<img src=x onerror=alert(1)>")
    assert "<img" not in rendered
    assert rendered.count("&lt;img src=x onerror=alert(1)&gt;") == 3
    # the catalog's own wording is still translated
    i18n.set_locale("zh_CN")
    assert env.from_string("{{ _('Sign in') }}").render() == "登录"


def test_python_gettext_and_error_pages_answer_plain_text() -> None:
    hostile = Markup("<img src=x onerror=alert(1)>")
    assert type(i18n.gettext(hostile)) is str
    assert type(i18n.ngettext(hostile, hostile, 1)) is str
    assert type(i18n.translate("en", hostile)) is str
    shown = page_message(404, "not_found", hostile)
    assert type(shown.text) is str and (shown.detail is None or type(shown.detail) is str)
