"""The approval pages: my approvals (inbox), a request with its timeline and decision form,
meetings (agenda and minutes); the policies' pages are in views_policies.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from careclub.approvals import exports, rules, service
from careclub.approvals.views_policies import category_label, policies, policy_page, policy_save, subject_label
from careclub.core import clock
from careclub.core.errors import AppError, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_typed
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.tables import User
from careclub.platform.views import page as base_page
from careclub.platform.views import principal_of

Form = URLEncodedBody[dict[str, str]]

NOTICES = {
    "decided": N_("Your decision was recorded."),
    "withdrawn": N_("The request was withdrawn."),
    "resubmitted": N_("The request was sent again."),
    "delegated": N_("Your delegation was saved."),
    "minutes": N_("The minutes were recorded."),
    "saved": N_("The policy was saved as a new version."),
    "unchanged": N_("Nothing changed: the policy is the same as the current version."),
}


def _me(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_of(request)
    assert principal is not None
    return principal


def _scope(principal: Principal) -> list[str]:
    """The subtrees where the principal manages approvals (sees every request from them)."""
    return principal.scope(Perm.APPROVALS_MANAGE)


def _company_manager(principal: Principal) -> bool:
    """Policies and bodies are company-wide: managing them needs the permission at the root."""
    return principal.covers(Perm.APPROVALS_MANAGE, None)


async def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    """The platform's page, plus the navigation badge's count rendered on the server."""
    principal = _me(request)
    if "approvals_pending" not in ctx:
        ctx["approvals_pending"] = (await service.pending_count(principal.user_id)
                                    if principal.can(Perm.APPROVALS_DECIDE) else 0)
    if "notifications_unread" not in ctx:
        ctx["notifications_unread"] = await service.unread_count(principal.user_id)
    return base_page(request, template, status_code=status_code, **ctx)


def _notice(done: str | None) -> str | None:
    return _(NOTICES[done]) if done in NOTICES else None


@get("/approvals/count", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def pending_count(request: Request[Any, Any, Any]) -> dict[str, int]:
    """The navigation's badge: how many steps wait for me."""
    principal = _me(request)
    if not principal.can(Perm.APPROVALS_DECIDE):
        return {"count": 0}
    return {"count": await service.pending_count(principal.user_id)}


async def _inbox(request: Request[Any, Any, Any], *, errors: dict[str, str] | None = None,
                 form: dict[str, str] | None = None, status_code: int = 200, notice: str | None = None) -> Template:
    principal = _me(request)
    tasks = await service.pending_tasks(principal.user_id) if principal.can(Perm.APPROVALS_DECIDE) else []
    mine = await service.my_requests(principal.user_id)
    delegations = await service.delegations(principal.user_id) if principal.can(Perm.APPROVALS_DECIDE) else []
    ids = {d["delegator"] for d in delegations} | {d["delegate"] for d in delegations}
    names = {r["id"]: r["display_name"] for r in await User.select(User.id, User.display_name).where(
        User.id.is_in(list(ids) or [uuid.uuid4()]))}
    return await page(request, "approvals/inbox.html", status_code=status_code, tasks=tasks, mine=mine,
                      approvals_pending=len(tasks),
                delegations=delegations, names=names, errors=errors or {}, form=form or {}, notice=notice,
                today=(clock.local(clock.now(), principal.tenant.timezone) or clock.now()).date().isoformat())


@get("/approvals", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def inbox(request: Request[Any, Any, Any], done: FromQuery[str | None] = None,
                format: FromQuery[str | None] = None) -> Response[Any]:
    if format == "xlsx":  # both lists, whole
        return await exports.inbox_xlsx(_me(request))
    return await _inbox(request, notice=_notice(done))


@post("/approvals/delegations", opt={"permission": Perm.APPROVALS_DECIDE}, include_in_schema=False)
async def delegate(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    principal = _me(request)
    form = {k: (data.get(k) or "").strip() for k in ("email", "starts_on", "ends_on", "reason")}
    try:
        person = await User.select(User.id).where(User.email == form["email"].lower()).first()
        if person is None:
            raise NotFound("no such colleague", field="email")
        try:
            starts, ends = date.fromisoformat(form["starts_on"]), date.fromisoformat(form["ends_on"])
        except ValueError:
            raise ValidationFailed("give both dates as YYYY-MM-DD", field="ends_on") from None
        await service.delegate(delegator_id=principal.user_id, delegate_id=person["id"], starts_on=starts,
                               ends_on=ends, reason=form["reason"])
    except AppError as exc:
        field = "email" if exc.field in ("email", "delegate_id") else exc.field if exc.field in form else "form"
        return await _inbox(request, errors={field: _(exc.message)}, form=form, status_code=exc.status_code)
    return Redirect("/approvals?done=delegated", status_code=303)


async def _detail(request: Request[Any, Any, Any], request_id: uuid.UUID, *, errors: dict[str, str] | None = None,
                  status_code: int = 200, notice: str | None = None) -> Template:
    principal = _me(request)
    item = await service.detail(request_id, principal.user_id, manage_scope=_scope(principal),
                                 reader=principal)
    steps_by_id = {s["id"]: s for s in item["steps"]}
    return await page(request, "approvals/request.html", status_code=status_code, item=item, steps_by_id=steps_by_id,
                errors=errors or {}, notice=notice, can_decide=principal.can(Perm.APPROVALS_DECIDE),
                subject_label=subject_label, category_label=category_label,
                subject_link=service.subject_link(item["subject_type"],
                                                                               item["subject_id"]))


@get("/approvals/requests/{request_id:uuid}", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def request_page(request: Request[Any, Any, Any], request_id: FromPath[uuid.UUID],
                       done: FromQuery[str | None] = None) -> Template:
    return await _detail(request, request_id, notice=_notice(done))


@post("/approvals/requests/{request_id:uuid}/decide", opt={"permission": Perm.APPROVALS_DECIDE},
      include_in_schema=False)
async def decide(request: Request[Any, Any, Any], request_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = _me(request)
    await service.visible_request(request_id, principal.user_id, manage_scope=_scope(principal))
    try:
        step_id = uuid.UUID(data.get("step_id") or "")
    except ValueError:
        return await _detail(request, request_id, errors={"form": _("Choose a step to decide.")}, status_code=422)
    try:
        await service.decide(request_id=request_id, step_id=step_id, decision=data.get("decision") or "",
                             comment=data.get("comment") or "", actor_id=principal.user_id,
                             actor_name=principal.display_name)
    except AppError as exc:
        return await _detail(request, request_id, errors={exc.field if exc.field == "comment" else "form":
                                                          _(exc.message)}, status_code=exc.status_code)
    return Redirect(f"/approvals/requests/{request_id}?done=decided", status_code=303)


@post("/approvals/requests/{request_id:uuid}/withdraw", opt={"permission": Perm.DASHBOARD_VIEW},
      include_in_schema=False)
async def withdraw(request: Request[Any, Any, Any], request_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = _me(request)
    await service.visible_request(request_id, principal.user_id, manage_scope=_scope(principal))
    try:
        await service.withdraw(request_id=request_id, actor_id=principal.user_id, reason=data.get("reason") or "")
    except AppError as exc:
        return await _detail(request, request_id, errors={"form": _(exc.message)}, status_code=exc.status_code)
    return Redirect(f"/approvals/requests/{request_id}?done=withdrawn", status_code=303)


@post("/approvals/requests/{request_id:uuid}/resubmit", opt={"permission": Perm.DASHBOARD_VIEW},
      include_in_schema=False)
async def resubmit(request: Request[Any, Any, Any], request_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = _me(request)
    await service.visible_request(request_id, principal.user_id, manage_scope=_scope(principal))
    try:
        extra: dict[str, Any] = {}
        if (data.get("amount") or "").strip():
            extra["amount"] = parse_typed((data.get("amount") or "").strip(), field="amount")
        await service.resubmit(request_id=request_id, actor_id=principal.user_id, comment=data.get("comment") or "",
                               title=(data.get("title") or "").strip() or None, **extra)
    except AppError as exc:
        return await _detail(request, request_id, errors={"resubmit": _(exc.message)}, status_code=exc.status_code)
    return Redirect(f"/approvals/requests/{request_id}?done=resubmitted", status_code=303)


# ---- meetings ------------------------------------------------------------------------------------

@get("/approvals/meetings", opt={"permission": Perm.APPROVALS_DECIDE}, include_in_schema=False)
async def meetings(request: Request[Any, Any, Any]) -> Template:
    return await page(request, "approvals/meetings.html", meetings=await service.meetings(upcoming_only=False))


async def _agenda(request: Request[Any, Any, Any], meeting_id: uuid.UUID, *, errors: dict[str, str] | None = None,
                  status_code: int = 200, notice: str | None = None, form: dict[str, str] | None = None) -> Template:
    principal = _me(request)
    meeting = await service.agenda(meeting_id)
    may_record = meeting["status"] == "scheduled" and (principal.user_id in meeting["body.member_ids"]
                                                       or _company_manager(principal))
    return await page(request, "approvals/meeting.html", status_code=status_code, meeting=meeting, errors=errors or {},
                notice=notice, may_record=may_record, form=form or {})


@get("/approvals/meetings/{meeting_id:uuid}", opt={"permission": Perm.APPROVALS_DECIDE}, include_in_schema=False)
async def meeting_page(request: Request[Any, Any, Any], meeting_id: FromPath[uuid.UUID],
                       done: FromQuery[str | None] = None) -> Template:
    return await _agenda(request, meeting_id, notice=_notice(done))


@post("/approvals/meetings/{meeting_id:uuid}/minutes", opt={"permission": Perm.APPROVALS_DECIDE},
      include_in_schema=False)
async def minutes(request: Request[Any, Any, Any], meeting_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = _me(request)
    items = []
    for key, value in data.items():
        if key.startswith("decision:") and value in rules.DECISIONS:
            step_id = key.split(":", 1)[1]
            items.append({"step_id": step_id, "decision": value, "comment": data.get(f"comment:{step_id}") or ""})
    try:
        await service.record_minutes(meeting_id=meeting_id, actor_id=principal.user_id,
                                     actor_name=principal.display_name, items=items, note=data.get("note") or "",
                                     manager=_company_manager(principal))
    except AppError as exc:
        return await _agenda(request, meeting_id, errors={"form": _(exc.message)}, status_code=exc.status_code,
                             form=dict(data))
    return Redirect(f"/approvals/meetings/{meeting_id}?done=minutes", status_code=303)


# ---- policies: views_policies.py -------------------------------------------------------------------

# ---- notifications (the signed-in person's own) and the mail outbox (admins) ------------------------

PER_PAGE = 25
PageNo = Annotated[int, QueryParameter(name="page", ge=1, le=100_000)]


def _pager(total: int, page_no: int, path: str, query: dict[str, str | None]) -> dict[str, Any]:
    """The numbers and links `macros.pager` shows."""
    last = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    keep = {k: v for k, v in query.items() if v}

    def link(n: int) -> str:
        return f"{path}?{urlencode({**keep, 'page': n})}"

    return {"page": page_no, "last": last, "total": total,
            "prev": link(page_no - 1) if page_no > 1 else None,
            "next": link(page_no + 1) if page_no < last else None}


def _same_site(link: str) -> str:
    """Only a path on this site: a stored link never sends the reader elsewhere."""
    parts = urlsplit(link or "")
    if parts.scheme or parts.netloc or not link.startswith("/") or link.startswith("//") or "\\" in link:
        return "/notifications"
    return link


@get("/notifications/count", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def unread_count(request: Request[Any, Any, Any]) -> dict[str, int]:
    """The navigation's badge: how many of my notifications are unread."""
    return {"count": await service.unread_count(_me(request).user_id)}


@get("/notifications", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def notifications(request: Request[Any, Any, Any], page_no: PageNo = 1, unread: FromQuery[str | None] = None,
                        done: FromQuery[str | None] = None) -> Template:
    principal = _me(request)
    only_unread = unread == "1"
    rows, total = await service.notifications(principal.user_id, unread_only=only_unread, limit=PER_PAGE,
                                              offset=(page_no - 1) * PER_PAGE)
    unread_total = await service.unread_count(principal.user_id)
    notice = _("%(n)s notification(s) marked read.") % {"n": int(done)} if done and done.isdigit() else None
    return await page(request, "approvals/notifications.html", rows=rows, unread=only_unread,
                      notifications_unread=unread_total, notice=notice,
                      pages=_pager(total, page_no, "/notifications", {"unread": "1" if only_unread else None}))


@post("/notifications/{notification_id:uuid}/open", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def open_notification(request: Request[Any, Any, Any], notification_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Mark it read and go to what it is about."""
    row = await service.read_notification(_me(request).user_id, notification_id)
    return Redirect(_same_site(row["link"]), status_code=303)


@post("/notifications/read-all", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def read_all_notifications(request: Request[Any, Any, Any]) -> Response[Any]:
    marked = await service.read_all(_me(request).user_id)
    return Redirect(f"/notifications?done={marked}", status_code=303)


@get("/approvals/outbox", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def outbox(request: Request[Any, Any, Any], page_no: PageNo = 1,
                 status: FromQuery[str | None] = None, format: FromQuery[str | None] = None) -> Response[Any]:
    """The mail the tenant sent or would send: queued, sent, or failed with the error."""
    wanted = status if status in service.OUTBOX_STATUSES else None
    if format == "xlsx":
        return await exports.outbox_xlsx(wanted)
    rows, total = await service.outbox_page(status=wanted, limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE)
    return await page(request, "approvals/outbox.html", rows=rows, status=wanted or "",
                      statuses=service.OUTBOX_STATUSES, smtp=bool(getattr(request.app.state.settings, "smtp_url", "")),
                      pages=_pager(total, page_no, "/approvals/outbox", {"status": wanted}))


ROUTES: list[Any] = [pending_count, inbox, delegate, request_page, decide, withdraw, resubmit, meetings, meeting_page,
                     minutes, policies, policy_page, policy_save, unread_count, notifications, open_notification,
                     read_all_notifications, outbox]
