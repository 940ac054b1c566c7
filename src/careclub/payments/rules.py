"""Pure payment rules: the states a payment moves through, fees, receipt numbers."""

from __future__ import annotations

from careclub.core.errors import Conflict

# Where a payment may go from each state. Anything else is refused, so a late or repeated event can
# never move a payment backwards (a paid one never becomes open or failed again).
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"processing", "paid", "failed", "expired"}),
    "processing": frozenset({"paid", "failed"}),
    "failed": frozenset({"paid", "expired"}),  # a card declined, then paid on a second try
    "expired": frozenset({"paid"}),  # paid in the last second: the money is real, so it counts
    "paid": frozenset({"partially_refunded", "refunded", "reversed"}),
    "partially_refunded": frozenset({"partially_refunded", "refunded"}),
    "refunded": frozenset(),
    "reversed": frozenset(),
}
SETTLED = frozenset({"paid", "partially_refunded"})
OFFLINE_METHODS = ("cash", "bank_transfer", "wechat_transfer", "alipay_transfer")
ONLINE_METHODS = ("card", "wechat_pay", "alipay")
METHODS = ("stripe", *OFFLINE_METHODS)


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def check_move(current: str, to: str) -> None:
    if not can_move(current, to):
        raise Conflict("a %(current)s payment cannot become %(to)s", code="payment_state_conflict",
                       params={"current": current, "to": to})


def application_fee(amount: int, bps: int) -> int:
    """The platform's share in minor units, rounded half up (a fen is never split)."""
    return (amount * bps + 5_000) // 10_000


def receipt_number(year: int, seq: int) -> str:
    return f"R{year}-{seq:06d}"


def refund_status(amount: int, refunded: int) -> str:
    if refunded <= 0:
        return "paid"
    return "refunded" if refunded >= amount else "partially_refunded"
