"""The approval pages' Excel downloads (`?format=xlsx` on the inbox and the mail outbox), through
the one export mechanism (`web/exports`): the inbox's two lists — the steps waiting for the
reader's decision, then every request the reader opened — and the outbox with its status filter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar.response import Stream

from careclub.approvals import service
from careclub.core import clock
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.web import exports

STATUS = {"in_review": N_("In review"), "approved": N_("Approved"), "rejected": N_("Rejected"),
          "returned": N_("Returned"), "withdrawn": N_("Withdrawn")}
OUT_STATUS = {"queued": N_("Queued"), "sent": N_("Sent"), "failed": N_("Failed")}
WAITING, MINE = N_("Waiting for my decision"), N_("My requests")


def _label(labels: dict[str, str], code: str | None) -> str:
    return _(labels[code]) if code in labels else (code or "")


def _money(minor: int | None) -> exports.Money | None:
    return exports.Money(minor) if minor is not None else None


REQUEST_COLUMNS = [
    exports.Column(N_("List"), lambda r: _(r["list"]), 18),
    exports.Column(N_("Title"), lambda r: r["title"], 36),
    exports.Column(N_("Status"), lambda r: _label(STATUS, r.get("status")) if r.get("status") else _("Waiting")),
    exports.Column(N_("Amount"), lambda r: _money(r.get("amount"))),
    exports.Column(N_("Category"), lambda r: r.get("category") or ""),
    exports.Column(N_("Requester"), lambda r: r.get("requester") or r.get("requester_name") or ""),
    exports.Column(N_("Step"), lambda r: r.get("step") or "", 18),
    exports.Column(N_("Due"), lambda r: r.get("due_at"), 18),
    exports.Column(N_("Created"), lambda r: r.get("started_at") or r.get("created_at"), 18),
]

OUTBOX_COLUMNS = [
    exports.Column(N_("Created"), lambda m: m["created_at"], 18),
    exports.Column(N_("To"), lambda m: m["to_email"], 28),
    exports.Column(N_("Mail subject"), lambda m: m["subject"], 40),
    exports.Column(N_("Status"), lambda m: _label(OUT_STATUS, m["status"])),
    exports.Column(N_("Attempts"), lambda m: m["attempts"], 10),
    exports.Column(N_("Sent"), lambda m: m["sent_at"], 18),
    exports.Column(N_("Error"), lambda m: m["error"], 40),
]


def _stamp() -> str:
    return f"{clock.local(clock.now()):%Y%m%d}"


async def inbox_xlsx(principal: Principal) -> Stream:
    async def batches() -> AsyncIterator[list[dict[str, Any]]]:
        if principal.can(Perm.APPROVALS_DECIDE):
            tasks = await service.pending_tasks(principal.user_id)
            if tasks:
                yield [{**t, "list": WAITING} for t in tasks]

        async def read(after: Any, limit: int) -> list[dict[str, Any]]:
            return [{**r, "list": MINE} for r in await service.requests_of(principal.user_id, after=after,
                                                                             limit=limit)]

        async for rows in exports.keyset_batches(read):
            yield rows

    return await exports.xlsx(f"approvals-{_stamp()}.xlsx", str(_("My approvals")), REQUEST_COLUMNS, batches())


async def outbox_xlsx(status: str | None) -> Stream:
    async def read(after: Any, limit: int) -> list[dict[str, Any]]:
        return await service.outbox_rows(status=status, after=after, limit=limit)

    return await exports.xlsx(f"outbox-{_stamp()}.xlsx", str(_("Mail outbox")), OUTBOX_COLUMNS,
                              exports.keyset_batches(read))
