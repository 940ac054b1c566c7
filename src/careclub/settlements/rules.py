"""The settlement rules as pure functions: kinds of forms and what approves them, the fee with its
rounding, months and due dates, the evidence a payment cites. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from careclub.core.errors import AppError, ValidationFailed
from careclub.core.i18n import N_

STAGES = ("pre_move_in", "post_move_in")
STAGE_NAMES = {"pre_move_in": N_("before move-in"), "post_move_in": N_("after move-in")}
COST_TYPES = ("staff", "admin", "purchase", "special")
COST_TYPE_NAMES = {
    "staff": N_("staff positions and cost"),
    "admin": N_("administration costs"),
    "purchase": N_("purchases"),
    "special": N_("special work"),
}
# The guide's forms, by cost type: what a payment cites as its evidence ("2026-11 物业采购申请表 第7项").
FORM_NAMES = {
    "staff": "物业人员岗位配置表",
    "admin": "物业行政管理费用支出表",
    "purchase": "物业采购申请表",
    "special": "物业服务工作确认单",
}
KINDS = ("annual", "monthly", "unplanned", "proxy_purchase", "sales_office", "addition")
KIND_NAMES = {
    "annual": N_("annual workload budget"),
    "monthly": N_("monthly budget"),
    "unplanned": N_("unplanned work"),
    "proxy_purchase": N_("purchase on the developer's behalf"),
    "sales_office": N_("sales-office consumables"),
    "addition": N_("budget addition"),
}
KIND_CODES = {"annual": "ANN", "monthly": "M", "unplanned": "UNP", "proxy_purchase": "PXY",
              "sales_office": "SO", "addition": "ADD"}
TYPE_CODES = {"staff": "STF", "admin": "ADM", "purchase": "PUR", "special": "SPC"}
# Forms whose lines all carry the form's own cost type; the annual budget's lines carry their own.
ONE_TYPE_KINDS = ("monthly", "unplanned", "proxy_purchase", "sales_office", "addition")
# Who decides a form: the approval core's subject type, and the category its policy's rules read.
SUBJECT_BUDGET = "property_budget"  # annual and monthly budgets: category annual / the stage
SUBJECT_WORK = "property_work"  # unplanned work (by stage), proxy purchases, sales-office consumables
SUBJECT_ADDITION = "budget_addition"  # additions and settlements above budget: the regional head decides
SUBJECT_SETTLEMENT = "property_settlement"  # the month's settlement: the countersign chain, by stage
INVOLVEMENT_STAGES = ("planning", "marketing", "construction", "handover", "move_in")
INVOLVEMENT_STAGE_NAMES = {
    "planning": N_("planning and design review"),
    "marketing": N_("marketing support"),
    "construction": N_("construction"),
    "handover": N_("handover inspection"),
    "move_in": N_("mass move-in"),
}
MIN_HANDOVER_INSPECTIONS = 2  # §3.1.4 7): a project is inspected at least twice before it is taken over
BUDGET_EDITABLE = ("draft", "returned")
MAX_LINES = 200


def approval_route(kind: str, stage: str) -> tuple[str, str]:
    """(subject type, category) a form of `kind` for work at `stage` is approved under."""
    if kind == "annual":
        return SUBJECT_BUDGET, "annual"
    if kind == "monthly":
        return SUBJECT_BUDGET, stage
    if kind == "unplanned":
        return SUBJECT_WORK, f"unplanned_{stage}"
    if kind in ("proxy_purchase", "sales_office"):
        return SUBJECT_WORK, kind
    return SUBJECT_ADDITION, "addition"


def settlement_category(stage: str, confirmed_cost: int, budget_total: int) -> str:
    """A settlement above the month's approved budget goes to the regional head (§3.2.6.2)."""
    return "over_budget" if confirmed_cost > budget_total else stage


def management_fee(confirmed_cost: int, rate_bp: int) -> int:
    """The fee in fen: cost × rate, rounded half up to the fen (half away from zero for a negative month,
    so a correction and its reversal cancel exactly). Integer arithmetic only."""
    if confirmed_cost < 0:
        return -management_fee(-confirmed_cost, rate_bp)
    return (confirmed_cost * rate_bp + 5000) // 10000


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def due_on(month: date, due_day: int) -> date:
    """A month's settlement is approved by `due_day` of the next month (the 22nd in the guide)."""
    return next_month(month).replace(day=due_day)


def parse_month(text: str, *, field: str = "month") -> date:
    """'2026-11' -> 2026-11-01."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except (ValueError, AttributeError):
        raise ValidationFailed("%(field)s must be a month like 2026-11", field=field, code="invalid_month",
                               params={"field": field}) from None


def month_text(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def budget_number(kind: str, cost_type: str | None, month: date, sequence: int) -> str:
    """'2026-11-M-PUR-01': month, kind, type and the project's running number, readable when cited."""
    parts = [month_text(month), KIND_CODES[kind]]
    if cost_type and kind != "annual":
        parts.append(TYPE_CODES[cost_type])
    return "-".join([*parts, f"{sequence:02d}"])


def evidence(month: date, cost_type: str, number: str, line_no: int) -> str:
    """What a payment cites: the form and line it belongs to (§3.2.5 1): "2026年11月物业采购申请表第7项")."""
    return f"{month.year}年{month.month}月{FORM_NAMES[cost_type]}第{line_no}项 ({number})"


@dataclass(frozen=True)
class LineIn:
    description: str
    amount: int
    cost_type: str | None = None
    quantity: str = ""


def check_title(title: str) -> list[AppError]:
    if not title.strip() or len(title.strip()) > 200:
        return [ValidationFailed("title is required (at most 200 characters)", field="title", code="invalid_title")]
    return []


def check_form(kind: str, cost_type: str | None, lines: list[LineIn]) -> list[AppError]:
    """Every problem of a budget form at once, each naming its field."""
    problems: list[AppError] = []
    if kind not in KINDS:
        problems.append(ValidationFailed("kind must be one of %(choices)s", field="kind", code="invalid_choice",
                                         params={"choices": ", ".join(KINDS)}))
    if kind in ONE_TYPE_KINDS and cost_type not in COST_TYPES:
        problems.append(ValidationFailed("cost_type must be one of %(choices)s", field="cost_type",
                                         code="invalid_choice", params={"choices": ", ".join(COST_TYPES)}))
    if not lines:
        problems.append(ValidationFailed("a budget needs at least one line", field="lines", code="no_lines"))
    if len(lines) > MAX_LINES:
        problems.append(ValidationFailed("a budget has at most %(max)s lines", field="lines", code="too_many_lines",
                                         params={"max": MAX_LINES}))
    for i, line in enumerate(lines[:MAX_LINES]):
        where = f"lines[{i}]"
        if not line.description.strip():
            problems.append(ValidationFailed("%(field)s: say what the line is for", field=f"{where}.description",
                                             code="line_description", params={"field": f"{where}.description"}))
        if line.amount <= 0:
            problems.append(ValidationFailed("%(field)s must be more than zero", field=f"{where}.amount",
                                             code="line_amount", params={"field": f"{where}.amount"}))
        if kind == "annual" and line.cost_type not in COST_TYPES:
            problems.append(ValidationFailed("%(field)s must be one of %(choices)s", field=f"{where}.cost_type",
                                             code="invalid_choice",
                                             params={"field": f"{where}.cost_type", "choices": ", ".join(COST_TYPES)}))
    return problems
