"""Spending: a request (in-plan against a plan line, or off-plan in its month's batch) goes through the
tenant's `fund_request` approval policy; its approval commits the money. After the work, the claim
(itemised costs, evidence) is accepted by the roles the fund names and reimbursed: the actual spend is
posted and what is left of the commitment released, in one entry.

Locks, always in this order: the request row, the plan line it spends, the fund's balance rows (the
ledger's own order). Two approvals racing for the last money on a line or in a fund: one commits, the
other's decision is undone with a 409 naming what is left."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.approvals import service as approvals_service
from careclub.core import clock
from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import Conflict, Forbidden, NotFound, Problems, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.money import format_grouped
from careclub.core.principal import Principal
from careclub.funds.service._funds import commit, get_fund, reimburse, release, today
from careclub.funds.service._plans import _USED, approved_plan
from careclub.funds.tables import FundClaim, FundRequest
from careclub.platform import attachments, audit
from careclub.platform.permissions import Perm

REQUEST_SUBJECT = "fund_request"

# What each person is told as a claim moves (inbox and mail, in the reader's language; values put in after).
CLAIM_TO_SIGN = N_("A claim waits for your acceptance: {number} {title}")
CLAIM_TO_PAY = N_("A claim is accepted and waits for payment: {number} {title}")
CLAIM_REFUSED = N_("Your claim was refused: {number} {title}")
CLAIM_REASON = N_("Reason: {reason}")
CLAIM_PAID = N_("Your claim is reimbursed: {number} {title}")
LIVE = ("approved", "claimed", "reimbursed")


def batch_month(day: date, cutoff: int) -> tuple[str, bool]:
    """The month whose batch an off-plan request joins: this month up to the cutoff day (the 25th), the
    next month after it. Answers the batch and whether it was pushed to the next month."""
    if day.day <= cutoff:
        return f"{day.year}-{day.month:02d}", False
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return f"{nxt.year}-{nxt.month:02d}", True


async def _line_left(fund_id: uuid.UUID, code: str, *, lock: bool) -> tuple[dict[str, Any], int]:
    plan = await approved_plan(fund_id)
    if plan is None:
        raise Conflict("the fund has no approved plan yet: this can only be an off-plan request",
                       code="no_approved_plan", field="plan_line")
    line = next((ln for ln in plan["lines"] if ln["code"] == code), None)
    if line is None:
        raise NotFound("the approved plan has no line %(code)s", code="plan_line_not_found", field="plan_line",
                       params={"code": code})
    if lock:
        await fetch("SELECT 1 FROM fund_plan_line WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                    current_tenant_id(), line["id"])
        used = {r["code"]: r["used"] for r in await fetch(_USED, current_tenant_id(), fund_id)}.get(code, 0)
        return line, line["amount"] - used
    return line, line["remaining"]


async def home_unit(user_id: uuid.UUID) -> uuid.UUID | None:
    """The unit a person belongs to: where his requests spend by default."""
    rows = await fetch("SELECT org_unit FROM app_user WHERE tenant_id = $1 AND id = $2", current_tenant_id(), user_id)
    return rows[0]["org_unit"] if rows else None


async def submit_request(principal: Principal, fund_id: uuid.UUID, *, title: str, amount: int, in_plan: bool,
                         category: str = "", description: str = "", org_unit_id: uuid.UUID | None = None,
                         plan_line: str | None = None) -> dict[str, Any]:
    """Every problem of the form at once; then the request is numbered and its approval opened."""
    fund = await get_fund(None, fund_id)
    problems = Problems()
    title = (title or "").strip()
    if not title:
        problems.add(ValidationFailed("title is required", field="title"))
    if amount <= 0:
        problems.add(ValidationFailed("amount must be more than zero", field="amount"))
    if fund["closed"]:
        problems.add(Conflict("the fund's year %(year)s is closed", code="fund_closed", field="fund",
                              params={"year": fund["year"]}))
    line = None
    if in_plan:
        if not plan_line:
            problems.add(ValidationFailed("choose the plan line this spends", field="plan_line"))
        else:
            try:
                line, left = await _line_left(fund_id, plan_line, lock=False)
                if amount > left:
                    problems.add(Conflict("the plan line %(code)s has %(left)s left", code="plan_line_exceeded",
                                          field="amount", params={"code": plan_line, "left": format_grouped(left)}))
            except (Conflict, NotFound) as exc:
                problems.add(exc)
    problems.done()
    if line is not None:
        category = category or line["category"]
        org_unit_id = org_unit_id or line["org_unit_id"]
    if org_unit_id is None:  # the requester's own unit: the project that will use the money
        org_unit_id = await home_unit(principal.user_id)
    day = await today()
    batch, pushed = batch_month(day, fund["off_plan_cutoff_day"]) if not in_plan else (f"{day:%Y-%m}", False)
    # numbered per fund: the fund row is locked while the number is taken
    await fetch("SELECT 1 FROM care_fund WHERE tenant_id = $1 AND id = $2 FOR UPDATE", current_tenant_id(), fund_id)
    n = (await fetch("SELECT count(*) AS n FROM fund_request WHERE tenant_id = $1 AND fund = $2",
                     current_tenant_id(), fund_id))[0]["n"] + 1
    row = FundRequest(fund=fund_id, number=f"{fund['code']}-{fund['year']}-{n:04d}"[:24], title=title[:200],
                      description=(description or "").strip(), category=(category or "").strip()[:48],
                      org_unit_id=org_unit_id or fund["org_unit_id"], in_plan=in_plan,
                      plan_line_code=plan_line if in_plan else None, batch_month=batch, amount=amount,
                      status="in_review", requester_id=principal.user_id, requester_name=principal.display_name[:200])
    await row.save()
    request = await approvals_service.open_request(
        subject_type=REQUEST_SUBJECT, subject_id=str(row.id), amount=amount, category=row.category or None,
        in_plan=in_plan, org_unit_id=row.org_unit_id, title=f"{row.number} {title}"[:300],
        requester_id=principal.user_id)
    await FundRequest.update({FundRequest.approval_request: request["id"]}).where(FundRequest.id == row.id)
    await audit.record("fund.request.submit", "fund_request", row.id,
                       after={"number": row.number, "amount": amount, "in_plan": in_plan, "batch": batch})
    out = await get_request(row.id)
    out["pushed_to_next_batch"] = pushed
    return out


async def _lock(request_id: uuid.UUID) -> dict[str, Any]:
    rows = await fetch("SELECT * FROM fund_request WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                       current_tenant_id(), request_id)
    if not rows:
        raise NotFound("no such fund request", code="fund_request_not_found")
    return rows[0]


async def on_request_approved(approval: dict[str, Any]) -> None:
    """The last approval commits the money. Not enough left on the line or in the fund: the decision is
    refused (and undone) with a 409 saying how much is left."""
    req = await _lock(uuid.UUID(approval["subject_id"]))
    if req["status"] not in ("in_review", "returned"):  # returned, then resubmitted on the approval's page
        return
    if approval.get("amount") is not None and approval["amount"] != req["amount"]:
        # resubmitted with a revised amount: what was approved is what is committed
        if approval["amount"] <= 0:
            raise Conflict("the approved amount must be more than zero", code="amount_not_positive", field="amount")
        await FundRequest.update({FundRequest.amount: approval["amount"]}).where(FundRequest.id == req["id"])
        req["amount"] = approval["amount"]
    if req["in_plan"] and req["plan_line_code"]:
        _, left = await _line_left(req["fund"], req["plan_line_code"], lock=True)
        if req["amount"] > left:
            raise Conflict("the plan line %(code)s has %(left)s left", code="plan_line_exceeded", field="amount",
                           params={"code": req["plan_line_code"], "left": format_grouped(left)})
    await commit(req["fund"], req["amount"], cause_id=req["id"], reference=req["number"], memo=req["title"],
                 key=f"commit:{req['id']}")
    await FundRequest.update({FundRequest.status: "approved", FundRequest.committed: req["amount"],
                              FundRequest.decided_at: clock.now()}).where(FundRequest.id == req["id"])
    await audit.record("fund.request.approved", "fund_request", req["id"], after={"committed": req["amount"]})


async def _ended(approval: dict[str, Any], status: str) -> None:
    req = await _lock(uuid.UUID(approval["subject_id"]))
    if req["status"] in ("in_review", "returned"):
        await FundRequest.update({FundRequest.status: status, FundRequest.decided_at: clock.now()}).where(
            FundRequest.id == req["id"])


async def on_request_rejected(approval: dict[str, Any]) -> None:
    await _ended(approval, "rejected")


async def on_request_returned(approval: dict[str, Any]) -> None:
    await _ended(approval, "returned")


async def on_request_withdrawn(approval: dict[str, Any]) -> None:
    await _ended(approval, "withdrawn")


async def get_request(request_id: uuid.UUID) -> dict[str, Any]:
    rows = await fetch("""
        SELECT r.*, f.code AS fund_code, f.year AS fund_year, f.name AS fund_name, u.code AS unit_code,
               u.name AS unit_name, u.path AS unit_path
        FROM fund_request r JOIN care_fund f ON f.tenant_id = r.tenant_id AND f.id = r.fund
        LEFT JOIN org_unit u ON u.tenant_id = r.tenant_id AND u.id = r.org_unit_id
        WHERE r.tenant_id = $1 AND r.id = $2""", current_tenant_id(), request_id)
    if not rows:
        raise NotFound("no such fund request", code="fund_request_not_found")
    req = rows[0]
    req["claims"] = await FundClaim.select().where(FundClaim.request == request_id).order_by(
        FundClaim.created_at).output(load_json=True)
    for claim in req["claims"]:  # each as get_claim answers it, read once here
        claim["attachments"] = await attachments.list_for("fund_claim", claim["id"])
    return req


def _claim_items(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    problems = Problems()
    clean: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        desc = str(item.get("description") or "").strip()
        qty, price = item.get("quantity"), item.get("unit_price")
        if not desc:
            problems.add(ValidationFailed("items[%(i)s].description is required", field=f"items[{i}].description",
                                          params={"i": i}))
        if not isinstance(qty, int) or qty <= 0:
            problems.add(ValidationFailed("items[%(i)s].quantity must be a whole number above zero",
                                          field=f"items[{i}].quantity", params={"i": i}))
        if not isinstance(price, int) or price < 0:
            problems.add(ValidationFailed("items[%(i)s].unit_price must not be negative",
                                          field=f"items[{i}].unit_price", params={"i": i}))
        if isinstance(qty, int) and isinstance(price, int):
            clean.append({"description": desc[:200], "spec": str(item.get("spec") or "").strip()[:200],
                          "quantity": qty, "unit": str(item.get("unit") or "").strip()[:16], "unit_price": price,
                          "amount": qty * price})
    if not items:
        problems.add(ValidationFailed("a claim lists at least one cost", field="items"))
    problems.done()
    return clean, sum(c["amount"] for c in clean)


async def submit_claim(principal: Principal, request_id: uuid.UUID, *, items: list[dict[str, Any]],
                       note: str = "") -> dict[str, Any]:
    """The costs of the work, item by item. More than was approved is refused with the reason: spending above
    the commitment needs a new approval."""
    req = await _lock(request_id)
    if req["status"] != "approved":
        raise Conflict("only an approved request can be claimed (this one is %(status)s)", code="request_not_approved",
                       params={"status": req["status"]})
    clean, total = _claim_items(items)
    if total > req["committed"]:
        raise Conflict("the claim (%(total)s) is more than was approved (%(committed)s); more spending needs a new "
                       "approval", code="claim_exceeds_commitment", field="items",
                       params={"total": format_grouped(total), "committed": format_grouped(req["committed"])})
    claim = FundClaim(request=request_id, items=clean, total=total, note=(note or "").strip(), status="submitted",
                      signoffs=[], submitted_by=principal.user_id)
    await claim.save()
    await FundRequest.update({FundRequest.status: "claimed"}).where(FundRequest.id == request_id)
    await audit.record("fund.claim.submit", "fund_request", request_id, after={"claim": str(claim.id), "total": total})
    fund = (await fetch("SELECT acceptance_roles FROM care_fund WHERE tenant_id = $1 AND id = $2",
                        current_tenant_id(), req["fund"]))[0]
    signers = [u for u in await holders(required_roles(fund) or ["finance"]) if u != principal.user_id]
    await _tell(signers, CLAIM_TO_SIGN, req)
    return await get_claim(claim.id)


async def get_claim(claim_id: uuid.UUID) -> dict[str, Any]:
    claim = await FundClaim.select().where(FundClaim.id == claim_id).output(load_json=True).first()
    if claim is None:
        raise NotFound("no such claim", code="fund_claim_not_found")
    claim["attachments"] = await attachments.list_for("fund_claim", claim_id)
    return claim


async def holders(role_codes: list[str]) -> list[uuid.UUID]:
    """The active people holding any of these roles (anywhere in the company)."""
    rows = await fetch("SELECT DISTINCT g.user AS id FROM role_grant g JOIN role r ON r.tenant_id = g.tenant_id "
                       "AND r.id = g.role JOIN app_user u ON u.tenant_id = g.tenant_id AND u.id = g.user "
                       "WHERE g.tenant_id = $1 AND r.code = ANY($2) AND u.is_active", current_tenant_id(), role_codes)
    return [r["id"] for r in rows]


async def _tell(user_ids: list[uuid.UUID], title: str, req: dict[str, Any], **body: str) -> None:
    params = {"number": req["number"], "title": req["title"]}
    await approvals_service.notify(user_ids, "fund_claim", title, params=params, link=f"/funds/requests/{req['id']}",
                                   body=CLAIM_REASON if body else "", body_params=body or None)


def required_roles(fund: dict[str, Any]) -> list[str]:
    return [r.strip() for r in (fund.get("acceptance_roles") or "").split(",") if r.strip()]


async def sign_off(principal: Principal, claim_id: uuid.UUID) -> dict[str, Any]:
    """Acceptance (验收): each role the fund names signs once, by someone holding it who did not submit the
    claim; with no roles named, one finance sign-off. Evidence (a photo or document) must be kept first.
    The last sign-off accepts the claim."""
    claim = await get_claim(claim_id)
    await _lock(claim["request"])
    claim = await get_claim(claim_id)
    if claim["status"] != "submitted":
        raise Conflict("the claim is %(status)s", code="claim_not_open", params={"status": claim["status"]})
    if not claim["attachments"]:
        raise Conflict("keep the evidence (photos, receipts) with the claim before its acceptance",
                       code="evidence_missing", field="file")
    req = await get_request(claim["request"])
    fund = (await fetch("SELECT * FROM care_fund WHERE tenant_id = $1 AND id = $2", current_tenant_id(),
                        req["fund"]))[0]
    if principal.user_id == claim["submitted_by"]:
        raise Forbidden("who claimed the money does not accept the work", code="own_claim")
    needed = required_roles(fund) or ["finance"]
    signed = {s["role"] for s in claim["signoffs"]}
    mine = [r for r in needed if r not in signed and (r in principal.roles or (
        r == "finance" and principal.can(Perm.FINANCE_MANAGE)))]
    if not mine:
        raise Forbidden("your roles have nothing left to sign on this claim", code="nothing_to_sign")
    signoffs = claim["signoffs"] + [{"role": mine[0], "user_id": str(principal.user_id),
                                     "name": principal.display_name, "at": clock.now().isoformat()}]
    done = {s["role"] for s in signoffs} >= set(needed)
    await FundClaim.update({FundClaim.signoffs: signoffs, FundClaim.status: "accepted" if done else "submitted"}
                           ).where(FundClaim.id == claim_id)
    await audit.record("fund.claim.signoff", "fund_request", claim["request"], after={"role": mine[0],
                                                                                      "accepted": done})
    if done:
        await _tell(await holders(["finance"]), CLAIM_TO_PAY, req)
    return await get_claim(claim_id)


async def refuse_claim(principal: Principal, claim_id: uuid.UUID, *, reason: str) -> dict[str, Any]:
    """A claim that does not match what was approved is refused with the reason; the request goes back to
    approved, for a corrected claim."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason is required", field="reason")
    claim = await get_claim(claim_id)
    await _lock(claim["request"])
    if claim["status"] not in ("submitted", "accepted"):
        raise Conflict("the claim is %(status)s", code="claim_not_open", params={"status": claim["status"]})
    await FundClaim.update({FundClaim.status: "refused", FundClaim.refusal: reason}).where(FundClaim.id == claim_id)
    await FundRequest.update({FundRequest.status: "approved"}).where(FundRequest.id == claim["request"])
    await audit.record("fund.claim.refuse", "fund_request", claim["request"], after={"reason": reason})
    req = await get_request(claim["request"])
    await _tell([req["requester_id"]], CLAIM_REFUSED, req, reason=reason)
    return await get_claim(claim_id)


async def reimburse_claim(claim_id: uuid.UUID) -> dict[str, Any]:
    """Pay out an accepted claim: the actual spend posted, the rest of the commitment released, one entry."""
    claim = await get_claim(claim_id)
    req = await _lock(claim["request"])
    claim = await get_claim(claim_id)
    if claim["status"] != "accepted":
        raise Conflict("only an accepted claim is reimbursed (this one is %(status)s)", code="claim_not_accepted",
                       params={"status": claim["status"]})
    entry = await reimburse(req["fund"], committed=req["committed"], actual=claim["total"], cause_id=req["id"],
                            reference=req["number"], memo=req["title"], key=f"reimburse:{claim_id}")
    await FundClaim.update({FundClaim.status: "reimbursed", FundClaim.entry: entry["id"]}).where(
        FundClaim.id == claim_id)
    await FundRequest.update({FundRequest.status: "reimbursed", FundRequest.committed: 0,
                              FundRequest.spent: claim["total"]}).where(FundRequest.id == req["id"])
    await audit.record("fund.claim.reimburse", "fund_request", req["id"],
                       after={"spent": claim["total"], "released": req["committed"] - claim["total"]})
    await _tell([req["requester_id"]], CLAIM_PAID, req)
    return await get_request(req["id"])


async def close_request(request_id: uuid.UUID, *, reason: str) -> dict[str, Any]:
    """An approved request that will not be spent: its commitment goes back to the fund."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason is required", field="reason")
    req = await _lock(request_id)
    if req["status"] != "approved":
        raise Conflict("only an approved, unclaimed request can be closed", code="request_not_approved",
                       params={"status": req["status"]})
    await release(req["fund"], req["committed"], cause_id=req["id"], reference=req["number"], memo=reason,
                  key=f"release:{req['id']}")
    await FundRequest.update({FundRequest.status: "closed", FundRequest.committed: 0}).where(
        FundRequest.id == request_id)
    await audit.record("fund.request.close", "fund_request", request_id, after={"reason": reason})
    return await get_request(request_id)
