"""Checkout Sessions: creation with Stripe's validation, expiry, and what the hosted page's outcomes do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stripe.params.checkout import SessionCreateParams

from careclub.payments.sandbox import _billing as billing
from careclub.payments.sandbox import _payments as payments
from careclub.payments.sandbox import _shapes as shapes
from careclub.payments.sandbox._catalog import resolve_line_item
from careclub.payments.sandbox._common import (
    ApiError,
    check_known,
    choice,
    integer,
    mapping,
    merged_metadata,
    new_id,
    now,
    strings,
    text,
)
from careclub.payments.sandbox._params import allowed
from careclub.payments.sandbox._store import Record, Store

METHODS = ("card", "wechat_pay", "alipay")
DELAYED = ("wechat_pay", "alipay")
OUTCOMES = ("paid", "declined", "async_paid", "async_failed")
_REFUSED = ("discounts", "optional_items", "setup_intent_data", "shipping_options", "invoice_creation",
            "adaptive_pricing")


class SessionClosed(Exception):
    """The hosted page was posted for a session that is no longer open."""


def create_session(store: Store, account: str | None, params: Mapping[str, Any], public_base: str) -> dict[str, Any]:
    if "payment_method_types" in params:
        raise ApiError(400, "Received unknown parameter: payment_method_types. In API version 2026-10-28.endive "
                            "a Checkout Session takes allowed_payment_method_types instead.",
                       param="payment_method_types")
    check_known(params, allowed(SessionCreateParams), refused=_REFUSED)
    mode = choice(params, "mode", ("payment", "subscription", "setup"), required=True) or ""
    if mode == "setup":
        raise ApiError(400, "The Stripe sandbox implements Checkout in payment and subscription mode only.",
                       param="mode")
    if choice(params, "ui_mode", ("hosted_page", "embedded_page", "elements", "form"),
              default="hosted_page") != "hosted_page":
        raise ApiError(400, "The Stripe sandbox implements the hosted page (ui_mode=hosted_page) only.",
                       param="ui_mode")
    raw_items = params.get("line_items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ApiError(400, "Missing required param: line_items.", param="line_items")
    items = [resolve_line_item(store, account, raw, index) for index, raw in enumerate(raw_items)]
    currency = items[0]["price"]["currency"]
    for index, item in enumerate(items):
        if item["price"]["currency"] != currency:
            raise ApiError(400, "All line items must use the same currency.", param=f"line_items[{index}]")
    recurring = [item for item in items if item["price"]["recurring"] is not None]
    if mode == "payment" and recurring:
        raise ApiError(400, "You specified `payment` mode but passed a recurring price. Either switch to "
                            "`subscription` mode or use only one-time prices.", param="line_items")
    if mode == "subscription":
        if not recurring:
            raise ApiError(400, "You must provide at least one recurring price in `subscription` mode when using "
                                "prices.", param="line_items")
        if len(recurring) != len(items):
            raise ApiError(400, "The Stripe sandbox does not implement one-time prices in subscription mode.",
                           param="line_items")
        periods = {(item["price"]["recurring"]["interval"], item["price"]["recurring"]["interval_count"])
                   for item in items}
        if len(periods) > 1:
            raise ApiError(400, "Checkout does not support multiple prices with different billing intervals.",
                           param="line_items")
    total = sum(item["amount_total"] for item in items)
    if mode == "payment" and total <= 0:
        raise ApiError(400, "The Checkout Session's total amount due must add up to at least 1.",
                       param="line_items")
    method_types = _method_types(params, mode)
    customer_id = text(params, "customer")
    customer_email = text(params, "customer_email")
    if customer_id is not None and customer_email is not None:
        raise ApiError(400, "You may only specify one of these parameters: customer, customer_email.",
                       param="customer_email")
    if customer_id is not None:
        store.get(customer_id, account, "customer", param="customer")
    intent_data = mapping(params, "payment_intent_data")
    subscription_data = mapping(params, "subscription_data")
    if intent_data and mode != "payment":
        raise ApiError(400, "You can not pass `payment_intent_data` in `subscription` mode.",
                       param="payment_intent_data")
    if subscription_data and mode != "subscription":
        raise ApiError(400, "You can not pass `subscription_data` in `payment` mode.", param="subscription_data")
    fee = _fee_amount(intent_data, account, total)
    fee_percent = billing.fee_percent(subscription_data.get("application_fee_percent"), account,
                                      "subscription_data[application_fee_percent]")
    for unsupported in ("trial_period_days", "trial_end", "billing_cycle_anchor", "trial_settings"):
        if unsupported in subscription_data:
            raise ApiError(400, f"The Stripe sandbox does not implement subscription_data[{unsupported}].",
                           param=f"subscription_data[{unsupported}]")
    created = now()
    expires_at = integer(params, "expires_at")
    if expires_at is None:
        expires_at = created + 24 * 3600
    elif not created + 30 * 60 <= expires_at <= created + 24 * 3600:
        raise ApiError(400, "The `expires_at` timestamp must be at least 30 minutes and at most 24 hours after "
                            "the Checkout Session is created.", param="expires_at")
    for name in ("success_url", "cancel_url"):
        url = text(params, name)
        if url is not None and not url.startswith(("http://", "https://")):
            raise ApiError(400, "Not a valid URL", param=name)
    reference = text(params, "client_reference_id")
    if reference is not None and len(reference) > 200:
        raise ApiError(400, "client_reference_id must be at most 200 characters.", param="client_reference_id")
    customer_creation = choice(params, "customer_creation", ("always", "if_required"))
    if mode == "payment" and customer_creation is None:
        customer_creation = "if_required"
    session_id = new_id("cs_test", 58)
    session = {
        "id": session_id, "object": "checkout.session", "adaptive_pricing": None, "after_expiration": None,
        "allow_promotion_codes": None, "allowed_payment_method_types": strings(params, "allowed_payment_method_types")
        or None, "amount_subtotal": total, "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None, "branding_settings": None, "cancel_url": text(params, "cancel_url"),
        "client_reference_id": reference, "client_secret": None, "collected_information": None, "consent": None,
        "consent_collection": None, "created": created, "currency": currency, "currency_conversion": None,
        "custom_fields": [], "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                                             "terms_of_service_acceptance": None},
        "customer": customer_id, "customer_account": None, "customer_creation": customer_creation,
        "customer_details": None, "customer_email": customer_email, "discounts": [],
        "excluded_payment_method_types": strings(params, "excluded_payment_method_types") or None,
        "expires_at": expires_at, "integration_identifier": None, "invoice": None, "invoice_creation": None,
        "livemode": False, "locale": text(params, "locale"), "managed_payments": None,
        "metadata": merged_metadata({}, params), "mode": mode, "name_collection": None,
        "optional_items": None, "origin_context": None, "payment_intent": None, "payment_link": None,
        "payment_method_collection": "always" if mode == "subscription" else None,
        "payment_method_configuration_details": None,
        "payment_method_options": mapping(params, "payment_method_options"),
        "payment_method_types": method_types, "payment_status": "unpaid", "permissions": None,
        "phone_number_collection": {"enabled": False}, "presentment_details": None, "recovered_from": None,
        "redirect_on_completion": None, "return_url": None, "saved_payment_method_options": None,
        "setup_intent": None, "shipping_address_collection": None, "shipping_cost": None, "shipping_options": [],
        "status": "open", "submit_type": None, "subscription": None, "success_url": text(params, "success_url"),
        "tax_id_collection": {"enabled": False, "required": "never"},
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page", "url": f"{public_base}/checkout/{session_id}", "wallet_options": None,
    }
    store.add(session, account, extra={
        "line_items": items,
        "intent": {"metadata": merged_metadata({}, intent_data), "application_fee_amount": fee,
                   "description": text(intent_data, "description")},
        "subscription": {"metadata": merged_metadata({}, subscription_data), "application_fee_percent": fee_percent},
    })
    return session


def _method_types(params: Mapping[str, Any], mode: str) -> list[str]:
    requested = strings(params, "allowed_payment_method_types") or ["card"]
    excluded = set(strings(params, "excluded_payment_method_types"))
    for index, method in enumerate(requested):
        label = f"allowed_payment_method_types[{index}]"
        if method not in METHODS:
            raise ApiError(400, f"The Stripe sandbox implements only these payment method types: "
                                f"{', '.join(METHODS)}.", param=label)
        if mode == "subscription" and method in DELAYED:
            raise ApiError(400, f"The payment method type `{method}` cannot be used in `subscription` mode: it "
                                "does not support recurring payments.", param=label)
    if "wechat_pay" in requested:
        options = mapping(params, "payment_method_options")
        wechat = options.get("wechat_pay")
        if not isinstance(wechat, dict) or not wechat.get("client"):
            raise ApiError(400, "Missing required param: payment_method_options[wechat_pay][client].",
                           param="payment_method_options[wechat_pay][client]")
    methods = [method for method in requested if method not in excluded]
    if not methods:
        raise ApiError(400, "No payment method types are left after excluded_payment_method_types.",
                       param="excluded_payment_method_types")
    return methods


def _fee_amount(intent_data: Mapping[str, Any], account: str | None, total: int) -> int | None:
    fee = integer(intent_data, "application_fee_amount", minimum=0,
                  param="payment_intent_data[application_fee_amount]")
    if fee is None:
        return None
    if account is None:
        raise ApiError(400, "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
                            "direct payment (using an OAuth key or Stripe-Account header) or destination payment "
                            "(using `transfer_data[destination]`).",
                       param="payment_intent_data[application_fee_amount]")
    if fee > total:
        raise ApiError(400, "The application fee amount cannot be greater than the amount of the payment.",
                       param="payment_intent_data[application_fee_amount]")
    return fee


def expire_if_due(store: Store, record: Record) -> None:
    session = record.object
    if session["status"] == "open" and now() >= session["expires_at"]:
        expire(store, record)


def expire(store: Store, record: Record) -> dict[str, Any]:
    session = record.object
    if session["status"] != "open":
        raise ApiError(400, f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                            f'Session has a status of "{session["status"]}".')
    session.update(status="expired", url=None)
    store.touch()
    store.emit("checkout.session.expired", session, record.account)
    return session


def outcomes(session: dict[str, Any]) -> tuple[str, ...]:
    """What the hosted page offers: delayed methods also settle (or fail) after the session completes;
    a free subscription asks for no payment at all."""
    if session["amount_total"] == 0:
        return OUTCOMES[:1]
    if session["mode"] == "payment" and any(method in DELAYED for method in session["payment_method_types"]):
        return OUTCOMES
    return OUTCOMES[:2]


def complete(store: Store, record: Record, outcome: str) -> None:
    """The payer pressed a button on the hosted page. Raises SessionClosed when nothing may change."""
    expire_if_due(store, record)
    session, account = record.object, record.account
    if session["status"] != "open":
        raise SessionClosed(session["status"])
    if outcome not in outcomes(session):
        raise ApiError(400, f"Invalid outcome: must be one of {', '.join(outcomes(session))}", param="outcome")
    delayed = [method for method in session["payment_method_types"] if method in DELAYED]
    method = delayed[0] if outcome.startswith("async_") else (
        "card" if "card" in session["payment_method_types"] else session["payment_method_types"][0])
    intent = _intent(store, record) if session["amount_total"] > 0 else None
    if outcome == "declined":
        assert intent is not None
        payments.decline(store, intent, method)
        store.emit("payment_intent.payment_failed", intent, account)
        return
    customer_id = _customer(store, record)
    email = session["customer_email"]
    if customer_id is not None:
        email = email or store.get(customer_id, account, "customer").object["email"]
    session.update(status="complete", url=None, customer=customer_id,
                   customer_details=shapes.customer_details(email))
    if session["mode"] == "subscription":
        sub, invoice = billing.start_subscription(
            store, account, customer_id=customer_id or "", items=record.extra["line_items"],
            metadata=dict(record.extra["subscription"]["metadata"]),
            application_fee_percent=record.extra["subscription"]["application_fee_percent"],
            intent=intent, method=method)
        session.update(payment_status="paid" if intent is not None else "no_payment_required",
                       subscription=sub["id"], invoice=invoice["id"])
        store.emit("customer.subscription.created", sub, account)
        store.emit("invoice.paid", invoice, account)
        store.emit("invoice.payment_succeeded", invoice, account)
        store.emit("checkout.session.completed", session, account)
        return
    assert intent is not None  # payment mode refuses a zero total at creation
    intent["customer"] = customer_id
    if outcome == "paid":
        charge = payments.succeed(store, account, intent, method)
        session["payment_status"] = "paid"
        store.emit("payment_intent.succeeded", intent, account)
        store.emit("charge.succeeded", charge, account)
        store.emit("checkout.session.completed", session, account)
        return
    payments.set_processing(store, intent, method)
    store.emit("checkout.session.completed", session, account)
    if outcome == "async_paid":
        charge = payments.succeed(store, account, intent, method)
        session["payment_status"] = "paid"
        store.emit("payment_intent.succeeded", intent, account)
        store.emit("charge.succeeded", charge, account)
        store.emit("checkout.session.async_payment_succeeded", session, account)
    else:
        payments.decline(store, intent, method)
        store.emit("payment_intent.payment_failed", intent, account)
        store.emit("checkout.session.async_payment_failed", session, account)


def _intent(store: Store, record: Record) -> dict[str, Any]:
    """The session's PaymentIntent, made at the first attempt and reused by the next ones, as Stripe does.
    In subscription mode it becomes the first invoice's payment and the session does not name it."""
    session, account = record.object, record.account
    intent_id = session["payment_intent"] or record.extra.get("pending_intent")
    if intent_id is not None:
        return store.get(intent_id, account, "payment_intent").object
    settings = record.extra["intent"]
    intent = payments.new_intent(
        store, account, amount=session["amount_total"], currency=session["currency"],
        customer_id=session["customer"], metadata=dict(settings["metadata"]),
        application_fee_amount=settings["application_fee_amount"], description=settings["description"],
        method_types=list(session["payment_method_types"]))
    if session["mode"] == "payment":
        session["payment_intent"] = intent["id"]
    else:
        record.extra["pending_intent"] = intent["id"]
    store.touch()
    return intent


def _customer(store: Store, record: Record) -> str | None:
    session = record.object
    if session["customer"] is not None:
        return str(session["customer"])
    if session["mode"] == "payment" and session["customer_creation"] != "always":
        return None
    customer = shapes.customer(email=session["customer_email"], name=None, phone=None, description=None,
                               metadata={})
    store.add(customer, record.account)
    return str(customer["id"])
