"""Membership periods as payables: what payments collects for a card, and what it reports back.

A period is described to whoever may see its card (the card's member, staff in scope); paying it
extends the card through `mark_period_paid` (which refuses a closed card with `card_closed`, and
payments then refunds the money); a full refund or a reversal takes the period back."""

from __future__ import annotations

import uuid

from careclub.clubs import service
from careclub.clubs.tables import MemberCard
from careclub.core.errors import NotFound
from careclub.core.principal import Principal
from careclub.payments.service import Payable, register_payable
from careclub.platform.permissions import Perm

KIND = "club_period"


async def describe(principal: Principal | None, period_id: uuid.UUID) -> Payable:
    period = await service.get_period(period_id)
    card = await service.get_card(principal, period["card.card_no"], Perm.MEMBERS_READ)
    return Payable(kind=KIND, id=period_id, amount=period["amount"], currency=period["currency"],
                   description=f"{card['plan.name']} · {card['card_no']}", payer_user_id=card["member.user"],
                   card_no=card["card_no"], org_unit_id=_unit_of(card), return_path="/club/card",
                   settled=period["status"] != "pending")


def _unit_of(card: dict[str, object]) -> uuid.UUID | None:
    # a unit's path ends with its own id: /company/branch/
    path = str(card.get("member.org_unit.path") or "")
    last = path.rstrip("/").rsplit("/", 1)[-1]
    try:
        return uuid.UUID(last)
    except ValueError:
        return None


async def settle(period_id: uuid.UUID, method: str, reference: str) -> None:
    await service.mark_period_paid(period_id, method=method, reference=reference)


async def unsettle(period_id: uuid.UUID, why: str) -> None:
    await service.revoke_period(period_id, why=why)


async def renew(card_id: uuid.UUID) -> uuid.UUID:
    """The card's next period, for an automatic renewal charge (the open one if there is one)."""
    row = await MemberCard.select(MemberCard.card_no).where(MemberCard.id == card_id).first()
    if row is None:
        raise NotFound("no such card", code="card_not_found")
    return (await service.open_period(None, row["card_no"], kind="renewal"))["id"]


register_payable(KIND, describe=describe, settle=settle, unsettle=unsettle, renew=renew)
