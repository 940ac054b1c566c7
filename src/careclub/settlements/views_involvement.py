"""Early involvement (§3.1) on a phone: `/settlements/projects/{code}/involvement` — the project's checklist by
stage with each stage's progress, the handover inspections done against those needed and the deliverables
overdue marked; `?edit={item}` opens one item's form (owner, due date, the date it was done, note, title), the
form at the foot adds an item, a button adds the guide's default deliverables once, and `?format=xlsx` downloads
the checklist.

Who sees and changes what, and every refusal, is the service's (service/_involvement.py); every problem of a
form is shown at once beside its field, with what was typed kept."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.core.db import fetch
from careclub.core.error_messages import form_errors
from careclub.core.errors import FieldErrors, ValidationFailed
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, clean, me
from careclub.settlements import rules
from careclub.settlements.service import _involvement
from careclub.settlements.service._common import reader
from careclub.settlements.views_reports import settlements_page
from careclub.web import exports
from careclub.web.forms import typed_date

Filter = Annotated[str | None, QueryParameter(max_length=120)]
ITEM_FIELDS = ("title", "owner", "due_on", "done_on", "note")
NEW_FIELDS = ("stage", "kind", *ITEM_FIELDS)
KIND_NAMES = {"deliverable": N_("Deliverable"), "inspection": N_("Joint inspection")}
DONE = {"added": N_("The item is added to the checklist."),
        "saved": N_("The item is saved."),
        "removed": N_("The item is removed from the checklist."),
        "seeded": N_("The guide's deliverables are added to the checklist."),
        "seeded_none": N_("The checklist already holds every deliverable of the guide: nothing was added.")}
kind_label = labeller(KIND_NAMES)
stage_label = labeller(rules.INVOLVEMENT_STAGE_NAMES)
done_text = labeller(DONE)
STAFF_MAX = 2000


def _url(code: str, **query: str) -> str:
    base = f"/settlements/projects/{quote(code, safe='')}/involvement"
    return base + ("?" + urlencode(query) if query else "")


async def staff_choices() -> list[tuple[str, str]]:
    """The company's active staff, to choose an owner from (a name is shown; the id is sent)."""
    rows = await fetch("SELECT id, display_name FROM app_user WHERE kind = 'staff' AND is_active "
                       f"ORDER BY display_name, id LIMIT {STAFF_MAX}")
    return [(str(r["id"]), r["display_name"]) for r in rows]


def _item_form(item: dict[str, Any]) -> dict[str, str]:
    return {"title": item["title"], "owner": str(item["owner_id"] or ""),
            "due_on": item["due_on"].isoformat() if item["due_on"] else "",
            "done_on": item["done_on"].isoformat() if item["done_on"] else "", "note": item["note"]}


EXPORT_COLUMNS = [
    exports.Column(N_("Stage"), lambda r: stage_label(r["stage"]), 18),
    exports.Column(N_("No."), lambda r: r["position"], 6),
    exports.Column(N_("Deliverable"), lambda r: r["title"], 36),
    exports.Column(N_("Kind"), lambda r: kind_label(r["kind"]), 12),
    exports.Column(N_("Person responsible"), lambda r: r["owner_name"], 18),
    exports.Column(N_("Due on"), lambda r: r["due_on"], 12),
    exports.Column(N_("Done on"), lambda r: r["done_on"], 12),
    exports.Column(N_("Overdue"), lambda r: _("Yes") if r["overdue"] else "", 10),
    exports.Column(N_("Note"), lambda r: r["note"], 40),
]


async def _page(request: Request[Any, Any, Any], code: str, *, status_code: int = 200, editing: str | None = None,
                form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                notice: str | None = None) -> Template:
    principal = me(request)
    checklist = await _involvement.list_items(principal, code)
    items = {str(i["id"]): i for s in checklist["stages"] for i in s["items"]}
    if editing not in items and editing != "new":
        editing = None
    if form is None:
        form = _item_form(items[editing]) if editing in items else {"stage": "planning", "kind": "deliverable"}
    new_form = form if editing == "new" else {"stage": "planning", "kind": "deliverable"}
    return settlements_page(
        request, "settlements/involvement.html", status_code=status_code, checklist=checklist,
        project=checklist["project"], editing=editing, form=form, new_form=new_form, errors=errors or {},
        notice=notice, staff=await staff_choices() if checklist["may_edit"] else [],
        stages=[(s, stage_label(s)) for s in rules.INVOLVEMENT_STAGES],
        kinds=[(k, kind_label(k)) for k in _involvement.KINDS], kind_label=kind_label,
        page_url=_url(checklist["project"]["code"]), export=_url(checklist["project"]["code"], format="xlsx"))


@get("/settlements/projects/{code:str}/involvement", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def involvement_page(request: Request[Any, Any, Any], code: FromPath[str], edit: Filter = None,
                           done: Filter = None, format: Filter = None) -> Response[Any]:
    """The checklist by stage; `?edit={item}` opens one item's form; `?format=xlsx` downloads the checklist."""
    principal = me(request)
    reader(principal)
    if format == "xlsx":
        checklist = await _involvement.list_items(principal, code)
        rows = [i for s in checklist["stages"] for i in s["items"]]
        return await exports.xlsx(f"involvement-{checklist['project']['code']}.xlsx",
                                  f"{_('Early involvement')} {checklist['project']['code']}", EXPORT_COLUMNS,
                                  exports.all_rows(rows))
    return await _page(request, code, editing=edit, notice=done_text(done) if done in DONE else None)


def _typed_owner(text: str, errors: dict[str, str]) -> uuid.UUID | None:
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        errors["owner"] = _("Choose the owner from the list.")
        return None


async def _read(form: dict[str, str], *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """What the form says, and every problem of it at once: what the page cannot read, then the service's own
    checks on the rest (nothing is written)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"title": form["title"], "note": form["note"],
                              "owner_id": _typed_owner(form["owner"], errors),
                              "due_on": typed_date(form["due_on"], "due_on", errors),
                              "done_on": typed_date(form["done_on"], "done_on", errors)}
    if new:
        values.update(stage=form["stage"], kind=form["kind"] or "deliverable")
    problems = await _involvement.check_item(**values)
    if problems:
        errors = {**form_errors(FieldErrors(problems), NEW_FIELDS if new else ITEM_FIELDS),
                  **errors}
    return values, errors


@post("/settlements/projects/{code:str}/involvement", opt={"permission": Perm.AUTHENTICATED},
      include_in_schema=False)
async def involvement_add(request: Request[Any, Any, Any], code: FromPath[str], data: Form) -> Response[Any]:
    """Add an item at the end of its stage (every problem at once, beside its field)."""
    principal = me(request)
    reader(principal)
    form = clean(data, *NEW_FIELDS)
    values, errors = await _read(form, new=True)
    if errors:
        return await _page(request, code, status_code=422, editing="new", form=form, errors=errors)
    try:
        item = await _involvement.add_item(principal, code, **values)
    except ValidationFailed as exc:
        return await _page(request, code, status_code=422, editing="new", form=form,
                           errors=form_errors(exc, NEW_FIELDS))
    return Redirect(_url(item["project"], done="added") + f"#item-{item['id']}", status_code=303)


@post("/settlements/projects/{code:str}/involvement/seed", opt={"permission": Perm.AUTHENTICATED},
      include_in_schema=False)
async def involvement_seed(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """Add the guide's default deliverables the checklist lacks (twice adds nothing)."""
    principal = me(request)
    reader(principal)
    found = await _involvement.seed_checklist(principal, code)
    return Redirect(_url(found["project"]["code"], done="seeded" if found["added"] else "seeded_none"),
                    status_code=303)


@post("/settlements/involvement-items/{item_id:uuid}", opt={"permission": Perm.AUTHENTICATED},
      include_in_schema=False)
async def involvement_update(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID],
                             data: Form) -> Response[Any]:
    """Set one item's owner, due date, the date it was done (blank: not done), note and title."""
    principal = me(request)
    reader(principal)
    item = await _involvement.get_item(principal, item_id)
    form = clean(data, *ITEM_FIELDS)
    values, errors = await _read(form, new=False)
    if errors:
        return await _page(request, item["project"], status_code=422, editing=str(item_id), form=form, errors=errors)
    try:
        await _involvement.update_item(principal, item_id, **values)
    except ValidationFailed as exc:
        return await _page(request, item["project"], status_code=422, editing=str(item_id), form=form,
                           errors=form_errors(exc, ITEM_FIELDS))
    return Redirect(_url(item["project"], done="saved") + f"#item-{item_id}", status_code=303)


@post("/settlements/involvement-items/{item_id:uuid}/remove", opt={"permission": Perm.AUTHENTICATED},
      include_in_schema=False)
async def involvement_remove(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Response[Any]:
    principal = me(request)
    reader(principal)
    item = await _involvement.get_item(principal, item_id)
    await _involvement.remove_item(principal, item_id)
    return Redirect(_url(item["project"], done="removed"), status_code=303)


ROUTES: list[Any] = [involvement_page, involvement_add, involvement_seed, involvement_update, involvement_remove]
