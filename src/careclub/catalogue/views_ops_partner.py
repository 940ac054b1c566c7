"""A subcontractor's own people (§4.2.5–4.2.6). Those who keep the company's register (`catalogue.manage` at the
company) make a staff sign-in one of a subcontractor's people, by e-mail, and take it back
(`/catalogue/subcontractors/{id}/people`). Such a person sees and works only what is handed to his company:
`/partner/orders` lists those orders (the service filters them), each opening its ticket, where he works it;
anyone who is not a subcontractor's person gets a 404 there."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.catalogue import rules, service
from careclub.catalogue.api import company_manager
from careclub.catalogue.views_ops_common import (
    Filter,
    field_errors,
    money_text,
    ops_page,
    order_status_label,
    refused_status,
    stamp,
)
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.platform.permissions import Perm
from careclub.platform.tables import User
from careclub.platform.views_admin._common import PER_PAGE, Form, clean, me
from careclub.tickets import service as tickets
from careclub.tickets.api import stage_name
from careclub.web import exports

PEOPLE_FIELDS = ("email",)
DONE = {"linked": N_("The person now sees and works the orders handed to this subcontractor, and nothing else."),
        "removed": N_("The person is no longer one of this subcontractor's people.")}
done_text = labeller(DONE)


# ---- a subcontractor's people ------------------------------------------------------------------

PEOPLE_COLUMNS = [exports.Column(N_("Name"), lambda r: r["display_name"], 20),
                  exports.Column(N_("Email"), lambda r: r["email"], 30)]


async def _people_page(request: Request[Any, Any, Any], sub_id: uuid.UUID, *, status_code: int = 200,
                       form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                       notice: str | None = None) -> Template:
    sub = await service.get_subcontractor(sub_id)
    return ops_page(request, "catalogue/ops_sub_people.html", status_code=status_code, sub=sub,
                    rows=await service.users_of(sub_id), form=form or {}, errors=errors or {}, notice=notice,
                    export="?format=xlsx")


@get("/catalogue/subcontractors/{sub_id:uuid}/people", opt={"permission": Perm.CATALOGUE_MANAGE},
     include_in_schema=False)
async def people(request: Request[Any, Any, Any], sub_id: FromPath[uuid.UUID], done: Filter = None,
                 format: Filter = None) -> Response[Any]:
    """The subcontractor's people; `?format=xlsx` downloads them."""
    company_manager(me(request))
    if format == "xlsx":
        sub = await service.get_subcontractor(sub_id)
        return await exports.xlsx(f"subcontractor-{sub['code']}-people-{stamp()}.xlsx", str(_("People")),
                                  PEOPLE_COLUMNS, exports.all_rows(await service.users_of(sub_id)))
    return await _people_page(request, sub_id, notice=done_text(done) if done in DONE else None)


@post("/catalogue/subcontractors/{sub_id:uuid}/people", opt={"permission": Perm.CATALOGUE_MANAGE},
      include_in_schema=False)
async def people_add(request: Request[Any, Any, Any], sub_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Link a staff sign-in, found by its e-mail, to the subcontractor."""
    company_manager(me(request))
    form = clean(data, *PEOPLE_FIELDS)
    email = form["email"].lower()
    if not email:
        return await _people_page(request, sub_id, status_code=422, form=form, errors={"email": _("Fill this in.")})
    user = await User.select(User.id).where(User.email == email, User.kind == "staff").first()
    if user is None:
        return await _people_page(request, sub_id, status_code=422, form=form, errors={
            "email": _("No staff member signs in with this e-mail. Invite the person as staff first.")})
    try:
        await service.link_user(sub_id, user["id"])
    except AppError as exc:
        errors = field_errors(exc, PEOPLE_FIELDS, rename={"user": "email"})
        return await _people_page(request, sub_id, status_code=refused_status(exc), form=form, errors=errors)
    return Redirect(f"/catalogue/subcontractors/{sub_id}/people?done=linked", status_code=303)


@post("/catalogue/subcontractors/{sub_id:uuid}/people/{user_id:uuid}/remove",
      opt={"permission": Perm.CATALOGUE_MANAGE}, include_in_schema=False)
async def people_remove(request: Request[Any, Any, Any], sub_id: FromPath[uuid.UUID],
                        user_id: FromPath[uuid.UUID]) -> Response[Any]:
    company_manager(me(request))
    await service.get_subcontractor(sub_id)
    await service.unlink_user(sub_id, user_id)
    return Redirect(f"/catalogue/subcontractors/{sub_id}/people?done=removed", status_code=303)


# ---- the orders handed to a subcontractor ------------------------------------------------------

def _cursor(text: str | None) -> tuple[datetime, uuid.UUID] | None:
    """`after` is "created_at|id" of the last row of the page before; anything else starts from the newest."""
    at, _sep, row_id = (text or "").partition("|")
    try:
        moment = datetime.fromisoformat(at)
        return (moment, uuid.UUID(row_id)) if moment.tzinfo is not None else None
    except ValueError:
        return None


def _order_words(row: dict[str, Any], order_type: dict[str, Any] | None) -> dict[str, Any]:
    unit = f"{row['building_code']}-{row['unit_code']}" if row.get("unit_code") else ""
    return {**row, "unit_label": unit,
            "ticket_status_name": stage_name(order_type, row["ticket_status"]) if order_type else row["ticket_status"]}


ORDER_COLUMNS = [
    exports.Column(N_("Number"), lambda r: r["number"], 16),
    exports.Column(N_("Service"), lambda r: r["name"], 22),
    exports.Column(N_("Property unit"), lambda r: r["unit_label"], 10),
    exports.Column(N_("Contact name"), lambda r: r["contact_name"] or "", 14),
    exports.Column(N_("Preferred time"), lambda r: r["preferred_at"], 18),
    exports.Column(N_("Work"), lambda r: r["ticket_status_name"], 14),
    exports.Column(N_("Order"), lambda r: order_status_label(r["status"]), 14),
    exports.Column(N_("Booked"), lambda r: r["created_at"], 18),
]


@get("/partner/orders", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def partner_orders(request: Request[Any, Any, Any], status: Filter = None, after: Filter = None,
                         format: Filter = None) -> Response[Any]:
    """The orders handed to the signed-in person's subcontractor, newest first; `?format=xlsx` downloads them."""
    principal = me(request)
    sub = await service.subcontractor_of(principal.user_id) if principal.kind == "staff" else None
    if sub is None:
        raise NotFound("nothing here: no such page or record", code="not_found")
    form = {"status": status if status in rules.ORDER_STATUSES else ""}
    try:
        order_type: dict[str, Any] | None = await tickets.type_by_code("service_order")
    except AppError:
        order_type = None
    if format == "xlsx":
        async def batches() -> Any:
            async for rows in exports.keyset_batches(
                    lambda last, size: service.list_orders(principal, status=form["status"] or None, after=last,
                                                           limit=size), size=200):
                yield [_order_words(r, order_type) for r in rows]

        return await exports.xlsx(f"orders-{sub['code']}-{stamp()}.xlsx", str(_("Orders handed to us")),
                                  ORDER_COLUMNS, batches())
    start = _cursor(after)
    rows = await service.list_orders(principal, status=form["status"] or None, after=start, limit=PER_PAGE + 1)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    query = {k: v for k, v in form.items() if v}
    older = "?" + urlencode({**query, "after": f"{rows[-1]['created_at'].isoformat()}|{rows[-1]['id']}"}) \
        if more and rows else None
    currency = principal.tenant.currency
    return ops_page(request, "catalogue/ops_partner_orders.html", sub=sub,
                    rows=[{**_order_words(r, order_type), "price_text": money_text(r["price"], currency)
                           if r["price"] is not None else "—"} for r in rows],
                    form=form, statuses=[(s, order_status_label(s)) for s in rules.ORDER_STATUSES],
                    newest="?" + urlencode(query) if start else None, older=older,
                    export="?" + urlencode({**query, "format": "xlsx"}))


ROUTES: list[Any] = [people, people_add, people_remove, partner_orders]
