"""Payments for the staff: the queue (`/settlements/payments`, awaiting the developer's confirmation unless another
status is chosen, keyset pages, Excel download, and Confirm / Refuse on each row for `settlements.confirm`),
recording one against an approved budget line with its evidence file (`/settlements/payments/new?line=ID`), and
a payment's page with its evidence, its files and the confirmation.

The evidence files are attachments of the owner kind `settlement_payment`: served through `/attachments/{id}`
only to those who may see the payment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.paging import decode_cursor, encode_cursor
from careclub.core.principal import Principal
from careclub.platform import attachments
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, as_uuid, clean, keyset_pages, me
from careclub.settlements import rules, service
from careclub.settlements.tables import SettlementBudgetLine
from careclub.settlements.views_pages_common import (
    FILL_IN,
    Filter,
    attempt,
    cost_type_label,
    field_errors,
    holds,
    ids_for,
    may_read,
    month_of,
    payment_status_label,
    projects_for,
    reader,
    refused_status,
    settlements_page,
    stamp,
    today,
    typed_date,
    typed_money,
)
from careclub.web import exports

OWNER = "settlement_payment"
PAY_FIELDS = ("amount", "paid_on", "payee", "note", "file")
STATUSES = ("recorded", "confirmed", "refused")
PER_PAGE = 25
DONE = {"recorded": N_("The payment is recorded. It counts once the developer confirms it."),
        "confirmed": N_("The payment is confirmed: the month's settlement takes it."),
        "refused": N_("The payment is refused; the property company sees why."),
        "attached": N_("The file is kept with the payment.")}
done_text = labeller(DONE)


async def may_read_payment(principal: Principal, payment_id: uuid.UUID) -> bool:
    """Who may open a payment's evidence file: those who may see the payment."""
    if not may_read(principal):
        return False
    try:
        await service.get_payment(principal, payment_id)
    except NotFound:
        return False
    return True


attachments.register_owner(OWNER, may_read_payment)


@dataclass
class PaymentForm:
    line: str = ""
    amount: str = ""
    paid_on: str = ""
    payee: str = ""
    note: str = ""
    file: UploadFile | None = None


@dataclass
class FileForm:
    file: UploadFile | None = None


# ---- the queue ----------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    exports.Column(N_("Project"), lambda r: f"{r['project_name']} ({r['project']})", 22),
    exports.Column(N_("Month"), lambda r: r["month"], 10),
    exports.Column(N_("Date paid"), lambda r: r["paid_on"], 12),
    exports.Column(N_("Payee"), lambda r: r["payee"], 24),
    exports.Column(N_("Cost type"), lambda r: cost_type_label(r["cost_type"]), 18),
    exports.Column(N_("Amount"), lambda r: exports.Money(r["amount"]), 14),
    exports.Column(N_("Evidence"), lambda r: r["evidence"], 40),
    exports.Column(N_("Status"), lambda r: payment_status_label(r["status"]), 16),
    exports.Column(N_("Recorded by"), lambda r: r["recorded_by_name"], 16),
    exports.Column(N_("Decided by"), lambda r: r["decided_by_name"], 16),
    exports.Column(N_("Decided"), lambda r: r["decided_at"], 18),
    exports.Column(N_("Reason refused"), lambda r: r["refused_reason"], 30),
    exports.Column(N_("Note"), lambda r: r["note"], 30),
]


@get("/settlements/payments", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def payment_list(request: Request[Any, Any, Any], status: Filter = None, project: Filter = None,
                       month: Filter = None, after: Filter = None, format: Filter = None,
                       done: Filter = None) -> Response[Any]:
    """The payments of the projects in reach, oldest first (the queue is served first come): those awaiting
    confirmation unless `status` says otherwise (`all` for every one); `?format=xlsx` downloads the same list."""
    principal = me(request)
    reader(principal)
    projects = await projects_for(principal)
    form = {"status": status if status in (*STATUSES, "all") else "recorded",
            "project": project if project in {p["code"] for p in projects} else "",
            "month": rules.month_text(m) if (m := month_of(month)) else ""}
    filters: dict[str, Any] = {"status": None if form["status"] == "all" else form["status"],
                               "project": form["project"] or None, "month": month_of(form["month"])}
    if format == "xlsx":
        async def read(cursor: Any, limit: int) -> list[dict[str, Any]]:
            return await service.list_payments(principal, **filters, after=cursor, limit=limit)

        return await exports.xlsx(f"settlement-payments-{stamp()}.xlsx", str(_("Payments")), EXPORT_COLUMNS,
                                  exports.keyset_batches(read, size=500))
    rows = await service.list_payments(principal, **filters, after=decode_cursor(after), limit=PER_PAGE + 1)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    cursor = encode_cursor(rows[-1]) if more else None
    confirm_ids = await ids_for(principal, Perm.SETTLEMENTS_CONFIRM)
    shown = [{**r, "may_confirm": r["status"] == "recorded" and holds(confirm_ids, _project_id(projects, r))}
             for r in rows]
    back = "/settlements/payments?" + urlencode({k: v for k, v in form.items() if v})
    return settlements_page(
        request, "settlements/payments.html", rows=shown, form=form, back=back,
        projects=[(p["code"], p["name"]) for p in projects],
        statuses=[(s, payment_status_label(s)) for s in STATUSES],
        notice=done_text(done) if done in ("confirmed", "refused") else None,
        **keyset_pages(form, after, cursor, len(rows), more))


def _project_id(projects: list[dict[str, Any]], row: dict[str, Any]) -> uuid.UUID:
    return next((p["id"] for p in projects if p["code"] == row["project"]), uuid.uuid4())


# ---- recording one ------------------------------------------------------------------------------

async def _line(principal: Principal, line_id: uuid.UUID | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The line and its form, for one who may see the form (else 404 as if absent)."""
    row = await SettlementBudgetLine.select(SettlementBudgetLine.budget).where(
        SettlementBudgetLine.id == line_id).first() if line_id else None
    if row is None:
        raise NotFound("no such budget line", code="budget_line_not_found")
    budget = await service.get_budget(principal, row["budget"])
    line = next(ln for ln in budget["lines"] if ln["id"] == line_id)
    return budget, line


async def _new_page(request: Request[Any, Any, Any], line_id: uuid.UUID | None, form: dict[str, str], *,
                    errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
    principal = me(request)
    budget, line = await _line(principal, line_id)
    return settlements_page(request, "settlements/payment_new.html", status_code=status_code, budget=budget,
                            line=line, form=form, errors=errors or {})


@get("/settlements/payments/new", opt={"permission": Perm.SETTLEMENTS_PREPARE}, include_in_schema=False)
async def payment_new(request: Request[Any, Any, Any], line: Filter = None) -> Template:
    principal = me(request)
    reader(principal)
    return await _new_page(request, as_uuid(line), {"paid_on": (await today()).isoformat()})


@post("/settlements/payments/new", opt={"permission": Perm.SETTLEMENTS_PREPARE}, include_in_schema=False,
      request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def payment_record(request: Request[Any, Any, Any],
                         data: Annotated[PaymentForm, Body(media_type=RequestEncodingType.MULTI_PART)]
                         ) -> Response[Any]:
    """Record the payment against its line and keep its evidence file with it: every problem at once; a file that
    is not a photo or a PDF is refused and nothing is recorded."""
    principal = me(request)
    reader(principal)
    line_id = as_uuid(str(data.line or ""))
    await _line(principal, line_id)
    assert line_id is not None
    form = {k: str(getattr(data, k) or "").strip() for k in ("amount", "paid_on", "payee", "note")}
    errors: dict[str, str] = {}
    amount = typed_money(form["amount"], "amount", errors)
    paid_on = typed_date(form["paid_on"], "paid_on", errors)
    for name in ("amount", "paid_on", "payee"):
        if not form[name]:
            errors[name] = _(FILL_IN)
    upload = data.file if data.file is not None and data.file.filename else None

    async def write() -> dict[str, Any]:
        row = await service.record_payment(principal, line=line_id, amount=amount or 0,
                                           paid_on=paid_on or await today(), payee=form["payee"],
                                           note=form["note"][:2000])
        if upload is not None:
            await attachments.attach_upload(principal, OWNER, row["id"], upload, default_name="evidence")
        return row

    try:
        row = await attempt(errors, write())
    except AppError as exc:
        errors = {**field_errors(exc, PAY_FIELDS, {"line": "form"}), **errors}
        return await _new_page(request, line_id, form, errors=errors, status_code=refused_status(exc))
    if row is None:
        return await _new_page(request, line_id, form, errors=errors, status_code=422)
    return Redirect(f"/settlements/payments/{row['id']}?done=recorded", status_code=303)


# ---- a payment's page ---------------------------------------------------------------------------

async def _payment_page(request: Request[Any, Any, Any], payment_id: uuid.UUID, *, status_code: int = 200,
                        errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                        notice: str | None = None) -> Template:
    principal = me(request)
    reader(principal)
    payment = await service.get_payment(principal, payment_id)
    unit = await service.project_unit(None, payment["project"])
    budget = await service.get_budget(None, payment["budget"])
    line = next((ln for ln in budget["lines"] if ln["id"] == payment["line"]), None)
    return settlements_page(
        request, "settlements/payment.html", status_code=status_code, payment=payment, budget=budget, line=line,
        files=await attachments.list_for(OWNER, payment_id), errors=errors or {}, form=form or {}, notice=notice,
        may_confirm=payment["status"] == "recorded" and principal.covers(Perm.SETTLEMENTS_CONFIRM, unit["path"]),
        may_attach=principal.covers(Perm.SETTLEMENTS_PREPARE, unit["path"]) and payment["status"] != "refused")


@get("/settlements/payments/{payment_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def payment_detail(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                         done: Filter = None) -> Template:
    return await _payment_page(request, payment_id, notice=done_text(done) if done in DONE else None)


def _back(data: dict[str, str], payment_id: uuid.UUID, done: str) -> str:
    """Back to the queue the button was pressed on (a path of this list only), else the payment's page."""
    back = (data.get("back") or "").strip()
    if back.startswith("/settlements/payments?") and "//" not in back and "\\" not in back:
        return f"{back}&done={done}"
    return f"/settlements/payments/{payment_id}?done={done}"


@post("/settlements/payments/{payment_id:uuid}/confirm", opt={"permission": Perm.SETTLEMENTS_CONFIRM},
      include_in_schema=False)
async def payment_confirm(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                          data: Form) -> Response[Any]:
    """The developer's confirmation of one payment (the second confirmation)."""
    try:
        await service.decide_payment(me(request), payment_id, confirm=True)
    except AppError as exc:
        return await _payment_page(request, payment_id, status_code=refused_status(exc),
                                   errors=field_errors(exc, ()))
    return Redirect(_back(data, payment_id, "confirmed"), status_code=303)


@post("/settlements/payments/{payment_id:uuid}/refuse", opt={"permission": Perm.SETTLEMENTS_CONFIRM},
      include_in_schema=False)
async def payment_refuse(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                         data: Form) -> Response[Any]:
    """Refuse one payment, saying why (the property company sees the reason)."""
    form = clean(data, "reason")
    try:
        await service.decide_payment(me(request), payment_id, confirm=False, reason=form["reason"][:2000])
    except AppError as exc:
        return await _payment_page(request, payment_id, status_code=refused_status(exc), form=form,
                                   errors=field_errors(exc, ("reason",)))
    return Redirect(_back(data, payment_id, "refused"), status_code=303)


@post("/settlements/payments/{payment_id:uuid}/attachments", opt={"permission": Perm.SETTLEMENTS_PREPARE},
      include_in_schema=False, request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def payment_attach(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                         data: Annotated[FileForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    """Keep one more evidence file (a receipt, a signed confirmation) with the payment."""
    principal = me(request)
    reader(principal)
    payment = await service.get_payment(principal, payment_id)
    try:
        await service.project_unit(principal, payment["project"], Perm.SETTLEMENTS_PREPARE)
        upload = data.file if data.file is not None and data.file.filename else None
        await attachments.attach_upload(principal, OWNER, payment_id, upload, default_name="evidence")
    except AppError as exc:
        return await _payment_page(request, payment_id, status_code=refused_status(exc),
                                   errors=field_errors(exc, ("file",)))
    return Redirect(f"/settlements/payments/{payment_id}?done=attached", status_code=303)


ROUTES: list[Any] = [payment_list, payment_new, payment_record, payment_detail, payment_confirm, payment_refuse,
                     payment_attach]
