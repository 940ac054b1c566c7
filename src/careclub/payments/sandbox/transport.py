"""The HTTP client the official library uses here: over the network (Stripe itself, or the sandbox of
another process), or to an ASGI app in process (tests, and the app reaching the sandbox mounted in
itself without a network round trip)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import httpx
import stripe
from litestar.types import ASGIApp


class _HTTPXClient(stripe.HTTPXClient):
    name = "httpx"

    def __init__(self, asgi_app: ASGIApp | None = None) -> None:
        if asgi_app is None:
            super().__init__(allow_sync_methods=False)
            return
        # verify_ssl_certs=False only spares building an SSL context for the default client replaced below.
        super().__init__(verify_ssl_certs=False)
        self._client_async = httpx.AsyncClient(transport=httpx.ASGITransport(app=cast(Any, asgi_app)))

    def _get_request_args_kwargs(self, method: str, url: str, headers: Mapping[str, str], post_data: Any) -> Any:
        # The library hands its already-encoded form body to httpx as `data=`, which httpx 0.28 deprecates
        # with a warning (an error under the test suite's warning filter); `content=` is the same bytes.
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return [args, kwargs]


def asgi_http_client(asgi_app: ASGIApp) -> stripe.HTTPClient:
    """A `stripe.HTTPXClient` whose async requests go to `asgi_app`; use the library's `…_async` methods."""
    return _HTTPXClient(asgi_app)


def network_http_client() -> stripe.HTTPClient:
    """The same over the network (async methods only)."""
    return _HTTPXClient()
