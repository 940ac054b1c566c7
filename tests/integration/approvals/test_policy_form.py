"""The approval policy editor as a form (rules, steps, approvers; amounts typed in yuan): a policy
made in the form is saved and shown again identically, the picture of the bands shows gaps and
overlaps, every problem is shown at once beside its field with what was typed kept, a policy made
from the form routes requests exactly like the same policy written as TOML, the row buttons work
without JavaScript, and concurrent saves make consecutive versions."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import msgspec
from litestar import Litestar

from careclub.approvals import policy_toml, service
from careclub.approvals.rules import ApproverSpec, PolicySpec, RuleSpec, StepSpec
from careclub.approvals.tables import ApprovalPolicy
from careclub.core.db import tenant_scope
from tests.integration.approvals.conftest import World
from tests.integration.approvals.test_pages import signed_in
from tests.integration.platform.pages import csrf_token


async def _noop(request: dict[str, Any]) -> None:
    return None


for _subject in ("form_trip", "form_route", "toml_route", "form_errors", "form_rows", "form_race"):
    service.register_subject(_subject, on_approved=_noop, on_rejected=_noop)


class _Fields(HTMLParser):
    """The fields of the policy form as a browser would post them (selects: the chosen option)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None
        self._chosen: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == "policy-form"
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first, self._chosen = a.get("name"), None, None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self._chosen = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        if tag == "select" and self._select:
            self.fields[self._select] = self._chosen if self._chosen is not None else (self._first or "")
            self._select = None


def fields(page: httpx.Response) -> dict[str, str]:
    parser = _Fields()
    parser.feed(page.text)
    return {k: v for k, v in parser.fields.items() if k != "_csrf_token"}


def error_for(page: httpx.Response, key: str) -> str | None:
    found = re.search(rf'data-error-for="{re.escape(key)}">([^<]*)<', page.text)
    return found.group(1) if found else None


async def post(c: httpx.AsyncClient, url: str, data: dict[str, str], op: str = "save") -> httpx.Response:
    page = await c.get(url)
    assert page.status_code == 200, page.text[:300]
    return await c.post(url, data={"_csrf_token": csrf_token(page), **data, "op": op})


# A policy as people fill in the form: amounts in yuan as they type them, one rule per band.
TRIP_FORM = {
    "name": "Business trips", "categories": "",
    "rules[0].name": "small", "rules[0].in_plan": "", "rules[0].org_unit": "",
    "rules[0].lower_kind": "at_least", "rules[0].lower": "", "rules[0].upper_kind": "below", "rules[0].upper": "1,000",
    "rules[0].steps[0].kind": "auto", "rules[0].steps[0].name": "Small trips pass",
    "rules[0].steps[0].reason": "petty cash covers them",
    "rules[1].name": "large", "rules[1].in_plan": "", "rules[1].org_unit": "",
    "rules[1].lower_kind": "at_least", "rules[1].lower": "1000", "rules[1].upper_kind": "below", "rules[1].upper": "",
    "rules[1].steps[0].kind": "single", "rules[1].steps[0].name": "Centre approves",
    "rules[1].steps[0].deadline": "4", "rules[1].steps[0].deadline_unit": "hours", "rules[1].steps[0].remind": "1",
    "rules[1].steps[0].approvers[0].who": "role:approver", "rules[1].steps[0].approvers[0].place": "fixed",
    "rules[1].steps[0].approvers[0].unit": "PMC",
    "rules[1].steps[0].escalate_to[0].who": "role:approver", "rules[1].steps[0].escalate_to[0].place": "company",
    "rules[1].steps[1].kind": "countersign", "rules[1].steps[1].name": "Countersign",
    "rules[1].steps[1].deadline": "3", "rules[1].steps[1].deadline_unit": "working_days",
    "rules[1].steps[1].approvers[0].who": "role:project_manager", "rules[1].steps[1].approvers[0].place": "unit",
    "rules[1].steps[1].approvers[1].who": "role:region_reviewer", "rules[1].steps[1].approvers[1].place": "region",
    "rules[1].steps[2].kind": "meeting", "rules[1].steps[2].name": "Board decides",
    "rules[1].steps[2].approvers[0].who": "body:board",
}

TRIP_SPEC = PolicySpec(subject_type="form_trip", name="Business trips", rules=[
    RuleSpec(name="small", below="1000.00", steps=[
        StepSpec(kind="auto", name="Small trips pass", reason="petty cash covers them")]),
    RuleSpec(name="large", at_least="1000.00", steps=[
        StepSpec(kind="single", name="Centre approves", approvers=[ApproverSpec(role="approver", unit="PMC")],
                 deadline_hours=4, remind_before_hours=1, escalate_to=[ApproverSpec(role="approver", at="company")]),
        StepSpec(kind="countersign", name="Countersign", deadline_working_days=3,
                 approvers=[ApproverSpec(role="project_manager"), ApproverSpec(role="region_reviewer", at="region")]),
        StepSpec(kind="meeting", name="Board decides", approvers=[ApproverSpec(body="board")])]),
])


async def stored(w: World, subject_type: str) -> list[dict[str, Any]]:
    async with tenant_scope(w.tenant_id):
        return await ApprovalPolicy.select(ApprovalPolicy.version, ApprovalPolicy.spec, ApprovalPolicy.is_current,
                                           ApprovalPolicy.source).where(
            ApprovalPolicy.subject_type == subject_type).order_by(ApprovalPolicy.version)


async def test_a_policy_made_in_the_form_is_saved_and_shown_again_identically(app: Litestar, world: World) -> None:
    url = "/approvals/policies/form_trip"
    async with signed_in(app, world, "admin") as c:
        listing = await c.get("/approvals/policies")
        assert 'data-testid="missing-form_trip"' in listing.text and f'href="{url}"' in listing.text
        blank = await c.get(url)
        assert blank.status_code == 200 and 'data-testid="not-set-up"' in blank.text
        assert blank.text.count('data-testid="rule"') == 1  # a new policy starts with one empty rule

        r = await post(c, url, TRIP_FORM)
        assert r.status_code == 303 and r.headers["location"].endswith("done=saved"), r.text[-3000:]
        [row] = await stored(world, "form_trip")
        assert msgspec.convert(row["spec"], PolicySpec) == TRIP_SPEC
        assert row["source"] == "editor"

        shown = fields(await c.get(url))
        assert shown["rules[0].upper"] == "1000.00" and shown["rules[1].steps[0].approvers[0].unit"] == "PMC"
        assert shown["rules[1].steps[0].deadline_unit"] == "hours"
        again = await post(c, url, shown)
        assert again.status_code == 303 and again.headers["location"].endswith("done=unchanged")
        assert fields(await c.get(url)) == shown
        assert [v["version"] for v in await stored(world, "form_trip")] == [1]

        # the advanced view shows the same policy as TOML
        page = await c.get(url)
        text = re.search(r'<textarea name="policy"[^>]*>(.*?)</textarea>', page.text, re.S)
        assert text is not None
        import html

        assert policy_toml.loads(html.unescape(text.group(1))) == TRIP_SPEC


async def test_the_bands_show_gaps_and_overlaps_before_saving(app: Litestar, world: World) -> None:
    url = "/approvals/policies/form_trip"
    form = {k: v for k, v in TRIP_FORM.items()}
    form["rules[0].upper"] = "1,100"  # overlaps rule 2 from 1,000.00 to 1,099.99
    form["rules[1].lower"] = "1,000"
    form["rules[1].upper"] = "50,000"  # nothing above
    async with signed_in(app, world, "admin") as c:
        for op in ("check", "bands"):
            r = await post(c, url, form, op=op)
            assert r.status_code == 200
            legend = re.findall(r'data-status="(\w+)"><span class="band-range">([^<]*)</span>', r.text)
            assert ("overlap", "1,000.00 – 1,099.99") in legend, legend
            assert ("gap", "≥ 50,000.00") in legend
            assert ("ok", "0.00 – 999.99") in legend
            assert 'value="1,100"' in r.text  # as typed
        checked = await post(c, url, form, op="check")
        assert 'data-testid="bands-error"' in checked.text
        refused = await post(c, url, form)
        assert refused.status_code == 422 and 'data-testid="bands-error"' in refused.text
        assert await stored(world, "form_trip") == []
        # a whole policy: every piece matches exactly one rule
        fine = await post(c, url, TRIP_FORM, op="check")
        statuses = re.findall(r'data-status="(\w+)"', fine.text)
        assert statuses and set(statuses) == {"ok"}
        assert "No problems found" in fine.text


async def test_every_problem_is_shown_at_once_beside_its_field(app: Litestar, world: World) -> None:
    url = "/approvals/policies/form_errors"
    form = {
        "name": "Mistakes", "categories": "repairs, gardens",
        "rules[0].name": "typo", "rules[0].category": "repairs", "rules[0].lower": "12.345", "rules[0].upper": "",
        "rules[0].steps[0].kind": "single", "rules[0].steps[0].name": "",
        "rules[0].steps[0].deadline": "soon", "rules[0].steps[0].deadline_unit": "hours",
        "rules[0].steps[0].approvers[0].who": "role:approver", "rules[0].steps[0].approvers[0].place": "fixed",
        "rules[0].steps[0].approvers[0].unit": "",
        "rules[0].steps[0].approvers[1].who": "role:treasurer", "rules[0].steps[0].approvers[1].place": "company",
        "rules[1].name": "gardens", "rules[1].category": "gardens",
        "rules[1].steps[0].kind": "auto", "rules[1].steps[0].name": "Pass", "rules[1].steps[0].reason": "",
    }
    async with signed_in(app, world, "admin") as c:
        r = await post(c, url, form)
    assert r.status_code == 422
    expected = {
        "rules[0].lower": "Type an amount in yuan",
        "rules[0].steps[0].name": "a step needs a name",
        "rules[0].steps[0].deadline": "Type a whole number",
        "rules[0].steps[0].approvers": "a single step has exactly one approver",
        "rules[0].steps[0].approvers[0]": "Choose the unit",
        "rules[0].steps[0].approvers[1]": "nobody is role treasurer at company",
        "rules[1].steps[0].reason": "an auto step records why no person is needed",
    }
    for key, text in expected.items():
        shown = error_for(r, key)
        assert shown is not None and text in shown, (key, shown)
    assert 'data-testid="form-errors"' in r.text and "7 fields need attention" in r.text
    # what was typed stays, wrong or not
    assert 'value="12.345"' in r.text and 'value="soon"' in r.text and 'value="repairs, gardens"' in r.text
    assert 'aria-invalid="true" aria-describedby="e-f-rules-0-lower"' in r.text
    assert await stored(world, "form_errors") == []


async def test_a_policy_from_the_form_routes_requests_like_the_same_policy_in_toml(app: Litestar,
                                                                                   world: World) -> None:
    form = {k: v for k, v in TRIP_FORM.items()}
    toml = policy_toml.dumps(msgspec.structs.replace(TRIP_SPEC, subject_type="toml_route"))
    async with signed_in(app, world, "admin") as c:
        r = await post(c, "/approvals/policies/form_route", form)
        assert r.status_code == 303, r.text[-2000:]
        r = await post(c, "/approvals/policies/toml_route", {"policy": toml})
        assert r.status_code == 303, r.text[-2000:]
    async with tenant_scope(world.tenant_id):
        for amount in (0, 1, 99_999, 100_000, 100_001, 5_000_000, 10**12):
            for unit in ("P1", "REG", "HQ", "PMC"):
                a = await service.preview(subject_type="form_route", amount=amount, category=None, in_plan=False,
                                          org_unit=unit)
                b = await service.preview(subject_type="toml_route", amount=amount, category=None, in_plan=False,
                                          org_unit=unit)
                assert {**a, "subject_type": ""} == {**b, "subject_type": ""}, (amount, unit)
        big = await service.preview(subject_type="form_route", amount=100_000, category=None, in_plan=True,
                                    org_unit="P1")
    assert [s["kind"] for s in big["chain"]] == ["single", "countersign", "meeting"]
    assert {p["name"] for p in big["chain"][0]["approvers"]} == {"Pam Centre", "Paul Centre"}


async def test_row_buttons_work_without_javascript(app: Litestar, world: World) -> None:
    url = "/approvals/policies/form_rows"
    async with signed_in(app, world, "admin") as c:
        page = await c.get(url)
        form = fields(page)
        form["rules[0].name"] = "first"
        r = await post(c, url, form, op="add_rule")
        assert r.status_code == 200 and r.text.count('data-testid="rule"') == 2 and 'value="first"' in r.text
        form = fields(r)
        r = await post(c, url, form, op="add_step:1")
        assert r.text.count('data-testid="step"') == 3
        r = await post(c, url, fields(r), op="add_approver:1:1")
        assert 'name="rules[1].steps[1].approvers[1].who"' in r.text
        r = await post(c, url, fields(r), op="add_escalate:0:0")
        assert 'name="rules[0].steps[0].escalate_to[0].who"' in r.text
        r = await post(c, url, fields(r), op="remove_step:1:0")
        assert r.text.count('data-testid="step"') == 2
        r = await post(c, url, fields(r), op="remove_rule:0")
        assert r.text.count('data-testid="rule"') == 1 and 'value="first"' not in r.text
        # a stale button (a row another tab removed) changes nothing and fails nothing
        r = await post(c, url, fields(r), op="remove_rule:7")
        assert r.status_code == 200 and r.text.count('data-testid="rule"') == 1
    assert await stored(world, "form_rows") == []


async def test_concurrent_form_saves_make_consecutive_versions(app: Litestar, world: World) -> None:
    url = "/approvals/policies/form_race"
    async with signed_in(app, world, "admin") as c:
        page = await c.get(url)
        token = csrf_token(page)

        async def save(i: int) -> httpx.Response:
            return await c.post(url, data={"_csrf_token": token, **TRIP_FORM, "name": f"Trips {i}", "op": "save"})

        results = await asyncio.gather(*(save(i) for i in range(6)))
        assert all(r.status_code == 303 for r in results), [r.status_code for r in results]
        rows = await stored(world, "form_race")
        assert [r["version"] for r in rows] == list(range(1, 7))
        assert [r["is_current"] for r in rows] == [False] * 5 + [True]
        assert sorted(r["spec"]["name"] for r in rows) == [f"Trips {i}" for i in range(6)]
        # the current policy again: no new version
        same = await save(int(rows[-1]["spec"]["name"].split()[-1]))
        assert same.status_code == 303 and same.headers["location"].endswith("done=unchanged")
    assert len(await stored(world, "form_race")) == 6


async def test_only_company_managers_save_and_unknown_subjects_are_404(app: Litestar, world: World) -> None:
    async with signed_in(app, world, "regmgr") as c:  # manages approvals in a region only
        r = await post(c, "/approvals/policies/form_trip", TRIP_FORM, op="check")
        assert r.status_code == 200
        r = await post(c, "/approvals/policies/form_trip", TRIP_FORM)
        assert r.status_code == 403 and "company-wide" in r.text
    assert await stored(world, "form_trip") == []
    async with signed_in(app, world, "admin") as c:
        assert (await c.get("/approvals/policies/no_such_subject")).status_code == 404
        page = await c.get("/approvals/policies/purchase")
        r = await c.post("/approvals/policies/no_such_subject", data={"_csrf_token": csrf_token(page), "op": "save"})
        assert r.status_code == 404
