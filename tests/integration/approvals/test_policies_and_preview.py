from __future__ import annotations

from typing import Any

from careclub.approvals.tables import ApprovalPolicy, ApprovalRequest, ApprovalStep, Meeting
from careclub.core.db import tenant_scope
from careclub.core.errors import ValidationFailed
from careclub.platform.tenant_file import apply_text
from tests.conftest import unique_slug
from tests.integration.approvals.conftest import World, world_text


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def preview(client: Any, w: World, amt: str | None, who: str = "clerk", **extra: Any) -> Any:
    body = {"subject_type": "purchase", "amount": money(amt) if amt else None, "category": None,
            "in_plan": False, "org_unit": str(w.units["P1"]), **extra}
    return await client.post("/api/v1/approvals/preview", json=body, headers=w.h(who))


async def test_applying_the_file_twice_changes_nothing(world: World) -> None:
    again = await apply_text(world_text(world.slug), demo=False)
    assert again.changes == []
    async with tenant_scope(world.tenant_id):
        versions = await ApprovalPolicy.select(ApprovalPolicy.version).where(ApprovalPolicy.subject_type == "purchase")
    assert [v["version"] for v in versions] == [1]


async def test_preview_answers_the_chain_and_who_would_approve(client: Any, world: World) -> None:
    r = await preview(client, world, "99.99")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["policy_version"] == 1
    assert [(s["kind"], s["name"]) for s in body["chain"]] == [("auto", "Small purchases pass")]
    assert body["chain"][0]["approvers"] == []

    r = await preview(client, world, "100.00")
    [step] = r.json()["chain"]
    assert step["kind"] == "single"
    assert {a["name"] for a in step["approvers"]} == {"Pam Centre", "Paul Centre"}

    r = await preview(client, world, "9999.99")
    [step] = r.json()["chain"]
    assert step["kind"] == "countersign"
    assert [sorted(p["name"] for p in s["people"]) for s in step["signers"]] == [
        ["Pat Manager"], ["Dana Deputy", "Rita Reviewer"], ["Pam Centre", "Paul Centre"]]

    r = await preview(client, world, "10000.00")
    assert [s["kind"] for s in r.json()["chain"]] == ["any_of", "meeting", "committee"]
    assert {a["name"] for a in r.json()["chain"][1]["approvers"]} == {"Lee Board", "Lou Board"}
    assert [a["name"] for a in r.json()["chain"][2]["approvers"]] == ["Lou Board"]


async def test_preview_org_unit_may_be_null_an_id_or_a_code(client: Any, world: World) -> None:
    by_id = (await preview(client, world, "5000.00")).json()
    by_code = (await preview(client, world, "5000.00", org_unit="P1")).json()
    assert by_id == by_code
    company = (await preview(client, world, "5000.00", org_unit=None)).json()
    assert company["org_unit"]["code"] == "HQ"
    # At the company itself there is no project manager and no region: those signers are empty.
    assert [len(s["people"]) for s in company["chain"][0]["signers"]] == [0, 0, 2]


async def test_preview_creates_nothing(client: Any, world: World) -> None:
    for amount in ("1.00", "500.00", "5000.00", "50000.00"):
        assert (await preview(client, world, amount)).status_code == 200
    async with tenant_scope(world.tenant_id):
        assert await ApprovalRequest.count() == 0
        assert await ApprovalStep.count() == 0
        assert await Meeting.count() == 0


async def test_preview_refusals_name_the_field(client: Any, world: World) -> None:
    r = await preview(client, world, "1.00", subject_type="no_such_thing")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "approval_policy_not_found"
    for bad in ("1.234", "-5.00", "1e5", "abc"):
        r = await preview(client, world, bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["field"] == "amount.amount"
    r = await preview(client, world, None, amount={"amount": "5.00", "currency": "USD"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "amount.currency"
    r = await preview(client, world, None, amount=5)
    assert r.status_code == 422
    assert "amount" in r.json()["error"]["message"]
    r = await preview(client, world, "1.00", org_unit="NOPE")
    assert r.status_code == 404
    r = await preview(client, world, "1.00", surprise=True)
    assert r.status_code == 422


async def test_preview_needs_a_staff_token(client: Any, world: World) -> None:
    r = await client.post("/api/v1/approvals/preview", json={"subject_type": "purchase", "amount": money("1.00"),
                                                             "category": None, "in_plan": False, "org_unit": None})
    assert r.status_code == 401


async def test_policy_with_a_gap_is_refused_and_nothing_is_applied(world: World) -> None:
    slug = unique_slug("gap")
    text = world_text(slug).replace('at_least = "1000.00"\nup_to = "9999.99"',
                                    'at_least = "1000.00"\nup_to = "5000.00"')
    try:
        await apply_text(text, demo=False)
    except ValidationFailed as exc:
        assert "amounts 5000.01–9999.99 of off-plan match no rule" in exc.message
        assert "amounts 5000.01–9999.99 of in-plan match no rule" in exc.message
    else:
        raise AssertionError("a policy with a gap was applied")
    from careclub.platform import service as platform_service

    assert await platform_service.tenant_by_slug(slug) is None


async def test_policy_with_an_overlap_is_refused(world: World) -> None:
    text = world_text(unique_slug("ovl")).replace('above = "9999.99"', 'above = "9000.00"')
    try:
        await apply_text(text, demo=False)
    except ValidationFailed as exc:
        assert "amounts 9000.01–9999.99 of off-plan match more than one rule (rules 3 and 4)" in exc.message
    else:
        raise AssertionError("a policy with an overlap was applied")


async def test_policy_whose_step_finds_nobody_is_refused(world: World) -> None:
    text = world_text(unique_slug("nobody")).replace('{ role = "project_manager", at = "unit" }',
                                                     '{ role = "treasurer", at = "unit" }')
    try:
        await apply_text(text, demo=False)
    except ValidationFailed as exc:
        assert exc.code == "policy_without_approver"
        assert "nobody is role treasurer at unit" in exc.message
    else:
        raise AssertionError("a policy without approvers was applied")


async def test_policy_api_versions_and_validates(client: Any, world: World) -> None:
    r = await client.get("/api/v1/approvals/policies/purchase", headers=world.h("admin"))
    assert r.status_code == 200
    spec = r.json()["spec"]
    same = await client.put("/api/v1/approvals/policies/purchase", json={"policy": spec}, headers=world.h("admin"))
    assert same.status_code == 200, same.text
    assert same.json()["changed"] is False and same.json()["version"] == 1
    spec["rules"][0]["below"] = "50.00"
    gap = await client.put("/api/v1/approvals/policies/purchase", json={"policy": spec}, headers=world.h("admin"))
    assert gap.status_code == 422
    assert "amounts 50.00–99.99 of off-plan match no rule" in gap.json()["error"]["message"]
    spec["rules"][1]["at_least"] = "50.00"
    ok = await client.put("/api/v1/approvals/policies/purchase", json={"policy": spec}, headers=world.h("admin"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2 and ok.json()["changed"] is True
    r = await preview(client, world, "60.00")
    assert r.json()["policy_version"] == 2
    assert r.json()["chain"][0]["kind"] == "single"
    forbidden = await client.put("/api/v1/approvals/policies/purchase", json={"policy": spec}, headers=world.h("pmc1"))
    assert forbidden.status_code == 403
    typo = await client.put("/api/v1/approvals/policies/purchase",
                            json={"policy": {**spec, "rules": [{"stepz": []}]}}, headers=world.h("admin"))
    assert typo.status_code == 422
    assert "rules[0]" in typo.json()["error"]["field"]


async def test_concurrent_policy_saves_make_distinct_versions(client: Any, world: World) -> None:
    import asyncio

    spec = (await client.get("/api/v1/approvals/policies/purchase", headers=world.h("admin"))).json()["spec"]

    async def save(i: int) -> Any:
        body = {**spec, "name": f"Purchases v{i}"}
        return await client.put("/api/v1/approvals/policies/purchase", json={"policy": body},
                                headers=world.h("admin"))

    results = await asyncio.gather(*(save(i) for i in range(6)))
    # Serialised saves: every one lands, as consecutive versions.
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    versions = sorted(r.json()["version"] for r in results if r.status_code == 200)
    assert versions == list(range(2, 2 + len(versions)))
    async with tenant_scope(world.tenant_id):
        current = await ApprovalPolicy.select(ApprovalPolicy.version).where(
            ApprovalPolicy.subject_type == "purchase", ApprovalPolicy.is_current.eq(True))
    assert [c["version"] for c in current] == [versions[-1]]
