"""The scanner at the counter with a camera (issue #11, item 6), on a 390x844 phone, in English and in
Chinese. Chromium's fake camera plays a video of the member's two codes in turn. One read sends one
check-in: the camera stops at once and nothing more is sent however long the codes stay in view; the
answer is at the top of the screen without scrolling, with the offer in yuan (thousands separated) and a
vibration; "Next customer" clears it and starts the camera, which then reads the other code (the one
it sent is never sent again). A refusal reads in the reader's language, never the server's English.
Screenshots of each step land in test-artifacts/e2e-scanner/."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from careclub.core.i18n import translate
from tests.e2e.browser import DEMO_SLUG as SLUG
from tests.e2e.browser import artifacts, chromium, fits_width, off_the_loop, signed_in_page
from tests.e2e.camera import fake_camera, qr_video

pytestmark = pytest.mark.e2e

ENDPOINT = "/club/scan/checkin"
# Runs before the page's scripts: keeps every camera stream the page opens and every vibration it asks for.
RECORD = """
window.__streams = []; window.__vibrations = [];
(function () {
  var media = navigator.mediaDevices;
  if (media && media.getUserMedia) {
    var open = media.getUserMedia.bind(media);
    media.getUserMedia = function (c) { return open(c).then(function (s) { window.__streams.push(s); return s; }); };
  }
  if (typeof navigator.vibrate === "function") {
    var buzz = navigator.vibrate.bind(navigator);
    navigator.vibrate = function (p) { window.__vibrations.push(p); return buzz(p); };
  }
})();
"""
# What the page says, in each language as the catalogs have it ("Accepted" is 通过, "To pay" 应付).
WORDS = {lang: {key: translate(lang, text) for key, text in (("accepted", "Accepted"), ("pay", "To pay"),
                                                            ("next", "Next customer"), ("refused", "Refused"))}
         for lang in ("en", "zh_CN")}
RAW = re.compile(r"amount\.amount|must be|validation_failed|\bcode:|error", re.I)


def _in_view(page: Any, selector: str) -> bool:
    """Wholly on the screen as it is now (nobody scrolled)."""
    return bool(page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""", selector))


def _tracks(page: Any) -> list[str]:
    """The state of every camera track the page opened, oldest first ("live" or "ended")."""
    return list(page.evaluate("window.__streams.flatMap(s => s.getVideoTracks().map(t => t.readyState))"))


def _member_codes(p: Any, base: str) -> tuple[str, str]:
    """Two fresh codes of the demo member's card: the one his card page shows and the next refresh."""
    with chromium(p) as browser:
        member = signed_in_page(browser, base, f"member@{SLUG}.example", "/club/card")
        first = member.locator("section.club-card[data-card='TR-000001'] [data-testid=qr-token]").input_value()
        second = member.request.get(f"{base}/club/card/TR-000001/qr.json",
                                    headers={"Accept": "application/json"}).json()["token"]
        assert first.startswith("CC1:") and second.startswith("CC1:") and first != second
        return first, second


def _at_the_counter(base: str, shots: Path, lang: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    words = WORDS[lang]
    with sync_playwright() as p:
        first, second = _member_codes(p, base)
        folder = tempfile.TemporaryDirectory()
        video = qr_video(Path(folder.name) / "codes.y4m", [first, second])
        with folder, chromium(p, fake_camera(video)) as browser:
            page = signed_in_page(browser, base, f"merchant@{SLUG}.example", "/club/scan", lang=lang,
                                  init_script=RECORD, permissions=["camera"],
                                  locale="zh-CN" if lang == "zh_CN" else "en-US")
            sent: list[str] = []  # signing in posts no check-in: watching from here on misses none
            page.on("request", lambda r: sent.append(r.post_data_json["token"])
                    if r.method == "POST" and r.url.endswith(ENDPOINT) else None)
            assert fits_width(page)
            scanner, result = page.locator("#scanner"), page.locator("[data-testid=scan-result]")
            page.fill("#scan-amount", "12,345.60")  # yuan, as the cashier types it
            page.screenshot(path=str(shots / f"{lang}-1-ready.png"))

            # One read, one request; the camera stops; the answer is on the screen as it is.
            page.click("#scan-camera")
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the cashier had scrolled down
            expect(result).to_have_attribute("data-accepted", "true", timeout=30_000)
            assert len(sent) == 1 and sent[0] in (first, second), sent
            expect(scanner).to_have_attribute("data-camera", "off")
            assert _tracks(page) == ["ended"]
            expect(page.locator("#scan-video")).to_be_hidden()
            assert _in_view(page, "[data-testid=scan-result]") and _in_view(page, "#scan-next")
            expect(result).to_contain_text(words["accepted"])
            expect(result).to_contain_text("TR-000001")
            # 20% off 12,345.60 at this merchant, in yuan with thousands separators
            expect(result.locator(".scan-money")).to_have_text(f"−2,469.12 · {words['pay']} 9,876.48")
            expect(page.locator("#scan-next")).to_have_text(words["next"])
            if page.evaluate("typeof navigator.vibrate === 'function'"):
                assert page.evaluate("window.__vibrations.length") == 1
            page.screenshot(path=str(shots / f"{lang}-2-accepted.png"))
            # Both codes stay in front of the (stopped) camera: nothing more is sent.
            page.wait_for_timeout(6_000)
            assert len(sent) == 1, sent

            # Next customer: the answer goes, the bill is cleared, the camera starts again and reads the
            # other code (the one it sent already is never sent again).
            page.click("#scan-next")
            expect(page.locator("#scan-answer")).to_be_hidden()
            assert page.input_value("#scan-amount") == ""
            expect(result).to_have_attribute("data-accepted", "true", timeout=30_000)
            assert len(sent) == 2 and sorted(sent) == sorted((first, second)), sent
            assert _tracks(page) == ["ended", "ended"]  # a second stream was opened, and stopped at the read
            expect(result.locator(".scan-money")).to_have_count(0)  # no bill typed: no amounts
            assert _in_view(page, "[data-testid=scan-result]")
            page.screenshot(path=str(shots / f"{lang}-3-next-customer.png"))
            page.wait_for_timeout(2_000)
            assert len(sent) == 2, sent

            # Next again: the camera runs, but both codes in view were sent already, so it sends nothing.
            page.click("#scan-next")
            expect(scanner).to_have_attribute("data-camera", "on")
            expect(page.locator("#scan-video")).to_be_visible()
            assert _tracks(page) == ["ended", "ended", "live"]
            page.wait_for_timeout(3_000)
            assert len(sent) == 2, sent
            page.screenshot(path=str(shots / f"{lang}-4-camera-on.png"))

            # A typed code still works (and stops the camera); a refusal reads in the reader's language.
            page.fill("#scan-token", first)
            page.click("#scan-submit")
            expect(result).to_have_attribute("data-reason", "replayed")
            expect(result).to_contain_text(words["refused"])
            assert _in_view(page, "[data-testid=scan-result]")
            assert _tracks(page) == ["ended", "ended", "ended"]
            page.screenshot(path=str(shots / f"{lang}-5-refused.png"))
            page.fill("#scan-amount", "12.345")
            page.fill("#scan-token", "not a member code")
            page.click("#scan-submit")
            expect(result).to_have_attribute("data-reason", "bad_amount")
            assert not RAW.search(result.inner_text()), result.inner_text()
            page.screenshot(path=str(shots / f"{lang}-6-bad-amount.png"))
            assert len(sent) == 4, sent


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_one_read_one_check_in_answer_on_top_and_next_customer(tianren: None, live_server: str, lang: str) -> None:
    shots = artifacts("e2e-scanner")
    off_the_loop(_at_the_counter, live_server, shots, lang)
    assert (shots / f"{lang}-2-accepted.png").stat().st_size > 0
