"""The ticket pages as people use them in a browser: the staff's queue (each clerk his department's), the
register form (every problem at once), a ticket's page with its step forms (a stale one refused and
nothing changed), the checklist in yuan, photos (a text file dressed as a photo refused), the Excel
download; the residents' own list, raising a repair with a photo, signing off and rating. Both languages."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from openpyxl import load_workbook
from PIL import Image

from careclub.core import sessions
from careclub.core.db import tenant_scope
from careclub.tickets.tables import Ticket, TicketEvent
from careclub.web.exports import XLSX
from tests.integration.platform.pages import browser, csrf_token
from tests.integration.tickets.helpers import get, move, raise_ticket, tower

ERROR = re.compile(r'<small class="error" id="e-([a-z_0-9-]+)">([^<]*)</small>')


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR.finditer(body)}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


@asynccontextmanager
async def as_user(app: Litestar, w: dict[str, Any], who: str, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as one of the tower's people (a session of their own: they have no password)."""
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(uuid.UUID(w["t"]["tenant_id"]), uuid.UUID(w[who]["id"]),
                                           idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def post_form(c: httpx.AsyncClient, page: str, action: str, **fields: Any) -> httpx.Response:
    r = await c.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:300])
    return await c.post(action, data={"_csrf_token": csrf_token(r), **{k: str(v) for k, v in fields.items()}})


async def ticket_row(w: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        row = await Ticket.select().where(Ticket.id == uuid.UUID(ticket_id)).first()
        row["events"] = await TicketEvent.count().where(TicketEvent.ticket == uuid.UUID(ticket_id))
    assert row is not None
    return dict(row)


async def test_every_page_renders_for_its_people_in_both_languages(client: Any, app: Litestar) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["resident"], unit=w["unit"]))["id"]
    for lang, marker in (("en", '<html lang="en">'), ("zh_CN", '<html lang="zh-CN">')):
        async with as_user(app, w, "dispatcher", lang) as c:
            for url in ("/tickets", "/tickets?view=attention", "/tickets?view=all&type=repair", "/tickets/new",
                        f"/tickets/{tid}"):
                r = await c.get(url)
                assert r.status_code == 200, (url, r.text[:500])
                assert marker in r.text
            assert 'href="/tickets"' in r.text  # the navigation's entry
            assert 'data-step="dispatched"' in r.text and 'name="expected_status" value="registered"' in r.text
        async with as_user(app, w, "resident", lang) as c:
            for url in ("/my/tickets", "/my/tickets/new", f"/my/tickets/{tid}"):
                r = await c.get(url)
                assert r.status_code == 200, (url, r.text[:500])
                assert marker in r.text and 'href="/my/tickets"' in r.text
            # a resident who opens the staff's pages is sent to his own
            r = await c.get(f"/tickets/{tid}")
            assert r.status_code in (302, 303, 307) and r.headers["location"] == f"/my/tickets/{tid}"
            assert (await c.get("/tickets/new")).status_code == 403
    async with as_user(app, w, "neighbour") as c:
        assert (await c.get(f"/my/tickets/{tid}")).status_code == 404


async def test_a_department_clerk_sees_his_departments_queue_and_a_resident_his_own(client: Any,
                                                                                     app: Litestar) -> None:
    w = await tower(client)
    ours = await raise_ticket(client, w["dispatcher"], unit=w["unit"], type="complaint", title="Noise upstairs",
                              department=w["cs"]["id"])
    theirs = await raise_ticket(client, w["dispatcher"], unit=w["unit2"], title="Broken lift button",
                                department=w["eng"]["id"])
    async with as_user(app, w, "clerk") as c:
        page = (await c.get("/tickets?view=all")).text
        assert ours["number"] in page and theirs["number"] not in page
        assert "Noise upstairs" in page and 'data-sla="running"' in page
    async with as_user(app, w, "engineer") as c:
        page = (await c.get("/tickets")).text
        assert theirs["number"] in page and ours["number"] not in page
        assert (await c.get(f"/tickets/{ours['id']}")).status_code == 404
    async with as_user(app, w, "dispatcher") as c:
        page = (await c.get("/tickets")).text
        assert ours["number"] in page and theirs["number"] in page
        filtered = (await c.get(f"/tickets?department={w['eng']['id']}")).text
        assert theirs["number"] in filtered and ours["number"] not in filtered
    own = await raise_ticket(client, w["resident"], unit=w["unit"], title="Dripping tap")
    other = await raise_ticket(client, w["neighbour"], unit=w["unit2"], title="Door bell dead")
    async with as_user(app, w, "resident") as c:
        page = (await c.get("/my/tickets")).text
        assert own["number"] in page and "Dripping tap" in page
        assert other["number"] not in page and theirs["number"] not in page  # unit2's tickets are not his


async def test_registering_shows_every_problem_at_once_then_opens_the_ticket(client: Any, app: Litestar) -> None:
    w = await tower(client)
    async with as_user(app, w, "clerk") as c:
        r = await post_form(c, "/tickets/new", "/tickets/new", type="repair", title="", unit="", priority="huge",
                            source="phone", contact_phone="1" * 40, description="kitchen")
        assert r.status_code == 422, r.text[:300]
        errors = field_errors(r.text)
        assert {"title", "unit", "priority", "contact_phone"} <= set(errors), errors
        assert 'data-testid="form-errors"' in r.text and ">kitchen</textarea>" in r.text  # what was typed stays
        r = await post_form(c, "/tickets/new", "/tickets/new", type="repair", title="Leaking <tap>", unit=w["unit"],
                            priority="high", source="walk_in", contact_name="王女士", contact_phone="13900001201")
        assert r.status_code == 303, r.text[:500]
        tid = r.headers["location"].split("/")[2].split("?")[0]
        page = await c.get(r.headers["location"])
        assert page.status_code == 200 and "Leaking &lt;tap&gt;" in page.text
        assert "The ticket is registered." in page.text
        assert "A-1201" in page.text and "王女士" in page.text
    row = await ticket_row(w, tid)
    assert row["priority"] == "high" and row["source"] == "walk_in" and str(row["unit"]) == w["unit"]


async def test_step_forms_move_the_ticket_and_a_stale_one_changes_nothing(client: Any, app: Litestar) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["resident"], unit=w["unit"]))["id"]
    url = f"/tickets/{tid}"
    async with as_user(app, w, "dispatcher") as c:
        # a dispatch without anyone to hand it to: refused beside the form, nothing moves
        r = await post_form(c, url, f"{url}/transition", to="dispatched", expected_status="registered")
        assert r.status_code == 422 and "step-dispatched-department" in field_errors(r.text)
        assert (await ticket_row(w, tid))["status"] == "registered"
        r = await post_form(c, url, f"{url}/transition", to="dispatched", expected_status="registered",
                            department=w["eng"]["id"], note="the tap")
        assert r.status_code == 303, r.text[:500]
        page = (await c.get(url)).text
        assert "Unit ENG" in page and 'data-status="dispatched"' in page
        assert "To: Unit ENG" in page  # the dispatch's data in words in the timeline
    before = await ticket_row(w, tid)
    assert before["status"] == "dispatched" and str(before["department"]) == w["eng"]["id"]
    # the page of someone who still sees it as registered: its form is refused as stale, nothing changes
    async with as_user(app, w, "dispatcher") as c:
        page = await c.get(url)
        r = await c.post(f"{url}/transition", data={"_csrf_token": csrf_token(page), "to": "dispatched",
                                                    "expected_status": "registered", "department": w["sec"]["id"],
                                                    "note": "to security instead"})
        assert r.status_code == 409, r.text[:300]
        assert "The ticket changed meanwhile; it is now Dispatched." in r.text
        assert "to security instead" in r.text  # what was typed is still on the page
        sec = w["sec"]["id"]
        assert f'<option value="{sec}" selected>' in r.text
        assert 'name="expected_status" value="dispatched"' in r.text  # the page as the ticket is now
    after = await ticket_row(w, tid)
    assert after["status"] == "dispatched" and str(after["department"]) == w["eng"]["id"]
    assert after["version"] == before["version"] and after["events"] == before["events"]
    async with as_user(app, w, "engineer", "zh_CN") as c:
        r = await post_form(c, url, f"{url}/transition", to="accepted", expected_status="dispatched")
        assert r.status_code == 303, r.text[:300]
        r = await post_form(c, url, f"{url}/work", note="replaced the cartridge", minutes="40", name_0="tap cartridge",
                            quantity_0="1", supplied_by_0="company")
        assert r.status_code == 303, r.text[:300]
        r = await post_form(c, url, f"{url}/transition", to="resolved", expected_status="accepted")
        assert r.status_code == 303, r.text[:300]
    assert (await get(client, w["engineer"], tid))["status"] == "resolved"


async def test_the_checklist_takes_yuan_and_keeps_fen(client: Any, app: Litestar) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["dispatcher"], unit=w["unit"], type="move_out", title="Moving out 1201"))["id"]
    url = f"/tickets/{tid}"
    async with as_user(app, w, "dispatcher") as c:
        page = await c.get(url)
        assert 'name="check_damage"' in page.text and 'name="expected_version" value="1"' in page.text
        bad = await c.post(f"{url}/checklist", data={"_csrf_token": csrf_token(page), "expected_version": "1",
                                                    "check_damage": "12.345", "check_meters_read": "W 12"})
        assert bad.status_code == 422 and "check_damage" in "".join(field_errors(bad.text))
        assert 'value="W 12"' in bad.text
        r = await c.post(f"{url}/checklist", data={"_csrf_token": csrf_token(page), "expected_version": "1",
                                                  "check_keys_returned": "1", "check_meters_read": "W 123 E 456",
                                                  "check_damage": "1,234.50", "check_deposit_settled": "1"})
        assert r.status_code == 303, r.text[:500]
        answers = json.loads((await ticket_row(w, tid))["checklist"])
        assert answers["damage"] == 123450 and answers["keys_returned"] is True
        page = (await c.get(url)).text
        assert 'value="1,234.50"' in page and "1,234.50 yuan" in page  # the form and the timeline, in yuan
        # the old page's version is stale now: refused, what was typed kept, nothing saved
        stale = await c.post(f"{url}/checklist", data={"_csrf_token": csrf_token(await c.get(url)),
                                                      "expected_version": "1", "check_damage": "99"})
        assert stale.status_code == 409 and "it is now Registered" in stale.text and 'value="99"' in stale.text
        assert json.loads((await ticket_row(w, tid))["checklist"])["damage"] == 123450


async def test_photos_are_kept_and_a_spoofed_file_refused(client: Any, app: Litestar) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["resident"], unit=w["unit"]))["id"]
    url = f"/tickets/{tid}"
    async with as_user(app, w, "dispatcher") as c:
        page = await c.get(url)
        r = await c.post(f"{url}/attachments", data={"_csrf_token": csrf_token(page)},
                         files={"file": ("tap.jpg", jpeg(), "image/jpeg")})
        assert r.status_code == 303, r.text[:300]
        page = await c.get(url)
        photo = re.search(r'<img src="/attachments/([0-9a-f-]+)" alt="tap.jpg"', page.text)
        assert photo, page.text[-3000:]
        assert (await c.get(f"/attachments/{photo.group(1)}")).headers["content-type"] == "image/jpeg"
        r = await c.post(f"{url}/attachments", data={"_csrf_token": csrf_token(page)},
                         files={"file": ("evil.jpg", b"just some text, not a photo", "image/jpeg")})
        assert r.status_code == 415
        assert field_errors(r.text)["files-file"].lower().startswith("only photos (jpeg, png, webp) and pdf")
    async with as_user(app, w, "resident") as c:
        page = await c.get("/my/tickets/new")
        r = await c.post("/my/tickets/new", data={"_csrf_token": csrf_token(page), "type": "repair", "unit": w["unit"],
                                                  "title": "Cracked tile"},
                         files={"file": ("tile.jpg", b"MZ not an image", "image/jpeg")})
        assert r.status_code == 415 and "Cracked tile" in r.text and "raise-file" in field_errors(r.text)
        assert "Cracked tile" not in (await c.get("/my/tickets")).text  # nothing raised without its photo


async def test_the_queue_downloads_as_a_workbook_with_its_filters(client: Any, app: Litestar) -> None:
    w = await tower(client)
    repair = await raise_ticket(client, w["dispatcher"], unit=w["unit"], title="Leaking tap")
    complaint = await raise_ticket(client, w["dispatcher"], unit=w["unit2"], type="complaint", title="Noise")
    async with as_user(app, w, "dispatcher") as c:
        page = (await c.get("/tickets?view=all&type=repair")).text
        assert 'href="?view=all&amp;type=repair&amp;format=xlsx"' in page
        r = await c.get("/tickets?view=all&type=repair&format=xlsx")
        assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
        rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
        assert rows[0][:3] == ("Number", "Type", "Title")
        numbers = [row[0] for row in rows[1:]]
        assert numbers == [repair["number"]] and complaint["number"] not in numbers
        assert rows[1][2] == "Leaking tap" and rows[1][5] == "A-1201"


async def test_a_resident_raises_a_repair_signs_off_and_rates_it(client: Any, app: Litestar) -> None:
    w = await tower(client)
    async with as_user(app, w, "resident", "zh_CN") as c:
        page = await c.get("/my/tickets/new")
        r = await c.post("/my/tickets/new", data={"_csrf_token": csrf_token(page), "type": "repair", "unit": w["unit"],
                                                  "title": "卫生间漏水", "description": "天花板在滴水"},
                         files={"file": ("leak.jpg", jpeg(), "image/jpeg")})
        assert r.status_code == 303, r.text[:500]
        tid = r.headers["location"].split("/")[3].split("?")[0]
        page = (await c.get(r.headers["location"])).text
        assert "卫生间漏水" in page and 'data-testid="photo"' in page
    await move(client, w["dispatcher"], tid, "dispatched", department=w["eng"]["id"])
    await move(client, w["engineer"], tid, "accepted")
    await move(client, w["engineer"], tid, "resolved")
    url = f"/my/tickets/{tid}"
    async with as_user(app, w, "resident") as c:
        page = (await c.get(url)).text
        assert 'data-step="confirmed"' in page and 'data-step="in_progress"' in page
        assert "Unit ENG" not in page  # to whom it was dispatched is the company's business
        r = await post_form(c, url, f"{url}/transition", to="confirmed", expected_status="resolved")
        assert r.status_code == 303, r.text[:500]
        r = await post_form(c, url, f"{url}/transition", to="visited", expected_status="confirmed", satisfaction="",
                            reason="")
        assert r.status_code == 422 and {"step-visited-satisfaction", "step-visited-reason"} <= set(
            field_errors(r.text))
        r = await post_form(c, url, f"{url}/transition", to="visited", expected_status="confirmed",
                            satisfaction="5", reason="satisfied", note="quick and tidy")
        assert r.status_code == 303, r.text[:500]
        page = (await c.get(url)).text
        assert "quick and tidy" in page and "5 — very satisfied" in page
    done = await get(client, w["dispatcher"], tid)
    assert done["status"] == "visited" and done["satisfaction"] == 5


async def test_the_queue_counts_more_than_a_page_once_and_a_filter_counts_its_own(client: Any, app: Litestar) -> None:
    """Past one page the list's count is the tab's (counted once for both), and a filter counts what it shows."""
    w = await tower(client)
    for n in range(27):
        await raise_ticket(client, w["dispatcher"], unit=w["unit"], title=f"Leak {n}", department=w["eng"]["id"])
    for n in range(2):
        await raise_ticket(client, w["dispatcher"], unit=w["unit"], type="complaint", title=f"Noise {n}",
                           department=w["cs"]["id"])
    async with as_user(app, w, "dispatcher") as c:
        page = (await c.get("/tickets")).text
        assert "29 tickets" in page and 'data-testid="count-open">29<' in page
        assert 'data-testid="count-attention">0<' in page
        older = re.search(r'href="(\?[^"]*after=[^"]+)"', page)
        assert older is not None  # one page holds 25
        assert "29 tickets" in (await c.get("/tickets" + older.group(1).replace("&amp;", "&"))).text
        repairs = (await c.get("/tickets?type=repair")).text
        assert "27 tickets" in repairs and 'data-testid="count-open">29<' in repairs
        engineering = (await c.get(f"/tickets?department={w['eng']['id']}")).text
        assert "27 tickets" in engineering
