"""Paying for a card: the contract's renewal endpoint and the card page's Pay button. The period to pay
is the clubs' (a membership period, the payable); collecting it is the payments domain's."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect

from careclub.clubs import payable, service
from careclub.clubs.tables import Plan
from careclub.core.errors import AppError
from careclub.core.money import to_money
from careclub.core.principal import Principal
from careclub.payments import service as payments
from careclub.payments.schemas import CheckoutStarted
from careclub.platform.api import PrincipalDep, provide_principal
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import me
from careclub.settings import Settings


async def checkout_for_card(principal: Principal, card_no: str, settings: Settings) -> dict[str, Any]:
    """The card's open period (the join period of a new card, else a renewal), and a checkout for it."""
    period = await service.open_period(principal, card_no, kind="renewal")
    return await payments.start_checkout(principal, payable.KIND, period["id"], site_url=settings.site_url,
                                         locale=principal.locale or principal.tenant.locale)


def _started(started: dict[str, Any]) -> CheckoutStarted:
    return CheckoutStarted(payment_id=started["id"], checkout_session_id=started["checkout_session_id"],
                           checkout_url=started["checkout_url"],
                           amount=to_money(started["amount"], started["currency"]))


@post("/api/v1/cards/{card_no:str}/renewals", opt={"permission": Perm.AUTHENTICATED, "statuses": (409, 502)},
      status_code=201, tags=["clubs"], dependencies={"principal": Provide(provide_principal, sync_to_thread=False)})
async def renew_card(request: Request[Any, Any, Any], card_no: FromPath[str], principal: PrincipalDep
                     ) -> CheckoutStarted:
    """A payment for the card's next period (the card's member, or staff in scope). Paying it on the checkout
    page extends the card by the plan's term when Stripe's event arrives. Asking again while the checkout is
    open answers the same one. 409 `online_payments_unavailable` when the company takes no online payments."""
    started = await checkout_for_card(principal, card_no, request.app.state.settings)
    return _started(started)


@get("/club/card/{card_no:str}/pay", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def pay_card_page(request: Request[Any, Any, Any], card_no: FromPath[str]) -> Response[Any]:
    """The card page's Pay / Renew button, and where joining a paid plan continues: straight to the checkout
    page. A link, not a form: asking twice answers the same open checkout, so nothing is paid twice."""
    try:
        started = await checkout_for_card(me(request), card_no, request.app.state.settings)
    except AppError as exc:
        return Redirect(f"/club/card?pay_error={quote(exc.code)}", status_code=303)
    return Redirect(started["checkout_url"], status_code=303)


async def auto_renewal_for_card(principal: Principal, card_no: str, settings: Settings) -> dict[str, Any]:
    """A card checkout whose first charge pays the card's next period, and then every term."""
    card = await service.get_card(principal, card_no, Perm.SELF_SERVICE)
    plan = await Plan.select(Plan.auto_renew).where(Plan.id == card["plan"]).first()
    if not plan or not plan["auto_renew"]:
        raise AppError("this plan does not renew automatically", code="auto_renewal_unavailable", status_code=409)
    period = await service.open_period(principal, card_no, kind="renewal")
    return await payments.start_auto_renewal(principal, payable.KIND, period["id"], subject_id=card["id"],
                                             term_months=card["plan.term_months"], site_url=settings.site_url,
                                             locale=principal.locale or principal.tenant.locale)


async def stop_auto_renewal(principal: Principal, card_no: str) -> None:
    card = await service.get_card(principal, card_no, Perm.SELF_SERVICE)
    await payments.cancel_auto_renewal(payable.KIND, card["id"])


@post("/api/v1/cards/{card_no:str}/auto-renewal", opt={"permission": Perm.SELF_SERVICE, "statuses": (409, 502)},
      status_code=201, tags=["clubs"], dependencies={"principal": Provide(provide_principal, sync_to_thread=False)})
async def start_auto_renewal(request: Request[Any, Any, Any], card_no: FromPath[str], principal: PrincipalDep
                             ) -> CheckoutStarted:
    """The card's member turns automatic renewal on (plans that offer it; bank cards only): paying this checkout
    pays the next period and starts a subscription that charges each term. 409 `auto_renewal_on` when it is on."""
    started = await auto_renewal_for_card(principal, card_no, request.app.state.settings)
    return _started(started)


@delete("/api/v1/cards/{card_no:str}/auto-renewal", opt={"permission": Perm.SELF_SERVICE, "statuses": (409,)},
        status_code=204, tags=["clubs"], dependencies={"principal": Provide(provide_principal, sync_to_thread=False)})
async def end_auto_renewal(card_no: FromPath[str], principal: PrincipalDep) -> None:
    """Turn automatic renewal off: the card runs to the end of what is paid and is not charged again."""
    await stop_auto_renewal(principal, card_no)


@get("/club/card/{card_no:str}/auto-renew", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def auto_renew_page(request: Request[Any, Any, Any], card_no: FromPath[str]) -> Response[Any]:
    try:
        started = await auto_renewal_for_card(me(request), card_no, request.app.state.settings)
    except AppError as exc:
        return Redirect(f"/club/card?pay_error={quote(exc.code)}", status_code=303)
    return Redirect(started["checkout_url"], status_code=303)


@post("/club/card/{card_no:str}/auto-renew/cancel", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def auto_renew_cancel(request: Request[Any, Any, Any], card_no: FromPath[str]) -> Response[Any]:
    try:
        await stop_auto_renewal(me(request), card_no)
    except AppError as exc:
        return Redirect(f"/club/card?pay_error={quote(exc.code)}", status_code=303)
    return Redirect("/club/card?auto_renew=off", status_code=303)


ROUTES = [renew_card, start_auto_renewal, end_auto_renewal, pay_card_page, auto_renew_page, auto_renew_cancel]
