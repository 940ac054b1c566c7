"""The dashboard's and the statistics page's charts in Chromium, under the site's Content-Security-Policy:
every chart is drawn (Apache ECharts, SVG) with no console error (a CSP violation is one: the browser
helper fails the test), its tooltip too; a click on a figure opens the list behind it; the table under
each chart shows on request, when printing and without script. A new company's dashboard shows its
checklist. Screenshots, phone (390×844) and desktop, in Chinese and English, go to
`test-artifacts/dashboard-charts/`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from careclub.platform.service import tenant_by_slug
from careclub.platform.tenant_file import apply_text
from careclub.settings import PROJECT_ROOT
from tests.conftest import PASSWORD, unique_slug
from tests.e2e.browser import DEMO_SLUG as SLUG
from tests.e2e.browser import PHONE, artifacts, chromium, off_the_loop, signed_in_page
from tests.integration.clubs.helpers import as_owner

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
MEMBERS = 160

# Two years of a growing club, made in SQL (the tallies' triggers keep the figures): members joined over
# the last two years, more of them lately; each paid the 365 fee on joining, those of more than a year
# ago renewed; a few cards suspended; check-ins at the club's merchants over the last two months.
SEED = [
    f"""INSERT INTO club_member (id, tenant_id, created_at, club, name, phone, id_number_hint, org_unit, status)
        SELECT md5('dash:m:' || i)::uuid, $1::uuid, j, $2::uuid, '演示会员' || i,
               '1360000' || lpad(i::text, 4, '0'), '',
               (SELECT id FROM org_unit ORDER BY md5(id::text || i::text) LIMIT 1), 'active'
        FROM (SELECT i, now() - make_interval(secs => 730 * 86400 * (1 - sqrt((i - 0.5) / {MEMBERS}.0))) AS j
              FROM generate_series(1, {MEMBERS}) i) s""",
    """INSERT INTO club_card (id, tenant_id, created_at, club, plan, member, card_no, state, valid_from,
                             valid_until, policy_no)
        SELECT md5('dash:c:' || m.id)::uuid, m.tenant_id, m.created_at, m.club, $1::uuid, m.id,
               'TR-8' || lpad(row_number() OVER (ORDER BY m.created_at)::text, 5, '0'),
               CASE WHEN hashtext(m.id::text) % 13 = 0 THEN 'suspended' ELSE 'active' END, m.created_at,
               m.created_at + CASE WHEN m.created_at < now() - interval '365 days'
                                        AND hashtext(m.id::text) % 4 <> 0
                                   THEN interval '2 years' ELSE interval '1 year' END, ''
        FROM club_member m WHERE m.name LIKE '演示会员%'""",
    """INSERT INTO club_period (id, tenant_id, created_at, card, kind, amount, currency, status, paid_at,
                               payment_method, payment_ref, starts_at, ends_at)
        SELECT gen_random_uuid(), c.tenant_id, c.created_at, c.id, 'join', 36500, 'CNY', 'paid', c.created_at,
               'offline', 'demo', c.valid_from, c.valid_from + interval '1 year'
        FROM club_card c WHERE c.card_no LIKE 'TR-8%'""",
    """INSERT INTO club_period (id, tenant_id, created_at, card, kind, amount, currency, status, paid_at,
                               payment_method, payment_ref, starts_at, ends_at)
        SELECT gen_random_uuid(), c.tenant_id, c.valid_from + interval '1 year', c.id, 'renewal', 36500, 'CNY',
               'paid', c.valid_from + interval '1 year' - interval '3 days', 'offline', 'demo',
               c.valid_from + interval '1 year', c.valid_until
        FROM club_card c WHERE c.card_no LIKE 'TR-8%' AND c.valid_until > c.valid_from + interval '1 year'""",
    """INSERT INTO club_checkin (id, tenant_id, created_at, card, member, merchant, nonce, scanned_on)
        SELECT gen_random_uuid(), c.tenant_id, t, c.id, c.member, mc.id,
               'dash' || left(md5(c.id::text || mc.id), 12), (t AT TIME ZONE 'Asia/Shanghai')::date
        FROM club_card c JOIN club_merchant mc ON mc.club = c.club,
             LATERAL (SELECT now() - make_interval(secs => abs(hashtext(c.id::text || mc.id::text))
                                                         % (60 * 86400)) AS t) x
        WHERE c.card_no LIKE 'TR-8%'
          AND abs(hashtext(mc.id::text || c.id::text)) % 5 < abs(hashtext(mc.code)) % 4 + 1""",
]


@pytest.fixture
async def tianren(client: Any, owner: asyncpg.Connection) -> None:
    await apply_text((PROJECT_ROOT / "tenants" / f"{SLUG}.toml").read_text(encoding="utf-8"), demo=True)
    tenant = await tenant_by_slug(SLUG)
    assert tenant is not None
    tid = str(tenant.id)
    if (await as_owner(owner, tid, "SELECT count(*) AS n FROM club_member WHERE name LIKE '演示会员%'"))[0]["n"]:
        return
    club = (await as_owner(owner, tid, "SELECT id FROM club WHERE code = 'vip'"))[0]["id"]
    plan = (await as_owner(owner, tid, "SELECT id FROM club_plan WHERE club = $1 AND code = 'vip'", club))[0]["id"]
    for sql in SEED:
        args = (tid, str(club)) if "$2" in sql else (str(plan),) if "$1" in sql else ()
        await as_owner(owner, tid, sql, *args)


def _all_drawn(page: Any) -> int:
    """Waits until every chart with figures is drawn as SVG; answers how many."""
    from playwright.sync_api import expect

    wanted = page.locator("figure.chart[data-chart]")
    count = wanted.count()
    expect(page.locator("figure.chart.chart-drawn .chart-canvas svg")).to_have_count(count, timeout=20000)
    return count


def _language(page: Any, lang: str) -> None:
    """The reader's own choice (kept on the user: the demo admin's starts as the company's Chinese)."""
    button = page.locator(f"form.lang button[value={'zh_CN' if lang == 'zh' else 'en'}]").first
    if not button.is_visible():
        page.click("label.nav-button")  # a phone's menu
    button.click()
    page.wait_for_load_state("networkidle")
    if page.locator("#nav-toggle").is_checked():  # the browser keeps the menu's box ticked: close it
        page.click("label.nav-button")


def _fits(page: Any) -> bool:
    """Nothing on the page's own content reaches past the window's right edge (no sideways scrolling).
    The site's menu is not this page's: on a wide window it is judged elsewhere."""
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('main *'))
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        // a drawn chart's table is clipped to 1 px: there for screen readers
        .filter(e => !e.closest('.chart-drawn:not(.chart-show-table) .chart-table'))
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)""")
    assert not wide, wide
    if page.viewport_size["width"] < 860:  # a phone: the menu is folded, nothing may scroll sideways
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    return True


def _drive(base: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
                for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                    page = signed_in_page(browser, base, f"admin@{SLUG}.example", "/dashboard", viewport=viewport,
                                          locale=locale)
                    _language(page, lang)
                    csp = page.goto(f"{base}/dashboard")
                    assert csp is not None and "unsafe" not in csp.headers["content-security-policy"]
                    drawn = _all_drawn(page)
                    assert drawn >= 5, drawn  # the club's five figures, each with data
                    assert _fits(page), "the dashboard scrolls sideways"
                    page.screenshot(path=str(shots / f"dashboard-{lang}-{size}.png"), full_page=True)
                    stats = page.locator("[data-testid=club-panel] h2 a").first.get_attribute("href")
                    page.goto(f"{base}{stats}")
                    assert _all_drawn(page) == 8
                    expect(page.locator("[data-testid=stats-chart] svg")).to_be_visible()
                    assert _fits(page), "the statistics page scrolls sideways"
                    page.screenshot(path=str(shots / f"stats-{lang}-{size}.png"), full_page=True)
                    page.context.close()

            page = signed_in_page(browser, base, f"admin@{SLUG}.example", "/dashboard", viewport=DESKTOP,
                                  locale="en-US")
            _language(page, "en")
            _all_drawn(page)
            # the tooltip (built as elements: ECharts' own markup carries style attributes the policy refuses)
            joins = page.locator("figure[id$='-joins'] .chart-canvas")
            joins.scroll_into_view_if_needed()
            box = joins.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.6)
            expect(page.locator(".chart-tip").first).to_be_visible(timeout=5000)
            expect(page.locator(".chart-tip-row").first).to_contain_text(re.compile("New members|Renewals"))
            page.screenshot(path=str(shots / "tooltip-en-desktop.png"))
            # the numbers on request: the table under the chart
            status = page.locator("figure[id$='-status']").first
            table = status.locator(".chart-table table")
            hidden = status.locator(".chart-table").bounding_box()
            assert hidden is not None and hidden["width"] <= 1  # there for screen readers only
            status.locator(".chart-toggle").click()
            expect(table).to_be_visible()
            expect(status.locator(".chart-toggle")).to_have_attribute("aria-expanded", "true")
            page.screenshot(path=str(shots / "numbers-en-desktop.png"), full_page=True)
            # printing: the tables, not the drawings
            page.emulate_media(media="print")
            expect(page.locator("figure[id$='-joins'] .chart-table table")).to_be_visible()
            expect(page.locator("figure[id$='-joins'] .chart-canvas")).to_be_hidden()
            page.emulate_media(media="screen")
            # a click on a figure opens the list behind it: a slice of the status pie → the filtered members
            canvas = status.locator(".chart-canvas")
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            assert box is not None
            # the ring's middle at three o'clock (charts.js: centre 50 % / 44 %, radii 38–64 % of the half side)
            radius = min(box["width"], box["height"]) / 2 * 0.51
            page.mouse.click(box["x"] + box["width"] / 2 + radius, box["y"] + box["height"] * 0.44)
            page.wait_for_url(re.compile(r".*/club/members\?club=[0-9a-f-]+&status=[a-z_]+$"), timeout=10000)
            expect(page.locator("main")).to_be_visible()

            # without script: the tables only, every one of them
            nojs = signed_in_page(browser, base, f"admin@{SLUG}.example", "/dashboard", locale="en-US",
                                  java_script_enabled=False)
            tables = nojs.locator("figure.chart[data-chart] .chart-table table")
            assert tables.count() >= 5
            for i in range(tables.count()):
                expect(tables.nth(i)).to_be_visible()
            assert nojs.locator("figure.chart .chart-canvas svg").count() == 0
            nojs.screenshot(path=str(shots / "dashboard-no-script-en-phone.png"), full_page=True)

            # a new company: the checklist, in both languages
            for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
                fresh = browser.new_context(viewport=PHONE, locale=locale).new_page()
                slug = unique_slug("dash")
                fresh.goto(f"{base}/signup")
                _language(fresh, lang)
                fresh.fill("#f-company", f"Fresh {lang}")
                fresh.fill("#f-slug", slug)
                fresh.fill("#f-email", f"admin@{slug}.test")
                fresh.fill("#f-password", PASSWORD)
                fresh.click("main button[type=submit]")
                fresh.wait_for_url(re.compile(r".*/dashboard$"))
                checklist = fresh.locator("[data-testid=onboarding]")
                expect(checklist).to_be_visible()
                expect(checklist.locator("li")).to_have_count(6)
                assert _fits(fresh)
                fresh.screenshot(path=str(shots / f"checklist-{lang}-phone.png"), full_page=True)


def test_dashboard_charts_draw_under_the_policy(tianren: None, live_server: str) -> None:
    shots = artifacts("dashboard-charts")
    off_the_loop(_drive, live_server, shots, timeout=600)
    assert (shots / "dashboard-zh-phone.png").stat().st_size > 0
