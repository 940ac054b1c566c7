"""The payments' JSON API and Stripe's webhook endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from careclub.core import jobqueue
from careclub.core.errors import AppError
from careclub.core.money import to_money
from careclub.core.paging import CAP, After, decode_cursor, encode_cursor
from careclub.core.principal import Principal
from careclub.payments import rules, schemas, service
from careclub.payments.gateway import BadSignature, gateway
from careclub.platform import attachments
from careclub.platform.api import (
    Limit,
    PrincipalDep,
    SettingsDep,
    TimeText,
    minor_units,
    provide_principal,
    provide_settings,
    time_param,
)
from careclub.platform.permissions import Perm

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}

Status = Annotated[str | None, QueryParameter(description="open, processing, paid, failed, expired, "
                                              "partially_refunded, refunded, reversed", max_length=24)]
Method = Annotated[str | None, QueryParameter(description=f"one of {', '.join(rules.METHODS)}", max_length=24)]
Search = Annotated[str | None, QueryParameter(description="a receipt number, card number or offline reference",
                                              max_length=120)]


def payment_out(row: dict[str, Any], currency: str) -> schemas.PaymentOut:
    return schemas.PaymentOut(
        id=row["id"], number=row["number"], payable_kind=row["payable_kind"], payable_id=row["payable_id"],
        description=row["description"], card_no=row["card_no"], amount=to_money(row["amount"], row["currency"]),
        refunded=to_money(row["refunded_amount"], row["currency"]), status=row["status"], method=row["method"],
        reference=row["reference"], note=row["note"], problem=row["problem"], paid_at=row["paid_at"],
        reversed_at=row["reversed_at"], reversal_reason=row["reversal_reason"], created_at=row["created_at"],
        refunds=[schemas.RefundOut(id=r["id"], amount=to_money(r["amount"], row["currency"]), status=r["status"],
                                   reason=r["reason"], stripe_refund_id=r["stripe_refund_id"],
                                   created_at=r["created_at"], succeeded_at=r["succeeded_at"])
                 for r in row.get("refunds", [])],
        attachments=[attachment_out(a) for a in row.get("attachments", [])])


def attachment_out(row: dict[str, Any]) -> schemas.AttachmentOut:
    return schemas.AttachmentOut(id=row["id"], filename=row["filename"], content_type=row["content_type"],
                                 size=row["size"], created_at=row["created_at"],
                                 url=f"/api/v1/attachments/{row['id']}")


def settings_out(row: dict[str, Any]) -> schemas.PaymentSettingsOut:
    return schemas.PaymentSettingsOut(
        stripe_account_id=row["stripe_account_id"], charges_enabled=row["charges_enabled"],
        payouts_enabled=row["payouts_enabled"], details_submitted=row["details_submitted"],
        account_checked_at=row["account_checked_at"], application_fee_bps=row["application_fee_bps"],
        renewal_reminder_days=row["renewal_reminder_days"], methods=[m for m in row["methods"].split(",") if m])


async def payment_page(principal: Principal, *, status: str | None, method: str | None, q: str | None,
                       since: str | None, until: str | None, after: str | None, limit: int) -> schemas.PaymentList:
    filters: dict[str, Any] = {"status": status, "method": method, "q": q, "since": time_param(since, "since"),
                               "until": time_param(until, "until")}
    rows = await service.list_payments(principal, **filters, after=decode_cursor(after), limit=limit + 1)
    counted = await service.count_payments(principal, **filters, cap=CAP + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return schemas.PaymentList(items=[payment_out(r, principal.tenant.currency) for r in rows],
                               total=min(counted, CAP), total_capped=counted > CAP, limit=limit, offset=0,
                               next_after=encode_cursor(rows[-1]) if more and rows else None)


@dataclass
class ScanUpload:
    file: UploadFile


class PaymentController(Controller):
    path = "/api/v1/payments"
    tags = ["payments"]
    dependencies = _P

    @get("/", opt={"permission": Perm.FINANCE_READ})
    async def list_payments(self, principal: PrincipalDep, status: Status = None, method: Method = None,
                            q: Search = None, since: TimeText = None, until: TimeText = None, after: After = None,
                            limit: Limit = 50) -> schemas.PaymentList:
        """Payments in your subtrees, newest first, a keyset page at a time."""
        return await payment_page(principal, status=status, method=method, q=q, since=since, until=until,
                                  after=after, limit=limit)

    @get("/{payment_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def get_payment(self, payment_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.PaymentOut:
        """One payment with its refunds: for finance in scope, and for the member who paid it."""
        return payment_out(await service.get_payment(principal, payment_id), principal.tenant.currency)

    @post("/offline", opt={"permission": Perm.FINANCE_MANAGE}, status_code=201)
    async def offline(self, data: JSONBody[schemas.OfflinePaymentCreate],
                      principal: PrincipalDep) -> schemas.PaymentOut:
        """Money taken at the cashier (cash, bank transfer, WeChat or Alipay transfer): settles the payable."""
        row = await service.record_offline(principal, data.payable_kind, data.payable_id, method=data.method,
                                           reference=data.reference, note=data.note)
        return payment_out(row, principal.tenant.currency)

    @post("/{payment_id:uuid}/refunds", opt={"permission": Perm.FINANCE_MANAGE}, status_code=201)
    async def refund(self, payment_id: FromPath[uuid.UUID], data: JSONBody[schemas.RefundCreate],
                     principal: PrincipalDep) -> schemas.PaymentOut:
        """Refund all that is left (no amount) or part of it. An online refund shows as pending until Stripe
        confirms it; a full refund takes back what the payment bought."""
        amount = minor_units(principal, data.amount, "amount")
        row = await service.refund(principal, payment_id, amount=amount, reason=data.reason)
        return payment_out(row, principal.tenant.currency)

    @post("/{payment_id:uuid}/reversal", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def reversal(self, payment_id: FromPath[uuid.UUID], data: JSONBody[schemas.ReversalCreate],
                       principal: PrincipalDep) -> schemas.PaymentOut:
        """Undo a cashier's payment recorded by mistake, with the reason (online payments are refunded)."""
        row = await service.reverse(principal, payment_id, reason=data.reason)
        return payment_out(row, principal.tenant.currency)


    @post("/{payment_id:uuid}/attachments", opt={"permission": Perm.FINANCE_MANAGE, "statuses": (415,)},
          status_code=201, request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
    async def attach(self, payment_id: FromPath[uuid.UUID], principal: PrincipalDep,
                     data: Annotated[ScanUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
                     ) -> schemas.PaymentOut:
        """Keep a scan with the payment (the bank slip, the cashier's receipt): a photo (JPEG, PNG, WebP, up to
        10 MB; re-encoded without its metadata) or a PDF, as the multipart field `file`."""
        await service.get_payment(principal, payment_id)
        await attachments.attach(principal, "payment", payment_id, filename=data.file.filename or "scan",
                                 data=await data.file.read())
        return payment_out(await service.get_payment(principal, payment_id), principal.tenant.currency)


class PaymentSettingsController(Controller):
    path = "/api/v1/payment-settings"
    tags = ["payments"]
    dependencies = {**_P, "settings": Provide(provide_settings, sync_to_thread=False)}

    @get("/", opt={"permission": Perm.TENANT_MANAGE})
    async def read(self) -> schemas.PaymentSettingsOut:
        """The company's Stripe account and how members pay."""
        return settings_out(await service.current_settings())

    @patch("/", opt={"permission": Perm.TENANT_MANAGE})
    async def update(self, data: JSONBody[schemas.PaymentSettingsUpdate]) -> schemas.PaymentSettingsOut:
        return settings_out(await service.update_settings(methods=data.methods,
                                                          renewal_reminder_days=data.renewal_reminder_days))

    @post("/stripe-onboarding", opt={"permission": Perm.TENANT_MANAGE}, status_code=201)
    async def onboarding(self, principal: PrincipalDep, settings: SettingsDep) -> schemas.OnboardingLink:
        """Stripe's page where the company opens or completes its own account; members then pay it directly."""
        return schemas.OnboardingLink(url=await service.start_onboarding(email=principal.email,
                                                                         site_url=settings.site_url))

    @post("/refresh", opt={"permission": Perm.TENANT_MANAGE}, status_code=200)
    async def refresh(self) -> schemas.PaymentSettingsOut:
        """Ask Stripe how the account stands now."""
        return settings_out(await service.refresh_account())


async def _queue_inbox(tenant_id: uuid.UUID) -> None:
    await jobqueue.enqueue("payments_inbox", tenant_id=str(tenant_id), key=f"payments_inbox:{tenant_id}")


@post("/webhooks/stripe", opt={"public": True}, status_code=200, tags=["payments"],
      summary="Stripe's events (signature checked first)")
async def stripe_webhook(request: Request[Any, Any, Any]) -> schemas.WebhookReceipt:
    """Verifies `Stripe-Signature` (400 `bad_signature` and nothing changed if it fails or is outside the
    tolerance), records the event in its company's inbox and answers at once; the handling runs after the
    commit. A repeated event id, or one for an account no company holds, answers 200 and changes nothing."""
    body = await request.body()
    try:
        event = gateway().verify(body, request.headers.get("stripe-signature"))
    except BadSignature as exc:
        raise AppError("%(reason)s", code="bad_signature", status_code=400, params={"reason": str(exc)}) from None
    return schemas.WebhookReceipt(received=True, outcome=await service.receive(event, _queue_inbox))


ROUTES: list[Any] = [PaymentController, PaymentSettingsController, stripe_webhook]
