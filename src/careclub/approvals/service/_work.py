"""Reading requests (who may see what), the task list, meetings and minutes, delegation, and
the deadline sweep the periodic job runs."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import msgspec

from careclub.approvals.rules import StepSpec
from careclub.approvals.service._notify import local_time, notify
from careclub.approvals.service._people import delegators_of
from careclub.approvals.service._requests import (
    _event,
    _lock_request,
    _meeting_for,
    _today,
    decide,
    escalate_step,
    request_dict,
    subject_readable,
)
from careclub.approvals.tables import (
    ApprovalDecision,
    ApprovalEvent,
    ApprovalRequest,
    ApprovalStep,
    Delegation,
    Meeting,
)
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit, RoleGrant, User

STEP_FIELDS = ("id", "round", "position", "kind", "name", "status", "slots", "meeting", "started_at", "due_at",
               "reminded_at", "escalated_at", "finished_at", "reason")


async def _involved(request_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    mine = str(user_id)
    steps = await ApprovalStep.select(ApprovalStep.slots).where(ApprovalStep.request == request_id)
    people = {mine} | {str(d["delegator"]) for d in await delegators_of(user_id, await _today())}
    return any(people & set(s["user_ids"]) for step in steps for s in step["slots"])


async def _managed(row: dict[str, Any], manage_scope: list[str]) -> bool:
    if not manage_scope:
        return False
    unit = await OrgUnit.select(OrgUnit.path).where(OrgUnit.id == row["org_unit"]).first()
    return unit is not None and any(unit["path"].startswith(p) for p in manage_scope)


async def visible_request(request_id: uuid.UUID, viewer_id: uuid.UUID, *,
                          manage_scope: list[str], reader: Any = None) -> dict[str, Any]:
    """The request if the viewer may see it (requester, an approver of any step, someone they
    stand in for, or an approvals manager whose subtree holds the request's org unit; given the
    `reader`'s principal, also whoever the subject's domain lets read the subject); otherwise
    404 exactly like a missing id."""
    row = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
    if row is None or not (row["requester_id"] == viewer_id or await _involved(request_id, viewer_id)
                           or await _managed(row, manage_scope)
                           or (reader is not None
                               and await subject_readable(row["subject_type"], row["subject_id"], reader))):
        raise NotFound("no such approval request", code="approval_request_not_found")
    return row


async def detail(request_id: uuid.UUID, viewer_id: uuid.UUID, *, manage_scope: list[str],
                 reader: Any = None) -> dict[str, Any]:
    row = await visible_request(request_id, viewer_id, manage_scope=manage_scope, reader=reader)
    steps = await ApprovalStep.select().where(ApprovalStep.request == request_id).order_by(
        ApprovalStep.round).order_by(ApprovalStep.position)
    decisions = await ApprovalDecision.select().where(ApprovalDecision.request == request_id).order_by(
        ApprovalDecision.created_at)
    events = await ApprovalEvent.select().where(ApprovalEvent.request == request_id).order_by(
        ApprovalEvent.created_at)
    today = await _today()
    mine = {str(viewer_id)} | {str(d["delegator"]) for d in await delegators_of(viewer_id, today)}
    out = request_dict(row)
    out["steps"] = [{**{k: s[k] for k in STEP_FIELDS},
                     "can_decide": s["status"] == "active" and s["kind"] != "meeting" and any(
                         sl["decision"] is None and mine & set(sl["user_ids"]) for sl in s["slots"])}
                    for s in steps]
    out["decisions"] = [{k: d[k] for k in ("id", "step", "slot", "decision", "comment", "attachments", "decider_id",
                                           "decider_name", "on_behalf_of_id", "on_behalf_of_name", "created_at")}
                        for d in decisions]
    out["timeline"] = [{k: e[k] for k in ("id", "kind", "actor_id", "actor_name", "detail", "created_at")}
                       for e in events]
    out["can_withdraw"] = row["requester_id"] == viewer_id and row["status"] in ("in_review", "returned")
    out["can_resubmit"] = row["requester_id"] == viewer_id and row["status"] == "returned"
    return out


async def pending_tasks(user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Active steps the user (or someone they stand in for today) still has to sign."""
    delegations = await delegators_of(user_id, await _today())
    ids = [user_id] + [d["delegator"] for d in delegations]
    steps = await ApprovalStep.select(
        ApprovalStep.id, ApprovalStep.name, ApprovalStep.kind, ApprovalStep.slots, ApprovalStep.due_at,
        ApprovalStep.started_at, ApprovalStep.request.id, ApprovalStep.request.title,
        ApprovalStep.request.subject_type, ApprovalStep.request.amount, ApprovalStep.request.requester_name,
        ApprovalStep.request.category).where(
        ApprovalStep.status == "active", ApprovalStep.kind != "meeting",
        ApprovalStep.open_ids.overlap(ids)).order_by(ApprovalStep.started_at)
    out = []
    for s in steps:
        on_behalf = None
        if str(user_id) not in {u for sl in s["slots"] if sl["decision"] is None for u in sl["user_ids"]}:
            on_behalf = next((d["delegator"] for d in delegations if any(
                sl["decision"] is None and str(d["delegator"]) in sl["user_ids"] for sl in s["slots"])), None)
        out.append({"step_id": s["id"], "step": s["name"], "kind": s["kind"], "due_at": s["due_at"],
                    "started_at": s["started_at"], "request_id": s["request.id"], "title": s["request.title"],
                    "subject_type": s["request.subject_type"], "amount": s["request.amount"],
                    "category": s["request.category"], "requester": s["request.requester_name"],
                    "on_behalf_of": on_behalf})
    return out


async def pending_count(user_id: uuid.UUID) -> int:
    return len(await pending_tasks(user_id))


async def my_requests(user_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
    rows = await ApprovalRequest.select().where(ApprovalRequest.requester_id == user_id).order_by(
        ApprovalRequest.created_at, ascending=False).limit(limit)
    return [request_dict(r) for r in rows]


# ---- meetings ------------------------------------------------------------------------------------

async def meetings(*, upcoming_only: bool = True) -> list[dict[str, Any]]:
    q = Meeting.select(Meeting.id, Meeting.scheduled_on, Meeting.status, Meeting.held_at, Meeting.body.code,
                       Meeting.body.name, Meeting.body.member_ids)
    if upcoming_only:
        q = q.where(Meeting.status == "scheduled")
    rows = await q.order_by(Meeting.scheduled_on)
    for r in rows:
        r["items"] = await ApprovalStep.count().where(ApprovalStep.meeting == r["id"],
                                                      ApprovalStep.status == "active")
    return rows


async def agenda(meeting_id: uuid.UUID) -> dict[str, Any]:
    meeting = await Meeting.select(Meeting.id, Meeting.scheduled_on, Meeting.status, Meeting.held_at,
                                   Meeting.minutes_note, Meeting.body, Meeting.body.code, Meeting.body.name,
                                   Meeting.body.member_ids).where(Meeting.id == meeting_id).first()
    if meeting is None:
        raise NotFound("no such meeting", code="meeting_not_found")
    steps = await ApprovalStep.select(
        ApprovalStep.id, ApprovalStep.name, ApprovalStep.status, ApprovalStep.request.id,
        ApprovalStep.request.title, ApprovalStep.request.amount, ApprovalStep.request.category,
        ApprovalStep.request.subject_type, ApprovalStep.request.requester_name).where(
        ApprovalStep.meeting == meeting_id).order_by(ApprovalStep.started_at)
    meeting["items"] = [{"step_id": s["id"], "step": s["name"], "status": s["status"], "request_id": s["request.id"],
                         "title": s["request.title"], "amount": s["request.amount"],
                         "category": s["request.category"], "subject_type": s["request.subject_type"],
                         "requester": s["request.requester_name"]} for s in steps]
    return meeting


async def record_minutes(*, meeting_id: uuid.UUID, actor_id: uuid.UUID, actor_name: str,
                         items: list[dict[str, Any]], note: str = "", manager: bool = False) -> dict[str, Any]:
    """The minutes of a meeting: a decision per item. Items left out move to the next meeting."""
    # Lock the meeting (raw SQL: no FOR UPDATE in Piccolo) so minutes are recorded once.
    locked = await fetch("SELECT id FROM approval_meeting WHERE id = $1 FOR UPDATE", meeting_id)
    if not locked:
        raise NotFound("no such meeting", code="meeting_not_found")
    meeting = await agenda(meeting_id)
    if meeting["status"] != "scheduled":
        raise Conflict("the minutes of this meeting are recorded already", code="meeting_already_held")
    if not manager and actor_id not in meeting["body.member_ids"]:
        raise Forbidden("only a member of the body records its minutes", code="not_a_member")
    on_agenda = {i["step_id"]: i for i in meeting["items"] if i["status"] == "active"}
    seen = set()
    for n, item in enumerate(items):
        try:
            step_id = uuid.UUID(str(item.get("step_id")))
        except ValueError:
            raise ValidationFailed("items[%(n)s].step_id is not an id", field=f"items[{n}].step_id",
                                   params={"n": n}) from None
        if step_id not in on_agenda or step_id in seen:
            raise ValidationFailed("items[%(n)s] is not an open item of this meeting", field=f"items[{n}].step_id",
                                   params={"n": n})
        seen.add(step_id)
        await decide(request_id=on_agenda[step_id]["request_id"], step_id=step_id,
                     decision=str(item.get("decision") or ""), comment=str(item.get("comment") or ""),
                     actor_id=actor_id, actor_name=actor_name, meeting_id=meeting_id)
    now = clock.now()
    await Meeting.update({Meeting.status: "held", Meeting.held_at: now, Meeting.minutes_by: actor_id,
                          Meeting.minutes_note: note.strip()}).where(Meeting.id == meeting_id)
    await audit.record("approval_meeting.minutes", "approval_meeting", meeting_id,
                       after={"items": len(seen), "note": note.strip()})
    for step_id, item in on_agenda.items():
        if step_id in seen:
            continue
        next_id, day = await _meeting_for(meeting["body"], max(await _today(), meeting["scheduled_on"])
                                          + timedelta(days=1))
        await ApprovalStep.update({ApprovalStep.meeting: next_id}).where(ApprovalStep.id == step_id)
        await _event(item["request_id"], "moved_to_next_meeting", {"step": item["step"], "meeting_on": day})
    return await agenda(meeting_id)


# ---- delegation ----------------------------------------------------------------------------------

async def delegate(*, delegator_id: uuid.UUID, delegate_id: uuid.UUID, starts_on: date, ends_on: date,
                   reason: str = "") -> dict[str, Any]:
    if delegate_id == delegator_id:
        raise ValidationFailed("you cannot delegate to yourself", field="delegate_id")
    if ends_on < starts_on:
        raise ValidationFailed("ends_on must not be before starts_on", field="ends_on")
    if (ends_on - starts_on).days > 366:
        raise ValidationFailed("a delegation lasts at most a year", field="ends_on")
    if ends_on < await _today():
        raise ValidationFailed("ends_on lies in the past", field="ends_on")
    person = await User.select(User.id, User.kind, User.is_active).where(User.id == delegate_id).first()
    if person is None or person["kind"] != "staff" or not person["is_active"]:
        raise NotFound("no such colleague", code="user_not_found", field="delegate_id")
    roles = await RoleGrant.select(RoleGrant.role.permissions).where(RoleGrant.user == delegate_id)
    if not any(Perm.APPROVALS_DECIDE.value in r["role.permissions"] for r in roles):
        raise ValidationFailed("this colleague holds no role that may decide approvals", field="delegate_id",
                               code="delegate_cannot_decide")
    row = Delegation(delegator=delegator_id, delegate=delegate_id, starts_on=starts_on, ends_on=ends_on,
                     reason=reason.strip())
    await row.save()
    after = {"delegator": delegator_id, "delegate": delegate_id, "starts_on": starts_on, "ends_on": ends_on}
    await audit.record("approval_delegation.create", "approval_delegation", row.id, after=after)
    await notify([delegate_id], "approval_delegation", N_("You stand in as approver"),
                 body=f"{starts_on.isoformat()} – {ends_on.isoformat()}", link="/approvals")
    return {"id": row.id, **after, "reason": row.reason}


async def delegations(user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await Delegation.select().where(
        (Delegation.delegator == user_id) | (Delegation.delegate == user_id)).where(
        Delegation.revoked_at.is_null()).order_by(Delegation.starts_on)


async def revoke_delegation(user_id: uuid.UUID, delegation_id: uuid.UUID) -> None:
    row = await Delegation.select().where(Delegation.id == delegation_id, Delegation.delegator == user_id).first()
    if row is None:
        raise NotFound("no such delegation", code="delegation_not_found")
    await Delegation.update({Delegation.revoked_at: clock.now()}).where(Delegation.id == delegation_id)
    await audit.record("approval_delegation.revoke", "approval_delegation", delegation_id)


# ---- deadlines ---------------------------------------------------------------------------------

async def sweep_deadlines() -> dict[str, int]:
    """Remind approvers of steps near or past their deadline, and escalate overdue ones to the
    people the policy names (`escalate_to`). Idempotent: each step is reminded and escalated once."""
    now = clock.now()
    counts = {"reminded": 0, "escalated": 0, "overdue": 0}
    candidates = await ApprovalStep.select(ApprovalStep.id, ApprovalStep.request).where(
        ApprovalStep.status == "active", ApprovalStep.due_at.is_not_null(),
        ApprovalStep.escalated_at.is_null()).order_by(ApprovalStep.due_at)
    for c in candidates:
        req = await _lock_request(c["request"])
        step = await ApprovalStep.select().where(ApprovalStep.id == c["id"]).first()
        if step is None or step["status"] != "active" or step["escalated_at"] is not None:
            continue
        spec = msgspec.convert(step["spec"], StepSpec)
        remind_at = step["due_at"] - timedelta(hours=spec.remind_before_hours or 0)
        if step["reminded_at"] is None and now >= remind_at:
            await notify(list(step["open_ids"]), "approval_reminder", N_("Reminder: {title}"),
                         params={"title": req["title"]}, body=N_("{step} is due {due}"),
                         body_params={"step": step["name"], "due": await local_time(step["due_at"])},
                         link=f"/approvals/requests/{req['id']}")
            await ApprovalStep.update({ApprovalStep.reminded_at: now}).where(ApprovalStep.id == step["id"])
            await _event(req["id"], "reminder_sent", {"step": step["name"], "due_at": step["due_at"]},
                         actor=(None, "system"))
            counts["reminded"] += 1
        if now < step["due_at"]:
            continue
        if spec.escalate_to:
            added = await escalate_step(step, req, spec)
            await notify(added, "approval_escalated", N_("Escalated to you: {title}"), params={"title": req["title"]},
                         body=step["name"],
                         link=f"/approvals/requests/{req['id']}")
            await _event(req["id"], "escalated", {"step": step["name"], "to": [str(a) for a in added]},
                         actor=(None, "system"))
            counts["escalated"] += 1
        else:
            await _event(req["id"], "overdue", {"step": step["name"]}, actor=(None, "system"))
            counts["overdue"] += 1
        await ApprovalStep.update({ApprovalStep.escalated_at: now}).where(ApprovalStep.id == step["id"])
    return counts


def step_spec(step: dict[str, Any]) -> StepSpec:
    return msgspec.convert(step["spec"], StepSpec)



