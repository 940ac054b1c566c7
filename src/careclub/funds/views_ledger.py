"""A fund's ledger (台账) as finance reads it: entries newest first, a keyset page at a time, filtered by
cause and a range of days; the whole filtered ledger as an Excel workbook laid out like the paper form
(序号, 日期, 事由, 摘要, 收入, 支出, 余额, 经办人); and one entry with all its postings, where a wrong
entry is corrected by reversing it (entries are never changed or deleted)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.core import clock
from careclub.core.errors import AppError
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.funds import rules, service
from careclub.funds.views_common import (
    cause_label,
    entry_seqs,
    fill_available,
    funds_page,
    refused_status,
    summary,
    typed_day,
)
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, clean, form_errors, me
from careclub.web import exports

Filter = Annotated[str | None, QueryParameter(max_length=120)]
Before = Annotated[int | None, QueryParameter(ge=1, le=2**62)]
PER_PAGE = 50
BATCH = 1000

def _move(row: dict[str, Any], account: str) -> exports.Money | None:
    amount = row["moves"].get(account)
    return exports.Money(amount) if amount else None


EXPORT_COLUMNS = [
    exports.Column(N_("No."), lambda r: r["seq"], 8),
    exports.Column(N_("Date"), lambda r: r["occurred_on"], 12),
    exports.Column(N_("Cause"), lambda r: cause_label(r["cause"]), 14),
    exports.Column(N_("Summary"), lambda r: _summary_cell(r), 40),
    exports.Column(N_("In"), lambda r: exports.Money(r["money_in"]) if r["money_in"] else None, 16),
    exports.Column(N_("Out"), lambda r: exports.Money(r["money_out"]) if r["money_out"] else None, 16),
    exports.Column(N_("Balance"), lambda r: exports.Money(r["balance"]), 16),
    # In/Out/Balance follow the money available; what a reimbursement actually spent (out of the money set
    # aside, not out of what is available) and what a commitment set aside get columns of their own.
    exports.Column(N_("Committed"), lambda r: _move(r, "committed"), 16),
    exports.Column(N_("Spent"), lambda r: _move(r, "spent"), 16),
    exports.Column(N_("By"), lambda r: r["created_by_name"], 14),
]


def _summary_cell(row: dict[str, Any]) -> str:
    text = summary(row)
    if row["reverses_seq"] is not None:
        text = _("Reverses #%(seq)s") % {"seq": row["reverses_seq"]} + (f" · {text}" if text else "")
    if row["reversed_by"] is not None:
        text += (" · " if text else "") + _("Reversed by #%(seq)s") % {"seq": row["reversed_by"]}
    return text


async def ledger_batches(fund_id: uuid.UUID, filters: dict[str, Any], size: int = BATCH
                         ) -> AsyncIterator[list[dict[str, Any]]]:
    """The whole filtered ledger, `size` entries at a time, each batch read before the last voucher
    number of the one before (the ledger's own keyset: newest first by seq)."""
    before: int | None = None
    while True:
        rows = await service.ledger_page(fund_id, **filters, before_seq=before, limit=size)
        if not rows:
            return
        await fill_available(fund_id, rows)
        yield rows
        if len(rows) < size:
            return
        before = rows[-1]["seq"]


def _read_filters(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    since = typed_day(form["since"], "since", errors)
    until = typed_day(form["until"], "until", errors)
    return {"cause": form["cause"] or None, "since": since, "until": until}


@get("/funds/{fund_id:uuid}/ledger", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def ledger(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], cause: Filter = None,
                 since: Filter = None, until: Filter = None, before: Before = None,
                 format: Filter = None) -> Response[Any]:
    """The ledger form, newest first (`?before=` the last voucher number of the page before); dates are the
    company's days. `?format=xlsx` downloads the whole filtered ledger."""
    principal = me(request)
    fund = await service.get_fund(principal, fund_id)
    form = {"cause": cause if cause in rules.CAUSES else "", "since": (since or "").strip()[:10],
            "until": (until or "").strip()[:10]}
    errors: dict[str, str] = {}
    filters = _read_filters(form, errors)
    query = {k: v for k, v in form.items() if v}
    ctx: dict[str, Any] = {"fund": fund, "form": form, "errors": errors, "causes": rules.CAUSES,
                           "export": f"/funds/{fund_id}/ledger?" + urlencode({**query, "format": "xlsx"})}
    if errors:
        return funds_page(request, "funds/ledger.html", status_code=422, rows=[], newest=None, older=None, **ctx)
    if format == "xlsx":
        stamp = f"{clock.local(clock.now()):%Y%m%d}"
        return await exports.xlsx(f"ledger-{fund['code']}-{fund['year']}-{stamp}.xlsx",
                                  f"{fund['code']} {fund['year']}", EXPORT_COLUMNS, ledger_batches(fund_id, filters))
    rows = await service.ledger_page(fund_id, **filters, before_seq=before, limit=PER_PAGE + 1)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    await fill_available(fund_id, rows)
    base = f"/funds/{fund_id}/ledger"
    newest = base + ("?" + urlencode(query) if query else "") if before else None
    older = base + "?" + urlencode({**query, "before": rows[-1]["seq"]}) if more and rows else None
    return funds_page(request, "funds/ledger.html", rows=rows, newest=newest, older=older, **ctx)


# ---- one entry --------------------------------------------------------------------------------

async def _readable_entry(request: Request[Any, Any, Any], entry_id: uuid.UUID, *,
                          permission: str = Perm.FINANCE_READ) -> dict[str, Any]:
    """The entry with its postings, when the reader may see every fund it touches (else 404)."""
    principal = me(request)
    entry = await service.entry_detail(entry_id)
    entry["funds"] = []
    for fund_id in dict.fromkeys(p["fund"] for p in entry["postings"]):
        entry["funds"].append(await service.get_fund(principal, fund_id, permission=permission))
    return entry


async def _entry_page(request: Request[Any, Any, Any], entry_id: uuid.UUID, *, status_code: int = 200,
                      errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                      notice: str | None = None) -> Template:
    principal = me(request)
    entry = await _readable_entry(request, entry_id)
    seqs = await entry_seqs([entry["reverses"]] if entry["reverses"] else [])
    managing = all(principal.covers(Perm.FINANCE_MANAGE, f["unit_path"]) for f in entry["funds"])
    reversible = entry["cause"] in rules.REVERSIBLE_BY_HAND and entry["reversed_by"] is None
    return funds_page(request, "funds/entry.html", status_code=status_code, entry=entry,
                      reverses_seq=seqs.get(entry["reverses"]) if entry["reverses"] else None,
                      managing=managing, reversible=reversible, errors=errors or {}, form=form or {},
                      notice=notice)


@get("/funds/entries/{entry_id:uuid}", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def entry_detail(request: Request[Any, Any, Any], entry_id: FromPath[uuid.UUID], done: Filter = None
                       ) -> Template:
    notice = _("The entry is reversed: the correction is posted.") if done == "reversed" else None
    return await _entry_page(request, entry_id, notice=notice)


@post("/funds/entries/{entry_id:uuid}/reverse", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def entry_reverse(request: Request[Any, Any, Any], entry_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Correct an entry by reversing it, with the reason; dated the company's today."""
    await _readable_entry(request, entry_id, permission=Perm.FINANCE_MANAGE)
    form = clean(data, "reason")
    try:
        await service.correct(entry_id, reason=form["reason"], occurred_on=await service.today())
    except AppError as exc:
        return await _entry_page(request, entry_id, status_code=refused_status(exc), form=form,
                                 errors=form_errors(exc, ("reason",)))
    return Redirect(f"/funds/entries/{entry_id}?done=reversed", status_code=303)


ROUTES: list[Any] = [ledger, entry_detail, entry_reverse]
