"""Money: integer minor units inside, a two-place decimal string plus currency outside."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from careclub.core.errors import ValidationFailed

_AMOUNT = re.compile(r"^(0|[1-9]\d{0,14})(\.\d{1,2})?$")


class Money(msgspec.Struct, frozen=True):
    amount: str
    currency: str


def parse_amount(text: str, *, field: str = "amount") -> int:
    """'365.00' -> 36500. Refuses floats' friends: exponents, signs, more than two places."""
    if not isinstance(text, str) or not _AMOUNT.match(text):
        raise ValidationFailed(
            f"{field} must be a decimal string with at most two places, like \"365.00\"", field=field
        )
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def format_amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def to_money(minor: int, currency: str) -> Money:
    return Money(amount=format_amount(minor), currency=currency)


def from_money(value: Money, *, currency: str, field: str = "amount") -> int:
    if value.currency != currency:
        raise ValidationFailed(f"{field}.currency must be {currency}", field=f"{field}.currency")
    return parse_amount(value.amount, field=f"{field}.amount")


def with_money(value: Any, currency: str, *fields: str) -> Any:
    """A copy of what a service answered, for the API: every integer under one of the named keys,
    at any depth (a request's steps, a projection's series), becomes money in the contract's form
    `{"amount": "365.00", "currency": "CNY"}`. Services and tables keep integer minor units."""
    if isinstance(value, dict):
        return {k: to_money(v, currency) if k in fields and type(v) is int else with_money(v, currency, *fields)
                for k, v in value.items()}
    if isinstance(value, list):
        return [with_money(v, currency, *fields) for v in value]
    return value
