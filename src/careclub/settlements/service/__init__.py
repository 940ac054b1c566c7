"""The settlements service: the only code that writes the settlement tables. Budget forms and the month's
settlements are approved on the approval core, under the subject types `rules.SUBJECT_*`."""

from careclub.approvals import service as _approvals
from careclub.settlements import rules as _rules
from careclub.settlements.service import _budgets, _settlements
from careclub.settlements.service._budgets import (
    create_budget,
    get_budget,
    line_usage,
    list_budgets,
    submit_budget,
    update_budget,
    withdraw_budget,
)
from careclub.settlements.service._common import (
    parse_rate,
    project_unit,
    rate_text,
    reach,
    set_terms,
    stage_of,
    terms,
)
from careclub.settlements.service._payments import decide_payment, get_payment, list_payments, record_payment
from careclub.settlements.service._projects import (
    get_project,
    list_projects,
    remove_phase,
    set_phase,
    set_project,
    setup_status,
)
from careclub.settlements.service._settlements import (
    add_adjustment,
    compile_settlement,
    get_settlement,
    list_settlements,
    remove_adjustment,
    submit_settlement,
    withdraw_settlement,
)

for _subject in _budgets.SUBJECTS:
    _approvals.register_subject(_subject, on_approved=_budgets.on_approved, on_rejected=_budgets.on_rejected,
                                on_returned=_budgets.on_returned, on_withdrawn=_budgets.on_withdrawn,
                                link=_budgets.budget_link, may_read=_budgets.readable)
_approvals.register_subject(_rules.SUBJECT_SETTLEMENT, on_approved=_settlements.on_approved,
                            on_rejected=_settlements.on_rejected, on_returned=_settlements.on_returned,
                            on_withdrawn=_settlements.on_withdrawn, link=_settlements.settlement_link,
                            may_read=_settlements.readable)

__all__ = [
    "add_adjustment",
    "compile_settlement",
    "create_budget",
    "decide_payment",
    "get_budget",
    "get_payment",
    "get_project",
    "get_settlement",
    "line_usage",
    "list_budgets",
    "list_payments",
    "list_projects",
    "list_settlements",
    "parse_rate",
    "project_unit",
    "rate_text",
    "reach",
    "record_payment",
    "remove_adjustment",
    "remove_phase",
    "set_phase",
    "set_project",
    "set_terms",
    "setup_status",
    "stage_of",
    "submit_budget",
    "submit_settlement",
    "terms",
    "update_budget",
    "withdraw_budget",
    "withdraw_settlement",
]
