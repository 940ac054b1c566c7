"""`/favicon.ico`: browsers ask for it on pages that name no icon (the Stripe sandbox's hosted pages,
raw JSON answers); a 404 there is a console error on every such page."""

from __future__ import annotations

from litestar import get
from litestar.response import Redirect


@get("/favicon.ico", opt={"public": True, "no_transaction": True}, include_in_schema=False)
async def favicon() -> Redirect:
    return Redirect("/static/favicon.svg", status_code=301)
