"""Staff lists of the clubs beside the member list: cards, check-ins and the merchant network.

Each is keyset-paged (newest first, "Older" follows the last row, the total counted up to 10,000)
and downloads as Excel with its filters through `?format=xlsx` on the same URL: the list's own
reader walked a thousand rows at a time (`web/exports`), so the file holds exactly the filtered
list however long it is. Cards and check-ins are cut to the reader's branches like the members.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Response

from careclub.clubs import service
from careclub.clubs.service._members import CARD_STATUSES
from careclub.clubs.views_staff import _page, _plan_choices, status_label, word
from careclub.core import clock
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped
from careclub.core.paging import decode_cursor, next_after
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import PER_PAGE, as_uuid, keyset_pages, me
from careclub.web import exports
from careclub.web.dates import local_day

Filter = Annotated[str | None, QueryParameter(max_length=120)]
OpenFilter = Annotated[str | None, QueryParameter(name="open", max_length=8)]


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def offer_words(row: dict[str, Any], currency: str) -> str:
    """A merchant's offer as people read it: "20%", "20.00 CNY" off, "free"."""
    kind, value = row["offer_kind"], row["offer_value"]
    if kind == "percent":
        return f"{value}%"
    if kind == "amount":
        return f"{format_grouped(value)} {currency}"
    return "" if kind == "none" else word(kind)


def _stamp() -> str:
    return f"{clock.local(clock.now()):%Y%m%d}"


# ---- cards ----------------------------------------------------------------------------------

CARD_EXPORT = [
    exports.Column(N_("Card number"), lambda c: c["card_no"]),
    exports.Column(N_("Member"), lambda c: c["member.name"], 14),
    exports.Column(N_("Phone"), lambda c: c["member.phone"]),
    exports.Column(N_("Branch"), lambda c: c["org_unit.name"], 20),
    exports.Column(N_("Club"), lambda c: c["club.name"], 18),
    exports.Column(N_("Plan"), lambda c: c["plan.name"], 18),
    exports.Column(N_("Card status"), lambda c: status_label(c["status"])),
    exports.Column(N_("Valid from"), lambda c: c["valid_from"], 18),
    exports.Column(N_("Valid until"), lambda c: c["valid_until"], 18),
    exports.Column(N_("Vehicle"), lambda c: c["vehicle.plate"] or ""),
    exports.Column(N_("Policy number"), lambda c: c["policy_no"] or ""),
    exports.Column(N_("Created"), lambda c: c["created_at"], 18),
]


@get("/club/cards", opt={"permission": Perm.MEMBERS_READ}, include_in_schema=False)
async def card_list(request: Request[Any, Any, Any], club: Filter = None, plan: Filter = None,
                    status: Filter = None, q: Filter = None, after: Filter = None,
                    format: Filter = None) -> Response[Any]:
    """Cards newest first, by club, plan, status (as the dates make it now) or a card number."""
    principal = me(request)
    form = {"club": club or "", "plan": plan or "", "status": status if status in CARD_STATUSES else "",
            "q": (q or "").strip()[:40]}
    filters: dict[str, Any] = {"club_id": as_uuid(form["club"]), "plan_id": as_uuid(form["plan"]),
                               "status": form["status"] or None, "card_no": form["q"] or None}
    if format == "xlsx":
        async def read(after: Any, limit: int) -> list[dict[str, Any]]:
            return await service.card_list(principal, **filters, after=after, limit=limit)

        return await exports.xlsx(f"cards-{_stamp()}.xlsx", str(_("Cards")), CARD_EXPORT, exports.keyset_batches(read))
    rows, total, more = await service.card_page(principal, **filters, after=decode_cursor(after), limit=PER_PAGE + 1)
    rows, cursor = next_after(rows, PER_PAGE)
    clubs = await service.list_clubs()
    return _page(request, "clubs/cards.html", rows=rows, form=form, clubs=clubs,
                 plans=await _plan_choices(clubs, active_only=False), statuses=CARD_STATUSES,
                 **keyset_pages(form, after, cursor, total, more))


# ---- check-ins ------------------------------------------------------------------------------

CHECKIN_EXPORT = [
    exports.Column(N_("Checked in at"), lambda k: k["created_at"], 18),
    exports.Column(N_("Card number"), lambda k: k["card_no"]),
    exports.Column(N_("Member"), lambda k: k["member.name"], 14),
    exports.Column(N_("Branch"), lambda k: k["org_unit.name"], 20),
    exports.Column(N_("Plan"), lambda k: k["plan.name"], 18),
    exports.Column(N_("Merchant"), lambda k: k["merchant.name"], 20),
    exports.Column(N_("Benefit"), lambda k: k["benefit.name"] or "", 18),
    exports.Column(N_("Amount"), lambda k: exports.Money(k["amount"]) if k["amount"] is not None else None),
    exports.Column(N_("Discount"), lambda k: exports.Money(k["discount_amount"])
                   if k["discount_amount"] is not None else None),
    exports.Column(N_("Static code"), lambda k: _yes_no(k["static"]), 10),
]


@get("/club/checkins", opt={"permission": Perm.MEMBERS_READ}, include_in_schema=False)
async def checkin_list(request: Request[Any, Any, Any], club: Filter = None, plan: Filter = None,
                       merchant: Filter = None, since: Filter = None, until: Filter = None, after: Filter = None,
                       format: Filter = None) -> Response[Any]:
    """Check-ins newest first, by club, plan, merchant and a range of days in the company's zone
    (read as a range of `created_at`, so only those months' partitions are read)."""
    principal = me(request)
    form = {"club": club or "", "plan": plan or "", "merchant": merchant or "", "since": (since or "").strip(),
            "until": (until or "").strip()}
    errors: dict[str, str] = {}
    start = local_day(form["since"], principal.tenant.timezone, "since", errors)
    end = local_day(form["until"], principal.tenant.timezone, "until", errors)
    clubs = await service.list_clubs()
    merchants = [{**m, "club_name": c["name"]} for c in clubs for m in await service.list_merchants(c["id"])]
    ctx: dict[str, Any] = {"clubs": clubs, "plans": await _plan_choices(clubs, active_only=False),
                           "merchants": merchants}
    if errors:
        return _page(request, "clubs/checkins.html", status_code=422, rows=[], form=form, errors=errors, **ctx,
                     **keyset_pages(form, None, None, 0, False))
    filters: dict[str, Any] = {"club_id": as_uuid(form["club"]), "plan_id": as_uuid(form["plan"]),
                               "merchant_id": as_uuid(form["merchant"]), "since": start,
                               "until": end + timedelta(days=1) if end else None}  # the whole last day
    if format == "xlsx":
        async def read(after: Any, limit: int) -> list[dict[str, Any]]:
            return await service.checkin_list(principal, **filters, after=after, limit=limit)

        return await exports.xlsx(f"checkins-{_stamp()}.xlsx", str(_("Check-ins")), CHECKIN_EXPORT,
                                  exports.keyset_batches(read))
    rows, total, more = await service.checkin_page(principal, **filters, after=decode_cursor(after),
                                                   limit=PER_PAGE + 1)
    rows, cursor = next_after(rows, PER_PAGE)
    return _page(request, "clubs/checkins.html", rows=rows, form=form, errors={}, **ctx,
                 **keyset_pages(form, after, cursor, total, more))


# ---- merchants ------------------------------------------------------------------------------

def merchant_export(currency: str) -> list[exports.Column]:
    return [
        exports.Column(N_("Code"), lambda m: m["code"], 12),
        exports.Column(N_("Name"), lambda m: m["name"], 20),
        exports.Column(N_("Club"), lambda m: m["club.name"], 18),
        exports.Column(N_("Category"), lambda m: m["category"]),
        exports.Column(N_("Address"), lambda m: m["address"], 30),
        exports.Column(N_("Contact"), lambda m: m["contact_name"]),
        exports.Column(N_("Phone"), lambda m: m["contact_phone"]),
        exports.Column(N_("Offer"), lambda m: offer_words(m, currency)),
        exports.Column(N_("Offer text"), lambda m: m["offer_text"], 24),
        exports.Column(N_("Open for members"), lambda m: _yes_no(m["is_open"]), 10),
        exports.Column(N_("Created"), lambda m: m["created_at"], 18),
    ]


@get("/club/merchants", opt={"permission": Perm.MEMBERS_READ}, include_in_schema=False)
async def merchant_list(request: Request[Any, Any, Any], club: Filter = None, open_: OpenFilter = None,
                        q: Filter = None, after: Filter = None, format: Filter = None) -> Response[Any]:
    """The merchant network, newest first, by club, open or closed to members, or a piece of a name."""
    principal = me(request)
    form = {"club": club or "", "open": open_ if open_ in ("yes", "no") else "", "q": (q or "").strip()[:100]}
    filters: dict[str, Any] = {"club_id": as_uuid(form["club"]), "q": form["q"] or None,
                               "is_open": {"yes": True, "no": False}.get(form["open"])}
    if format == "xlsx":
        async def read(after: Any, limit: int) -> list[dict[str, Any]]:
            return await service.merchant_list(**filters, after=after, limit=limit)

        return await exports.xlsx(f"merchants-{_stamp()}.xlsx", str(_("Merchants")),
                                  merchant_export(principal.tenant.currency), exports.keyset_batches(read))
    rows, total, more = await service.merchant_page(**filters, after=decode_cursor(after), limit=PER_PAGE + 1)
    rows, cursor = next_after(rows, PER_PAGE)
    currency = principal.tenant.currency
    return _page(request, "clubs/merchants.html", rows=[{**r, "offer": offer_words(r, currency)} for r in rows],
                 form=form, clubs=await service.list_clubs(), **keyset_pages(form, after, cursor, total, more))


ROUTES = [card_list, checkin_list, merchant_list]
