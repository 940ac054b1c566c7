"""Rules another domain adds to the steps of its own ticket type: the catalogue's service orders may not
start work before their prepayment is in, nor close before they are settled at the cashier. A guard is
called inside the transition's transaction with the ticket locked, and answers the problems that refuse the
step (none: the step goes ahead)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from careclub.core.errors import AppError
from careclub.tickets import rules
from careclub.tickets.tables import TicketEvent

Guard = Callable[[dict[str, Any], rules.Stage, rules.Stage], Awaitable[list[AppError]]]

Follower = Callable[[dict[str, Any]], Awaitable[None]]

ActorSource = Callable[[Any, dict[str, Any]], Awaitable[set[str]]]

_GUARDS: dict[str, list[Guard]] = {}
_ACTOR_SOURCES: list[ActorSource] = []
_FOLLOWERS: dict[str, list[Follower]] = {}


def register_guard(type_code: str, guard: Guard) -> None:
    """`guard(ticket, source_stage, target_stage)` is asked before every step of tickets of `type_code`."""
    _GUARDS.setdefault(type_code, []).append(guard)


def register_actor_source(source: ActorSource) -> None:
    """`source(principal, ticket)` adds parts a person plays that the core does not know of (a subcontractor's
    own staff handle the tickets handed to their company)."""
    _ACTOR_SOURCES.append(source)


async def extra_actors(principal: Any, ticket: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for source in _ACTOR_SOURCES:
        found |= await source(principal, ticket)
    return found


def register_follower(type_code: str, follower: Follower) -> None:
    """`follower(ticket)` hears of every step a ticket of `type_code` took, with the ticket as it is after it,
    in the same transaction (the catalogue marks an order cancelled with its ticket)."""
    _FOLLOWERS.setdefault(type_code, []).append(follower)


async def after_move(ticket: dict[str, Any]) -> None:
    for follower in _FOLLOWERS.get(ticket["type_code"], ()):
        await follower(ticket)


async def check_guards(ticket: dict[str, Any], source: rules.Stage, target: rules.Stage) -> list[AppError]:
    problems: list[AppError] = []
    for guard in _GUARDS.get(ticket["type_code"], ()):
        problems.extend(await guard(ticket, source, target))
    return problems


async def signed_off(ticket_id: Any) -> bool:
    """Whether the resident (or someone for him) has signed the work off since it was last reopened."""
    rows = await TicketEvent.select(TicketEvent.kind, TicketEvent.data).where(
        TicketEvent.ticket == ticket_id).order_by(TicketEvent.created_at).output(load_json=True)
    signed = False
    for row in rows:
        if row["kind"] == "reopened":
            signed = False
        elif isinstance(row["data"], dict) and row["data"].get("signed_by"):
            signed = True
    return signed
