"""The catalogs: every string the code and the templates mark for translation (extracted exactly as
`pybabel extract -F babel.cfg` does) has a Chinese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from careclub.settings import PROJECT_ROOT

PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdr]")


def _extracted() -> set[str]:
    with (PROJECT_ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    # the error classes `make messages` extracts like gettext calls (their first argument)
    keywords = {**DEFAULT_KEYWORDS, **{name: None for name in re.findall(
        r"-k (\w+)", (PROJECT_ROOT / "Makefile").read_text())}}
    found: set[str] = set()
    for folder in ("src", "web/templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                PROJECT_ROOT / folder, method_map, options_map, keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(lang: str) -> dict[str, str]:
    path: Path = PROJECT_ROOT / "web" / "locale" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    found: dict[str, str] = {}
    for m in catalog:
        if not m.id or m.fuzzy:
            continue
        # a plural message is keyed by its singular; every form must be filled in
        forms = list(m.string) if isinstance(m.string, tuple) else [m.string]
        found[m.id[0] if isinstance(m.id, tuple) else m.id] = "" if not all(forms) else " ".join(forms)
    return found


def test_every_marked_string_has_a_chinese_translation() -> None:
    wanted = _extracted()
    assert "Dashboard" in wanted and "Sign in" in wanted and "No such org unit." in wanted
    zh = _catalog("zh_CN")
    missing = sorted(m for m in wanted if not zh.get(m))
    assert not missing, f"untranslated (run pybabel extract/update, then translate): {missing}"
    # A translation may leave a value out (an error beside its field need not name the field again), never
    # bring one the English does not fill in.
    broken = sorted(m for m in wanted if not set(PLACEHOLDER.findall(zh[m])) <= set(PLACEHOLDER.findall(m)))
    assert not broken, f"placeholders differ: {broken}"


def test_the_english_catalog_lists_the_same_messages() -> None:
    assert _extracted() <= set(_catalog("en"))
