"""The catalogue's staff pages: the services and their fee standards (views_items.py), the subcontractors'
register (views_subcontractors.py), the service orders with the cashier's money and settlement
(views_orders.py) and the printable notice with its booking QR code (views_notice.py). What they share is in
views_common.py; the residents' pages are views_portal.py."""

from typing import Any

from careclub.catalogue import views_items, views_notice, views_orders, views_subcontractors

ROUTES: list[Any] = [*views_items.ROUTES, *views_subcontractors.ROUTES, *views_orders.ROUTES,
                     *views_notice.ROUTES]
