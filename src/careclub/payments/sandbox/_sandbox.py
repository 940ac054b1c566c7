"""The Sandbox: one Stripe look-alike (API, hosted pages, webhooks) the app reaches through the official
library with its base address pointed here."""

from __future__ import annotations

import pathlib
from typing import Any, cast

from litestar.types import ASGIApp

from careclub.payments.sandbox import _billing as billing
from careclub.payments.sandbox import _pages as pages
from careclub.payments.sandbox import _routes as routes
from careclub.payments.sandbox._api import unknown_url
from careclub.payments.sandbox._asgi import Request, Response, Router
from careclub.payments.sandbox._common import ApiError
from careclub.payments.sandbox._delivery import Delivery, Post, sign
from careclub.payments.sandbox._store import SandboxEvent, Store


class Sandbox:
    """`asgi_app` serves `/v1/…` (the API), `/checkout/{id}` and `/connect/onboard/{account}` (pages for
    people, reached at `public_base`) and `/_sandbox/subscriptions/{id}/renew` (a demo trigger)."""

    sign = staticmethod(sign)

    def __init__(self, *, platform_secret: str, connect_secret: str, public_base: str,
                 webhook_url: str | None = None, state_file: pathlib.Path | None = None) -> None:
        self.public_base = public_base.rstrip("/")
        self.webhook_url = webhook_url
        self._store = Store(state_file)
        self._delivery = Delivery(self._store, platform_secret=platform_secret, connect_secret=connect_secret,
                                  webhook_url=webhook_url)
        router = Router(self._not_found)
        routes.register(router, self._store, self.public_base)
        pages.register(router, self._store)
        self.asgi_app: ASGIApp = cast("ASGIApp", router)

    def outbox(self) -> list[SandboxEvent]:
        """Every event made so far and not yet delivered, in creation order."""
        return self._store.outbox()

    async def deliver(self, event: SandboxEvent, post: Post, *, timestamp: int | None = None,
                      corrupt_signature: bool = False) -> int:
        """Signs the event for its endpoint (the Connect secret when it comes from a connected account) and
        posts it; a 2xx answer marks it delivered. Answers the status `post` returned."""
        return await self._delivery.deliver(event, post, timestamp=timestamp, corrupt_signature=corrupt_signature)

    def start_delivery(self) -> None:
        """With a webhook_url: posts every new event there in the background, retrying failures."""
        self._delivery.start()

    async def stop(self) -> None:
        await self._delivery.stop()

    async def renew_subscription(self, subscription_id: str, *, outcome: str = "paid") -> dict[str, Any]:
        """The subscription reaches its period end (or, when past due, its next retry) and is charged
        with `outcome` ("paid" or "failed"). Answers the subscription. Raises LookupError for an unknown
        subscription, ValueError for a bad outcome or one that has ended."""
        try:
            return billing.renew(self._store, subscription_id, outcome)
        except ApiError as error:
            raise (LookupError if error.status == 404 else ValueError)(error.message) from None
        finally:
            self._store.flush()

    @staticmethod
    async def _not_found(request: Request) -> Response:
        if request.path.startswith("/v1/") or request.path == "/v1":
            return await unknown_url(request)
        return Response(404, b"Not found", "text/plain; charset=utf-8")
