"""What can be paid for. A domain registers a kind of payable once (at import) and payments
collects it, online or offline, and reports back through the kind's callbacks, inside the
transaction that records the money."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from careclub.core.principal import Principal


@dataclass(frozen=True)
class Payable:
    kind: str
    id: uuid.UUID
    amount: int
    currency: str
    description: str
    payer_user_id: uuid.UUID | None
    card_no: str
    org_unit_id: uuid.UUID | None
    # where the payer lands afterwards, e.g. the member card page
    return_path: str
    settled: bool


@dataclass(frozen=True)
class PayableKind:
    """`describe` answers the payable as the principal may see it (NotFound otherwise; None: the system);
    `settle` records it paid and raises Conflict (e.g. `card_closed`) when it can no longer be;
    `unsettle` undoes a settlement after a full refund or an offline reversal."""

    describe: Callable[[Principal | None, uuid.UUID], Awaitable[Payable]]
    settle: Callable[[uuid.UUID, str, str], Awaitable[None]]
    unsettle: Callable[[uuid.UUID, str], Awaitable[None]]
    # For kinds that renew automatically: the next payable of a subject (a card's next period).
    renew: Callable[[uuid.UUID], Awaitable[uuid.UUID]] | None = None


_KINDS: dict[str, PayableKind] = {}


def register_payable(kind: str, *, describe: Callable[[Principal | None, uuid.UUID], Awaitable[Payable]],
                     settle: Callable[[uuid.UUID, str, str], Awaitable[None]],
                     unsettle: Callable[[uuid.UUID, str], Awaitable[None]],
                     renew: Callable[[uuid.UUID], Awaitable[uuid.UUID]] | None = None) -> None:
    _KINDS[kind] = PayableKind(describe, settle, unsettle, renew)


def payable_kind(kind: str) -> PayableKind:
    from careclub.core.errors import ValidationFailed

    found = _KINDS.get(kind)
    if found is None:
        raise ValidationFailed("payable_kind must be one of %(value)s",
                               field="payable_kind", params={"value": ', '.join(sorted(_KINDS)) or 'nothing yet'})
    return found


def registered_payables() -> list[str]:
    return sorted(_KINDS)
