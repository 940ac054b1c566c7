"""The admin's ticket settings pages as a browser uses them: the types, one type's page with everything the
API can set (errors all at once beside their rows, a workflow change that tickets then follow, the built-in
workflow restored), and the service calendar with its exception days; in Chinese and English, and closed to
a clerk."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import httpx
from litestar import Litestar

from tests.conftest import PASSWORD
from tests.integration.clubs.helpers import staff_with_password
from tests.integration.platform.pages import browser, csrf_token, login, submit
from tests.integration.tickets.helpers import get, raise_ticket, tower

ERROR = re.compile(r'<small class="error" id="e-([a-z0-9_]+)">([^<]*)</small>')


def errors_of(body: str) -> dict[str, str]:
    return {m.group(1): html.unescape(m.group(2)) for m in ERROR.finditer(body)}


class _FormReader(HTMLParser):
    """What a browser would post from the form whose action is `action`: text inputs, ticked boxes and
    radios, the selected options (the first when none is), textareas; not the submit buttons."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.values = action, False, {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "on")
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select, self.first_option = a.get("name"), None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.values[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.values[self.textarea or ""] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.values[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select:
            self.values.setdefault(self.select, self.first_option or "")
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.inside = False


def form_of(page: httpx.Response, action: str) -> dict[str, str]:
    reader = _FormReader(action)
    reader.feed(page.text)
    assert reader.values, f"no form posting to {action}"
    return dict(reader.values)


def row_of(form: dict[str, str], prefix: str, field: str, value: str) -> int:
    """The form row of a list whose `field` holds `value` (e.g. the stage row whose code is closed)."""
    for key, v in form.items():
        m = re.fullmatch(rf"{prefix}_(\d+)_{field}", key)
        if m and v == value:
            return int(m.group(1))
    raise AssertionError(f"no {prefix} row with {field}={value}")


def blank_row(form: dict[str, str], prefix: str, field: str) -> int:
    rows = int(form[f"{prefix}_rows"])
    for i in range(rows):
        if not form.get(f"{prefix}_{i}_{field}"):
            return i
    raise AssertionError(f"no blank {prefix} row")


async def test_every_settings_page_answers_the_admin_in_both_languages_and_refuses_a_clerk(
        app: Litestar, client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    pages = ["/tickets/types", "/tickets/types/repair", "/tickets/types/renovation_permit",
             "/tickets/types/contact_slip", "/tickets/calendar", "/tickets/reports",
             "/tickets/reports?month=2026-02", f"/tickets/reports?project={w['project']['id']}"]
    for lang, html_lang in (("zh_CN", 'lang="zh-CN"'), ("en", 'lang="en"')):
        async with browser(app, lang=lang) as c:
            await login(c, t["slug"], t["email"], PASSWORD)
            for url in pages:
                r = await c.get(url)
                assert r.status_code == 200, (lang, url, r.text[:500])
                assert html_lang in r.text
            nav = (await c.get("/tickets/types")).text
            assert 'href="/tickets/types"' in nav and 'href="/tickets/calendar"' in nav
            assert 'href="/tickets/reports"' in nav
            assert (await c.get("/tickets/types/no_such_type")).status_code == 404
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        repair = (await c.get("/tickets/types/repair")).text
        # the minutes read as working days too (08:30-17:30: a working day of 9 h)
        assert "1080 min = 2 working days of 9 h" in repair and "240 min = 4 h" in repair
        listing = (await c.get("/tickets/types")).text
        for code in ("complaint", "repair", "contact_slip", "renovation_permit", "service_order"):
            assert f'data-code="{code}"' in listing
    clerk = await staff_with_password(client, t, roles=["cs_clerk"], unit=w["cs"]["id"])
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], clerk["email"], PASSWORD)
        for url in pages:
            r = await c.get(url)
            assert r.status_code in (403, 404), (url, r.status_code)
        r = await c.post("/tickets/types/repair", data={"_csrf_token": csrf_token(await c.get("/tickets")),
                                                          "name": "x"})
        assert r.status_code in (403, 404)
        nav = (await c.get("/tickets")).text
        assert 'href="/tickets/types"' not in nav and 'href="/tickets/reports"' not in nav


async def test_a_type_saved_with_many_mistakes_shows_every_one_beside_its_row(app: Litestar, client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/tickets/types/repair")
        form = form_of(page, "/tickets/types/repair")
        assert form["sla_normal_resolve"] == "1080" and form["st_0_code"] == "registered"
        closed = row_of(form, "st", "code", "closed")
        step = row_of(form, "tr", "from", "visited")  # visited -> closed
        new_stage = blank_row(form, "st", "code")
        new_item = blank_row(form, "ck", "code")
        form.update({
            "prefix": "W X!", f"st_{new_stage}_code": "Bad Code", f"st_{new_stage}_phase": "work",
            f"tr_{step}_to": "nowhere", "sla_normal_resolve": "abc", "sla_high_respond": "600",
            f"ck_{new_item}_code": "meter_photo", f"ck_{new_item}_kind": "check",
            "name": "Keeps <this>", "op": "save",
        })
        r = await c.post("/tickets/types/repair", data={**form, "_csrf_token": csrf_token(page)})
        assert r.status_code == 422, r.text[:500]
        errors = errors_of(r.text)
        assert {"prefix", f"st_{new_stage}_code", f"tr_{step}_to", "sla_normal_resolve", "sla_high_respond",
                f"ck_{new_item}_label"} <= set(errors), errors
        assert "there is no stage nowhere" in errors[f"tr_{step}_to"]
        assert "response target cannot be later" in errors["sla_high_respond"]
        assert 'data-testid="form-errors"' in r.text
        # what was typed stays on the form, escaped
        assert 'value="Keeps &lt;this&gt;"' in r.text and 'value="Bad Code"' in r.text
        # removing the closed stage is refused too, at the stage list and at the steps that lead there
        form2 = form_of(await c.get("/tickets/types/repair"), "/tickets/types/repair")
        form2[f"st_{closed}_remove"] = "1"
        r = await c.post("/tickets/types/repair", data={**form2, "op": "save", "_csrf_token": csrf_token(page)})
        assert r.status_code == 422
        errors = errors_of(r.text)
        assert "stages" in errors and any(k.startswith("tr_") and k.endswith("_to") for k in errors), errors
    r = await client.get("/api/v1/ticket-types/repair", headers=t["headers"])
    assert r.json()["prefix"] == "WX" and r.json()["name"] == ""  # nothing of it was saved


async def test_a_workflow_change_saved_on_the_page_is_what_tickets_follow(app: Litestar, client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/tickets/types/complaint")
        form = form_of(page, "/tickets/types/complaint")
        # more empty rows, without saving, keep what was typed
        form["name"] = "Complaint (ours)"
        more = await c.post("/tickets/types/complaint", data={**form, "op": "more", "_csrf_token": csrf_token(page)})
        assert more.status_code == 200 and 'value="Complaint (ours)"' in more.text
        form = form_of(more, "/tickets/types/complaint")
        assert int(form["tr_rows"]) == len([k for k, v in form.items() if re.fullmatch(r"tr_\d+_from", k) and v]) + 10
        st, tr, ck = blank_row(form, "st", "code"), blank_row(form, "tr", "from"), blank_row(form, "ck", "code")
        first = row_of(form, "st", "code", "registered")
        form.update({
            f"st_{st}_code": "on_hold", f"st_{st}_phase": "wait", f"st_{st}_name": "Parked",
            f"st_{first}_name": "Logged",
            f"tr_{tr}_from": "registered", f"tr_{tr}_to": "on_hold", f"tr_{tr}_by_dispatch": "1",
            f"tr_{tr}_needs_note": "1",
            f"ck_{ck}_code": "photo_taken", f"ck_{ck}_label": "Photo of the place", f"ck_{ck}_kind": "check",
            f"ck_{ck}_required": "1",
            "sla_normal_respond": "30", "sla_normal_resolve": "600", "sla_urgent_clock": "working",
            "escalate_role": "tenant_admin", "default_department": w["cs"]["id"], "prefix": "TSX",
            "req_contact_phone": "1", "op": "save",
        })
        form.pop("vis_residents", None)
        r = await c.post("/tickets/types/complaint", data={**form, "_csrf_token": csrf_token(page)})
        assert r.status_code == 303, errors_of(r.text) or r.text[:800]
        saved = await c.get(r.headers["location"])
        assert "The ticket type is saved." in saved.text and 'value="Parked"' in saved.text
        assert "600 min = 1 working day of 9 h + 1 h" in saved.text
    ttype = (await client.get("/api/v1/ticket-types/complaint", headers=t["headers"])).json()
    assert ttype["name"] == "Complaint (ours)" and ttype["prefix"] == "TSX"
    assert {"code": "on_hold", "phase": "wait", "name": "Parked"} in ttype["stages"]
    assert {"from": "registered", "to": "on_hold", "by": ["dispatch"], "needs": ["note"],
            "department": ""} in ttype["transitions"]
    assert ttype["sla"]["normal"] == {"respond": 30, "resolve": 600, "clock": "working"}
    assert ttype["sla"]["urgent"]["clock"] == "working" and ttype["escalate_role"] == "tenant_admin"
    assert ttype["default_department"] == w["cs"]["id"] and ttype["visible_to"] == ["department", "assignee"]
    assert ttype["required_fields"] == ["contact_phone"]
    assert {"code": "photo_taken", "label": "Photo of the place", "kind": "check", "required": True} \
        in ttype["checklist"]
    # a ticket of the type now offers the new step, and shows the stage's own name
    ticket = await raise_ticket(client, w["clerk"], type="complaint", unit=w["unit"], contact_phone="139")
    assert ticket["number"].startswith("TSX-")
    seen = await get(client, w["dispatcher"], ticket["id"])
    assert "on_hold" in seen["allowed_transitions"] and seen["status_name"] == "Logged"
    # restoring the built-in workflow takes the step away again and keeps the other settings
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/tickets/types/complaint")
        r = await c.post("/tickets/types/complaint/restore", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 303 and r.headers["location"].endswith("done=restored")
    ttype = (await client.get("/api/v1/ticket-types/complaint", headers=t["headers"])).json()
    assert "on_hold" not in [s["code"] for s in ttype["stages"]] and ttype["prefix"] == "TSX"
    seen = await get(client, w["dispatcher"], ticket["id"])
    assert "on_hold" not in seen["allowed_transitions"]


async def test_a_checklist_item_and_a_stage_removed_on_the_page(app: Litestar, client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/tickets/types/move_out")
        form = form_of(page, "/tickets/types/move_out")
        damage = row_of(form, "ck", "code", "damage")
        form[f"ck_{damage}_remove"] = "1"
        contractor = row_of(form, "st", "code", "waiting_contractor")
        form[f"st_{contractor}_remove"] = "1"
        for key in [k for k, v in form.items() if re.fullmatch(r"tr_\d+_(from|to)", k) and v == "waiting_contractor"]:
            form[key.rsplit("_", 1)[0] + "_remove"] = "1"
        r = await c.post("/tickets/types/move_out", data={**form, "op": "save", "_csrf_token": csrf_token(page)})
        assert r.status_code == 303, errors_of(r.text)
    ttype = (await client.get("/api/v1/ticket-types/move_out", headers=t["headers"])).json()
    assert [i["code"] for i in ttype["checklist"]] == ["keys_returned", "meters_read", "deposit_settled"]
    assert "waiting_contractor" not in [s["code"] for s in ttype["stages"]]
    assert all("waiting_contractor" not in (s["from"], s["to"]) for s in ttype["transitions"])


async def test_the_service_calendar_page_saves_hours_and_exception_days(app: Litestar, client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await submit(c, "/tickets/calendar", hours_start="9:7", hours_end="08:00", days="sometimes",
                         quiet_start="21:00", quiet_end="25:00", warn_minutes="lots")
        assert r.status_code == 422
        assert {"hours_start", "days", "quiet_end", "warn_minutes"} <= set(errors_of(r.text)), errors_of(r.text)
        assert 'value="9:7"' in r.text
        r = await submit(c, "/tickets/calendar", hours_start="09:00", hours_end="18:00", days="all_but_holidays",
                         quiet_start="22:00", quiet_end="07:30", warn_minutes="45")
        assert r.status_code == 303, errors_of(r.text)
        page = await c.get(r.headers["location"])
        assert "The service calendar is saved." in page.text and "9 h" in page.text
        assert 'value="all_but_holidays" checked' in page.text
        # an exception day: a Sunday the company works; the preview says so
        preview_days = re.findall(r'<li data-day="(\d{4}-\d\d-\d\d)" data-working="(yes|no)">', page.text)
        assert len(preview_days) == 14
        day = preview_days[3][0]
        r = await submit(c, "/tickets/calendar", "/tickets/calendar/days", day=day, working="off",
                         note="Company outing <b>")
        assert r.status_code == 303, errors_of(r.text)
        page = await c.get("/tickets/calendar")
        assert f'<li data-day="{day}" data-working="no">' in page.text
        assert "Your exception: day off · Company outing &lt;b&gt;" in page.text
        bad = await submit(c, "/tickets/calendar", "/tickets/calendar/days", day="2027-02-30", working="maybe")
        assert bad.status_code == 422 and {"day", "working"} <= set(errors_of(bad.text))
    cal = (await client.get("/api/v1/service-calendar", headers=t["headers"])).json()
    assert cal["hours_start"] == "09:00" and cal["quiet_end"] == "07:30" and cal["warn_minutes"] == 45
    assert [(o["day"], o["working"], o["note"]) for o in cal["overrides"]] == [(day, False, "Company outing <b>")]
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await submit(c, "/tickets/calendar", "/tickets/calendar/days/remove", day=day)
        assert r.status_code == 303
    assert (await client.get("/api/v1/service-calendar", headers=t["headers"])).json()["overrides"] == []
