"""The `[payments]` section of tenant files.

    [payments]
    stripe = "link"                  # link the company's own Stripe account (Connect). Live: the account is
                                     # created and the admin finishes Stripe's onboarding from the settings
                                     # page. Sandbox (no Stripe key): onboarding is completed at once (demo).
    methods = ["card", "wechat_pay"] # one-off online methods; automatic renewals are charged to cards only
    renewal_reminder_days = 7        # inbox and mail reminder before each automatic renewal charge
    application_fee_percent = "1.50" # the platform's share of each online payment (two places at most)
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from careclub.core.errors import ValidationFailed
from careclub.core.money import parse_amount
from careclub.payments import rules, service
from careclub.payments.gateway import gateway
from careclub.platform.tenant_file import ApplyContext, register_section


class PaymentsSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    stripe: Literal["link", "none"] = "none"
    methods: Annotated[list[Literal["card", "wechat_pay", "alipay"]], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["card"])
    renewal_reminder_days: Annotated[int, msgspec.Meta(ge=0, le=60)] = 7
    application_fee_percent: str = "0"


async def apply(section: PaymentsSection, ctx: ApplyContext) -> None:
    try:
        fee_bps = parse_amount(section.application_fee_percent, field="payments.application_fee_percent")
    except ValidationFailed:
        raise ValidationFailed("payments.application_fee_percent must be a percent with at most two places, "
                               "like \"1.50\"", field="payments.application_fee_percent",
                               code="tenant_file_invalid") from None
    current = await service.current_settings()
    wanted_methods = ",".join(m for m in rules.ONLINE_METHODS if m in section.methods)
    if (current["methods"], current["renewal_reminder_days"], current["application_fee_bps"]) != (
            wanted_methods, section.renewal_reminder_days, fee_bps):
        await service.update_settings(methods=list(section.methods),
                                      renewal_reminder_days=section.renewal_reminder_days, application_fee_bps=fee_bps)
        ctx.changed("payment settings")
    if section.stripe != "link" or current["charges_enabled"]:
        return
    gw = gateway()
    link = await service.start_onboarding(email=f"finance@{ctx.tenant.slug}.example", site_url=gw.settings.site_url)
    if not current["stripe_account_id"]:
        ctx.changed("Stripe account created")
    if gw.sandboxed:
        await gw.sandbox_complete_onboarding(link)
        if (await service.refresh_account())["charges_enabled"]:
            ctx.changed("Stripe account ready (sandbox)")


register_section("payments", PaymentsSection, apply, order=50)
