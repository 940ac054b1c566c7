"""Requests and decisions: opening a request on its policy's chain, deciding steps (one winner
per slot, countersign all-of), return and resubmit, withdraw, and the subjects' callbacks."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec

from careclub.approvals import rules
from careclub.approvals.rules import StepSpec
from careclub.approvals.service._notify import notify
from careclub.approvals.service._people import Org, delegators_of
from careclub.approvals.service._policies import chain_for, current_policy, policy_version, resolve_step, spec_of
from careclub.approvals.tables import (
    ApprovalBody,
    ApprovalDecision,
    ApprovalEvent,
    ApprovalRequest,
    ApprovalStep,
    Meeting,
)
from careclub.core import clock
from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.principal import current_actor
from careclub.platform import audit
from careclub.platform.service import company_today, company_zone
from careclub.platform.tables import User

_DECIDED = {"rejected": N_("Rejected: {title}"), "returned": N_("Returned: {title}")}

log = logging.getLogger("careclub.approvals")

Callback = Callable[[dict[str, Any]], Awaitable[None]]
OPEN = ("in_review", "returned")


@dataclass(frozen=True)
class Subject:
    subject_type: str
    on_approved: Callback
    on_rejected: Callback
    on_returned: Callback | None = None
    on_withdrawn: Callback | None = None
    # the subject's own page (the plan, the spending request …), so an approver sees what he decides
    link: Callable[[str], str] | None = None
    # whether a person may read the subject (its domain's rules): he then reads its request too, read-only (an
    # auditor of the accounts follows a month's countersign chain without being on it)
    may_read: Callable[[Any, str], Awaitable[bool]] | None = None


_SUBJECTS: dict[str, Subject] = {}


def register_subject(subject_type: str, *, on_approved: Callback, on_rejected: Callback,
                     on_returned: Callback | None = None, on_withdrawn: Callback | None = None,
                     link: Callable[[str], str] | None = None,
                     may_read: Callable[[Any, str], Awaitable[bool]] | None = None) -> None:
    """Let a domain open requests for `subject_type`. Each callback is `async def cb(request)`,
    awaited inside the transaction of the decision that ends the request (so a failing callback
    undoes the decision too)."""
    if not rules.SUBJECT_TYPE.match(subject_type):
        raise ValueError(f"subject type {subject_type!r} must be snake_case")
    _SUBJECTS[subject_type] = Subject(subject_type, on_approved, on_rejected, on_returned, on_withdrawn, link,
                                      may_read)


def subject_link(subject_type: str, subject_id: str) -> str | None:
    """Where the subject of a request is shown, when its domain said (None otherwise)."""
    subject = _SUBJECTS.get(subject_type)
    return subject.link(subject_id) if subject is not None and subject.link is not None else None


async def subject_readable(subject_type: str, subject_id: str, reader: Any) -> bool:
    """Whether the subject's domain lets `reader` (a principal) read the subject; False when it does not say."""
    subject = _SUBJECTS.get(subject_type)
    if subject is None or subject.may_read is None:
        return False
    return await subject.may_read(reader, subject_id)


def registered_subjects() -> list[str]:
    return sorted(_SUBJECTS)


def request_dict(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "subject_type", "subject_id", "title", "status", "amount", "category", "in_plan", "org_unit",
            "requester_id", "requester_name", "policy_version", "rule_name", "round", "current_position",
            "attachments", "created_at", "decided_at")
    out = {k: row.get(k) for k in keys}
    out["policy_id"] = row.get("policy")
    return out


_tenant_zone = company_zone
_today = company_today


async def _event(request_id: uuid.UUID, kind: str, detail: dict[str, Any] | None = None,
                 actor: tuple[uuid.UUID | None, str] | None = None) -> None:
    actor_id, actor_name = actor if actor else (current_actor().id, current_actor().name)
    data = audit._jsonable(detail or {})
    await ApprovalEvent(request=request_id, kind=kind, actor_id=actor_id, actor_name=actor_name, detail=data).save()
    await audit.record(f"approval.{kind}", "approval_request", request_id, after=data)


async def _lock_request(request_id: uuid.UUID) -> dict[str, Any]:
    # Row lock (raw SQL: Piccolo has no SELECT … FOR UPDATE). Every change to a request and its
    # steps takes it first, so two deciders are served one after the other and the second sees
    # the first one's result.
    rows = await fetch("SELECT id FROM approval_request WHERE id = $1 FOR UPDATE", request_id)
    if not rows:
        raise NotFound("no such approval request", code="approval_request_not_found")
    row = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
    assert row is not None
    return row


async def _reload(request_id: uuid.UUID) -> dict[str, Any]:
    row = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
    assert row is not None
    return row


async def _call(subject_type: str, which: str, request_id: uuid.UUID) -> None:
    subject = _SUBJECTS.get(subject_type)
    callback = getattr(subject, which, None) if subject else None
    if callback is not None:
        await callback(request_dict(await _reload(request_id)))


def _slot_json(slots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": s["label"], "user_ids": [str(u) for u in s["user_ids"]],
             "people": audit._jsonable(s["people"]), "decided_by": None, "decision": None} for s in slots]


def _open_ids(slots: list[dict[str, Any]]) -> list[uuid.UUID]:
    out: dict[uuid.UUID, None] = {}
    for s in slots:
        if s["decision"] is None:
            for u in s["user_ids"]:
                out[uuid.UUID(u)] = None
    return list(out)


async def _create_steps(request_id: uuid.UUID, round_no: int,
                        steps: list[tuple[StepSpec, list[dict[str, Any]]]]) -> None:
    for position, (spec, slots) in enumerate(steps):
        if spec.kind != "auto" and not any(s["user_ids"] for s in slots):
            raise ValidationFailed("step %(value)s (%(name)s) finds no approver for this org unit",
                                   code="no_approver", field="org_unit",
                                   params={"value": position + 1, "name": spec.name})
        if spec.kind == "countersign" and not all(s["user_ids"] for s in slots):
            empty = next(s["label"] for s in slots if not s["user_ids"])
            raise ValidationFailed("step %(value)s (%(name)s): nobody is %(empty)s", code="no_approver",
                                   field="org_unit",
                                   params={"value": position + 1, "name": spec.name, "empty": empty})
        body_id = None
        if spec.approvers and spec.approvers[0].body:
            body = await ApprovalBody.select(ApprovalBody.id).where(ApprovalBody.code == spec.approvers[0].body).first()
            body_id = body["id"] if body else None
        await ApprovalStep(request=request_id, round=round_no, position=position, kind=spec.kind, name=spec.name,
                           spec=msgspec.to_builtins(spec), slots=_slot_json(slots), open_ids=[], status="waiting",
                           body=body_id).save()


async def _meeting_for(body_id: uuid.UUID, after: date) -> tuple[uuid.UUID, date]:
    """The next scheduled meeting of a body on or after `after` (created when first needed)."""
    body = await ApprovalBody.select().where(ApprovalBody.id == body_id).first()
    assert body is not None
    day = rules.next_meeting_date(after, body["meeting_day"] or 1)
    while True:
        # Two requests reaching the same meeting at once must share one row: insert-or-nothing
        # on the (tenant, body, date) key (raw SQL: Piccolo has no ON CONFLICT DO NOTHING here).
        await fetch("INSERT INTO approval_meeting (id, tenant_id, created_at, body, scheduled_on, status, held_at, "
                    "minutes_by, minutes_note) VALUES ($1, $2, now(), $3, $4, 'scheduled', NULL, NULL, '') "
                    "ON CONFLICT (tenant_id, body, scheduled_on) DO NOTHING",
                    uuid.uuid4(), current_tenant_id(), body_id, day)
        row = await Meeting.select().where(Meeting.body == body_id, Meeting.scheduled_on == day).first()
        assert row is not None
        if row["status"] == "scheduled":
            return row["id"], day
        day = rules.next_meeting_date(date.fromordinal(day.toordinal() + 1), body["meeting_day"] or 1)


async def _advance(request_id: uuid.UUID) -> None:
    """Start the next waiting step of the current round; auto steps pass at once. When no step
    is left the request is approved."""
    req = await _reload(request_id)
    while True:
        step = await ApprovalStep.select().where(
            ApprovalStep.request == request_id, ApprovalStep.round == req["round"],
            ApprovalStep.status == "waiting").order_by(ApprovalStep.position).first()
        if step is None:
            now = clock.now()
            await ApprovalRequest.update({ApprovalRequest.status: "approved", ApprovalRequest.decided_at: now,
                                          ApprovalRequest.updated_at: now}).where(ApprovalRequest.id == request_id)
            await _event(request_id, "approved", {"title": req["title"]})
            await notify([req["requester_id"]], "approval_approved", N_("Approved: {title}"),
                         params={"title": req["title"]},
                         link=f"/approvals/requests/{request_id}")
            await _call(req["subject_type"], "on_approved", request_id)
            return
        spec = msgspec.convert(step["spec"], StepSpec)
        now = clock.now()
        await ApprovalRequest.update({ApprovalRequest.current_position: step["position"],
                                      ApprovalRequest.updated_at: now}).where(ApprovalRequest.id == request_id)
        if spec.kind == "auto":
            await ApprovalStep.update({ApprovalStep.status: "approved", ApprovalStep.started_at: now,
                                       ApprovalStep.finished_at: now, ApprovalStep.reason: spec.reason or ""}).where(
                ApprovalStep.id == step["id"])
            await _event(request_id, "auto_approved", {"step": step["name"], "reason": spec.reason},
                         actor=(None, "system"))
            continue
        if spec.kind == "meeting" and step["body"] is not None:
            meeting_id, day = await _meeting_for(step["body"], await _today())
            await ApprovalStep.update({ApprovalStep.status: "active", ApprovalStep.started_at: now,
                                       ApprovalStep.meeting: meeting_id, ApprovalStep.open_ids: []}).where(
                ApprovalStep.id == step["id"])
            await _event(request_id, "queued_for_meeting", {"step": step["name"], "meeting_on": day.isoformat()})
            return
        open_ids = _open_ids(step["slots"])
        due = rules.step_deadline(spec, now, await _tenant_zone())
        await ApprovalStep.update({ApprovalStep.status: "active", ApprovalStep.started_at: now,
                                   ApprovalStep.due_at: due, ApprovalStep.open_ids: open_ids}).where(
            ApprovalStep.id == step["id"])
        await _event(request_id, "step_started", {"step": step["name"], "kind": spec.kind,
                                                  "due_at": due, "approvers": [s["label"] for s in step["slots"]]})
        await notify(open_ids, "approval_task", N_("To approve: {title}"), params={"title": req["title"]},
                     body=step["name"],
                     link=f"/approvals/requests/{request_id}")
        return


# ---- opening -----------------------------------------------------------------------------------

async def open_request(*, subject_type: str, subject_id: str, amount: int | None, category: str | None,
                       in_plan: bool, org_unit_id: uuid.UUID | None, title: str, requester_id: uuid.UUID,
                       attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Open a request on the subject type's current policy and start its first step."""
    if subject_type not in _SUBJECTS:
        raise ValidationFailed("subject type %(subject_type)r is not registered with the approval core",
                               code="unknown_subject_type", field="subject_type",
                               params={"subject_type": subject_type})
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise ValidationFailed("title is required (at most 300 characters)", field="title")
    if amount is not None and amount < 0:
        raise ValidationFailed("amount must not be negative", field="amount")
    requester = await User.select(User.id, User.display_name).where(User.id == requester_id).first()
    if requester is None:
        raise NotFound("no such requester", code="user_not_found", field="requester_id")
    policy = await current_policy(subject_type)
    org = await Org.load()
    unit = org.find(org_unit_id)
    rule, steps = await chain_for(policy, amount=amount, category=category, in_plan=in_plan, unit=unit, org=org)
    req = ApprovalRequest(subject_type=subject_type, subject_id=str(subject_id), title=title, amount=amount,
                          category=rules.normalise_category(spec_of(policy), category),
                          in_plan=in_plan, org_unit=unit.id, requester_id=requester_id,
                          requester_name=requester["display_name"], policy=policy["id"],
                          policy_version=policy["version"], rule_name=rule.spec.name, status="in_review",
                          attachments=audit._jsonable(attachments or []), updated_at=clock.now())
    await req.save()
    await _create_steps(req.id, 1, steps)
    await _event(req.id, "submitted", {"title": title, "amount": amount, "category": category, "in_plan": in_plan,
                                       "policy_version": policy["version"], "rule": rule.spec.name},
                 actor=(requester_id, requester["display_name"]))
    await _advance(req.id)
    return request_dict(await _reload(req.id))


# ---- deciding ----------------------------------------------------------------------------------

async def _eligible_slot(step: dict[str, Any], actor_id: uuid.UUID) -> tuple[int, uuid.UUID | None] | None:
    """The slot the actor signs (own first, then for someone they stand in for today), or None.
    Someone named in two slots of a countersign (two roles, or added by escalation) signs them
    one decision at a time; refusing would leave the step waiting forever."""
    slots = step["slots"]
    mine = str(actor_id)
    for i, s in enumerate(slots):
        if s["decision"] is None and mine in s["user_ids"]:
            return i, None
    for d in await delegators_of(actor_id, await _today()):
        theirs = str(d["delegator"])
        for i, s in enumerate(slots):
            if s["decision"] is None and theirs in s["user_ids"]:
                return i, d["delegator"]
    return None


async def decide(*, request_id: uuid.UUID, step_id: uuid.UUID, decision: str, comment: str = "",
                 actor_id: uuid.UUID, actor_name: str, attachments: list[dict[str, Any]] | None = None,
                 meeting_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Decide the active step `step_id`: approve, reject or return it to the requester."""
    if decision not in rules.DECISIONS:
        raise ValidationFailed("decision must be one of %(choices)s", field="decision",
                               params={"choices": ', '.join(rules.DECISIONS)})
    comment = (comment or "").strip()
    if len(comment) > 4000:
        raise ValidationFailed("comment must be at most 4000 characters", field="comment")
    if decision in ("reject", "return") and not comment:
        raise ValidationFailed("say why: a comment is required to reject or return", field="comment")
    req = await _lock_request(request_id)
    step = await ApprovalStep.select().where(ApprovalStep.id == step_id, ApprovalStep.request == request_id).first()
    if step is None:
        raise NotFound("no such step in this request", code="approval_step_not_found", field="step_id")
    if req["status"] != "in_review":
        raise Conflict("this request is %(status)s, not in review", code="request_not_in_review",
                       params={"status": req['status']})
    if step["status"] != "active":
        raise Conflict("this step is %(status)s already", code="step_already_decided",
                       params={"status": step['status']})
    on_behalf: uuid.UUID | None = None
    if meeting_id is not None:
        if step["meeting"] != meeting_id:
            raise ValidationFailed("this item is not on that meeting's agenda", field="step_id")
        slot = 0
    else:
        if step["kind"] == "meeting":
            raise Conflict("this step is decided in the minutes of its meeting", code="decided_at_meeting")
        found = await _eligible_slot(step, actor_id)
        if found is None:
            if any(str(actor_id) in s["user_ids"] for s in step["slots"]):
                raise Conflict("your part of this step is decided already", code="step_already_decided")
            raise Forbidden("you are not an approver of this step", code="not_your_step")
        slot, on_behalf = found
    names = await User.select(User.id, User.display_name).where(
        User.id.is_in([actor_id] + ([on_behalf] if on_behalf else [])))
    name_of = {r["id"]: r["display_name"] for r in names}
    await ApprovalDecision(request=request_id, step=step_id, slot=slot, decision=decision, comment=comment,
                           attachments=audit._jsonable(attachments or []), decider_id=actor_id,
                           decider_name=name_of.get(actor_id, actor_name), on_behalf_of_id=on_behalf,
                           on_behalf_of_name=name_of.get(on_behalf, "") if on_behalf else "").save()
    slots = step["slots"]
    slots[slot]["decision"] = decision
    slots[slot]["decided_by"] = str(on_behalf or actor_id)
    outcome = rules.step_outcome(step["kind"], len(slots), [s["decision"] for s in slots if s["decision"]])
    now = clock.now()
    await _event(request_id, "decided", {"step": step["name"], "decision": decision, "comment": comment,
                                         "slot": slots[slot]["label"],
                                         "on_behalf_of": name_of.get(on_behalf) if on_behalf else None,
                                         "meeting": meeting_id},
                 actor=(actor_id, name_of.get(actor_id, actor_name)))
    if outcome is None:
        await ApprovalStep.update({ApprovalStep.slots: slots, ApprovalStep.open_ids: _open_ids(slots)}).where(
            ApprovalStep.id == step_id)
        return request_dict(await _reload(request_id))
    await ApprovalStep.update({ApprovalStep.slots: slots, ApprovalStep.open_ids: [], ApprovalStep.status: outcome,
                               ApprovalStep.finished_at: now}).where(ApprovalStep.id == step_id)
    if outcome == "approved":
        await _advance(request_id)
    else:
        await _end(req, "rejected" if outcome == "rejected" else "returned", comment)
    return request_dict(await _reload(request_id))


async def _end(req: dict[str, Any], status: str, comment: str) -> None:
    now = clock.now()
    await ApprovalStep.update({ApprovalStep.status: "cancelled", ApprovalStep.open_ids: []}).where(
        ApprovalStep.request == req["id"], ApprovalStep.status.is_in(["waiting", "active"]))
    await ApprovalRequest.update({ApprovalRequest.status: status, ApprovalRequest.updated_at: now,
                                  ApprovalRequest.decided_at: now if status in ("rejected", "withdrawn") else None}
                                 ).where(ApprovalRequest.id == req["id"])
    if status != "withdrawn":
        await _event(req["id"], status, {"comment": comment})
        await notify([req["requester_id"]], f"approval_{status}", _DECIDED[status], params={"title": req["title"]},
                     body=comment, link=f"/approvals/requests/{req['id']}")
    callback = {"rejected": "on_rejected", "returned": "on_returned", "withdrawn": "on_withdrawn"}[status]
    await _call(req["subject_type"], callback, req["id"])


async def withdraw(*, request_id: uuid.UUID, actor_id: uuid.UUID, reason: str = "") -> dict[str, Any]:
    req = await _lock_request(request_id)
    if req["requester_id"] != actor_id:
        raise Forbidden("only the requester may withdraw a request", code="not_requester")
    if req["status"] not in OPEN:
        raise Conflict("this request is %(status)s and cannot be withdrawn", code="request_closed",
                       params={"status": req['status']})
    await _event(request_id, "withdrawn", {"reason": reason.strip()})
    await _end(req, "withdrawn", reason.strip())
    return request_dict(await _reload(request_id))


_UNSET: Any = object()


async def resubmit(*, request_id: uuid.UUID, actor_id: uuid.UUID, comment: str = "", title: str | None = None,
                   amount: int | None = _UNSET, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Send a returned request round again, revised; it keeps its policy version and history."""
    req = await _lock_request(request_id)
    if req["requester_id"] != actor_id:
        raise Forbidden("only the requester may resubmit a request", code="not_requester")
    if req["status"] != "returned":
        raise Conflict("only a returned request can be resubmitted; this one is %(status)s",
                       code="request_not_returned", params={"status": req['status']})
    new_amount = req["amount"] if amount is _UNSET else amount
    if new_amount is not None and new_amount < 0:
        raise ValidationFailed("amount must not be negative", field="amount")
    new_title = (title or req["title"]).strip()[:300]
    policy = await policy_version(req["policy"])
    org = await Org.load()
    unit = org.find(req["org_unit"])
    rule, steps = await chain_for(policy, amount=new_amount, category=req["category"], in_plan=req["in_plan"],
                                  unit=unit, org=org)
    round_no = req["round"] + 1
    await _create_steps(request_id, round_no, steps)
    changes: dict[Any, Any] = {ApprovalRequest.round: round_no, ApprovalRequest.status: "in_review",
                               ApprovalRequest.amount: new_amount, ApprovalRequest.title: new_title,
                               ApprovalRequest.rule_name: rule.spec.name, ApprovalRequest.updated_at: clock.now()}
    if attachments is not None:
        changes[ApprovalRequest.attachments] = audit._jsonable(attachments)
    await ApprovalRequest.update(changes).where(ApprovalRequest.id == request_id)
    await _event(request_id, "resubmitted", {"round": round_no, "comment": comment.strip(), "amount": new_amount,
                                             "title": new_title})
    await _advance(request_id)
    return request_dict(await _reload(request_id))


async def escalate_step(step: dict[str, Any], req: dict[str, Any], spec: StepSpec) -> list[uuid.UUID]:
    """Add the step's `escalate_to` people to every undecided slot; answers who was added."""
    org = await Org.load()
    unit = org.find(req["org_unit"])
    extra = await resolve_step(StepSpec(kind="any_of", name="escalation", approvers=spec.escalate_to), org, unit)
    added: list[uuid.UUID] = []
    slots = step["slots"]
    for person in (extra[0]["people"] if extra else []):
        pid = str(person["id"])
        for s in slots:
            if s["decision"] is None and pid not in s["user_ids"]:
                s["user_ids"].append(pid)
                s["people"].append(audit._jsonable(person))
                if person["id"] not in added:
                    added.append(person["id"])
    await ApprovalStep.update({ApprovalStep.slots: slots, ApprovalStep.open_ids: _open_ids(slots)}).where(
        ApprovalStep.id == step["id"])
    return added
