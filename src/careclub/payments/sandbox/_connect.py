"""Connect: connected accounts, onboarding links, and finishing onboarding on the sandbox's page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from stripe.params import AccountCreateParams, AccountLinkCreateParams, AccountUpdateParams

from careclub.payments.sandbox import _shapes as shapes
from careclub.payments.sandbox._common import ApiError, check_known, choice, mapping, merged_metadata, now, text
from careclub.payments.sandbox._params import allowed
from careclub.payments.sandbox._store import Record, Store, snapshot

ACCOUNT_TYPES = ("express", "standard", "custom")
_RETURN_URLS_KEPT = 20
_CHANGED_BY_ONBOARDING = ("capabilities", "charges_enabled", "details_submitted", "payouts_enabled", "requirements",
                          "tos_acceptance")


def create_account(store: Store, account: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
    if account is not None:
        raise ApiError(400, "A connected account cannot create connected accounts of its own.")
    check_known(params, allowed(AccountCreateParams), refused=("account_token", "controller", "external_account"))
    account_type = choice(params, "type", ACCOUNT_TYPES, required=True)
    assert account_type is not None
    country = (text(params, "country") or "US").upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ApiError(400, f"Invalid country: {country}", param="country")
    requested = [name for name, value in mapping(params, "capabilities").items()
                 if isinstance(value, dict) and value.get("requested") == "true"]
    if account_type == "standard" and not requested:
        requested = ["card_payments", "transfers"]
    profile = mapping(params, "business_profile")
    obj = shapes.account(account_type=account_type, country=country, email=text(params, "email"),
                         metadata=merged_metadata({}, params), business_name=text(profile, "name"),
                         capabilities=requested)
    store.add(obj, None, extra={"return_urls": []})
    return obj


def get_account(store: Store, account: str | None, account_id: str) -> Record:
    """The platform sees its connected accounts; a connected account sees itself."""
    record = store.get(account_id, None, "account")
    if account is not None and account != account_id:
        raise ApiError(404, f"No such account: '{account_id}'", param="id", code="resource_missing")
    return record


def update_account(store: Store, account: str | None, account_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, allowed(AccountUpdateParams), refused=("account_token", "external_account"))
    obj = get_account(store, account, account_id).object
    before = snapshot(obj)
    obj["metadata"] = merged_metadata(obj["metadata"], params)
    if "email" in params:
        obj["email"] = text(params, "email")
    profile = mapping(params, "business_profile")
    if "name" in profile:
        obj["business_profile"]["name"] = text(profile, "name")
    previous = {key: before[key] for key in obj if obj[key] != before[key]}
    if previous:
        store.touch()
        store.emit("account.updated", obj, account_id, previous)
    return obj


def create_link(store: Store, account: str | None, params: Mapping[str, Any], public_base: str) -> dict[str, Any]:
    if account is not None:
        raise ApiError(400, "Account links are created by the platform, without the Stripe-Account header.")
    check_known(params, allowed(AccountLinkCreateParams))
    account_id = text(params, "account", required=True)
    assert account_id is not None
    record = store.get(account_id, None, "account", param="account")
    choice(params, "type", ("account_onboarding", "account_update"), required=True)
    urls = {}
    for name in ("refresh_url", "return_url"):
        url = text(params, name, required=True)
        assert url is not None
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Not a valid URL", param=name)
        urls[name] = url
    # The onboarding page only ever redirects to a URL the platform registered here.
    kept = [url for url in record.extra["return_urls"] if url != urls["return_url"]]
    record.extra["return_urls"] = [*kept, urls["return_url"]][-_RETURN_URLS_KEPT:]
    store.touch()
    created = now()
    return {"object": "account_link", "created": created, "expires_at": created + 300,
            "url": f"{public_base}/connect/onboard/{account_id}?return_url={quote(urls['return_url'], safe='')}"}


def complete_onboarding(store: Store, record: Record) -> None:
    obj = record.object
    if obj["details_submitted"] and obj["charges_enabled"]:
        return
    previous = {key: snapshot(obj[key]) for key in _CHANGED_BY_ONBOARDING}
    moment = now()
    obj.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
    obj["capabilities"] = dict.fromkeys(obj["capabilities"] or ["card_payments", "transfers"], "active")
    obj["requirements"].update(currently_due=[], eventually_due=[], past_due=[], disabled_reason=None)
    obj["tos_acceptance"] = {"date": moment, "ip": "127.0.0.1", "user_agent": "Stripe sandbox"}
    store.touch()
    store.emit("account.updated", obj, obj["id"], previous)
