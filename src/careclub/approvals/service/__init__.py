"""The approval service: the only code that writes the approval tables.

Other domains use `register_subject` once (at import) and `open_request` when something needs
approving; the approval core calls their callbacks back when a request ends.
"""

from careclub.approvals.service._inbox import (
    OUTBOX_STATUSES,
    notifications,
    outbox_page,
    outbox_status,
    read_all,
    read_notification,
    unread_count,
)
from careclub.approvals.service._lists import outbox_rows, requests_of
from careclub.approvals.service._notify import local_time, notify, queue_email, send_outbox
from careclub.approvals.service._policies import (
    apply_body,
    apply_policy,
    current_policy,
    editor_choices,
    list_bodies,
    list_policies,
    policy_covers,
    policy_problems,
    policy_version,
    preview,
    spec_of,
    validate_policy,
)
from careclub.approvals.service._requests import (
    decide,
    open_request,
    register_subject,
    registered_subjects,
    resubmit,
    withdraw,
)
from careclub.approvals.service._work import (
    agenda,
    delegate,
    delegations,
    detail,
    meetings,
    my_requests,
    pending_count,
    pending_tasks,
    record_minutes,
    revoke_delegation,
    sweep_deadlines,
    visible_request,
)

__all__ = [
    "OUTBOX_STATUSES",
    "agenda",
    "apply_body",
    "apply_policy",
    "current_policy",
    "decide",
    "delegate",
    "delegations",
    "detail",
    "editor_choices",
    "list_bodies",
    "list_policies",
    "local_time",
    "meetings",
    "my_requests",
    "notifications",
    "notify",
    "open_request",
    "outbox_page",
    "outbox_rows",
    "outbox_status",
    "pending_count",
    "pending_tasks",
    "policy_covers",
    "policy_problems",
    "policy_version",
    "preview",
    "queue_email",
    "read_all",
    "read_notification",
    "record_minutes",
    "register_subject",
    "registered_subjects",
    "requests_of",
    "resubmit",
    "revoke_delegation",
    "send_outbox",
    "spec_of",
    "sweep_deadlines",
    "unread_count",
    "validate_policy",
    "visible_request",
    "withdraw",
]
