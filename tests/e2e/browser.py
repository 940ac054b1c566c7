"""What every browser test shares: Debian's Chromium, its flags on this machine, a phone's
screen, where screenshots go, and a watch that fails the test on any error the browser reports
(a Content-Security-Policy violation among them)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from careclub.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ConsoleWatch:
    """What the browser reports as an error on any page of the test: a console error (a CSP violation
    is one: "Refused to execute inline script …", "Applying inline style violates …") or an uncaught
    exception. A 4xx answer the page asked for on purpose (a form re-drawn with a 422, a refused
    check-in the scanner shows in red) makes Chromium log "Failed to load resource" for it; for a
    document or a fetch that alone is no fault of the page. For a script, stylesheet, image or font
    it is (a broken page), and so is any 5xx."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._answers: set[str] = set()
        self._pages: set[int] = set()

    def attach(self, page: Any) -> None:
        if id(page) in self._pages:
            return
        self._pages.add(id(page))
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc}"))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.request.resource_type in ("document", "fetch", "xhr"):
            self._answers.add(response.url)

    def _console(self, page: Any, msg: Any) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url") or page.url
        if msg.text.startswith("Failed to load resource: the server responded with a status of 4") and \
                where in self._answers:
            return
        self.errors.append(f"{page.url}: {msg.text} ({where})")

    def check(self) -> None:
        assert not self.errors, "the browser reported errors:\n" + "\n".join(self.errors)


@contextmanager
def chromium(playwright: Any, extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    """Debian's Chromium with this machine's flags (and `extra_args`, e.g. `fake_camera(...)`); every page
    of every context it opens is watched, and the test fails on any console error or uncaught exception
    (`ConsoleWatch`)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
    watch = ConsoleWatch()
    new_context = browser.new_context

    def watched_context(**options: Any) -> Any:
        context = new_context(**options)
        context.on("page", watch.attach)
        new_page = context.new_page

        def watched_page() -> Any:
            page = new_page()
            watch.attach(page)
            return page

        context.new_page = watched_page
        return context

    browser.new_context = watched_context
    try:
        yield browser
    finally:
        browser.close()
    watch.check()
