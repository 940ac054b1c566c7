"""The Stripe sandbox's pure pieces: form decoding as the library encodes, billing periods, signatures."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import pytest
import stripe
from stripe._encode import _api_encode

from careclub.payments.sandbox import sign
from careclub.payments.sandbox._billing import add_interval
from careclub.payments.sandbox._common import ApiError, decode_form, format_money, merged_metadata


def _round_trip(params: dict[str, object]) -> dict[str, object]:
    body = urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")
    return decode_form(parse_qsl(body, keep_blank_values=True))


def test_forms_decode_back_to_what_the_library_encoded() -> None:
    params = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {"currency": "cny", "unit_amount": 500,
                                                      "product_data": {"name": "Fee & tax [2026]"}}}],
        "metadata": {"0": "digit key", "tenant": "t1"},
        "expand": ["payment_intent", "subscription"],
        "created": {"gte": 1700000000},
        "flag": True,
    }
    assert _round_trip(params) == {
        "mode": "payment",
        "line_items": [{"quantity": "1", "price_data": {"currency": "cny", "unit_amount": "500",
                                                        "product_data": {"name": "Fee & tax [2026]"}}}],
        "metadata": {"0": "digit key", "tenant": "t1"},
        "expand": ["payment_intent", "subscription"],
        "created": {"gte": "1700000000"},
        "flag": "true",
    }


def test_forms_take_empty_brackets_and_blank_values() -> None:
    assert decode_form([("expand[]", "a"), ("expand[]", "b"), ("metadata[gone]", "")]) == {
        "expand": ["a", "b"], "metadata": {"gone": ""}}


def test_metadata_merges_and_unsets_like_stripe() -> None:
    assert merged_metadata({"a": "1", "b": "2"}, {"metadata": {"b": "", "c": "3"}}) == {"a": "1", "c": "3"}
    assert merged_metadata({"a": "1"}, {"metadata": ""}) == {}
    assert merged_metadata({"a": "1"}, {}) == {"a": "1"}
    with pytest.raises(ApiError):
        merged_metadata({}, {"metadata": "not a hash"})


def _ts(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())


def test_monthly_periods_keep_their_anchor_day_through_short_months() -> None:
    anchor = _ts(2026, 1, 31, 9, 30)
    february = add_interval(anchor, "month", 1, anchor)
    march = add_interval(february, "month", 1, anchor)
    assert (february, march) == (_ts(2026, 2, 28, 9, 30), _ts(2026, 3, 31, 9, 30))
    assert add_interval(_ts(2028, 2, 29), "year", 1, _ts(2028, 2, 29)) == _ts(2029, 2, 28)
    assert add_interval(anchor, "month", 3, anchor) == _ts(2026, 4, 30, 9, 30)
    assert add_interval(anchor, "week", 2, anchor) == anchor + 14 * 86400
    assert add_interval(anchor, "day", 1, anchor) == anchor + 86400


def test_signatures_are_the_ones_the_library_checks() -> None:
    payload = b'{"id": "evt_1", "object": "event", "type": "charge.succeeded", "data": {"object": {}}}'
    header = sign(payload, "whsec_x", 1_700_000_000)
    expected = stripe.WebhookSignature._compute_signature(f"1700000000.{payload.decode()}", "whsec_x")
    assert header == f"t=1700000000,v1={expected}"


def test_money_for_people() -> None:
    assert format_money(36500, "cny") == "CNY 365.00"
    assert format_money(5000, "jpy") == "JPY 5000"
    assert format_money(-150, "usd") == "-USD 1.50"
