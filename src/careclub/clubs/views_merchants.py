"""The merchant's operators on the merchant's edit page (`/club/admin/merchant/{id}`, issue #11): who
scans for the merchant, linking someone who may scan, unlinking, and inviting a new operator straight
into this merchant (an invitation granting `merchant_operator` that links the new account when it is
accepted). The edit page draws the section with `operators_section`; these handlers answer its forms
and, on a refusal, draw the same page again with the error beside the field."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Response

from careclub.clubs import service
from careclub.clubs.service._operators import OPERATOR_ROLE
from careclub.core.error_messages import error_text, form_errors
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.platform import service as platform_service
from careclub.platform.permissions import BUILTIN_ROLES, Perm
from careclub.platform.views_admin._common import Form, as_uuid, clean, me, unit_choices
from careclub.settings import Settings

NOTICES = {"linked": N_("The operator was linked: they can scan for this merchant now."),
           "unlinked": N_("The operator was unlinked from this merchant.")}
LINK_FORM = ("user",)
INVITE_FORM = ("email", "display_name", "org_unit")
# The service's field names on this page's forms.
FIELDS = {"user_id": "user"}


def _url(merchant_id: uuid.UUID) -> str:
    return f"/club/admin/merchant/{merchant_id}"


def _person_label(person: dict[str, Any], merchant_id: uuid.UUID) -> str:
    label = f"{person['display_name']} · {person['email']}"
    if person["merchant"] is not None and person["merchant"] != merchant_id:
        label += " · " + _("now scans for %(merchant)s (linking moves them here)") % {
            "merchant": person["merchant_name"]}
    return label


async def operators_section(request: Request[Any, Any, Any], merchant: dict[str, Any]) -> dict[str, Any]:
    """What the edit page shows about the merchant's operators; a handler below that draws the page
    again after a refusal leaves the form and its errors in `request.state.merchant_operators`."""
    principal = me(request)
    redrawn = getattr(request.state, "merchant_operators", None) or {}
    operators = await service.list_operators(merchant["id"])
    linked = {o["user"] for o in operators}
    choices = [(str(p["id"]), _person_label(p, merchant["id"]))
               for p in await service.operator_candidates() if p["id"] not in linked]
    units = unit_choices(await platform_service.list_units(principal, Perm.STAFF_MANAGE))
    invite_form = redrawn.get("invite_form") or {}
    if units and not invite_form.get("org_unit"):
        invite_form = {**invite_form, "org_unit": units[0][0]}
    return {
        "operators": operators, "choices": choices, "units": units,
        "invites": await service.pending_operator_invites(merchant["id"]) if units else [],
        "link_form": redrawn.get("link_form") or {}, "link_errors": redrawn.get("link_errors") or {},
        "invite_form": invite_form, "invite_errors": redrawn.get("invite_errors") or {},
        "invite_link": redrawn.get("invite_link"), "error": redrawn.get("error"),
        "notice": _(NOTICES[key]) if (key := request.query_params.get("operators")) in NOTICES else None,
        "role": _(BUILTIN_ROLES[OPERATOR_ROLE][0]),
    }


async def _redraw(request: Request[Any, Any, Any], merchant_id: uuid.UUID, status_code: int,
                  **state: Any) -> Response[Any]:
    from careclub.clubs import views_staff  # it imports this module to draw the section

    request.state.merchant_operators = state
    return await views_staff._edit_page(request, "merchant", merchant_id, status_code=status_code)


def _link_errors(exc: AppError) -> dict[str, str]:
    """The refusal beside the person's field; "holds no scanning role" names the person and the role
    in the reader's language (the role's built-in English name is translated, the person's is not)."""
    if exc.code == "operator_role_missing":
        return {"user": _(exc.template) % {**exc.params, "role": _(exc.params["role"])}}
    return form_errors(exc, LINK_FORM, rename=FIELDS)


async def _guarded(call: Any) -> tuple[Any, AppError | None]:
    from careclub.clubs.views_staff import _guarded as guarded

    return await guarded(call)


@post("/club/merchants/{merchant_id:uuid}/operators", opt={"permission": Perm.CLUBS_MANAGE},
      include_in_schema=False)
async def operator_link(request: Request[Any, Any, Any], merchant_id: FromPath[uuid.UUID],
                        data: Form) -> Response[Any]:
    await service.get_merchant(merchant_id)  # 404 before anything else for a merchant not ours
    form = clean(data, *LINK_FORM)
    user_id = as_uuid(form["user"])
    if user_id is None:
        return await _redraw(request, merchant_id, 422, link_form=form,
                             link_errors={"user": _("Choose the person to link.")})
    _done, exc = await _guarded(lambda: service.link_operator(merchant_id, user_id))
    if exc is not None:
        return await _redraw(request, merchant_id, exc.status_code, link_form=form, link_errors=_link_errors(exc))
    return Redirect(f"{_url(merchant_id)}?operators=linked#operators", status_code=303)


@post("/club/merchants/{merchant_id:uuid}/operators/{user_id:uuid}/unlink",
      opt={"permission": Perm.CLUBS_MANAGE}, include_in_schema=False)
async def operator_unlink(request: Request[Any, Any, Any], merchant_id: FromPath[uuid.UUID],
                          user_id: FromPath[uuid.UUID]) -> Response[Any]:
    await service.get_merchant(merchant_id)
    _done, exc = await _guarded(lambda: service.unlink_operator(merchant_id, user_id))
    if exc is not None:
        return await _redraw(request, merchant_id, exc.status_code, error=error_text(exc))
    return Redirect(f"{_url(merchant_id)}?operators=unlinked#operators", status_code=303)


@post("/club/merchants/{merchant_id:uuid}/operators/invite", opt={"permission": Perm.CLUBS_MANAGE},
      include_in_schema=False)
async def operator_invite(request: Request[Any, Any, Any], merchant_id: FromPath[uuid.UUID],
                          data: Form) -> Response[Any]:
    """An invitation to the role merchant_operator at the chosen unit (the inviter must manage staff
    there) that links the new account to this merchant when accepted. Answers the page with the
    one-time link, shown once."""
    settings: Settings = request.app.state.settings
    principal = me(request)
    await service.get_merchant(merchant_id)
    form = clean(data, *INVITE_FORM)

    async def invite() -> tuple[str, dict[str, Any]]:
        unit_id = as_uuid(form["org_unit"])
        if unit_id is None:
            raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
        return await platform_service.create_invite(
            principal, email=form["email"], role_code=OPERATOR_ROLE, unit_id=unit_id, hours=settings.invite_hours,
            display_name=form["display_name"], on_accept=service.invite_on_accept(merchant_id))

    created, exc = await _guarded(invite)
    if exc is not None:
        return await _redraw(request, merchant_id, exc.status_code, invite_form=form,
                             invite_errors=form_errors(exc, INVITE_FORM))
    secret, _invite = created
    base = str(request.base_url).rstrip("/")
    return await _redraw(request, merchant_id, 201, invite_link=f"{base}/invite/{principal.tenant.slug}/{secret}")


ROUTES = [operator_link, operator_unlink, operator_invite]
