"""The clubs' tables: clubs, plans, members and their vehicles, member cards and their history,
membership periods (the payable unit), QR signing keys, the merchant network, benefits with
quotas, and check-ins (append-only)."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)

from careclub.core.db import TenantTable
from careclub.platform.tables import OrgUnit, User


class Club(TenantTable, tablename="club"):
    """A club the tenant runs (a car club, a customer club …). Card numbers are allocated from
    `card_seq` under the club row's lock, so two enrolments never share a number."""

    code = Varchar(length=48)
    name = Varchar(length=200)
    description = Text(default="")
    card_prefix = Varchar(length=16)
    card_digits = Integer(default=6)
    card_seq = Integer(default=0)
    active = Boolean(default=True)
    # The club's business plan: new members a month (seed 002 part 5: 300), drawn against the actual
    # ones on its statistics; empty for no projection.
    projected_monthly_joins = Integer(null=True, default=None)


class Plan(TenantTable, tablename="club_plan"):
    """A membership plan: fee (0 = free), term, grace and eligibility rules."""

    club = ForeignKey(Club)
    code = Varchar(length=48)
    name = Varchar(length=200)
    fee = Integer(default=0)
    term_months = Integer(default=12)
    grace_days = Integer(default=0)
    requires_vehicle = Boolean(default=False)
    one_card_per_vehicle = Boolean(default=False)
    policy_linked = Boolean(default=False)
    needs_approval = Boolean(default=False)
    auto_renew = Boolean(default=False)
    static_card = Boolean(default=False)
    static_daily_cap = Integer(default=0)
    # What a full refund of a paid period does: `remove_period` takes it back (the card loses its length),
    # `keep` leaves the membership as it was (goodwill, a refund for a complaint).
    refund_rule = Varchar(length=16, default="remove_period")
    active = Boolean(default=True)


class Member(TenantTable, tablename="club_member"):
    """A person in a club. The ID number is stored AES-GCM encrypted (`id_number_enc`) with only
    a masked hint in clear; `org_unit` is the branch that looks after the member."""

    club = ForeignKey(Club)
    name = Varchar(length=120)
    phone = Varchar(length=32)
    id_number_enc = Bytea(null=True, default=None)
    id_number_hint = Varchar(length=32, default="")
    user = ForeignKey(User, null=True, default=None)
    org_unit = ForeignKey(OrgUnit)
    household: ForeignKey[Member] = ForeignKey("self", null=True, default=None)
    status = Varchar(length=16, default="active")


class Vehicle(TenantTable, tablename="club_vehicle"):
    member = ForeignKey(Member)
    plate = Varchar(length=16)
    vin = Varchar(length=17, default="")


class MemberCard(TenantTable, tablename="club_card"):
    """A member card. `state` holds what events decided (pending, active, suspended, cancelled,
    replaced); the shown status (active / in_grace / expired) is computed from `valid_until`
    and the plan's grace days at the moment of asking (rules.card_status)."""

    club = ForeignKey(Club)
    plan = ForeignKey(Plan)
    member = ForeignKey(Member)
    vehicle = ForeignKey(Vehicle, null=True, default=None)
    card_no = Varchar(length=32)
    state = Varchar(length=16, default="pending")
    valid_from = Timestamptz(null=True, default=None)
    valid_until = Timestamptz(null=True, default=None)
    policy_no = Varchar(length=64, default="")
    replaces: ForeignKey[MemberCard] = ForeignKey("self", null=True, default=None)
    approval_request_id = UUID(null=True, default=None)


class CardEvent(TenantTable, tablename="club_card_event"):
    """Every change of a card, in order."""

    card = ForeignKey(MemberCard)
    kind = Varchar(length=32)
    detail = JSONB(default="{}")
    actor_id = UUID(null=True, default=None)


class MembershipPeriod(TenantTable, tablename="club_period"):
    """The payable unit: paying it (offline now, Stripe later) extends the card by the plan's
    term, stacked on the current end. `status` moves pending → paid exactly once."""

    card = ForeignKey(MemberCard)
    kind = Varchar(length=16, default="join")
    amount = Integer(default=0)
    currency = Varchar(length=3, default="CNY")
    status = Varchar(length=16, default="pending")
    paid_at = Timestamptz(null=True, default=None)
    payment_method = Varchar(length=16, default="")
    payment_ref = Varchar(length=120, default="")
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)


class SigningKey(TenantTable, tablename="club_signing_key"):
    """An Ed25519 key that signs the tenant's QR tokens. `kid` is what a token names; the
    private half is encrypted at rest and wiped when the key retires."""

    kid = Integer()
    public_key = Bytea()
    private_key_enc = Bytea(null=True, default=None)
    status = Varchar(length=16, default="active")
    retire_at = Timestamptz(null=True, default=None)
    retired_at = Timestamptz(null=True, default=None)


class Merchant(TenantTable, tablename="club_merchant"):
    """A partner merchant in a club's network (特约商户) with its offer to members."""

    club = ForeignKey(Club)
    code = Varchar(length=48)
    name = Varchar(length=200)
    category = Varchar(length=64, default="")
    address = Text(default="")
    contact_name = Varchar(length=120, default="")
    contact_phone = Varchar(length=32, default="")
    offer_kind = Varchar(length=16, default="none")
    offer_value = Integer(default=0)
    offer_text = Varchar(length=200, default="")
    is_open = Boolean(default=True)


class MerchantOperator(TenantTable, tablename="club_merchant_operator"):
    """Links a user (holding merchant_operator) to the one merchant he scans for."""

    merchant = ForeignKey(Merchant)
    user = ForeignKey(User)


class Benefit(TenantTable, tablename="club_benefit"):
    """A member service in the catalogue, in a group, with a quota per period (0 = unlimited)."""

    club = ForeignKey(Club)
    code = Varchar(length=48)
    name = Varchar(length=200)
    group_name = Varchar(length=120, default="")
    quota = Integer(default=0)
    quota_period = Varchar(length=8, default="year")
    active = Boolean(default=True)


class BenefitMerchant(TenantTable, tablename="club_benefit_merchant"):
    """Which merchants honour which benefit."""

    benefit = ForeignKey(Benefit)
    merchant = ForeignKey(Merchant)


class BenefitUsage(TenantTable, tablename="club_benefit_usage"):
    """Counter per member, benefit (or the static-card cap) and period; check-ins lock and bump
    it in one conditional UPDATE so concurrent scans never exceed the quota."""

    member = ForeignKey(Member)
    counter = Varchar(length=64)
    period = Varchar(length=16)
    used = Integer(default=0)


class CheckIn(TenantTable, tablename="club_checkin"):
    """One accepted scan. Append-only: the app role may insert and read, never update or delete."""

    card = ForeignKey(MemberCard)
    member = ForeignKey(Member)
    merchant = ForeignKey(Merchant)
    benefit = ForeignKey(Benefit, null=True, default=None)
    operator_id = UUID(null=True, default=None)
    amount = Integer(null=True, default=None)
    discount_amount = Integer(null=True, default=None)
    discount = JSONB(null=True, default=None)
    static = Boolean(default=False)
    nonce = Varchar(length=32, default="")
    idempotency_key = Varchar(length=120, null=True, default=None)
    answer = JSONB(null=True, default=None)
    scanned_on = Date()


class TokenNonce(TenantTable, tablename="club_token_nonce"):
    """The truth of replay protection: one row per used QR nonce, unique per tenant (Redis
    SET NX answers first, this constraint decides)."""

    nonce = Varchar(length=32)
    card = ForeignKey(MemberCard)
    expires_at = Timestamptz()


class MemberTerm(TenantTable, tablename="club_member_term"):
    """What finds a member by a piece of the name under row-level security: every character and
    every pair of neighbouring characters of the name (lower-cased), `#` + the phone's last four
    digits, and `=` + each vehicle's plate, whole and without its province character ("=云A12345",
    "=A12345"). Triggers on club_member and club_vehicle write them (every write path, bulk loads included); a search
    looks terms up by equality, which the policy lets the planner take from the index, ordered by the
    member's `member_created` like the list itself."""

    member = ForeignKey(Member)
    member_created = Timestamptz()
    term = Varchar(length=20)


class Tally(TenantTable, tablename="club_tally"):
    """Running counts behind the club statistics, kept by triggers in the same transaction as the
    rows they count, so a figure for a million cards or ten million check-ins adds up a few thousand
    tally rows instead of reading the rows themselves. `metric` says what is counted and which
    dimensions it uses:

    card      cards now, by plan, state and `day` (valid_until's UTC date); follows the member's branch
    joined    first cards (not replacements) by `day` = the tenant-local month they were made
    fee       paid periods by `kind` and `day` = the tenant-local month of payment; `amount` the fees
    checkin   check-ins by merchant, benefit and `day` = the tenant-local month

    Every row is kept twice: by the member's branch (`org_unit`), and as `<metric>_all` without a
    branch, which is what a company-wide reader sums (25 times fewer rows for 25 branches).
    due       paid periods of live cards by plan and `day` = the UTC date their term ends
    open      per live card its latest-ending paid period (the one not renewed yet), same keys as due

    Events (joined, fee, checkin) stay with the branch the member belonged to when they happened;
    states (card, due, open) move with the member. `club_tally_check()` recomputes every metric from
    the rows and answers the differences (none, or the trigger has a bug)."""

    club = UUID()
    org_unit = UUID(null=True, default=None)
    metric = Varchar(length=16)
    plan = UUID(null=True, default=None)
    merchant = UUID(null=True, default=None)
    benefit = UUID(null=True, default=None)
    kind = Varchar(length=16, default="")
    state = Varchar(length=16, default="")
    day = Date(null=True, default=None)
    n = BigInt(default=0)
    amount = BigInt(default=0)


TABLES = [Club, Plan, Member, Vehicle, MemberCard, CardEvent, MembershipPeriod, SigningKey, Merchant,
          MerchantOperator, Benefit, BenefitMerchant, BenefitUsage, CheckIn, TokenNonce,
          MemberTerm, Tally]
