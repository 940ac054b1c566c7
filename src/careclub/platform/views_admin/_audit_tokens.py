"""The audit log with its filters, and the signed-in person's API tokens."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from careclub.core import clock
from careclub.core.errors import AppError
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.paging import CAP, capped, decode_cursor, next_after
from careclub.core.principal import Principal
from careclub.platform import audit, rules, service
from careclub.platform.permissions import Perm
from careclub.platform.views_admin import _audit_words as words
from careclub.platform.views_admin._common import (
    PER_PAGE,
    Form,
    as_uuid,
    clean,
    form_errors,
    keyset_pages,
    me,
    page,
)
from careclub.web import exports
from careclub.web.dates import local_day

# ---- audit log -----------------------------------------------------------------------------

def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True) if value else ""


def _audit_export(principal: Principal) -> list[exports.Column]:
    return [
        exports.Column(N_("Time"), lambda e: e["created_at"], 18),
        exports.Column(N_("Who"), lambda e: words.actor(e, principal)[0], 16),
        exports.Column(N_("What happened"), lambda e: e["text"], 48),
        exports.Column(N_("Record type"), lambda e: e["kind_label"]),
        exports.Column(N_("Changes"), lambda e: "\n".join(words.change_text(c) for c in e["changes"]), 60),
        exports.Column(N_("Action code"), lambda e: e["action"], 24),
        exports.Column(N_("Record id"), lambda e: e["entity_id"], 38),
    ]


@get("/audit", opt={"permission": Perm.AUDIT_READ}, include_in_schema=False)
async def audit_list(request: Request[Any, Any, Any], action: FromQuery[str | None] = None,
                     entity_type: FromQuery[str | None] = None, actor: FromQuery[str | None] = None,
                     since: FromQuery[str | None] = None, until: FromQuery[str | None] = None,
                     after: FromQuery[str | None] = None, format: FromQuery[str | None] = None) -> Response[Any]:
    """The trail newest first, in words (who did what to which record, the changes field by field);
    `?format=xlsx` downloads the whole filtered trail the same way."""
    principal = me(request)
    form = {"action": (action or "").strip()[:64], "entity_type": (entity_type or "").strip()[:64],
            "actor": (actor or "").strip()[:160], "since": (since or "").strip(), "until": (until or "").strip()}
    errors: dict[str, str] = {}
    start = local_day(form["since"], principal.tenant.timezone, "since", errors)
    end = local_day(form["until"], principal.tenant.timezone, "until", errors)
    kinds = words.kind_choices()
    if errors:
        return page(request, "platform/audit.html", status_code=422, rows=[], form=form, errors=errors, kinds=kinds,
                    **keyset_pages(form, None, None, 0, False))
    filters: dict[str, Any] = {"action": form["action"] or None, "entity_type": form["entity_type"] or None,
                               "actor": form["actor"] or None, "since": start,
                               "until": end + timedelta(days=1) if end else None}  # the whole last day
    if format == "xlsx":
        async def read(after: Any, limit: int) -> list[dict[str, Any]]:
            return await words.describe(await audit.browse(**filters, after=after, limit=limit), principal)

        return await exports.xlsx(f"audit-{clock.local(clock.now()):%Y%m%d}.xlsx", str(_("Audit log")),
                                  _audit_export(principal), exports.keyset_batches(read))
    rows = await audit.browse(**filters, after=decode_cursor(after), limit=PER_PAGE + 1)
    rows, cursor = next_after(rows, PER_PAGE)
    total, more = capped(await audit.count(**filters, cap=CAP + 1))
    rows = await words.describe(rows, principal)
    for row in rows:
        row["before_text"], row["after_text"] = _compact(row["before"]), _compact(row["after"])
    return page(request, "platform/audit.html", rows=rows, form=form, errors={}, kinds=kinds,
                **keyset_pages(form, after, cursor, total, more))


# ---- API tokens ----------------------------------------------------------------------------

TOKEN_FORM = ("name", "kind", "user_id", "hours")


async def _tokens_page(request: Request[Any, Any, Any], *, form: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, created: str | None = None,
                       status_code: int = 200) -> Template:
    principal = me(request)
    manager = principal.can(Perm.STAFF_MANAGE)
    people = (await service.list_staff(principal, limit=200))[0] if manager else []
    tokens = await service.list_tokens(None if manager else principal.user_id)
    return page(request, "platform/tokens.html", status_code=status_code, tokens=tokens, people=people,
                manager=manager, form=form or {"kind": "api"}, errors=errors or {}, created=created)


@get("/tokens", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def tokens_list(request: Request[Any, Any, Any]) -> Template:
    return await _tokens_page(request)


@post("/tokens", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def token_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    principal = me(request)
    form = clean(data, *TOKEN_FORM)
    try:
        user_id = as_uuid(form["user_id"]) or principal.user_id
        if user_id != principal.user_id:
            if not principal.can(Perm.STAFF_MANAGE):
                raise AppError("only staff managers may create tokens for someone else", code="forbidden",
                               status_code=403, field="user_id")
            await service.get_staff(principal, user_id, Perm.STAFF_MANAGE)
        if form["kind"] not in ("api", "scanner"):
            raise AppError("kind must be api or scanner", code="validation_failed", status_code=422, field="kind")
        hours = None
        if form["hours"]:
            hours = int(form["hours"]) if form["hours"].isdigit() else 0
            if not 1 <= hours <= 24 * 366:
                raise AppError("hours must be between 1 and 8784", code="validation_failed", status_code=422,
                               field="hours")
        token, _row = await service.issue_token(user_id, kind=form["kind"], hours=hours,
                                                name=rules.check_text(form["name"], "name", max_len=120))
    except AppError as exc:
        return await _tokens_page(request, form=form, errors=form_errors(exc, TOKEN_FORM),
                                  status_code=exc.status_code)
    return await _tokens_page(request, created=token, status_code=201)


@post("/tokens/{token_id:uuid}/revoke", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def token_revoke(request: Request[Any, Any, Any], token_id: FromPath[uuid.UUID]) -> Redirect:
    principal = me(request)
    await service.revoke_token(token_id, user_id=None if principal.can(Perm.STAFF_MANAGE) else principal.user_id)
    return Redirect("/tokens", status_code=303)
