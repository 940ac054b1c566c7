"""What every page form needs once: reading what people type (money in yuan, a day) with the reason under the
field when it is not what was asked, and writing inside a savepoint so a form refused by the page or by the
service is drawn again with every problem and nothing half-saved."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

from careclub.core.db import current_transaction
from careclub.core.errors import AppError
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_typed

AMOUNT_TYPED = N_("Type an amount in yuan, like 500 or 1,000.50.")
DATE_TYPED = N_("Use the form YYYY-MM-DD.")

T = TypeVar("T")


class _Undone(Exception):
    pass


async def attempt(errors: dict[str, str], write: Awaitable[T]) -> T | None:
    """Run a write in a savepoint, undone when it is refused (the error goes on) or when the page found problems
    of its own (none is answered): the service's refusals are shown with the page's, all at once, and the page
    drawn again shows the record as it was, nothing half-saved."""
    try:
        async with current_transaction().connection.transaction():
            result = await write
            if errors:
                raise _Undone
            return result
    except _Undone:
        return None


def typed_money(text: str, field: str, errors: dict[str, str]) -> int | None:
    """An amount typed in yuan ("500", "1,314.50", "¥ 365"), in minor units; none when blank or not an amount
    (the reason then under `errors[field]`)."""
    if not text:
        return None
    try:
        return parse_typed(text, field=field)
    except AppError:
        errors[field] = _(AMOUNT_TYPED)
        return None


def typed_date(text: str, field: str, errors: dict[str, str]) -> date | None:
    """A day typed as YYYY-MM-DD (what a date input sends); none when blank or not a day."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = _(DATE_TYPED)
        return None
