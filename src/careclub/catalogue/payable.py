"""Service orders as payables: the prepayment or deposit before the work (`service_prepay`) and the balance
after the settlement (`service_balance`). Payments collects them online or at the cashier and calls back
here, inside the transaction that records the money."""

from __future__ import annotations

import uuid

from careclub.catalogue.service import _orders
from careclub.core.errors import Conflict
from careclub.core.principal import Principal
from careclub.payments.service import Payable, register_payable


async def _payable(kind: str, principal: Principal | None, order_id: uuid.UUID) -> Payable:
    order = await _orders.get_order(principal, order_id)
    if kind == _orders.PREPAY:
        amount, settled = order["prepay_amount"], order["prepaid"] > 0 or order["prepay_kind"] == "none"
    else:
        amount, settled = order["balance"], order["status"] != "balance_due"
    if order["status"] == "cancelled":
        settled = True
    payer = order["booked_by"] if order["source"] == "portal" else None
    return Payable(kind=kind, id=order_id, amount=amount, currency=order["currency"],
                   description=f"{order['name']} · {order['number']}", payer_user_id=payer, card_no=order["number"],
                   org_unit_id=order["project_id"], return_path=f"/my/services/orders/{order_id}", settled=settled)


async def describe_prepay(principal: Principal | None, order_id: uuid.UUID) -> Payable:
    return await _payable(_orders.PREPAY, principal, order_id)


async def describe_balance(principal: Principal | None, order_id: uuid.UUID) -> Payable:
    payable = await _payable(_orders.BALANCE, principal, order_id)
    if payable.amount <= 0 and not payable.settled:
        raise Conflict("nothing is left to pay", code="already_paid")
    return payable


async def settle_prepay(order_id: uuid.UUID, method: str, reference: str) -> None:
    await _orders.prepay_received(order_id, reference)


async def unsettle_prepay(order_id: uuid.UUID, why: str) -> None:
    await _orders.prepay_taken_back(order_id, why)


async def settle_balance(order_id: uuid.UUID, method: str, reference: str) -> None:
    await _orders.balance_received(order_id, reference)


async def unsettle_balance(order_id: uuid.UUID, why: str) -> None:
    await _orders.balance_taken_back(order_id, why)


register_payable(_orders.PREPAY, describe=describe_prepay, settle=settle_prepay, unsettle=unsettle_prepay)
register_payable(_orders.BALANCE, describe=describe_balance, settle=settle_balance, unsettle=unsettle_balance)
