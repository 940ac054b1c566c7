"""A local Stripe look-alike for machines without internet. The app's payment code (the official `stripe`
library, API version SANDBOX_API_VERSION) runs against it unchanged, with its base address pointed at it:

    sandbox = Sandbox(platform_secret=..., connect_secret=..., public_base="http://127.0.0.1:8000/_sandbox/stripe")
    client = stripe.StripeClient("sk_test_…", stripe_version=SANDBOX_API_VERSION,
                                 base_addresses={"api": "http://sandbox.local"},
                                 http_client=transport.asgi_http_client(sandbox.asgi_app))

Objects live in one process's memory (and `state_file`); events wait in `outbox()` until `deliver()` or the
`start_delivery()` loop posts them, signed as Stripe signs them.
"""

from careclub.payments.sandbox._common import SANDBOX_API_VERSION
from careclub.payments.sandbox._delivery import sign
from careclub.payments.sandbox._sandbox import Sandbox
from careclub.payments.sandbox._store import SandboxEvent

__all__ = ["SANDBOX_API_VERSION", "Sandbox", "SandboxEvent", "sign"]
