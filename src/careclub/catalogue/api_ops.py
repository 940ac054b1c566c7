"""The catalogue API beyond booking: long-term agreements, an order's costs and complaints, the monthly loss
review and its decisions, quality figures, needs surveys, and a subcontractor's own people."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from careclub.catalogue import schemas, service
from careclub.catalogue.api import company_manager, money_fields, order_out, quantity_centi
from careclub.core.errors import AppError, FieldErrors, Forbidden
from careclub.core.money import to_money
from careclub.core.principal import Principal
from careclub.platform.api import PrincipalDep, provide_principal
from careclub.platform.permissions import Perm

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}
Month = Annotated[str, QueryParameter(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
GroupBy = Annotated[str, QueryParameter(pattern="^(item|department|staff|subcontractor)$")]


def _amounts(principal: Principal, **values: Any) -> dict[str, int | None]:
    """Money fields of a body parsed together, so every bad one is named at once."""
    problems: list[AppError] = []
    out = money_fields(principal.tenant.currency, problems, **values)
    if problems:
        raise FieldErrors(problems)
    return out


def agreement_out(a: dict[str, Any]) -> schemas.AgreementOut:
    c = a["currency"]
    return schemas.AgreementOut(
        id=a["id"], number=a["number"], item=a["item"], item_version=a["item_version"], name=a["version_row"]["name"],
        status=a["status"], unit=a["unit"], terms=a["terms"], every_weeks=a["every_weeks"], weekday=a["weekday"],
        time_of_day=a["time_of_day"], starts_on=a["starts_on"], ends_on=a["ends_on"],
        quantity=to_money(a["quantity_centi"], c).amount, price_per_visit=to_money(a["price_per_visit"], c),
        next_visit=a["next_visit"],
        visits=[schemas.Visit(id=v["id"], number=v["number"], day=v["slot_date"], status=v["status"],
                              price=to_money(v["price"], c) if v["price"] is not None else None)
                for v in a["visits"]])


class AgreementController(Controller):
    path = "/api/v1/service-agreements"
    tags = ["catalogue"]
    dependencies = _P

    @get("", opt={"permission": Perm.TICKETS_HANDLE})
    async def list_agreements(self, principal: PrincipalDep) -> list[schemas.AgreementSummary]:
        return [schemas.AgreementSummary(
            id=r["id"], number=r["number"], name=r["name"], status=r["status"], starts_on=r["starts_on"],
            ends_on=r["ends_on"], every_weeks=r["every_weeks"], weekday=r["weekday"],
            price_per_visit=to_money(r["price_per_visit"], r["currency"]), next_visit=r["next_visit"])
            for r in await service.list_agreements(principal)]

    @post("", opt={"permission": Perm.TICKETS_HANDLE}, status_code=201)
    async def create(self, data: JSONBody[schemas.AgreementCreate], principal: PrincipalDep) -> schemas.AgreementOut:
        """Record a long-term agreement: its visits become orders a week ahead, at the agreed price."""
        money = _amounts(principal, price_per_visit=data.price_per_visit)
        agreement = await service.create_agreement(
            principal, item_id=data.item, unit_id=data.unit, person_id=data.person, contact_name=data.contact_name,
            contact_phone=data.contact_phone, terms=data.terms, every_weeks=data.every_weeks, weekday=data.weekday,
            time_of_day=data.time_of_day, starts_on=data.starts_on, ends_on=data.ends_on,
            quantity_centi=quantity_centi(data.quantity), price_per_visit=money["price_per_visit"], note=data.note)
        return agreement_out(agreement)

    @get("/{agreement_id:uuid}", opt={"permission": Perm.TICKETS_HANDLE})
    async def get_agreement(self, agreement_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.AgreementOut:
        return agreement_out(await service.get_agreement(principal, agreement_id))

    @post("/{agreement_id:uuid}/end", opt={"permission": Perm.TICKETS_HANDLE}, status_code=200)
    async def end(self, agreement_id: FromPath[uuid.UUID], data: JSONBody[schemas.AgreementEnd],
                  principal: PrincipalDep) -> schemas.AgreementOut:
        return agreement_out(await service.end_agreement(principal, agreement_id, on=data.on, reason=data.reason))


class OrderOpsController(Controller):
    path = "/api/v1/service-orders/{order_id:uuid}"
    tags = ["catalogue"]
    dependencies = _P

    @put("/costs", opt={"permission": Perm.AUTHENTICATED})
    async def costs(self, order_id: FromPath[uuid.UUID], data: JSONBody[schemas.CostsIn],
                    principal: PrincipalDep) -> schemas.OrderOut:
        """The order's costs (§4.3.2): labour minutes (default: the ticket's work records) at an hourly rate,
        materials, a subcontractor's fee."""
        money = _amounts(principal, labour_rate=data.labour_rate, materials_cost=data.materials_cost,
                         subcontractor_fee=data.subcontractor_fee)
        order = await service.record_costs(principal, order_id, labour_minutes=data.labour_minutes,
                                           labour_rate=money["labour_rate"] or 0,
                                           materials_cost=money["materials_cost"] or 0,
                                           subcontractor_fee=money["subcontractor_fee"] or 0)
        return order_out(order)

    @post("/complaints", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def complain(self, order_id: FromPath[uuid.UUID], data: JSONBody[schemas.ComplaintIn],
                       principal: PrincipalDep) -> schemas.ComplaintOut:
        """A complaint about the service: a complaint ticket tied to the order (quality counts it)."""
        if principal.kind == "staff" and not principal.can(Perm.TICKETS_HANDLE):
            raise Forbidden("you may not register complaints", code="forbidden")
        ticket = await service.complain(principal, order_id, title=data.title, description=data.description,
                                        priority=data.priority)
        return schemas.ComplaintOut(id=ticket["id"], number=ticket["number"], status=ticket["status"])


def review_out(r: dict[str, Any], currency: str) -> schemas.ReviewOut:
    return schemas.ReviewOut(
        id=r["id"], item=r["item"], name=r["item_row"]["name"], month=r["month"], orders=r["orders"],
        revenue=to_money(r["revenue"], currency), cost=to_money(r["cost"], currency),
        margin=to_money(r["revenue"] - r["cost"], currency), status=r["status"], decision=r["decision"],
        note=r["note"], approval_request=r["approval_request"])


class ReviewController(Controller):
    path = "/api/v1/catalogue"
    tags = ["catalogue"]
    dependencies = _P

    @get("/figures", opt={"permission": Perm.CATALOGUE_READ})
    async def figures(self, principal: PrincipalDep, month: Month) -> list[schemas.ItemFigures]:
        """Revenue, cost and margin per item for orders settled in the month (the loss review, §4.3.2)."""
        c = principal.tenant.currency
        return [schemas.ItemFigures(item=r["item"], code=r["code"], name=r["name"], orders=r["orders"],
                                    revenue=to_money(r["revenue"], c), cost=to_money(r["cost"], c),
                                    margin=to_money(r["margin"], c)) for r in await service.item_figures(principal,
                                                                                                         month)]

    @get("/reviews/{review_id:uuid}", opt={"permission": Perm.CATALOGUE_READ})
    async def review(self, review_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.ReviewOut:
        return review_out(await service.get_review(principal, review_id), principal.tenant.currency)

    @post("/reviews/{review_id:uuid}/decision", opt={"permission": Perm.CATALOGUE_MANAGE}, status_code=200)
    async def decide(self, review_id: FromPath[uuid.UUID], data: JSONBody[schemas.DecisionIn],
                     principal: PrincipalDep) -> schemas.ReviewOut:
        """The site manager's decision on a loss; `stop` goes to the general manager for approval first."""
        review = await service.decide_review(principal, review_id, decision=data.decision, note=data.note)
        return review_out(review, principal.tenant.currency)

    @get("/quality", opt={"permission": Perm.CATALOGUE_READ})
    async def quality(self, principal: PrincipalDep, since: FromQuery[date], until: FromQuery[date],
                      by: GroupBy = "item") -> list[schemas.QualityRow]:
        """Service quality (§4.5) from return visits, reworks, complaints and on-time work, for appraisal."""
        rows = await service.quality(principal, since=since, until=until, by=by)
        return [schemas.QualityRow(key=r["key"], label=r["label"], orders=r["orders"], rated=r["rated"],
                                   satisfaction=r["satisfaction"], bad=r["bad"], rework=r["rework"],
                                   complaints=r["complaints"], on_time=r["on_time"]) for r in rows]

    @post("/subcontractors/{sub_id:uuid}/users", opt={"permission": Perm.CATALOGUE_MANAGE}, status_code=204)
    async def link_user(self, sub_id: FromPath[uuid.UUID], data: JSONBody[schemas.SubcontractorUserIn],
                        principal: PrincipalDep) -> None:
        """Make a staff sign-in one of the subcontractor's people: they see only what is handed to it."""
        company_manager(principal)
        await service.link_user(sub_id, data.user)

    @delete("/subcontractors/{sub_id:uuid}/users/{user_id:uuid}", opt={"permission": Perm.CATALOGUE_MANAGE},
            status_code=204)
    async def unlink_user(self, sub_id: FromPath[uuid.UUID], user_id: FromPath[uuid.UUID],
                          principal: PrincipalDep) -> None:
        company_manager(principal)
        await service.unlink_user(sub_id, user_id)


def survey_out(s: dict[str, Any]) -> schemas.SurveyOut:
    tally = s.get("tally")
    mine = s.get("mine")
    wanted = mine["wanted"] if mine else None
    if isinstance(wanted, str):  # the JSONB column reads back as its text
        wanted = json.loads(wanted)
    return schemas.SurveyOut(
        id=s["id"], project=s["project_id"], title=s["title"], intro=s["intro"], status=s["status"],
        closes_on=s["closes_on"], sent_to=s["sent_to"], respondents=tally["respondents"] if tally else None,
        proposals=[schemas.ProposalTally(code=p["code"], name=p["name"], item=p.get("item", ""),
                                         wanted=tally["wanted"].get(p["code"], 0) if tally else None)
                   for p in s["proposals"]],
        my_answer=list(wanted) if isinstance(wanted, list) else None)


class SurveyController(Controller):
    path = "/api/v1/catalogue/surveys"
    tags = ["catalogue"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def list_surveys(self, principal: PrincipalDep) -> list[schemas.SurveyOut]:
        return [survey_out(await service.get_survey(principal, r["id"]))
                for r in await service.list_surveys(principal)]

    @post("", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def create(self, data: JSONBody[schemas.SurveyCreate], principal: PrincipalDep) -> schemas.SurveyOut:
        """Ask a project's residents which proposed services they want (§4.1.2); they are notified."""
        if principal.kind != "staff":
            raise Forbidden("staff run surveys", code="forbidden")
        survey = await service.create_survey(
            principal, project_id=data.project, title=data.title, intro=data.intro,
            proposals=[{"code": p.code, "name": p.name, "item": p.item} for p in data.proposals],
            closes_on=data.closes_on)
        return survey_out(survey)

    @get("/{survey_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def get_survey(self, survey_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.SurveyOut:
        return survey_out(await service.get_survey(principal, survey_id))

    @post("/{survey_id:uuid}/answers", opt={"permission": Perm.SELF_SERVICE}, status_code=200)
    async def answer(self, survey_id: FromPath[uuid.UUID], data: JSONBody[schemas.SurveyAnswerIn],
                     principal: PrincipalDep) -> schemas.SurveyOut:
        """A resident's answer (once; answering again while it is open replaces it)."""
        return survey_out(await service.answer(principal, survey_id, wanted=list(data.wanted), comment=data.comment))

    @post("/{survey_id:uuid}/close", opt={"permission": Perm.AUTHENTICATED}, status_code=200)
    async def close(self, survey_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.SurveyOut:
        return survey_out(await service.close_survey(principal, survey_id))


ROUTES = [AgreementController, OrderOpsController, ReviewController, SurveyController]
