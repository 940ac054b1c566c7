"""The `/v1` endpoints the sandbox answers, each a thin function over the domain modules."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Any

from stripe.params import (
    ChargeListParams,
    CustomerListParams,
    EventListParams,
    InvoiceListParams,
    PaymentIntentListParams,
    PriceListParams,
    ProductListParams,
    RefundListParams,
    SubscriptionListParams,
)
from stripe.params.checkout import SessionListParams

from careclub.payments.sandbox import _billing as billing
from careclub.payments.sandbox import _catalog as catalog
from careclub.payments.sandbox import _checkout as checkout
from careclub.payments.sandbox import _connect as connect
from careclub.payments.sandbox import _payments as payments
from careclub.payments.sandbox._api import Call, Endpoint, endpoint, page
from careclub.payments.sandbox._asgi import Router
from careclub.payments.sandbox._common import ApiError, check_known, strings, text
from careclub.payments.sandbox._params import allowed
from careclub.payments.sandbox._store import Store


def _retrieve(kind: str) -> Endpoint:
    def handle(call: Call) -> dict[str, Any]:
        check_known(call.params, ())
        return call.store.get(call.ids["id"], call.account, kind).object
    return handle


_PAGING = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})


def _check_list(params: dict[str, Any], params_type: Any, supported: Iterable[str]) -> None:
    """A filter Stripe has but the sandbox would ignore is refused: ignoring it would answer too much."""
    known = allowed(params_type)
    check_known(params, known, refused=known - _PAGING - set(supported))


def _listing(kind: str, url: str, params_type: Any,
             filters: dict[str, Callable[[dict[str, Any]], Any]] | None = None) -> Endpoint:
    def handle(call: Call) -> dict[str, Any]:
        _check_list(call.params, params_type, filters or {})
        return page((record.object for record in call.store.scan(kind, call.account)), call.params, url, filters)
    return handle


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda obj: obj.get(name)


def _session(call: Call) -> dict[str, Any]:
    check_known(call.params, ())
    record = call.store.get(call.ids["id"], call.account, "checkout.session")
    checkout.expire_if_due(call.store, record)
    return record.object


def _sessions(call: Call) -> dict[str, Any]:
    filters = {name: _field(name) for name in ("customer", "payment_intent", "subscription", "status")}
    _check_list(call.params, SessionListParams, filters)
    records = list(call.store.scan("checkout.session", call.account))
    for record in records:
        checkout.expire_if_due(call.store, record)
    return page((record.object for record in records), call.params, "/v1/checkout/sessions", filters)


def _session_expire(call: Call) -> dict[str, Any]:
    check_known(call.params, ())
    record = call.store.get(call.ids["id"], call.account, "checkout.session")
    checkout.expire_if_due(call.store, record)
    return checkout.expire(call.store, record)


def _session_line_items(call: Call) -> dict[str, Any]:
    check_known(call.params, ("ending_before", "limit", "starting_after"))
    record = call.store.get(call.ids["id"], call.account, "checkout.session")
    return page(record.extra["line_items"], call.params, f"/v1/checkout/sessions/{call.ids['id']}/line_items")


def _subscriptions(call: Call) -> dict[str, Any]:
    _check_list(call.params, SubscriptionListParams, ("status", "price", "customer"))
    status = text(call.params, "status")
    price = text(call.params, "price")
    params = {key: value for key, value in call.params.items() if key not in ("status", "price")}
    subs = [record.object for record in call.store.scan("subscription", call.account)]
    # Like Stripe, the list leaves canceled subscriptions out unless asked for them.
    if status is None:
        subs = [sub for sub in subs if sub["status"] != "canceled"]
    elif status != "all":
        subs = [sub for sub in subs if sub["status"] == status]
    if price is not None:
        subs = [sub for sub in subs if any(item["price"]["id"] == price for item in sub["items"]["data"])]
    return page(subs, params, "/v1/subscriptions", {"customer": _field("customer")})


def _invoice_subscription(invoice: dict[str, Any]) -> Any:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def _events(call: Call) -> dict[str, Any]:
    _check_list(call.params, EventListParams, ("type", "types"))
    wanted = [text(call.params, "type")] if text(call.params, "type") else strings(call.params, "types")
    params = {key: value for key, value in call.params.items() if key not in ("type", "types")}
    events = [event for event in call.store.scan_events(call.account)
              if not wanted or any(fnmatch.fnmatchcase(event["type"], pattern or "") for pattern in wanted)]
    return page(events, params, "/v1/events")


def _event(call: Call) -> dict[str, Any]:
    check_known(call.params, ())
    return call.store.event(call.ids["id"], call.account)


def _account_self(call: Call) -> dict[str, Any]:
    if call.account is None:
        raise ApiError(400, "The Stripe sandbox answers GET /v1/account only for a connected account (send the "
                            "Stripe-Account header).")
    return connect.get_account(call.store, call.account, call.account).object


def _account(call: Call) -> dict[str, Any]:
    check_known(call.params, ())
    return connect.get_account(call.store, call.account, call.ids["id"]).object


def register(router: Router, store: Store, public_base: str) -> None:
    table: list[tuple[str, str, Endpoint]] = [
        ("POST", "/v1/customers", lambda c: catalog.create_customer(c.store, c.account, c.params)),
        ("GET", "/v1/customers", _listing("customer", "/v1/customers", CustomerListParams, {"email": _field("email")})),
        ("GET", "/v1/customers/{id}", _retrieve("customer")),
        ("POST", "/v1/customers/{id}", lambda c: catalog.update_customer(c.store, c.account, c.ids["id"], c.params)),
        ("POST", "/v1/products", lambda c: catalog.create_product(c.store, c.account, c.params)),
        ("GET", "/v1/products", _listing("product", "/v1/products", ProductListParams)),
        ("GET", "/v1/products/{id}", _retrieve("product")),
        ("POST", "/v1/prices", lambda c: catalog.create_price(c.store, c.account, c.params)),
        ("GET", "/v1/prices", _listing("price", "/v1/prices", PriceListParams,
                                       {"product": _field("product"), "type": _field("type")})),
        ("GET", "/v1/prices/{id}", _retrieve("price")),
        ("POST", "/v1/checkout/sessions",
         lambda c: checkout.create_session(c.store, c.account, c.params, c.public_base)),
        ("GET", "/v1/checkout/sessions", _sessions),
        ("GET", "/v1/checkout/sessions/{id}", _session),
        ("POST", "/v1/checkout/sessions/{id}/expire", _session_expire),
        ("GET", "/v1/checkout/sessions/{id}/line_items", _session_line_items),
        ("GET", "/v1/payment_intents", _listing("payment_intent", "/v1/payment_intents", PaymentIntentListParams,
                                                {"customer": _field("customer")})),
        ("GET", "/v1/payment_intents/{id}", _retrieve("payment_intent")),
        ("GET", "/v1/charges", _listing("charge", "/v1/charges", ChargeListParams,
                                        {"payment_intent": _field("payment_intent"), "customer": _field("customer")})),
        ("GET", "/v1/charges/{id}", _retrieve("charge")),
        ("POST", "/v1/refunds", lambda c: payments.create_refund(c.store, c.account, c.params)),
        ("GET", "/v1/refunds", _listing("refund", "/v1/refunds", RefundListParams,
                                        {"charge": _field("charge"), "payment_intent": _field("payment_intent")})),
        ("GET", "/v1/refunds/{id}", _retrieve("refund")),
        ("GET", "/v1/subscriptions", _subscriptions),
        ("GET", "/v1/subscriptions/{id}", _retrieve("subscription")),
        ("POST", "/v1/subscriptions/{id}",
         lambda c: billing.update_subscription(c.store, c.account, c.ids["id"], c.params)),
        ("DELETE", "/v1/subscriptions/{id}",
         lambda c: billing.cancel_subscription(c.store, c.account, c.ids["id"], c.params)),
        ("GET", "/v1/invoices", _listing("invoice", "/v1/invoices", InvoiceListParams, {
            "customer": _field("customer"), "status": _field("status"), "subscription": _invoice_subscription})),
        ("GET", "/v1/invoices/{id}", _retrieve("invoice")),
        ("POST", "/v1/accounts", lambda c: connect.create_account(c.store, c.account, c.params)),
        ("GET", "/v1/account", _account_self),
        ("GET", "/v1/accounts/{id}", _account),
        ("POST", "/v1/accounts/{id}", lambda c: connect.update_account(c.store, c.account, c.ids["id"], c.params)),
        ("POST", "/v1/account_links", lambda c: connect.create_link(c.store, c.account, c.params, c.public_base)),
        ("GET", "/v1/events", _events),
        ("GET", "/v1/events/{id}", _event),
    ]
    for method, template, fn in table:
        router.add(method, template, endpoint(store, public_base, fn))
