"""Request and response bodies of the approvals API (msgspec).

Requests derive from `core.schemas.Input` (unknown fields refused) and take their bounds from the
columns they land in (`col()`), or from `text()` when they land in a Text or JSON column, so input too
long for its column is a 422 naming the field, never a 500 from PostgreSQL.

Responses are the bodies exactly as the API has always answered them: a key that names a joined
column (`"body.code"`) keeps that name on the wire, and a key that only some answers carry (an event's
`detail`, a preview step's `signers`) is `UNSET` when absent, so it is left out rather than sent as null.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import UNSET, UnsetType
from piccolo.table import Table

from careclub.approvals import tables
from careclub.approvals.rules import PolicySpec
from careclub.core.money import Money, MoneyIn
from careclub.core.schemas import INT32, Input, col, text
from careclub.platform.tables import OrgUnit

# ---- requests -------------------------------------------------------------------------------

# Files attached to one decision or one round of a request: a handful in practice.
MAX_ATTACHMENTS = 50
# Items decided in one meeting's minutes (each an open step on its agenda).
MAX_MINUTES_ITEMS = 500
# A policy in the tenant-file shape has four keys (PolicySpec); the rest is checked by policy_spec().
MAX_POLICY_KEYS = 16


SubjectType = Annotated[str, col(tables.ApprovalPolicy.subject_type)]
Category = Annotated[str, col(tables.ApprovalRequest.category)]
Decision = Annotated[str, col(tables.ApprovalDecision.decision, description="approve, reject or return")]


class PreviewRequest(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = ()  # a preview creates nothing

    subject_type: SubjectType
    amount: MoneyIn | None = None
    category: Category | None = None
    in_plan: bool = False
    # An org unit's id (or code); null = the company.
    org_unit: Annotated[str, col(OrgUnit.code, description="an org unit's id or code")] | None = None


class Attachment(Input, omit_defaults=True):
    """A file kept with a request (its round) or a decision, in their `attachments` JSON."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.ApprovalRequest, tables.ApprovalDecision)

    name: Annotated[str, text(255)]
    url: Annotated[str, text(2000)] = ""
    size: Annotated[int, msgspec.Meta(ge=0, le=INT32[1])] | None = None


Attachments = Annotated[list[Attachment], msgspec.Meta(max_length=MAX_ATTACHMENTS)]


class DecisionCreate(Input):
    # The decision row; the decision and comment are also on the request's timeline.
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.ApprovalDecision, tables.ApprovalEvent)

    step_id: uuid.UUID
    decision: Decision
    comment: Annotated[str, text()] = ""
    attachments: Attachments = []


class WithdrawCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.ApprovalEvent,)  # the reason, on the timeline

    reason: Annotated[str, text()] = ""


class ResubmitCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.ApprovalRequest, tables.ApprovalEvent)

    comment: Annotated[str, text()] = ""
    title: Annotated[str, col(tables.ApprovalRequest.title)] | None = None
    amount: MoneyIn | None = None
    attachments: Attachments | None = None


class DelegationCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Delegation,)

    delegate_id: uuid.UUID
    starts_on: date
    ends_on: date
    reason: Annotated[str, text()] = ""


class MinutesItem(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.ApprovalDecision, tables.ApprovalEvent)

    step_id: uuid.UUID
    decision: Decision
    comment: Annotated[str, text()] = ""


class MinutesCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Meeting,)

    items: Annotated[list[MinutesItem], msgspec.Meta(max_length=MAX_MINUTES_ITEMS)]
    note: Annotated[str, text()] = ""


class PolicyApply(Input):
    """A policy in the tenant-file shape (see `approvals.rules.PolicySpec`), checked by `api.policy_spec`
    so that a refusal names the key path inside it."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.ApprovalPolicy,)

    policy: Annotated[dict[str, Any], msgspec.Meta(max_length=MAX_POLICY_KEYS)]


def attachments_json(items: list[Attachment] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [msgspec.to_builtins(a) for a in items]


# ---- responses ------------------------------------------------------------------------------

class Person(msgspec.Struct):
    id: uuid.UUID
    name: str
    email: str


class OrgUnitRef(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str


class PreviewApprover(Person):
    """A person who would approve the step, and as what (the approver reference that finds them)."""

    as_: str = msgspec.field(name="as")


class PreviewSigners(msgspec.Struct):
    """One signer slot of a countersign step."""

    as_: str = msgspec.field(name="as")
    people: list[Person]


class PreviewStep(msgspec.Struct):
    """`signers` only for a countersign step, `reason` only for an auto step, `body` (its code) only
    for a step decided by a body."""

    kind: str
    name: str
    approvers: list[PreviewApprover]
    signers: list[PreviewSigners] | UnsetType = UNSET
    reason: str | UnsetType | None = UNSET
    body: str | UnsetType = UNSET


class Preview(msgspec.Struct):
    """The chain a request would get (the policy version and the rule that matches), creating nothing."""

    policy_version: int
    subject_type: str
    rule: str
    org_unit: OrgUnitRef
    chain: list[PreviewStep]


class Task(msgspec.Struct):
    """An active step waiting for the caller's decision; `on_behalf_of` is the colleague they stand in
    for, when the step is theirs rather than the caller's own."""

    step_id: uuid.UUID
    step: str
    kind: str
    due_at: datetime | None
    started_at: datetime | None
    request_id: uuid.UUID
    title: str
    subject_type: str
    amount: Money | None
    category: str | None
    requester: str
    on_behalf_of: uuid.UUID | None


class AttachedFile(msgspec.Struct):
    """An attachment as it was kept: `url` and `size` only when they were given."""

    name: str
    url: str | UnsetType = UNSET
    size: int | UnsetType | None = UNSET


class ApprovalRequest(msgspec.Struct):
    id: uuid.UUID
    subject_type: str
    subject_id: str
    title: str
    status: str
    amount: Money | None
    category: str | None
    in_plan: bool
    org_unit: uuid.UUID | None
    requester_id: uuid.UUID
    requester_name: str
    policy_version: int
    rule_name: str
    round: int
    current_position: int
    attachments: list[AttachedFile]
    created_at: datetime
    decided_at: datetime | None
    policy_id: uuid.UUID | None


class SignerSlot(msgspec.Struct):
    """Who may sign one slot of a step (one slot per signer for countersign, one for every other kind),
    and how it was decided."""

    label: str
    user_ids: list[uuid.UUID]
    people: list[Person]
    decided_by: uuid.UUID | None
    decision: str | None


class ApprovalStep(msgspec.Struct):
    id: uuid.UUID
    round: int
    position: int
    kind: str
    name: str
    status: str
    slots: list[SignerSlot]
    meeting: uuid.UUID | None
    started_at: datetime | None
    due_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None
    finished_at: datetime | None
    reason: str
    can_decide: bool


class ApprovalDecision(msgspec.Struct):
    id: uuid.UUID
    step: uuid.UUID | None
    slot: int
    decision: str
    comment: str
    attachments: list[AttachedFile]
    decider_id: uuid.UUID | None
    decider_name: str
    on_behalf_of_id: uuid.UUID | None
    on_behalf_of_name: str
    created_at: datetime


class EventDetail(msgspec.Struct):
    """What an event of the timeline records; each kind carries its own keys, the others are left out.
    submitted: title, amount, category, in_plan, policy_version, rule · step_started: step, kind,
    due_at, approvers · decided: step, decision, comment, slot, on_behalf_of, meeting · auto_approved:
    step, reason · queued_for_meeting, moved_to_next_meeting: step, meeting_on · approved: title ·
    rejected, returned: comment · withdrawn: reason · resubmitted: round, comment, amount, title ·
    reminder_sent: step, due_at · escalated: step, to · overdue: step."""

    title: str | UnsetType = UNSET
    amount: Money | UnsetType | None = UNSET
    category: str | UnsetType | None = UNSET
    in_plan: bool | UnsetType = UNSET
    policy_version: int | UnsetType = UNSET
    rule: str | UnsetType = UNSET
    step: str | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    # The step's deadline, ISO 8601 as it was recorded.
    due_at: str | UnsetType | None = UNSET
    approvers: list[str] | UnsetType = UNSET
    decision: str | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    # The label of the signer slot decided.
    slot: str | UnsetType = UNSET
    # The name of the colleague the decider stood in for.
    on_behalf_of: str | UnsetType | None = UNSET
    meeting: uuid.UUID | UnsetType | None = UNSET
    meeting_on: date | UnsetType = UNSET
    reason: str | UnsetType | None = UNSET
    round: int | UnsetType = UNSET
    to: list[uuid.UUID] | UnsetType = UNSET


class ApprovalEvent(msgspec.Struct):
    """One entry of a request's timeline."""

    id: uuid.UUID
    kind: str
    actor_id: uuid.UUID | None
    actor_name: str
    detail: EventDetail
    created_at: datetime


class ApprovalRequestDetail(ApprovalRequest):
    """A request with its steps (every round), decisions and timeline, and what the reader may do."""

    steps: list[ApprovalStep]
    decisions: list[ApprovalDecision]
    timeline: list[ApprovalEvent]
    can_withdraw: bool
    can_resubmit: bool


class Delegation(msgspec.Struct):
    """A colleague standing in for the delegator from `starts_on` to `ends_on` (both inclusive)."""

    id: uuid.UUID
    delegator: uuid.UUID
    delegate: uuid.UUID
    starts_on: date
    ends_on: date
    reason: str


class DelegationRecord(Delegation):
    """A delegation as it is kept (the list answers the whole row)."""

    tenant_id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None


class Meeting(msgspec.Struct):
    """A meeting of a body, with how many items wait on its agenda."""

    id: uuid.UUID
    scheduled_on: date
    status: str
    held_at: datetime | None
    body_code: str | None = msgspec.field(name="body.code")
    body_name: str | None = msgspec.field(name="body.name")
    body_member_ids: list[uuid.UUID] | None = msgspec.field(name="body.member_ids")
    items: int


class AgendaItem(msgspec.Struct):
    step_id: uuid.UUID
    step: str
    status: str
    request_id: uuid.UUID
    title: str
    amount: Money | None
    category: str | None
    subject_type: str
    requester: str


class Agenda(msgspec.Struct):
    """A meeting with its items (and, once held, its minutes' note)."""

    id: uuid.UUID
    scheduled_on: date
    status: str
    held_at: datetime | None
    minutes_note: str
    body: uuid.UUID | None
    body_code: str | None = msgspec.field(name="body.code")
    body_name: str | None = msgspec.field(name="body.name")
    body_member_ids: list[uuid.UUID] | None = msgspec.field(name="body.member_ids")
    items: list[AgendaItem]


class PolicySummary(msgspec.Struct):
    """The current version of one policy."""

    id: uuid.UUID
    subject_type: str
    version: int
    name: str
    source: str
    created_at: datetime
    spec: PolicySpec


class Policy(PolicySummary):
    """One version of a policy, as it is kept."""

    tenant_id: uuid.UUID
    is_current: bool
    created_by: uuid.UUID | None


class PolicySaved(Policy):
    """The current version after a save; `changed` is false when the policy was the same already."""

    changed: bool


class ApprovalBody(msgspec.Struct):
    """A group that decides together: a monthly meeting (on `meeting_day`) or a committee."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime
    code: str
    name: str
    kind: str
    meeting_day: int | None
    member_ids: list[uuid.UUID]


class OutboxEmail(msgspec.Struct):
    """Mail kept for sending; `status` is queued, sent or failed."""

    id: uuid.UUID
    to_email: str
    subject: str
    sent_at: datetime | None
    error: str
    attempts: int
    last_attempt_at: datetime | None
    created_at: datetime
    body: str
    status: str


class OutboxEmailList(msgspec.Struct):
    items: list[OutboxEmail]
    total: int
    limit: int
    offset: int


class Notification(msgspec.Struct):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str
    read_at: datetime | None
    created_at: datetime


class NotificationList(msgspec.Struct):
    items: list[Notification]
    total: int
    limit: int
    offset: int


class MarkedRead(msgspec.Struct):
    """How many notifications this marked read."""

    marked: int
