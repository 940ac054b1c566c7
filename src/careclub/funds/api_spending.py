"""The funds' spending API: annual plans and their revisions, spending requests through the approval
core, claims with their evidence, acceptance sign-offs and reimbursement.

Who: finance whose rights cover a fund runs its plans and pays its claims; any staff member may ask to
spend a fund for a unit in his scope (the project that uses the money) and claims what he was
approved; the roles the fund names sign the acceptance. Reading a request: its requester, finance over
its fund, the acceptance signers, and the approvers of its approval request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody

from careclub.approvals import service as approvals_service
from careclub.core.errors import NotFound
from careclub.core.money import to_money
from careclub.core.paging import After, BoundedOffset, decode_cursor, next_after
from careclub.core.principal import Principal
from careclub.funds import schemas, service
from careclub.funds.api import FileUpload
from careclub.platform import attachments
from careclub.platform.api import Limit, PrincipalDep, minor_units, provide_principal
from careclub.platform.permissions import Perm
from careclub.platform.service import unit_by_code

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}


def _line_out(line: dict[str, Any], cur: str) -> schemas.PlanLineOut:
    return schemas.PlanLineOut(code=line["code"], org_unit=line.get("unit_code"), category=line["category"],
                               item=line["item"], month=line["month"], amount=to_money(line["amount"], cur),
                               used=to_money(line.get("used", 0), cur),
                               remaining=to_money(line.get("remaining", 0), cur))


def plan_out(plan: dict[str, Any], cur: str) -> schemas.PlanOut:
    return schemas.PlanOut(id=plan["id"], fund=plan["fund"], version=plan["version"], previous=plan["previous"],
                           title=plan["title"], note=plan["note"], status=plan["status"],
                           approval_request=plan["approval_request"], total=to_money(plan["total"], cur),
                           lines=[_line_out(ln, cur) for ln in plan["lines"]])


def claim_out(claim: dict[str, Any], cur: str) -> schemas.ClaimOut:
    return schemas.ClaimOut(
        id=claim["id"], total=to_money(claim["total"], cur), note=claim["note"], status=claim["status"],
        refusal=claim["refusal"], created_at=claim["created_at"],
        items=[schemas.ClaimItemOut(description=i["description"], spec=i["spec"], quantity=i["quantity"],
                                    unit=i["unit"], unit_price=to_money(i["unit_price"], cur),
                                    amount=to_money(i["amount"], cur)) for i in claim["items"]],
        signoffs=[schemas.SignoffOut(role=s["role"], name=s["name"], at=datetime.fromisoformat(s["at"]))
                  for s in claim["signoffs"]],
        attachments=[schemas.AttachmentOut(id=a["id"], filename=a["filename"], content_type=a["content_type"],
                                           size=a["size"], url=f"/api/v1/attachments/{a['id']}")
                     for a in claim.get("attachments", [])])


async def request_out(req: dict[str, Any], cur: str) -> schemas.FundRequestOut:
    claims = [claim_out(c, cur) for c in req.get("claims", [])]
    return schemas.FundRequestOut(
        id=req["id"], number=req["number"], fund=req["fund"], fund_code=req["fund_code"], fund_year=req["fund_year"],
        title=req["title"], description=req["description"], category=req["category"], org_unit=req["unit_code"],
        in_plan=req["in_plan"], plan_line=req["plan_line_code"], batch_month=req["batch_month"],
        amount=to_money(req["amount"], cur), committed=to_money(req["committed"], cur),
        spent=to_money(req["spent"], cur), status=req["status"], approval_request=req["approval_request"],
        requester=req["requester_name"], created_at=req["created_at"],
        pushed_to_next_batch=bool(req.get("pushed_to_next_batch")), claims=claims)


async def deciding(principal: Principal, approval_request: uuid.UUID | None) -> bool:
    """Whether the person may see the approval request behind a plan or a spending request (its approvers,
    their delegates, approvals managers over its unit): they see what they are asked to decide."""
    if approval_request is None:
        return False
    try:
        await approvals_service.visible_request(approval_request, principal.user_id,
                                                manage_scope=principal.scope(Perm.APPROVALS_MANAGE))
    except NotFound:
        return False
    return True


async def readable_request(principal: Principal, request_id: uuid.UUID) -> dict[str, Any]:
    """The request (and its claims' evidence), for its requester, finance over its fund, the holders of the
    fund's acceptance roles (who check the evidence before they sign) and those deciding its approval; else
    404 as if absent."""
    req = await service.get_request(request_id)
    if req["requester_id"] == principal.user_id:
        return req
    fund = await service.get_fund(None, req["fund"])
    if set(service.required_roles(fund)) & principal.roles or await deciding(principal, req["approval_request"]):
        return req
    try:
        await service.get_fund(principal, req["fund"])
    except NotFound:
        raise NotFound("no such fund request", code="fund_request_not_found") from None
    return req


async def may_read_claim(principal: Principal, claim_id: uuid.UUID) -> bool:
    try:
        claim = await service.get_claim(claim_id)
        await readable_request(principal, claim["request"])
    except NotFound:
        return False
    return True


attachments.register_owner("fund_claim", may_read_claim)


async def _lines_in(principal: Principal, data: schemas.PlanSave) -> list[dict[str, Any]]:
    lines = []
    for i, line in enumerate(data.lines):
        unit_id = None
        if line.org_unit:
            unit = await unit_by_code(line.org_unit)
            if unit is None:
                raise NotFound("no such org unit", code="org_unit_not_found", field=f"lines[{i}].org_unit")
            unit_id = unit["id"]
        lines.append({"code": line.code, "org_unit_id": unit_id, "category": line.category, "item": line.item,
                      "month": line.month, "amount": minor_units(principal, line.amount, f"lines[{i}].amount")})
    return lines


class PlanController(Controller):
    path = "/api/v1"
    tags = ["funds"]
    dependencies = _P

    @get("/funds/{fund_id:uuid}/plans", opt={"permission": Perm.FINANCE_READ})
    async def list_plans(self, fund_id: FromPath[uuid.UUID], principal: PrincipalDep) -> list[schemas.PlanOut]:
        """Every version of the fund's plan, newest first."""
        await service.get_fund(principal, fund_id)
        return [plan_out(await service.get_plan(p["id"]), principal.tenant.currency)
                for p in await service.list_plans(fund_id)]

    @post("/funds/{fund_id:uuid}/plans", opt={"permission": Perm.FINANCE_MANAGE}, status_code=201)
    async def draft(self, fund_id: FromPath[uuid.UUID], data: JSONBody[schemas.PlanSave],
                    principal: PrincipalDep) -> schemas.PlanOut:
        """A new version: the January plan, or (once one is approved) its revision; a revision without lines
        starts as a copy of the approved version."""
        await service.writable_fund(principal, fund_id)
        plan = await service.draft_plan(fund_id, title=data.title, note=data.note,
                                        lines=await _lines_in(principal, data), created_by=principal.user_id)
        return plan_out(plan, principal.tenant.currency)

    @get("/fund-plans/{plan_id:uuid}", opt={"permission": Perm.FINANCE_READ})
    async def get_plan(self, plan_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.PlanOut:
        plan = await service.get_plan(plan_id)
        await service.get_fund(principal, plan["fund"])
        return plan_out(plan, principal.tenant.currency)

    @put("/fund-plans/{plan_id:uuid}", opt={"permission": Perm.FINANCE_MANAGE})
    async def update(self, plan_id: FromPath[uuid.UUID], data: JSONBody[schemas.PlanSave],
                     principal: PrincipalDep) -> schemas.PlanOut:
        """Replace a draft's (or a returned version's) title and lines."""
        plan = await service.get_plan(plan_id)
        await service.writable_fund(principal, plan["fund"])
        return plan_out(await service.update_plan(plan_id, title=data.title, note=data.note,
                                                  lines=await _lines_in(principal, data)), principal.tenant.currency)

    @post("/fund-plans/{plan_id:uuid}/submission", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def submit(self, plan_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.PlanOut:
        """Into the approval core, on the tenant's `annual_plan` policy."""
        plan = await service.get_plan(plan_id)
        await service.writable_fund(principal, plan["fund"])
        return plan_out(await service.submit_plan(plan_id, requester_id=principal.user_id), principal.tenant.currency)

    @get("/fund-plans/{plan_id:uuid}/comparison", opt={"permission": Perm.FINANCE_READ})
    async def comparison(self, plan_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.PlanComparison:
        """The version beside the one it revises, line by line."""
        plan = await service.get_plan(plan_id)
        await service.get_fund(principal, plan["fund"])
        cmp = await service.compare(plan_id)
        cur = principal.tenant.currency
        return schemas.PlanComparison(
            plan=plan_out(cmp["plan"], cur), previous=plan_out(cmp["previous"], cur) if cmp["previous"] else None,
            total_delta=to_money(cmp["total_delta"], cur),
            lines=[schemas.PlanLineChange(code=r["code"], kind=r["kind"], delta=to_money(r["delta"], cur),
                                          before=_line_out(r["before"], cur) if r["before"] else None,
                                          after=_line_out(r["after"], cur) if r["after"] else None)
                   for r in cmp["lines"]])


class SpendingController(Controller):
    path = "/api/v1"
    tags = ["funds"]
    dependencies = _P

    @get("/funds/{fund_id:uuid}/requests", opt={"permission": Perm.FINANCE_READ})
    async def list_requests(self, fund_id: FromPath[uuid.UUID], principal: PrincipalDep, after: After = None,
                            limit: Limit = 50, offset: BoundedOffset = 0) -> schemas.FundRequestList:
        """The fund's spending requests with their claims, newest first, a keyset page at a time (`after` = the
        previous page's `next_after`); for finance whose rights cover the fund. `total` counts at most
        10,000 (`total_capped` says when there are more)."""
        await service.get_fund(principal, fund_id)
        rows, total, more = await service.request_page(fund_id, after=decode_cursor(after), limit=limit + 1,
                                                       offset=offset, claims=True)
        rows, cursor = next_after(rows, limit)
        cur = principal.tenant.currency
        return schemas.FundRequestList(items=[await request_out(r, cur) for r in rows], total=total,
                                       total_capped=more, limit=limit, offset=offset, next_after=cursor)

    @post("/funds/{fund_id:uuid}/requests", opt={"permission": Perm.DASHBOARD_VIEW}, status_code=201)
    async def submit(self, fund_id: FromPath[uuid.UUID], data: JSONBody[schemas.FundRequestCreate],
                     principal: PrincipalDep) -> schemas.FundRequestOut:
        """Ask to spend: in-plan against a line of the approved plan (at most what is left on it), or off-plan
        (after the fund's cut-off day, 25 by default, it joins next month's batch: `pushed_to_next_batch`).
        The unit (default: the plan line's, else your own) must be in your scope. The tenant's `fund_request`
        policy decides the approval chain; the last approval commits the money."""
        fund = await service.get_fund(None, fund_id)
        unit_id = None
        if data.org_unit:
            unit = await unit_by_code(data.org_unit)
            if unit is None or not principal.covers(Perm.DASHBOARD_VIEW, unit["path"]):
                raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
            unit_id = unit["id"]
        amount = minor_units(principal, data.amount, "amount") or 0
        req = await service.submit_request(principal, fund["id"], title=data.title, amount=amount,
                                           in_plan=data.in_plan, category=data.category,
                                           description=data.description, org_unit_id=unit_id,
                                           plan_line=data.plan_line)
        return await request_out(req, principal.tenant.currency)

    @get("/fund-requests/{request_id:uuid}", opt={"permission": Perm.DASHBOARD_VIEW})
    async def get_request(self, request_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.FundRequestOut:
        return await request_out(await readable_request(principal, request_id), principal.tenant.currency)

    @post("/fund-requests/{request_id:uuid}/claims", opt={"permission": Perm.DASHBOARD_VIEW}, status_code=201)
    async def claim(self, request_id: FromPath[uuid.UUID], data: JSONBody[schemas.ClaimCreate],
                    principal: PrincipalDep) -> schemas.FundRequestOut:
        """The costs after the work, item by item (quantity × unit price). More than was approved is refused
        (409 `claim_exceeds_commitment`): it needs a new approval. Then keep the photos and receipts with it."""
        req = await readable_request(principal, request_id)
        if req["requester_id"] != principal.user_id:
            await service.writable_fund(principal, req["fund"])
        items = [{"description": i.description, "spec": i.spec, "quantity": i.quantity, "unit": i.unit,
                  "unit_price": minor_units(principal, i.unit_price, f"items[{n}].unit_price")}
                 for n, i in enumerate(data.items)]
        await service.submit_claim(principal, request_id, items=items, note=data.note)
        return await request_out(await service.get_request(request_id), principal.tenant.currency)

    @post("/fund-requests/{request_id:uuid}/closure", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def close(self, request_id: FromPath[uuid.UUID], data: JSONBody[schemas.ReasonIn],
                    principal: PrincipalDep) -> schemas.FundRequestOut:
        """An approved request that will not be spent: its commitment goes back to the fund."""
        req = await service.get_request(request_id)
        await service.writable_fund(principal, req["fund"])
        return await request_out(await service.close_request(request_id, reason=data.reason),
                                 principal.tenant.currency)

    @post("/fund-claims/{claim_id:uuid}/attachments", opt={"permission": Perm.DASHBOARD_VIEW, "statuses": (415,)},
          status_code=201, request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
    async def attach(self, claim_id: FromPath[uuid.UUID], principal: PrincipalDep,
                     data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
                     ) -> schemas.FundRequestOut:
        """Evidence for a claim (site photos, receipts, the material list): a photo or PDF as the field `file`."""
        claim = await service.get_claim(claim_id)
        req = await readable_request(principal, claim["request"])
        await attachments.attach(principal, "fund_claim", claim_id, filename=data.file.filename or "evidence",
                                 data=await data.file.read())
        return await request_out(await service.get_request(req["id"]), principal.tenant.currency)

    @post("/fund-claims/{claim_id:uuid}/signoff", opt={"permission": Perm.DASHBOARD_VIEW}, status_code=200)
    async def sign(self, claim_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.FundRequestOut:
        """Acceptance (验收): sign for one of the fund's acceptance roles you hold. The last signature accepts."""
        claim = await service.sign_off(principal, claim_id)
        return await request_out(await service.get_request(claim["request"]), principal.tenant.currency)

    @post("/fund-claims/{claim_id:uuid}/refusal", opt={"permission": Perm.DASHBOARD_VIEW}, status_code=200)
    async def refuse(self, claim_id: FromPath[uuid.UUID], data: JSONBody[schemas.ReasonIn],
                     principal: PrincipalDep) -> schemas.FundRequestOut:
        """Refuse a claim that does not match what was approved, with the reason (an acceptance signer or
        finance); the requester may claim again, corrected."""
        claim = await service.get_claim(claim_id)
        req = await service.get_request(claim["request"])
        fund = await service.get_fund(None, req["fund"])
        signer = set(service.required_roles(fund)) & principal.roles
        if not signer:
            await service.writable_fund(principal, req["fund"])
        await service.refuse_claim(principal, claim_id, reason=data.reason)
        return await request_out(await service.get_request(req["id"]), principal.tenant.currency)

    @post("/fund-claims/{claim_id:uuid}/reimbursement", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def reimburse(self, claim_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.FundRequestOut:
        """Pay an accepted claim: the actual spend is posted and the rest of the commitment released."""
        claim = await service.get_claim(claim_id)
        req = await service.get_request(claim["request"])
        await service.writable_fund(principal, req["fund"])
        return await request_out(await service.reimburse_claim(claim_id), principal.tenant.currency)


ROUTES: list[Any] = [PlanController, SpendingController]
