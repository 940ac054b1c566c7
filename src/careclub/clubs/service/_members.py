"""Members, vehicles, cards, card events and membership periods.

Reads and writes take the principal (None = the system: tenant files, jobs, payments): a member
outside the caller's org-unit scope answers exactly like one that does not exist. The card's own
member may see his cards; staff need members.read (members.manage to change) covering the
member's branch.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import asyncpg

from careclub.clubs import crypto, rules
from careclub.clubs.service._setup import APPLICATION_SUBJECT, get_club, get_plan, require_application_policy
from careclub.clubs.tables import CardEvent, Member, MemberCard, MembershipPeriod, Vehicle
from careclub.core import clock
from careclub.core.db import current_tenant_id, fetch, like_escape, plan_each_call
from careclub.core.errors import Conflict, NotFound, Problems, ValidationFailed
from careclub.core.paging import CAP, capped
from careclub.core.principal import Principal, current_actor
from careclub.platform import audit
from careclub.platform import rules as prules
from careclub.platform import service as platform_service
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit, User

MEMBER_FIELDS = (Member.id, Member.club, Member.name, Member.phone, Member.id_number_hint, Member.user,
                 Member.org_unit, Member.org_unit.name, Member.org_unit.path, Member.household, Member.status,
                 Member.created_at)
CARD_FIELDS = (MemberCard.id, MemberCard.card_no, MemberCard.state, MemberCard.valid_from, MemberCard.valid_until,
               MemberCard.club, MemberCard.plan, MemberCard.plan.name, MemberCard.plan.code,
               MemberCard.plan.grace_days, MemberCard.plan.fee, MemberCard.plan.term_months,
               MemberCard.plan.static_card, MemberCard.plan.policy_linked, MemberCard.member,
               MemberCard.member.name, MemberCard.member.user, MemberCard.member.org_unit.path,  # type: ignore[union-attr]
               MemberCard.vehicle, MemberCard.vehicle.plate, MemberCard.policy_no, MemberCard.replaces,
               MemberCard.approval_request_id, MemberCard.created_at)
PURPOSE_ID_NUMBER = "member.id_number"


def _can_see(principal: Principal | None, unit_path: str | None, user_id: Any, perm: Perm) -> bool:
    if principal is None:
        return True
    if user_id is not None and principal.user_id == user_id and principal.kind == "member":
        return perm in (Perm.MEMBERS_READ, Perm.SELF_SERVICE)
    return principal.covers(perm, unit_path)


# ---- members --------------------------------------------------------------------------------

CARD_STATUSES = ("pending", "active", "in_grace", "expired", "suspended", "cancelled")


_MEMBER_COLUMNS = """m.id, m.club, m.name, m.phone, m.id_number_hint, m."user", m.org_unit, u.name AS "org_unit.name",
    u.path AS "org_unit.path", m.household, m.status, m.created_at"""
_NUMBER = re.compile(r"^\+?[0-9][0-9 \-]*$")
_CODE = re.compile(r"^[\w\-· ]{2,32}$")
# a plate: a province character and a letter, then five or six letters and digits ("浙AYDKFX", "粤B·12345")
_PLATE = re.compile(r"^[\u4e00-\u9fff][A-Za-z][·\- ]?[A-Za-z0-9]{4,6}$")
_PLATE_TAIL = re.compile(r"^[A-Za-z][A-Za-z0-9]{4,6}$")
MAX_CANDIDATES = 5_000
SEARCH_CAP = 1_000


@dataclass
class _Query:
    """The FROM and WHERE of a member list, with its arguments; `driver` is set when a search term
    table drives the scan (a piece of a name), whose rows carry the member's keyset."""

    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    driver: str | None = None
    nothing: bool = False

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def conditions(self) -> list[str]:
        """The WHERE conditions, the driving term's first."""
        return ([f"t.term = {self.driver}"] if self.driver else []) + self.where


def name_terms(text: str) -> list[str]:
    """The search terms of a piece of a name, as club_member_search_terms() makes them: one
    character, or every pair of neighbours."""
    s = re.sub(r"\s+", " ", text.strip()).lower()
    if len(s) <= 1:
        return [s] if s.strip() else []
    return list(dict.fromkeys(s[i:i + 2] for i in range(len(s) - 1)))


async def _exact_matches(q: str) -> list[uuid.UUID] | None:
    """A phone, a card number or a plate, recognised by its shape and looked up by equality; None when
    the text has no such shape (then it is a piece of a name)."""
    compact = re.sub(r"[\s\-·]", "", q).upper()
    if _NUMBER.match(q):
        phone = rules.phone_key(q)
        phones = {phone}
        if phone.startswith("+86"):
            phones.add(phone[3:])
        elif len(phone) == 11 and phone.startswith("1"):
            phones.add("+86" + phone)
        cards = {compact, q.strip().upper()}
        for club in await fetch("SELECT card_prefix, card_digits FROM club"):
            if len(compact) <= club["card_digits"]:
                cards.add(rules.format_card_no(club["card_prefix"], club["card_digits"], int(compact)))
        found = await fetch(
            """SELECT id FROM club_member WHERE phone = ANY($1::text[])
               UNION SELECT member FROM club_card WHERE card_no = ANY($2::text[])
               UNION (SELECT member FROM club_member_term WHERE term = $3 LIMIT $4)""",
            list(phones), list(cards), "#" + compact[-4:] if len(compact) == 4 else "", MAX_CANDIDATES)
        return [r["id"] for r in found]
    plate_like = bool(_PLATE.match(q)) or bool(_PLATE_TAIL.match(q))
    if (_CODE.match(q) and re.search(r"[0-9]", q)) or plate_like:
        forms = list({compact, q.strip().upper()})
        # a plate whole or without its province character ("A12345" for 云A12345), through the terms
        found = await fetch("""SELECT member AS id FROM club_card WHERE card_no = ANY($1::text[])
                               UNION (SELECT member FROM club_member_term WHERE term = ANY($2::text[]) LIMIT $3)""",
                            forms, ["=" + f for f in forms], MAX_CANDIDATES)
        if found or not _PLATE_TAIL.match(q):
            return [r["id"] for r in found]
        # five to seven Latin letters may be a plate without its province, or a name ("Xiaoming")
    return None


async def _member_query(principal: Principal, *, club_id: uuid.UUID | None, q: str | None, unit_id: uuid.UUID | None,
                        plan_id: uuid.UUID | None, card_status: str | None, household_id: uuid.UUID | None) -> _Query:
    query = _Query()
    units = await platform_service.units_in_scope(principal, Perm.MEMBERS_READ)
    if units is not None:
        query.where.append(f"m.org_unit = ANY({query.arg(units)}::uuid[])")
    if club_id:
        query.where.append(f"m.club = {query.arg(club_id)}")
    if unit_id:
        query.where.append(f"m.org_unit = {query.arg(unit_id)}")
    if household_id:
        query.where.append(f"m.household = {query.arg(household_id)}")
    if plan_id:
        query.where.append(f"EXISTS (SELECT 1 FROM club_card c WHERE c.member = m.id "
                           f"AND c.plan = {query.arg(plan_id)})")
    if card_status:
        if card_status not in CARD_STATUSES:
            raise ValidationFailed("card_status must be one of %(choices)s", field="card_status",
                                   params={"choices": ', '.join(CARD_STATUSES)})
        query.where.append(f"EXISTS (SELECT 1 FROM club_card c JOIN club_plan p ON p.id = c.plan "
                           f"WHERE c.member = m.id AND {_status_sql(card_status, query)})")
    q = (q or "").strip()
    if q:
        exact = await _exact_matches(q)
        if exact is not None:
            query.where.append(f"m.id = ANY({query.arg(exact)}::uuid[])")
        else:
            terms = name_terms(q)
            if not terms:
                query.nothing = True
                return query
            # The rarest-looking term drives (the last pair: given names vary more than surnames);
            # the others and the whole text filter the rows it finds.
            query.driver = query.arg(terms[-1])
            # Planned for this term each time: a term matches 20 members or 2,000 (李敏) or 125,000 (王). After a few
            # rare ones PostgreSQL kept a generic plan guessing one match, which joined and sorted all 2,000 of a
            # common name for a page of 25 (45–60 ms, against 1–6 ms reading them in the index's order).
            await plan_each_call()
            for term in terms[:-1]:
                query.where.append(f"EXISTS (SELECT 1 FROM club_member_term o WHERE o.member = m.id "
                                   f"AND o.term = {query.arg(term)})")
            if len(terms) > 1:
                needle = like_escape(re.sub(r"\s+", " ", q).lower())
                query.where.append(f"lower(regexp_replace(m.name, '\\s+', ' ', 'g')) "
                                   f"LIKE {query.arg('%' + needle + '%')}")
    return query


def _status_sql(status: str, query: _Query) -> str:
    """Cards (alias c, plan p) whose computed status (rules.card_status) is `status` now."""
    if status in ("cancelled", "pending", "suspended"):
        return "c.state IN ('cancelled', 'replaced')" if status == "cancelled" else f"c.state = '{status}'"
    now = query.arg(clock.now())
    grace_end = "c.valid_until + make_interval(days => p.grace_days)"
    return {
        "active": f"c.state = 'active' AND (c.valid_until IS NULL OR c.valid_until > {now})",
        "in_grace": f"c.state = 'active' AND c.valid_until <= {now} AND {grace_end} > {now}",
        "expired": f"c.state = 'active' AND {grace_end} <= {now}",
    }[status]


def _from(query: _Query, *, counting: bool = False) -> tuple[str, str]:
    """The FROM clause and the keyset columns (created_at, id) of a member list. A count reads no
    branch names, and a name search with nothing else to filter reads the terms alone."""
    unit = "" if counting else " JOIN org_unit u ON u.id = m.org_unit"
    if query.driver:
        if counting and not query.where:
            return "club_member_term t", "t.member_created, t.member"
        return f"club_member_term t JOIN club_member m ON m.id = t.member{unit}", "t.member_created, t.member"
    return f"club_member m{unit}", "m.created_at, m.id"


async def list_members(principal: Principal, *, club_id: uuid.UUID | None = None, q: str | None = None,
                       unit_id: uuid.UUID | None = None, plan_id: uuid.UUID | None = None,
                       card_status: str | None = None, household_id: uuid.UUID | None = None,
                       after: tuple[datetime, uuid.UUID] | None = None, limit: int = 50,
                       offset: int = 0) -> list[dict[str, Any]]:
    """Members in the caller's scope, newest first, a keyset page after (created_at, id). `q` is a
    phone, a card number or a plate (found by equality), a phone's last four digits, or a piece of a
    name (found through the search terms); `plan_id` / `card_status` keep members holding such a card
    (status as computed from dates)."""
    query = await _member_query(principal, club_id=club_id, q=q, unit_id=unit_id, plan_id=plan_id,
                                card_status=card_status, household_id=household_id)
    return await _rows(query, after, limit, offset)


async def member_page(principal: Principal, *, club_id: uuid.UUID | None = None, q: str | None = None,
                      unit_id: uuid.UUID | None = None, plan_id: uuid.UUID | None = None,
                      card_status: str | None = None, after: tuple[datetime, uuid.UUID] | None = None,
                      limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int, bool]:
    """`list_members` with its count: the rows, how many match, and whether there are more than
    that. A list counts up to 10,000, a search up to 1,000 (a surname alone matches a tenth of a
    million members, and "1,000+" says all a person needs to narrow it down). The filters (the
    caller's branches, a search's exact lookups) are worked out once for both."""
    query = await _member_query(principal, club_id=club_id, q=q, unit_id=unit_id, plan_id=plan_id,
                                card_status=card_status, household_id=None)
    rows = await _rows(query, after, limit, offset)
    total, more = await _count(query, SEARCH_CAP if (q or "").strip() else CAP)
    return rows, total, more


async def _rows(query: _Query, after: tuple[datetime, uuid.UUID] | None, limit: int,
                offset: int) -> list[dict[str, Any]]:
    if query.nothing:
        return []
    query = replace(query, args=list(query.args))
    source, keyset = _from(query)
    where = query.conditions()
    if after is not None:
        where.append(f"({keyset}) < ({query.arg(after[0])}, {query.arg(after[1])})")
    order = ", ".join(f"{c} DESC" for c in keyset.split(", "))
    rows = await fetch(f"SELECT {_MEMBER_COLUMNS} FROM {source} WHERE {' AND '.join(where) or 'TRUE'} "
                       f"ORDER BY {order} LIMIT {query.arg(limit)} OFFSET {query.arg(offset)}", *query.args)
    return [_member_out(dict(r)) for r in rows]


async def _count(query: _Query, cap: int) -> tuple[int, bool]:
    if query.nothing:
        return 0, False
    query = replace(query, args=list(query.args))
    source, _keyset = _from(query, counting=True)
    rows = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM {source} "
                       f"WHERE {' AND '.join(query.conditions()) or 'TRUE'} LIMIT {query.arg(cap + 1)}) AS capped",
                       *query.args)
    return capped(int(rows[0]["n"]), cap)


def _member_out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "org_unit.path"}
    out["id_number"] = row.get("id_number_hint") or None
    out.pop("id_number_hint", None)
    return out


async def get_member(principal: Principal | None, member_id: uuid.UUID, perm: Perm = Perm.MEMBERS_READ
                     ) -> dict[str, Any]:
    row = await Member.select(*MEMBER_FIELDS).where(Member.id == member_id).first()
    if row is None or not _can_see(principal, row["org_unit.path"], row["user"], perm):
        raise NotFound("no such member", code="member_not_found")
    out = _member_out(row)
    out["vehicles"] = await Vehicle.select(Vehicle.id, Vehicle.plate, Vehicle.vin).where(Vehicle.member == member_id)
    return out


async def _id_number_row(principal: Principal | None, member_id: uuid.UUID) -> dict[str, Any]:
    """The member's encrypted ID number, when the caller manages the member (else 404, like a
    missing member): the one check behind revealing it, shared by the API and the staff page."""
    row = await Member.select(Member.id_number_enc, Member.org_unit.path, Member.user).where(
        Member.id == member_id).first()
    if row is None or not _can_see(principal, row["org_unit.path"], row["user"], Perm.MEMBERS_MANAGE):
        raise NotFound("no such member", code="member_not_found")
    return row


async def may_reveal_id_number(principal: Principal, member_id: uuid.UUID) -> bool:
    """Whether `reveal_id_number` would show this caller a number (so a page offers it only then)."""
    if not principal.can(Perm.MEMBERS_MANAGE):
        return False
    try:
        row = await _id_number_row(principal, member_id)
    except NotFound:
        return False
    return row["id_number_enc"] is not None


async def reveal_id_number(principal: Principal | None, member_id: uuid.UUID) -> str | None:
    """The clear ID number, for staff allowed to manage the member. Every reveal is audited here,
    so each way in (API, staff page) leaves the same trail."""
    row = await _id_number_row(principal, member_id)
    if row["id_number_enc"] is None:
        return None
    await audit.record("club_member.reveal_id", "club_member", member_id)
    return crypto.decrypt(row["id_number_enc"], tenant_id=current_tenant_id(), purpose=PURPOSE_ID_NUMBER).decode()


async def _unit_for(principal: Principal | None, unit_id: uuid.UUID | None) -> uuid.UUID:
    if unit_id is None:
        if principal is not None:
            scope = principal.scope(Perm.MEMBERS_MANAGE)
            if scope:  # the caller's own top unit
                unit = await OrgUnit.select(OrgUnit.id).where(OrgUnit.path == scope[0]).first()
                if unit:
                    return unit["id"]
        return (await platform_service.root_unit())["id"]
    unit = await OrgUnit.select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id == unit_id).first()
    if unit is None or (principal is not None and not principal.covers(Perm.MEMBERS_MANAGE, unit["path"])):
        raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
    return unit["id"]


async def create_member(principal: Principal | None, club_id: uuid.UUID, *, name: str, phone: str,
                        id_number: str | None = None, org_unit: uuid.UUID | None = None,
                        user_id: uuid.UUID | None = None, household: uuid.UUID | None = None) -> dict[str, Any]:
    await get_club(club_id)
    problems = Problems()  # every field's problem at once
    name = problems.check(prules.check_text, name, "name", max_len=120)
    phone = problems.check(rules.check_phone, phone)
    if id_number:
        id_number = id_number.strip()
        if not 4 <= len(id_number) <= 32:
            problems.add(ValidationFailed("id_number must be 4–32 characters", field="id_number"))
    problems.done()
    unit_id = await _unit_for(principal, org_unit)
    enc, hint = None, ""
    if id_number:
        enc = crypto.encrypt(id_number.encode(), tenant_id=current_tenant_id(), purpose=PURPOSE_ID_NUMBER)
        hint = rules.mask_id_number(id_number)
    if user_id is not None and not await User.exists().where(User.id == user_id):
        raise NotFound("no such user", code="user_not_found", field="user_id")
    if household is not None:
        await get_member(principal, household)
    m = Member(club=club_id, name=name, phone=phone, id_number_enc=enc, id_number_hint=hint, org_unit=unit_id,
               user=user_id, household=household)
    await m.save()
    await audit.record("club_member.create", "club_member", m.id,
                       after={"club": club_id, "name": name, "phone": phone, "id_number": hint or None,
                              "org_unit": unit_id, "user": user_id})
    return await get_member(None, m.id)


async def update_member(principal: Principal | None, member_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    member = await get_member(principal, member_id, Perm.MEMBERS_MANAGE)
    changes: dict[Any, Any] = {}
    after: dict[str, Any] = {}
    if fields.get("name") is not None and fields["name"] != member["name"]:
        changes[Member.name] = after["name"] = prules.check_text(fields["name"], "name", max_len=120)
    if fields.get("phone") is not None and fields["phone"] != member["phone"]:
        changes[Member.phone] = after["phone"] = rules.check_phone(fields["phone"])
    if fields.get("org_unit") is not None and fields["org_unit"] != member["org_unit"]:
        changes[Member.org_unit] = after["org_unit"] = await _unit_for(principal, fields["org_unit"])
    if fields.get("user_id") is not None and fields["user_id"] != member["user"]:
        if not await User.exists().where(User.id == fields["user_id"]):
            raise NotFound("no such user", code="user_not_found", field="user_id")
        changes[Member.user] = after["user"] = fields["user_id"]
    if changes:
        await Member.update(changes).where(Member.id == member_id)
        await audit.record("club_member.update", "club_member", member_id,
                           before={k: member.get(k if k != "user" else "user") for k in after}, after=after)
    return await get_member(None, member_id)


async def add_vehicle(principal: Principal | None, member_id: uuid.UUID, *, plate: str,
                      vin: str = "") -> dict[str, Any]:
    await get_member(principal, member_id, Perm.MEMBERS_MANAGE)
    plate = rules.check_plate(plate)
    vin = (vin or "").strip().upper()
    if vin and len(vin) != 17:
        raise ValidationFailed("vin must be 17 characters", field="vin")
    if await Vehicle.exists().where(Vehicle.plate == plate):
        raise Conflict("the vehicle %(plate)s is registered already", code="vehicle_taken", field="plate",
                       params={"plate": plate})
    v = Vehicle(member=member_id, plate=plate, vin=vin)
    try:
        await v.save()
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("the vehicle %(plate)s is registered already", code="vehicle_taken", field="plate",
                       params={"plate": plate}) from exc
    await audit.record("club_vehicle.create", "club_vehicle", v.id, after={"member": member_id, "plate": plate,
                                                                           "vin": vin})
    return {"id": v.id, "plate": plate, "vin": vin}


async def member_for_user(user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await Member.select(Member.id, Member.club).where(Member.user == user_id)


# ---- cards ----------------------------------------------------------------------------------

def card_out(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    now = now or clock.now()
    return {
        "id": row["id"], "card_no": row["card_no"],
        "status": rules.card_status(row["state"], row["valid_until"], row["plan.grace_days"], now),
        "state": row["state"], "valid_from": row["valid_from"], "valid_until": row["valid_until"],
        "club": row["club"], "plan": {"id": row["plan"], "code": row["plan.code"], "name": row["plan.name"]},
        "member": {"id": row["member"], "name": row["member.name"]},
        "vehicle": {"id": row["vehicle"], "plate": row["vehicle.plate"]} if row["vehicle"] else None,
        "policy_no": row["policy_no"] or None, "static_card": row["plan.static_card"],
        "replaces": row["replaces"], "approval_request": row.get("approval_request_id"),
        "created_at": row["created_at"],
    }


async def _card_row(card_no: str) -> dict[str, Any] | None:
    return await MemberCard.select(*CARD_FIELDS).where(MemberCard.card_no == card_no).first()


async def get_card(principal: Principal | None, card_no: str, perm: Perm = Perm.MEMBERS_READ) -> dict[str, Any]:
    row = await _card_row(card_no)
    if row is None or not _can_see(principal, row["member.org_unit.path"], row["member.user"], perm):
        raise NotFound("no such card", code="card_not_found")
    return row


async def list_cards(principal: Principal | None, member_id: uuid.UUID) -> list[dict[str, Any]]:
    await get_member(principal, member_id)
    rows = await MemberCard.select(*CARD_FIELDS).where(MemberCard.member == member_id).order_by(MemberCard.created_at)
    return [card_out(r) for r in rows]


async def cards_by_member(member_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The cards of members the caller listed already (scoped by `list_members`), newest first."""
    out: dict[uuid.UUID, list[dict[str, Any]]] = {m: [] for m in member_ids}
    if not member_ids:
        return out
    rows = await MemberCard.select(*CARD_FIELDS).where(MemberCard.member.is_in(member_ids)).order_by(
        MemberCard.created_at, ascending=False)
    now = clock.now()
    for r in rows:
        out[r["member"]].append(card_out(r, now))
    return out


async def cards_of_user(user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await MemberCard.select(*CARD_FIELDS).where(MemberCard.member.user == user_id).order_by(
        MemberCard.created_at, ascending=False)
    return [card_out(r) for r in rows]


async def _event(card_id: uuid.UUID, event_kind: str, **detail: Any) -> None:
    await CardEvent(card=card_id, kind=event_kind, detail=audit._jsonable(detail), actor_id=current_actor().id).save()


async def card_events(principal: Principal | None, card_no: str) -> list[dict[str, Any]]:
    card = await get_card(principal, card_no)
    return await CardEvent.select(CardEvent.kind, CardEvent.detail, CardEvent.actor_id, CardEvent.created_at).where(
        CardEvent.card == card["id"]).order_by(CardEvent.created_at)


async def _next_card_no(club_id: uuid.UUID) -> str:
    # One UPDATE takes the club row's lock and bumps the counter: concurrent enrolments queue
    # on it and each gets its own number (raw SQL for the atomic increment-and-return).
    rows = await fetch("UPDATE club SET card_seq = card_seq + 1 WHERE id = $1 "
                       "RETURNING card_seq, card_prefix, card_digits", club_id)
    r = rows[0]
    return rules.format_card_no(r["card_prefix"], r["card_digits"], r["card_seq"])


async def enrol(principal: Principal | None, member_id: uuid.UUID, *, plan_id: uuid.UUID,
                vehicle_id: uuid.UUID | None = None, policy_no: str | None = None,
                policy_ends_at: datetime | None = None, via: str = "staff",
                card_no: str | None = None) -> dict[str, Any]:
    """Give a member a card on a plan. Free plans without approval activate at once; paid
    plans wait for their first period to be paid; approval plans wait for the approval, whether
    the member applied (`via="application"`) or staff enrolled him (`"staff"`): both open the same
    approval request, so staff cannot skip the company's approval. Tenant files' demo members
    (`"tenant-file"`) are issued as they are written."""
    member = await get_member(principal, member_id, Perm.MEMBERS_MANAGE if via == "staff" else Perm.SELF_SERVICE)
    plan = await get_plan(plan_id)
    if plan["club"] != member["club"]:
        raise ValidationFailed("the plan belongs to another club", field="plan_id")
    if not plan["active"]:
        raise ValidationFailed("this plan takes no new members", field="plan_id")
    if plan["requires_vehicle"]:
        if vehicle_id is None:
            raise ValidationFailed("this plan needs a vehicle", field="vehicle_id")
        if not any(v["id"] == vehicle_id for v in member["vehicles"]):
            raise NotFound("no such vehicle of this member", code="vehicle_not_found", field="vehicle_id")
    elif vehicle_id is not None and not any(v["id"] == vehicle_id for v in member["vehicles"]):
        raise NotFound("no such vehicle of this member", code="vehicle_not_found", field="vehicle_id")
    if plan["policy_linked"] and (not policy_no or policy_ends_at is None):
        raise ValidationFailed("this plan's cards follow an insurance policy: give policy_no and policy_ends_at",
                               field="policy_no")
    asks_approval = plan["needs_approval"] and via in APPROVAL_VIA
    if asks_approval:  # before anything is written: no policy, no application
        await require_application_policy(field="plan_id")
    if plan["one_card_per_vehicle"] and vehicle_id is not None:
        live = await MemberCard.exists().where(MemberCard.vehicle == vehicle_id, MemberCard.club == member["club"],
                                               MemberCard.state.is_in(["pending", "active", "suspended"]))
        if live:
            raise Conflict("this vehicle already has a card in this club (one car, one member)",
                           code="vehicle_has_card", field="vehicle_id")
    number = card_no or await _next_card_no(member["club"])
    card = MemberCard(club=member["club"], plan=plan_id, member=member_id, vehicle=vehicle_id, card_no=number,
                      state="pending", policy_no=(policy_no or "").strip())
    try:
        await card.save()
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("this vehicle already has a card in this club (one car, one member)",
                       code="vehicle_has_card", field="vehicle_id") from exc
    # A policy-linked card waiting for approval keeps its policy's end with its creation: once
    # approved it runs until then (`on_application_approved`).
    await _event(card.id, "created", plan=plan["code"], via=via,
                 **({"policy_ends_at": policy_ends_at} if asks_approval and plan["policy_linked"] else {}))
    await audit.record("club_card.create", "club_card", card.id,
                       after={"card_no": number, "member": member_id, "plan": plan["code"], "via": via})
    if asks_approval:
        await _open_approval(card.id, member, plan)
    elif plan["policy_linked"]:
        assert policy_ends_at is not None
        await _activate(card.id, until=policy_ends_at, reason="policy")
    elif plan["fee"] == 0:
        await _activate(card.id, until=rules.add_months(clock.now(), plan["term_months"]), reason="free")
    else:
        await open_period(None, number, kind="join")
    return card_out(await get_card(None, number))


APPROVAL_VIA = ("application", "staff")


async def _open_approval(card_id: uuid.UUID, member: dict[str, Any], plan: dict[str, Any]) -> None:
    """Applications on plans that need approval go through the approval core (subject type
    `member_application`); its decision calls back `on_application_*` below."""
    from careclub.approvals import service as approvals

    requester = current_actor().id
    if requester is None:
        raise Conflict("this plan's applications need approval: sign in (or register) as a member to apply",
                       code="sign_in_to_apply")
    req = await approvals.open_request(
        subject_type=APPLICATION_SUBJECT, subject_id=str(card_id), amount=plan["fee"], category=None,
        in_plan=True, org_unit_id=member["org_unit"], title=f"{member['name']}: {plan['name']}",
        requester_id=requester)
    await MemberCard.update({MemberCard.approval_request_id: req["id"]}).where(MemberCard.id == card_id)
    await _event(card_id, "approval_requested", request=req["id"])
    # An all-automatic chain has already approved inside open_request, which called
    # on_application_approved itself: calling it again would open a second period.


async def _activate(card_id: uuid.UUID, *, until: datetime, reason: str) -> None:
    now = clock.now()
    await MemberCard.update({MemberCard.state: "active", MemberCard.valid_from: now,
                             MemberCard.valid_until: until}).where(MemberCard.id == card_id)
    await _event(card_id, "activated", valid_until=until, reason=reason)
    await audit.record("club_card.activate", "club_card", card_id, after={"valid_until": until, "reason": reason})


async def on_application_approved(request: dict[str, Any]) -> None:
    """Approval core callback: a free plan activates now; a paid one opens its first period."""
    card = await MemberCard.select(MemberCard.id, MemberCard.card_no, MemberCard.state, MemberCard.plan.fee,
                                   MemberCard.plan.term_months, MemberCard.plan.policy_linked).where(
        MemberCard.id == uuid.UUID(str(request["subject_id"]))).first()
    if card is None or card["state"] != "pending":
        return
    await _event(card["id"], "approved", request=request.get("id"))
    policy_end = await _policy_end(card["id"]) if card["plan.policy_linked"] else None
    if policy_end is not None:  # a policy-linked card runs until its policy ends
        await _activate(card["id"], until=policy_end, reason="approved")
    elif card["plan.fee"] == 0:
        await _activate(card["id"], until=rules.add_months(clock.now(), card["plan.term_months"]), reason="approved")
    else:
        await open_period(None, card["card_no"], kind="join")


async def _policy_end(card_id: uuid.UUID) -> datetime | None:
    row = await CardEvent.select(CardEvent.detail).where(CardEvent.card == card_id,
                                                          CardEvent.kind == "created").first()
    detail = row["detail"] if row else None
    if isinstance(detail, str):
        detail = json.loads(detail)
    value = (detail or {}).get("policy_ends_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def on_application_closed(request: dict[str, Any]) -> None:
    card = await MemberCard.select(MemberCard.id, MemberCard.state).where(
        MemberCard.id == uuid.UUID(str(request["subject_id"]))).first()
    if card is None or card["state"] != "pending":
        return
    await MemberCard.update({MemberCard.state: "cancelled"}).where(MemberCard.id == card["id"])
    await _event(card["id"], "application_" + str(request.get("status", "closed")), request=request.get("id"))
    await audit.record("club_card.cancel", "club_card", card["id"], after={"reason": request.get("status")})


async def change_state(principal: Principal | None, card_no: str, action: str, *, reason: str = "") -> dict[str, Any]:
    """activate (a pending card, staff override) / suspend / resume / cancel."""
    card = await get_card(principal, card_no, Perm.MEMBERS_MANAGE)
    allowed = {"suspend": ("active",), "resume": ("suspended",), "cancel": ("pending", "active", "suspended"),
               "activate": ("pending",)}
    if action not in allowed:
        raise ValidationFailed("action must be activate, suspend, resume or cancel", field="action")
    if card["state"] not in allowed[action]:
        raise Conflict("a %(state)s card cannot be %(action)sd", code="card_state_conflict",
                       params={"state": card['state'], "action": action})
    if action == "activate" and card.get("approval_request_id"):
        # The application's decision activates (or cancels) it: staff cannot skip the company's approval.
        raise Conflict("this card waits for its application's approval", code="awaiting_approval")
    new_state = {"suspend": "suspended", "resume": "active", "cancel": "cancelled", "activate": "active"}[action]
    # Conditional on the state read: of two racing changes only one lands.
    changed = await MemberCard.update({MemberCard.state: new_state}).where(
        MemberCard.id == card["id"], MemberCard.state == card["state"]).returning(MemberCard.id)
    if not changed:
        raise Conflict("the card changed meanwhile; reload and try again", code="card_state_conflict")
    if action == "activate" and card["valid_until"] is None:
        await _activate(card["id"], until=rules.add_months(clock.now(), card["plan.term_months"]), reason="staff")
    await _event(card["id"], action, reason=reason, before=card["state"], after=new_state)
    await audit.record(f"club_card.{action}", "club_card", card["id"], before={"state": card["state"]},
                       after={"state": new_state, "reason": reason})
    return card_out(await get_card(None, card_no))


async def reissue(principal: Principal | None, card_no: str, *, reason: str = "lost") -> dict[str, Any]:
    """A lost card: the old number stops at once, a new number carries the same term."""
    card = await get_card(principal, card_no, Perm.MEMBERS_MANAGE)
    changed = await MemberCard.update({MemberCard.state: "replaced"}).where(
        MemberCard.id == card["id"], MemberCard.state.is_in(["active", "suspended"])).returning(MemberCard.id)
    if not changed:
        raise Conflict("a %(state)s card cannot be reissued", code="card_state_conflict",
                       params={"state": card['state']})
    number = await _next_card_no(card["club"])
    new = MemberCard(club=card["club"], plan=card["plan"], member=card["member"], vehicle=card["vehicle"],
                     card_no=number, state=card["state"], valid_from=card["valid_from"],
                     valid_until=card["valid_until"], policy_no=card["policy_no"], replaces=card["id"])
    await new.save()
    await _event(card["id"], "replaced", reason=reason, new_card_no=number)
    await _event(new.id, "reissued", reason=reason, old_card_no=card_no)
    await audit.record("club_card.reissue", "club_card", new.id, before={"card_no": card_no},
                       after={"card_no": number, "reason": reason})
    return card_out(await get_card(None, number))


async def renew_policy(principal: Principal | None, card_no: str, *, policy_no: str,
                       policy_ends_at: datetime) -> dict[str, Any]:
    """A policy-linked card follows its policy: the renewed policy's end becomes the card's end
    (never shortening it)."""
    card = await get_card(principal, card_no, Perm.MEMBERS_MANAGE)
    if not card["plan.policy_linked"]:
        raise ValidationFailed("this card's plan does not follow a policy", field="policy_no")
    if card["state"] not in ("active", "pending"):
        raise Conflict("a %(state)s card cannot be renewed", code="card_state_conflict",
                       params={"state": card['state']})
    until = max(policy_ends_at, card["valid_until"]) if card["valid_until"] else policy_ends_at
    await MemberCard.update({MemberCard.valid_until: until, MemberCard.policy_no: policy_no.strip(),
                             MemberCard.state: "active",
                             MemberCard.valid_from: card["valid_from"] or clock.now()}).where(
        MemberCard.id == card["id"])
    await _event(card["id"], "policy_renewed", policy_no=policy_no, valid_until=until)
    await audit.record("club_card.policy_renew", "club_card", card["id"],
                       before={"valid_until": card["valid_until"], "policy_no": card["policy_no"]},
                       after={"valid_until": until, "policy_no": policy_no})
    return card_out(await get_card(None, card_no))


# ---- periods: the payable unit ---------------------------------------------------------------

PERIOD_FIELDS = (MembershipPeriod.id, MembershipPeriod.card, MembershipPeriod.card.card_no, MembershipPeriod.kind,
                 MembershipPeriod.amount, MembershipPeriod.currency, MembershipPeriod.status,
                 MembershipPeriod.paid_at, MembershipPeriod.payment_method, MembershipPeriod.payment_ref,
                 MembershipPeriod.starts_at, MembershipPeriod.ends_at, MembershipPeriod.created_at)


async def open_period(principal: Principal | None, card_no: str, *, kind: str = "renewal") -> dict[str, Any]:
    """A period to pay for (join or renewal) at the plan's fee; an open one is reused."""
    card = await get_card(principal, card_no, Perm.MEMBERS_READ)
    if card["state"] in ("cancelled", "replaced"):
        raise Conflict("this card is closed", code="card_state_conflict")
    if card["plan.fee"] == 0:
        raise ValidationFailed("this plan is free: nothing to pay", field="card_no")
    open_row = await MembershipPeriod.select(*PERIOD_FIELDS).where(
        MembershipPeriod.card == card["id"], MembershipPeriod.status == "pending").first()
    if open_row:
        return open_row
    currency = (await fetch("SELECT currency FROM tenant WHERE id = $1", current_tenant_id()))[0]["currency"]
    p = MembershipPeriod(card=card["id"], kind=kind, amount=card["plan.fee"], currency=currency)
    await p.save()
    await _event(card["id"], "period_opened", period=p.id, amount=card["plan.fee"], kind=kind)
    await audit.record("club_period.create", "club_period", p.id,
                       after={"card": card["id"], "amount": card["plan.fee"], "kind": kind})
    return await get_period(p.id)


async def get_period(period_id: uuid.UUID) -> dict[str, Any]:
    row = await MembershipPeriod.select(*PERIOD_FIELDS).where(MembershipPeriod.id == period_id).first()
    if row is None:
        raise NotFound("no such period", code="period_not_found")
    return row


async def list_periods(principal: Principal | None, card_no: str) -> list[dict[str, Any]]:
    card = await get_card(principal, card_no)
    return await MembershipPeriod.select(*PERIOD_FIELDS).where(MembershipPeriod.card == card["id"]).order_by(
        MembershipPeriod.created_at)


async def mark_period_paid(period_id: uuid.UUID, *, method: str, reference: str = "",
                           principal: Principal | None = None) -> dict[str, Any]:
    """The one entry point payments use: pending → paid exactly once (a repeat is a no-op that
    answers the period), extending the card by the plan's term stacked on its current end. A
    cancelled or replaced card refuses with 409 `card_closed` and stays as it was."""
    period = await get_period(period_id)
    card = await MemberCard.select(*CARD_FIELDS).where(MemberCard.id == period["card"]).first()
    assert card is not None
    if principal is not None and not _can_see(principal, card["member.org_unit.path"], None, Perm.MEMBERS_MANAGE):
        raise NotFound("no such period", code="period_not_found")
    if period["status"] == "paid":
        return period
    # Lock the card row: a payment webhook and an offline payment for two periods of one card
    # must stack one after the other, not both on the same old end (raw SQL for FOR UPDATE).
    locked = await fetch("SELECT valid_until, state FROM club_card WHERE id = $1 FOR UPDATE", card["id"])
    if locked[0]["state"] in ("cancelled", "replaced"):
        # A closed card is never extended. A payment that arrives anyway is the caller's to refund
        # (or, for a card reissued after a loss, to record on the new card's period).
        raise Conflict("the card %(card_no)s is %(card_status)s: a payment cannot renew it", code="card_closed",
                       params={"card_no": card["card_no"],
                               "card_status": rules.card_status(locked[0]["state"], None, 0, clock.now())})
    claimed = await MembershipPeriod.update({MembershipPeriod.status: "paid", MembershipPeriod.paid_at: clock.now(),
                                             MembershipPeriod.payment_method: method,
                                             MembershipPeriod.payment_ref: reference}).where(
        MembershipPeriod.id == period_id, MembershipPeriod.status == "pending").returning(MembershipPeriod.id)
    if not claimed:
        return await get_period(period_id)
    now = clock.now()
    start, end = rules.stacked_term(locked[0]["valid_until"], card["plan.grace_days"], card["plan.term_months"], now)
    await MembershipPeriod.update({MembershipPeriod.starts_at: start, MembershipPeriod.ends_at: end}).where(
        MembershipPeriod.id == period_id)
    updates: dict[Any, Any] = {MemberCard.valid_until: end}
    if locked[0]["state"] == "pending":
        updates[MemberCard.state] = "active"
        updates[MemberCard.valid_from] = now
    await MemberCard.update(updates).where(MemberCard.id == card["id"])
    await _event(card["id"], "period_paid", period=period_id, method=method, reference=reference,
                 valid_until=end, before=locked[0]["valid_until"])
    await audit.record("club_period.paid", "club_period", period_id, before={"status": "pending"},
                       after={"status": "paid", "method": method, "reference": reference, "ends_at": end})
    return await get_period(period_id)


async def revoke_period(period_id: uuid.UUID, *, why: str) -> dict[str, Any]:
    """A paid period taken back (its payment fully refunded, or an offline payment reversed): the card
    loses the period's length of validity, and a card with no paid period left is pending again."""
    period = await get_period(period_id)
    if period["status"] != "paid":
        return period
    if why == "refunded":
        rule = await fetch("SELECT p.refund_rule FROM club_card c JOIN club_plan p ON p.id = c.plan WHERE c.id = $1",
                           period["card"])
        if rule and rule[0]["refund_rule"] == "keep":  # the plan's rule: the money goes back, the membership stays
            await _event(period["card"], "period_refunded_kept", period=period_id)
            return period
    locked = await fetch("SELECT valid_until, state FROM club_card WHERE id = $1 FOR UPDATE", period["card"])
    await MembershipPeriod.update({MembershipPeriod.status: why}).where(MembershipPeriod.id == period_id)
    left = await MembershipPeriod.count().where(MembershipPeriod.card == period["card"],
                                                MembershipPeriod.status == "paid")
    before = locked[0]["valid_until"]
    updates: dict[Any, Any]
    if not left and locked[0]["state"] in ("active", "suspended"):
        updates = {MemberCard.state: "pending", MemberCard.valid_from: None, MemberCard.valid_until: None}
    elif before is not None and period["starts_at"] is not None and period["ends_at"] is not None:
        updates = {MemberCard.valid_until: before - (period["ends_at"] - period["starts_at"])}
    else:
        updates = {}
    if updates:
        await MemberCard.update(updates).where(MemberCard.id == period["card"])
    after = updates.get(MemberCard.valid_until, before)
    await _event(period["card"], "period_revoked", period=period_id, why=why, before=before, valid_until=after)
    await audit.record("club_period.revoked", "club_period", period_id, before={"status": "paid"},
                       after={"status": why, "valid_until": after})
    return await get_period(period_id)


async def apply(principal: Principal | None, club_id: uuid.UUID, *, plan_id: uuid.UUID, name: str, phone: str,
                plate: str | None = None, vin: str = "", id_number: str | None = None,
                policy_no: str | None = None, policy_ends_at: datetime | None = None,
                user_id: uuid.UUID | None = None) -> dict[str, Any]:
    """A person applies to a club (join page or a signed-in member): member record, vehicle and
    a card that waits for approval, payment or nothing, as the plan says. `user_id` links the
    member to an account the join page has just created for an anonymous applicant."""
    plan = await get_plan(plan_id)
    if plan["club"] != club_id:
        raise ValidationFailed("the plan belongs to another club", field="plan_id")
    if plan["requires_vehicle"] and not plate:
        raise ValidationFailed("this plan needs a vehicle: give its plate", field="plate")
    if user_id is None:
        user_id = principal.user_id if principal is not None and principal.kind == "member" else None
    existing = None
    if user_id is not None:
        existing = await Member.select(Member.id).where(Member.user == user_id, Member.club == club_id).first()
    member = existing or await create_member(None, club_id, name=name, phone=phone, id_number=id_number,
                                             user_id=user_id)
    vehicle_id = None
    if plate:
        vehicle = await add_vehicle(None, member["id"], plate=plate, vin=vin)
        vehicle_id = vehicle["id"]
    return await enrol(None, member["id"], plan_id=plan_id, vehicle_id=vehicle_id, policy_no=policy_no,
                       policy_ends_at=policy_ends_at, via="application")
