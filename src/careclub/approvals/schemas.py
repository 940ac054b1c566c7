"""Request and response bodies of the approvals API (msgspec; unknown input fields refused)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from careclub.core.money import Money


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class PreviewRequest(Input):
    subject_type: str
    amount: Money | None = None
    category: str | None = None
    in_plan: bool = False
    org_unit: str | None = None  # an org unit's id (or code); null = the company


class Attachment(Input, omit_defaults=True):
    name: str
    url: str = ""
    size: int | None = None


class DecisionCreate(Input):
    step_id: uuid.UUID
    decision: str
    comment: str = ""
    attachments: list[Attachment] = []


class WithdrawCreate(Input):
    reason: str = ""


class ResubmitCreate(Input):
    comment: str = ""
    title: str | None = None
    amount: Money | None = None
    attachments: list[Attachment] | None = None


class DelegationCreate(Input):
    delegate_id: uuid.UUID
    starts_on: date
    ends_on: date
    reason: str = ""


class MinutesItem(Input):
    step_id: uuid.UUID
    decision: str
    comment: str = ""


class MinutesCreate(Input):
    items: list[MinutesItem]
    note: str = ""


class PolicyApply(Input):
    """A policy in the tenant-file shape (see `approvals.rules.PolicySpec`)."""

    policy: dict[str, Any]


def attachments_json(items: list[Attachment] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [msgspec.to_builtins(a) for a in items]
