"""The approval policy pages: the list of policies, and a policy's editor — a form of rules (by
category, plan flag and amount band, each with its steps and their approvers), a picture of the
bands showing any gap or overlap, the "who would approve this?" box, and the policy as TOML for
those who prefer text (the format of tenant files).

The form works as a plain POST: its row buttons (`op=add_step:0`, …) re-draw it with the rows
changed, "Check" re-draws it with every problem found, "Save" stores it. /static/approvals/
policy_form.js does the row buttons and redraws the picture of the bands as one types, by posting
the same form (nothing is drawn twice, in Python and in JavaScript). Saving from the form or from
the TOML goes through the one validator (`service.apply_policy`).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from careclub.approvals import bands, policy_form, policy_toml, rules, service
from careclub.approvals.policy_form import PolicyForm
from careclub.approvals.rules import PolicySpec
from careclub.core.errors import AppError, Forbidden, NotFound, ValidationFailed, each_error
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_typed
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.views import principal_of
from careclub.platform.views_admin._common import error_text

Form = URLEncodedBody[dict[str, str]]

NOTICES = {
    "saved": N_("The policy was saved as a new version."),
    "unchanged": N_("Nothing changed: the policy is the same as the current version."),
}
# The subject types the application registers, by what people call them.
SUBJECT_LABELS = {"member_application": N_("Club member applications"), "fund_request": N_("Fund requests"),
                  "annual_plan": N_("Annual fund plans and their revisions"),
                  "service_item": N_("Paid services and their fee standards"),
                  "property_budget": N_("Property company budgets: annual, and monthly by the project's stage"),
                  "property_work": N_("Unplanned work, purchases on the developer's behalf, sales-office consumables"),
                  "budget_addition": N_("Budget additions and settlements above budget"),
                  "property_settlement": N_("Monthly settlements with the property company")}
# Categories a domain reads its requests by (others are shown as written in the policy).
CATEGORY_LABELS = {"pre_move_in": N_("before move-in"), "post_move_in": N_("after move-in"),
                   "annual": N_("annual budget"), "unplanned_pre_move_in": N_("unplanned work before move-in"),
                   "unplanned_post_move_in": N_("unplanned work after move-in"),
                   "proxy_purchase": N_("purchase on the developer's behalf"),
                   "sales_office": N_("sales-office consumables"), "over_budget": N_("above budget"),
                   "addition": N_("budget addition")}
PLACE_LABELS = {"unit": N_("the requester's unit"), "parent": N_("the unit above the requester's"),
                "company": N_("the company"), "region": N_("the requester's region"),
                "branch": N_("the requester's branch"), "project": N_("the requester's project"),
                "department": N_("the requester's department"), "fixed": N_("a fixed unit")}
LOWER_LABELS = {"at_least": N_("at least"), "above": N_("above")}
UPPER_LABELS = {"below": N_("below"), "up_to": N_("up to")}
DEADLINE_LABELS = {"working_days": N_("working days"), "hours": N_("hours")}
KIND_LABELS = {"single": N_("Single approver"), "any_of": N_("Any one of"), "countersign": N_("Countersign"),
               "meeting": N_("Meeting"), "committee": N_("Committee"), "auto": N_("Automatic")}
IN_PLAN_LABELS = {"": N_("in or outside the plan"), "in": N_("in the approved plan"), "off": N_("outside the plan")}
COVERAGE = N_("Some amounts match no rule, or more than one rule: see the bands below.")
NO_PROBLEMS = N_("No problems found: the policy can be saved.")


def _me(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_of(request)
    assert principal is not None
    return principal


def _company_manager(principal: Principal) -> bool:
    """Policies and bodies are company-wide: managing them needs the permission at the root."""
    return principal.covers(Perm.APPROVALS_MANAGE, None)


async def _page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    from careclub.approvals.views import page  # the approvals pages' frame (navigation badges)

    return await page(request, template, status_code=status_code, **ctx)


def subject_label(subject_type: str) -> str:
    return _(SUBJECT_LABELS[subject_type]) if subject_type in SUBJECT_LABELS else subject_type


def category_label(category: str) -> str:
    return _(CATEGORY_LABELS[category]) if category in CATEGORY_LABELS else category


@get("/approvals/policies", opt={"permission": Perm.APPROVALS_MANAGE}, include_in_schema=False)
async def policies(request: Request[Any, Any, Any]) -> Template:
    current = await service.list_policies()
    have = {p["subject_type"] for p in current}
    missing = [s for s in service.registered_subjects() if s not in have]
    return await _page(request, "approvals/policies.html", policies=current, missing=missing,
                       subject_label=subject_label, bodies=await service.list_bodies())


# ---- the editor ------------------------------------------------------------------------------

async def _policy_or_none(subject_type: str) -> dict[str, Any] | None:
    """The current policy; None for a subject type the application knows that has none yet (the
    page then starts one); 404 for anything else."""
    try:
        return await service.current_policy(subject_type)
    except NotFound:
        if subject_type in service.registered_subjects():
            return None
        raise


def problem_text(problem: AppError) -> str:
    """A problem in the reader's words, without the where (it is shown beside its field)."""
    if isinstance(problem, rules.PolicyProblem):
        if problem.code == "policy_incomplete":
            return _(COVERAGE)
        params = dict(problem.short_params)
        if params.get("kind") in KIND_LABELS:  # the kind as the form's select names it
            params["kind"] = _(KIND_LABELS[params["kind"]]).lower()
        try:
            return _(problem.short) % params
        except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder
            return problem.message
    return error_text(problem)


def toml_text(problem: AppError) -> str:
    """A problem in the reader's words, with its where (for the TOML, which has no fields)."""
    if isinstance(problem, rules.PolicyProblem):
        try:
            return f"{problem.field}: {_(problem.short) % problem.short_params}"
        except (KeyError, ValueError, TypeError):
            return problem.message
    return error_text(problem)


def _place(errors: dict[str, Any], form: PolicyForm, problems: list[AppError], parsed: policy_form.Parsed) -> None:
    """Put each problem beside its field (those with no field on the page above the form)."""
    placed = policy_form.placed_keys(form)
    for problem in problems:
        if problem.code == "policy_incomplete" and parsed.broken:
            continue  # judged on amounts that could not be read: the picture says which rule to fix
        key = policy_form.form_key(problem.field)
        text = problem_text(problem)
        if key not in placed:
            key = "form"
        if key == "form":
            errors.setdefault("form", [])
            if text not in errors["form"]:
                errors["form"].append(text)
        elif key not in errors:  # what could not be read says more than what follows from it
            errors[key] = text
        elif text not in errors[key]:
            errors[key] = f"{errors[key]} {text}"


def _band_rows(spec: PolicySpec, checked: rules.Checked, broken: set[int]) -> list[dict[str, Any]]:
    names = {i + 1: r.name for i, r in enumerate(spec.rules)}
    rows = []
    for row in bands.bands(spec, [r for r in checked.rules if r.index not in broken],
                                 set(checked.broken) | broken):
        if row.scope is not None and row.segments and all(s.status == "general" for s in row.segments):
            continue  # this unit's own rules leave this category and plan flag to the general ones
        label = [row.category] if row.category else []
        label.append(_("in the approved plan") if row.in_plan else _("outside the plan"))
        if row.scope:
            label.append(_("at unit %(unit)s") % {"unit": row.scope})
        segments = []
        for s in row.segments:
            if s.status == "ok":
                n = s.rules[0]
                text = _("rule %(n)s") % {"n": n} + (f" · {names[n]}" if names.get(n) else "")
            elif s.status == "overlap":
                text = _("rules %(list)s overlap") % {"list": ", ".join(str(n) for n in s.rules)}
            elif s.status == "gap":
                text = _("no rule: a gap")
            else:
                text = _("the general rules")
            segments.append({"status": s.status, "grow": s.grow, "mark": s.mark, "range": s.range, "text": text})
        rows.append({"label": " · ".join(label), "segments": segments, "trouble": row.trouble,
                     "broken": ", ".join(str(n) for n in row.broken)})
    return rows


def _choices(available: dict[str, list[dict[str, Any]]], form: PolicyForm) -> dict[str, Any]:
    """The selects' options, plus any value the form holds that is not among them (kept, so the
    form shows what the policy says and the validator names what is wrong with it)."""
    roles = [(f"role:{r['code']}", _(r["name"]) if r["builtin"] else r["name"]) for r in available["roles"]]
    bodies = [(f"body:{b['code']}", b["name"]) for b in available["bodies"]]
    units = [(u["code"], f"{u['name']} ({u['code']})") for u in available["units"]]
    known = {v for v, _label in roles + bodies}
    unit_codes = {u for u, _label in units}
    for rule in form.rules:
        if rule.org_unit and rule.org_unit not in unit_codes:
            units.append((rule.org_unit, rule.org_unit))
            unit_codes.add(rule.org_unit)
        for step in rule.steps:
            for a in [*step.approvers, *step.escalate_to]:
                if a.who and a.who not in known:
                    (bodies if a.who.startswith("body:") else roles).append((a.who, a.who.partition(":")[2] or a.who))
                    known.add(a.who)
                if a.unit and a.unit not in unit_codes:
                    units.append((a.unit, a.unit))
                    unit_codes.add(a.unit)
    return {"roles": roles, "bodies": bodies, "units": units,
            "kinds": [(k, k) for k in rules.STEP_KINDS],
            "places": [(p, _(PLACE_LABELS[p])) for p in policy_form.PLACES],
            "lower": [(k, _(LOWER_LABELS[k])) for k in policy_form.LOWER_KINDS],
            "upper": [(k, _(UPPER_LABELS[k])) for k in policy_form.UPPER_KINDS],
            "deadline": [(k, _(DEADLINE_LABELS[k])) for k in policy_form.DEADLINE_UNITS],
            "in_plan": [(k, _(v)) for k, v in IN_PLAN_LABELS.items()],
            "categories": form.category_list()}


async def _editor(request: Request[Any, Any, Any], subject_type: str, *, form: PolicyForm | None = None,
                  problems: list[AppError] | None = None, text: str | None = None,
                  toml_errors: list[str] | None = None, status_code: int = 200, notice: str | None = None,
                  probe: dict[str, str] | None = None) -> Template:
    policy = await _policy_or_none(subject_type)
    stored = service.spec_of(policy) if policy else PolicySpec(subject_type=subject_type)
    if form is None:
        form = policy_form.from_spec(stored) if policy else PolicyForm(rules=[policy_form.blank_rule()])
    policy_form.for_display(form)
    parsed = policy_form.to_spec(form, subject_type)
    errors: dict[str, Any] = {k: _(v) for k, v in parsed.errors.items()} if problems is not None else {}
    if problems is not None:
        _place(errors, form, problems, parsed)
    checked = rules.check_policy(parsed.spec)  # the picture (pure: no lookups)
    probe = probe or {}
    result = None
    if policy and (probe.get("amount") or probe.get("category") or probe.get("org_unit")):
        try:
            amount = parse_typed(probe["amount"], field="amount") if probe.get("amount") else None
            result = await service.preview(subject_type=subject_type, amount=amount,
                                           category=probe.get("category") or None,
                                           in_plan=probe.get("in_plan") == "1", org_unit=probe.get("org_unit") or None)
        except AppError as exc:
            errors["probe"] = error_text(exc)
    field_errors = sum(1 for k in errors if k not in ("form", "probe"))
    return await _page(
        request, "approvals/policy.html", status_code=status_code, policy=policy, spec=stored,
        subject_type=subject_type, title=stored.name or subject_label(subject_type), form=form,
        errors=errors, field_errors=field_errors, toml_errors=toml_errors or [],
        text=text if text is not None else policy_toml.dumps(stored if policy else parsed.spec),
        notice=notice, probe=probe, result=result, bands=_band_rows(parsed.spec, checked, parsed.broken),
        choices=_choices(await service.editor_choices(), form))


@get("/approvals/policies/{subject_type:str}", opt={"permission": Perm.APPROVALS_MANAGE}, include_in_schema=False)
async def policy_page(request: Request[Any, Any, Any], subject_type: FromPath[str], done: FromQuery[str | None] = None,
                      amount: FromQuery[str | None] = None, category: FromQuery[str | None] = None,
                      in_plan: FromQuery[str | None] = None, org_unit: FromQuery[str | None] = None) -> Template:
    probe = {"amount": (amount or "").strip(), "category": (category or "").strip(), "in_plan": in_plan or "",
             "org_unit": (org_unit or "").strip()}
    return await _editor(request, subject_type, notice=_(NOTICES[done]) if done in NOTICES else None, probe=probe)


def _saved(subject_type: str, changed: bool) -> Response[Any]:
    return Redirect(f"/approvals/policies/{subject_type}?done={'saved' if changed else 'unchanged'}", status_code=303)


@post("/approvals/policies/{subject_type:str}", opt={"permission": Perm.APPROVALS_MANAGE}, include_in_schema=False)
async def policy_save(request: Request[Any, Any, Any], subject_type: FromPath[str], data: Form) -> Response[Any]:
    """The form (`op`: a row button, `bands`, `check` or `save`), or the policy as TOML (`policy`)."""
    await _policy_or_none(subject_type)
    principal = _me(request)
    if "policy" in data:
        return await _save_toml(request, principal, subject_type, data.get("policy") or "")
    form = policy_form.read(data)
    op = (data.get("op") or "save").strip()
    if policy_form.apply_op(form, op) or op not in ("check", "save"):  # a row button, or the bands redrawn
        return await _editor(request, subject_type, form=form)
    parsed = policy_form.to_spec(form, subject_type)
    if op == "check":
        checked = await service.policy_problems(parsed.spec)
        return await _editor(request, subject_type, form=form, problems=list(checked.problems),
                             notice=None if checked.problems or parsed.errors else _(NO_PROBLEMS))
    if not _company_manager(principal):
        refused = Forbidden("Policies are company-wide: you need to manage approvals at the company to change them.")
        return await _editor(request, subject_type, form=form, problems=[refused], status_code=403)
    if parsed.errors:  # what could not be read, and everything else the validator finds
        checked = await service.policy_problems(parsed.spec)
        return await _editor(request, subject_type, form=form, problems=list(checked.problems), status_code=422)
    try:
        _row, changed = await service.apply_policy(parsed.spec, source="editor", actor_id=principal.user_id)
    except AppError as exc:
        return await _editor(request, subject_type, form=form, problems=each_error(exc), status_code=exc.status_code)
    return _saved(subject_type, changed)


async def _save_toml(request: Request[Any, Any, Any], principal: Principal, subject_type: str,
                     text: str) -> Response[Any]:
    try:
        if not _company_manager(principal):
            raise Forbidden("Policies are company-wide: you need to manage approvals at the company to change them.")
        spec = policy_toml.loads(text)
        if spec.subject_type != subject_type:
            raise ValidationFailed("subject_type must stay the same", field="policy")
        _row, changed = await service.apply_policy(spec, source="editor", actor_id=principal.user_id)
    except AppError as exc:
        return await _editor(request, subject_type, text=text, status_code=exc.status_code,
                             toml_errors=[toml_text(e) for e in each_error(exc)])
    return _saved(subject_type, changed)


ROUTES: list[Any] = [policies, policy_page, policy_save]
