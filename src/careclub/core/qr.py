"""QR codes as SVG drawings, one way for the whole product: a member's rotating card code, an invitation
link, the paid-service notice's booking link. Black modules on white with the standard 4-module quiet
zone (decoders need the light margin; a transparent code on a dark page reads as inverted or not at all).
The drawing is plain SVG that web/svg.trusted_svg accepts; the text is data inside it, never markup."""

from __future__ import annotations

import io

import segno

# A member's card code is redrawn on every page view and every refresh of the card page. Choosing the
# best of the eight masks (the standard's penalty rules against big blocks and finder-like patterns)
# is three quarters of drawing one: 12 ms of a 15 ms code. Those rules protect codes of structured
# text; a signed token is random bytes, which no mask makes more regular, so its codes take one
# fixed mask (all eight are equally valid to every decoder) and cost a quarter.
RANDOM_TEXT_MASK = 4


def qr_svg(text: str, *, random_text: bool = False, css_class: str = "qr") -> str:
    """`text` as an SVG document (a str: the caller passes it through trusted_svg to make it markup).
    `random_text`: the text is a random token (skip the mask choice, see RANDOM_TEXT_MASK)."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False, mask=RANDOM_TEXT_MASK if random_text else None).save(
        buffer, kind="svg", scale=4, border=4, light="#fff", xmldecl=False, svgns=True, nl=False, omitsize=True,
        svgclass=css_class)
    return buffer.getvalue().decode("utf-8")
