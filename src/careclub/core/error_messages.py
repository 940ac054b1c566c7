"""What an error page says, in the reader's language.

Service messages often carry variable parts ("the slug 'x' is already taken"), so gettext has no entry
for them. A page then falls back to wording chosen by the error's stable `code`, and failing that by
the HTTP status. The API keeps its English messages and codes; this module is for pages only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from careclub.core.errors import AppError, each_error
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _

# One entry per `code` the application raises (grep `code="` and the AppError subclasses). Worded for a
# page of its own, not for a message beside a form field.
CODE_MESSAGES: dict[str, str] = {
    # core/errors.py defaults and core/http.py. "bad_request" is left to the status: core/http.py gives it
    # to any 4xx it has no better code for (413, 415, ...), where the status says more.
    "validation_failed": N_("Some of what was sent is not valid. Go back, check it and try again."),
    "not_found": N_("Nothing here: the page or record does not exist, or you cannot see it."),
    "conflict": N_("This clashes with something that exists already or changed meanwhile. Reload and try again."),
    "unauthorized": N_("Please sign in first."),
    "not_authenticated": N_("Please sign in first."),
    "forbidden": N_("Your roles do not allow this. Ask an administrator of your company for access."),
    "rate_limited": N_("Too many attempts. Please wait a moment and try again."),
    "too_many_requests": N_("Too many attempts. Please wait a moment and try again."),
    "method_not_allowed": N_("This action is not available here."),
    "csrf_failed": N_("The form expired or did not come from this site. Reload the page and try again."),
    "internal_error": N_("Something went wrong on our side. It has been logged; please try again later."),
    # bad input refused where it is born (core/input_guard.py, core/db.py, core/http.py)
    "nul_character": N_("A value holds an invisible control character (NUL) that cannot be stored. Remove it and "
                        "try again."),
    "too_long": N_("A value is longer than its field allows. Shorten it and try again."),
    "out_of_range": N_("A number is outside the range its field allows."),
    "invalid_value": N_("A value is not valid for its field."),
    "invalid_json": N_("The request is not valid JSON."),
    "too_deeply_nested": N_("The request is nested too deeply to be read."),
    "payload_too_large": N_("What was sent is too large."),
    # platform
    "invalid_credentials": N_("The company, email or password is not right."),
    "slug_taken": N_("This short name is taken already; choose another."),
    "slug_reserved": N_("This short name is reserved; choose another."),
    "tenant_file_invalid": N_("The tenant file is not valid."),
    "tenant_not_found": N_("No such company."),
    "unknown_time_zone": N_("Choose a time zone from the list."),
    "currency_in_use": N_("Money has been recorded in this currency, so it stays as it is."),
    "org_unit_not_found": N_("No such org unit."),
    "org_unit_code_taken": N_("An org unit with this code exists already."),
    "org_unit_is_root": N_("The company root unit cannot be deleted."),
    "org_unit_not_empty": N_("The unit still has child units, people or role grants; move or remove them first."),
    "email_taken": N_("Someone with this email exists already."),
    "role_not_found": N_("No such role."),
    "role_code_taken": N_("A role with this code exists already."),
    "role_is_builtin": N_("Built-in roles keep their permissions; create a role of your own instead."),
    "role_in_use": N_("People still hold this role."),
    "user_not_found": N_("No such person."),
    "grant_not_found": N_("No such role grant."),
    "token_not_found": N_("No such token."),
    "invite_not_found": N_("This invitation link is not valid."),
    "invite_used": N_("This invitation has been used already."),
    "invite_expired": N_("This invitation has expired; ask for a new one."),
    "reset_link_not_found": N_("This password-reset link is not valid. Ask for a new one."),
    "reset_link_used": N_("This password-reset link has been used already. Ask for a new one if you need to."),
    "reset_link_expired": N_("This password-reset link has expired; ask for a new one."),
    "password_too_short": N_("The password must be at least 10 characters long."),
    "password_too_common": N_("This password is one of the most common ones and easy to guess; choose another."),
    # payments
    "online_payments_unavailable": N_("This company does not take online payments yet. Please pay at its office."),
    "payment_provider_unavailable": N_("The payment service did not answer. Please try again in a moment."),
    "already_paid": N_("This is paid already."),
    "payment_not_found": N_("No such payment."),
    "payment_state_conflict": N_("The payment's state does not allow this. Reload the page and check it."),
    "bad_signature": N_("The event's signature is not valid."),
    "auto_renewal_on": N_("Automatic renewal is on already."),
    "unsupported_file": N_("Only photos (JPEG, PNG, WebP) and PDF documents can be attached."),
    "attachment_not_found": N_("No such file."),
    "auto_renewal_off": N_("Automatic renewal is not on."),
    "auto_renewal_unavailable": N_("This plan does not renew automatically."),
    # clubs
    "card_closed": N_("This card is cancelled or replaced: a payment cannot renew it."),
    "club_not_found": N_("No such club."),
    "club_code_taken": N_("A club with this code exists already."),
    "projection_invalid": N_("Projected new members a month must be a whole number, 0 or more, or empty."),
    "plan_not_found": N_("No such plan."),
    "plan_code_taken": N_("A plan with this code exists already."),
    "merchant_not_found": N_("No such merchant."),
    "merchant_code_taken": N_("A merchant with this code exists already."),
    "benefit_not_found": N_("No such benefit."),
    "benefit_code_taken": N_("A benefit with this code exists already."),
    "benefit_not_offered": N_("This merchant does not offer that benefit."),
    "member_not_found": N_("No such member."),
    "member_has_account": N_("This member has an account already."),
    "card_not_found": N_("No such card."),
    "awaiting_approval": N_("This card waits for its application's approval; the decision activates it."),
    "card_state_conflict": N_("The card's state does not allow this. Reload the page and check the card."),
    "card_inactive": N_("This card is not active, so it has no QR code."),
    "static_card_not_allowed": N_("This plan has no printable static card."),
    "vehicle_taken": N_("This vehicle is registered already."),
    "vehicle_not_found": N_("No such vehicle of this member."),
    "vehicle_has_card": N_("This vehicle already has a card in this club (one car, one member)."),
    "period_not_found": N_("No such membership period."),
    "sign_in_to_apply": N_("Applications for this plan need approval: sign in (or register) as a member to apply."),
    "key_busy": N_("The signing key is being created; try again in a moment."),
    "signing_key_not_found": N_("No such signing key."),
    "not_a_merchant_operator": N_("You are not the operator of a merchant."),
    "operator_role_missing": N_("This person holds no role that may scan member cards: grant the merchant operator "
                                "role first."),
    "operator_not_found": N_("This person is not an operator of this merchant."),
    "bad_amount": N_("The bill amount must be an amount in yuan, like 100 or 1,314.50."),
    "invite_action_unknown": N_("This invitation cannot be honoured any more; ask for a new one."),
    # approvals
    "approval_request_not_found": N_("No such approval request."),
    "approval_step_not_found": N_("No such step in this request."),
    "approval_policy_not_found": N_("No such approval policy."),
    "approval_policy_missing": N_("Plans that need approval need an approval policy for member applications first. "
                                  "An administrator sets it up under Approval policies."),
    "policy_incomplete": N_("The approval policy does not cover every case; complete it and save again."),
    "policy_without_approver": N_("Some steps of the approval policy have nobody to approve them."),
    "policy_changed_concurrently": N_("Someone saved this policy at the same moment; reload and try again."),
    "unknown_category": N_("This category is not one of the policy's categories."),
    "unknown_subject_type": N_("This kind of request is not known to the approval system."),
    "no_matching_rule": N_("No rule of the approval policy matches this request."),
    "no_approver": N_("A step of this request finds nobody to approve it for this org unit."),
    "request_not_in_review": N_("This request is not in review any more."),
    "request_closed": N_("This request is closed and cannot be withdrawn."),
    "request_not_returned": N_("Only a returned request can be resubmitted."),
    "step_already_decided": N_("This step is decided already."),
    "decided_at_meeting": N_("This step is decided in the minutes of its meeting."),
    "not_your_step": N_("You are not an approver of this step."),
    "not_requester": N_("Only the requester may do this."),
    "meeting_not_found": N_("No such meeting."),
    "meeting_already_held": N_("The minutes of this meeting are recorded already."),
    "not_a_member": N_("Only a member of the body records its minutes."),
    "delegation_not_found": N_("No such delegation."),
    "delegate_cannot_decide": N_("This colleague holds no role that may decide approvals."),
    "notification_not_found": N_("No such notification."),
    # developer <-> property-company settlements
    "project_not_found": N_("No such project, or its account is not yours to see."),
    "phase_not_found": N_("No such phase of this project."),
    "phase_in_use": N_("Budgets name this phase, so it stays."),
    "moved_in_on_required": N_("Give the move-in date of a project or phase after move-in."),
    "invalid_code": N_("Give a code of at most 32 characters."),
    "invalid_name": N_("Give a name of at most 120 characters."),
    "invalid_rate": N_("Give the management fee as a percentage from 0 to 100 with at most two places, like 10."),
    "invalid_due_day": N_("Give the due day as a day of the month from 1 to 28."),
    "invalid_month": N_("Give a month like 2026-11."),
    "invalid_title": N_("Give a title of at most 200 characters."),
    "no_lines": N_("A budget needs at least one line."),
    "too_many_lines": N_("A budget has at most 200 lines."),
    "line_description": N_("Say what each budget line is for."),
    "line_amount": N_("Each budget line's amount must be more than zero."),
    "invalid_choice": N_("Choose one of the offered values."),
    "budget_not_found": N_("No such budget, or it is not yours to see."),
    "budget_locked": N_("Only a draft or a returned budget changes or is sent for approval."),
    "budget_not_in_review": N_("Only a budget in review is withdrawn."),
    "budget_line_not_found": N_("No such budget line."),
    "budget_line_not_approved": N_("A payment is recorded only against a line of an approved budget."),
    "exceeds_budget_line": N_("This payment would exceed the approved amount of its budget line: ask for a budget "
                              "addition first."),
    "month_closed": N_("This month's settlement is already submitted: date the payment in a later month."),
    "invalid_amount": N_("Give an amount above zero."),
    "invalid_payee": N_("Say whom the payment was made to."),
    "paid_before_approval": N_("A payment dated before its budget was approved is not recorded: work is paid for "
                               "only once its budget is approved."),
    "involvement_item_not_found": N_("No such checklist item, or it is not yours to see."),
    "owner_not_staff": N_("The person responsible must be an active staff member of the company."),
    "done_in_future": N_("The day a deliverable was done cannot be later than today."),
    "invalid_date": N_("Give a date from 2000 to 2100."),
    "paid_in_future": N_("A payment is recorded once it is made: its date cannot be after today."),
    "reason_required": N_("Give the reason."),
    "payment_already_decided": N_("This payment was already confirmed or refused."),
    "settlement_not_found": N_("No such settlement, or it is not yours to see."),
    "settlement_locked": N_("This settlement is in approval or approved, and does not change: correct an approved "
                            "one in a later month."),
    "nothing_to_settle": N_("No payment of this month is confirmed yet: there is nothing to settle."),
    "adjustment_not_found": N_("No such correction, or it is not yours to see."),
    "adjustment_settled": N_("A settlement in approval or approved has taken this correction: correct it with "
                             "another correction."),
    "month_not_over": N_("A month's settlement is submitted from the month's last day: payments of the month may "
                         "still come until then."),
    "month_in_future": N_("That month has not begun yet."),
    "settlement_not_in_review": N_("Only a settlement in review is withdrawn."),
    "settlement_not_approved": N_("Only an approved settlement is corrected; change this one before it is approved."),
    # the catalogue of paid services
    "service_item_not_found": N_("This service is not on offer, or it is not yours to see."),
    "service_item_exists": N_("A service with this code exists already."),
    "service_item_stopped": N_("This service has been stopped."),
    "service_item_version_not_found": N_("No such version of the service."),
    "version_in_review": N_("A version of this service is in approval: wait for the decision."),
    "nothing_to_submit": N_("There is no draft to send for approval."),
    "subcontractor_not_found": N_("No such subcontractor."),
    "subcontractor_exists": N_("A subcontractor with this code exists already."),
    "service_order_not_found": N_("No such service order, or it is not yours to see."),
    "fully_booked": N_("This service is fully booked on that day: choose another day."),
    "prepayment_due": N_("The prepayment or deposit must be paid at the cashier before the work starts."),
    "not_settled": N_("A service order closes only after it is settled at the cashier."),
    "money_held": N_("Money was paid for this order: settle it (the surplus is refunded) instead of cancelling."),
    "not_signed_off": N_("The resident has not signed the work off yet."),
    "order_not_open": N_("Only an open order is settled: this one is settled, cancelled or waiting for money."),
    "order_cancelled": N_("This service order was cancelled."),
    "outside_fee_range": N_("A quoted service is charged within its approved range."),
    "agreement_not_found": N_("No such agreement."),
    "agreement_ended": N_("This agreement has ended."),
    "loss_review_not_found": N_("No such loss review."),
    "review_closed": N_("This review is closed."),
    "survey_not_found": N_("No such survey."),
    "survey_closed": N_("This survey is closed."),
    # tickets
    "ticket_not_found": N_("No such ticket, or it is not yours to see."),
    "ticket_type_not_found": N_("No such ticket type."),
    "stale_state": N_("The ticket changed while you were looking at it. Here it is as it is now; check it and "
                      "try again."),
    "transition_not_allowed": N_("The ticket cannot take that step now, or not by you."),
    "checklist_incomplete": N_("Some required checklist items are not done yet."),
    "unit_not_found": N_("No such unit, or it is not in your projects."),
    "customer_not_found": N_("No such customer in the archive."),
    "building_not_found": N_("No such building, or it is not in your projects."),
    "building_code_taken": N_("The project has a building with this code already."),
    "unit_code_taken": N_("The building has a unit with this code already."),
    "occupancy_not_found": N_("No such tie between a person and a unit."),
    "occupancy_exists": N_("This person is tied to the unit in this role already."),
    "occupancy_ended": N_("This tie has ended already."),
    "record_not_found": N_("No such record in the archive."),
    # funds
    "fund_not_found": N_("No such fund, or it is held by a unit your finance rights do not cover."),
    "fund_exists": N_("A fund with this code exists already for that year."),
    "insufficient_funds": N_("The fund does not have enough money on that account for this."),
    "claim_exceeds_commitment": N_("The claim is more than was approved; spending more needs a new approval."),
    "entry_not_found": N_("No such ledger entry."),
    "entry_is_correction": N_("A correction cannot itself be reversed; post a new entry instead."),
    "entry_reversed": N_("This entry has been reversed already."),
    "year_not_ended": N_("That year has not ended yet; its funds roll over once it has."),
    "accrual_rule_not_found": N_("No such accrual rule."),
    "accrual_period_not_found": N_("No such accrual period."),
    "accrual_period_fixed": N_("The period of a rule with entered periods cannot change; make a new rule instead."),
    "period_not_ended": N_("That period has not ended yet; its base can be entered once it has."),
    "accrual_below_paid": N_("More has been received for this period than the new base accrues."),
    "overpayment": N_("This is more than is outstanding for the period."),
    "contribution_not_found": N_("No such contribution."),
    "import_rows_refused": N_("Some rows of the file could not be imported, so nothing was imported. Correct the "
                              "rows listed, or choose to import only the valid rows."),
    "fund_closed": N_("This fund's year is closed: nothing more can be spent or posted in it."),
    "plan_in_progress": N_("This fund has a plan version in the making already; finish or withdraw it first."),
    "plan_not_editable": N_("This plan version cannot be changed or submitted in its present status."),
    "no_approved_plan": N_("The fund has no approved plan yet: a request can only be off-plan."),
    "plan_line_not_found": N_("The approved plan has no such line."),
    "entry_has_workflow": N_("This entry belongs to a request, an accrual period or a rollover; correct it there."),
    "amount_not_positive": N_("The amount must be more than zero."),
    "plan_line_exceeded": N_("The plan line does not have that much left."),
    "fund_request_not_found": N_("No such spending request."),
    "request_not_approved": N_("Only an approved request that has not been claimed can do this."),
    "fund_claim_not_found": N_("No such claim."),
    "claim_not_open": N_("This claim is not open any more: it was accepted, refused or reimbursed."),
    "claim_not_accepted": N_("Only an accepted claim can be reimbursed."),
    "evidence_missing": N_("Keep the evidence (photos, receipts) with the claim before its acceptance."),
    "own_claim": N_("Who claimed the money does not accept the work."),
    "nothing_to_sign": N_("Your roles have nothing left to sign on this claim."),
}

STATUS_MESSAGES: dict[int, str] = {
    400: N_("The request could not be handled. Check what you entered and try again."),
    401: N_("Please sign in first."),
    403: N_("You are not allowed to do this."),
    404: N_("Nothing here: the page or record does not exist, or you cannot see it."),
    405: N_("This action is not available here."),
    409: N_("This clashes with something that exists already or changed meanwhile. Reload and try again."),
    413: N_("What was sent is too large."),
    422: N_("Some of what was sent is not valid. Go back, check it and try again."),
    429: N_("Too many attempts. Please wait a moment and try again."),
    503: N_("The service is busy or under maintenance. Please try again in a few minutes."),
}
CLIENT_ERROR = N_("The request could not be handled. Check what you entered and try again.")
SERVER_ERROR = N_("Something went wrong on our side. It has been logged; please try again later.")

_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True, slots=True)
class PageMessage:
    text: str  # in the reader's language whenever a translation exists
    detail: str | None  # the original English message, for support; never set for 5xx


def page_message(status: int, code: str, message: str) -> PageMessage:
    # Plain text whatever came in (never Markup): the page escapes it, even when it names what someone typed.
    message = str(message) if message else ""
    localized = _(message) if message else message  # gettext("") is the catalog's header
    # No Latin letters: a view raised an already translated message (e.g. `AppError(_("choose a plan"))`).
    if message and (localized != message or not _LATIN.search(message)):
        return PageMessage(localized, None)
    fallback = CODE_MESSAGES.get(code) or STATUS_MESSAGES.get(status) or (
        SERVER_ERROR if status >= 500 else CLIENT_ERROR)
    text = _(fallback)
    if status >= 500:
        # A 5xx message may name internals; only fixed wording reaches the page.
        return PageMessage(text, None)
    if text == fallback:
        # No translation (an English reader, or a catalog not updated yet): the original is the most precise.
        return PageMessage(message or text, None)
    return PageMessage(text, message or None)


# Wording by code beside a form field, where the page wording would read wrongly next to a field.
FIELD_CODE_MESSAGES: dict[str, str] = {
    "forbidden": N_("You cannot grant permissions you do not hold."),
}


def error_text(exc: AppError) -> str:
    """One error in the reader's language, for beside a field or above a form.

    A template with params: the template translated, then filled in (what someone typed is never looked
    up in the catalog). A constant message: its translation. Otherwise the code's wording when it has a
    translation, else the English message."""
    if exc.params:
        try:
            return _(exc.template) % exc.params
        except (KeyError, ValueError, TypeError):  # a translation that lost or broke a placeholder
            return exc.message
    translated = _(exc.message) if exc.message else ""
    if exc.message and translated != exc.message:
        return translated
    if exc.message and not _LATIN.search(exc.message):  # raised already translated
        return exc.message
    generic = FIELD_CODE_MESSAGES.get(exc.code) or (CODE_MESSAGES.get(exc.code)
                                                    if exc.code not in ("validation_failed", "bad_request") else None)
    if generic and _(generic) != generic:
        return _(generic)
    return exc.message


def form_errors(exc: AppError, fields: tuple[str, ...] | None = None,
                rename: dict[str, str] | None = None) -> dict[str, str]:
    """Every error of `exc` under the field it names (renamed by `rename`) when that field is on the form
    (`fields`; None: any field), the others together above the form under "form"."""
    out: dict[str, str] = {}
    for error in each_error(exc):
        name = (rename or {}).get(error.field or "", error.field)
        key = name if name and (fields is None or name in fields) else "form"
        text = error_text(error)
        out[key] = f"{out[key]} {text}" if key in out and text not in out[key] else text
    return out
