"""The resident's home page, `/my`: where a member lands after signing in (`landing.home_of`), on a phone
first. It shows one tile per thing the person has with the company (a member card, his requests, …); the
platform knows none of them, each domain registers its own tile.

A tile is registered once, when the domain's module is imported, as an async function that gets the person
(`Principal`) and answers a `Tile`, or None when there is nothing for him (no card, no home of his, …):

    from careclub.core.i18n import N_
    from careclub.core.i18n import gettext as _
    from careclub.platform import resident_home

    MY_ORDERS = N_("My service orders")

    async def orders_tile(principal: Principal) -> resident_home.Tile | None:
        waiting = await count_waiting_orders(principal)      # the domain's own service, scoped to the person
        if waiting is None:
            return None
        return resident_home.Tile(key="orders", title=_(MY_ORDERS), line=_(ORDERS_LINE), link="/my/orders",
                                  count=waiting or None)

    resident_home.register(orders_tile, order=30)

- `title` and every fixed word are messages: module constants marked with `N_()` and translated with `_()`
  when the tile is made (the request's language is set by then). `line` is a short line under it and may
  carry what people typed (a club's or a plan's name): it is printed escaped, and never goes through the
  catalog. Plurals are avoided ("Open: 3", not "3 open requests").
- `link` is a path on this site the person may open; `count` (optional) is a number drawn large on the tile
  (what waits for him); `key` names the tile in the page (`data-tile`) for tests and styles.
- `order` places the tile: the member card 10, the requests 20; others after them. A tile function reads
  the person's own data only, and cheaply: the page waits for every tile, one after the other, in the
  request's transaction.

The member card's tile is registered here (it reads clubs through their service and tables, imported when
first asked, as the dashboard's club panels are); the requests' tile by tickets (`tickets.views_portal`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request, get
from litestar.response import Template

from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm


@dataclass(frozen=True)
class Tile:
    key: str
    title: str
    line: str
    link: str
    count: int | None = None


TileFunction = Callable[[Principal], Awaitable[Tile | None]]
_TILES: list[tuple[int, int, TileFunction]] = []


def register(tile: TileFunction, *, order: int = 100) -> None:
    """Add a tile to every resident's home (once: registering the same function again changes nothing)."""
    if any(fn is tile for _order, _n, fn in _TILES):
        return
    _TILES.append((order, len(_TILES), tile))
    _TILES.sort(key=lambda entry: entry[:2])


async def tiles_for(principal: Principal) -> list[Tile]:
    """The person's tiles, in their order; those with nothing to show are left out."""
    shown = []
    for _order, _n, tile in list(_TILES):
        made = await tile(principal)
        if made is not None:
            shown.append(made)
    return shown


@get("/my", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_home(request: Request[Any, Any, Any]) -> Template:
    from careclub.platform.views import page, principal_of  # the pages module imports this one

    principal = principal_of(request)
    assert principal is not None, "the guard lets no anonymous request reach here"
    return page(request, "platform/my_home.html", tiles=await tiles_for(principal))


ROUTES: list[Any] = [my_home]


# ---- the member card ------------------------------------------------------------------------------

MY_CARD = N_("My member card")
JOIN_CLUB = N_("Join a club")


async def _club_tile(principal: Principal) -> Tile | None:
    """The member's cards (as /club/card shows them), else an open club he may join (its public join page);
    nothing in a company without clubs."""
    from careclub.clubs import service as clubs
    from careclub.clubs.tables import Club, Plan
    from careclub.clubs.views_staff import status_label

    cards = await clubs.cards_of_user(principal.user_id)
    # a cancelled card that nothing replaced is left out beside others, as on /club/card
    shown = [c for c in cards if not (c["status"] == "cancelled" and c.get("replaces") is None and len(cards) > 1)]
    if shown:
        # the plan's name as the company typed it, the number, the status in the reader's language
        lines = [f"{c['plan']['name']} · {c['card_no']} · {status_label(c['status'])}" for c in shown[:2]]
        return Tile(key="club-card", title=_(MY_CARD), line="; ".join(lines) + (" …" if len(shown) > 2 else ""),
                    link="/club/card")
    joined = {m["club"] for m in await clubs.member_for_user(principal.user_id)}
    open_clubs = await Club.select(Club.id, Club.code, Club.name).where(Club.active == True).order_by(  # noqa: E712
        Club.code)
    for club in open_clubs:
        if club["id"] in joined:
            continue
        if await Plan.exists().where(Plan.club == club["id"], Plan.active == True):  # noqa: E712
            return Tile(key="club-join", title=_(JOIN_CLUB), line=club["name"],
                        link=f"/join/{quote(principal.tenant.slug)}/{quote(club['code'])}")
    return None


register(_club_tile, order=10)
