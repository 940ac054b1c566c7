"""The approval core's tables: versioned policies, bodies and their meetings, requests with
their steps and decisions, a timeline, delegations, and notifications (inbox and outbox)."""

from __future__ import annotations

from typing import Any

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)

from careclub.core.db import TenantTable


class LoadJson:
    """Selects answer JSONB columns decoded (Piccolo hands out strings otherwise)."""

    @classmethod
    def select(cls, *columns: Any, **kwargs: Any) -> Any:
        return super().select(*columns, **kwargs).output(load_json=True)  # type: ignore[misc]


class ApprovalPolicy(LoadJson, TenantTable, tablename="approval_policy"):
    """One version of a tenant's policy for a subject type; `spec` is the PolicySpec as written.
    Requests point at the version they started under, so a new version never changes them."""

    subject_type = Varchar(length=48)
    version = Integer()
    name = Varchar(length=200, default="")
    spec = JSONB()
    is_current = Boolean(default=True)
    source = Varchar(length=32, default="api")
    created_by = UUID(null=True, default=None)


class ApprovalBody(TenantTable, tablename="approval_body"):
    """A named group that decides together: a monthly meeting or a committee."""

    code = Varchar(length=48)
    name = Varchar(length=200)
    kind = Varchar(length=16, default="meeting")
    meeting_day = Integer(null=True, default=None)
    member_ids = Array(base_column=UUID())


class Meeting(TenantTable, tablename="approval_meeting"):
    body = ForeignKey(ApprovalBody)
    scheduled_on = Date()
    status = Varchar(length=16, default="scheduled")
    held_at = Timestamptz(null=True, default=None)
    minutes_by = UUID(null=True, default=None)
    minutes_note = Text(default="")


class ApprovalRequest(LoadJson, TenantTable, tablename="approval_request"):
    subject_type = Varchar(length=48)
    subject_id = Varchar(length=64)
    title = Varchar(length=300)
    amount = BigInt(null=True, default=None)
    category = Varchar(length=48, null=True, default=None)
    in_plan = Boolean(default=False)
    org_unit = UUID(null=True, default=None)
    requester_id = UUID()
    requester_name = Varchar(length=160, default="")
    policy = ForeignKey(ApprovalPolicy)
    policy_version = Integer()
    rule_name = Varchar(length=200, default="")
    status = Varchar(length=16, default="in_review")
    round = Integer(default=1)
    current_position = Integer(default=0)
    attachments = JSONB(default=[])
    decided_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(null=True, default=None)


class ApprovalStep(LoadJson, TenantTable, tablename="approval_step"):
    """A step of one round of a request. `slots` lists who may sign: one slot for single,
    any_of, committee and meeting steps, one per signer for countersign. `open_ids` is everyone
    who may still act on it (for the inbox)."""

    request = ForeignKey(ApprovalRequest)
    round = Integer(default=1)
    position = Integer()
    kind = Varchar(length=16)
    name = Varchar(length=200)
    spec = JSONB()
    slots = JSONB(default=[])
    open_ids = Array(base_column=UUID())
    status = Varchar(length=16, default="waiting")
    body = UUID(null=True, default=None)
    meeting = UUID(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    due_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)
    escalated_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    reason = Text(default="")


class ApprovalDecision(LoadJson, TenantTable, tablename="approval_decision"):
    request = ForeignKey(ApprovalRequest)
    step = ForeignKey(ApprovalStep)
    slot = Integer(default=0)
    decision = Varchar(length=16)
    comment = Text(default="")
    attachments = JSONB(default=[])
    decider_id = UUID(null=True, default=None)
    decider_name = Varchar(length=160, default="")
    on_behalf_of_id = UUID(null=True, default=None)
    on_behalf_of_name = Varchar(length=160, default="")


class ApprovalEvent(LoadJson, TenantTable, tablename="approval_event"):
    """The request's timeline (each event is also in the audit trail)."""

    request = ForeignKey(ApprovalRequest)
    kind = Varchar(length=32)
    actor_id = UUID(null=True, default=None)
    actor_name = Varchar(length=160, default="")
    detail = JSONB(default={})


class Delegation(TenantTable, tablename="approval_delegation"):
    delegator = UUID()
    delegate = UUID()
    starts_on = Date()
    ends_on = Date()
    reason = Text(default="")
    revoked_at = Timestamptz(null=True, default=None)


class Notification(TenantTable, tablename="notification"):
    """The in-app inbox."""

    user_id = UUID()
    kind = Varchar(length=32)
    title = Varchar(length=300)
    body = Text(default="")
    link = Varchar(length=300, default="")
    read_at = Timestamptz(null=True, default=None)


class OutboxEmail(TenantTable, tablename="outbox_email"):
    """Email that would go out; kept here when no SMTP server is configured (admins see it)."""

    to_email = Varchar(length=254)
    subject = Varchar(length=300)
    body = Text(default="")
    sent_at = Timestamptz(null=True, default=None)
    error = Text(default="")  # the last failed attempt's error (cleared once sent)
    attempts = Integer(default=0)
    last_attempt_at = Timestamptz(null=True, default=None)
