"""The people list's Excel download (`/staff?format=xlsx`), through the one export mechanism
(`web/exports`): the same filters as the page, read a thousand people at a time in the page's own
order (by name)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from litestar.response import Stream

from careclub.core import clock
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform import service
from careclub.platform.views_admin._common import kind_label
from careclub.web import exports

STAFF_COLUMNS = [
    exports.Column(N_("Name"), lambda p: p["display_name"], 18),
    exports.Column(N_("Email"), lambda p: p["email"], 28),
    exports.Column(N_("Phone"), lambda p: p["phone"] or ""),
    exports.Column(N_("Kind"), lambda p: kind_label(p["kind"]), 10),
    exports.Column(N_("Org unit"), lambda p: p["org_unit.name"] or "", 20),
    exports.Column(N_("Active"), lambda p: _("Yes") if p["is_active"] else _("No"), 8),
    exports.Column(N_("Last sign-in"), lambda p: p["last_login_at"], 18),
    exports.Column(N_("Created"), lambda p: p["created_at"], 18),
]


async def staff_xlsx(principal: Principal, *, q: str | None, kind: str | None, unit_id: uuid.UUID | None) -> Stream:
    async def batches() -> AsyncIterator[list[dict[str, Any]]]:
        done = 0
        while True:  # the list's order is by name, so its own offset walks it (a company's people, not millions)
            rows, _total = await service.list_staff(principal, q=q, kind=kind, unit_id=unit_id, limit=1000,
                                                   offset=done)
            if not rows:
                return
            yield rows
            done += len(rows)

    return await exports.xlsx(f"people-{clock.local(clock.now()):%Y%m%d}.xlsx", str(_("People")), STAFF_COLUMNS,
                              batches())
