"""The payments' pages: finance's list and detail (refund, reversal), a printable receipt, the
company's payment settings (linking its Stripe account), and where a member lands after paying."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.core import clock
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_typed
from careclub.core.paging import decode_cursor, encode_cursor
from careclub.payments import rules, service
from careclub.payments.service._payables import payable_kind
from careclub.platform import attachments
from careclub.platform.permissions import Perm
from careclub.platform.views import page
from careclub.platform.views_admin._common import Form, clean, form_errors, me
from careclub.settings import Settings
from careclub.web import exports

STATUS_LABELS = {"open": N_("waiting for payment"), "processing": N_("being confirmed"), "paid": N_("paid"),
                 "failed": N_("failed"), "expired": N_("expired"), "partially_refunded": N_("partly refunded"),
                 "refunded": N_("refunded"), "reversed": N_("reversed")}
METHOD_LABELS = {"stripe": N_("Online (Stripe)"), "cash": N_("Cash"), "bank_transfer": N_("Bank transfer"),
                 "wechat_transfer": N_("WeChat transfer"), "alipay_transfer": N_("Alipay transfer")}
ONLINE_LABELS = {"card": N_("Bank card"), "wechat_pay": N_("WeChat Pay"), "alipay": N_("Alipay")}
PROBLEM_LABELS = {"card_closed": N_("The card was closed before the money arrived: refunded automatically."),
                  "already_paid": N_("It had been paid already: refunded automatically.")}

Filter = Annotated[str | None, QueryParameter(max_length=120)]


@dataclass
class ScanForm:
    file: UploadFile | None = None



status_label = labeller(STATUS_LABELS)
method_label = labeller(METHOD_LABELS)
problem_label = labeller(PROBLEM_LABELS)


def _labels() -> dict[str, Any]:
    return {"status_label": status_label, "method_label": method_label, "problem_label": problem_label}


EXPORT_COLUMNS = [
    exports.Column(N_("Receipt number"), lambda p: p["number"]),
    exports.Column(N_("Created"), lambda p: p["created_at"], 18),
    exports.Column(N_("Paid at"), lambda p: p["paid_at"], 18),
    exports.Column(N_("Paid for"), lambda p: p["description"], 30),
    exports.Column(N_("Card"), lambda p: p["card_no"]),
    exports.Column(N_("Amount"), lambda p: exports.Money(p["amount"])),
    exports.Column(N_("Refunded"), lambda p: exports.Money(p["refunded_amount"])),
    exports.Column(N_("Currency"), lambda p: p["currency"], 8),
    exports.Column(N_("Status"), lambda p: status_label(p["status"])),
    exports.Column(N_("Method"), lambda p: method_label(p["method"])),
    exports.Column(N_("Reference"), lambda p: p["reference"], 20),
    exports.Column(N_("Problem"), lambda p: p["problem"]),
]




@get("/payments", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def payments_list(request: Request[Any, Any, Any], status: Filter = None, method: Filter = None,
                        q: Filter = None, after: Filter = None, format: Filter = None) -> Response[Any]:
    """Finance's list, newest first; `?format=xlsx` downloads the whole filtered list."""
    principal = me(request)
    if format == "xlsx":
        async def read(after: Any, limit: int) -> list[dict[str, Any]]:
            return await service.list_payments(principal, status=status or None, method=method or None,
                                               q=q or None, after=after, limit=limit)

        return await exports.xlsx(f"payments-{clock.local(clock.now()):%Y%m%d}.xlsx", str(_("Payments")),
                                  EXPORT_COLUMNS, exports.keyset_batches(read))
    rows = await service.list_payments(principal, status=status or None, method=method or None, q=q or None,
                                       after=decode_cursor(after), limit=51)
    more = len(rows) > 50
    rows = rows[:50]
    return page(request, "payments/list.html", payments=rows, more_after=encode_cursor(rows[-1]) if more else None,
                filters={"status": status or "", "method": method or "", "q": q or ""},
                statuses=list(rules.TRANSITIONS), methods=list(rules.METHODS), **_labels())


async def _detail(request: Request[Any, Any, Any], payment_id: uuid.UUID, *, status_code: int = 200,
                  errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                  notice: str | None = None) -> Template:
    payment = await service.get_payment(me(request), payment_id)
    return page(request, "payments/detail.html", status_code=status_code, payment=payment, errors=errors or {},
                form=form or {}, notice=notice, offline=payment["method"] in rules.OFFLINE_METHODS,
                refundable=payment["status"] in rules.SETTLED and payment["refunded_amount"] < payment["amount"],
                **_labels())


@get("/payments/{payment_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def payment_detail(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                         done: Filter = None) -> Template:
    notices = {"refund": _("The refund is recorded. An online refund shows as pending until Stripe confirms it."),
               "attached": _("The file is kept with the payment."),
               "reversed": _("The payment is reversed.")}
    return await _detail(request, payment_id, notice=notices.get(done or ""))


@post("/payments/{payment_id:uuid}/refund", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def payment_refund(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                         data: Form) -> Response[Any]:
    form = clean(data, "amount", "reason")
    try:
        amount = parse_typed(form["amount"], field="amount") if form["amount"] else None
        await service.refund(me(request), payment_id, amount=amount, reason=form["reason"])
    except AppError as exc:
        return await _detail(request, payment_id, status_code=exc.status_code, form=form,
                             errors=form_errors(exc, ("amount", "reason")))
    return Redirect(f"/payments/{payment_id}?done=refund", status_code=303)


@post("/payments/{payment_id:uuid}/reverse", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def payment_reverse(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                          data: Form) -> Response[Any]:
    form = clean(data, "reversal_reason")
    try:
        await service.reverse(me(request), payment_id, reason=form["reversal_reason"])
    except AppError as exc:
        errors = form_errors(exc, ("reason",))
        return await _detail(request, payment_id, status_code=exc.status_code, form=form,
                             errors={"reversal_reason" if k == "reason" else k: v for k, v in errors.items()})
    return Redirect(f"/payments/{payment_id}?done=reversed", status_code=303)


@post("/payments/{payment_id:uuid}/attachments", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False,
      request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def payment_attach(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                         data: Annotated[ScanForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    """Keep the transfer slip or receipt scan with the payment."""
    principal = me(request)
    await service.get_payment(principal, payment_id)
    try:
        await attachments.attach_upload(principal, "payment", payment_id, data.file, default_name="scan")
    except AppError as exc:
        return await _detail(request, payment_id, status_code=exc.status_code, errors=form_errors(exc, ("file",)))
    return Redirect(f"/payments/{payment_id}?done=attached", status_code=303)


@get("/payments/{payment_id:uuid}/receipt", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def payment_receipt(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID]) -> Template:
    """Laid out for A5/A4 and the browser's print-to-PDF."""
    payment = await service.get_payment(me(request), payment_id)
    if payment["status"] not in (*rules.SETTLED, "refunded", "reversed"):
        raise NotFound("this payment has no receipt yet", code="payment_not_found")
    return page(request, "payments/receipt.html", payment=payment, **_labels())


async def _way_back(payment: dict[str, Any]) -> str:
    """Where the payer goes on from the return page: the page of what was paid for, as its payable says (the
    card page for a card's period, the order's page for a service order's money), else the dashboard."""
    try:
        described = await payable_kind(payment["payable_kind"]).describe(None, payment["payable_id"])
    except AppError:
        described = None
    path = described.return_path if described is not None else ""
    if path.startswith("/") and not path.startswith("//"):
        return path
    return "/club/card" if payment["card_no"] else "/dashboard"


@get("/pay/return/{payment_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def pay_return(request: Request[Any, Any, Any], payment_id: FromPath[uuid.UUID],
                     cancelled: Filter = None) -> Template:
    """Where Stripe's checkout sends the member back. The money is confirmed by Stripe's event, which may
    come a moment later: until then the page looks again by itself."""
    payment = await service.get_payment(me(request), payment_id)
    if payment["status"] in ("open", "processing") and not cancelled:
        await service.sync_payment(payment_id)
        payment = await service.get_payment(me(request), payment_id)
    back = await _way_back(payment)
    waiting = payment["status"] in ("open", "processing") and not cancelled
    return page(request, "payments/return.html", payment=payment, back=back, waiting=waiting,
                cancelled=bool(cancelled), **_labels())


# ---- the company's settings ----------------------------------------------------------------------

async def _settings_page(request: Request[Any, Any, Any], *, status_code: int = 200,
                         errors: dict[str, str] | None = None, notice: str | None = None) -> Template:
    current = await service.current_settings()
    return page(request, "payments/settings.html", status_code=status_code, current=current, errors=errors or {},
                notice=notice, online_methods=list(rules.ONLINE_METHODS), online_label=labeller(ONLINE_LABELS),
                chosen=current["methods"].split(","))


@get("/settings/payments", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def settings_page(request: Request[Any, Any, Any], onboarding: Filter = None, saved: Filter = None) -> Template:
    notice = None
    if onboarding == "done":
        current = await service.refresh_account()
        notice = (_("Your Stripe account is ready: members can pay online.") if current["charges_enabled"]
                  else _("Stripe still needs some details before payments can start. Continue the set-up."))
    elif saved:
        notice = _("Saved.")
    return await _settings_page(request, notice=notice)


@post("/settings/payments/connect", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def settings_connect(request: Request[Any, Any, Any]) -> Response[Any]:
    settings: Settings = request.app.state.settings
    try:
        url = await service.start_onboarding(email=me(request).email, site_url=settings.site_url)
    except AppError as exc:
        return await _settings_page(request, status_code=exc.status_code, errors=form_errors(exc, ()))
    return Redirect(url, status_code=303)


@post("/settings/payments", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def settings_save(request: Request[Any, Any, Any]) -> Response[Any]:
    data = await request.form()
    methods = [m for m in data.getall("methods", []) if isinstance(m, str)]
    days = str(data.get("renewal_reminder_days") or "").strip()
    # Every field's problem at once, beside the field; the service checks the same again.
    errors: dict[str, str] = {}
    if not methods or any(m not in rules.ONLINE_METHODS for m in methods):
        errors["methods"] = _("Choose at least one way to pay online.")
    if not days.isdigit() or not 0 <= int(days) <= 60:
        errors["renewal_reminder_days"] = _("A whole number of days from 0 to 60.")
    if errors:
        return await _settings_page(request, status_code=422, errors=errors)
    try:
        await service.update_settings(methods=methods, renewal_reminder_days=int(days))
    except AppError as exc:
        return await _settings_page(request, status_code=exc.status_code,
                                    errors=form_errors(exc, ("methods", "renewal_reminder_days")))
    return Redirect("/settings/payments?saved=1", status_code=303)


ROUTES = [payments_list, payment_detail, payment_refund, payment_reverse, payment_attach, payment_receipt, pay_return,
          settings_page, settings_connect, settings_save]
