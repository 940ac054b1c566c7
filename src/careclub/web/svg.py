"""SVG drawn on the server (the card's QR code) as markup a page may embed.

A template never marks text safe itself (`| safe`); an SVG reaches it as `Markup` only through
`trusted_svg()`, which checks the whole document against a small allowlist first: known drawing
elements, known presentation attributes whose values hold no quote, `<`, `>` or `&`, and text that
holds no markup. Nothing that can run or load anything (`script`, `style`, `foreignObject`, `use`,
`on…` handlers, `href`, `style` attributes) gets through, so even text that ended up in a drawing by
mistake could not become markup: the drawing would be refused instead (a bug to fix, not a page to
serve).
"""

from __future__ import annotations

import re

from markupsafe import Markup

ELEMENTS = frozenset({"svg", "g", "path", "rect", "circle", "line", "polyline", "text"})
ATTRIBUTES = frozenset({
    "xmlns", "viewBox", "class", "role", "aria-label", "transform", "fill", "stroke", "stroke-width", "d",
    "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "points", "width", "height", "font-size",
})
_TAG = re.compile(r'<(/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9-]*="[^"<>&]*")*)\s*(/?)>')
_ATTR = re.compile(r'([a-zA-Z][a-zA-Z0-9-]*)="([^"<>&]*)"')
_TEXT = re.compile(r"[^<>&]*")


class UnsafeSvg(ValueError):
    pass


def trusted_svg(svg: str) -> Markup:
    """`svg` as Markup, after checking it holds nothing but plain drawing (raises UnsafeSvg)."""
    pos = 0
    open_tags: list[str] = []
    if not svg.startswith("<svg"):
        raise UnsafeSvg("not an SVG document")
    while pos < len(svg):
        text = _TEXT.match(svg, pos)
        assert text is not None  # matches the empty string at least
        pos = text.end()
        if pos == len(svg):
            break
        tag = _TAG.match(svg, pos)
        if tag is None:
            raise UnsafeSvg(f"unexpected markup at {pos}: {svg[pos:pos + 40]!r}")
        closing, name, attrs, self_closing = tag.groups()
        if name not in ELEMENTS:
            raise UnsafeSvg(f"element <{name}> is not allowed")
        for attr, _value in _ATTR.findall(attrs):
            if attr not in ATTRIBUTES:
                raise UnsafeSvg(f"attribute {attr}= is not allowed on <{name}>")
        if closing:
            if attrs or not open_tags or open_tags.pop() != name:
                raise UnsafeSvg(f"unbalanced </{name}>")
        elif not self_closing:
            open_tags.append(name)
        pos = tag.end()
    if open_tags:
        raise UnsafeSvg(f"unclosed <{open_tags[-1]}>")
    return Markup(svg)  # noqa: S704 - checked above: drawing elements and attributes only, no markup in text
