"""Customers, Products and Prices, and the line items a Checkout Session is made of."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stripe.params import CustomerCreateParams, CustomerUpdateParams, PriceCreateParams, ProductCreateParams

from careclub.payments.sandbox import _shapes as shapes
from careclub.payments.sandbox._common import (
    ApiError,
    boolean,
    check_known,
    choice,
    integer,
    mapping,
    merged_metadata,
    text,
)
from careclub.payments.sandbox._params import allowed
from careclub.payments.sandbox._store import Store, snapshot

INTERVALS = ("day", "week", "month", "year")
_MAX_COUNT = {"day": 365, "week": 52, "month": 12, "year": 1}
_CUSTOMER_FIELDS = ("email", "name", "phone", "description")


def create_customer(store: Store, account: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, allowed(CustomerCreateParams))
    customer = shapes.customer(email=text(params, "email"), name=text(params, "name"), phone=text(params, "phone"),
                               description=text(params, "description"), metadata=merged_metadata({}, params))
    store.add(customer, account)
    return customer


def update_customer(store: Store, account: str | None, customer_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, allowed(CustomerUpdateParams))
    customer = store.get(customer_id, account, "customer").object
    before = snapshot(customer)
    for name in _CUSTOMER_FIELDS:
        if name in params:
            customer[name] = text(params, name)
    customer["metadata"] = merged_metadata(customer["metadata"], params)
    if customer != before:
        store.touch()
    return customer


def create_product(store: Store, account: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, allowed(ProductCreateParams), refused=("default_price_data", "id"))
    active = boolean(params, "active")
    product = shapes.product(name=_name(params, "name"), description=text(params, "description"),
                             metadata=merged_metadata({}, params), active=True if active is None else active)
    store.add(product, account)
    return product


def create_price(store: Store, account: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, allowed(PriceCreateParams),
                refused=("tiers", "tiers_mode", "custom_unit_amount", "transform_quantity", "currency_options"))
    if choice(params, "billing_scheme", ("per_unit", "tiered"), default="per_unit") != "per_unit":
        raise ApiError(400, "The Stripe sandbox implements per_unit prices only.", param="billing_scheme")
    active = boolean(params, "active")
    return _new_price(store, account, params, prefix="", active=True if active is None else active,
                      nickname=text(params, "nickname"), lookup_key=text(params, "lookup_key"))


def resolve_line_item(store: Store, account: str | None, raw: Any, index: int) -> dict[str, Any]:
    """One of a Checkout Session's `line_items`, as the checkout `item` Stripe lists for it."""
    prefix = f"line_items[{index}]"
    if not isinstance(raw, dict):
        raise ApiError(400, f"Invalid object: {prefix}", param=prefix)
    quantity = integer(raw, "quantity", required=True, minimum=1, param=f"{prefix}[quantity]")
    assert quantity is not None
    price_id = text(raw, "price", param=f"{prefix}[price]")
    data = mapping(raw, "price_data")
    if (price_id is None) == (not data):
        raise ApiError(400, f"You must specify exactly one of {prefix}[price] or {prefix}[price_data].",
                       param=f"{prefix}[price]")
    if price_id is not None:
        price = store.get(price_id, account, "price", param=f"{prefix}[price]").object
        if not price["active"]:
            raise ApiError(400, "The price specified is inactive. This field only accepts active prices.",
                           param=f"{prefix}[price]")
    else:
        # Stripe makes inline prices as archived objects: usable here, not offered elsewhere.
        price = _new_price(store, account, data, prefix=f"{prefix}[price_data]", active=False)
    product = store.get(price["product"], account, "product").object
    return shapes.checkout_item(price_obj=snapshot(price), quantity=quantity, description=product["name"])


def _name(params: Mapping[str, Any], name: str, label: str | None = None) -> str:
    value = text(params, name, required=True, param=label)
    assert value is not None
    return value


def _new_price(store: Store, account: str | None, params: Mapping[str, Any], *, prefix: str, active: bool,
               nickname: str | None = None, lookup_key: str | None = None) -> dict[str, Any]:
    def label(name: str) -> str:
        return f"{prefix}[{name}]" if prefix else name

    currency = (text(params, "currency", required=True, param=label("currency")) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise ApiError(400, f"Invalid currency: {currency}", param=label("currency"))
    unit_amount = integer(params, "unit_amount", minimum=0, param=label("unit_amount"))
    if unit_amount is None:
        decimal = text(params, "unit_amount_decimal", param=label("unit_amount_decimal"))
        if decimal is None or not re.fullmatch(r"\d{1,12}(\.0+)?", decimal):
            raise ApiError(400, f"Missing required param: {label('unit_amount')}.", param=label("unit_amount"))
        unit_amount = int(decimal.split(".")[0])
    recurring = _recurring(params.get("recurring"), label("recurring"))
    product_id = text(params, "product", param=label("product"))
    product_data = mapping(params, "product_data")
    if (product_id is None) == (not product_data):
        raise ApiError(400, f"You must specify exactly one of {label('product')} or {label('product_data')}.",
                       param=label("product"))
    if product_id is not None:
        store.get(product_id, account, "product", param=label("product"))
    else:
        product = shapes.product(name=_name(product_data, "name", f"{label('product_data')}[name]"),
                                 description=text(product_data, "description"),
                                 metadata=merged_metadata({}, product_data))
        store.add(product, account)
        product_id = product["id"]
    price = shapes.price(product_id=product_id, currency=currency, unit_amount=unit_amount, recurring=recurring,
                         metadata=merged_metadata({}, params), nickname=nickname, lookup_key=lookup_key,
                         active=active)
    store.add(price, account)
    return price


def _recurring(raw: Any, label: str) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, f"Invalid object: {label}", param=label)
    interval = choice(raw, "interval", INTERVALS, required=True, param=f"{label}[interval]")
    assert interval is not None
    count = integer(raw, "interval_count", minimum=1, param=f"{label}[interval_count]") or 1
    if count > _MAX_COUNT[interval]:
        raise ApiError(400, "Invalid recurring interval: maximum of one year interval allowed (1 year, 12 months, "
                            "or 52 weeks).", param=f"{label}[interval_count]")
    if raw.get("usage_type", "licensed") != "licensed" or "meter" in raw:
        raise ApiError(400, "The Stripe sandbox implements licensed (not metered) prices only.",
                       param=f"{label}[usage_type]")
    return {"interval": interval, "interval_count": count}
