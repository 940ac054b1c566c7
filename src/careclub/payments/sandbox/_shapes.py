"""The objects as API version 2026-10-28.endive shapes them (the library's `_customer.py`, `_price.py`,
`checkout/_session.py`, `_subscription.py`, `_invoice.py`, … list the fields). Fields the sandbox has no
use for are present with Stripe's empty values, so code reading them finds what it would find on Stripe."""

from __future__ import annotations

import secrets
from typing import Any

from careclub.payments.sandbox._common import format_money, new_id, now


def list_object(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def customer(*, email: str | None, name: str | None, phone: str | None, description: str | None,
             metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "id": new_id("cus", 14), "object": "customer", "address": None, "balance": 0, "business_name": None,
        "created": now(), "currency": None, "customer_account": None, "default_source": None,
        "delinquent": False, "description": description, "discount": None, "email": email,
        "individual_name": None, "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": False, "metadata": metadata, "name": name, "next_invoice_sequence": 1, "phone": phone,
        "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
    }


def product(*, name: str, description: str | None, metadata: dict[str, str], active: bool = True) -> dict[str, Any]:
    created = now()
    return {
        "id": new_id("prod", 14), "object": "product", "active": active, "created": created,
        "default_price": None, "description": description, "images": [], "livemode": False,
        "marketing_features": [], "metadata": metadata, "name": name, "package_dimensions": None,
        "shippable": None, "statement_descriptor": None, "tax_code": None, "type": "service",
        "unit_label": None, "updated": created, "url": None,
    }


def price(*, product_id: str, currency: str, unit_amount: int, recurring: dict[str, Any] | None,
          metadata: dict[str, str], nickname: str | None = None, lookup_key: str | None = None,
          active: bool = True) -> dict[str, Any]:
    return {
        "id": new_id("price", 24), "object": "price", "active": active, "billing_scheme": "per_unit",
        "created": now(), "currency": currency, "custom_unit_amount": None, "livemode": False,
        "lookup_key": lookup_key, "metadata": metadata, "nickname": nickname, "product": product_id,
        "recurring": None if recurring is None else {
            "interval": recurring["interval"], "interval_count": recurring["interval_count"], "meter": None,
            "trial_period_days": None, "usage_type": "licensed",
        },
        "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
        "type": "one_time" if recurring is None else "recurring",
        "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount),
    }


def plan(price_obj: dict[str, Any]) -> dict[str, Any]:
    """The legacy twin of a recurring price that subscription items still carry."""
    recurring = price_obj["recurring"]
    return {
        "id": price_obj["id"], "object": "plan", "active": price_obj["active"], "amount": price_obj["unit_amount"],
        "amount_decimal": price_obj["unit_amount_decimal"], "billing_scheme": "per_unit",
        "created": price_obj["created"], "currency": price_obj["currency"], "interval": recurring["interval"],
        "interval_count": recurring["interval_count"], "livemode": False, "metadata": price_obj["metadata"],
        "meter": None, "nickname": price_obj["nickname"], "product": price_obj["product"], "tiers_mode": None,
        "transform_usage": None, "trial_period_days": None, "usage_type": "licensed",
    }


def checkout_item(*, price_obj: dict[str, Any], quantity: int, description: str) -> dict[str, Any]:
    amount = price_obj["unit_amount"] * quantity
    return {
        "id": new_id("li", 24), "object": "item", "adjustable_quantity": None, "amount_discount": 0,
        "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount, "currency": price_obj["currency"],
        "description": description, "metadata": {}, "price": price_obj, "quantity": quantity,
    }


def payment_intent(*, amount: int, currency: str, customer_id: str | None, metadata: dict[str, str],
                   application_fee_amount: int | None, description: str | None,
                   method_types: list[str]) -> dict[str, Any]:
    intent_id = new_id("pi", 24)
    return {
        "id": intent_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
        "application_fee_amount": application_fee_amount, "automatic_payment_methods": None, "canceled_at": None,
        "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}", "confirmation_method": "automatic",
        "created": now(), "currency": currency, "customer": customer_id, "customer_account": None,
        "description": description, "excluded_payment_method_types": None, "last_payment_error": None,
        "latest_charge": None, "livemode": False, "metadata": metadata, "next_action": None, "on_behalf_of": None,
        "payment_method": None, "payment_method_configuration_details": None, "payment_method_options": {},
        "payment_method_types": method_types, "processing": None, "receipt_email": None, "review": None,
        "setup_future_usage": None, "shipping": None, "source": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "requires_payment_method", "transfer_data": None,
        "transfer_group": None,
    }


def declined_error(method: str) -> dict[str, Any]:
    return {
        "advice_code": None, "charge": None, "code": "card_declined", "decline_code": "generic_decline",
        "doc_url": "https://docs.stripe.com/error-codes/card-declined", "message": "Your card was declined.",
        "network_advice_code": None, "network_decline_code": None, "param": None, "payment_method": None,
        "payment_method_type": method, "request_log_url": None, "source": None, "type": "card_error",
    }


def method_details(method: str) -> dict[str, Any]:
    if method == "card":
        return {"type": "card", "card": {
            "brand": "visa", "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                        "cvc_check": "pass"},
            "country": "US", "exp_month": 12, "exp_year": 2034, "fingerprint": "sandbox4242", "funding": "credit",
            "last4": "4242", "network": "visa", "three_d_secure": None, "wallet": None,
        }}
    return {"type": method, method: {"fingerprint": None, "transaction_id": secrets.token_hex(14)}}


def charge(*, intent: dict[str, Any], method: str, payment_method_id: str) -> dict[str, Any]:
    charge_id = new_id("ch", 24)
    return {
        "id": charge_id, "object": "charge", "amount": intent["amount"], "amount_captured": intent["amount"],
        "amount_refunded": 0, "application": None, "application_fee": None,
        "application_fee_amount": intent["application_fee_amount"], "balance_transaction": None,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None, "tax_id": None},
        "calculated_statement_descriptor": "SANDBOX", "captured": True, "created": now(),
        "currency": intent["currency"], "customer": intent["customer"], "description": intent["description"],
        "disputed": False, "failure_balance_transaction": None, "failure_code": None, "failure_message": None,
        "fraud_details": {}, "livemode": False, "metadata": dict(intent["metadata"]), "on_behalf_of": None,
        "outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                    "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                    "risk_score": 12, "rule": None, "seller_message": "Payment complete.",
                    "type": "authorized"},
        "paid": True, "payment_intent": intent["id"], "payment_method": payment_method_id,
        "payment_method_details": method_details(method), "radar_options": {}, "receipt_email": None,
        "receipt_number": None, "receipt_url": None, "refunded": False,
        "refunds": list_object([], f"/v1/charges/{charge_id}/refunds"), "review": None, "shipping": None,
        "source": None, "source_transfer": None, "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": "succeeded", "transfer_data": None, "transfer_group": None,
    }


def refund(*, charge_obj: dict[str, Any], amount: int, reason: str | None, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "id": new_id("re", 24), "object": "refund", "amount": amount, "balance_transaction": None,
        "charge": charge_obj["id"], "created": now(), "currency": charge_obj["currency"],
        "customer": charge_obj["customer"], "customer_account": None, "description": None,
        "destination_details": None, "metadata": metadata, "payment_intent": charge_obj["payment_intent"],
        "payment_method": charge_obj["payment_method"], "reason": reason, "receipt_number": None,
        "source_transfer_reversal": None, "status": "succeeded", "transfer_reversal": None,
    }


def customer_details(email: str | None) -> dict[str, Any]:
    return {"address": None, "business_name": None, "email": email, "individual_name": None, "name": None,
            "phone": None, "tax_exempt": "none", "tax_ids": []}


def subscription_item(*, price_obj: dict[str, Any], quantity: int, subscription_id: str, period_start: int,
                      period_end: int) -> dict[str, Any]:
    return {
        "id": new_id("si", 14), "object": "subscription_item", "billed_until": None, "billing_thresholds": None,
        "created": now(), "current_period_end": period_end, "current_period_start": period_start,
        "current_trial": None, "discounts": [], "metadata": {}, "plan": plan(price_obj), "price": price_obj,
        "quantity": quantity, "subscription": subscription_id, "tax_rates": [],
    }


def subscription(*, subscription_id: str, customer_id: str, currency: str, items: list[dict[str, Any]],
                 metadata: dict[str, str], application_fee_percent: float | None, start: int) -> dict[str, Any]:
    return {
        "id": subscription_id, "object": "subscription", "application": None,
        "application_fee_percent": application_fee_percent,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": start, "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic", "updated_at": None}, "billing_schedules": [],
        "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": False, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": start, "currency": currency,
        "customer": customer_id, "customer_account": None, "days_until_due": None, "default_payment_method": None,
        "default_source": None, "default_tax_rates": [], "description": None, "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(items, f"/v1/subscription_items?subscription={subscription_id}"),
        "latest_invoice": None, "livemode": False, "metadata": metadata, "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None, "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None,
        "schedule": None, "start_date": start, "status": "active", "test_clock": None, "transfer_data": None,
        "trial_end": None, "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def invoice_line(*, invoice_id: str, item: dict[str, Any], subscription_id: str, product_name: str) -> dict[str, Any]:
    price_obj = item["price"]
    amount = price_obj["unit_amount"] * item["quantity"]
    interval = price_obj["recurring"]["interval"]
    return {
        "id": new_id("il", 24), "object": "line_item", "amount": amount, "currency": price_obj["currency"],
        "description": f"{item['quantity']} × {product_name} "
                       f"(at {format_money(price_obj['unit_amount'], price_obj['currency'])} / {interval})",
        "discount_amounts": [], "discountable": True, "discounts": [], "invoice": invoice_id, "livemode": False,
        "metadata": {},
        "parent": {"invoice_item_details": None, "type": "subscription_item_details",
                   "subscription_item_details": {"invoice_item": None, "proration": False,
                                                 "proration_details": {"credited_items": None},
                                                 "subscription": subscription_id, "subscription_item": item["id"]}},
        "period": {"end": item["current_period_end"], "start": item["current_period_start"]},
        "pretax_credit_amounts": [],
        "pricing": {"price_details": {"price": price_obj["id"], "product": price_obj["product"]},
                    "type": "price_details", "unit_amount_decimal": price_obj["unit_amount_decimal"]},
        "quantity": item["quantity"], "quantity_decimal": str(item["quantity"]), "subscription": subscription_id,
        "subtotal": amount, "taxes": [],
    }


def invoice(*, invoice_id: str, number: str, customer_obj: dict[str, Any], sub: dict[str, Any],
            lines: list[dict[str, Any]], billing_reason: str, period_start: int, period_end: int) -> dict[str, Any]:
    total = sum(line["amount"] for line in lines)
    created = now()
    return {
        "id": invoice_id, "object": "invoice", "account_country": "US", "account_name": "Sandbox",
        "account_tax_ids": None, "amount_due": total, "amount_overpaid": 0, "amount_paid": 0,
        "amount_paid_off_stripe": 0, "amount_remaining": total, "amount_shipping": 0, "application": None,
        "attempt_count": 0, "attempted": False, "auto_advance": True,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                          "status": None},
        "automatically_finalizes_at": None, "billing_reason": billing_reason,
        "collection_method": "charge_automatically", "confirmation_secret": None, "created": created,
        "currency": sub["currency"], "custom_fields": None, "customer": customer_obj["id"],
        "customer_account": None, "customer_address": None, "customer_email": customer_obj["email"],
        "customer_name": customer_obj["name"], "customer_phone": customer_obj["phone"], "customer_shipping": None,
        "customer_tax_exempt": "none", "customer_tax_ids": [], "default_payment_method": None,
        "default_source": None, "default_tax_rates": [], "description": None, "discounts": [], "due_date": None,
        "effective_at": created, "ending_balance": 0, "footer": None, "from_invoice": None,
        "hosted_invoice_url": None, "invoice_pdf": None, "issuer": {"type": "self"},
        "last_finalization_error": None, "latest_revision": None,
        "lines": list_object(lines, f"/v1/invoices/{invoice_id}/lines"), "livemode": False, "metadata": {},
        "next_payment_attempt": None, "number": number, "on_behalf_of": None,
        "parent": {"quote_details": None, "type": "subscription_details",
                   "subscription_details": {"metadata": dict(sub["metadata"]), "subscription": sub["id"],
                                            "subscription_proration_date": None}},
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "payments": list_object([], f"/v1/invoice_payments?invoice={invoice_id}"),
        "period_end": period_end, "period_start": period_start, "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "receipt_number": None, "rendering": None, "shipping_cost": None,
        "shipping_details": None, "starting_balance": 0, "statement_descriptor": None, "status": "open",
        "status_transitions": {"finalized_at": created, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": total, "subtotal_excluding_tax": total, "test_clock": None, "threshold_reason": None,
        "total": total, "total_discount_amounts": [], "total_excluding_tax": total,
        "total_pretax_credit_amounts": [], "total_taxes": [], "webhooks_delivered_at": created,
    }


def invoice_payment(*, invoice_obj: dict[str, Any], intent_id: str) -> dict[str, Any]:
    return {
        "id": new_id("inpay", 24), "object": "invoice_payment", "amount_paid": None,
        "amount_requested": invoice_obj["amount_due"], "created": now(), "currency": invoice_obj["currency"],
        "invoice": invoice_obj["id"], "is_default": True, "livemode": False,
        "payment": {"payment_intent": intent_id, "type": "payment_intent"}, "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


def account(*, account_type: str, country: str, email: str | None, metadata: dict[str, str],
            business_name: str | None, capabilities: list[str]) -> dict[str, Any]:
    account_id = new_id("acct", 16)
    due = ["business_profile.url", "external_account", "representative.first_name", "tos_acceptance.date"]
    requirements = {"alternatives": [], "current_deadline": None, "currently_due": due,
                    "disabled_reason": "requirements.past_due", "errors": [], "eventually_due": due,
                    "past_due": due, "pending_verification": []}
    return {
        "id": account_id, "object": "account",
        "business_profile": {"mcc": None, "name": business_name, "product_description": None,
                             "support_email": None, "support_phone": None, "support_url": None, "url": None},
        "business_type": None, "capabilities": dict.fromkeys(capabilities, "inactive"),
        "charges_enabled": False, "controller": {
            "is_controller": True, "type": "application",
            "requirement_collection": "stripe" if account_type != "custom" else "application",
            "stripe_dashboard": {"type": {"express": "express", "standard": "full"}.get(account_type, "none")},
        },
        "country": country, "created": now(), "default_currency": _CURRENCIES.get(country, "usd"),
        "details_submitted": False, "email": email,
        "external_accounts": list_object([], f"/v1/accounts/{account_id}/external_accounts"),
        "future_requirements": {"alternatives": [], "current_deadline": None, "currently_due": [],
                                "disabled_reason": None, "errors": [], "eventually_due": [], "past_due": [],
                                "pending_verification": []},
        "metadata": metadata, "payouts_enabled": False, "requirements": requirements,
        "settings": {"dashboard": {"display_name": business_name, "timezone": "Etc/UTC"}},
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None}, "type": account_type,
    }


_CURRENCIES = {"CN": "cny", "HK": "hkd", "SG": "sgd", "JP": "jpy", "GB": "gbp", "AU": "aud", "CA": "cad",
               "US": "usd", "DE": "eur", "FR": "eur", "NL": "eur", "IE": "eur", "MY": "myr", "TW": "twd"}
