"""Accruals on a page: the rules (money a source owes a fund as a rate of a base it reports each period),
their periods with what is due, paid and overdue, and the forms finance uses — a rule created or changed,
a period's base entered, a payment recorded against a period, bases imported from an xlsx or CSV file.

Rules and periods follow their fund code, as in the API: they are shown to those who may see the code's
latest fund, and run by those whose finance rights cover its unit (else 404, as if absent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template

from careclub.core.error_messages import error_text, form_errors
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped, parse_typed
from careclub.core.paging import next_after
from careclub.core.principal import Principal
from careclub.funds import rules, service
from careclub.funds.views_common import funds_page, period_label, refused_status, typed_day, whole
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, as_uuid, clean, keyset_pages, me
from careclub.web.imports import MAX_BYTES as IMPORT_MAX_BYTES
from careclub.web.imports import RowProblem, RowsRefused

Filter = Annotated[str | None, QueryParameter(max_length=120)]
RULE_FIELDS = ("fund_code", "code", "name", "rate_bp", "period", "due_day", "source", "base_label", "active")
# The service names its fields after the API's; on this page each form's fields have names of their own.
BASE_RENAME = {"rule": "base_rule", "period": "base_period", "base": "base"}
PAY_RENAME = {"period": "pay_period", "amount": "amount", "paid_on": "paid_on"}
PER_PAGE = 50
PAY_CHOICES = 200  # the payment form's periods with money outstanding, the latest first
COLUMN_LABELS = {"rule": N_("Rule code"), "period": N_("Period"), "base": N_("Base"), "file": N_("File")}


@dataclass
class ImportForm:
    file: UploadFile | None = None
    valid_only: str = ""


async def _managed_codes(principal: Principal) -> set[str]:
    return await service.codes_visible(principal, Perm.FINANCE_MANAGE) if principal.can(Perm.FINANCE_MANAGE) else set()


def _pay_choice(period: dict[str, Any]) -> str:
    """A period in the payment form's list: its rule and label, fund, and what is still to come."""
    left = _("outstanding %(amount)s") % {"amount": format_grouped(period["amount"] - period["paid"])}
    return f"{period['rule_code']} {period['label']} · {period['fund_code']} {period['fund_year']} · {left}"


async def _payable(managed: set[str], chosen: str | None) -> list[dict[str, Any]]:
    """The periods the payment form offers: those with money outstanding, the latest `PAY_CHOICES` (and the
    one a period's "Record a payment" chose, however old)."""
    if not managed:
        return []
    rows, _total, _more = await service.period_page(codes=managed, payable_only=True, limit=PAY_CHOICES)
    period_id = as_uuid(chosen)
    if period_id is not None and all(p["id"] != period_id for p in rows):
        try:
            period = await service.get_period(period_id)
        except NotFound:
            return rows
        if period["fund_code"] in managed and period["amount"] > period["paid"]:
            rows.append(period)
    return rows


async def _page(request: Request[Any, Any, Any], *, status_code: int = 200, errors: dict[str, str] | None = None,
                form: dict[str, str] | None = None, notice: str | None = None, overdue: bool = False,
                fund_code: str = "", problems: list[RowProblem] | None = None,
                open_form: str | None = None, after: str | None = None) -> Template:
    principal = me(request)
    readable = await service.codes_visible(principal)
    managed = await _managed_codes(principal)
    codes: dict[str, str] = {}
    for f in sorted(await service.list_funds(None), key=lambda f: f["year"]):
        if f["code"] in readable:
            codes[f["code"]] = f["name"]  # the latest year's name
    rules_ = [r for r in await service.list_rules() if r["fund_code"] in readable]
    periods, total, more = await service.period_page(codes=readable, fund_code=fund_code or None,
                                                     overdue_only=overdue, after=after, limit=PER_PAGE + 1)
    periods, cursor = next_after(periods, PER_PAGE, service.period_cursor)
    pages = keyset_pages({"fund_code": fund_code, "overdue": "1" if overdue else ""}, after, cursor, total, more)
    payable = await _payable(managed, (form or {}).get("pay_period"))
    today = await service.today()
    defaults = {"period": "quarter", "due_day": "20", "active": "1", "paid_on": today.isoformat()}
    shown_problems = [{"row": p.row, "column": _(COLUMN_LABELS[p.field]) if p.field in COLUMN_LABELS else p.field,
                       "message": error_text(p.error)} for p in problems or []]
    return funds_page(request, "funds/accruals.html", status_code=status_code, rules=rules_, periods=periods,
                      total_text=pages["total_text"], total=total, newest=pages["newest"], older=pages["older"],
                      fund_options=[(c, f"{c} · {n}") for c, n in sorted(codes.items())],
                      managed_options=[(c, f"{c} · {n}") for c, n in sorted(codes.items()) if c in managed],
                      managed=managed,
                      rule_options=[(str(r["id"]), f"{r['fund_code']} · {r['code']} · {r['name']}")
                                    for r in rules_ if r["active"] and r["fund_code"] in managed],
                      pay_options=[(str(p["id"]), _pay_choice(p)) for p in payable],
                      errors=errors or {},
                      form={**defaults, **(form or {})}, notice=notice, overdue=overdue, fund_code=fund_code,
                      managing=bool(managed), problems=shown_problems, open_form=open_form,
                      period_choices=[(p, period_label(p)) for p in rules.PERIODS],
                      rate_hint=_("1 basis point = 0.01 %: 5 = 0.05 %, 100 = 1 %."))


@get("/funds/accruals", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def accruals(request: Request[Any, Any, Any], overdue: Filter = None, fund_code: Filter = None,
                   rule: Filter = None, pay: Filter = None, done: Filter = None, after: Filter = None) -> Template:
    """Rules and periods; `?overdue=1` only periods past their due date with money outstanding, `?rule=` fills
    the rule form to change that rule, `?pay=` chooses the period in the payment form. The periods come
    `PER_PAGE` at a time, the latest first ("Older" follows the last: `?after=`)."""
    notices = {"rule": _("The accrual rule is saved."), "base": _("The base is entered and the accrual posted."),
               "paid": _("The payment is recorded against the period.")}
    form: dict[str, str] = {}
    open_form = None
    rule_id = as_uuid(rule)
    if rule_id is not None:
        try:
            row = await service.get_rule(rule_id)
        except NotFound:
            row = None
        if row is not None and row["fund_code"] in await _managed_codes(me(request)):
            form.update({f: str(row[f]) for f in RULE_FIELDS if f != "active"})
            form["active"] = "1" if row["active"] else ""
            open_form = "rule"
    if as_uuid(pay) is not None:
        form["pay_period"] = str(as_uuid(pay))
        open_form = "pay"
    return await _page(request, form=form, notice=notices.get(done or ""), overdue=bool(overdue),
                       fund_code=(fund_code or "").strip()[:32], open_form=open_form, after=after)


@post("/funds/accruals/rules", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def rule_save(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Create a rule, or change the one with this fund code and code (of a fund the person manages)."""
    form = clean(data, *RULE_FIELDS)
    errors: dict[str, str] = {}
    status = 422
    try:
        await service.save_rule(fund_code=form["fund_code"], code=form["code"], name=form["name"],
                                rate_bp=whole(form["rate_bp"], 0), period=form["period"],
                                due_day=whole(form["due_day"], 0), source=form["source"],
                                base_label=form["base_label"], active=bool(form["active"]))
    except AppError as exc:
        errors, status = form_errors(exc, RULE_FIELDS), refused_status(exc)
    if form["fund_code"] not in await _managed_codes(me(request)) and "fund_code" not in errors:
        errors["fund_code"] = _("Choose one of the funds you manage.")  # the answer's status undoes the save
    if errors:
        return await _page(request, status_code=status, form=form, open_form="rule", errors=errors)
    return Redirect("/funds/accruals?done=rule", status_code=303)


@post("/funds/accruals/bases", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def base_enter(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """The base a source reported for a finished period: posts (or re-posts) the period's accrual."""
    principal = me(request)
    form = clean(data, "base_rule", "base_period", "base")
    fields = ("base_rule", "base_period", "base")
    errors: dict[str, str] = {}
    rule_id = as_uuid(form["base_rule"])
    if rule_id is None:
        errors["base_rule"] = _("Choose a rule.")
    elif (await service.get_rule(rule_id))["fund_code"] not in await _managed_codes(principal):
        raise NotFound("no such accrual rule", code="accrual_rule_not_found")
    base = 0
    try:
        base = parse_typed(form["base"], field="base")
    except AppError as exc:
        errors.update(form_errors(exc, fields, BASE_RENAME))
    if not form["base_period"]:
        errors["base_period"] = _("Type the period, like 2026Q1.")
    if not errors and rule_id is not None:
        try:
            await service.enter_base(rule_id, form["base_period"], base, entered_by=principal.user_id)
        except NotFound as exc:
            if exc.code == "accrual_rule_not_found":
                raise  # a rule of no one's: 404, as in the API
            return await _page(request, status_code=422, form=form, open_form="base",
                               errors=form_errors(exc, fields, BASE_RENAME))
        except AppError as exc:
            return await _page(request, status_code=refused_status(exc), form=form, open_form="base",
                               errors=form_errors(exc, fields, BASE_RENAME))
    if errors:
        return await _page(request, status_code=422, form=form, errors=errors, open_form="base")
    return Redirect("/funds/accruals?done=base", status_code=303)


@post("/funds/accruals/payments", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def payment_record(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Money received against a period's accrual (all or part of what is outstanding)."""
    form = clean(data, "pay_period", "amount", "paid_on")
    fields = ("pay_period", "amount", "paid_on")
    errors: dict[str, str] = {}
    period_id = as_uuid(form["pay_period"])
    if period_id is None:
        errors["pay_period"] = _("Choose the period the money is for.")
    elif (await service.get_period(period_id))["fund_code"] not in await _managed_codes(me(request)):
        raise NotFound("no such accrual period", code="accrual_period_not_found")
    amount = 0
    try:
        amount = parse_typed(form["amount"], field="amount")
    except AppError as exc:
        errors.update(form_errors(exc, fields, PAY_RENAME))
    paid_on = typed_day(form["paid_on"], "paid_on", errors)
    if paid_on is None and "paid_on" not in errors:
        errors["paid_on"] = _("Choose the day the money arrived.")
    if not errors and period_id is not None and paid_on is not None:
        try:
            await service.record_payment(period_id, amount, paid_on=paid_on)
        except NotFound:
            raise  # a period of no one's: 404, as in the API
        except AppError as exc:
            return await _page(request, status_code=refused_status(exc), form=form, open_form="pay",
                               errors=form_errors(exc, fields, PAY_RENAME))
    if errors:
        return await _page(request, status_code=422, form=form, errors=errors, open_form="pay")
    return Redirect("/funds/accruals?done=paid", status_code=303)


@post("/funds/accruals/import", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False,
      request_max_body_size=IMPORT_MAX_BYTES + 1024 * 1024)
async def bases_import(request: Request[Any, Any, Any],
                       data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    """Bases of many periods from an xlsx or CSV file (rule code, period, base in yuan). With any wrong row
    nothing is entered and every row's problem is listed, unless only the valid rows are to be entered."""
    principal = me(request)
    valid_only = bool(data.valid_only)
    form = {"valid_only": "1" if valid_only else ""}
    try:
        if data.file is None:
            raise AppError("choose an Excel or CSV file", code="validation_failed", status_code=422, field="file")
        result = await service.import_bases(await data.file.read(), valid_only=valid_only,
                                            entered_by=principal.user_id, codes=await _managed_codes(principal))
    except RowsRefused as exc:
        return await _page(request, status_code=422, form=form, problems=exc.problems, open_form="import",
                           errors={"file": error_text(exc)})
    except AppError as exc:
        return await _page(request, status_code=refused_status(exc), form=form, open_form="import",
                           errors=form_errors(exc, ("file",)))
    notice = _("%(entered)s of %(rows)s rows entered.") % {"entered": result["entered"], "rows": result["rows"]}
    return await _page(request, form=form, notice=notice, problems=result["problems"],
                       open_form="import" if result["problems"] else None)


ROUTES: list[Any] = [accruals, rule_save, base_enter, payment_record, bases_import]
