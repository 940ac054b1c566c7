"""The settlements' staff pages: the hub and a project's account with the company's terms
(views_pages_hub.py), the budget forms (views_pages_budgets.py), the payments with their confirmation and
evidence files (views_pages_payments.py), and the month's settlements (views_pages_months.py). What they share
is in views_pages_common.py. Static paths (`/settlements/months`, `/settlements/budgets`, …) and
`/settlements/{id:uuid}` live side by side: the router takes a static segment before a path parameter, and the
parameter takes only a UUID."""

from typing import Any

from careclub.settlements import views_pages_budgets, views_pages_hub, views_pages_months, views_pages_payments

ROUTES: list[Any] = [*views_pages_hub.ROUTES, *views_pages_budgets.ROUTES, *views_pages_payments.ROUTES,
                     *views_pages_months.ROUTES]
