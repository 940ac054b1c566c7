"""A company's own Stripe account (Connect): linking it, and the settings members' payments follow."""

from __future__ import annotations

from typing import Any

from careclub.core import clock
from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import ValidationFailed
from careclub.payments import rules
from careclub.payments.gateway import gateway
from careclub.payments.service._payments import current_settings, settings_for_update
from careclub.payments.tables import PaymentSettings
from careclub.platform import audit


async def start_onboarding(*, email: str, site_url: str) -> str:
    """The Stripe page where the company's admin opens (or finishes) its account; answers its URL.
    The account is created once and kept: a second click continues the same onboarding."""
    row = await settings_for_update()
    gw = gateway()
    account = row.stripe_account_id
    if not account:
        tenant_id = current_tenant_id()
        made = await gw.create_account(email=email, metadata={"tenant_id": str(tenant_id)},
                                       idempotency_key=f"account-{tenant_id}")
        account = made["id"]
        await PaymentSettings.update({PaymentSettings.stripe_account_id: account}).where(PaymentSettings.id == row.id)
        # The registry row is the company's own (its policy lets the company in context change it).
        await fetch("UPDATE tenant SET stripe_account_id = $1 WHERE id = app_current_tenant()", account)
        await audit.record("payment_settings.account_created", "payment_settings", row.id, after={"account": account})
    return await gw.onboarding_link(account, refresh_url=f"{site_url}/settings/payments?onboarding=again",
                                    return_url=f"{site_url}/settings/payments?onboarding=done")


async def refresh_account() -> dict[str, Any]:
    """Ask Stripe how the account stands now (the return from onboarding does not wait for the event)."""
    row = await settings_for_update()
    if row.stripe_account_id:
        account = await gateway().retrieve_account(row.stripe_account_id)
        await PaymentSettings.update({
            PaymentSettings.charges_enabled: bool(account.get("charges_enabled")),
            PaymentSettings.payouts_enabled: bool(account.get("payouts_enabled")),
            PaymentSettings.details_submitted: bool(account.get("details_submitted")),
            PaymentSettings.account_checked_at: clock.now()}).where(PaymentSettings.id == row.id)
    return await current_settings()


async def update_settings(*, methods: list[str] | None = None, renewal_reminder_days: int | None = None,
                          application_fee_bps: int | None = None) -> dict[str, Any]:
    row = await settings_for_update()
    changes: dict[Any, Any] = {}
    if methods is not None:
        unknown = [m for m in methods if m not in rules.ONLINE_METHODS]
        if unknown or not methods:
            raise ValidationFailed("methods must be some of %(choices)s", field="methods",
                                   params={"choices": ', '.join(rules.ONLINE_METHODS)})
        changes[PaymentSettings.methods] = ",".join(m for m in rules.ONLINE_METHODS if m in methods)
    if renewal_reminder_days is not None:
        if not 0 <= renewal_reminder_days <= 60:
            raise ValidationFailed("renewal_reminder_days must be between 0 and 60", field="renewal_reminder_days")
        changes[PaymentSettings.renewal_reminder_days] = renewal_reminder_days
    if application_fee_bps is not None:
        if not 0 <= application_fee_bps <= 3000:
            raise ValidationFailed("application_fee_bps must be between 0 and 3000", field="application_fee_bps")
        changes[PaymentSettings.application_fee_bps] = application_fee_bps
    if changes:
        before = {c._meta.name: getattr(row, c._meta.name) for c in changes}
        await PaymentSettings.update(changes).where(PaymentSettings.id == row.id)
        await audit.record("payment_settings.update", "payment_settings", row.id, before=before,
                           after={c._meta.name: v for c, v in changes.items()})
    return await current_settings()
