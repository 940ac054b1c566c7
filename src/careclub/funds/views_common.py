"""What the funds' pages share: the fixed labels shown in the reader's language, reading what people
type (yuan, dates, whole numbers), and small read-only lookups the ledger form needs beside the service.

Only fixed codes go through gettext (accounts, causes, kinds, statuses, periods); names and notes people
typed are shown as typed (the templates escape them)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Request
from litestar.response import Template

from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import AppError
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.funds import rules
from careclub.platform.permissions import Perm
from careclub.platform.views import page
from careclub.platform.views_admin._common import role_label

ACCOUNT_LABELS = {
    "available": N_("Available"), "receivable": N_("Receivable"), "committed": N_("Committed"),
    "spent": N_("Spent"), "carried_forward": N_("Carried forward to next year"),
    "accrued": N_("Accrued"), "contributed": N_("Contributed"), "brought_forward": N_("Brought forward from last year"),
}
CAUSE_LABELS = {
    "accrual": N_("Accrual"), "collection": N_("Collection"), "contribution": N_("Contribution"),
    "commitment": N_("Commitment"), "release": N_("Release of a commitment"), "reimbursement": N_("Reimbursement"),
    "rollover": N_("Year-end rollover"), "correction": N_("Correction (reversal)"),
}
KIND_LABELS = {
    "reserve": N_("Project set-up reserve"), "maintenance_fund": N_("Building maintenance fund"),
    "warranty_deposit": N_("Contractor's warranty deposit"), "other": N_("Other"),
}
STATUS_LABELS = {
    "nothing_due": N_("Nothing due"), "awaiting_payment": N_("Awaiting payment"), "partly_paid": N_("Partly paid"),
    "overdue": N_("Overdue"), "paid": N_("Paid in full"),
}
PERIOD_LABELS = {"month": N_("Monthly"), "quarter": N_("Quarterly"), "year": N_("Yearly")}
# The accounts a ledger line shows beside the available money: what the fund holds or has used.
SHOWN_MOVES = ("committed", "spent", "receivable", "carried_forward")



account_label = labeller(ACCOUNT_LABELS)
cause_label = labeller(CAUSE_LABELS)
kind_label = labeller(KIND_LABELS)
status_label = labeller(STATUS_LABELS)
period_label = labeller(PERIOD_LABELS)


def rate_text(rate_bp: int) -> str:
    """Basis points as a percentage: 5 -> "0.05 %"."""
    return f"{rate_bp / 100:.2f} %"


def labels() -> dict[str, Any]:
    return {"account_label": account_label, "cause_label": cause_label, "kind_label": kind_label,
            "status_label": status_label, "period_label": period_label, "rate_text": rate_text}


def funds_page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    return page(request, template, status_code=status_code, **labels(), **ctx)


def can_manage(principal: Principal, fund: dict[str, Any]) -> bool:
    """Finance rights over the fund's unit (a company-wide fund: from the top)."""
    return principal.covers(Perm.FINANCE_MANAGE, fund["unit_path"])


def refused_status(exc: AppError) -> int:
    """A form refused: 422, or the error's own status when it says more (409 clash, 413 too large, 415 type).
    Any answer of 400 or more rolls the request's transaction back."""
    return exc.status_code if exc.status_code in (409, 413, 415, 422) else 422


def typed_day(text: str, field: str, errors: dict[str, str]) -> date | None:
    """A date picked in a form (`YYYY-MM-DD`, the company's day as the person sees it); none when blank.
    Text that is no such date puts the reason under `errors[field]` (web/dates.py's wording)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = _("Use the form YYYY-MM-DD.")
        return None


def whole(text: str, invalid: int) -> int:
    """A whole number typed in a form; `invalid` (a value the service refuses with its own wording) when
    it is not one, so every field's problem is reported at once by the service's checks."""
    text = (text or "").strip().replace(",", "")
    return int(text) if text.isdigit() and len(text) < 10 else invalid


async def entry_seqs(ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The voucher numbers of some entries (what a correction reverses)."""
    if not ids:
        return {}
    rows = await fetch("SELECT id, seq FROM fund_entry WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                       current_tenant_id(), ids)
    return {r["id"]: r["seq"] for r in rows}


async def reversals(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The corrections that reversed some entries (a contribution typed wrong), by the entry reversed."""
    if not ids:
        return {}
    rows = await fetch("SELECT reverses, id, seq FROM fund_entry WHERE tenant_id = $1 AND reverses = ANY($2::uuid[])",
                       current_tenant_id(), ids)
    return {r["reverses"]: {"id": r["id"], "seq": r["seq"]} for r in rows}


async def fill_available(fund_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """The available balance after each ledger line. A line that moved available money carries it; for one
    that did not (an accrual moves only the receivable) it is the balance after the nearest earlier entry
    that did — read back from the postings, so filters and pages do not matter."""
    missing = [r["seq"] for r in rows if r["available_after"] is None]
    if missing:
        found = await fetch(f"""
            SELECT s.seq, (SELECT p.balance_after FROM fund_posting p
                           WHERE p.tenant_id = $1 AND p.fund = $2 AND p.voucher < s.seq
                                 AND p.account = '{rules.AVAILABLE}'
                           ORDER BY p.voucher DESC, p.balance_after DESC LIMIT 1) AS after
            FROM unnest($3::bigint[]) AS s(seq)""", current_tenant_id(), fund_id, missing)
        after = {r["seq"]: r["after"] or 0 for r in found}
    else:
        after = {}
    for r in rows:
        moved = r["moves"].get(rules.AVAILABLE, 0)
        r["money_in"] = moved if moved > 0 else None
        r["money_out"] = -moved if moved < 0 else None
        r["balance"] = r["available_after"] if r["available_after"] is not None else after.get(r["seq"], 0)
        r["other_moves"] = [(a, r["moves"][a]) for a in SHOWN_MOVES if r["moves"].get(a)]
    reversed_ids = [r["reverses"] for r in rows if r["reverses"] is not None]
    seqs = await entry_seqs(reversed_ids)
    for r in rows:
        r["reverses_seq"] = seqs.get(r["reverses"]) if r["reverses"] is not None else None


def summary(row: dict[str, Any]) -> str:
    """The ledger form's 摘要: the reference and the memo, as typed."""
    return " · ".join(t for t in (row["reference"], row["memo"]) if t)


async def role_choices() -> list[dict[str, Any]]:
    """The company's roles by name, built-in ones in the reader's language (who signs a claim's acceptance)."""
    rows = await fetch("SELECT code, name FROM role WHERE tenant_id = $1 ORDER BY name", current_tenant_id())
    return [{"code": r["code"], "name": role_label(r["code"], r["name"])} for r in rows]
