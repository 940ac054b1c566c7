"""The `[catalogue]` section of tenant files: the company's subcontractors and its approved paid services.

    [[catalogue.subcontractors]]  code, name, services, contact_name, contact_phone, contract_from,
                                  contract_until, active
    [[catalogue.items]]           code, name, category, project (org unit code; omitted: every project),
                                  description, standard (what is delivered), delivery_hours,
                                  department (providing org unit code) or subcontractor (its code),
                                  fee_basis = "per_time" | "per_hour" | "per_unit" | "per_m2" | "quoted",
                                  fee = "50.00" (or fee_min / fee_max for a quoted price), unit_label,
                                  prepay_kind = "none" | "prepayment" | "deposit", prepay = "100.00",
                                  long_term, daily_capacity, note
    [[catalogue.agreements]]      number, item (code), unit = "A-101", project (unit's project code),
                                  clerk (e-mail of the staff member who recorded it), contact_name,
                                  contact_phone, terms, every_weeks, weekday (0 Monday … 6 Sunday),
                                  time = "09:00", starts_on, ends_on, quantity, price (per visit)

An item in the file is the company's approved fee standard: it is published as written. Changing its fee
in the file publishes a new version (orders already placed keep the version they were priced by); an
unchanged item is left alone. Items proposed on the pages go through the `service_item` approval policy.
An agreement is matched by its number and written once; one that started before the file was applied has
its visits created from today on."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec

from careclub.catalogue import rules, service
from careclub.catalogue.tables import ServiceItem
from careclub.core.errors import AppError, FieldErrors, ValidationFailed
from careclub.core.money import parse_amount
from careclub.platform.tenant_file import ApplyContext, register_section, with_path


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class SubcontractorSpec(Strict):
    code: str
    name: str
    services: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contract_from: date | None = None
    contract_until: date | None = None
    active: bool = True


class ItemSpec(Strict):
    code: str
    name: str
    category: str = "other"
    project: str | None = None
    description: str = ""
    standard: str = ""
    delivery_hours: Annotated[int, msgspec.Meta(ge=1, le=8784)] | None = None
    department: str | None = None
    subcontractor: str | None = None
    fee_basis: str = "per_time"
    fee: str | None = None
    fee_min: str | None = None
    fee_max: str | None = None
    unit_label: str = ""
    prepay_kind: str = "none"
    prepay: str | None = None
    long_term: bool = False
    daily_capacity: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    note: str = ""


class AgreementSpec(Strict):
    number: str
    item: str
    unit: str
    project: str
    clerk: str
    starts_on: date
    ends_on: date
    contact_name: str = ""
    contact_phone: str = ""
    terms: str = ""
    every_weeks: Annotated[int, msgspec.Meta(ge=1, le=52)] = 1
    weekday: Annotated[int, msgspec.Meta(ge=0, le=6)] = 5
    time: str = "09:00"
    quantity: str = "1"
    price: str | None = None


class CatalogueSection(Strict):
    subcontractors: list[SubcontractorSpec] = []
    items: list[ItemSpec] = []
    agreements: list[AgreementSpec] = []


def _money(text: str | None, path: str, problems: list[ValidationFailed]) -> int | None:
    if text is None:
        return None
    try:
        return parse_amount(text, field=path)
    except ValidationFailed as exc:
        problems.append(exc)
        return None


async def _item(spec: ItemSpec, path: str, ctx: ApplyContext) -> None:
    problems: list[ValidationFailed] = []
    fee = _money(spec.fee, f"{path}.fee", problems)
    fee_min = _money(spec.fee_min, f"{path}.fee_min", problems)
    fee_max = _money(spec.fee_max, f"{path}.fee_max", problems)
    prepay = _money(spec.prepay, f"{path}.prepay", problems)
    if problems:
        raise ValidationFailed("%(field)s: %(message)s", code="tenant_file_invalid", field=problems[0].field,
                               params={"field": problems[0].field, "message": problems[0].message})
    project = await ctx.unit_id(spec.project, path=f"{path}.project") if spec.project else None
    department = await ctx.unit_id(spec.department, path=f"{path}.department") if spec.department else None
    sub = None
    if spec.subcontractor:
        found = await service.by_code(spec.subcontractor)
        if found is None:
            raise ValidationFailed("%(path)s: no subcontractor with code %(code)r", code="tenant_file_invalid",
                                   field=f"{path}.subcontractor", params={"path": f"{path}.subcontractor",
                                                                         "code": spec.subcontractor})
        sub = found["id"]
    version = rules.VersionSpec(
        name=spec.name, description=spec.description, standard=spec.standard, delivery_hours=spec.delivery_hours,
        provider_department=department, subcontractor=sub, fee_basis=spec.fee_basis, fee_amount=fee,
        fee_min=fee_min, fee_max=fee_max, unit_label=spec.unit_label, prepay_kind=spec.prepay_kind,
        prepay_amount=prepay or 0, long_term=spec.long_term, daily_capacity=spec.daily_capacity, note=spec.note)
    if spec.category not in rules.CATEGORIES:
        raise ValidationFailed("%(path)s: category must be one of %(choices)s", code="tenant_file_invalid",
                               field=f"{path}.category", params={"path": f"{path}.category",
                                                                 "choices": ", ".join(rules.CATEGORIES)})
    checked: list[AppError] = await service.check_spec(version)
    if checked:
        await with_path(path, _raise(checked))
    outcome = await with_path(path, service.apply_from_file(code=spec.code, project_id=project,
                                                            category=spec.category, spec=version))
    if outcome != "unchanged":
        ctx.changed(f"catalogue item {spec.code} {outcome}")


async def _raise(problems: list[AppError]) -> None:
    raise FieldErrors(problems)


async def apply(section: CatalogueSection, ctx: ApplyContext) -> None:
    for i, sub in enumerate(section.subcontractors):
        path = f"catalogue.subcontractors[{i}]"
        found = await service.by_code(sub.code)
        fields: dict[str, Any] = {"name": sub.name, "services": sub.services, "contact_name": sub.contact_name,
                  "contact_phone": sub.contact_phone, "contract_from": sub.contract_from,
                  "contract_until": sub.contract_until, "active": sub.active}
        if found is None:
            await with_path(path, service.save_subcontractor(code=sub.code, **fields))
            ctx.changed(f"subcontractor {sub.code} added")
        elif any(found[k] != v for k, v in fields.items()):
            await with_path(path, service.save_subcontractor(code=sub.code, sub_id=found["id"], **fields))
            ctx.changed(f"subcontractor {sub.code} updated")
    for i, item in enumerate(section.items):
        await _item(item, f"catalogue.items[{i}]", ctx)
    for i, agreement in enumerate(section.agreements):
        await _agreement(agreement, f"catalogue.agreements[{i}]", ctx)


async def _agreement(spec: AgreementSpec, path: str, ctx: ApplyContext) -> None:
    if await service.agreement_by_number(spec.number) is not None:
        return
    from careclub.platform import service as platform_service
    from careclub.platform.tables import User
    from careclub.tickets.tables import Building, PropertyUnit

    item = await ServiceItem.select(ServiceItem.id).where(ServiceItem.code == spec.item).first()
    if item is None:
        raise ValidationFailed("%(path)s: no catalogue item with code %(value)r", code="tenant_file_invalid",
                               field=f"{path}.item", params={"path": f"{path}.item", "value": spec.item})
    project = await ctx.unit_id(spec.project, path=f"{path}.project")
    building, _, code = spec.unit.partition("-")
    unit = await PropertyUnit.select(PropertyUnit.id).where(
        PropertyUnit.project_id == project, PropertyUnit.code == code,
        PropertyUnit.building.is_in(Building.select(Building.id).where(Building.code == building,
                                                                       Building.project_id == project))).first()
    if unit is None:
        raise ValidationFailed("%(path)s: no unit %(value)s in the archive of that project",
                               code="tenant_file_invalid", field=f"{path}.unit",
                               params={"path": f"{path}.unit", "value": spec.unit})
    clerk = await User.select(User.id).where(User.email == spec.clerk.strip().lower()).first()
    principal = await platform_service.load_principal(ctx.tenant, clerk["id"]) if clerk else None
    if principal is None:
        raise ValidationFailed("%(path)s: no staff member %(value)s", code="tenant_file_invalid",
                               field=f"{path}.clerk", params={"path": f"{path}.clerk", "value": spec.clerk})
    problems: list[ValidationFailed] = []
    quantity = _money(spec.quantity, f"{path}.quantity", problems)
    price = _money(spec.price, f"{path}.price", problems)
    if problems:
        raise problems[0]
    await with_path(path, service.create_agreement(
        principal, item_id=item["id"], unit_id=unit["id"], contact_name=spec.contact_name,
        contact_phone=spec.contact_phone, terms=spec.terms, every_weeks=spec.every_weeks, weekday=spec.weekday,
        time_of_day=spec.time, starts_on=spec.starts_on, ends_on=spec.ends_on, quantity_centi=quantity or 100,
        price_per_visit=price, number=spec.number, from_file=True))
    ctx.changed(f"agreement {spec.number} added")


register_section("catalogue", CatalogueSection, apply, order=60)
