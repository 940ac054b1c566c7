"""Jinja2 set-up: gettext through the request's locale, and filters for money and local time.

Safe by construction: every page autoescapes, and nothing a template can call marks text as safe
HTML without escaping it first.

- `_()` / `gettext()` / `ngettext()` escape what they return. Jinja's own i18n callables mark the
  catalog's text safe as it is, so `{{ _(name) }}` with a name someone typed would print it raw;
  here such a call prints it escaped (and `tests/integration/test_security_headers.py` forbids
  calling `_()` with anything but a literal: a label for a fixed code goes through an explicit
  mapping of codes to `N_()` messages in Python). Variables formatted into a message
  (`_("Welcome, %(name)s.", name=…)`) are escaped by Markup's `%`.
- `csrf_field()` is the form's hidden CSRF input, built with escaping (Litestar's `csrf_input` is a
  plain string that would need `| safe`).
- No template uses `| safe`; the server-drawn QR code SVG reaches templates as `Markup` made where
  it is drawn, from a signed token only. Charts reach them as data (`tojson` into a JSON data block).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape

from careclub import __version__
from careclub.core import clock, i18n
from careclub.core.money import format_grouped
from careclub.core.security_headers import meta_policy
from careclub.platform.permissions import Perm


def _localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = clock.local(value)
    return local.strftime(fmt) if local else ""


def _money(minor: int | None, currency: str = "") -> str:
    if minor is None:
        return ""
    return f"{format_grouped(minor)} {currency}".strip()


def _gettext(message: str) -> Markup:
    return escape(i18n.gettext(message))


def _ngettext(singular: str, plural: str, n: int) -> Markup:
    return escape(i18n.ngettext(singular, plural, n))


@pass_context
def _csrf_field(context: Context) -> Markup:
    request = context.get("request")
    token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "") if request is not None else ""
    return Markup('<input type="hidden" name="_csrf_token" value="{}">').format(token)


def _link_url(value: Any) -> str | None:
    """A URL someone typed, fit for an `href`: http(s) or a path on this site; anything else
    (`javascript:`, `data:`, …) is no link at all."""
    if not isinstance(value, str) or not value.strip():
        return None
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    if not parts.scheme and not parts.netloc and url.startswith("/") and not url.startswith("//"):
        return url
    return None


def configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.autoescape = True
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = _localtime
    env.filters["money"] = _money
    env.filters["link_url"] = _link_url
    env.globals["csrf_field"] = _csrf_field
    env.globals["csp_meta"] = meta_policy()
    env.globals["current_locale"] = i18n.current_locale
    env.globals["locale_labels"] = i18n.LABELS
    env.globals["version"] = __version__
    env.globals["Perm"] = Perm  # nav.html asks what the reader may do; error pages have no view of their own
    env.trim_blocks = True
    env.lstrip_blocks = True
