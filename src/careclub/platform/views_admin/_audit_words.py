"""The audit trail in words: who did what to which record ("王经理 renewed card TR-000123 of 张三"),
its changes as "field: before → after" with field labels, money as money and times in the company's
zone, and links to the records that have a page.

The trail stores codes (`club_card.suspend`, `club_card`, ids, JSON); this module reads them for
people. Names are looked up for a whole page at once: every record and every id a change refers to
is collected first, then one query per kind of record (`describe`), never one per row, so a page of
a trail two million entries long costs what a page of a short one does. What no label covers is
still shown readably ("operator unlink"), never as raw JSON; the page keeps the raw entry in a
collapsed "details" for support.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from careclub.core import clock
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped
from careclub.core.principal import Principal
from careclub.platform.permissions import BUILTIN_ROLES, Perm
from careclub.platform.views_admin._common import perm_label

Link = tuple[str, str | None]  # text, and the page it links to (None: plain text)

# ---- what happened ------------------------------------------------------------------------------

ACTIONS: dict[str, str] = {
    "auth.login": N_("%(who)s signed in"),
    "tenant.create": N_("%(who)s signed up %(record)s"),
    "tenant.update": N_("%(who)s changed %(record)s"),
    "user.create": N_("%(who)s added %(record)s"),
    "user.update": N_("%(who)s changed %(record)s"),
    "role_grant.create": N_("%(who)s gave %(record)s a role"),
    "role_grant.delete": N_("%(who)s took a role from %(record)s"),
    "invite.create": N_("%(who)s sent %(record)s"),
    "invite.accept": N_("%(who)s accepted %(record)s"),
    "token.issue": N_("%(who)s issued %(record)s"),
    "token.revoke": N_("%(who)s revoked %(record)s"),
    "token.purge": N_("%(who)s removed expired API tokens"),
    "org_unit.create": N_("%(who)s created %(record)s"),
    "org_unit.update": N_("%(who)s changed %(record)s"),
    "org_unit.delete": N_("%(who)s deleted %(record)s"),
    "role.create": N_("%(who)s created %(record)s"),
    "role.update": N_("%(who)s changed %(record)s"),
    "role.delete": N_("%(who)s deleted %(record)s"),
    "attachment.add": N_("%(who)s attached a file to %(record)s"),
    "notification.read": N_("%(who)s read %(record)s"),
    "notification.read_all": N_("%(who)s marked every notification read"),
    "club.create": N_("%(who)s created %(record)s"),
    "club.update": N_("%(who)s changed %(record)s"),
    "club_plan.create": N_("%(who)s created %(record)s"),
    "club_plan.update": N_("%(who)s changed %(record)s"),
    "club_merchant.create": N_("%(who)s added %(record)s"),
    "club_merchant.update": N_("%(who)s changed %(record)s"),
    "club_merchant.operator": N_("%(who)s linked an operator to %(record)s"),
    "club_benefit.create": N_("%(who)s created %(record)s"),
    "club_benefit.update": N_("%(who)s changed %(record)s"),
    "club_member.create": N_("%(who)s enrolled %(record)s"),
    "club_member.update": N_("%(who)s changed %(record)s"),
    "club_member.reveal_id": N_("%(who)s looked at the ID number of %(record)s"),
    "club_vehicle.create": N_("%(who)s added %(record)s"),
    "club_card.create": N_("%(who)s issued %(record)s"),
    "club_card.activate": N_("%(who)s activated %(record)s"),
    "club_card.suspend": N_("%(who)s suspended %(record)s"),
    "club_card.resume": N_("%(who)s resumed %(record)s"),
    "club_card.cancel": N_("%(who)s cancelled %(record)s"),
    "club_card.reissue": N_("%(who)s reissued %(record)s for a lost one"),
    "club_card.policy_renew": N_("%(who)s renewed the insurance policy of %(record)s"),
    "club_card.static_qr": N_("%(who)s printed a static QR code of %(record)s"),
    "club_period.create": N_("%(who)s opened a period to pay on %(record)s"),
    "club_period.create:renewal": N_("%(who)s renewed %(record)s"),
    "club_period.paid": N_("%(who)s recorded the payment for %(record)s"),
    "club_period.revoked": N_("%(who)s took back a paid period of %(record)s"),
    "club_signing_key.create": N_("%(who)s made %(record)s"),
    "club_signing_key.rotate": N_("%(who)s rotated %(record)s"),
    "club_signing_key.retire": N_("%(who)s retired %(record)s"),
    "club_signing_key.revoke": N_("%(who)s revoked %(record)s"),
    "approval.submitted": N_("%(who)s submitted %(record)s"),
    "approval.decided": N_("%(who)s decided on %(record)s"),
    "approval.approved": N_("%(record)s was approved"),
    "approval.auto_approved": N_("%(record)s passed a step by the policy's rule"),
    "approval.rejected": N_("%(record)s was rejected"),
    "approval.returned": N_("%(record)s was returned for revision"),
    "approval.withdrawn": N_("%(who)s withdrew %(record)s"),
    "approval.resubmitted": N_("%(who)s sent %(record)s again"),
    "approval.step_started": N_("%(record)s moved to its next step"),
    "approval.queued_for_meeting": N_("%(record)s was put on a meeting's agenda"),
    "approval.escalated": N_("%(record)s was escalated"),
    "approval.overdue": N_("%(record)s is overdue"),
    "approval.reminder_sent": N_("A reminder went out for %(record)s"),
    "approval_meeting.minutes": N_("%(who)s recorded the minutes of %(record)s"),
    "approval_delegation.create": N_("%(who)s delegated approvals"),
    "approval_delegation.revoke": N_("%(who)s ended a delegation of approvals"),
    "approval_body.create": N_("%(who)s created %(record)s"),
    "approval_body.update": N_("%(who)s changed %(record)s"),
    "approval_policy.apply": N_("%(who)s saved a new version of %(record)s"),
    "payment.checkout": N_("%(who)s started paying %(record)s online"),
    "payment.paid": N_("%(record)s was paid"),
    "payment.paid_unsettled": N_("%(record)s was paid but could not be applied"),
    "payment.offline": N_("%(who)s recorded %(record)s paid at the counter"),
    "payment.refund": N_("%(who)s refunded %(record)s"),
    "payment.refunded": N_("The refund of %(record)s went through"),
    "payment.reversed": N_("%(who)s reversed %(record)s"),
    "payment.subscribe": N_("%(who)s turned on automatic renewal with %(record)s"),
    "payment_subscription.cancel": N_("%(who)s turned off %(record)s"),
    "payment_settings.account_created": N_("%(who)s opened a Stripe account for %(record)s"),
    "payment_settings.account_updated": N_("Stripe updated %(record)s"),
    "payment_settings.update": N_("%(who)s changed %(record)s"),
}
# the last word of an action no entry above names
GENERIC = {"create": N_("%(who)s created %(record)s"), "update": N_("%(who)s changed %(record)s"),
           "delete": N_("%(who)s deleted %(record)s")}
FALLBACK = N_("%(who)s: %(action)s, %(record)s")

# ---- which record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    label: str  # the kind of record, alone (the record-type filter, the export)
    named: str  # the record with its name: "card %(name)s"
    link: str | None = None  # the page, with {id} (or other fields of the looked-up row)
    perm: Perm | None = None  # who may open that page


KINDS: dict[str, Kind] = {
    "tenant": Kind(N_("company"), N_("the company %(name)s")),
    "user": Kind(N_("person"), N_("%(name)s"), "/staff/{id}", Perm.STAFF_READ),
    "org_unit": Kind(N_("org unit"), N_("the unit %(name)s"), "/org/{id}", Perm.ORG_READ),
    "role": Kind(N_("role"), N_("the role %(name)s"), "/roles/{id}", Perm.STAFF_READ),
    "invite": Kind(N_("invitation"), N_("an invitation for %(name)s")),
    "api_token": Kind(N_("API token"), N_("the API token %(name)s"), "/tokens", None),
    "notification": Kind(N_("notification"), N_("the notification %(name)s")),
    "club": Kind(N_("club"), N_("the club %(name)s"), "/club/admin/club/{id}", Perm.CLUBS_MANAGE),
    "club_plan": Kind(N_("plan"), N_("the plan %(name)s"), "/club/admin/plan/{id}", Perm.CLUBS_MANAGE),
    "club_merchant": Kind(N_("merchant"), N_("the merchant %(name)s"), "/club/admin/merchant/{id}",
                          Perm.CLUBS_MANAGE),
    "club_benefit": Kind(N_("benefit"), N_("the benefit %(name)s"), "/club/admin/benefit/{id}", Perm.CLUBS_MANAGE),
    "club_member": Kind(N_("member"), N_("the member %(name)s"), "/club/members/{id}", Perm.MEMBERS_READ),
    "club_vehicle": Kind(N_("vehicle"), N_("the vehicle %(name)s"), "/club/members/{member}", Perm.MEMBERS_READ),
    "club_card": Kind(N_("card"), N_("card %(name)s"), "/club/members/{member}", Perm.MEMBERS_READ),
    "club_period": Kind(N_("membership period"), N_("card %(name)s"), "/club/members/{member}", Perm.MEMBERS_READ),
    "club_signing_key": Kind(N_("QR signing key"), N_("QR signing key %(name)s"), "/club/admin", Perm.CLUBS_MANAGE),
    "approval_request": Kind(N_("approval request"), N_("the request “%(name)s”"), "/approvals/requests/{id}",
                             Perm.DASHBOARD_VIEW),
    "approval_meeting": Kind(N_("meeting"), N_("the meeting %(name)s"), "/approvals/meetings/{id}",
                             Perm.APPROVALS_DECIDE),
    "approval_policy": Kind(N_("approval policy"), N_("the approval policy %(name)s"),
                            "/approvals/policies/{subject_type}", Perm.APPROVALS_MANAGE),
    "approval_body": Kind(N_("approval body"), N_("the approval body %(name)s"), "/approvals/policies",
                          Perm.APPROVALS_MANAGE),
    "approval_delegation": Kind(N_("delegation"), N_("a delegation")),
    "payment": Kind(N_("payment"), N_("the payment %(name)s"), "/payments/{id}", Perm.FINANCE_READ),
    "payment_settings": Kind(N_("payment settings"), N_("the payment settings"), "/settings/payments",
                             Perm.TENANT_MANAGE),
    "payment_subscription": Kind(N_("automatic renewal"), N_("automatic renewal")),
}
CARD_OF = N_("%(number)s of %(member)s")  # a card (or a period of it) named with its member

# ---- the changes --------------------------------------------------------------------------------

FIELDS: dict[str, str] = {
    "name": N_("Name"), "display_name": N_("Name"), "phone": N_("Phone"), "email": N_("Email"),
    "id_number": N_("ID number"), "org_unit": N_("Org unit"), "user": N_("Account"), "club": N_("Club"),
    "plan": N_("Plan"), "member": N_("Member"), "card": N_("Card"), "card_no": N_("Card number"),
    "merchant": N_("Merchant"), "merchants": N_("Merchants"), "state": N_("Status"), "status": N_("Status"),
    "reason": N_("Reason"), "valid_from": N_("Valid from"), "valid_until": N_("Valid until"),
    "policy_no": N_("Policy number"), "amount": N_("Amount"), "fee": N_("Fee"), "refunded": N_("Refunded"),
    "offer_kind": N_("Offer"), "offer_value": N_("Offer value"), "offer_text": N_("Offer text"),
    "category": N_("Category"), "address": N_("Address"), "contact_name": N_("Contact"),
    "contact_phone": N_("Contact phone"), "is_open": N_("Open for members"), "code": N_("Code"),
    "card_prefix": N_("Card number prefix"), "description": N_("Description"), "term_months": N_("Term (months)"),
    "grace_days": N_("Grace days"), "requires_vehicle": N_("Needs a vehicle"),
    "needs_approval": N_("Needs approval"), "static_card": N_("Static QR code"),
    "static_daily_cap": N_("Static code scans a day"), "auto_renew": N_("Automatic renewal"),
    "refund_rule": N_("On a full refund"), "quota": N_("Quota"), "quota_period": N_("Quota period"),
    "permissions": N_("Permissions"), "kind": N_("Kind"), "roles": N_("Roles"), "role": N_("Role"),
    "locale": N_("Language"), "is_active": N_("Active"), "method": N_("Method"), "reference": N_("Reference"),
    "number": N_("Receipt number"), "title": N_("Title"), "comment": N_("Comment"), "decision": N_("Decision"),
    "step": N_("Step"), "round": N_("Round"), "ends_at": N_("Ends"), "starts_at": N_("Starts"),
    "via": N_("Through"), "plate": N_("Plate"), "vin": N_("VIN"), "kid": N_("Key number"),
    "retire_at": N_("Retires at"), "slug": N_("Short name"), "currency": N_("Currency"),
    "timezone": N_("Time zone"), "note": N_("Note"), "items": N_("Items"), "filename": N_("File"),
    "size": N_("Size (bytes)"), "charges_enabled": N_("Can take payments"), "payouts_enabled": N_("Can pay out"),
    "cancel_at_period_end": N_("Stops at the end of the period"), "expires_at": N_("Expires"),
    "subject_type": N_("Subject"), "version": N_("Version"), "in_plan": N_("In the plan"),
    "meeting_on": N_("Meeting day"), "starts_on": N_("From"), "ends_on": N_("Until"),
    "delegator": N_("Approver"), "delegate": N_("Stands in"), "marked": N_("Marked read"),
    "count": N_("Count"), "problem": N_("Problem"), "household": N_("Household"), "spec": N_("Rules"),
    "attachments": N_("Attachments"), "meeting_day": N_("Meeting day of the month"),
    "member_ids": N_("Members"), "payable": N_("Paid for"), "account": N_("Stripe account"),
}
# amounts kept in fen; offer_value only when the offer is an amount off
MONEY_KEYS = frozenset({"amount", "fee", "refunded", "refunded_amount", "discount_amount", "offer_amount"})
# an id in a change names a record of this kind
REF_KINDS = {"member": "club_member", "user": "user", "org_unit": "org_unit", "club": "club", "card": "club_card",
             "merchant": "club_merchant", "delegator": "user", "delegate": "user", "household": "club_member",
             "plan": "club_plan"}
VALUES: dict[str, str] = {
    # card states and statuses, payment statuses and methods, decisions, kinds
    "pending": N_("pending"), "active": N_("active"), "in_grace": N_("in grace"), "expired": N_("expired"),
    "suspended": N_("suspended"), "cancelled": N_("cancelled"), "replaced": N_("replaced"), "paid": N_("paid"),
    "open": N_("waiting for payment"), "refunded": N_("refunded"), "partially_refunded": N_("partly refunded"),
    "reversed": N_("reversed"), "failed": N_("failed"), "approve": N_("approve"), "reject": N_("reject"),
    "return": N_("return for revision"), "in_review": N_("in review"), "approved": N_("approved"),
    "rejected": N_("rejected"), "returned": N_("returned"), "withdrawn": N_("withdrawn"),
    "cash": N_("Cash"), "bank_transfer": N_("Bank transfer"), "wechat_transfer": N_("WeChat transfer"),
    "alipay_transfer": N_("Alipay transfer"), "stripe": N_("Online (Stripe)"), "offline": N_("offline"),
    "join": N_("joining"), "renewal": N_("renewal"), "percent": N_("percent"), "free": N_("free"),
    "none": N_("none"), "year": N_("year"), "month": N_("month"), "day": N_("day"), "ever": N_("ever"),
    "staff": N_("Staff"), "member": N_("Member"), "merchant": N_("Merchant"), "application": N_("application"),
    "retiring": N_("retiring"), "retired": N_("retired"), "revoked": N_("revoked"),
    "remove_period": N_("the card loses the period"), "keep": N_("the card keeps the period"),
    "api": N_("API"), "scanner": N_("scanner"), "login": N_("sign-in"),
}
WORD_KEYS = frozenset({"state", "status", "decision", "kind", "method", "offer_kind", "quota_period", "via",
                       "refund_rule", "reason"})
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# (a "who" begins the sentence)
SYSTEM_ACTORS = {"job": N_("The scheduled job %(name)s"), "tenant-file": N_("The tenant file %(name)s"),
                 "sign-up": N_("Sign-up by %(name)s"), "invitation": N_("The invitation of %(name)s"),
                 "password reset": N_("A password reset for %(name)s")}
CURRENCY_SIGNS = {"CNY": "¥", "HKD": "HK$", "USD": "$", "EUR": "€", "GBP": "£"}


def kind_label(entity_type: str) -> str:
    kind = KINDS.get(entity_type)
    return _(kind.label) if kind else entity_type.replace("_", " ")


def kind_choices() -> list[tuple[str, str]]:
    return sorted(((code, kind_label(code)) for code in KINDS), key=lambda c: c[1])


def money_text(minor: int, currency: str) -> str:
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{format_grouped(minor)}" if sign else f"{format_grouped(minor)} {currency}"


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


# ---- looking names up, one query per kind of record --------------------------------------------

Named = dict[str, Any]  # "name" (the text in the sentence) and what a link needs


async def _members(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.clubs.tables import Member
    return {r["id"]: {"name": r["name"]} for r in await Member.select(Member.id, Member.name).where(
        Member.id.is_in(ids))}


def _card_name(number: str, member: str | None) -> str:
    return _(CARD_OF) % {"number": number, "member": member} if member else number


async def _cards(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.clubs.tables import MemberCard
    rows = await MemberCard.select(MemberCard.id, MemberCard.card_no, MemberCard.member,
                                   MemberCard.member.name).where(MemberCard.id.is_in(ids))
    return {r["id"]: {"name": _card_name(r["card_no"], r["member.name"]), "member": r["member"]} for r in rows}


async def _periods(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.clubs.tables import MembershipPeriod as P
    rows = await P.select(P.id, P.kind, P.card.card_no, P.card.member,
                          P.card.member.name).where(P.id.is_in(ids))  # type: ignore[union-attr]
    return {r["id"]: {"name": _card_name(r["card.card_no"], r["card.member.name"]), "member": r["card.member"],
                      "kind": r["kind"]} for r in rows}


async def _vehicles(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.clubs.tables import Vehicle
    rows = await Vehicle.select(Vehicle.id, Vehicle.plate, Vehicle.member).where(Vehicle.id.is_in(ids))
    return {r["id"]: {"name": r["plate"], "member": r["member"]} for r in rows}


def _by_name(table_path: str, column: str = "name") -> Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, Named]]]:
    async def look_up(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
        module, _sep, name = table_path.rpartition(".")
        table = getattr(__import__(module, fromlist=[name]), name)
        rows = await table.select(table.id, getattr(table, column)).where(table.id.is_in(ids))
        return {r["id"]: {"name": r[column]} for r in rows}
    return look_up


async def _roles(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.platform.tables import Role
    rows = await Role.select(Role.id, Role.code, Role.name).where(Role.id.is_in(ids))
    out = {}
    for r in rows:
        builtin = BUILTIN_ROLES.get(r["code"])
        out[r["id"]] = {"name": _(r["name"]) if builtin and builtin[0] == r["name"] else r["name"]}
    return out


async def _meetings(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.approvals.tables import Meeting
    rows = await Meeting.select(Meeting.id, Meeting.scheduled_on, Meeting.body.name).where(Meeting.id.is_in(ids))
    return {r["id"]: {"name": f"{r['body.name']} {r['scheduled_on'].isoformat()}"} for r in rows}


async def _policies(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.approvals.tables import ApprovalPolicy as P
    rows = await P.select(P.id, P.subject_type, P.version, P.name).where(P.id.is_in(ids))
    return {r["id"]: {"name": f"{r['name'] or r['subject_type']} v{r['version']}",
                      "subject_type": r["subject_type"]} for r in rows}


async def _signing_keys(ids: list[uuid.UUID]) -> dict[uuid.UUID, Named]:
    from careclub.clubs.tables import SigningKey
    rows = await SigningKey.select(SigningKey.id, SigningKey.kid).where(SigningKey.id.is_in(ids))
    return {r["id"]: {"name": f"#{r['kid']}"} for r in rows}


LOOK_UP: dict[str, Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, Named]]]] = {
    "user": _by_name("careclub.platform.tables.User", "display_name"),
    "org_unit": _by_name("careclub.platform.tables.OrgUnit"),
    "role": _roles,
    "invite": _by_name("careclub.platform.tables.Invite", "email"),
    "api_token": _by_name("careclub.platform.tables.ApiToken"),
    "notification": _by_name("careclub.approvals.tables.Notification", "title"),
    "club": _by_name("careclub.clubs.tables.Club"),
    "club_plan": _by_name("careclub.clubs.tables.Plan"),
    "club_merchant": _by_name("careclub.clubs.tables.Merchant"),
    "club_benefit": _by_name("careclub.clubs.tables.Benefit"),
    "club_member": _members,
    "club_vehicle": _vehicles,
    "club_card": _cards,
    "club_period": _periods,
    "club_signing_key": _signing_keys,
    "approval_request": _by_name("careclub.approvals.tables.ApprovalRequest", "title"),
    "approval_meeting": _meetings,
    "approval_policy": _policies,
    "approval_body": _by_name("careclub.approvals.tables.ApprovalBody"),
    "payment": _by_name("careclub.payments.tables.Payment", "number"),
}


async def _names(rows: list[dict[str, Any]]) -> dict[tuple[str, uuid.UUID], Named]:
    wanted: dict[str, set[uuid.UUID]] = {}

    def want(kind: str, value: Any) -> None:
        ident = _uuid(value)
        if ident is not None and kind in LOOK_UP:
            wanted.setdefault(kind, set()).add(ident)

    for row in rows:
        want(row["entity_type"], row["entity_id"])
        for side in (row["before"], row["after"]):
            if isinstance(side, dict):
                for key, value in side.items():
                    if key in REF_KINDS:
                        want(REF_KINDS[key], value)
    found: dict[tuple[str, uuid.UUID], Named] = {}
    for kind, ids in wanted.items():
        for ident, named in (await LOOK_UP[kind](sorted(ids))).items():
            found[(kind, ident)] = named
    return found


# ---- putting it in words ------------------------------------------------------------------------

def _link(kind: str, ident: uuid.UUID | None, named: Named | None, principal: Principal) -> str | None:
    spec = KINDS.get(kind)
    if spec is None or spec.link is None or (spec.perm is not None and not principal.can(spec.perm)):
        return None
    values = {"id": ident, **(named or {})}
    try:
        return spec.link.format(**values) if all(values.get(k) for k in re.findall(r"{(\w+)}", spec.link)) else None
    except (KeyError, IndexError):
        return None


def _record(row: dict[str, Any], names: dict[tuple[str, uuid.UUID], Named], principal: Principal) -> Link:
    kind, ident = row["entity_type"], _uuid(row["entity_id"])
    spec = KINDS.get(kind)
    named = names.get((kind, ident)) if ident else None
    if kind == "tenant":
        named = {"name": principal.tenant.name}
    if named is None:  # gone since (a deleted unit or role), or never an id: the entry's own words
        side = row["before"] if isinstance(row["before"], dict) else row["after"] if isinstance(
            row["after"], dict) else {}
        text = next((str(side[k]) for k in ("name", "display_name", "title", "card_no", "email", "number", "code")
                     if isinstance(side.get(k), str | int) and side.get(k)), None)
        named = {"name": text or (str(row["entity_id"])[:8] if row["entity_id"] else "")}
    if spec is None:
        return (f"{kind.replace('_', ' ')} {named['name']}".strip(), None)
    return (_(spec.named) % {"name": named["name"]}, _link(kind, ident, named, principal))


def actor(row: dict[str, Any], principal: Principal) -> Link:
    name = row["actor_name"] or ""
    if row["actor_id"] is not None:
        return (name, f"/staff/{row['actor_id']}" if principal.can(Perm.STAFF_READ) else None)
    if name in ("", "system"):
        return (_("The system"), None)
    for prefix, phrase in SYSTEM_ACTORS.items():
        if name.startswith(prefix + ":"):
            return (_(phrase) % {"name": name[len(prefix) + 1:].strip()}, None)
    return (name, None)


def _phrase(row: dict[str, Any], names: dict[tuple[str, uuid.UUID], Named]) -> str:
    action = row["action"]
    if action == "club_period.create":
        after = row["after"] if isinstance(row["after"], dict) else {}
        if after.get("kind") == "renewal":
            return _(ACTIONS["club_period.create:renewal"])
    if action in ACTIONS:
        return _(ACTIONS[action])
    verb = action.rsplit(".", 1)[-1]
    if verb in GENERIC:
        return _(GENERIC[verb])
    return _(FALLBACK) % {"who": "%(who)s", "record": "%(record)s", "action": verb.replace("_", " ")}


def sentence(row: dict[str, Any], names: dict[tuple[str, uuid.UUID], Named], principal: Principal) -> list[Link]:
    """The entry as words with links: [(text, href or None), …] in the reader's language."""
    parts: list[Link] = []
    slots = {"who": actor(row, principal), "record": _record(row, names, principal)}
    for i, piece in enumerate(re.split(r"(%\((?:who|record)\)s)", _phrase(row, names))):
        if piece in ("%(who)s", "%(record)s"):
            text, href = slots[piece[2:-2]]
            if i == 1 and piece == "%(record)s":  # a sentence starts with a capital, a name as it is
                text = text[:1].upper() + text[1:]
            parts.append((text, href))
        elif piece:
            parts.append((piece.replace("%%", "%"), None))
    return parts


def _value(key: str, value: Any, side: dict[str, Any], names: dict[tuple[str, uuid.UUID], Named],
           principal: Principal) -> Link:
    currency = principal.tenant.currency
    if value is None or value == "" or value == []:
        return ("—", None)
    if isinstance(value, bool):
        return (_("Yes") if value else _("No"), None)
    if isinstance(value, int) and (key in MONEY_KEYS or (key == "offer_value" and side.get("offer_kind") == "amount")):
        return (money_text(value, currency), None)
    if key == "offer_value" and side.get("offer_kind") == "percent" and isinstance(value, int):
        return (f"{value}%", None)
    if key in REF_KINDS and _uuid(value) is not None:
        kind, ident = REF_KINDS[key], _uuid(value)
        named = names.get((kind, ident))  # type: ignore[arg-type]
        if named is not None:
            return (str(named["name"]), _link(kind, ident, named, principal))
        return (str(value)[:8], None)
    if key == "permissions" and isinstance(value, list):
        return (", ".join(perm_label(str(p)) for p in value), None)
    if key in ("role", "roles"):
        codes = value if isinstance(value, list) else [value]
        return (", ".join(_(BUILTIN_ROLES[c][0]) if c in BUILTIN_ROLES else str(c) for c in codes), None)
    if isinstance(value, list):
        return (", ".join(_value(key, v, side, names, principal)[0] for v in value), None)
    if isinstance(value, dict):
        text = "; ".join(f"{_field(k)}: {_value(k, v, value, names, principal)[0]}" for k, v in value.items())
        return (text if len(text) <= 160 else text[:159] + "…", None)
    if isinstance(value, str) and TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return (value, None)
        local = clock.local(moment) if moment.tzinfo else moment
        return (f"{local:%Y-%m-%d %H:%M}" if local else value, None)
    if isinstance(value, str) and key in WORD_KEYS and value in VALUES:
        return (_(VALUES[value]), None)
    text = str(value)
    return (text if len(text) <= 200 else text[:199] + "…", None)


def _field(key: str) -> str:
    return _(FIELDS[key]) if key in FIELDS else key.replace("_", " ")


SKIP = frozenset({"ids", "intent"})  # ids of things with no page, kept in the details only


def changes(row: dict[str, Any], names: dict[tuple[str, uuid.UUID], Named],
            principal: Principal) -> list[dict[str, Any]]:
    """Each changed field: its label, what it was and what it became (either may be absent)."""
    before = row["before"] if isinstance(row["before"], dict) else ({} if row["before"] is None
                                                                    else {"value": row["before"]})
    after = row["after"] if isinstance(row["after"], dict) else ({} if row["after"] is None
                                                                 else {"value": row["after"]})
    out = []
    for key in [*after, *(k for k in before if k not in after)]:
        if key in SKIP or (key == "spec" and row["action"] == "approval_policy.apply"):
            continue
        if all(side.get(key) in (None, "", []) for side in (before, after)):  # nothing said ("reason": "")
            continue
        out.append({"label": _field(key),
                    "before": _value(key, before[key], before, names, principal) if key in before else None,
                    "after": _value(key, after[key], after, names, principal) if key in after else None})
    return out


def change_text(change: dict[str, Any]) -> str:
    if change["before"] is not None and change["after"] is not None:
        return f"{change['label']}: {change['before'][0]} → {change['after'][0]}"
    return f"{change['label']}: {(change['after'] or change['before'])[0]}"


async def describe(rows: list[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
    """The rows of a page (or a batch of the download) in words, names looked up once for all."""
    names = await _names(rows)
    out = []
    for row in rows:
        words = sentence(row, names, principal)
        out.append({**row, "sentence": words, "text": "".join(t for t, _href in words),
                    "kind_label": kind_label(row["entity_type"]), "changes": changes(row, names, principal)})
    return out
