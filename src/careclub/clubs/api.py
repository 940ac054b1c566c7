"""The clubs' JSON API: clubs, plans, merchants, benefits, members, cards, QR tokens, check-ins.

Every body is a struct of `clubs.schemas`, shaped from what the service answered."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from careclub.clubs import (
    payable,  # noqa: F401  (registers membership periods as payables)
    schemas,
    service,
)
from careclub.clubs.service._checkin import ROTATION_OVERLAP_S
from careclub.core.errors import NotFound, ValidationFailed
from careclub.core.money import Money, to_money, with_money
from careclub.core.paging import After, BoundedOffset, decode_cursor, next_after
from careclub.core.principal import Principal
from careclub.core.schemas import INT32, out, out_list
from careclub.platform.api import Limit, PrincipalDep, minor_units, provide_principal
from careclub.platform.permissions import Perm

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}
S = TypeVar("S", bound=msgspec.Struct)

# A signing key's id (service._keys allocates 1 .. 2**31 - 1).
Kid = Annotated[int, PathParameter(ge=1, le=INT32[1])]
# The members search: a name, phone, card number or plate.
Search = Annotated[str | None, QueryParameter(max_length=200)]


def _plan(row: dict[str, Any], principal: Principal) -> schemas.Plan:
    return out(schemas.Plan, with_money(row, principal.tenant.currency, "fee"))


def _period(row: dict[str, Any], principal: Principal) -> schemas.MembershipPeriod:
    return out(schemas.MembershipPeriod, with_money(row, principal.tenant.currency, "amount"))


def _merchant(row: dict[str, Any], principal: Principal) -> schemas.Merchant:
    """`offer_value` is a percent, or minor units for an amount offer; the latter also comes as money."""
    amount = row["offer_value"] if row.get("offer_kind") == "amount" else None
    return out(schemas.Merchant,
               {**row, "offer_amount": None if amount is None else to_money(amount, principal.tenant.currency)})


def _fields(data: msgspec.Struct, *skip: str) -> Mapping[str, Any]:
    """A request body as the service's keyword arguments."""
    return {f: getattr(data, f) for f in data.__struct_fields__ if f not in skip}


def _merchant_fields(data: schemas.MerchantCreate | schemas.MerchantUpdate, principal: Principal
                     ) -> Mapping[str, Any]:
    fields = dict(_fields(data, "offer_amount"))
    if data.offer_amount is not None:
        if fields.get("offer_kind") not in (None, "none", "amount"):
            raise ValidationFailed("offer_amount is the amount of an amount offer; leave it out for a %(offer_kind)s "
                                   "offer", field="offer_amount", params={"offer_kind": fields["offer_kind"]})
        fields["offer_kind"] = "amount"
        fields["offer_value"] = minor_units(principal, data.offer_amount, "offer_amount")
    return fields


def _money(value: dict[str, str] | None) -> Money | None:
    return None if value is None else Money(amount=value["amount"], currency=value["currency"])


def _accepted(body: dict[str, Any]) -> schemas.CheckinAccepted:
    """The service's accepted body (or the first answer to a re-sent scan, read back from JSON) as
    its struct, built field by field: the check-in is the hot path (a test checks nothing is lost)."""
    member, discount, merchant = body["member"], body["discount"], body["merchant"]
    return schemas.CheckinAccepted(
        checkin_id=uuid.UUID(body["checkin_id"]),
        member=schemas.CheckinMember(display_name=member["display_name"], card_no=member["card_no"],
                                     plan=member["plan"], valid_until=member["valid_until"]),
        discount=None if discount is None else schemas.Discount(
            kind=discount["kind"], description=discount["description"], benefit=discount["benefit"],
            remaining=discount["remaining"], percent=discount["percent"], amount=_money(discount["amount"]),
            payable=_money(discount["payable"])),
        card_status=body["card_status"], static=body["static"],
        merchant=schemas.MerchantRef(code=merchant["code"], name=merchant["name"]))


class ClubController(Controller):
    path = "/api/v1/clubs"
    tags = ["clubs"]
    dependencies = _P

    @get("/", opt={"permission": Perm.MEMBERS_READ})
    async def list_clubs(self) -> list[schemas.Club]:
        return out_list(schemas.Club, await service.list_clubs())

    @post("/", opt={"permission": Perm.CLUBS_MANAGE}, status_code=201)
    async def create(self, data: JSONBody[schemas.ClubCreate]) -> schemas.Club:
        return out(schemas.Club, await service.create_club(**_fields(data)))

    @get("/{club_id:uuid}", opt={"permission": Perm.MEMBERS_READ})
    async def get_club(self, club_id: FromPath[uuid.UUID]) -> schemas.Club:
        return out(schemas.Club, await service.get_club(club_id))

    @patch("/{club_id:uuid}", opt={"permission": Perm.CLUBS_MANAGE})
    async def update(self, club_id: FromPath[uuid.UUID], data: JSONBody[schemas.ClubUpdate]) -> schemas.Club:
        return out(schemas.Club, await service.update_club(club_id, **_fields(data)))

    @get("/{club_id:uuid}/plans", opt={"permission": Perm.MEMBERS_READ})
    async def plans(self, club_id: FromPath[uuid.UUID], principal: PrincipalDep) -> list[schemas.Plan]:
        return [_plan(p, principal) for p in await service.list_plans(club_id)]

    @post("/{club_id:uuid}/plans", opt={"permission": Perm.CLUBS_MANAGE}, status_code=201)
    async def create_plan(self, club_id: FromPath[uuid.UUID], data: JSONBody[schemas.PlanCreate],
                          principal: PrincipalDep) -> schemas.Plan:
        fee = minor_units(principal, data.fee, "fee") or 0
        return _plan(await service.create_plan(club_id, **_fields(data, "fee"), fee=fee), principal)

    @get("/{club_id:uuid}/merchants", opt={"permission": Perm.MEMBERS_READ})
    async def merchants(self, club_id: FromPath[uuid.UUID], principal: PrincipalDep) -> list[schemas.Merchant]:
        await service.get_club(club_id)
        return [_merchant(m, principal) for m in await service.list_merchants(club_id)]

    @post("/{club_id:uuid}/merchants", opt={"permission": Perm.CLUBS_MANAGE}, status_code=201)
    async def create_merchant(self, club_id: FromPath[uuid.UUID], data: JSONBody[schemas.MerchantCreate],
                              principal: PrincipalDep) -> schemas.Merchant:
        """`offer_value` is the percent of a percent offer; an amount offer gives `offer_amount` as money
        (or `offer_value` in minor units)."""
        return _merchant(await service.create_merchant(club_id, **_merchant_fields(data, principal)), principal)

    @get("/{club_id:uuid}/benefits", opt={"permission": Perm.MEMBERS_READ})
    async def benefits(self, club_id: FromPath[uuid.UUID]) -> list[schemas.Benefit]:
        return out_list(schemas.Benefit, await service.list_benefits(club_id))

    @post("/{club_id:uuid}/benefits", opt={"permission": Perm.CLUBS_MANAGE}, status_code=201)
    async def create_benefit(self, club_id: FromPath[uuid.UUID], data: JSONBody[schemas.BenefitCreate]
                             ) -> schemas.Benefit:
        return out(schemas.Benefit, await service.create_benefit(club_id, **_fields(data)))

    @get("/{club_id:uuid}/stats", opt={"permission": Perm.MEMBERS_READ})
    async def stats(self, club_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.ClubStats:
        """Members by status, plan and branch (your branches), new per month, renewals, lapses,
        check-ins per merchant and benefit, and the club's five-year fee projection (null when the club
        has no `projected_monthly_joins`)."""
        return out(schemas.ClubStats, with_money(await service.club_stats(principal, club_id),
                                                 principal.tenant.currency, "amount", "fee", "fees"))

    @post("/{club_id:uuid}/applications", opt={"permission": Perm.SELF_SERVICE}, status_code=201)
    async def apply(self, club_id: FromPath[uuid.UUID], data: JSONBody[schemas.Application],
                    principal: PrincipalDep) -> schemas.Card:
        """A signed-in member applies for a card (approval, payment or nothing follows, per plan)."""
        return out(schemas.Card, await service.apply(principal, club_id, **_fields(data)))


class PlanController(Controller):
    path = "/api/v1/plans"
    tags = ["clubs"]
    dependencies = _P

    @patch("/{plan_id:uuid}", opt={"permission": Perm.CLUBS_MANAGE})
    async def update(self, plan_id: FromPath[uuid.UUID], data: JSONBody[schemas.PlanUpdate],
                     principal: PrincipalDep) -> schemas.Plan:
        fee = minor_units(principal, data.fee, "fee")
        return _plan(await service.update_plan(plan_id, **_fields(data, "fee"), fee=fee), principal)


class MerchantController(Controller):
    path = "/api/v1/merchants"
    tags = ["clubs"]
    dependencies = _P

    @get("/{merchant_id:uuid}", opt={"permission": Perm.MEMBERS_READ})
    async def get_merchant(self, merchant_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.Merchant:
        return _merchant(await service.get_merchant(merchant_id), principal)

    @patch("/{merchant_id:uuid}", opt={"permission": Perm.CLUBS_MANAGE})
    async def update(self, merchant_id: FromPath[uuid.UUID], data: JSONBody[schemas.MerchantUpdate],
                     principal: PrincipalDep) -> schemas.Merchant:
        return _merchant(await service.update_merchant(merchant_id, **_merchant_fields(data, principal)), principal)

    @post("/{merchant_id:uuid}/operators", opt={"permission": Perm.CLUBS_MANAGE}, status_code=201)
    async def link(self, merchant_id: FromPath[uuid.UUID], data: JSONBody[schemas.OperatorLink]
                   ) -> schemas.MerchantOperator:
        """Make a person the scanner of this merchant (moving him if he scanned for another). He must
        hold a role with the scanning permission (`merchant_operator`): else 422 `operator_role_missing`.
        Linking him again where he is linked changes nothing."""
        return out(schemas.MerchantOperator, await service.link_operator(merchant_id, data.user_id))

    @get("/{merchant_id:uuid}/operators", opt={"permission": Perm.CLUBS_MANAGE})
    async def list_operators(self, merchant_id: FromPath[uuid.UUID]) -> schemas.MerchantOperatorList:
        """The people who scan for this merchant, first linked first."""
        rows = await service.list_operators(merchant_id)
        return schemas.MerchantOperatorList(items=[out(schemas.MerchantOperatorDetail, r) for r in rows])

    @delete("/{merchant_id:uuid}/operators/{user_id:uuid}", opt={"permission": Perm.CLUBS_MANAGE},
            status_code=200)
    async def unlink(self, merchant_id: FromPath[uuid.UUID], user_id: FromPath[uuid.UUID]
                     ) -> schemas.MerchantOperator:
        """Stop a person scanning for this merchant (his roles stay). 404 `operator_not_found` when he
        does not scan here."""
        return out(schemas.MerchantOperator, await service.unlink_operator(merchant_id, user_id))


class BenefitController(Controller):
    path = "/api/v1/benefits"
    tags = ["clubs"]
    dependencies = _P

    @patch("/{benefit_id:uuid}", opt={"permission": Perm.CLUBS_MANAGE})
    async def update(self, benefit_id: FromPath[uuid.UUID], data: JSONBody[schemas.BenefitUpdate]
                     ) -> schemas.Benefit:
        return out(schemas.Benefit, await service.update_benefit(benefit_id, **_fields(data)))


class MemberController(Controller):
    path = "/api/v1/members"
    tags = ["members"]
    dependencies = _P

    @get("/", opt={"permission": Perm.MEMBERS_READ})
    async def list_members(self, principal: PrincipalDep, club: FromQuery[uuid.UUID | None] = None,
                           q: Search = None, org_unit: FromQuery[uuid.UUID | None] = None,
                           after: After = None, limit: Limit = 50, offset: BoundedOffset = 0) -> schemas.MemberList:
        """Members in your branches, newest first, a keyset page at a time (`after` = the previous page's
        `next_after`). `q` is a phone, a card number, a plate, a phone's last four digits or a piece of a
        name; `total` counts at most 10,000 (`total_capped` says when there are more)."""
        filters: dict[str, Any] = {"club_id": club, "q": q, "unit_id": org_unit}
        rows, total, more = await service.member_page(principal, **filters, after=decode_cursor(after),
                                                      limit=limit + 1, offset=offset)
        rows, cursor = next_after(rows, limit)
        return schemas.MemberList(items=[out(schemas.MemberSummary, r) for r in rows], total=total,
                                  total_capped=more, limit=limit, offset=offset, next_after=cursor)

    @post("/", opt={"permission": Perm.MEMBERS_MANAGE}, status_code=201)
    async def create(self, data: JSONBody[schemas.MemberCreate], principal: PrincipalDep) -> schemas.Member:
        return out(schemas.Member, await service.create_member(principal, data.club_id,
                                                                    **_fields(data, "club_id")))

    @get("/{member_id:uuid}", opt={"permission": Perm.MEMBERS_READ})
    async def get_member(self, member_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.Member:
        return out(schemas.Member, await service.get_member(principal, member_id))

    @patch("/{member_id:uuid}", opt={"permission": Perm.MEMBERS_MANAGE})
    async def update(self, member_id: FromPath[uuid.UUID], data: JSONBody[schemas.MemberUpdate],
                     principal: PrincipalDep) -> schemas.Member:
        return out(schemas.Member, await service.update_member(principal, member_id, **_fields(data)))

    @post("/{member_id:uuid}/vehicles", opt={"permission": Perm.MEMBERS_MANAGE}, status_code=201)
    async def add_vehicle(self, member_id: FromPath[uuid.UUID], data: JSONBody[schemas.VehicleCreate],
                          principal: PrincipalDep) -> schemas.Vehicle:
        return out(schemas.Vehicle, await service.add_vehicle(principal, member_id, plate=data.plate, vin=data.vin))

    @get("/{member_id:uuid}/cards", opt={"permission": Perm.MEMBERS_READ})
    async def cards(self, member_id: FromPath[uuid.UUID], principal: PrincipalDep) -> list[schemas.Card]:
        return out_list(schemas.Card, await service.list_cards(principal, member_id))

    @post("/{member_id:uuid}/cards", opt={"permission": Perm.MEMBERS_MANAGE}, status_code=201)
    async def enrol(self, member_id: FromPath[uuid.UUID], data: JSONBody[schemas.CardCreate],
                    principal: PrincipalDep) -> schemas.Card:
        """Enrol the member on a plan: a free plan activates now, a paid one waits for payment."""
        return out(schemas.Card, await service.enrol(principal, member_id, **_fields(data)))

    @get("/{member_id:uuid}/id-number", opt={"permission": Perm.MEMBERS_MANAGE},
         cache_control=CacheControlHeader(no_store=True))
    async def id_number(self, member_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.MemberIdNumber:
        """The member's ID number in clear (audited)."""
        return schemas.MemberIdNumber(id_number=await service.reveal_id_number(principal, member_id))


class CardController(Controller):
    path = "/api/v1/cards"
    tags = ["cards"]
    dependencies = _P

    @get("/{card_no:str}", opt={"permission": Perm.AUTHENTICATED})
    async def get_card(self, card_no: FromPath[str], principal: PrincipalDep) -> schemas.Card:
        return await _card_for(principal, card_no)

    @get("/{card_no:str}/qr", opt={"permission": Perm.AUTHENTICATED, "statuses": (409,)})
    async def qr(self, card_no: FromPath[str], principal: PrincipalDep) -> schemas.CardQr:
        """A fresh signed QR token and its SVG (the card's member, or staff in scope). The token is current for
        60 s (`expires_at`); a scan is still accepted up to 30 s after that, the allowance for clocks that differ."""
        issued = await service.issue_qr(principal, card_no)
        return schemas.CardQr(token=issued["token"], expires_at=issued["expires_at"], svg=issued["svg"])

    @get("/{card_no:str}/static-qr", opt={"permission": Perm.MEMBERS_MANAGE, "statuses": (409,)})
    async def static_qr(self, card_no: FromPath[str], principal: PrincipalDep) -> schemas.StaticCardQr:
        """A printable static code (no expiry; capped per day by the plan) where the plan allows."""
        await service.get_card(principal, card_no, Perm.MEMBERS_MANAGE)
        return out(schemas.StaticCardQr, await service.issue_qr(principal, card_no, static=True))

    @get("/{card_no:str}/events", opt={"permission": Perm.MEMBERS_READ})
    async def events(self, card_no: FromPath[str], principal: PrincipalDep) -> list[schemas.CardEvent]:
        return out_list(schemas.CardEvent, await service.card_events(principal, card_no))

    @post("/{card_no:str}/{action:str}", opt={"permission": Perm.MEMBERS_MANAGE}, status_code=200)
    async def act(self, card_no: FromPath[str], action: FromPath[str], data: JSONBody[schemas.CardAction],
                  principal: PrincipalDep) -> schemas.Card:
        """activate / suspend / resume / cancel / reissue (a lost card: the old number stops at once)."""
        if action == "reissue":
            return out(schemas.Card, await service.reissue(principal, card_no, reason=data.reason or "lost"))
        if action not in ("activate", "suspend", "resume", "cancel"):
            raise NotFound("no such card action", code="not_found")
        return out(schemas.Card, await service.change_state(principal, card_no, action, reason=data.reason))

    @post("/{card_no:str}/policy", opt={"permission": Perm.MEMBERS_MANAGE}, status_code=200)
    async def policy(self, card_no: FromPath[str], data: JSONBody[schemas.PolicyRenewal],
                     principal: PrincipalDep) -> schemas.Card:
        """The linked insurance policy was renewed: the card follows it."""
        return out(schemas.Card, await service.renew_policy(principal, card_no, policy_no=data.policy_no,
                                                            policy_ends_at=data.policy_ends_at))

    @get("/{card_no:str}/periods", opt={"permission": Perm.AUTHENTICATED})
    async def periods(self, card_no: FromPath[str], principal: PrincipalDep) -> list[schemas.MembershipPeriod]:
        await _card_for(principal, card_no)
        return [_period(p, principal) for p in await service.list_periods(None, card_no)]

    @post("/{card_no:str}/periods", opt={"permission": Perm.MEMBERS_MANAGE}, status_code=201)
    async def open_period(self, card_no: FromPath[str], principal: PrincipalDep) -> schemas.MembershipPeriod:
        """Open (or answer the open) renewal period to be paid."""
        return _period(await service.open_period(principal, card_no, kind="renewal"), principal)


class PeriodController(Controller):
    path = "/api/v1/periods"
    tags = ["cards"]
    dependencies = _P

    @post("/{period_id:uuid}/offline-payment", opt={"permission": Perm.MEMBERS_MANAGE}, status_code=200)
    async def pay_offline(self, period_id: FromPath[uuid.UUID], data: JSONBody[schemas.OfflinePayment],
                          principal: PrincipalDep) -> schemas.MembershipPeriod:
        """Staff record that a period was paid offline: the card is extended by the plan's term."""
        return _period(await service.mark_period_paid(period_id, method="offline", reference=data.reference,
                                                      principal=principal), principal)


class MyCardsController(Controller):
    path = "/api/v1/me/cards"
    tags = ["cards"]
    dependencies = _P

    @get("/", opt={"permission": Perm.SELF_SERVICE})
    async def mine(self, principal: PrincipalDep) -> list[schemas.Card]:
        return out_list(schemas.Card, await service.cards_of_user(principal.user_id))


class CheckinController(Controller):
    path = "/api/v1/checkins"
    tags = ["check-ins"]
    dependencies = _P

    @post("/", opt={"permission": Perm.CHECKINS_SCAN}, status_code=201)
    async def check_in(self, data: JSONBody[schemas.CheckinCreate], principal: PrincipalDep
                       ) -> schemas.CheckinAccepted:
        """Scan a member's QR token (merchant operators). 201 `accepted: true`, or a 4xx with
        `accepted: false` and the reason code."""
        return _accepted(await service.check_in(principal, token=data.token, benefit=data.benefit,
                                                amount=data.amount, idempotency_key=data.idempotency_key))

    @get("/", opt={"permission": Perm.CHECKINS_SCAN})
    async def today(self, principal: PrincipalDep, limit: Limit = 50) -> list[schemas.Checkin]:
        """Your merchant's check-ins of today."""
        merchant = await service.operator_merchant(principal)
        today = service.local_day(principal.tenant.timezone)
        return [out(schemas.Checkin, with_money(c, principal.tenant.currency, "amount", "discount_amount"))
                for c in await service.list_checkins(merchant_id=merchant["id"], during=today, limit=limit)]


class SigningKeyController(Controller):
    path = "/api/v1/club-signing-keys"
    tags = ["clubs"]
    dependencies = _P

    @get("/", opt={"permission": Perm.CLUBS_MANAGE})
    async def list_keys(self) -> list[schemas.SigningKey]:
        return out_list(schemas.SigningKey, await service.list_keys())

    @post("/rotate", opt={"permission": Perm.CLUBS_MANAGE}, status_code=201)
    async def rotate(self, data: JSONBody[schemas.KeyRotation]) -> schemas.KeyRotated:
        """Start a new QR signing key; the previous one verifies for `overlap_seconds` more."""
        from datetime import timedelta

        shortest, longest = ROTATION_OVERLAP_S
        if not shortest <= data.overlap_seconds <= longest:
            raise ValidationFailed("overlap_seconds must be between %(shortest)s and 604800", field="overlap_seconds",
                                   params={"shortest": shortest})
        return out(schemas.KeyRotated, await service.rotate_keys(overlap=timedelta(seconds=data.overlap_seconds)))

    @post("/{kid:int}/revoke", opt={"permission": Perm.CLUBS_MANAGE}, status_code=200)
    async def revoke(self, kid: Kid) -> schemas.KeyRevoked:
        """Stop trusting a key that may have leaked: nothing it signed verifies any more (printed
        static cards need reprinting); the active key is replaced first. Routine rotation never
        needs this."""
        return out(schemas.KeyRevoked, await service.revoke_key(kid))


async def _card_for(principal: Principal, card_no: str) -> schemas.Card:
    """The card if the caller is its member or staff with members.read over its branch."""
    card = await service.get_card(None, card_no)
    if principal.kind == "member":
        ok = card["member.user"] == principal.user_id
    else:
        ok = principal.covers(Perm.MEMBERS_READ, card["member.org_unit.path"])
    if not ok:
        raise NotFound("no such card", code="card_not_found")
    return out(schemas.Card, service.card_out(card))


ROUTES = [ClubController, PlanController, MerchantController, BenefitController, MemberController, CardController,
          PeriodController, MyCardsController, CheckinController, SigningKeyController]
