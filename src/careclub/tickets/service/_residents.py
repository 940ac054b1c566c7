"""Who a resident is to the ticket core: a signed-in person whose archive entry (`Person.user_id`) ties them
to units they live in now. Their units decide which tickets they may raise and read."""

from __future__ import annotations

import uuid

from careclub.core.principal import Principal
from careclub.platform.service import company_today
from careclub.tickets.tables import Occupancy, Person


async def resident_units(principal: Principal) -> list[uuid.UUID]:
    """The units the signed-in resident occupies today (none for staff without an archive entry)."""
    people = await Person.select(Person.id).where(Person.user_id == principal.user_id)
    if not people:
        return []
    today = await company_today()
    rows = await Occupancy.select(Occupancy.unit).where(
        Occupancy.person.is_in([p["id"] for p in people]),
        (Occupancy.starts_on.is_null()) | (Occupancy.starts_on <= today),
        (Occupancy.ends_on.is_null()) | (Occupancy.ends_on >= today))
    return list(dict.fromkeys(r["unit"] for r in rows))


async def person_of(principal: Principal) -> uuid.UUID | None:
    row = await Person.select(Person.id).where(Person.user_id == principal.user_id).first()
    return row["id"] if row else None
