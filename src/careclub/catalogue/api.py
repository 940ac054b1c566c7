"""The catalogue API: the contract's `GET /api/v1/catalogue` (published items, for residents, apps and
integrators), and around it the items and their versions, the subcontractors and the service orders.

Who: staff with `catalogue.read` see items and orders in their projects, `catalogue.manage` designs items and
sends them to approval; clerks (`tickets.handle`) register bookings; residents book for their own units and
see their own orders; the cashier (`finance.manage`) settles. Anyone else gets 404 for an order."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from careclub.catalogue import (
    payable,  # noqa: F401  (registers the payables)
    rules,
    schemas,
    service,
)
from careclub.core.errors import AppError, FieldErrors, Forbidden, ValidationFailed
from careclub.core.money import Money, from_money, parse_amount, to_money
from careclub.core.paging import After, decode_cursor, next_after
from careclub.core.principal import Principal
from careclub.platform.api import Limit, PrincipalDep, provide_principal
from careclub.platform.permissions import Perm

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}
Code = Annotated[str | None, QueryParameter(max_length=64, description="an org unit's code")]
Short = Annotated[str | None, QueryParameter(max_length=32)]


def _money(value: int | None, currency: str) -> Money | None:
    return to_money(value, currency) if value is not None else None


def entry(row: dict[str, Any], currency: str) -> schemas.CatalogueEntry:
    quoted = row["fee_basis"] == "quoted"
    fee = row["fee_min"] if quoted else row["fee_amount"]
    return schemas.CatalogueEntry(
        id=row["id"], name=row["name"], category=row["category"], version=row["version"],
        fee=schemas.Fee(amount=to_money(fee or 0, currency).amount, currency=currency,
                        per=rules.FEE_PER[row["fee_basis"]]),
        deposit=_money(row["prepay_amount"], currency) if row["prepay_kind"] != "none" else None,
        fee_max=_money(row["fee_max"], currency) if quoted else None, description=row["description"],
        standard=row["standard"], delivery_hours=row["delivery_hours"], long_term=row["long_term"],
        daily_capacity=row["daily_capacity"], project=row["project_id"])


def version_out(v: dict[str, Any], currency: str) -> schemas.VersionOut:
    return schemas.VersionOut(
        id=v["id"], version=v["version"], status=v["status"], name=v["name"], description=v["description"],
        standard=v["standard"], delivery_hours=v["delivery_hours"], provider_department=v["provider_department"],
        subcontractor=v["subcontractor"], fee_basis=v["fee_basis"], fee=_money(v["fee_amount"], currency),
        fee_min=_money(v["fee_min"], currency), fee_max=_money(v["fee_max"], currency), unit_label=v["unit_label"],
        prepay_kind=v["prepay_kind"], prepay=_money(v["prepay_amount"], currency) if v["prepay_kind"] != "none"
        else None, long_term=v["long_term"], daily_capacity=v["daily_capacity"], note=v["note"],
        approval_request=v["approval_request"], submitted_at=v["submitted_at"], decided_at=v["decided_at"])


def item_out(item: dict[str, Any], currency: str) -> schemas.ItemOut:
    return schemas.ItemOut(id=item["id"], code=item["code"], name=item["name"], category=item["category"],
                           status=item["status"], project=item["project_id"], current_version=item["current_version"],
                           versions=[version_out(v, currency) for v in item["versions"]])


def money_fields(currency: str, problems: list[AppError], **values: Money | None) -> dict[str, int | None]:
    """A body's money fields in minor units (None where absent), parsed together: each bad one goes into
    `problems`, named by its field, so every one is refused at once with the body's other problems."""
    out: dict[str, int | None] = {}
    for name, value in values.items():
        try:
            out[name] = from_money(value, currency=currency, field=name) if value is not None else None
        except ValidationFailed as exc:
            problems.append(exc)
            out[name] = None
    return out


def spec_from(data: schemas.VersionIn, currency: str) -> rules.VersionSpec:
    """The body's money parsed, every problem collected (the service adds its own to the same list)."""
    problems: list[AppError] = []
    amounts = money_fields(currency, problems, fee=data.fee, fee_min=data.fee_min, fee_max=data.fee_max,
                           prepay=data.prepay)
    if problems:
        raise FieldErrors(problems)
    return rules.VersionSpec(
        name=data.name, description=data.description, standard=data.standard, delivery_hours=data.delivery_hours,
        provider_department=data.provider_department, subcontractor=data.subcontractor, fee_basis=data.fee_basis,
        fee_amount=amounts["fee"], fee_min=amounts["fee_min"], fee_max=amounts["fee_max"],
        unit_label=data.unit_label, prepay_kind=data.prepay_kind, prepay_amount=amounts["prepay"] or 0,
        long_term=data.long_term, daily_capacity=data.daily_capacity, note=data.note)


def quantity_centi(text: str, field: str = "quantity") -> int:
    value = parse_amount((text or "").strip(), field=field)
    if value <= 0:
        raise ValidationFailed("the quantity must be above zero and at most 100000", field=field)
    return value


def order_out(order: dict[str, Any]) -> schemas.OrderOut:
    c = order["currency"]
    return schemas.OrderOut(
        id=order["id"], number=order["number"], ticket=order["ticket"], ticket_status=order["ticket_status"],
        item=order["item"], item_version=order["item_version"], version=order["item_version_row"]["version"],
        name=order["name"], status=order["status"], source=order["source"], unit=order["unit"],
        preferred_at=order["preferred_at"], quantity=to_money(order["quantity_centi"], c).amount,
        price=_money(order["price"], c), prepay_kind=order["prepay_kind"],
        prepay=_money(order["prepay_amount"], c) if order["prepay_kind"] != "none" else None,
        prepaid=to_money(order["prepaid"], c), final_amount=_money(order["final_amount"], c),
        balance=to_money(order["balance"], c), refund=to_money(order["refund_due"], c),
        settled_at=order["settled_at"], order_version=order["version"], created_at=order["created_at"],
        payments=[schemas.OrderPayment(id=p["id"], number=p["number"], purpose=p["purpose"],
                                       amount=to_money(p["amount"], p["currency"]),
                                       refunded=to_money(p["refunded_amount"], p["currency"]), status=p["status"],
                                       method=p["method"]) for p in order["payments"]])


def order_summary(row: dict[str, Any]) -> schemas.OrderSummary:
    c = row["currency"]
    unit = f"{row['building_code']}-{row['unit_code']}" if row.get("unit_code") else ""
    return schemas.OrderSummary(id=row["id"], number=row["number"], name=row["name"], status=row["status"],
                                ticket_status=row["ticket_status"], price=_money(row["price"], c),
                                prepaid=to_money(row["prepaid"], c), balance=to_money(row["balance"], c),
                                unit_label=unit, contact_name=row["contact_name"] or "", created_at=row["created_at"])


class CatalogueController(Controller):
    path = "/api/v1/catalogue"
    tags = ["catalogue"]
    dependencies = _P

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def published(self, principal: PrincipalDep, project: Code = None) -> list[schemas.CatalogueEntry]:
        """Published services with the fee standard they are priced by now: a project's (`project`, its org
        unit code), else a resident's own projects', else (staff) every published one."""
        if principal.kind not in ("staff", "member"):
            raise Forbidden("you may not read the catalogue", code="forbidden")
        return [entry(r, principal.tenant.currency) for r in await service.offer_for(principal, project)]

    @get("/items", opt={"permission": Perm.CATALOGUE_READ})
    async def items(self, principal: PrincipalDep, status: Short = None,
                    project: FromQuery[uuid.UUID | None] = None) -> list[schemas.ItemSummary]:
        """Every item the caller's rights reach, published or not, with its newest version."""
        rows = await service.list_items(principal, project_id=project, status=status)
        return [schemas.ItemSummary(id=r["id"], code=r["code"], name=r["name"], category=r["category"],
                                    status=r["status"], project=r["project_id"], project_name=r["project_name"],
                                    version=r["version"], version_status=r["version_status"],
                                    fee_basis=r["fee_basis"]) for r in rows]

    @post("/items", opt={"permission": Perm.CATALOGUE_MANAGE}, status_code=201)
    async def create(self, data: JSONBody[schemas.ItemCreate], principal: PrincipalDep) -> schemas.ItemOut:
        """A new service with its first version as a draft; nothing is offered before it is approved."""
        item = await service.create_item(principal, code=data.code, project_id=data.project,
                                         category=data.category, spec=spec_from(data, principal.tenant.currency))
        return item_out(item, principal.tenant.currency)

    @get("/items/{item_id:uuid}", opt={"permission": Perm.CATALOGUE_READ})
    async def item(self, item_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.ItemOut:
        return item_out(await service.get_item(principal, item_id), principal.tenant.currency)

    @put("/items/{item_id:uuid}/draft", opt={"permission": Perm.CATALOGUE_MANAGE})
    async def draft(self, item_id: FromPath[uuid.UUID], data: JSONBody[schemas.VersionIn],
                    principal: PrincipalDep) -> schemas.ItemOut:
        """Write the item's draft: a new fee standard starts a new version; the approved one serves meanwhile."""
        item = await service.save_draft(principal, item_id, spec_from(data, principal.tenant.currency))
        return item_out(item, principal.tenant.currency)

    @post("/items/{item_id:uuid}/submit", opt={"permission": Perm.CATALOGUE_MANAGE}, status_code=200)
    async def submit(self, item_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.ItemOut:
        """Send the draft to approval (the company's `service_item` policy); approved, it is published."""
        return item_out(await service.submit(principal, item_id), principal.tenant.currency)

    @get("/subcontractors", opt={"permission": Perm.CATALOGUE_READ})
    async def subcontractors(self) -> list[schemas.SubcontractorOut]:
        return [_sub_out(r) for r in await service.list_subcontractors()]

    @post("/subcontractors", opt={"permission": Perm.CATALOGUE_MANAGE}, status_code=201)
    async def add_subcontractor(self, data: JSONBody[schemas.SubcontractorIn],
                                principal: PrincipalDep) -> schemas.SubcontractorOut:
        """The register is the company's: writing it takes `catalogue.manage` at the company."""
        company_manager(principal)
        return _sub_out(await service.save_subcontractor(**msgspec.structs.asdict(data)))

    @put("/subcontractors/{sub_id:uuid}", opt={"permission": Perm.CATALOGUE_MANAGE})
    async def change_subcontractor(self, sub_id: FromPath[uuid.UUID], data: JSONBody[schemas.SubcontractorIn],
                                   principal: PrincipalDep) -> schemas.SubcontractorOut:
        company_manager(principal)
        return _sub_out(await service.save_subcontractor(sub_id=sub_id, **msgspec.structs.asdict(data)))


def company_manager(principal: Principal) -> None:
    if not principal.covers(Perm.CATALOGUE_MANAGE, None):
        raise Forbidden("the subcontractor register is kept by those who manage services for the whole company",
                        code="forbidden")


def _sub_out(r: dict[str, Any]) -> schemas.SubcontractorOut:
    return schemas.SubcontractorOut(id=r["id"], code=r["code"], name=r["name"], services=r["services"],
                                    contact_name=r["contact_name"], contact_phone=r["contact_phone"],
                                    contract_from=r["contract_from"], contract_until=r["contract_until"],
                                    active=r["active"])


class OrderController(Controller):
    path = "/api/v1/service-orders"
    tags = ["catalogue"]
    dependencies = _P

    @post("", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def book(self, data: JSONBody[schemas.OrderCreate], principal: PrincipalDep) -> schemas.OrderOut:
        """Book a published service: a resident for one of his own units, a clerk from a phone call or at the
        desk. 409 `fully_booked` when the chosen day's places are taken."""
        if principal.kind not in ("staff", "member") or (principal.kind == "staff"
                                                          and not principal.can(Perm.TICKETS_HANDLE)):
            raise Forbidden("you may not book services", code="forbidden")
        order = await service.book(principal, item_id=data.item, unit_id=data.unit, person_id=data.person,
                                   contact_name=data.contact_name, contact_phone=data.contact_phone,
                                   preferred_at=data.preferred_at, quantity_centi=quantity_centi(data.quantity),
                                   note=data.note, source=data.source or "", project_id=data.project)
        return order_out(order)

    @get("", opt={"permission": Perm.AUTHENTICATED})
    async def list_orders(self, principal: PrincipalDep, status: Short = None,
                          item: FromQuery[uuid.UUID | None] = None, unsettled: FromQuery[bool] = False,
                          q: Annotated[str | None, QueryParameter(max_length=60)] = None, after: After = None,
                          limit: Limit = 50) -> schemas.OrderList:
        """Staff: orders in their projects, newest first (`unsettled`: resolved work with no settlement); a
        resident: his own and his units' orders."""
        if principal.kind == "member":
            rows = await service.my_orders(principal, limit=limit)
            return schemas.OrderList(items=[order_summary(r | {"contact_name": "", "unit_code": None})
                                            for r in rows], total=len(rows), limit=limit, offset=0, next_after=None)
        if status is not None and status not in rules.ORDER_STATUSES:
            raise ValidationFailed("status must be one of %(choices)s", field="status",
                                   params={"choices": ", ".join(rules.ORDER_STATUSES)})
        rows = await service.list_orders(principal, status=status, item_id=item, unsettled=unsettled, q=q or "",
                                         after=decode_cursor(after), limit=limit + 1)
        page, cursor = next_after(rows, limit)
        return schemas.OrderList(items=[order_summary(r) for r in page], total=len(page), limit=limit, offset=0,
                                 next_after=cursor)

    @get("/{order_id:uuid}", opt={"permission": Perm.AUTHENTICATED})
    async def get_order(self, order_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.OrderOut:
        return order_out(await service.get_order(principal, order_id))

    @post("/{order_id:uuid}/settlement", opt={"permission": Perm.FINANCE_MANAGE}, status_code=200)
    async def settle(self, order_id: FromPath[uuid.UUID], data: JSONBody[schemas.SettlementCreate],
                     principal: PrincipalDep) -> schemas.OrderOut:
        """The cashier settles a signed-off order: the final charge against what was paid on account; the
        surplus is refunded, a balance is then collected as a payment (`service_balance`)."""
        problems: list[AppError] = []
        quantity = None
        try:
            quantity = quantity_centi(data.quantity) if data.quantity is not None else None
        except ValidationFailed as exc:
            problems.append(exc)
        final = money_fields(principal.tenant.currency, problems, final_amount=data.final_amount)["final_amount"]
        if problems:
            raise FieldErrors(problems)
        order = await service.settle(principal, order_id, quantity_centi=quantity, final_amount=final,
                                     expected_version=data.expected_version, note=data.note)
        return order_out(order)


ROUTES = [CatalogueController, OrderController]
