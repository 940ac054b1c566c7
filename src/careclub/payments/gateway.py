"""Stripe, behind one small class: the only module that imports `stripe`.

The same calls go to Stripe itself (STRIPE_SECRET_KEY set) or to the built-in sandbox (unset): in
the serving process the sandbox is reached in-process, in a worker process over HTTP at
STRIPE_API_BASE. Members pay the company's own connected account (Connect, direct charges), so
every call about a payment names that account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import stripe

from careclub.core.errors import AppError
from careclub.settings import Settings

if TYPE_CHECKING:
    from careclub.payments.sandbox import Sandbox

log = logging.getLogger("careclub.payments")

# The one pin of the Stripe API version; the sandbox speaks the same one.
API_VERSION = "2026-10-28.endive"
SANDBOX_KEY = "sk_test_careclub_sandbox"


class ProviderUnavailable(AppError):
    status_code = 502
    code = "payment_provider_unavailable"


class BadSignature(Exception):
    """The event is not signed by Stripe with our secret, or was signed too long ago."""


@dataclass(frozen=True)
class VerifiedEvent:
    id: str
    type: str
    account: str | None
    created: int
    data: dict[str, Any]
    raw: dict[str, Any]


def sandbox_secret(settings: Settings, which: str) -> str:
    digest = hmac.new(settings.secret_key.encode(), f"stripe-sandbox-{which}".encode(), hashlib.sha256).hexdigest()
    return f"whsec_sandbox_{which}_{digest[:32]}"


class Gateway:
    def __init__(self, settings: Settings, sandbox: Sandbox | None = None) -> None:
        self.settings = settings
        self.sandbox = sandbox
        if settings.stripe_secret_key:
            key, base, http = settings.stripe_secret_key, settings.stripe_api_base or None, None
            self.platform_secret = settings.stripe_webhook_secret
            self.connect_secret = settings.stripe_connect_webhook_secret
        else:
            key = SANDBOX_KEY
            self.platform_secret = sandbox_secret(settings, "platform")
            self.connect_secret = sandbox_secret(settings, "connect")
            if sandbox is not None:
                from careclub.payments.sandbox.transport import asgi_http_client

                base, http = "http://sandbox.local", asgi_http_client(sandbox.asgi_app)
            else:
                base = settings.stripe_api_base or f"{settings.site_url}/_sandbox/stripe"
                http = None
        if http is None:
            from careclub.payments.sandbox.transport import network_http_client

            http = network_http_client()
        self.client = stripe.StripeClient(key, stripe_version=API_VERSION, http_client=http,
                                          base_addresses={"api": base} if base else None, max_network_retries=2)

    # ---- calls ---------------------------------------------------------------------------------

    async def _call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except stripe.StripeError as exc:
            log.warning("stripe %s failed: %s", what, exc)
            raise ProviderUnavailable("the payment provider refused or did not answer (%(what)s): %(why)s",
                                      params={"what": what, "why": exc.user_message or exc.__class__.__name__}) from exc

    async def create_checkout(self, account: str, *, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        session = await self._call("checkout", self.client.v1.checkout.sessions.create_async(
            params=params,  # type: ignore[arg-type]
            options={"stripe_account": account, "idempotency_key": idempotency_key}))
        return _plain(session)

    async def retrieve_session(self, account: str, session_id: str) -> dict[str, Any]:
        return _plain(await self._call("checkout lookup", self.client.v1.checkout.sessions.retrieve_async(
            session_id, options={"stripe_account": account})))

    async def expire_session(self, account: str, session_id: str) -> dict[str, Any]:
        return _plain(await self._call("checkout expiry", self.client.v1.checkout.sessions.expire_async(
            session_id, options={"stripe_account": account})))

    async def list_sessions(self, account: str, *, created_gte: int, limit: int = 100) -> list[dict[str, Any]]:
        page = await self._call("checkout list", self.client.v1.checkout.sessions.list_async(
            params={"created": {"gte": created_gte}, "limit": limit}, options={"stripe_account": account}))
        return [_plain(s) for s in page.data]

    async def retrieve_charge(self, account: str, charge_id: str) -> dict[str, Any]:
        return _plain(await self._call("charge lookup", self.client.v1.charges.retrieve_async(
            charge_id, options={"stripe_account": account})))

    async def retrieve_intent(self, account: str, intent_id: str) -> dict[str, Any]:
        return _plain(await self._call("payment lookup", self.client.v1.payment_intents.retrieve_async(
            intent_id, options={"stripe_account": account})))

    async def list_refunds(self, account: str, payment_intent: str) -> list[dict[str, Any]]:
        page = await self._call("refund list", self.client.v1.refunds.list_async(
            params={"payment_intent": payment_intent, "limit": 100}, options={"stripe_account": account}))
        return [_plain(r) for r in page.data]

    async def refund(self, account: str, *, payment_intent: str, amount: int, idempotency_key: str,
                     metadata: dict[str, str]) -> dict[str, Any]:
        return _plain(await self._call("refund", self.client.v1.refunds.create_async(
            params={"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
            options={"stripe_account": account, "idempotency_key": idempotency_key})))

    async def retrieve_subscription(self, account: str, subscription_id: str) -> dict[str, Any]:
        return _plain(await self._call("subscription lookup", self.client.v1.subscriptions.retrieve_async(
            subscription_id, options={"stripe_account": account})))

    async def cancel_at_period_end(self, account: str, subscription_id: str, *, cancel: bool) -> dict[str, Any]:
        return _plain(await self._call("subscription change", self.client.v1.subscriptions.update_async(
            subscription_id, params={"cancel_at_period_end": cancel}, options={"stripe_account": account})))

    async def retrieve_invoice(self, account: str, invoice_id: str) -> dict[str, Any]:
        return _plain(await self._call("invoice lookup", self.client.v1.invoices.retrieve_async(
            invoice_id, options={"stripe_account": account})))

    async def create_account(self, *, email: str, metadata: dict[str, str], idempotency_key: str) -> dict[str, Any]:
        return _plain(await self._call("account", self.client.v1.accounts.create_async(
            params={"type": "express", "country": self.settings.stripe_account_country, "email": email,
                    "metadata": metadata},
            options={"idempotency_key": idempotency_key})))

    async def retrieve_account(self, account: str) -> dict[str, Any]:
        return _plain(await self._call("account lookup", self.client.v1.accounts.retrieve_async(account)))

    async def onboarding_link(self, account: str, *, refresh_url: str, return_url: str) -> str:
        link = await self._call("onboarding", self.client.v1.account_links.create_async(params={
            "account": account, "refresh_url": refresh_url, "return_url": return_url, "type": "account_onboarding"}))
        return str(link.url)

    @property
    def sandboxed(self) -> bool:
        return not self.settings.stripe_secret_key

    async def sandbox_complete_onboarding(self, link: str) -> None:
        """What pressing Complete on the sandbox's onboarding page (at `link`) does: tenant files in the demo."""
        import httpx

        base = self.settings.stripe_api_base or f"{self.settings.site_url}/_sandbox/stripe"
        if self.sandbox is not None:
            transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=cast(Any, self.sandbox.asgi_app))
            base = self.sandbox.public_base
        else:
            transport = httpx.AsyncHTTPTransport()
        if not link.startswith(base):
            raise ProviderUnavailable("the onboarding link is not the sandbox's")
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.local") as http:
            r = await http.post(link[len(base):] or "/", content=b"",
                                headers={"content-type": "application/x-www-form-urlencoded"})
        if r.status_code >= 400:
            raise ProviderUnavailable("the sandbox refused to complete onboarding (%(status_code)s)",
                                      params={"status_code": r.status_code})

    # ---- webhooks ------------------------------------------------------------------------------

    def verify(self, payload: bytes, header: str | None) -> VerifiedEvent:
        """Check the signature first; only then read the body. An event of a connected account must be
        signed by the Connect endpoint's secret, a platform event by the platform endpoint's: each
        endpoint has its own secret, so a leaked one cannot forge the other's events."""
        tolerance = self.settings.webhook_tolerance_seconds
        via = None
        for name, secret in (("connect", self.connect_secret), ("platform", self.platform_secret)):
            if not secret:
                continue
            try:
                stripe.WebhookSignature.verify_header(payload.decode("utf-8", "replace"), header, secret, tolerance)
            except stripe.SignatureVerificationError:
                continue
            via = name
            break
        if via is None:
            raise BadSignature("no valid Stripe signature within the tolerance")
        try:
            raw = json.loads(payload)
            event = VerifiedEvent(id=str(raw["id"]), type=str(raw["type"]), account=raw.get("account") or None,
                                  created=int(raw.get("created") or 0), data=dict(raw["data"]), raw=raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise BadSignature(f"the signed body is not a Stripe event: {exc}") from exc
        if (event.account is None) != (via == "platform"):
            raise BadSignature(f"an event {'of' if event.account else 'without'} a connected account "
                               f"signed with the {via} endpoint's secret")
        return event


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object as plain JSON data (the library's objects are dict subclasses with extras)."""
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    return dict(obj)


_gateway: Gateway | None = None


def configure(settings: Settings, sandbox: Sandbox | None = None) -> Gateway:
    global _gateway
    _gateway = Gateway(settings, sandbox)
    return _gateway


def gateway() -> Gateway:
    if _gateway is None:
        raise RuntimeError("payments.gateway.configure() was not called at start-up")
    return _gateway
