"""The settlements tests' company: `tenants/huafu-development.toml` applied under a fresh slug (so the
example tenant's own policies and people are what is tested), every person signed in, and steps to
write budgets, pay against them, confirm, settle and walk an approval chain to its end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import OrgUnit, User
from careclub.platform.tenant_file import apply_text
from tests.conftest import unique_slug

TENANT_FILE = Path(__file__).resolve().parents[3] / "tenants" / "huafu-development.toml"
YY, GY = "P-HFYY", "P-HFGY"


@dataclass
class World:
    slug: str
    tenant_id: uuid.UUID
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # by the e-mail's local part
    by_id: dict[str, str] = field(default_factory=dict)  # user id -> local part
    org: dict[str, str] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return self.headers[who]


async def make_world(client: httpx.AsyncClient) -> World:
    slug = unique_slug("hf")
    text = TENANT_FILE.read_text(encoding="utf-8").replace('slug = "huafu-development"', f'slug = "{slug}"')
    await apply_text(text, demo=True)
    tenant = await platform_service.tenant_by_slug(slug)
    assert tenant is not None
    w = World(slug=slug, tenant_id=tenant.id)
    async with tenant_scope(tenant.id):
        for row in await User.select(User.id, User.email):
            token, _ = await platform_service.issue_token(row["id"], kind="login", hours=24 * 400)
            short = row["email"].split("@")[0]
            w.headers[short] = {"Authorization": f"Bearer {token}"}
            w.by_id[str(row["id"])] = short
        w.org = {r["code"]: str(r["id"]) for r in await OrgUnit.select(OrgUnit.id, OrgUnit.code)}
    return w


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def set_stage(client: httpx.AsyncClient, w: World, project: str, stage: str,
                    moved_in_on: str | None = None) -> Any:
    return await ok(await client.put(f"/api/v1/settlement-projects/{project}", headers=w.h("admin"),
                                     json={"stage": stage, "moved_in_on": moved_in_on}))


async def budget(client: httpx.AsyncClient, w: World, who: str, *, project: str, kind: str, month: str,
                 amounts: list[str], cost_type: str | None = "purchase", status: int = 201, **extra: Any) -> Any:
    lines = [{"description": f"line {i + 1}", "amount": money(a), **({"cost_type": cost_type or "staff"}
                                                                      if kind == "annual" else {})}
             for i, a in enumerate(amounts)]
    body = {"project": project, "kind": kind, "month": month, "title": f"{kind} {month}", "lines": lines,
            "cost_type": None if kind == "annual" else cost_type, **extra}
    return await ok(await client.post("/api/v1/settlement-budgets", headers=w.h(who), json=body), status)


async def submit_budget(client: httpx.AsyncClient, w: World, who: str, budget_id: str) -> Any:
    return await ok(await client.post(f"/api/v1/settlement-budgets/{budget_id}/submit", headers=w.h(who)))


async def walk(client: httpx.AsyncClient, w: World, request_id: str, decision: str = "approve",
               stop_after: int | None = None) -> list[tuple[str, list[str]]]:
    """Decide every step of a request as the people it names, in order; answers each step's name with
    who signed it (a countersign step: each signer). `stop_after` leaves the rest waiting."""
    walked: list[tuple[str, list[str]]] = []
    while stop_after is None or len(walked) < stop_after:
        detail = await ok(await client.get(f"/api/v1/approvals/requests/{request_id}", headers=w.h("admin")))
        if detail["status"] != "in_review":
            break
        step = next(s for s in detail["steps"] if s["status"] == "active")
        signers = []
        for slot in step["slots"]:
            if slot["decision"] is not None:
                continue
            who = next(w.by_id[u] for u in slot["user_ids"] if u in w.by_id)
            await ok(await client.post(f"/api/v1/approvals/requests/{request_id}/decisions", headers=w.h(who),
                                       json={"step_id": step["id"], "decision": decision}), 201)
            signers.append(who)
            if decision != "approve" or step["kind"] != "countersign":
                break
        walked.append((step["name"], signers))
        if decision != "approve":
            break
    return walked


@contextmanager
def on_day(day: str) -> Iterator[None]:
    """The application's clock at 10:00 in Shanghai on `day` ("2026-10-01") meanwhile, then back to now."""
    target = datetime.fromisoformat(f"{day}T02:00:00+00:00")
    clock.travel(target - clock.now())
    try:
        yield
    finally:
        clock.reset()


async def approved_budget(client: httpx.AsyncClient, w: World, *, project: str, month: str, amounts: list[str],
                          kind: str = "monthly", cost_type: str | None = "purchase", who: str = "property") -> Any:
    """A form written and approved on the first of its month, before anything is paid against it (payments dated
    before the approval are refused); the clock is back at now afterwards."""
    with on_day(f"{month}-01"):
        b = await budget(client, w, who, project=project, kind=kind, month=month, amounts=amounts,
                         cost_type=cost_type)
        b = await submit_budget(client, w, who, b["id"])
        await walk(client, w, b["approval_request"])
    return await ok(await client.get(f"/api/v1/settlement-budgets/{b['id']}", headers=w.h(who)))


async def pay(client: httpx.AsyncClient, w: World, line: str, amount: str, paid_on: str, status: int = 201,
              who: str = "property") -> Any:
    return await ok(await client.post("/api/v1/settlement-payments", headers=w.h(who), json={
        "line": line, "amount": money(amount), "paid_on": paid_on, "payee": "Supplier Ltd"}), status)


async def confirm(client: httpx.AsyncClient, w: World, payment: str, status: int = 200, who: str = "cs-lead") -> Any:
    return await ok(await client.post(f"/api/v1/settlement-payments/{payment}/confirm", headers=w.h(who)), status)
