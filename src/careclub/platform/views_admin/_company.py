"""The company's own settings: its name, time zone, language and currency, as the tenant file sets them, with the
same checks (`service.update_company`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from careclub.core.db import current_tenant_id
from careclub.core.errors import AppError
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.platform import rules, service
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, form_errors, page

FIELDS = ("name", "timezone", "locale", "currency")
# Shown first: where the companies this product serves keep their days
NEAR_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore", "Asia/Kuala_Lumpur",
              "Asia/Tokyo", "Asia/Seoul", "UTC")
CURRENCIES = {"CNY": N_("Chinese yuan (CNY)"), "HKD": N_("Hong Kong dollar (HKD)"), "MOP": N_("Macau pataca (MOP)"),
              "TWD": N_("New Taiwan dollar (TWD)"), "SGD": N_("Singapore dollar (SGD)"), "USD": N_("US dollar (USD)"),
              "EUR": N_("Euro (EUR)")}
LANGUAGES = (("zh_CN", "中文"), ("en", "English"))  # each in its own language, as a language menu shows them


def _zones() -> list[tuple[str, str]]:
    near = [z for z in NEAR_ZONES if z in rules.time_zones()]
    return [(z, z) for z in near] + [(z, z) for z in sorted(rules.time_zones() - set(near))]


async def _company_page(request: Request[Any, Any, Any], *, form: dict[str, Any] | None = None,
                        errors: dict[str, str] | None = None, status_code: int = 200,
                        notice: str | None = None) -> Template:
    company = await service.get_tenant(current_tenant_id())
    assert company is not None
    current = {"name": company.name, "timezone": company.timezone, "locale": company.locale,
               "currency": company.currency}
    currencies = [(code, _(label)) for code, label in CURRENCIES.items()]
    shown = (form or current)["currency"]
    if shown not in CURRENCIES:  # a currency set by the tenant file stays choosable
        currencies.append((shown, shown))
    return page(request, "platform/company.html", status_code=status_code, form=form or current,
                errors=errors or {}, notice=notice, zones=_zones(), languages=LANGUAGES, currencies=currencies,
                currency_fixed=await service.money_recorded(), slug=company.slug)


@get("/settings/company", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def company_settings(request: Request[Any, Any, Any], saved: FromQuery[str | None] = None) -> Template:
    notices = {"1": _("Saved."), "zone": _("Saved. The monthly figures are being counted again in the new time zone; "
                                           "for a large company this takes a few minutes.")}
    return await _company_page(request, notice=notices.get(saved or ""))


@post("/settings/company", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def company_save(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form = {k: str(data.get(k) or "").strip() for k in FIELDS}
    try:
        _info, changed = await service.update_company(name=form["name"], timezone=form["timezone"],
                                                      locale=form["locale"], currency=form["currency"])
    except AppError as exc:
        return await _company_page(request, form=form, errors=form_errors(exc, FIELDS),
                                   status_code=exc.status_code)
    return Redirect(f"/settings/company?saved={'zone' if 'timezone' in changed else '1'}", status_code=303)
