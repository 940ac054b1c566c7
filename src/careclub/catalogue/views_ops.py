"""The operations pages of the paid-service catalogue, one module each: long-term agreements
(views_ops_agreements.py), the month's figures, loss reviews and quality (views_ops_figures.py), needs surveys
for the staff and the residents (views_ops_surveys.py), and a subcontractor's own people with the orders handed
to them (views_ops_partner.py). What they share is in views_ops_common.py."""

from typing import Any

from careclub.catalogue import views_ops_agreements, views_ops_figures, views_ops_partner, views_ops_surveys

ROUTES: list[Any] = [*views_ops_agreements.ROUTES, *views_ops_figures.ROUTES, *views_ops_surveys.ROUTES,
                     *views_ops_partner.ROUTES]
