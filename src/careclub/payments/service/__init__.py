"""The payments service: the only code that writes the payments tables.

Other domains register a kind of payable once (`register_payable`, at import); payments collects it
online (Stripe Checkout on the company's own account) or offline (the cashier) and calls back.
"""

from careclub.payments.service._accounts import refresh_account, start_onboarding, update_settings
from careclub.payments.service._payables import Payable, register_payable, registered_payables
from careclub.payments.service._payments import (
    OnlinePaymentsUnavailable,
    confirm_paid,
    count_payments,
    current_settings,
    get_payment,
    list_payments,
    may_read,
    payments_of,
    record_offline,
    reverse,
    start_checkout,
    submit_refund,
)
from careclub.payments.service._reconcile import reconcile, sync_payment
from careclub.payments.service._refunds import refund
from careclub.payments.service._renewals import cancel_auto_renewal, remind_due, start_auto_renewal, subscription_of
from careclub.payments.service._webhooks import HANDLERS, process_inbox, receive

__all__ = [
    "HANDLERS",
    "OnlinePaymentsUnavailable",
    "Payable",
    "cancel_auto_renewal",
    "confirm_paid",
    "count_payments",
    "current_settings",
    "get_payment",
    "list_payments",
    "may_read",
    "payments_of",
    "process_inbox",
    "receive",
    "reconcile",
    "record_offline",
    "refresh_account",
    "refund",
    "register_payable",
    "registered_payables",
    "remind_due",
    "reverse",
    "start_auto_renewal",
    "start_checkout",
    "start_onboarding",
    "submit_refund",
    "subscription_of",
    "sync_payment",
    "update_settings",
]


def _register() -> None:
    from careclub.platform import attachments

    attachments.register_owner("payment", may_read)


_register()
