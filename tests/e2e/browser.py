"""What every browser test shares: Debian's Chromium, its flags on this machine, a phone's
screen, where screenshots go, and a watch that fails the test on any error the browser reports
(a Content-Security-Policy violation among them)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from careclub.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DEMO_SLUG = "tianren-car-club"  # tenants/tianren-car-club.toml, applied with demo=True (its demo people)
DEMO_PASSWORD = "careclub-demo-2026"
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


def artifacts(name: str) -> Path:
    """The folder under test-artifacts/ a test's screenshots go to (made if missing)."""
    shots = ARTIFACTS / name
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def off_the_loop(drive: Callable[..., Any], *args: Any, timeout: float = 300) -> Any:
    """`drive(*args)` in a thread of its own: Playwright's sync API refuses to run inside the event loop
    the (async) test and its fixtures run in."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(drive, *args).result(timeout=timeout)


# A QR drawing of the page (an <svg> under `selector`), as an image on a canvas, read by jsQR, the scanner's own
# decoder, loaded from /static (the page's policy holds).
_DECODE = """async (selector) => {
  const svg = document.querySelector(selector);
  const img = new Image();
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(new XMLSerializer().serializeToString(svg));
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 400;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, 400, 400);
  const found = jsQR(ctx.getImageData(0, 0, 400, 400).data, 400, 400);
  return found ? found.data : null;
}"""


def read_qr(page: Any, selector: str) -> str | None:
    """The text of the QR code drawn at `selector` (an <svg>), or None when it does not read."""
    if not page.evaluate("typeof jsQR === 'function'"):
        page.add_script_tag(url="/static/vendor/jsqr/jsQR.js")
    result = page.evaluate(_DECODE, selector)
    return None if result is None else str(result)


def fits_width(page: Any) -> bool:
    """The page does not scroll sideways."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def sign_in(page: Any, base: str, email: str, target: str, *, slug: str = DEMO_SLUG,
            password: str = DEMO_PASSWORD) -> None:
    """Signs in through the login form (`/login?next=target`) and waits until `target` is open."""
    page.goto(f"{base}/login?next={target}")
    page.fill("#f-tenant", slug)
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def signed_in_page(browser: Any, base: str, email: str, target: str, *, slug: str = DEMO_SLUG,
                   password: str = DEMO_PASSWORD, lang: str | None = None, viewport: dict[str, int] | None = None,
                   init_script: str | None = None, **options: Any) -> Any:
    """A page of a new browser context (a phone's screen unless `viewport` says otherwise; `options` go to
    `browser.new_context`, e.g. `locale="zh-CN"`), signed in as `email` and showing `target`. `lang` sets
    the site's language cookie first; `init_script` runs before every page's own scripts."""
    context = browser.new_context(viewport=viewport or PHONE, **options)
    if lang:
        context.add_cookies([{"name": "lang", "value": lang, "url": base}])
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    sign_in(page, base, email, target, slug=slug, password=password)
    return page
