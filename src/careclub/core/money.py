"""Money: integer minor units inside, a two-place decimal string plus currency outside."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from careclub.core.errors import ValidationFailed

_AMOUNT = re.compile(r"^(0|[1-9]\d{0,14})(\.\d{1,2})?$")


class Money(msgspec.Struct, frozen=True):
    amount: str
    currency: str


_AMOUNT_TEXT = 'a decimal string with at most two places, like "365.00"'
_CURRENCY = Annotated[str, msgspec.Meta(max_length=3, description="the company's currency (ISO 4217)")]


class MoneyIn(Money, frozen=True):
    """Money in a request body, for amounts kept in a BigInt column. `parse_amount` checks the amount's
    form (at most 15 whole digits, two places) with a message saying what is expected; the decoder only
    bounds its length to that form's longest. The service checks the currency."""

    amount: Annotated[str, msgspec.Meta(max_length=18, description=_AMOUNT_TEXT)]
    currency: _CURRENCY


class MoneyIn32(Money, frozen=True):
    """Money in a request body for an Integer column: at most 9 999 999.99, so its minor units always fit."""

    amount: Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9]\d{0,6})(\.\d{1,2})?$", description=_AMOUNT_TEXT)]
    currency: _CURRENCY


def parse_amount(text: str, *, field: str = "amount") -> int:
    """'365.00' -> 36500. Refuses floats' friends: exponents, signs, more than two places."""
    if not isinstance(text, str) or not _AMOUNT.match(text):
        raise ValidationFailed(
            '%(field)s must be a decimal string with at most two places, like "365.00"', field=field,
            params={"field": field})
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$")


def parse_typed(text: str, *, field: str = "amount") -> int:
    """What a person types on a page, in yuan: "20", "20.5", "1,314,000.00", "¥ 365" -> minor units.
    Pages never ask for fen; the API takes the strict form above."""
    cleaned = (text or "").strip().replace("，", ",").replace(" ", "")
    cleaned = cleaned.removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    # Commas only between groups of three ("1,314,000.00"): "5,00" is not five yuan, nor five hundred.
    grouped = "," not in cleaned or _GROUPED.match(cleaned) is not None
    cleaned = cleaned.replace(",", "")
    if not grouped or not _AMOUNT.match(cleaned):
        raise ValidationFailed("%(field)s must be an amount in yuan with at most two decimal places, like 20 or "
                               "1,314.50", field=field, params={"field": field})
    return parse_amount(cleaned, field=field)


def format_grouped(minor: int) -> str:
    """For people: thousands separated, two places ("1,314.50")."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100:,}.{minor % 100:02d}"


CURRENCY_SIGNS = {"CNY": "¥", "HKD": "HK$", "USD": "$", "EUR": "€", "GBP": "£"}


def money_text(minor: int | None, currency: str) -> str:
    """An amount as people read it on a page: "¥1,314.50", "-¥55.00" below zero, the code after it for a currency
    without a sign ("1,314.50 SGD"), "—" for none."""
    if minor is None:
        return "—"
    sign = CURRENCY_SIGNS.get(currency)
    if sign is None:
        return f"{format_grouped(minor)} {currency}"
    return f"-{sign}{format_grouped(-minor)}" if minor < 0 else f"{sign}{format_grouped(minor)}"


def format_amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def to_money(minor: int, currency: str) -> Money:
    return Money(amount=format_amount(minor), currency=currency)


def from_money(value: Money, *, currency: str, field: str = "amount") -> int:
    if value.currency != currency:
        raise ValidationFailed("%(field)s.currency must be %(currency)s", field=f"{field}.currency",
                               params={"field": field, "currency": currency})
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
