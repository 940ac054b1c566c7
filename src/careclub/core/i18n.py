"""Translations from gettext catalogs (Babel). Catalogs are compiled in memory at start-up from
`web/locale/<lang>/LC_MESSAGES/messages.po`, so no binary .mo file lives in git."""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from careclub.settings import PROJECT_ROOT

LOCALE_DIR = PROJECT_ROOT / "web" / "locale"
SUPPORTED = ("zh_CN", "en")
LABELS = {"zh_CN": "中文", "en": "English"}

_current: ContextVar[str] = ContextVar("careclub_locale", default="zh_CN")
_catalogs: dict[str, _gettext.NullTranslations] = {}


def load(locale_dir: Path = LOCALE_DIR) -> None:
    for lang in SUPPORTED:
        po = locale_dir / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            _catalogs[lang] = _gettext.NullTranslations()
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        _catalogs[lang] = Translations(fp=buf)


def set_locale(lang: str) -> None:
    _current.set(lang if lang in SUPPORTED else "zh_CN")


def current_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    """`message` in the request's language. Always a plain `str`, never `Markup`: a message that
    carries someone's text (an error naming what they typed) is escaped wherever a page prints it."""
    if not _catalogs:  # before the app's start-up loaded them (a job, a script, a test without the lifespan)
        load()
    catalog = _catalogs.get(_current.get())
    return str(catalog.gettext(message) if catalog else message)


def translate(lang: str | None, message: str) -> str:
    """`message` in a given language, not the request's: for text written now and read later by
    someone else (a notification, a mail)."""
    if not _catalogs:
        load()
    catalog = _catalogs.get(lang if lang in SUPPORTED else "zh_CN")
    return str(catalog.gettext(message) if catalog else message)


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated later, when the reader is known."""
    return message


def labeller(labels: dict[str, str]) -> Callable[[str], str]:
    """Codes shown in the reader's language (a status, a method, an account): only the fixed N_() labels go
    through gettext, a code without one is shown as it is, and the answer is plain text the template escapes."""
    def label(code: str) -> str:
        return gettext(labels[code]) if code in labels else code
    return label


def ngettext(singular: str, plural: str, n: int) -> str:
    if not _catalogs:
        load()
    catalog = _catalogs.get(_current.get())
    if catalog:
        return str(catalog.ngettext(singular, plural, n))
    return str(singular if n == 1 else plural)


def negotiate(accept_language: str | None) -> str | None:
    """The first supported language in an Accept-Language header, by quality."""
    if not accept_language:
        return None
    choices: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            quality = float(q) if q else 1.0
        except ValueError:
            continue
        choices.append((quality, tag.strip().lower()))
    for _q, tag in sorted(choices, key=lambda c: -c[0]):
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return None


_ = gettext
