"""Payments: opening a checkout for a payable, recording money that arrived (online or at the
cashier), reversals, and the reads finance needs.

Every change of a payment locks its row first (`FOR UPDATE`) and moves it only along
rules.TRANSITIONS. A payable is settled at most once: a partial unique index lets only one payment
of it be paid, and a payment that loses (the card was closed meanwhile, or another payment got
there first) is refunded automatically and flagged for finance.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg

from careclub.core import clock
from careclub.core.db import after_commit, current_transaction, fetch
from careclub.core.errors import AppError, Conflict, NotFound, ValidationFailed
from careclub.core.principal import Principal
from careclub.payments import rules
from careclub.payments.gateway import gateway
from careclub.payments.service._payables import Payable, payable_kind
from careclub.payments.tables import Payment, PaymentSettings, Refund
from careclub.platform import attachments, audit
from careclub.platform.permissions import Perm

log = logging.getLogger("careclub.payments")

class OnlinePaymentsUnavailable(Conflict):
    code = "online_payments_unavailable"


# ---- settings ------------------------------------------------------------------------------------

async def current_settings() -> dict[str, Any]:
    row = await PaymentSettings.select().first()
    if row is None:
        return {"stripe_account_id": None, "charges_enabled": False, "payouts_enabled": False,
                "details_submitted": False, "account_checked_at": None, "application_fee_bps": 0,
                "renewal_reminder_days": 7, "methods": "card"}
    return row


async def settings_for_update() -> PaymentSettings:
    """The company's settings row, created on first use; locked, so two admins' changes queue up."""
    await fetch("INSERT INTO payment_settings (id, tenant_id, created_at, charges_enabled, payouts_enabled, "
                "details_submitted, application_fee_bps, renewal_reminder_days, methods) "
                "VALUES (gen_random_uuid(), app_current_tenant(), now(), false, false, false, 0, 7, 'card') "
                "ON CONFLICT (tenant_id) DO NOTHING")
    rows = await fetch("SELECT id FROM payment_settings FOR UPDATE")
    found = await PaymentSettings.objects().where(PaymentSettings.id == rows[0]["id"]).first()
    assert found is not None
    return found


# ---- reading ---------------------------------------------------------------------------------

async def _locked(payment_id: uuid.UUID) -> dict[str, Any]:
    # Raw SQL for FOR UPDATE (Piccolo has no row locks); RLS still scopes it to the company.
    rows = await fetch("SELECT * FROM payment WHERE id = $1 FOR UPDATE", payment_id)
    if not rows:
        raise NotFound("no such payment", code="payment_not_found")
    return rows[0]


async def get_payment(principal: Principal | None, payment_id: uuid.UUID) -> dict[str, Any]:
    row = await Payment.select().where(Payment.id == payment_id).first()
    if row is None or (principal is not None and not await _may_see(principal, row)):
        raise NotFound("no such payment", code="payment_not_found")
    row["refunds"] = await Refund.select().where(Refund.payment == payment_id).order_by(Refund.created_at)
    row["attachments"] = await attachments.list_for("payment", payment_id)
    return row


async def payments_of(kind: str, payable_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every payment of one payable, oldest first: what a domain shows beside what was paid for (its receipt
    numbers, its refunds), and the settled one a later refund goes back through."""
    return await Payment.select(Payment.id, Payment.number, Payment.amount, Payment.currency, Payment.status,
                                Payment.method, Payment.refunded_amount, Payment.paid_at, Payment.created_at).where(
        Payment.payable_kind == kind, Payment.payable_id == payable_id).order_by(Payment.created_at)


async def may_read(principal: Principal, payment_id: uuid.UUID) -> bool:
    try:
        await get_payment(principal, payment_id)
    except NotFound:
        return False
    return True


async def _may_see(principal: Principal, row: dict[str, Any]) -> bool:
    if row["payer_user_id"] == principal.user_id:
        return True
    if not principal.can(Perm.FINANCE_READ):
        return False
    if row["org_unit_id"] is None:
        return principal.covers(Perm.FINANCE_READ, None)
    paths = await fetch("SELECT path FROM org_unit WHERE id = $1", row["org_unit_id"])
    return bool(paths) and principal.covers(Perm.FINANCE_READ, paths[0]["path"])


def _filters(principal: Principal, *, status: str | None, method: str | None, q: str | None, since: Any,
             until: Any) -> tuple[list[str], list[Any]]:
    where, args = ["TRUE"], []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    roots = principal.scope(Perm.FINANCE_READ)
    if not any(r.count("/") <= 2 for r in roots):  # not company-wide: only payments of units under a root
        where.append(f"p.org_unit_id IN (SELECT id FROM org_unit WHERE path LIKE ANY({arg([r + '%' for r in roots])}))")
    if status:
        where.append(f"p.status = {arg(status)}")
    if method:
        where.append(f"p.method = {arg(method)}")
    if q:
        where.append(f"(p.number = {arg(q.strip().upper())} OR p.card_no = {arg(q.strip().upper())} "
                     f"OR p.reference = {arg(q.strip())})")
    if since is not None:
        where.append(f"p.created_at >= {arg(since)}")
    if until is not None:
        where.append(f"p.created_at < {arg(until)}")
    return where, args


async def list_payments(principal: Principal, *, status: str | None = None, method: str | None = None,
                        q: str | None = None, since: Any = None, until: Any = None,
                        after: tuple[Any, uuid.UUID] | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, a keyset page after (created_at, id); finance sees its subtrees' payments."""
    where, args = _filters(principal, status=status, method=method, q=q, since=since, until=until)
    if after is not None:
        args += [after[0], after[1]]
        where.append(f"(p.created_at, p.id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    return await fetch(f"SELECT p.* FROM payment p WHERE {' AND '.join(where)} "
                       f"ORDER BY p.created_at DESC, p.id DESC LIMIT ${len(args)}", *args)


async def count_payments(principal: Principal, *, cap: int, status: str | None = None, method: str | None = None,
                         q: str | None = None, since: Any = None, until: Any = None) -> int:
    """How many match, counting no further than `cap` (a count of millions is not worth its time)."""
    where, args = _filters(principal, status=status, method=method, q=q, since=since, until=until)
    args.append(cap)
    rows = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM payment p WHERE {' AND '.join(where)} "
                       f"LIMIT ${len(args)}) AS capped", *args)
    return int(rows[0]["n"])


# ---- numbering -------------------------------------------------------------------------------

async def _next_number() -> str:
    year = clock.now().year
    rows = await fetch("INSERT INTO payment_counter (id, tenant_id, created_at, year, last) "
                       "VALUES (gen_random_uuid(), app_current_tenant(), now(), $1, 1) "
                       "ON CONFLICT (tenant_id, year) DO UPDATE SET last = payment_counter.last + 1 "
                       "RETURNING last", year)
    return rules.receipt_number(year, rows[0]["last"])


async def _new_payment(payable: Payable, **fields: Any) -> dict[str, Any]:
    p = Payment(number=await _next_number(), payable_kind=payable.kind, payable_id=payable.id,
                description=payable.description[:200], payer_user_id=payable.payer_user_id,
                card_no=payable.card_no, org_unit_id=payable.org_unit_id, amount=payable.amount,
                currency=payable.currency, **fields)
    await p.save()
    row = await Payment.select().where(Payment.id == p.id).first()
    assert row is not None
    return row


# ---- online: checkout ------------------------------------------------------------------------

async def start_checkout(principal: Principal | None, kind: str, payable_id: uuid.UUID, *, site_url: str,
                         locale: str = "zh_CN") -> dict[str, Any]:
    """A Stripe Checkout page for the payable, on the company's own Stripe account. One payable has
    one live checkout at a time: asking again answers the same page while it is open."""
    payable = await payable_kind(kind).describe(principal, payable_id)
    if payable.settled:
        raise Conflict("this is paid already", code="already_paid")
    if payable.amount <= 0:
        raise ValidationFailed("there is nothing to pay", field="amount")
    settings = await current_settings()
    account = settings["stripe_account_id"]
    if not account or not settings["charges_enabled"]:
        raise OnlinePaymentsUnavailable("this company does not take online payments yet; pay at its office, "
                                        "or ask its administrator to connect a Stripe account")
    reused = await open_checkout(kind, payable_id, payable.amount, mode="payment")
    if reused is not None:
        return reused
    gw = gateway()
    row = await _new_payment(payable, method="stripe", stripe_account_id=account)
    metadata = {"tenant_id": str(row["tenant_id"]), "payment_id": str(row["id"]), "payable_kind": kind,
                "payable_id": str(payable_id)}
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": str(row["id"]),
        "metadata": metadata,
        "line_items": [{"quantity": 1, "price_data": {
            "currency": payable.currency.lower(), "unit_amount": payable.amount,
            "product_data": {"name": payable.description or row["number"]}}}],
        "allowed_payment_method_types": [m for m in settings["methods"].split(",")
                                         if m in rules.ONLINE_METHODS] or ["card"],
        "payment_intent_data": {"metadata": metadata},
        "success_url": f"{site_url}/pay/return/{row['id']}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{site_url}/pay/return/{row['id']}?cancelled=1",
        "locale": "zh" if locale.startswith("zh") else "en",
    }
    if "wechat_pay" in params["allowed_payment_method_types"]:
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}  # Stripe asks where it is shown
    fee = rules.application_fee(payable.amount, settings["application_fee_bps"])
    if fee:
        params["payment_intent_data"]["application_fee_amount"] = fee
    session = await gw.create_checkout(account, params=params, idempotency_key=f"checkout-{row['id']}")
    await Payment.update({Payment.checkout_session_id: session["id"]}).where(Payment.id == row["id"])
    await audit.record("payment.checkout", "payment", row["id"],
                       after={"number": row["number"], "amount": row["amount"], "payable": f"{kind}:{payable_id}"})
    return {**row, "checkout_session_id": session["id"], "checkout_url": session["url"]}


async def open_checkout(kind: str, payable_id: uuid.UUID, amount: int, *, mode: str) -> dict[str, Any] | None:
    """The payable's checkout that is still open, if any: one at a time per payable, even when a member taps
    twice or two devices race (the advisory lock queues them; the second finds the first's)."""
    await fetch("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"payable:{kind}:{payable_id}")
    open_rows = await Payment.select().where(
        Payment.payable_kind == kind, Payment.payable_id == payable_id, Payment.method == "stripe",
        Payment.status == "open", Payment.amount == amount).order_by(Payment.created_at, ascending=False)
    for row in open_rows:
        if not row["checkout_session_id"]:
            continue
        session = await gateway().retrieve_session(row["stripe_account_id"], row["checkout_session_id"])
        if session.get("status") == "open" and session.get("mode") == mode:
            return {**row, "checkout_url": session["url"]}
        if session.get("status") == "expired":
            await _move(row, "expired")
    return None


async def _move(row: dict[str, Any], to: str, **changes: Any) -> None:
    if row["status"] == to and not changes:
        return
    if row["status"] != to:
        rules.check_move(row["status"], to)
    values: dict[Any, Any] = {Payment.status: to}
    for key, value in changes.items():
        values[Payment._meta.get_column_by_name(key)] = value
    await Payment.update(values).where(Payment.id == row["id"])


async def confirm_paid(payment_id: uuid.UUID, *, payment_intent_id: str | None) -> str:
    """Money arrived for an online payment: settle its payable, exactly once. Answers what happened."""
    row = await _locked(payment_id)
    if row["status"] in rules.SETTLED or row["status"] in ("refunded", "reversed"):
        return "already"
    rules.check_move(row["status"], "paid")
    kind = payable_kind(row["payable_kind"])
    savepoint = await current_transaction().savepoint()
    try:
        await kind.settle(row["payable_id"], "stripe", row["number"])
        await _move(row, "paid", paid_at=clock.now(), payment_intent_id=payment_intent_id)
        await savepoint.release()
    except (Conflict, asyncpg.exceptions.UniqueViolationError) as exc:
        # The card was closed meanwhile, or another payment settled it first: the money goes back.
        await savepoint.rollback_to()
        problem = exc.code if isinstance(exc, AppError) else "already_paid"
        await _move(row, "paid", paid_at=clock.now(), payment_intent_id=payment_intent_id, problem=problem)
        await _auto_refund(row, problem)
        await audit.record("payment.paid_unsettled", "payment", payment_id, after={"problem": problem})
        return problem
    await audit.record("payment.paid", "payment", payment_id,
                       after={"number": row["number"], "amount": row["amount"], "intent": payment_intent_id})
    return "paid"


async def _auto_refund(row: dict[str, Any], problem: str) -> None:
    refund = Refund(payment=row["id"], amount=row["amount"], reason=f"automatic: {problem}")
    await refund.save()
    refund_id = refund.id
    tenant_id = row["tenant_id"]

    async def submit() -> None:
        from careclub.core.db import tenant_scope

        async with tenant_scope(tenant_id):
            await submit_refund(refund_id)

    after_commit(submit)


async def submit_refund(refund_id: uuid.UUID) -> None:
    """Send a recorded refund to Stripe (idempotent by our refund id; a sweep retries failures)."""
    refund = await Refund.select().where(Refund.id == refund_id).first()
    if refund is None or refund["stripe_refund_id"] or refund["status"] != "pending":
        return
    payment = await Payment.select().where(Payment.id == refund["payment"]).first()
    if payment is None or not payment["payment_intent_id"]:
        return
    made = await gateway().refund(payment["stripe_account_id"], payment_intent=payment["payment_intent_id"],
                                  amount=refund["amount"], idempotency_key=f"refund-{refund_id}",
                                  metadata={"refund_id": str(refund_id), "payment_id": str(payment["id"])})
    await Refund.update({Refund.stripe_refund_id: made["id"]}).where(Refund.id == refund_id)


async def mark_failed(payment_id: uuid.UUID, to: str = "failed") -> None:
    row = await _locked(payment_id)
    if rules.can_move(row["status"], to):
        await _move(row, to)


async def mark_processing(payment_id: uuid.UUID) -> None:
    row = await _locked(payment_id)
    if rules.can_move(row["status"], "processing"):
        await _move(row, "processing")


# ---- offline: the cashier ----------------------------------------------------------------------

async def record_offline(principal: Principal, kind: str, payable_id: uuid.UUID, *, method: str, reference: str,
                         note: str = "") -> dict[str, Any]:
    """Cash, a bank transfer or a WeChat/Alipay transfer taken by finance: it settles the payable at once."""
    if method not in rules.OFFLINE_METHODS:
        raise ValidationFailed("method must be one of %(choices)s", field="method",
                               params={"choices": ', '.join(rules.OFFLINE_METHODS)})
    if not reference.strip():
        raise ValidationFailed("reference is required: the receipt or transfer number", field="reference")
    payable = await payable_kind(kind).describe(principal, payable_id)
    if payable.settled:
        raise Conflict("this is paid already", code="already_paid")
    await fetch("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"payable:{kind}:{payable_id}")
    row = await _new_payment(payable, method=method, status="paid", reference=reference.strip(), note=note,
                             recorded_by=principal.user_id, paid_at=clock.now())
    await payable_kind(kind).settle(payable_id, method, row["number"])
    await audit.record("payment.offline", "payment", row["id"],
                       after={"number": row["number"], "amount": row["amount"], "method": method,
                              "reference": reference})
    return await get_payment(principal, row["id"])


async def reverse(principal: Principal, payment_id: uuid.UUID, *, reason: str) -> dict[str, Any]:
    """Undo a payment recorded at the cashier by mistake. Online payments are refunded instead."""
    if not reason.strip():
        raise ValidationFailed("reason is required", field="reason")
    await get_payment(principal, payment_id)
    row = await _locked(payment_id)
    if row["method"] not in rules.OFFLINE_METHODS:
        raise Conflict("an online payment is refunded, not reversed", code="payment_state_conflict")
    if row["refunded_amount"]:
        raise Conflict("a payment with refunds cannot be reversed", code="payment_state_conflict")
    await _move(row, "reversed", reversed_at=clock.now(), reversal_reason=reason.strip())
    await payable_kind(row["payable_kind"]).unsettle(row["payable_id"], "reversed")
    await audit.record("payment.reversed", "payment", payment_id, before={"status": row["status"]},
                       after={"status": "reversed", "reason": reason})
    return await get_payment(principal, payment_id)
