"""The catalogue service: the only code that writes the catalogue tables. Items and their versions go
through the approval core (`service_item`); orders are tickets of the ticket core's `service_order` type;
their money goes through payments (`service_prepay`, `service_balance`, registered in catalogue.payable)."""

from careclub.approvals import service as _approvals
from careclub.catalogue.service._agreements import (
    agreement_by_number,
    create_agreement,
    create_due_visits,
    end_agreement,
    get_agreement,
    list_agreements,
)
from careclub.catalogue.service._items import (
    SUBJECT,
    apply_from_file,
    check_spec,
    create_item,
    get_item,
    get_version,
    list_items,
    offer_for,
    published,
    resident_projects,
    save_draft,
    spec_of,
    submit,
    unit_paths,
)
from careclub.catalogue.service._orders import (
    BALANCE,
    PREPAY,
    book,
    get_order,
    list_orders,
    my_orders,
    settle,
    slots_left,
    today,
)
from careclub.catalogue.service._reviews import (
    DECISION_NAMES,
    DECISIONS,
    REVIEW_STATUS_NAMES,
    complain,
    decide_review,
    get_review,
    item_figures,
    list_reviews,
    quality,
    raise_loss_tasks,
    record_costs,
    work_minutes,
)
from careclub.catalogue.service._subcontractors import (
    by_code,
    get_subcontractor,
    link_user,
    list_subcontractors,
    save_subcontractor,
    subcontractor_of,
    unlink_user,
    users_of,
)
from careclub.catalogue.service._surveys import (
    answer,
    close_survey,
    create_survey,
    get_survey,
    list_surveys,
    tallies_for_item,
)
from careclub.tickets import service as _tickets

__all__ = [
    "BALANCE",
    "DECISIONS",
    "DECISION_NAMES",
    "PREPAY",
    "REVIEW_STATUS_NAMES",
    "SUBJECT",
    "agreement_by_number",
    "answer",
    "apply_from_file",
    "book",
    "by_code",
    "check_spec",
    "close_survey",
    "complain",
    "create_agreement",
    "create_due_visits",
    "create_item",
    "create_survey",
    "decide_review",
    "end_agreement",
    "get_agreement",
    "get_item",
    "get_order",
    "get_review",
    "get_subcontractor",
    "get_survey",
    "get_version",
    "item_figures",
    "link_user",
    "list_agreements",
    "list_items",
    "list_orders",
    "list_reviews",
    "list_subcontractors",
    "list_surveys",
    "my_orders",
    "offer_for",
    "published",
    "quality",
    "raise_loss_tasks",
    "record_costs",
    "resident_projects",
    "save_draft",
    "save_subcontractor",
    "settle",
    "slots_left",
    "spec_of",
    "subcontractor_of",
    "submit",
    "tallies_for_item",
    "today",
    "unit_paths",
    "unlink_user",
    "users_of",
    "work_minutes",
]


def _register() -> None:
    from careclub.catalogue.service import _items, _orders, _subcontractors

    _approvals.register_subject(SUBJECT, on_approved=_items.on_approved, on_rejected=_items.on_rejected,
                                on_returned=_items.on_returned, on_withdrawn=_items.on_withdrawn,
                                link=_link)
    _tickets.register_guard("service_order", _orders.guard)
    _tickets.register_follower("service_order", _orders.follow)
    _tickets.register_actor_source(_subcontractors.subcontractor_actors)


def _link(subject_id: str) -> str:
    if subject_id.startswith("stop:"):
        return f"/catalogue/reviews/{subject_id[5:]}"
    return f"/catalogue/versions/{subject_id}"


_register()
