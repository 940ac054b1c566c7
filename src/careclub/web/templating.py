"""Jinja2 set-up: gettext through the request's locale, and filters for money and local time."""

from __future__ import annotations

from datetime import datetime

from litestar.plugins.jinja import JinjaTemplateEngine

from careclub import __version__
from careclub.core import clock, i18n
from careclub.core.money import format_amount
from careclub.platform.permissions import Perm


def _localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = clock.local(value)
    return local.strftime(fmt) if local else ""


def _money(minor: int | None, currency: str = "") -> str:
    if minor is None:
        return ""
    return f"{format_amount(minor)} {currency}".strip()


def configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = _localtime
    env.filters["money"] = _money
    env.globals["current_locale"] = i18n.current_locale
    env.globals["locale_labels"] = i18n.LABELS
    env.globals["version"] = __version__
    env.globals["Perm"] = Perm  # nav.html asks what the reader may do; error pages have no view of their own
    env.autoescape = True
    env.trim_blocks = True
    env.lstrip_blocks = True

