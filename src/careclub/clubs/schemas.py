"""Request bodies of the clubs API (msgspec, unknown fields refused)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from careclub.core.money import Money


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ClubCreate(Strict):
    code: str
    name: str
    card_prefix: str
    card_digits: int = 6
    description: str = ""


class ClubUpdate(Strict):
    name: str | None = None
    description: str | None = None
    card_prefix: str | None = None
    card_digits: int | None = None
    active: bool | None = None


class PlanCreate(Strict):
    code: str
    name: str
    fee: Money | None = None
    term_months: int = 12
    grace_days: int = 0
    requires_vehicle: bool = False
    one_card_per_vehicle: bool = False
    policy_linked: bool = False
    needs_approval: bool = False
    auto_renew: bool = False
    static_card: bool = False
    static_daily_cap: int = 0


class PlanUpdate(Strict):
    name: str | None = None
    fee: Money | None = None
    term_months: int | None = None
    grace_days: int | None = None
    needs_approval: bool | None = None
    auto_renew: bool | None = None
    static_card: bool | None = None
    static_daily_cap: int | None = None
    active: bool | None = None


class MerchantCreate(Strict):
    code: str
    name: str
    category: str = ""
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    offer_kind: str = "none"
    offer_value: int = 0
    offer_amount: Money | None = None
    offer_text: str = ""
    is_open: bool = True


class MerchantUpdate(Strict):
    name: str | None = None
    category: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    offer_kind: str | None = None
    offer_value: int | None = None
    offer_amount: Money | None = None
    offer_text: str | None = None
    is_open: bool | None = None


class OperatorLink(Strict):
    user_id: uuid.UUID


class BenefitCreate(Strict):
    code: str
    name: str
    group_name: str = ""
    quota: int = 0
    quota_period: str = "year"
    merchants: list[str] = []


class BenefitUpdate(Strict):
    name: str | None = None
    group_name: str | None = None
    quota: int | None = None
    quota_period: str | None = None
    active: bool | None = None
    merchants: list[str] | None = None


class MemberCreate(Strict):
    club_id: uuid.UUID
    name: str
    phone: str
    id_number: str | None = None
    org_unit: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    household: uuid.UUID | None = None


class MemberUpdate(Strict):
    name: str | None = None
    phone: str | None = None
    org_unit: uuid.UUID | None = None
    user_id: uuid.UUID | None = None


class VehicleCreate(Strict):
    plate: str
    vin: str = ""


class CardCreate(Strict):
    plan_id: uuid.UUID
    vehicle_id: uuid.UUID | None = None
    policy_no: str | None = None
    policy_ends_at: datetime | None = None


class Application(Strict):
    plan_id: uuid.UUID
    name: str
    phone: str
    plate: str | None = None
    vin: str = ""
    id_number: str | None = None
    policy_no: str | None = None
    policy_ends_at: datetime | None = None


class CardAction(Strict):
    reason: str = ""


class PolicyRenewal(Strict):
    policy_no: str
    policy_ends_at: datetime


class OfflinePayment(Strict):
    reference: str = ""


class CheckinCreate(Strict):
    token: str
    benefit: str | None = None
    amount: Money | None = None
    idempotency_key: str | None = None


class KeyRotation(Strict):
    overlap_seconds: int = 600
