"""What people type on tickets (titles, descriptions, notes, names, comments, materials, checklist answers,
file names), and what they put in query strings and forms, never reaches a ticket page as HTML: every
page shows it escaped, for the staff and for the residents."""

from __future__ import annotations

import io
import re
from typing import Any

from litestar import Litestar
from markupsafe import escape
from PIL import Image

from tests.integration.platform.pages import csrf_token
from tests.integration.tickets.helpers import move, raise_ticket, tower
from tests.integration.tickets.test_pages import as_user

PAYLOAD = "<img src=x onerror=alert(1)>\"'&"
RAW = re.compile(r"<img src=x", re.I)


def p(tag: str) -> str:
    return f"{tag}{PAYLOAD}"


def clean(url: str, body: str) -> None:
    assert not RAW.search(body), f"{url}: raw payload …{body[max(0, body.lower().find('<img src=x') - 200):][:300]}…"


async def test_typed_text_is_shown_escaped_on_every_ticket_page(client: Any, app: Litestar) -> None:
    w = await tower(client)
    repair = await raise_ticket(client, w["resident"], unit=w["unit"], title=p("title"), description=p("desc"),
                                contact_phone="139")
    tid = repair["id"]
    await move(client, w["dispatcher"], tid, "dispatched", department=w["eng"]["id"], subcontractor=p("sub"),
               note=p("dispatchnote"))
    await move(client, w["engineer"], tid, "accepted")
    r = await client.post(f"/api/v1/tickets/{tid}/work", headers=w["engineer"]["headers"], json={
        "note": p("work"), "minutes": 5, "materials": [{"name": p("material"), "quantity": "1"}]})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/tickets/{tid}/comments", headers=w["resident"]["headers"],
                          json={"note": p("comment")})
    assert r.status_code == 201, r.text
    photo = io.BytesIO()
    Image.new("RGB", (8, 8)).save(photo, "PNG")
    r = await client.post(f"/api/v1/tickets/{tid}/attachments", headers=w["resident"]["headers"],
                          files={"file": (p("file") + ".png", photo.getvalue(), "image/png")})
    assert r.status_code == 201, r.text
    move_out = await raise_ticket(client, w["dispatcher"], unit=w["unit"], type="move_out", title=p("moveout"),
                                  contact_name=p("contact"))
    r = await client.put(f"/api/v1/tickets/{move_out['id']}/checklist", headers=w["dispatcher"]["headers"],
                         json={"values": {"meters_read": p("meters")}})
    assert r.status_code == 200, r.text

    staff_pages = {f"/tickets/{tid}": ["title", "desc", "sub", "dispatchnote", "work", "material", "comment"],
                   f"/tickets/{move_out['id']}": ["moveout", "contact", "meters"],
                   "/tickets?view=all": ["title", "moveout"], f"/tickets?number={p('q')}&status={p('q')}": [],
                   f"/tickets/new?q={p('q')}&type={p('q')}": [], f"/tickets?after={p('q')}": []}
    async with as_user(app, w, "dispatcher") as c:
        for url, shown in staff_pages.items():
            r = await c.get(url)
            clean(url, r.text)
            for tag in shown:
                assert str(escape(p(tag))) in r.text, (url, tag)
        # every field of the forms with the payload: the re-drawn form escapes what was typed
        page = await c.get(f"/tickets/{tid}")
        token = csrf_token(page)
        fields = {f: p(f) for f in ("type", "title", "description", "unit", "priority", "source", "contact_name",
                                    "contact_phone", "department", "q", "to", "expected_status", "note",
                                    "assignee", "subcontractor", "signed_by", "satisfaction", "reason", "comment",
                                    "minutes", "name_0", "quantity_0", "supplied_by_0", "expected_version",
                                    "check_meters_read", "check_damage")}
        for action in ("/tickets/new", f"/tickets/{tid}/transition", f"/tickets/{tid}/comments",
                       f"/tickets/{tid}/work", f"/tickets/{move_out['id']}/checklist"):
            r = await c.post(action, data={"_csrf_token": token, **fields})
            assert r.status_code in (303, 409, 413, 415, 422), (action, r.status_code)
            clean(action, (await c.get(r.headers["location"])).text if r.status_code == 303 else r.text)
    async with as_user(app, w, "resident") as c:
        for url, shown in {f"/my/tickets/{tid}": ["title", "desc", "comment"], "/my/tickets": ["title"],
                           f"/my/tickets?view={p('q')}&after={p('q')}": [], f"/my/tickets/new?type={p('q')}": []
                           }.items():
            r = await c.get(url)
            clean(url, r.text)
            for tag in shown:
                assert str(escape(p(tag))) in r.text, (url, tag)
            assert p("dispatchnote") not in r.text and "sub&lt;img" not in r.text  # the company's own notes
        page = await c.get(f"/my/tickets/{tid}")
        for action in ("/my/tickets/new", f"/my/tickets/{tid}/transition", f"/my/tickets/{tid}/comments"):
            r = await c.post(action, data={"_csrf_token": csrf_token(page), **{f: p(f) for f in (
                "type", "unit", "title", "description", "contact_phone", "to", "expected_status", "note",
                "satisfaction", "reason", "comment")}}, files={"file": ("x.txt", b"x", "text/plain")}
                if action.endswith("new") else None)
            assert r.status_code in (303, 409, 415, 422), (action, r.status_code, r.text[:300])
            clean(action, (await c.get(r.headers["location"])).text if r.status_code == 303 else r.text)
