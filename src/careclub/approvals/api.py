"""The approvals JSON API: preview, tasks, requests (detail, decide, withdraw, resubmit),
delegations, meetings and minutes, policies, notifications."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from careclub.approvals import schemas, service
from careclub.approvals.rules import PolicySpec
from careclub.core.errors import Forbidden, ValidationFailed
from careclub.core.money import with_money
from careclub.core.principal import Principal
from careclub.core.schemas import out, out_list
from careclub.platform.api import Limit, Offset, PrincipalDep, minor_units, provide_principal
from careclub.platform.permissions import Perm

S = TypeVar("S", bound=msgspec.Struct)
T = TypeVar("T")

STAFF = Perm.DASHBOARD_VIEW  # every staff role holds it; members and merchant operators do not


def _money(value: T, principal: Principal) -> T:
    """What a service answered, with a request's `amount` (and any `amount` in its tasks, agenda items
    and timeline) as money: minor units inside, money in the API, as the contract says."""
    return with_money(value, principal.tenant.currency, "amount")


def _scope(principal: Principal) -> list[str]:
    """The subtrees where the principal manages approvals (sees every request from them)."""
    return principal.scope(Perm.APPROVALS_MANAGE)


def _company_manager(principal: Principal) -> bool:
    """Policies and bodies are company-wide: managing them needs the permission at the root."""
    return principal.covers(Perm.APPROVALS_MANAGE, None)


def policy_spec(raw: dict[str, Any], field: str = "policy") -> PolicySpec:
    try:
        return msgspec.convert(raw, PolicySpec)
    except msgspec.ValidationError as exc:
        text = str(exc)
        where = text.rsplit("- at `$", 1)[1].rstrip("`") if "- at `$" in text else ""
        raise ValidationFailed("%(field)s%(where)s: %(0)s", field=f"{field}{where}",
                               params={"field": field, "where": where, "0": text.split(' - at ')[0]}) from exc


class ApprovalController(Controller):
    path = "/api/v1/approvals"
    tags = ["approvals"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @post("/preview", opt={"permission": STAFF}, status_code=200)
    async def preview(self, data: JSONBody[schemas.PreviewRequest], principal: PrincipalDep) -> schemas.Preview:
        """The chain of steps (and who would approve) a request would get; creates nothing."""
        return out(schemas.Preview, await service.preview(
            subject_type=data.subject_type, amount=minor_units(principal, data.amount, "amount"),
            category=data.category, in_plan=data.in_plan, org_unit=data.org_unit))

    @get("/tasks", opt={"permission": Perm.APPROVALS_DECIDE})
    async def tasks(self, principal: PrincipalDep) -> list[schemas.Task]:
        """Steps waiting for your decision (or for someone you stand in for)."""
        return out_list(schemas.Task, _money(await service.pending_tasks(principal.user_id), principal))

    @get("/requests", opt={"permission": STAFF})
    async def my_requests(self, principal: PrincipalDep) -> list[schemas.ApprovalRequest]:
        """Requests you opened, newest first."""
        return out_list(schemas.ApprovalRequest, _money(await service.my_requests(principal.user_id), principal))

    @get("/requests/{request_id:uuid}", opt={"permission": STAFF})
    async def detail(self, request_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.ApprovalRequestDetail:
        """A request with its steps, decisions and timeline."""
        found = await service.detail(request_id, principal.user_id, manage_scope=_scope(principal),
                                 reader=principal)
        return out(schemas.ApprovalRequestDetail, _money(found, principal))

    @post("/requests/{request_id:uuid}/decisions", opt={"permission": Perm.APPROVALS_DECIDE}, status_code=201)
    async def decide(self, request_id: FromPath[uuid.UUID], data: JSONBody[schemas.DecisionCreate],
                     principal: PrincipalDep) -> schemas.ApprovalRequest:
        """Approve, reject or return the step `step_id`. 409 when it was decided meanwhile."""
        await service.visible_request(request_id, principal.user_id, manage_scope=_scope(principal))
        return out(schemas.ApprovalRequest, _money(await service.decide(
            request_id=request_id, step_id=data.step_id, decision=data.decision, comment=data.comment,
            actor_id=principal.user_id, actor_name=principal.display_name,
            attachments=schemas.attachments_json(data.attachments)), principal))

    @post("/requests/{request_id:uuid}/withdraw", opt={"permission": STAFF}, status_code=200)
    async def withdraw(self, request_id: FromPath[uuid.UUID], data: JSONBody[schemas.WithdrawCreate],
                       principal: PrincipalDep) -> schemas.ApprovalRequest:
        await service.visible_request(request_id, principal.user_id, manage_scope=_scope(principal))
        return out(schemas.ApprovalRequest, _money(await service.withdraw(
            request_id=request_id, actor_id=principal.user_id, reason=data.reason), principal))

    @post("/requests/{request_id:uuid}/resubmit", opt={"permission": STAFF}, status_code=200)
    async def resubmit(self, request_id: FromPath[uuid.UUID], data: JSONBody[schemas.ResubmitCreate],
                       principal: PrincipalDep) -> schemas.ApprovalRequest:
        """Send a returned request round again (revised); its history stays."""
        await service.visible_request(request_id, principal.user_id, manage_scope=_scope(principal))
        extra: dict[str, Any] = {}
        if data.amount is not None:
            extra["amount"] = minor_units(principal, data.amount, "amount")
        return out(schemas.ApprovalRequest, _money(await service.resubmit(
            request_id=request_id, actor_id=principal.user_id, comment=data.comment, title=data.title,
            attachments=schemas.attachments_json(data.attachments), **extra), principal))

    @get("/delegations", opt={"permission": Perm.APPROVALS_DECIDE})
    async def delegations(self, principal: PrincipalDep) -> list[schemas.DelegationRecord]:
        return out_list(schemas.DelegationRecord, await service.delegations(principal.user_id))

    @post("/delegations", opt={"permission": Perm.APPROVALS_DECIDE}, status_code=201)
    async def delegate(self, data: JSONBody[schemas.DelegationCreate],
                       principal: PrincipalDep) -> schemas.Delegation:
        """Let a colleague decide your steps from `starts_on` to `ends_on` (both inclusive)."""
        return out(schemas.Delegation, await service.delegate(
            delegator_id=principal.user_id, delegate_id=data.delegate_id, starts_on=data.starts_on,
            ends_on=data.ends_on, reason=data.reason))

    @delete("/delegations/{delegation_id:uuid}", opt={"permission": Perm.APPROVALS_DECIDE}, status_code=204)
    async def revoke_delegation(self, delegation_id: FromPath[uuid.UUID], principal: PrincipalDep) -> None:
        await service.revoke_delegation(principal.user_id, delegation_id)

    @get("/meetings", opt={"permission": Perm.APPROVALS_DECIDE})
    async def meetings(self, all: FromQuery[bool] = False) -> list[schemas.Meeting]:
        """Scheduled meetings with their number of open items (all=true: held ones too)."""
        return [out(schemas.Meeting, m) for m in await service.meetings(upcoming_only=not all)]

    @get("/meetings/{meeting_id:uuid}", opt={"permission": Perm.APPROVALS_DECIDE})
    async def agenda(self, meeting_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.Agenda:
        return out(schemas.Agenda, _money(await service.agenda(meeting_id), principal))

    @post("/meetings/{meeting_id:uuid}/minutes", opt={"permission": Perm.APPROVALS_DECIDE}, status_code=201)
    async def minutes(self, meeting_id: FromPath[uuid.UUID], data: JSONBody[schemas.MinutesCreate],
                      principal: PrincipalDep) -> schemas.Agenda:
        """Record the meeting's decision per item; items left out move to the next meeting."""
        return out(schemas.Agenda, _money(await service.record_minutes(
            meeting_id=meeting_id, actor_id=principal.user_id, actor_name=principal.display_name,
            items=[msgspec.to_builtins(i) for i in data.items], note=data.note,
            manager=_company_manager(principal)), principal))

    @get("/policies", opt={"permission": Perm.APPROVALS_MANAGE})
    async def policies(self) -> list[schemas.PolicySummary]:
        """The current version of every policy."""
        return out_list(schemas.PolicySummary, await service.list_policies())

    @get("/policies/{subject_type:str}", opt={"permission": Perm.APPROVALS_MANAGE})
    async def policy(self, subject_type: FromPath[str]) -> schemas.Policy:
        return out(schemas.Policy, await service.current_policy(subject_type))

    @put("/policies/{subject_type:str}", opt={"permission": Perm.APPROVALS_MANAGE})
    async def put_policy(self, subject_type: FromPath[str], data: JSONBody[schemas.PolicyApply],
                         principal: PrincipalDep) -> schemas.PolicySaved:
        """Store a new version (validated exactly like tenant files); unchanged policies stay."""
        if not _company_manager(principal):
            raise Forbidden("policies are company-wide: manage approvals at the company to change them")
        spec = policy_spec(data.policy)
        if spec.subject_type != subject_type:
            raise ValidationFailed("policy.subject_type must match the path", field="policy.subject_type")
        row, changed = await service.apply_policy(spec, source="api", actor_id=principal.user_id)
        return out(schemas.PolicySaved, {**row, "changed": changed})

    @get("/bodies", opt={"permission": Perm.APPROVALS_DECIDE})
    async def bodies(self) -> list[schemas.ApprovalBody]:
        return out_list(schemas.ApprovalBody, await service.list_bodies())

    @get("/outbox", opt={"permission": Perm.TENANT_MANAGE})
    async def outbox(self, status: FromQuery[str | None] = None, limit: Limit = 50,
                     offset: Offset = 0) -> schemas.OutboxEmailList:
        """The tenant's mail, newest first: kept because no SMTP server is configured, not yet
        sent, or sent (`sent_at`); `status` = queued, sent or failed narrows it."""
        rows, total = await service.outbox_page(status=status, limit=limit, offset=offset, with_body=True)
        return schemas.OutboxEmailList(items=out_list(schemas.OutboxEmail, rows), total=total, limit=limit,
                                       offset=offset)


class NotificationController(Controller):
    """The signed-in person's own in-app notifications; anyone else's answer 404."""

    path = "/api/v1/notifications"
    tags = ["notifications"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @get("/", opt={"permission": Perm.AUTHENTICATED})
    async def list_notifications(self, principal: PrincipalDep, unread: FromQuery[bool] = False,
                                 limit: Limit = 50, offset: Offset = 0) -> schemas.NotificationList:
        """Newest first; `unread=true` keeps only the unread ones (`read_at` is null)."""
        rows, total = await service.notifications(principal.user_id, unread_only=unread, limit=limit, offset=offset)
        return schemas.NotificationList(items=out_list(schemas.Notification, rows), total=total, limit=limit,
                                        offset=offset)

    @post("/{notification_id:uuid}/read", opt={"permission": Perm.AUTHENTICATED}, status_code=200)
    async def read_one(self, notification_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.Notification:
        """Mark one notification read (marking it again changes nothing)."""
        return out(schemas.Notification, await service.read_notification(principal.user_id, notification_id))

    @post("/read-all", opt={"permission": Perm.AUTHENTICATED}, status_code=200)
    async def read_all(self, principal: PrincipalDep) -> schemas.MarkedRead:
        """Mark every unread notification read; answers how many changed."""
        return schemas.MarkedRead(marked=await service.read_all(principal.user_id))

    @post("/read", opt={"permission": Perm.AUTHENTICATED}, status_code=200, include_in_schema=False)
    async def read_all_legacy(self, principal: PrincipalDep) -> schemas.MarkedRead:
        """The first spelling of read-all, kept for callers written against it."""
        return schemas.MarkedRead(marked=await service.read_all(principal.user_id))


ROUTES: list[Any] = [ApprovalController, NotificationController]
