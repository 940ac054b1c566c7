"""Stored and reflected XSS, page by page: an HTML payload is saved in every text field any page
shows, then every HTML page route of the app (enumerated from Litestar's route table, so a new page
cannot escape) is opened as the people who can see it. No answer may hold the raw payload; where a
field is shown, its escaped form must be there. Path and query parameters and the page forms get the
payload too (a reflection through an error message or a re-drawn form counts as much as a stored one).
"""

from __future__ import annotations

import html
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from litestar import Litestar
from markupsafe import escape
from PIL import Image

from careclub.approvals import service as approvals
from careclub.approvals.tables import Meeting
from careclub.catalogue import service as catalogue
from careclub.catalogue.rules import VersionSpec
from careclub.clubs import service as clubs
from careclub.core import clock, sessions
from careclub.core.db import tenant_scope
from careclub.core.principal import Actor, set_actor
from careclub.core.security import digest, new_secret
from careclub.funds import service as funds
from careclub.funds.tables import FundClaim, FundPlan, FundRequest
from careclub.payments import service as payments
from careclub.platform import attachments
from careclub.platform import service as platform
from careclub.platform.tables import PasswordReset, Role, User
from careclub.platform.tenant_file import apply_text
from careclub.tickets import service as tickets
from careclub.tickets.service import _archive as archive
from tests.conftest import unique_slug
from tests.integration.platform.pages import browser, csrf_token

PAYLOAD = "<img src=x onerror=alert(1)>\"'&"
# Routes that serve a kept file (checked by content on upload) rather than a page.
FILE_ROUTES = {"/attachments/{attachment_id:uuid}"}
RAW = re.compile(r"<img src=x", re.I)


def p(tag: str) -> str:
    """The payload, named after the field it is saved in (so a page shows which one it failed)."""
    return f"{tag}{PAYLOAD}"


def shown(tag: str) -> str:
    """How a page must show the field: HTML-escaped (quotes included)."""
    return str(escape(p(tag)))


def q(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


SUBJECT = "xss_purchase"


async def _noop(request: dict[str, Any]) -> None:
    return None


approvals.register_subject(SUBJECT, on_approved=_noop, on_rejected=_noop, on_returned=_noop, on_withdrawn=_noop)


def tenant_file(slug: str) -> str:
    return f"""
[tenant]
slug = "{slug}"
name = {q(p("company"))}

[[org_units]]
code = "REG"
name = {q(p("region"))}
kind = "region"

[[org_units]]
code = "BR"
name = {q(p("branch"))}
kind = "branch"
parent = "REG"

[[org_units]]
code = "TOWER"
name = {q(p("project"))}
kind = "project"
parent = "REG"

[[org_units]]
code = "ENG"
name = {q(p("department"))}
kind = "department"
parent = "TOWER"

[[roles]]
code = "requester"
name = {q(p("rolename"))}
description = {q(p("roledesc"))}
permissions = ["dashboard.view", "org.read"]

[[staff]]
email = "deputy@{slug}.test"
name = {q(p("deputy"))}
unit = "REG"
roles = ["approver"]

[demo]
password = "careclub-demo-2026"

[[demo.users]]
email = "admin@{slug}.test"
name = {q(p("adminname"))}
unit = "HQ"
roles = ["tenant_admin"]

[[demo.users]]
email = "clerk@{slug}.test"
name = {q(p("clerk"))}
unit = "REG"
roles = ["requester"]

[[demo.users]]
email = "member@{slug}.test"
name = {q(p("memberuser"))}
unit = "BR"
kind = "member"
roles = ["member"]

[[demo.users]]
email = "merchant@{slug}.test"
name = {q(p("operator"))}
unit = "HQ"
kind = "merchant"
roles = ["merchant_operator"]

[[approvals.bodies]]
code = "board"
name = {q(p("board"))}
kind = "meeting"
meeting_day = 4
members = ["admin@{slug}.test"]

[[approvals.policies]]
subject_type = "{SUBJECT}"
name = {q(p("policy"))}
categories = [{q(p("category"))}]

[[approvals.policies.rules]]
name = {q(p("rule"))}

[[approvals.policies.rules.steps]]
kind = "single"
name = {q(p("step"))}
approvers = [{{ role = "tenant_admin", at = "company" }}]

[[approvals.policies.rules.steps]]
kind = "meeting"
name = {q(p("meetingstep"))}
approvers = [{{ body = "board" }}]

[[clubs]]
code = "club"
name = {q(p("club"))}
card_prefix = "X-"
description = {q(p("clubdesc"))}

[[clubs.plans]]
code = "vip"
name = {q(p("plan"))}
fee = "100.00"
static_card = true
static_daily_cap = 2

[[clubs.merchants]]
code = "shop"
name = {q(p("merchant"))}
category = {q(p("merchantcat"))}
address = {q(p("address"))}
contact_name = {q(p("contact"))}
offer_kind = "percent"
offer_value = 10
offer_text = {q(p("offer"))}
operators = ["merchant@{slug}.test"]

[[clubs.benefits]]
code = "wash"
name = {q(p("benefit"))}
group = {q(p("group"))}
quota = 4
merchants = ["shop"]

[[clubs.demo_members]]
name = {q(p("member"))}
phone = "13800000009"
email = "member@{slug}.test"
unit = "BR"
plan = "vip"
card_no = "X-000001"
"""


@dataclass
class World:
    slug: str
    tenant_id: uuid.UUID
    ids: dict[str, Any] = field(default_factory=dict)


async def _build(client: Any) -> World:
    slug = unique_slug("xss")
    report = await apply_text(tenant_file(slug), demo=True)
    assert report.created
    tenant = await platform.tenant_by_slug(slug)
    assert tenant is not None
    w = World(slug=slug, tenant_id=tenant.id)
    ids = w.ids
    async with tenant_scope(tenant.id):
        for who in ("admin", "clerk", "member", "merchant", "deputy"):
            row = await User.select(User.id).where(User.email == f"{who}@{slug}.test").first()
            assert row is not None
            ids[who] = row["id"]
        for code in ("HQ", "REG", "BR", "TOWER", "ENG"):
            unit = await platform.unit_by_code(code)
            assert unit is not None
            ids[code] = unit["id"]
        for code in ("requester", "approver"):
            ids[f"role:{code}"] = (await platform.role_by_code(code))["id"]
        # A built-in role keeps its permissions, but its name and description may be changed.
        await platform.update_role(ids["role:approver"], description=p("builtindesc"))
        admin = await platform.load_principal(tenant, ids["admin"])
        merchant = await platform.load_principal(tenant, ids["merchant"])
        assert admin is not None and merchant is not None

        # clubs: the demo member's card, a household member, a vehicle, card events, a payment, a check-in
        club = await clubs.club_by_code("club")
        assert club is not None
        ids["club"] = club["id"]
        ids["plan"] = (await clubs.list_plans(club["id"]))[0]["id"]
        ids["merchant_row"] = (await clubs.list_merchants(club["id"]))[0]["id"]
        ids["benefit"] = (await clubs.list_benefits(club["id"]))[0]["id"]
        card = await clubs.get_card(None, "X-000001")
        ids["member_row"] = card["member"]
        ids["card_no"] = "X-000001"
        await clubs.add_vehicle(None, card["member"], plate="XSS123", vin=p("vin")[:17])
        await clubs.change_state(None, "X-000001", "suspend", reason=p("suspend"))
        await clubs.change_state(None, "X-000001", "resume", reason=p("resume"))
        period = await clubs.open_period(None, "X-000001")
        await clubs.mark_period_paid(period["id"], method="offline", reference=p("payref"))
        # a payment taken at the cashier for the next period (its description names the plan)
        renewal = await clubs.open_period(None, "X-000001")
        paid = await payments.record_offline(admin, "club_period", renewal["id"], method="cash",
                                             reference=p("cashref"), note=p("cashnote"))
        ids["payment"] = paid["id"]
        # its transfer slip, under a name someone typed (shown on the payment's page)
        slip = io.BytesIO()
        Image.new("RGB", (4, 4)).save(slip, "PNG")
        scan = await attachments.attach(admin, "payment", paid["id"], filename=p("scan") + ".png",
                                        data=slip.getvalue())
        ids["attachment"] = scan["id"]
        household = await clubs.create_member(None, club["id"], name=p("household"), phone="13800000010",
                                              org_unit=ids["BR"], household=card["member"])
        ids["household"] = household["id"]
        qr = await clubs.issue_qr(None, "X-000001")
        await clubs.check_in(merchant, token=qr["token"], benefit="wash", amount=None, idempotency_key=None)

        # approvals: one waiting for the admin, one on a meeting's agenda, minutes of another meeting,
        # one withdrawn, one returned for revision; a delegation; notifications and mail follow.
        async def open_(tag: str) -> dict[str, Any]:
            return await approvals.open_request(
                subject_type=SUBJECT, subject_id=str(uuid.uuid4()), amount=50000, category=p("category"),
                in_plan=False, org_unit_id=ids["REG"], title=p(tag), requester_id=ids["clerk"],
                attachments=[{"name": p("attachment"), "url": "javascript:alert(1)"}])

        async def step_of(request_id: uuid.UUID) -> dict[str, Any]:
            d = await approvals.detail(request_id, ids["admin"], manage_scope=[""])
            return next(s for s in d["steps"] if s["status"] == "active")

        async def decide(request_id: uuid.UUID, decision: str, comment: str) -> None:
            step = await step_of(request_id)
            await approvals.decide(request_id=request_id, step_id=step["id"], decision=decision, comment=comment,
                                   actor_id=ids["admin"], actor_name=p("adminname"))

        waiting = await open_("waiting")
        ids["req:waiting"] = waiting["id"]
        held = await open_("held")
        ids["req:held"] = held["id"]
        await decide(held["id"], "approve", p("comment"))
        meeting_step = await step_of(held["id"])
        ids["meeting:held"] = meeting_step["meeting"]
        await approvals.record_minutes(meeting_id=meeting_step["meeting"], actor_id=ids["admin"],
                                       actor_name=p("adminname"), note=p("minutesnote"),
                                       items=[{"step_id": meeting_step["id"], "decision": "approve",
                                               "comment": p("minutescomment")}])
        agenda = await open_("agenda")
        ids["req:agenda"] = agenda["id"]
        await decide(agenda["id"], "approve", p("comment2"))
        ids["meeting:open"] = (await step_of(agenda["id"]))["meeting"]
        withdrawn = await open_("withdrawn")
        ids["req:withdrawn"] = withdrawn["id"]
        await approvals.withdraw(request_id=withdrawn["id"], actor_id=ids["clerk"], reason=p("withdrawreason"))
        returned = await open_("returned")
        ids["req:returned"] = returned["id"]
        await decide(returned["id"], "return", p("returncomment"))
        today = clock.now().date()
        await approvals.delegate(delegator_id=ids["admin"], delegate_id=ids["deputy"], starts_on=today,
                                 ends_on=today + timedelta(days=7), reason=p("delegation"))
        assert await Meeting.exists().where(Meeting.id == ids["meeting:open"])

        # platform: a token, an invitation, and a role of the page's own
        await platform.issue_token(ids["admin"], kind="api", hours=24, name=p("token"))
        secret, _ = await platform.create_invite(admin, email=f"invitee@{slug}.test", role_code="requester",
                                                 unit_id=ids["REG"], hours=24, display_name=p("invite"))
        ids["invite"] = secret
        # a member's invitation to an account of their own (the household member has none), and a
        # password-reset link of the clerk's (made as the form would, its secret kept only as a hash)
        ids["member_invite"], _ = await clubs.invite_member(admin, household["id"], email="", hours=24)
        ids["reset"] = new_secret(32)
        await PasswordReset(user=ids["clerk"], token_hash=digest(ids["reset"]),
                            expires_at=clock.now() + timedelta(hours=1)).save()
        role = await Role.select(Role.id).where(Role.code == "requester").first()
        assert role is not None

        # funds: a fund held by the region with a contribution and its evidence, a commitment, an accrual rule
        # and a period, and a corrected entry, posted by someone whose name is the payload
        set_actor(Actor(ids["admin"], p("adminname")))
        fund = await funds.create_fund(code="CARE", name=p("fund"), year=2025, org_unit_id=ids["REG"],
                                       description=p("funddesc"))
        ids["fund"] = fund["id"]
        given = await funds.record_contribution(fund["id"], kind="maintenance_fund", source=p("fundsource"),
                                                amount=500_000, received_on=date(2025, 1, 5), reference=p("fundref"),
                                                note=p("fundnote"))
        ids["contribution"], ids["fund_entry"] = given["id"], given["entry"]
        await attachments.attach(admin, "fund_contribution", given["id"], filename=p("evidence") + ".png",
                                 data=slip.getvalue())
        await funds.commit(fund["id"], 10_000, cause_id=uuid.uuid4(), reference=p("commitref"), memo=p("commitmemo"))
        rule = await funds.save_rule(fund_code="CARE", code="SALES", name=p("accrualrule"), rate_bp=5,
                                     source=p("accrualsource"), base_label=p("accrualbase"))
        await funds.enter_base(rule["id"], "2025Q1", 100_000_000)
        typo = await funds.record_contribution(fund["id"], kind="other", source=p("typo"), amount=100,
                                               received_on=date(2025, 2, 1))
        ids["correction"] = (await funds.reverse(typo["entry"], reason=p("reversal"),
                                                 occurred_on=date(2025, 2, 2)))["id"]
        # spending: a plan approved, its revision in draft, a request (written as its approval would leave it)
        # with a refused claim and an open one, signed once and with its evidence
        plan = await funds.draft_plan(fund["id"], title=p("plantitle"), note=p("plannote"), lines=[
            {"code": "L1", "category": p("plancat"), "item": p("planitem"), "month": 3, "amount": 50_000}])
        await FundPlan.update({FundPlan.status: "approved"}).where(FundPlan.id == plan["id"])
        ids["fund_plan"] = plan["id"]
        revision = await funds.draft_plan(fund["id"], title=p("revision"), lines=[])
        await funds.update_plan(revision["id"], title=p("revision"), lines=[
            {"code": "L1", "category": p("plancat"), "item": p("planitem2"), "month": 4, "amount": 60_000}])
        ids["revision"] = revision["id"]
        spend = FundRequest(fund=fund["id"], number="CARE-2025-0001", title=p("reqtitle"), description=p("reqdesc"),
                            category=p("reqcat"), org_unit_id=ids["REG"], in_plan=True, plan_line_code="L1",
                            batch_month="2025-03", amount=5_000, committed=5_000, status="claimed",
                            requester_id=ids["clerk"], requester_name=p("clerk"))
        await spend.save()
        ids["fund_request"] = spend.id
        item = {"description": p("itemdesc"), "spec": p("itemspec"), "quantity": 1, "unit": "x", "unit_price": 4_000,
                "amount": 4_000}
        await FundClaim(request=spend.id, items=[item], total=4_000, note="", status="refused", refusal=p("refusal"),
                        signoffs=[], submitted_by=ids["clerk"]).save()
        claim = FundClaim(request=spend.id, items=[item], total=4_000, note=p("claimnote"), status="submitted",
                          signoffs=[{"role": "finance", "user_id": str(ids["deputy"]), "name": p("signer"),
                                     "at": "2025-03-20T08:00:00+00:00"}], submitted_by=ids["clerk"])
        await claim.save()
        ids["claim"] = claim.id
        await attachments.attach(admin, "fund_claim", claim.id, filename=p("claimfile") + ".png",
                                 data=slip.getvalue())

        # tickets: the customer archive (a building of the project, a unit, its owner, who is the member with
        # his own sign-in, and a deposit in the unit's file); the repair type renamed, with a stage and a
        # checklist item of its own (what `PUT /api/v1/ticket-types/repair` saves); a repair the resident
        # raised, dispatched to a subcontractor, worked on with a material, commented on by both, signed off
        # and rated; a contact slip rated and closed (the reports' satisfaction and score); a day off
        member = await platform.load_principal(tenant, ids["member"])
        assert member is not None
        building = await archive.ensure_building(ids["TOWER"], "A", p("building"))
        home = await archive.ensure_unit(building, "1201", floor=12, area_cm2=895_000, status="occupied")
        person = await archive.ensure_person(p("resident"), "13900001201", emergency_name=p("emergency"),
                                             emergency_phone="13900009999", note=p("personnote"),
                                             user_id=ids["member"])
        ids["occupancy"] = await archive.ensure_occupancy(home, person, "owner", date(2024, 5, 1))
        await archive.add_record(None, unit_id=home, kind="deposit", occurred_on=date(2024, 5, 2),
                                 title=p("recordtitle"), amount=200_000, person_id=person, note=p("recordnote"))
        ids["building"], ids["unit"], ids["person"] = building, home, person
        stages = [{**s, "name": p("stagename")} if s["code"] == "visited" else s
                  for s in tickets.builtin_spec("repair")["stages"]]
        await tickets.save_type("repair", {"name": p("typename"), "stages": stages, "checklist": [
            {"code": "parts", "label": p("checklabel"), "kind": "text", "required": True}]})

        def as_member() -> None:
            set_actor(Actor(ids["member"], p("memberuser")))

        def as_admin() -> None:
            set_actor(Actor(ids["admin"], p("adminname")))

        as_member()
        repair = await tickets.create_ticket(member, type_code="repair", title=p("tickettitle"),
                                             description=p("ticketdesc"), unit_id=home, contact_phone="13900001201")
        ids["repair"] = rid = repair["id"]
        as_admin()
        await tickets.transition(admin, rid, to="dispatched", department_id=ids["ENG"], assignee_id=ids["clerk"],
                                 subcontractor=p("subcontractor"), note=p("dispatchnote"))
        for step in ("accepted", "in_progress"):
            await tickets.transition(admin, rid, to=step)
        await tickets.add_work(admin, rid, note=p("worknote"), minutes=30, materials=[
            {"name": p("material"), "quantity": "2", "supplied_by": "contractor"}])
        await tickets.save_checklist(admin, rid, {"parts": p("checkvalue")})
        await tickets.add_comment(admin, rid, p("staffcomment"))
        await attachments.attach(admin, "ticket", rid, filename=p("ticketfile") + ".png", data=slip.getvalue())
        await tickets.transition(admin, rid, to="resolved", note=p("resolvenote"))
        await tickets.transition(admin, rid, to="confirmed", signed_by=p("signedby"))
        as_member()
        await tickets.add_comment(member, rid, p("residentcomment"))
        await tickets.transition(member, rid, to="visited", satisfaction=4, reason="satisfied", note=p("visitcomment"))
        as_admin()
        slip_ticket = await tickets.create_ticket(admin, type_code="contact_slip", title=p("sliptitle"),
                                                  contact_name=p("ticketcontact"), department_id=ids["ENG"])
        ids["slip"] = sid = slip_ticket["id"]
        await tickets.transition(admin, sid, to="accepted")
        await tickets.transition(admin, sid, to="resolved")
        await tickets.transition(admin, sid, to="visited", satisfaction=5, reason="satisfied", note=p("slipvisit"))
        await tickets.transition(admin, sid, to="closed")
        await tickets.set_calendar_day(clock.now().date() + timedelta(days=3), False, p("daynote"))

        # the paid-service catalogue: a service published in the member's project (its unit's word cut to the
        # column's 16 characters: shown escaped or not at all), booked by the member with a note
        await catalogue.apply_from_file(code="XSSFIX", project_id=ids["TOWER"], category="repair", spec=VersionSpec(
            name=p("servicename"), description=p("servicedesc"), standard=p("servicestd"), delivery_hours=24,
            provider_department=ids["ENG"], fee_basis="per_unit", fee_amount=1_000, unit_label=p("u")[:16],
            prepay_kind="deposit", prepay_amount=5_000, daily_capacity=5))
        ids["service"] = next(r["id"] for r in await catalogue.published([ids["TOWER"]]) if r["code"] == "XSSFIX")
        as_member()
        order = await catalogue.book(member, item_id=ids["service"], unit_id=home, quantity_centi=200,
                                     preferred_at=clock.now() + timedelta(days=2), note=p("ordernote"))
        ids["order"] = order["id"]
        # the catalogue's staff pages: a subcontractor of the register, and a service in draft handed to it (its
        # standard and the note saying why), both written by the admin
        as_admin()
        sub = await catalogue.save_subcontractor(code="XSSSUB", name=p("subname"), services=p("subservices"),
                                                 contact_name=p("subcontact"), contact_phone="02100000000")
        ids["subcontractor"] = sub["id"]
        draft = await catalogue.create_item(admin, code="XSSDRAFT", project_id=ids["TOWER"], category="other",
                                            spec=VersionSpec(name=p("draftname"), standard=p("draftstd"),
                                                             subcontractor=sub["id"], fee_basis="quoted",
                                                             fee_min=1_000, fee_max=2_000, note=p("draftnote")))
        ids["draft"] = draft["id"]
        ids["draft_version"] = draft["versions"][0]["id"]
        # the catalogue's operations pages: a long-term agreement of a service that offers one, a loss review
        # decided with a note, a needs survey the member answered with a comment, and one of the register's
        # subcontractor's people (the deputy) with an order handed to it
        from careclub.catalogue.tables import LossReview

        as_admin()
        await catalogue.apply_from_file(code="XSSLONG", project_id=ids["TOWER"], category="cleaning", spec=VersionSpec(
            name=p("longname"), provider_department=ids["ENG"], fee_basis="per_time", fee_amount=2_000,
            long_term=True))
        await catalogue.apply_from_file(code="XSSMOVE", project_id=ids["TOWER"], category="moving", spec=VersionSpec(
            name=p("handedname"), subcontractor=ids["subcontractor"], fee_basis="per_time", fee_amount=3_000))
        offer = {r["code"]: r["id"] for r in await catalogue.published([ids["TOWER"]])}
        first_day = await platform.company_today()
        agreement = await catalogue.create_agreement(
            admin, item_id=offer["XSSLONG"], unit_id=home, contact_name=p("agreecontact"), terms=p("agreeterms"),
            starts_on=first_day, ends_on=first_day + timedelta(days=60), note=p("agreenote"))
        ids["agreement"] = agreement["id"]
        review = LossReview(item=ids["service"], month="2025-01", orders=1, revenue=1_000, cost=5_000,
                            updated_at=clock.now())
        await review.save()
        await catalogue.decide_review(admin, review.id, decision="other", note=p("reviewnote"))
        ids["review"] = review.id
        survey = await catalogue.create_survey(admin, project_id=ids["TOWER"], title=p("surveytitle"),
                                               intro=p("surveyintro"), proposals=[{"name": p("proposal"),
                                                                                   "item": "XSSFIX"}])
        ids["survey"] = survey["id"]
        await catalogue.link_user(ids["subcontractor"], ids["deputy"])
        as_member()
        await catalogue.answer(member, survey["id"], wanted=["p1"], comment=p("surveycomment"))
        await catalogue.book(member, item_id=offer["XSSMOVE"], unit_id=home, note=p("handednote"))
        set_actor(Actor(None, "system"))
        # settlements: an approved budget with a line, a payment with its evidence file, a refused one, the
        # month compiled and approved (so the correction form shows), a correction, a phase, a checklist item
        from careclub.platform.service import company_today
        from careclub.settlements import rules as s_rules
        from careclub.settlements import service as settlements
        from careclub.settlements.service import _involvement
        from careclub.settlements.tables import Settlement, SettlementBudget

        today = await company_today()
        await settlements.set_phase(admin, "TOWER", code="PH1", name=p("phase"), stage="pre_move_in",
                                    moved_in_on=None)
        await settlements.set_project(admin, "TOWER", stage="pre_move_in", moved_in_on=None, note=p("projnote"))
        budget = await settlements.create_budget(
            admin, project="TOWER", phase=None, kind="monthly", cost_type="purchase", month=today,
            title=p("budgettitle"), note=p("budgetnote"),
            lines=[s_rules.LineIn(description=p("linedesc"), amount=100000, quantity=p("qty")[:40])])
        # approved as its policy would (the world has no settlement policies: approving is the approval core's)
        await SettlementBudget.update({SettlementBudget.status: "approved",
                                       SettlementBudget.decided_at: clock.now() - timedelta(days=1)}).where(
            SettlementBudget.id == budget["id"])
        ids["s_budget"], ids["s_line"] = budget["id"], budget["lines"][0]["id"]
        pay1 = await settlements.record_payment(admin, line=budget["lines"][0]["id"], amount=1000, paid_on=today,
                                                payee=p("payee"), note=p("paynote"))
        img = io.BytesIO()
        Image.new("RGB", (4, 4)).save(img, "PNG")
        await attachments.attach(admin, "settlement_payment", pay1["id"], filename=p("evidence") + ".png",
                                 data=img.getvalue())
        await settlements.decide_payment(admin, pay1["id"], confirm=True)
        pay2 = await settlements.record_payment(admin, line=budget["lines"][0]["id"], amount=500, paid_on=today,
                                                payee=p("payee2"))
        await settlements.decide_payment(admin, pay2["id"], confirm=False, reason=p("refusal"))
        ids["s_payment"] = pay1["id"]
        month = await settlements.compile_settlement(admin, project="TOWER", month=today)
        await Settlement.update({Settlement.status: "approved", Settlement.approved_at: clock.now()}).where(
            Settlement.id == month["id"])
        await settlements.add_adjustment(admin, month["id"], cost_type="staff", amount=-100, reason=p("adjreason"))
        ids["s_month"] = month["id"]
        item = await _involvement.add_item(admin, "TOWER", stage="handover", title=p("deliverable"),
                                           note=p("delivernote"))
        ids["s_item"] = item["id"]
        set_actor(Actor(None, "system"))
    return w


@asynccontextmanager
async def as_user(app: Litestar, w: World, who: str | None) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, lang="en") as c:
        if who is not None:
            session_id = await sessions.create(w.tenant_id, w.ids[who], idle_seconds=3600, absolute_seconds=7200)
            c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


# What is not a page: answers JSON (checked below), never HTML.
NOT_PAGES = {"/approvals/count", "/notifications/count", "/club/card/{card_no:str}/qr.json",
             "/schema/openapi.json", "/favicon.ico", "/settlements/{settlement_id:uuid}/application.xlsx"}
# Pages that answer an error status by design.
STATUS = {"/schema/nothing-here": 404, "/club/card/X-000001/pay": 303, "/club/card/X-000001/auto-renew": 303}
# Routes that answer a redirect by design, whatever their URL's ids (where the approval core links a version).
ROUTE_STATUS = {"/catalogue/versions/{version_id:uuid}": 302}


def visits(w: World) -> dict[str, list[tuple[str | None, str, list[str]]]]:
    """Every GET route outside the API and the static files: (who, URL, fields the page must show)."""
    i = w.ids
    company = ["company"]
    return {
        "/": [(None, "/", [])],
        "/signup": [(None, "/signup", [])],
        "/login": [(None, "/login", [])],
        "/dashboard": [("admin", "/dashboard", [*company, "adminname"]),
                       ("member", "/dashboard", [*company, "memberuser"]),
                       ("merchant", "/dashboard", [*company, "operator"])],
        "/org": [("admin", "/org", [*company, "region", "branch"])],
        "/org/{unit_id:uuid}": [("admin", f"/org/{i['BR']}", ["branch"])],
        "/staff": [("admin", "/staff", ["adminname", "clerk", "deputy", "memberuser", "operator", "region"])],
        "/staff/new": [("admin", "/staff/new", ["rolename", "region", "branch"])],
        "/staff/{user_id:uuid}": [("admin", f"/staff/{i['clerk']}", ["clerk", "rolename", "region"]),
                                  ("admin", f"/staff/{i['deputy']}", ["deputy"])],
        "/staff/invite": [("admin", "/staff/invite", ["rolename", "region"])],
        "/invite/{tenant_slug:str}/{token:str}": [(None, f"/invite/{w.slug}/{i['invite']}", [*company, "invite"])],
        "/welcome/{tenant_slug:str}/{token:str}": [(None, f"/welcome/{w.slug}/{i['member_invite']}",
                                                    [*company, "household"])],
        "/password/forgot": [(None, "/password/forgot", [])],
        "/password/reset/{tenant_slug:str}/{token:str}": [(None, f"/password/reset/{w.slug}/{i['reset']}", [*company])],
        "/roles": [("admin", "/roles", ["rolename"])],
        "/roles/{role_id:uuid}": [("admin", f"/roles/{i['role:requester']}", ["rolename", "roledesc"]),
                                  ("admin", f"/roles/{i['role:approver']}", ["builtindesc"])],
        "/audit": [("admin", "/audit", [])],  # JSON text of the changes: checked for the raw payload only
        "/tokens": [("admin", "/tokens", ["token", "clerk"]), ("member", "/tokens", [])],
        "/approvals": [("admin", "/approvals", ["waiting", "step", "clerk", "delegation", "deputy"]),
                       ("clerk", "/approvals", ["waiting", "held", "withdrawn", "returned"])],
        "/approvals/requests/{request_id:uuid}": [
            ("admin", f"/approvals/requests/{i['req:waiting']}",
             ["waiting", "clerk", "category", "rule", "step", "meetingstep", "attachment", "adminname"]),
            ("admin", f"/approvals/requests/{i['req:held']}", ["held", "comment", "minutescomment"]),
            ("clerk", f"/approvals/requests/{i['req:withdrawn']}", ["withdrawn", "withdrawreason"]),
            ("clerk", f"/approvals/requests/{i['req:returned']}", ["returned", "returncomment"])],
        "/approvals/meetings": [("admin", "/approvals/meetings", ["board"])],
        "/approvals/meetings/{meeting_id:uuid}": [
            ("admin", f"/approvals/meetings/{i['meeting:held']}", ["board", "held", "minutesnote", "clerk"]),
            ("admin", f"/approvals/meetings/{i['meeting:open']}", ["board", "agenda", "meetingstep"])],
        "/approvals/policies": [("admin", "/approvals/policies", ["policy", "board"])],
        "/approvals/policies/{subject_type:str}": [
            ("admin", f"/approvals/policies/{SUBJECT}?" + urlencode({"amount": "500.00", "org_unit": "REG",
                                                                     "category": p("category")}),
             ["policy", "category", "rule", "step", "adminname", "region"])],
        "/notifications": [("admin", "/notifications", ["waiting"]), ("clerk", "/notifications", ["returned"])],
        "/approvals/outbox": [("admin", "/approvals/outbox", ["waiting"])],
        "/my": [("member", "/my", ["plan"])],  # the resident's home: his card's tile names its plan
        "/club/card": [("member", "/club/card", ["plan", "benefit", "merchant"])],
        # (the scanner shows members' names masked)
        "/club/scan": [("merchant", "/club/scan", ["merchant", "offer", "benefit"])],
        "/join/{slug:str}/{club_code:str}": [(None, f"/join/{w.slug}/club", ["club", "clubdesc", "plan", "benefit",
                                                                             "group"])],
        "/club/admin": [("admin", "/club/admin", ["club", "plan", "merchant", "merchantcat", "offer", "benefit",
                                                  "group"])],
        "/club/stats/{club_id:uuid}": [("admin", f"/club/stats/{i['club']}", ["club", "plan", "branch", "merchant",
                                                                              "benefit"])],
        "/club/members": [("admin", "/club/members", ["member", "household", "club", "plan", "branch"])],
        "/club/cards": [("admin", "/club/cards", ["member", "club", "plan", "branch"])],
        "/club/checkins": [("admin", "/club/checkins", ["member", "merchant", "benefit", "branch", "club", "plan"])],
        "/club/merchants": [("admin", "/club/merchants", ["merchant", "merchantcat", "address", "contact", "offer",
                                                          "club"])],
        "/club/members/new": [("admin", "/club/members/new", ["club", "plan", "region", "branch"]),
                              ("admin", f"/club/members/new?household={i['member_row']}", ["member"])],
        "/club/members/{member_id:uuid}": [
            ("admin", f"/club/members/{i['member_row']}",
             ["member", "club", "branch", "plan", "payref", "household"])],
        "/club/cards/{card_no:str}/print": [("admin", f"/club/cards/{i['card_no']}/print", ["club", "plan"]),
                                            ("member", f"/club/cards/{i['card_no']}/print", ["club", "plan"])],
        "/club/admin/{kind:str}/{item_id:uuid}": [
            ("admin", f"/club/admin/club/{i['club']}", ["club", "clubdesc"]),
            ("admin", f"/club/admin/plan/{i['plan']}", ["plan", "club"]),
            ("admin", f"/club/admin/merchant/{i['merchant_row']}",
             ["merchant", "merchantcat", "address", "contact", "offer", "benefit", "operator"]),
            ("admin", f"/club/admin/benefit/{i['benefit']}", ["benefit", "group", "merchant"])],
        # these two send the member on to the checkout (or back to the card page with an error code)
        "/club/card/{card_no:str}/pay": [("member", f"/club/card/{i['card_no']}/pay", [])],
        "/club/card/{card_no:str}/auto-renew": [("member", f"/club/card/{i['card_no']}/auto-renew", [])],
        "/payments": [("admin", "/payments", ["plan"])],
        "/payments/{payment_id:uuid}": [("admin", f"/payments/{i['payment']}",
                                         ["plan", "cashref", "cashnote", "scan"])],
        "/attachments/{attachment_id:uuid}": [("admin", f"/attachments/{i['attachment']}", [])],
        "/payments/{payment_id:uuid}/receipt": [("admin", f"/payments/{i['payment']}/receipt", ["plan"]),
                                                ("member", f"/payments/{i['payment']}/receipt", ["plan"])],
        "/pay/return/{payment_id:uuid}": [("member", f"/pay/return/{i['payment']}", ["plan"])],
        "/settings/payments": [("admin", "/settings/payments", [])],
        "/settings/company": [("admin", "/settings/company", [])],
        "/funds": [("admin", "/funds", ["fund", "region"])],
        "/funds/{fund_id:uuid}": [("admin", f"/funds/{i['fund']}", ["fund", "funddesc", "fundsource", "fundref",
                                                                    "fundnote", "evidence", "region"])],
        "/funds/{fund_id:uuid}/ledger": [("admin", f"/funds/{i['fund']}/ledger",
                                          ["fund", "fundsource", "fundref", "commitref", "commitmemo", "accrualrule",
                                           "typo", "reversal", "adminname"])],
        "/funds/entries/{entry_id:uuid}": [
            ("admin", f"/funds/entries/{i['fund_entry']}", ["fund", "fundref", "fundsource", "adminname"]),
            ("admin", f"/funds/entries/{i['correction']}", ["fund", "reversal", "adminname"])],
        "/funds/accruals": [("admin", "/funds/accruals", ["fund", "accrualrule", "accrualsource", "accrualbase"])],
        "/funds/{fund_id:uuid}/plans": [("admin", f"/funds/{i['fund']}/plans",
                                         ["fund", "plantitle", "plannote", "revision", "planitem", "plancat"])],
        "/funds/{fund_id:uuid}/plans/new": [("admin", f"/funds/{i['fund']}/plans/new",
                                             ["fund", "planitem", "plancat"])],
        "/funds/plans/{plan_id:uuid}/edit": [("admin", f"/funds/plans/{i['revision']}/edit",
                                             ["fund", "revision", "planitem2", "plancat"])],
        "/funds/plans/{plan_id:uuid}/compare": [("admin", f"/funds/plans/{i['revision']}/compare",
                                                ["fund", "plantitle", "revision", "planitem", "planitem2", "plancat"])],
        "/funds/{fund_id:uuid}/requests": [("admin", f"/funds/{i['fund']}/requests", ["fund", "reqtitle", "clerk",
                                                                                     "region"])],
        "/funds/{fund_id:uuid}/requests/new": [("admin", f"/funds/{i['fund']}/requests/new", ["fund", "planitem"]),
                                               ("clerk", f"/funds/{i['fund']}/requests/new?line=L1", ["fund"])],
        "/funds/spend": [("clerk", "/funds/spend", ["reqtitle", "fund"])],
        "/funds/requests/{request_id:uuid}": [
            ("admin", f"/funds/requests/{i['fund_request']}", ["fund", "reqtitle", "reqdesc", "reqcat", "region",
                                                               "clerk", "itemdesc", "itemspec", "claimnote", "signer",
                                                               "claimfile", "refusal"]),
            ("clerk", f"/funds/requests/{i['fund_request']}", ["reqtitle", "claimfile"])],
        "/funds/{fund_id:uuid}/report": [("admin", f"/funds/{i['fund']}/report", ["fund", "reqtitle",
                                                                                 "accrualrule", "accrualsource",
                                                                                 "plantitle", "region"])],
        # tickets: the staff's queue, registering and a ticket's page; the residents' own pages
        "/tickets": [("admin", "/tickets?view=all", ["tickettitle", "sliptitle", "typename", "stagename", "department",
                                                     "clerk"])],
        "/tickets/new": [("admin", "/tickets/new", ["typename", "project", "building", "department"])],
        "/tickets/{ticket_id:uuid}": [
            ("admin", f"/tickets/{i['repair']}",
             ["tickettitle", "ticketdesc", "typename", "stagename", "project", "department", "clerk", "subcontractor",
              "dispatchnote", "worknote", "material", "checklabel", "checkvalue", "staffcomment", "residentcomment",
              "ticketfile", "resolvenote", "signedby", "visitcomment", "memberuser", "adminname"]),
            ("admin", f"/tickets/{i['slip']}", ["sliptitle", "ticketcontact", "slipvisit", "department"])],
        "/my/tickets": [("member", "/my/tickets", ["tickettitle", "typename", "stagename"])],
        "/my/tickets/new": [("member", "/my/tickets/new", ["typename", "building"])],
        "/my/tickets/{ticket_id:uuid}": [
            ("member", f"/my/tickets/{i['repair']}",
             ["tickettitle", "ticketdesc", "typename", "stagename", "staffcomment", "residentcomment", "ticketfile",
              "resolvenote", "signedby", "visitcomment", "memberuser", "adminname"])],
        # the residents' paid services: the offer, booking one, an order
        "/my/services": [("member", "/my/services", ["servicename", "servicestd", "servicedesc"])],
        "/my/services/{item_id:uuid}/book": [("member", f"/my/services/{i['service']}/book",
                                              ["servicename", "servicestd", "servicedesc"])],
        "/my/services/orders/{order_id:uuid}": [("member", f"/my/services/orders/{i['order']}",
                                                 ["servicename", "ordernote"])],
        # the catalogue's staff pages: the services, a draft and a published one, the register, the orders, a
        # booking by phone, the printable notice (and the approval's link to a version, which redirects)
        "/catalogue": [("admin", "/catalogue", ["servicename", "draftname", "project"])],
        "/catalogue/items/new": [("admin", "/catalogue/items/new", ["project", "department", "subname"])],
        "/catalogue/items/{item_id:uuid}": [
            ("admin", f"/catalogue/items/{i['draft']}", ["draftname", "draftstd", "draftnote", "project", "subname"]),
            ("admin", f"/catalogue/items/{i['service']}", ["servicename", "servicestd", "project", "department"])],
        "/catalogue/versions/{version_id:uuid}": [("admin", f"/catalogue/versions/{i['draft_version']}", [])],
        "/catalogue/subcontractors": [("admin", "/catalogue/subcontractors", ["subname", "subservices",
                                                                              "subcontact"])],
        "/catalogue/subcontractors/{sub_id:uuid}": [("admin", f"/catalogue/subcontractors/{i['subcontractor']}",
                                                     ["subname", "subservices", "subcontact"])],
        "/catalogue/orders": [("admin", "/catalogue/orders", ["servicename", "draftname"]),
                              ("admin", "/catalogue/orders?unsettled=1", [])],
        "/catalogue/orders/new": [("admin", "/catalogue/orders/new", ["servicename", "project", "building"])],
        "/catalogue/orders/{order_id:uuid}": [("admin", f"/catalogue/orders/{i['order']}",
                                               ["servicename", "ordernote", "project"])],
        "/catalogue/notice": [("admin", "/catalogue/notice", ["project"]),
                              ("admin", "/catalogue/notice?project=TOWER", ["company", "project", "servicename",
                                                                            "servicestd"])],
        # the ticket settings and reports
        "/tickets/types": [("admin", "/tickets/types", ["typename"])],
        "/tickets/types/{code:str}": [("admin", "/tickets/types/repair", ["typename", "stagename", "checklabel",
                                                                         "department"])],
        "/tickets/calendar": [("admin", "/tickets/calendar", ["daynote"])],
        "/tickets/reports": [("admin", "/tickets/reports", ["typename", "department", "project"])],
        # the customer archive
        "/archive": [("admin", "/archive", ["project", "building"])],
        "/archive/buildings": [("admin", "/archive/buildings", ["building", "project"])],
        "/archive/import": [("admin", "/archive/import", ["project"])],
        "/archive/people": [("admin", "/archive/people", ["resident", "emergency"])],
        "/archive/people/new": [("admin", "/archive/people/new", []),
                                ("admin", f"/archive/people/new?unit={i['unit']}", ["project"])],
        "/archive/people/{person_id:uuid}": [
            ("admin", f"/archive/people/{i['person']}", ["resident", "emergency", "personnote", "project", "building",
                                                         "tickettitle", "stagename"])],
        "/archive/units/new": [("admin", "/archive/units/new", ["project", "building"])],
        "/archive/units/{unit_id:uuid}": [
            ("admin", f"/archive/units/{i['unit']}", ["building", "project", "resident", "emergency", "recordtitle",
                                                      "recordnote", "tickettitle", "typename", "stagename"])],
        # the catalogue's operations pages: agreements, the month's figures and a loss review, quality, surveys
        # (the staff's and the resident's), a subcontractor's people and the orders handed to them
        "/catalogue/agreements": [("admin", "/catalogue/agreements", ["longname", "agreecontact", "project"])],
        "/catalogue/agreements/new": [("admin", "/catalogue/agreements/new", ["longname", "project", "building"])],
        "/catalogue/agreements/{agreement_id:uuid}": [
            ("admin", f"/catalogue/agreements/{i['agreement']}", ["longname", "agreecontact", "agreeterms",
                                                                   "agreenote", "project"])],
        "/catalogue/figures": [("admin", "/catalogue/figures?month=2025-01", ["servicename"])],
        "/catalogue/reviews/{review_id:uuid}": [("admin", f"/catalogue/reviews/{i['review']}",
                                                 ["servicename", "reviewnote", "project", "adminname"])],
        "/catalogue/quality": [("admin", "/catalogue/quality", ["servicename", "handedname"]),
                               ("admin", "/catalogue/quality?by=subcontractor", ["subname"]),
                               ("admin", "/catalogue/quality?by=department", ["department"])],
        "/catalogue/surveys": [("admin", "/catalogue/surveys", ["surveytitle", "project"])],
        "/catalogue/surveys/new": [("admin", "/catalogue/surveys/new", ["project"])],
        "/catalogue/surveys/{survey_id:uuid}": [("admin", f"/catalogue/surveys/{i['survey']}",
                                                 ["surveytitle", "surveyintro", "proposal", "project"])],
        "/my/surveys": [("member", "/my/surveys", ["surveytitle"])],
        "/my/surveys/{survey_id:uuid}": [("member", f"/my/surveys/{i['survey']}",
                                          ["surveytitle", "surveyintro", "proposal", "surveycomment"])],
        "/catalogue/subcontractors/{sub_id:uuid}/people": [
            ("admin", f"/catalogue/subcontractors/{i['subcontractor']}/people", ["subname", "deputy"])],
        "/partner/orders": [("deputy", "/partner/orders", ["subname", "handedname"])],
        # settlements between the developer and its property company
        "/settlements": [("admin", "/settlements", ["project"])],
        "/settlements/projects/{code:str}": [("admin", "/settlements/projects/TOWER",
                                              ["project", "projnote", "phase", "budgettitle"])],
        "/settlements/terms": [("admin", "/settlements/terms", [])],
        "/settlements/budgets": [("admin", "/settlements/budgets", ["budgettitle", "project"])],
        "/settlements/budgets/new": [("admin", "/settlements/budgets/new", ["project", "phase"])],
        "/settlements/budgets/{budget_id:uuid}": [("admin", f"/settlements/budgets/{i['s_budget']}",
                                                   ["budgettitle", "budgetnote", "linedesc", "payee", "project"])],
        "/settlements/payments": [("admin", "/settlements/payments?status=all",
                                   ["payee", "paynote", "payee2", "refusal", "project"])],
        "/settlements/payments/new": [("admin", f"/settlements/payments/new?line={i['s_line']}",
                                       ["budgettitle", "linedesc", "project"])],
        "/settlements/payments/{payment_id:uuid}": [("admin", f"/settlements/payments/{i['s_payment']}",
                                                     ["payee", "paynote", "evidence", "budgettitle", "project"])],
        "/settlements/months": [("admin", "/settlements/months", ["project"])],
        "/settlements/{settlement_id:uuid}": [("admin", f"/settlements/{i['s_month']}",
                                               ["project", "payee", "adjreason", "evidence"])],
        "/settlements/reports": [("admin", "/settlements/reports", ["project"])],
        "/settlements/projects/{code:str}/involvement": [("admin", "/settlements/projects/TOWER/involvement",
                                                          ["project", "deliverable", "delivernote"])],
        "/schema/swagger": [(None, "/schema/swagger", [])],
        "/schema/redoc": [(None, "/schema/redoc", [])],
        "/schema/oauth2-redirect.html": [(None, "/schema/oauth2-redirect.html", [])],
        "/schema": [(None, "/schema", [])],
        "/schema/{path:str}": [(None, "/schema/nothing-here", [])],
    }


def _app_routes(app: Litestar) -> list[Any]:
    """The app's routes, less those other tests add to the shared app for themselves (`/__test/…`)."""
    return [route for route in app.routes if not route.path.startswith("/__test/")]


def get_routes(app: Litestar) -> set[str]:
    found = set()
    for route in _app_routes(app):
        for handler in getattr(route, "route_handlers", []):
            if "GET" in handler.http_methods and not route.path.startswith(("/api/", "/static", "/health")):
                found.add(route.path)
    return found


def post_routes(app: Litestar) -> set[str]:
    found = set()
    for route in _app_routes(app):
        for handler in getattr(route, "route_handlers", []):
            if "POST" in handler.http_methods and not route.path.startswith(("/api/", "/webhooks/")):
                found.add(route.path)
    return found


# a rate ("fee_rate": the management fee in per cent) is not money
MONEY_NAME = re.compile(r"^(?!\w*_rate$)(?:\w+_)?(?:amount|fee|price|bill)(?:_\w+)?$")
INPUT = re.compile(r"<input\b[^>]*>", re.S)


def unmarked_money(url: str, body: str) -> list[str]:
    """Every money input on every page takes yuan as people type it ("20", "1,314.50"): it says so with
    `data-money` (and a decimal keyboard on a phone). Walked on every page the test opens."""
    found = []
    for tag in INPUT.findall(body):
        name = re.search(r'\bname="([^"]+)"', tag)
        if name and MONEY_NAME.match(name.group(1)) and 'type="hidden"' not in tag and \
                ("data-money" not in tag or 'inputmode="decimal"' not in tag):
            found.append(f"{url}: money input {name.group(1)!r} lacks data-money / inputmode=decimal: {tag[:160]}")
    return found


def raw_in(body: str) -> bool:
    return bool(RAW.search(body)) or PAYLOAD in body


META_POLICY = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"')


def strict_policy(r: httpx.Response) -> bool:
    """The answer carries the site's policy: as a header, or, on the error page Litestar's router draws
    for a path or method no route takes (no middleware runs there), in the page's <meta> element."""
    policy = r.headers.get("content-security-policy")
    if policy is None and r.status_code in (404, 405):
        meta = META_POLICY.search(r.text)
        policy = html.unescape(meta.group(1)) if meta else None
    if policy is not None and not r.headers.get("content-type", "").startswith("text/html"):
        # a kept file, not a page: nothing may run in it at all (the browser's image viewer styles itself)
        if "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy:
            return True
    return policy is not None and "script-src 'self'" in policy and "unsafe-" not in policy


def check_page(problems: list[str], who: str | None, url: str, r: httpx.Response, *, status: int | None = 200,
               expect: list[str] = ()) -> None:  # type: ignore[assignment]
    where = f"{who or 'anonymous'} {r.request.method} {url} ({r.status_code})"
    if status is not None and r.status_code != status:
        problems.append(f"{where}: status {r.status_code}, wanted {status}: {r.text[:200]}")
        return
    if not strict_policy(r):
        problems.append(f"{where}: no strict Content-Security-Policy ({r.headers.get('content-security-policy')!r})")
    if raw_in(r.text):
        at = RAW.search(r.text) or re.search(re.escape(PAYLOAD), r.text)
        start = at.start() if at else 0
        problems.append(f"{where}: raw payload: …{r.text[max(0, start - 120):start + 60]}…")
    if re.search(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", r.text, re.I):
        problems.append(f"{where}: a javascript: URL")
    for tag in expect:
        if shown(tag) not in r.text:
            problems.append(f"{where}: {tag!r} is not shown (escaped)")


POST_FIELDS = ("name", "display_name", "email", "code", "description", "phone", "title", "comment", "reason",
               "invite_email", "note", "policy", "category", "address", "contact_name", "contact_phone", "offer_text",
               "offer_kind", "offer_value", "group_name", "quota", "quota_period", "merchants", "plan", "club",
               "plate", "vin", "id_number", "policy_no", "policy_ends_at", "reference", "org_unit", "parent_id",
               "kind", "role", "password", "password2", "company", "slug", "tenant", "next", "hours", "user_id",
               "starts_on", "ends_on", "step_id", "decision", "amount", "fee", "term_months", "grace_days",
               "card_prefix", "static_daily_cap", "household", "lang", "renew_policy_no", "renew_policy_ends_at",
               "locale", "is_active", "benefits",
               # the funds' forms
               "year", "source", "received_on", "fund_code", "rate_bp", "due_day", "base_label", "base_rule",
               "base_period", "base", "pay_period", "paid_on", "valid_only",
               # the spending forms (a plan's rows, a request, a claim's rows)
               "op", "rows", "code_0", "unit_0", "category_0", "item_0", "month_0", "amount_0", "in_plan",
               "plan_line", "description_0", "spec_0", "quantity_0", "unit_price_0", "close_reason",
               # the ticket forms (registering, a step, the checklist, a work record with a material)
               "type", "priority", "department", "to", "expected_status", "assignee", "subcontractor", "signed_by",
               "satisfaction", "expected_version", "check_parts", "minutes", "name_0", "supplied_by_0",
               # a ticket type (a stage, a step, a checklist item, a deadline) and the service calendar
               "prefix", "escalate_role", "default_department", "st_rows", "st_0_code", "st_0_phase", "st_0_name",
               "tr_rows", "tr_0_from", "tr_0_to", "tr_0_department", "ck_rows", "ck_0_code", "ck_0_label",
               "ck_0_kind", "sla_normal_respond", "sla_normal_resolve", "sla_normal_clock", "hours_start",
               "hours_end", "days", "quiet_start", "quiet_end", "warn_minutes", "day", "working",
               # the customer archive's forms (a unit, a tie, a record, a person, a building)
               "project", "building", "floor", "area", "use", "status", "link_phone", "link_role", "link_starts_on",
               "occurred_on", "record_person", "emergency_name", "emergency_phone",
               # the residents' booking of a paid service, and its Pay button
               "preferred_at", "quantity", "what",
               # the catalogue's staff forms (a service's fee standard, a subcontractor, a booking, the cashier's)
               "fee_basis", "fee_amount", "fee_min", "fee_max", "unit_label", "prepay_kind", "prepay_amount",
               "long_term", "daily_capacity", "delivery_hours", "standard", "provider_department", "services",
               "contract_from", "contract_until", "active", "item", "unit", "preferred_date", "preferred_time",
               "final_amount", "method",
               # the catalogue's operations forms (an agreement and ending it, a survey, a resident's answer)
               "terms", "every_weeks", "weekday", "time_of_day", "price_per_visit", "on", "intro", "closes_on",
               "name_3", "item_3", "wanted",
               # the settlements' forms (a budget and its lines, a payment, a correction, the terms, a phase)
               "fee_rate", "stage", "moved_in_on", "payee", "cost_type", "direction", "line_type_0", "phase", "month",
               "back", "line", "owner", "due_on", "done_on")
# POST routes whose forms carry no text (a button): posting them is an action, not a re-drawn form.
NO_TEXT_POSTS = {"/logout", "/notifications/read-all", "/notifications/{notification_id:uuid}/open",
                 "/org/{unit_id:uuid}/delete", "/roles/{role_id:uuid}/delete",
                 "/tokens/{token_id:uuid}/revoke", "/staff/{user_id:uuid}/grants/{grant_id:uuid}/delete",
                 "/club/members/{member_id:uuid}/id-number", "/club/card/{card_no:str}/auto-renew/cancel",
                 "/catalogue/surveys/{survey_id:uuid}/close",
                 "/catalogue/subcontractors/{sub_id:uuid}/people/{user_id:uuid}/remove",
                 "/settlements/budgets/{budget_id:uuid}/submit", "/settlements/budgets/{budget_id:uuid}/withdraw",
                 "/settlements/payments/{payment_id:uuid}/confirm", "/settlements/{settlement_id:uuid}/compile",
                 "/settlements/{settlement_id:uuid}/submit", "/settlements/{settlement_id:uuid}/withdraw",
                 "/settlements/projects/{code:str}/involvement/seed",
                 "/settlements/involvement-items/{item_id:uuid}/remove",
                 "/settlements/adjustments/{adjustment_id:uuid}/remove"}


def posts(w: World) -> dict[str, tuple[str | None, str, str]]:
    """Every form POST route: (who, the page holding a form with a CSRF token, the URL to post to). The
    form gets the payload in every field; the answer (usually the form re-drawn with its errors) must
    not hold it raw."""
    i = w.ids
    enc = quote(p("path"), safe="")
    return {
        "/signup": (None, "/signup", "/signup"),
        "/login": (None, "/login", "/login"),
        "/lang": (None, "/login", "/lang"),
        "/org": ("admin", "/org", "/org"),
        "/org/{unit_id:uuid}": ("admin", f"/org/{i['REG']}", f"/org/{i['REG']}"),
        "/staff/new": ("admin", "/staff/new", "/staff/new"),
        "/staff/{user_id:uuid}": ("admin", f"/staff/{i['clerk']}", f"/staff/{i['clerk']}"),
        "/staff/{user_id:uuid}/grants": ("admin", f"/staff/{i['clerk']}", f"/staff/{i['clerk']}/grants"),
        "/staff/invite": ("admin", "/staff/invite", "/staff/invite"),
        "/invite/{tenant_slug:str}/{token:str}": (None, f"/invite/{w.slug}/{i['invite']}",
                                                  f"/invite/{w.slug}/{i['invite']}"),
        "/welcome/{tenant_slug:str}/{token:str}": (None, f"/welcome/{w.slug}/{i['member_invite']}",
                                                   f"/welcome/{w.slug}/{i['member_invite']}"),
        "/password/forgot": (None, "/password/forgot", "/password/forgot"),
        "/password/reset/{tenant_slug:str}/{token:str}": (None, f"/password/reset/{w.slug}/{i['reset']}",
                                                          f"/password/reset/{w.slug}/{i['reset']}"),
        "/club/members/{member_id:uuid}/invite": ("admin", f"/club/members/{i['household']}",
                                                  f"/club/members/{i['household']}/invite"),
        "/roles": ("admin", "/roles", "/roles"),
        "/roles/{role_id:uuid}": ("admin", f"/roles/{i['role:requester']}", f"/roles/{i['role:requester']}"),
        "/tokens": ("admin", "/tokens", "/tokens"),
        "/approvals/delegations": ("admin", "/approvals", "/approvals/delegations"),
        "/approvals/requests/{request_id:uuid}/decide": ("admin", f"/approvals/requests/{i['req:waiting']}",
                                                         f"/approvals/requests/{i['req:waiting']}/decide"),
        "/approvals/requests/{request_id:uuid}/withdraw": ("clerk", f"/approvals/requests/{i['req:waiting']}",
                                                           f"/approvals/requests/{i['req:waiting']}/withdraw"),
        "/approvals/requests/{request_id:uuid}/resubmit": ("clerk", f"/approvals/requests/{i['req:returned']}",
                                                           f"/approvals/requests/{i['req:returned']}/resubmit"),
        "/approvals/meetings/{meeting_id:uuid}/minutes": ("admin", f"/approvals/meetings/{i['meeting:open']}",
                                                          f"/approvals/meetings/{i['meeting:open']}/minutes"),
        "/approvals/policies/{subject_type:str}": ("admin", f"/approvals/policies/{SUBJECT}",
                                                   f"/approvals/policies/{SUBJECT}"),
        "/club/scan/checkin": ("merchant", "/club/scan", "/club/scan/checkin"),
        "/join/{slug:str}/{club_code:str}": (None, f"/join/{w.slug}/club", f"/join/{w.slug}/club"),
        "/club/admin/{kind:str}": ("admin", "/club/admin", f"/club/admin/{enc}"),
        "/club/admin/keys/rotate": ("admin", "/club/admin", "/club/admin/keys/rotate"),
        "/club/admin/keys/{kid:int}/revoke": ("admin", "/club/admin", "/club/admin/keys/2147483647/revoke"),
        "/club/admin/{kind:str}/{item_id:uuid}": ("admin", f"/club/admin/merchant/{i['merchant_row']}",
                                                  f"/club/admin/merchant/{i['merchant_row']}"),
        "/club/merchants/{merchant_id:uuid}/operators": ("admin", f"/club/admin/merchant/{i['merchant_row']}",
                                                         f"/club/merchants/{i['merchant_row']}/operators"),
        "/club/merchants/{merchant_id:uuid}/operators/{user_id:uuid}/unlink": (
            "admin", f"/club/admin/merchant/{i['merchant_row']}",
            f"/club/merchants/{i['merchant_row']}/operators/{uuid.uuid4()}/unlink"),
        "/club/merchants/{merchant_id:uuid}/operators/invite": (
            "admin", f"/club/admin/merchant/{i['merchant_row']}",
            f"/club/merchants/{i['merchant_row']}/operators/invite"),
        "/club/members/new": ("admin", "/club/members/new", "/club/members/new"),
        "/club/members/{member_id:uuid}/vehicles": ("admin", f"/club/members/{i['member_row']}",
                                                    f"/club/members/{i['member_row']}/vehicles"),
        "/club/members/{member_id:uuid}/cards": ("admin", f"/club/members/{i['member_row']}",
                                                 f"/club/members/{i['member_row']}/cards"),
        "/club/members/{member_id:uuid}/cards/{card_no:str}/{action:str}": (
            "admin", f"/club/members/{i['member_row']}", f"/club/members/{i['member_row']}/cards/{enc}/{enc}"),
        "/club/members/{member_id:uuid}/periods/{period_id:uuid}/paid": (
            "admin", f"/club/members/{i['member_row']}",
            f"/club/members/{i['member_row']}/periods/{uuid.uuid4()}/paid"),
        "/payments/{payment_id:uuid}/refund": ("admin", f"/payments/{i['payment']}",
                                                f"/payments/{i['payment']}/refund"),
        "/payments/{payment_id:uuid}/reverse": ("admin", f"/payments/{i['payment']}",
                                                 f"/payments/{i['payment']}/reverse"),
        "/payments/{payment_id:uuid}/attachments": ("admin", f"/payments/{i['payment']}",
                                                     f"/payments/{i['payment']}/attachments"),
        "/settings/payments": ("admin", "/settings/payments", "/settings/payments"),
        "/settings/company": ("admin", "/settings/company", "/settings/company"),
        "/settings/payments/connect": ("admin", "/settings/payments", "/settings/payments/connect"),
        "/funds": ("admin", "/funds", "/funds"),
        "/funds/{fund_id:uuid}/edit": ("admin", f"/funds/{i['fund']}", f"/funds/{i['fund']}/edit"),
        "/funds/{fund_id:uuid}/contributions": ("admin", f"/funds/{i['fund']}", f"/funds/{i['fund']}/contributions"),
        "/funds/contributions/{contribution_id:uuid}/attachments": (
            "admin", f"/funds/{i['fund']}", f"/funds/contributions/{i['contribution']}/attachments"),
        "/funds/entries/{entry_id:uuid}/reverse": ("admin", f"/funds/entries/{i['fund_entry']}",
                                                   f"/funds/entries/{i['fund_entry']}/reverse"),
        "/funds/accruals/rules": ("admin", "/funds/accruals", "/funds/accruals/rules"),
        "/funds/accruals/bases": ("admin", "/funds/accruals", "/funds/accruals/bases"),
        "/funds/accruals/payments": ("admin", "/funds/accruals", "/funds/accruals/payments"),
        "/funds/accruals/import": ("admin", "/funds/accruals", "/funds/accruals/import"),
        "/funds/{fund_id:uuid}/plans/new": ("admin", f"/funds/{i['fund']}/plans/new", f"/funds/{i['fund']}/plans/new"),
        "/funds/plans/{plan_id:uuid}/edit": ("admin", f"/funds/plans/{i['revision']}/edit",
                                             f"/funds/plans/{i['revision']}/edit"),
        "/funds/plans/{plan_id:uuid}/submit": ("admin", f"/funds/{i['fund']}/plans",
                                               f"/funds/plans/{i['revision']}/submit"),
        "/funds/{fund_id:uuid}/requests/new": ("clerk", f"/funds/{i['fund']}/requests/new",
                                               f"/funds/{i['fund']}/requests/new"),
        "/funds/requests/{request_id:uuid}/claims": ("clerk", f"/funds/requests/{i['fund_request']}",
                                                     f"/funds/requests/{i['fund_request']}/claims"),
        "/funds/requests/{request_id:uuid}/close": ("admin", f"/funds/requests/{i['fund_request']}",
                                                    f"/funds/requests/{i['fund_request']}/close"),
        "/funds/claims/{claim_id:uuid}/attachments": ("clerk", f"/funds/requests/{i['fund_request']}",
                                                      f"/funds/claims/{i['claim']}/attachments"),
        "/funds/claims/{claim_id:uuid}/signoff": ("admin", f"/funds/requests/{i['fund_request']}",
                                                  f"/funds/claims/{i['claim']}/signoff"),
        "/funds/claims/{claim_id:uuid}/reimbursement": ("admin", f"/funds/requests/{i['fund_request']}",
                                                        f"/funds/claims/{i['claim']}/reimbursement"),
        "/funds/claims/{claim_id:uuid}/refusal": ("admin", f"/funds/requests/{i['fund_request']}",
                                                  f"/funds/claims/{i['claim']}/refusal"),
        "/club/members/{member_id:uuid}/edit": ("admin", f"/club/members/{i['member_row']}",
                                                f"/club/members/{i['member_row']}/edit"),
        "/club/members/{member_id:uuid}/policy/{card_no:str}": (
            "admin", f"/club/members/{i['member_row']}", f"/club/members/{i['member_row']}/policy/{enc}"),
        # tickets
        "/tickets/new": ("admin", "/tickets/new", "/tickets/new"),
        "/tickets/{ticket_id:uuid}/transition": ("admin", f"/tickets/{i['repair']}",
                                                 f"/tickets/{i['repair']}/transition"),
        "/tickets/{ticket_id:uuid}/checklist": ("admin", f"/tickets/{i['repair']}",
                                                f"/tickets/{i['repair']}/checklist"),
        "/tickets/{ticket_id:uuid}/work": ("admin", f"/tickets/{i['repair']}", f"/tickets/{i['repair']}/work"),
        "/tickets/{ticket_id:uuid}/comments": ("admin", f"/tickets/{i['repair']}",
                                               f"/tickets/{i['repair']}/comments"),
        "/tickets/{ticket_id:uuid}/attachments": ("admin", f"/tickets/{i['repair']}",
                                                  f"/tickets/{i['repair']}/attachments"),
        "/my/tickets/new": ("member", "/my/tickets/new", "/my/tickets/new"),
        "/my/tickets/{ticket_id:uuid}/transition": ("member", f"/my/tickets/{i['repair']}",
                                                    f"/my/tickets/{i['repair']}/transition"),
        "/my/tickets/{ticket_id:uuid}/comments": ("member", f"/my/tickets/{i['repair']}",
                                                  f"/my/tickets/{i['repair']}/comments"),
        "/my/tickets/{ticket_id:uuid}/attachments": ("member", f"/my/tickets/{i['repair']}",
                                                     f"/my/tickets/{i['repair']}/attachments"),
        "/my/services/{item_id:uuid}/book": ("member", f"/my/services/{i['service']}/book",
                                             f"/my/services/{i['service']}/book"),
        "/my/services/orders/{order_id:uuid}/pay": ("member", f"/my/services/orders/{i['order']}",
                                                    f"/my/services/orders/{i['order']}/pay"),
        # the catalogue's staff forms
        "/catalogue/items/new": ("admin", "/catalogue/items/new", "/catalogue/items/new"),
        "/catalogue/items/{item_id:uuid}/draft": ("admin", f"/catalogue/items/{i['draft']}",
                                                  f"/catalogue/items/{i['draft']}/draft"),
        "/catalogue/items/{item_id:uuid}/submit": ("admin", f"/catalogue/items/{i['draft']}",
                                                   f"/catalogue/items/{i['draft']}/submit"),
        "/catalogue/subcontractors": ("admin", "/catalogue/subcontractors", "/catalogue/subcontractors"),
        "/catalogue/subcontractors/{sub_id:uuid}": ("admin", f"/catalogue/subcontractors/{i['subcontractor']}",
                                                    f"/catalogue/subcontractors/{i['subcontractor']}"),
        "/catalogue/orders/new": ("admin", "/catalogue/orders/new", "/catalogue/orders/new"),
        "/catalogue/orders/{order_id:uuid}/prepayment": ("admin", f"/catalogue/orders/{i['order']}",
                                                         f"/catalogue/orders/{i['order']}/prepayment"),
        "/catalogue/orders/{order_id:uuid}/balance": ("admin", f"/catalogue/orders/{i['order']}",
                                                      f"/catalogue/orders/{i['order']}/balance"),
        "/catalogue/orders/{order_id:uuid}/settlement": ("admin", f"/catalogue/orders/{i['order']}",
                                                         f"/catalogue/orders/{i['order']}/settlement"),
        "/catalogue/orders/{order_id:uuid}/costs": ("admin", f"/catalogue/orders/{i['order']}",
                                                    f"/catalogue/orders/{i['order']}/costs"),
        "/catalogue/orders/{order_id:uuid}/complaints": ("admin", f"/catalogue/orders/{i['order']}",
                                                         f"/catalogue/orders/{i['order']}/complaints"),
        "/my/services/orders/{order_id:uuid}/complaint": ("member", f"/my/services/orders/{i['order']}",
                                                          f"/my/services/orders/{i['order']}/complaint"),
        # settlements
        "/settlements/projects/{code:str}/stage": ("admin", "/settlements/projects/TOWER",
                                                  "/settlements/projects/TOWER/stage"),
        "/settlements/projects/{code:str}/phases": ("admin", "/settlements/projects/TOWER",
                                                   "/settlements/projects/TOWER/phases"),
        "/settlements/terms": ("admin", "/settlements/terms", "/settlements/terms"),
        "/settlements/budgets/new": ("admin", "/settlements/budgets/new", "/settlements/budgets/new"),
        "/settlements/budgets/{budget_id:uuid}": ("admin", f"/settlements/budgets/{i['s_budget']}",
                                                  f"/settlements/budgets/{i['s_budget']}"),
        "/settlements/payments/new": ("admin", f"/settlements/payments/new?line={i['s_line']}",
                                      "/settlements/payments/new"),
        "/settlements/payments/{payment_id:uuid}/refuse": ("admin", f"/settlements/payments/{i['s_payment']}",
                                                           f"/settlements/payments/{i['s_payment']}/refuse"),
        "/settlements/payments/{payment_id:uuid}/attachments": (
            "admin", f"/settlements/payments/{i['s_payment']}", f"/settlements/payments/{i['s_payment']}/attachments"),
        "/settlements/months": ("admin", "/settlements/months", "/settlements/months"),
        "/settlements/{settlement_id:uuid}/adjustments": ("admin", f"/settlements/{i['s_month']}",
                                                          f"/settlements/{i['s_month']}/adjustments"),
        "/settlements/projects/{code:str}/involvement": ("admin", "/settlements/projects/TOWER/involvement",
                                                         "/settlements/projects/TOWER/involvement"),
        "/settlements/involvement-items/{item_id:uuid}": (
            "admin", f"/settlements/projects/TOWER/involvement?edit={i['s_item']}",
            f"/settlements/involvement-items/{i['s_item']}"),
        "/tickets/types/{code:str}": ("admin", "/tickets/types/repair", "/tickets/types/repair"),
        # (restoring the built-in workflow of another type: the repair keeps its own stage names)
        "/tickets/types/{code:str}/restore": ("admin", "/tickets/types/complaint", "/tickets/types/complaint/restore"),
        "/tickets/calendar": ("admin", "/tickets/calendar", "/tickets/calendar"),
        "/tickets/calendar/days": ("admin", "/tickets/calendar", "/tickets/calendar/days"),
        "/tickets/calendar/days/remove": ("admin", "/tickets/calendar", "/tickets/calendar/days/remove"),
        # the customer archive
        "/archive/units/{unit_id:uuid}": ("admin", f"/archive/units/{i['unit']}", f"/archive/units/{i['unit']}"),
        "/archive/units/{unit_id:uuid}/people": ("admin", f"/archive/units/{i['unit']}",
                                                 f"/archive/units/{i['unit']}/people"),
        "/archive/units/{unit_id:uuid}/records": ("admin", f"/archive/units/{i['unit']}",
                                                  f"/archive/units/{i['unit']}/records"),
        "/archive/occupancies/{occupancy_id:uuid}/end": ("admin", f"/archive/units/{i['unit']}",
                                                         f"/archive/occupancies/{i['occupancy']}/end"),
        "/archive/people/{person_id:uuid}": ("admin", f"/archive/people/{i['person']}",
                                             f"/archive/people/{i['person']}"),
        "/archive/people/new": ("admin", f"/archive/people/new?unit={i['unit']}", "/archive/people/new"),
        "/archive/buildings": ("admin", "/archive/buildings", "/archive/buildings"),
        "/archive/units/new": ("admin", "/archive/units/new", "/archive/units/new"),
        "/archive/import": ("admin", "/archive/import", "/archive/import"),
        # the catalogue's operations forms
        "/catalogue/agreements/new": ("admin", "/catalogue/agreements/new", "/catalogue/agreements/new"),
        "/catalogue/agreements/{agreement_id:uuid}/end": ("admin", f"/catalogue/agreements/{i['agreement']}",
                                                          f"/catalogue/agreements/{i['agreement']}/end"),
        "/catalogue/reviews/{review_id:uuid}/decision": ("admin", f"/catalogue/reviews/{i['review']}",
                                                         f"/catalogue/reviews/{i['review']}/decision"),
        "/catalogue/surveys/new": ("admin", "/catalogue/surveys/new", "/catalogue/surveys/new"),
        "/my/surveys/{survey_id:uuid}": ("member", f"/my/surveys/{i['survey']}", f"/my/surveys/{i['survey']}"),
        "/catalogue/subcontractors/{sub_id:uuid}/people": (
            "admin", f"/catalogue/subcontractors/{i['subcontractor']}/people",
            f"/catalogue/subcontractors/{i['subcontractor']}/people"),
    }


async def test_no_page_shows_user_data_unescaped(app: Litestar, client: Any) -> None:
    w = await _build(client)
    plan = visits(w)
    routes = get_routes(app)
    missing = sorted(routes - set(plan) - NOT_PAGES)
    assert not missing, f"GET routes the XSS test does not visit (add them to visits()): {missing}"
    problems: list[str] = []

    # 1. every page, as the people who see it: no raw payload, every field shown escaped
    for route in sorted(plan):
        for who, url, expect in plan[route]:
            async with as_user(app, w, who) as c:
                r = await c.get(url)
                if route in FILE_ROUTES:  # a file: nothing may run in it (its own, stricter policy)
                    policy = r.headers.get("content-security-policy", "")
                    if r.status_code != 200 or "default-src 'none'" not in policy or "sandbox" not in policy or \
                            "script-src" in policy or PAYLOAD.encode() in r.content:
                        problems.append(f"{who} GET {url}: a file must be served sandboxed ({policy!r})")
                else:
                    check_page(problems, who, url, r, status=STATUS.get(url, ROUTE_STATUS.get(route, 200)),
                               expect=expect)
                    problems += unmarked_money(url, r.text)
                kind = r.headers.get("content-type", "")
                if route in FILE_ROUTES:  # a kept file: only its checked type, never sniffed into a page
                    if not kind.startswith(("image/", "application/pdf")) or \
                            r.headers.get("x-content-type-options") != "nosniff":
                        problems.append(f"{url}: a file served as {kind} without nosniff")
                elif r.status_code < 300 and not kind.startswith("text/html"):
                    problems.append(f"{url}: not served as HTML ({kind})")
    not_pages = {"/club/card/{card_no:str}/qr.json": ("member", f"/club/card/{w.ids['card_no']}/qr.json"),
                 "/settlements/{settlement_id:uuid}/application.xlsx": (
                     "admin", f"/settlements/{w.ids['s_month']}/application.xlsx")}
    for route in sorted(NOT_PAGES & routes):
        who, url = not_pages.get(route, ("member", route))
        async with as_user(app, w, who) as c:
            r = await c.get(url, headers={"Accept": "application/json"})
            if r.headers.get("content-type", "").startswith("text/html"):
                problems.append(f"{url} is a page: the XSS test must visit it (take it out of NOT_PAGES)")

    # 2. the payload in every query parameter and path parameter: nothing reflected raw, whatever the status
    hostile = urlencode({k: p("query") for k in (
        "q", "club", "plan", "status", "kind", "unit", "action", "entity_type", "actor", "since", "until",
        "amount", "category", "org_unit", "in_plan", "done", "saved", "unread", "household", "next", "tenant",
        "page", "cause", "fund_code", "overdue", "rule", "pay", "batch", "line", "format",
        # the ticket and archive pages' filters
        "view", "type", "priority", "department", "number", "after", "month", "project", "building", "table",
        # the catalogue's operations pages
        "by")})
    enc = quote(p("path"), safe="")
    for route in sorted(plan):
        for who, url, _expect in plan[route]:
            async with as_user(app, w, who) as c:
                base = url.split("?", 1)[0]
                r = await c.get(f"{base}?{hostile}")
                check_page(problems, who, f"{base}?<payload>", r, status=None)
                if "{" in route:
                    # every path parameter replaced by the payload: an error page, which must not echo it raw
                    bad = re.sub(r"\{[^}]+\}", enc, route)
                    r = await c.get(bad)
                    check_page(problems, who, bad, r, status=None)
    async with as_user(app, w, "admin") as c:
        for url in (f"/no-such-page/{enc}", f"/approvals/policies/{enc}", f"/join/{enc}/{enc}",
                    f"/club/admin/{enc}/{uuid.uuid4()}", f"/club/cards/{enc}/print"):
            r = await c.get(url)
            check_page(problems, "admin", url, r, status=None)
            if r.status_code < 400:
                problems.append(f"{url}: answered {r.status_code}")

    # 3. every form, posted with the payload in every field: the re-drawn form (or error page) escapes it
    forms = posts(w)
    unposted = sorted(post_routes(app) - set(forms) - NO_TEXT_POSTS)
    assert not unposted, f"POST routes the XSS test does not post to (add them to posts()): {unposted}"
    for route, (who, form_page, action) in sorted(forms.items()):
        async with as_user(app, w, who) as c:
            page = await c.get(form_page)
            assert page.status_code == 200, (form_page, page.status_code)
            data = {"_csrf_token": csrf_token(page), **{f: p(f) for f in POST_FIELDS}}
            r = await c.post(action, data=data)
            check_page(problems, who, f"{action} (form)", r, status=None)
            if route == "/club/scan/checkin":
                r = await c.post(action, json={"token": p("token"), "benefit": p("benefit"), "amount": None},
                                 headers={"X-CSRFToken": csrf_token(page), "Accept": "text/html"})
                check_page(problems, who, f"{action} (json)", r, status=None)

    assert not problems, "\n".join(problems)
