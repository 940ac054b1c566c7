"""Jinja's newstyle gettext %-formats every translation a template shows, variables or not: a bare "%" in a
msgstr ("管理费率（%）") breaks the page in that language only (a 500 nobody sees in English). Every message a
template uses must format in every language, with the variables its msgid names."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
NAMES = re.compile(r"%\((\w+)\)")


def template_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "web" / "templates"), method_map=[("**.html", "jinja2")],
            options_map={"**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true",
                                     "trim_blocks": "true", "lstrip_blocks": "true"}}):
        for m in message if isinstance(message, tuple) else (message,):
            if m:
                found.add(m)
    return found


def test_every_template_translation_formats() -> None:
    used = template_messages()
    assert len(used) > 500  # the extraction found the templates
    problems = []
    for po in sorted((ROOT / "web" / "locale").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        for m in catalog:
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            if not any(i in used for i in ids):
                continue
            names = {n: 1 for i in ids for n in NAMES.findall(i)} | {"num": 1}
            for s in strings:
                if not s:
                    continue
                try:
                    s % names
                except (ValueError, TypeError, KeyError) as exc:
                    problems.append(f"{po.parent.parent.name}: {s!r} ({exc}); a literal % is written %%")
    assert not problems, problems
