"""The first steps of a company that signed up on its own, as a checklist on its dashboard: org units,
staff, a club, a plan, a merchant with its operator, an approval policy. Each step links to its page
and is ticked when done; the list disappears once every step is.

Read in one round trip of EXISTS probes (raw SQL: Piccolo would make it six queries), each stopping at
the first row it finds; row-level security keeps every probe inside the tenant in context.
"""

from __future__ import annotations

from typing import Any

from careclub.core.db import fetch
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm

# (key, label, hint, page)
STEPS: tuple[tuple[str, str, str, str], ...] = (
    ("units", N_("Org units"), N_("Add the branches and projects your staff and members belong to."), "/org"),
    ("staff", N_("Staff"), N_("Add or invite the people who work with you."), "/staff"),
    ("club", N_("A club"), N_("Create the club your members join."), "/club/admin"),
    ("plan", N_("A plan"), N_("Give the club a membership plan with its fee and term."), "/club/admin"),
    ("merchant", N_("A merchant and its operator"),
     N_("Add a partner merchant and link the person who scans member cards there."), "/club/admin"),
    ("policy", N_("An approval policy"), N_("Say who approves what, and up to which amount."), "/approvals/policies"),
)

_PROBE = """
SELECT EXISTS (SELECT 1 FROM org_unit WHERE parent IS NOT NULL) AS units,
       (SELECT count(*) FROM (SELECT 1 FROM app_user WHERE kind = 'staff' LIMIT 2) s) = 2 AS staff,
       EXISTS (SELECT 1 FROM club) AS club,
       EXISTS (SELECT 1 FROM club_plan) AS plan,
       EXISTS (SELECT 1 FROM club_merchant_operator) AS merchant,
       (SELECT id FROM club_merchant ORDER BY created_at, id LIMIT 1) AS first_merchant,
       EXISTS (SELECT 1 FROM approval_policy WHERE is_current) AS policy
"""


async def checklist(principal: Principal) -> list[dict[str, Any]] | None:
    """The steps with their state, for the company's administrator; None when every step is done (or
    the reader does not run the company)."""
    if not principal.can(Perm.TENANT_MANAGE):
        return None
    probe = (await fetch(_PROBE))[0]
    if all(probe[key] for key, *_rest in STEPS):
        return None
    steps = []
    for key, label, hint, href in STEPS:
        if key == "merchant" and probe["first_merchant"] is not None:
            href = f"/club/admin/merchant/{probe['first_merchant']}"  # where its operators are linked
        steps.append({"key": key, "label": _(label), "hint": _(hint), "href": href, "done": bool(probe[key])})
    return steps


__all__ = ["STEPS", "checklist"]
