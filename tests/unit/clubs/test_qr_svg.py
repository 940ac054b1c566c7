"""The QR drawing: white background, the standard 4-module quiet zone, so decoders read it anywhere."""

from __future__ import annotations

import re

from careclub.core.qr import qr_svg


def test_white_background_and_four_module_quiet_zone() -> None:
    svg = qr_svg("CC1:example-token")
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))  # type: ignore[union-attr]
    modules = size // 4  # drawn at scale 4
    assert (modules - 8 - 21) % 4 == 0, modules  # a QR version's side (21 + 4k) plus 4 light modules each side
    # the first thing drawn is a white square over the whole symbol, quiet zone included
    assert re.search(rf'<path fill="#fff" d="M0 0h{modules}v{modules}h-{modules}z"/>', svg), svg[:200]
    # no dark module starts inside the quiet zone: every run begins at x >= 4 on rows y >= 4
    first = re.search(r'd="M(\d+) (\d+(?:\.\d+)?)', svg.split('class="qrline"')[1])
    assert first and int(first.group(1)) == 4 and float(first.group(2)) >= 4, first
