"""Request and response bodies of the clubs API (msgspec).

Requests derive from `core.schemas.Input` (unknown fields refused) and take their bounds from the
columns they land in (`col()`), so text too long for a column or a number out of its range is a 422
naming the field, never a 500 from PostgreSQL. Responses are the bodies exactly as the API has always
answered them; a key that names a joined column (`org_unit.name`) keeps that name on the wire.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from piccolo.table import Table

from careclub.clubs import tables
from careclub.clubs.projection import MAX_MONTHLY_JOINS
from careclub.core.money import Money, MoneyIn32
from careclub.core.schemas import Input, col, text
from careclub.platform.rules import CODE

# ---- requests -------------------------------------------------------------------------------

# The service's own checks, as decoder bounds (platform.rules.CODE, rules.check_card_prefix).
_CODE = CODE.pattern
_CARD_PREFIX = r"^[A-Z][A-Z0-9]{0,7}-?$"
# Plenty of merchants for one benefit, still a bound on what one request may carry.
MAX_MERCHANTS = 1000


Code = Annotated[str, col(tables.Club.code, pattern=_CODE)]
# The club's business plan: new members a month, drawn against the actual ones; null for none.
ProjectedJoins = Annotated[int, col(tables.Club.projected_monthly_joins, ge=0, le=MAX_MONTHLY_JOINS,
                                    description="New members a month the club's plan expects; null for none.")]


class ClubCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Club,)

    code: Code
    name: Annotated[str, col(tables.Club.name)]
    card_prefix: Annotated[str, col(tables.Club.card_prefix, pattern=_CARD_PREFIX)]
    card_digits: Annotated[int, col(tables.Club.card_digits, ge=4, le=12)] = 6
    description: Annotated[str, text()] = ""
    projected_monthly_joins: ProjectedJoins | None = None


class ClubUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Club,)

    name: Annotated[str, col(tables.Club.name)] | None = None
    description: Annotated[str, text()] | None = None
    card_prefix: Annotated[str, col(tables.Club.card_prefix, pattern=_CARD_PREFIX)] | None = None
    card_digits: Annotated[int, col(tables.Club.card_digits, ge=4, le=12)] | None = None
    active: bool | None = None
    # null empties it (no projection); left out, it stays
    projected_monthly_joins: ProjectedJoins | msgspec.UnsetType | None = msgspec.UNSET


TermMonths = Annotated[int, col(tables.Plan.term_months, ge=1, le=120)]
GraceDays = Annotated[int, col(tables.Plan.grace_days, ge=0, le=366)]
# A printed card's scans per day: a handful in practice.
StaticDailyCap = Annotated[int, col(tables.Plan.static_daily_cap, ge=0, le=1000)]
# What a full refund of a paid period does: remove_period takes it back, keep leaves the membership as it was.
RefundRule = Literal["remove_period", "keep"]


class PlanCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Plan,)

    code: Annotated[str, col(tables.Plan.code, pattern=_CODE)]
    name: Annotated[str, col(tables.Plan.name)]
    fee: MoneyIn32 | None = None
    term_months: TermMonths = 12
    grace_days: GraceDays = 0
    requires_vehicle: bool = False
    one_card_per_vehicle: bool = False
    policy_linked: bool = False
    needs_approval: bool = False
    auto_renew: bool = False
    static_card: bool = False
    static_daily_cap: StaticDailyCap = 0
    refund_rule: RefundRule = "remove_period"


class PlanUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Plan,)

    name: Annotated[str, col(tables.Plan.name)] | None = None
    fee: MoneyIn32 | None = None
    term_months: TermMonths | None = None
    grace_days: GraceDays | None = None
    needs_approval: bool | None = None
    auto_renew: bool | None = None
    static_card: bool | None = None
    static_daily_cap: StaticDailyCap | None = None
    refund_rule: RefundRule | None = None
    active: bool | None = None


# A percent (1–100) or an amount in minor units, by `offer_kind`: the service checks which.
OfferValue = Annotated[int, col(tables.Merchant.offer_value, ge=0)]


class MerchantCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Merchant,)

    code: Annotated[str, col(tables.Merchant.code, pattern=_CODE)]
    name: Annotated[str, col(tables.Merchant.name)]
    category: Annotated[str, col(tables.Merchant.category)] = ""
    address: Annotated[str, text()] = ""
    contact_name: Annotated[str, col(tables.Merchant.contact_name)] = ""
    contact_phone: Annotated[str, col(tables.Merchant.contact_phone)] = ""
    offer_kind: Annotated[str, col(tables.Merchant.offer_kind)] = "none"
    offer_value: OfferValue = 0
    offer_amount: MoneyIn32 | None = None
    offer_text: Annotated[str, col(tables.Merchant.offer_text)] = ""
    is_open: bool = True


class MerchantUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Merchant,)

    name: Annotated[str, col(tables.Merchant.name)] | None = None
    category: Annotated[str, col(tables.Merchant.category)] | None = None
    address: Annotated[str, text()] | None = None
    contact_name: Annotated[str, col(tables.Merchant.contact_name)] | None = None
    contact_phone: Annotated[str, col(tables.Merchant.contact_phone)] | None = None
    offer_kind: Annotated[str, col(tables.Merchant.offer_kind)] | None = None
    offer_value: OfferValue | None = None
    offer_amount: MoneyIn32 | None = None
    offer_text: Annotated[str, col(tables.Merchant.offer_text)] | None = None
    is_open: bool | None = None


class OperatorLink(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.MerchantOperator,)

    user_id: uuid.UUID


# Codes of the club's merchants that honour the benefit.
MerchantCodes = Annotated[list[Annotated[str, col(tables.Merchant.code)]], msgspec.Meta(max_length=MAX_MERCHANTS)]
# Uses per period (0 = unlimited).
Quota = Annotated[int, col(tables.Benefit.quota, ge=0, le=100_000)]


class BenefitCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Benefit, tables.BenefitMerchant)

    code: Annotated[str, col(tables.Benefit.code, pattern=_CODE)]
    name: Annotated[str, col(tables.Benefit.name)]
    group_name: Annotated[str, col(tables.Benefit.group_name)] = ""
    quota: Quota = 0
    quota_period: Annotated[str, col(tables.Benefit.quota_period)] = "year"
    merchants: MerchantCodes = []


class BenefitUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Benefit, tables.BenefitMerchant)

    name: Annotated[str, col(tables.Benefit.name)] | None = None
    group_name: Annotated[str, col(tables.Benefit.group_name)] | None = None
    quota: Quota | None = None
    quota_period: Annotated[str, col(tables.Benefit.quota_period)] | None = None
    active: bool | None = None
    merchants: MerchantCodes | None = None


# Stored encrypted, with a masked hint; the service trims it and wants 4–32 characters.
IdNumber = Annotated[str, text(64)]


class MemberCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Member,)

    club_id: uuid.UUID
    name: Annotated[str, col(tables.Member.name)]
    phone: Annotated[str, col(tables.Member.phone)]
    id_number: IdNumber | None = None
    org_unit: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    household: uuid.UUID | None = None


class MemberUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Member,)

    name: Annotated[str, col(tables.Member.name)] | None = None
    phone: Annotated[str, col(tables.Member.phone)] | None = None
    org_unit: uuid.UUID | None = None
    user_id: uuid.UUID | None = None


class VehicleCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Vehicle,)

    plate: Annotated[str, col(tables.Vehicle.plate)]
    vin: Annotated[str, col(tables.Vehicle.vin)] = ""


class CardCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.MemberCard,)

    plan_id: uuid.UUID
    vehicle_id: uuid.UUID | None = None
    policy_no: Annotated[str, col(tables.MemberCard.policy_no)] | None = None
    policy_ends_at: datetime | None = None


class Application(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Member, tables.Vehicle, tables.MemberCard)

    plan_id: uuid.UUID
    name: Annotated[str, col(tables.Member.name)]
    phone: Annotated[str, col(tables.Member.phone)]
    plate: Annotated[str, col(tables.Vehicle.plate)] | None = None
    vin: Annotated[str, col(tables.Vehicle.vin)] = ""
    id_number: IdNumber | None = None
    policy_no: Annotated[str, col(tables.MemberCard.policy_no)] | None = None
    policy_ends_at: datetime | None = None


class CardAction(Input):
    """The reason is kept in the card's event (JSON) and the audit log."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.MemberCard, tables.CardEvent)

    reason: Annotated[str, text(500)] = ""


class PolicyRenewal(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.MemberCard,)

    policy_no: Annotated[str, col(tables.MemberCard.policy_no)]
    policy_ends_at: datetime


class OfflinePayment(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.MembershipPeriod,)

    reference: Annotated[str, col(tables.MembershipPeriod.payment_ref)] = ""


class CheckinCreate(Input):
    """The scanned text is bounded loosely: whatever is not a member code is answered `malformed`
    (the contract's refusal), not a validation error."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.CheckIn,)

    token: Annotated[str, text()]
    benefit: Annotated[str, col(tables.Benefit.code)] | None = None
    amount: MoneyIn32 | None = None
    idempotency_key: Annotated[str, col(tables.CheckIn.idempotency_key, min_length=1)] | None = None


class ScanPageCheckin(Input):
    """The scanner page's check-in: as `CheckinCreate`, but the bill amount is what the cashier typed,
    in yuan ("100", "1,314.50"), read by `core.money.parse_typed`."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.CheckIn,)

    token: Annotated[str, text()]
    benefit: Annotated[str, col(tables.Benefit.code)] | None = None
    amount: Annotated[str, text(40)] | None = None
    idempotency_key: Annotated[str, col(tables.CheckIn.idempotency_key, min_length=1)] | None = None


class KeyRotation(Input):
    """How long the previous key keeps verifying (the API wants at least a token's life plus the
    clock allowance, at most a week)."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.SigningKey,)

    overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=7 * 86400)] = 600


# ---- responses ------------------------------------------------------------------------------

class Club(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    description: str
    card_prefix: str
    card_digits: int
    active: bool
    projected_monthly_joins: int | None


class Plan(msgspec.Struct):
    id: uuid.UUID
    club: uuid.UUID
    code: str
    name: str
    fee: Money
    term_months: int
    grace_days: int
    requires_vehicle: bool
    one_card_per_vehicle: bool
    policy_linked: bool
    needs_approval: bool
    auto_renew: bool
    static_card: bool
    static_daily_cap: int
    refund_rule: str
    active: bool


class Merchant(msgspec.Struct):
    """`offer_value` is a percent, or minor units for an amount offer, which also comes as
    `offer_amount` money (null for any other kind)."""

    id: uuid.UUID
    club: uuid.UUID
    code: str
    name: str
    category: str
    address: str
    contact_name: str
    contact_phone: str
    offer_kind: str
    offer_value: int
    offer_text: str
    is_open: bool
    offer_amount: Money | None


class MerchantOperator(msgspec.Struct):
    """A user who scans for a merchant."""

    merchant: uuid.UUID
    user: uuid.UUID


class MerchantOperatorDetail(msgspec.Struct):
    """One of a merchant's operators. `may_scan` is false once he holds no role with the scanning
    permission any more (he stays linked, but the scanner refuses him)."""

    user: uuid.UUID
    display_name: str
    email: str
    is_active: bool
    may_scan: bool
    linked_at: datetime


class MerchantOperatorList(msgspec.Struct):
    items: list[MerchantOperatorDetail]


class Benefit(msgspec.Struct):
    id: uuid.UUID
    club: uuid.UUID
    code: str
    name: str
    group_name: str
    quota: int
    quota_period: str
    active: bool
    merchants: list[str]


class ClubRef(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str


class MonthNew(msgspec.Struct):
    """Cards created in a month (`YYYY-MM`), reissues left out, and the running total."""

    month: str
    new: int
    members: int


class MonthFees(msgspec.Struct):
    """Paid periods of one kind in a month (`YYYY-MM`)."""

    month: str
    kind: str
    count: int
    amount: Money


class ProjectionMonth(msgspec.Struct):
    month: int
    members: int
    fees: Money


class FeeProjection(msgspec.Struct):
    """The club's projection (`projected_monthly_joins` new members a month, nobody lapsing) at the
    highest fee among its active plans."""

    monthly_new: int
    months: int
    fee: Money
    series: list[ProjectionMonth]


class RenewalMonth(msgspec.Struct):
    """Paid terms that ended in a month (in the company's zone): how many were renewed (a later paid period,
    on time or late), and how many lapsed (none, and the grace days are over). The rest are still in grace."""

    month: str
    due: int
    renewed: int
    lapsed: int


class ClubStats(msgspec.Struct):
    """A club's figures, cut to the caller's branches (docs/clubs.md, Stats)."""

    club: ClubRef
    members_by_status: dict[str, int]
    members_by_plan: dict[str, int]
    members_by_branch: dict[str, int]
    new_per_month: list[MonthNew]
    renewals: int
    lapses_last_year: int
    fees_per_month: list[MonthFees]
    renewal_rates: list[RenewalMonth]
    checkins_by_merchant: dict[str, int]
    checkins_by_benefit: dict[str, int]
    # null when the club has no projection set
    projection: FeeProjection | None


class Vehicle(msgspec.Struct):
    id: uuid.UUID
    plate: str
    vin: str


class MemberSummary(msgspec.Struct):
    """A member as lists show one; `id_number` is the masked hint."""

    id: uuid.UUID
    club: uuid.UUID
    name: str
    phone: str
    user: uuid.UUID | None
    org_unit: uuid.UUID
    org_unit_name: str = msgspec.field(name="org_unit.name")
    household: uuid.UUID | None
    status: str
    created_at: datetime
    id_number: str | None


class Member(MemberSummary):
    """One member, with the vehicles."""

    vehicles: list[Vehicle]


class MemberList(msgspec.Struct, kw_only=True):
    """Newest first. `next_after` is the cursor of the next page (pass it as `after`), null on the last.
    `total` counts at most 10,000 matches (`total_capped` says when there are more)."""

    items: list[MemberSummary]
    total: int
    total_capped: bool
    limit: int
    offset: int
    next_after: str | None


class MemberIdNumber(msgspec.Struct):
    id_number: str | None


class PlanRef(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str


class MemberRef(msgspec.Struct):
    id: uuid.UUID
    name: str


class VehicleRef(msgspec.Struct):
    id: uuid.UUID
    plate: str


class Card(msgspec.Struct):
    """A member card: `state` is what events decided, `status` what the card is right now."""

    id: uuid.UUID
    card_no: str
    status: str
    state: str
    valid_from: datetime | None
    valid_until: datetime | None
    club: uuid.UUID
    plan: PlanRef
    member: MemberRef
    vehicle: VehicleRef | None
    policy_no: str | None
    static_card: bool
    replaces: uuid.UUID | None
    approval_request: uuid.UUID | None
    created_at: datetime


class CardQr(msgspec.Struct):
    """A fresh signed token (the text the QR encodes) and its SVG: black modules on a white background
    with the standard 4-module quiet zone, so any decoder reads it on any page colour."""

    token: str
    expires_at: Annotated[datetime, msgspec.Meta(description=(
        "When the token stops being current: 60 s after it was signed. Scanners accept it for 30 s more "
        "(an allowance for the clocks of phones and counters), so the real cut-off is expires_at + 30 s; "
        "show a fresh code before expires_at."))]
    svg: str


class StaticCardQr(msgspec.Struct):
    """A printable code: no expiry, capped per day by the plan."""

    token: str
    expires_at: datetime | None
    svg: str
    static: bool
    card_no: str


class CardEvent(msgspec.Struct):
    """One change of a card. `detail` is the event's JSON object as stored, as a string."""

    kind: str
    detail: str
    actor_id: uuid.UUID | None
    created_at: datetime


class MembershipPeriod(msgspec.Struct):
    """The payable unit: paying it extends the card by the plan's term."""

    id: uuid.UUID
    card: uuid.UUID
    card_no: str = msgspec.field(name="card.card_no")
    kind: str
    amount: Money
    currency: str
    status: str
    paid_at: datetime | None
    payment_method: str
    payment_ref: str
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


class CheckinMember(msgspec.Struct):
    """Who checked in, as the merchant may see him: the name masked; `valid_until` in the
    tenant's zone (ISO 8601 with its offset)."""

    display_name: str
    card_no: str
    plan: str
    valid_until: str | None


class Discount(msgspec.Struct):
    """What the member gets: a benefit used (the whole bill) or the merchant's offer. `amount` and
    `payable` need the bill's amount in the request."""

    kind: str
    description: str
    benefit: str | None
    remaining: int | None
    percent: int | None
    amount: Money | None
    payable: Money | None


class MerchantRef(msgspec.Struct):
    code: str
    name: str


class CheckinAccepted(msgspec.Struct, kw_only=True):
    """An accepted scan (CONTRACT.md). A refusal answers 4xx `{"error", "accepted": false, "reason"}`."""

    accepted: bool = True
    reason: None = None
    checkin_id: uuid.UUID
    member: CheckinMember
    discount: Discount | None
    card_status: str
    static: bool
    merchant: MerchantRef


class Checkin(msgspec.Struct):
    """One of today's check-ins at the caller's merchant, the member's name masked."""

    id: uuid.UUID
    created_at: datetime
    card_no: str = msgspec.field(name="card.card_no")
    member_name: str = msgspec.field(name="member.name")
    merchant_name: str = msgspec.field(name="merchant.name")
    benefit_code: str | None = msgspec.field(name="benefit.code")
    benefit_name: str | None = msgspec.field(name="benefit.name")
    amount: Money | None
    discount_amount: Money | None
    static: bool


class SigningKey(msgspec.Struct):
    kid: int
    status: str
    retire_at: datetime | None
    retired_at: datetime | None
    created_at: datetime


class KeyRotated(msgspec.Struct):
    """The new key, and the previous one with the moment it stops verifying."""

    kid: int
    previous_kid: int | None
    previous_retire_at: datetime | None


class KeyRevoked(msgspec.Struct):
    kid: int
    status: str
    active_kid: int | None
