"""Running sums behind budget against actual (SettlementFigure): each write that moves a sum adds to its row in
the same transaction, atomically (INSERT … ON CONFLICT DO UPDATE adds to what is there, so racing writes never
lose one another's amounts). `rebuild` recomputes them all from the forms and payments themselves: the bulk
loader uses it, and a test checks that the running sums always equal it."""

from __future__ import annotations

import uuid
from datetime import date

from careclub.core.db import fetch

_BUMP = """
INSERT INTO settlement_figure (id, tenant_id, created_at, project_id, month, cost_type, budget, annual, confirmed,
                               pending)
VALUES ($1, app_current_tenant(), now(), $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (tenant_id, project_id, month, cost_type) DO UPDATE SET
    budget = settlement_figure.budget + EXCLUDED.budget, annual = settlement_figure.annual + EXCLUDED.annual,
    confirmed = settlement_figure.confirmed + EXCLUDED.confirmed, pending = settlement_figure.pending + EXCLUDED.pending
"""


async def bump(project_id: uuid.UUID, month: date, cost_type: str, *, budget: int = 0, annual: int = 0,
               confirmed: int = 0, pending: int = 0) -> None:
    await fetch(_BUMP, uuid.uuid4(), project_id, month, cost_type, budget, annual, confirmed, pending)


async def budget_approved(budget_id: uuid.UUID) -> None:
    """An approved form's lines join its month's budget by cost type (the annual one: the year's)."""
    await fetch("""
        INSERT INTO settlement_figure (id, tenant_id, created_at, project_id, month, cost_type, budget, annual,
                                       confirmed, pending)
        SELECT gen_random_uuid(), app_current_tenant(), now(), b.project_id, b.month, l.cost_type,
               CASE WHEN b.kind = 'annual' THEN 0 ELSE sum(l.amount) END,
               CASE WHEN b.kind = 'annual' THEN sum(l.amount) ELSE 0 END, 0, 0
          FROM settlement_budget b JOIN settlement_budget_line l ON l.budget = b.id
         WHERE b.id = $1 GROUP BY b.project_id, b.month, b.kind, l.cost_type
        ON CONFLICT (tenant_id, project_id, month, cost_type) DO UPDATE SET
            budget = settlement_figure.budget + EXCLUDED.budget, annual = settlement_figure.annual + EXCLUDED.annual
        """, budget_id)


REBUILD = """
DELETE FROM settlement_figure;
INSERT INTO settlement_figure (id, tenant_id, created_at, project_id, month, cost_type, budget, annual, confirmed,
                               pending)
SELECT gen_random_uuid(), app_current_tenant(), now(), project_id, month, cost_type, sum(budget), sum(annual),
       sum(confirmed), sum(pending)
  FROM (SELECT b.project_id, b.month, l.cost_type, CASE WHEN b.kind = 'annual' THEN 0 ELSE l.amount END AS budget,
               CASE WHEN b.kind = 'annual' THEN l.amount ELSE 0 END AS annual, 0 AS confirmed, 0 AS pending
          FROM settlement_budget b JOIN settlement_budget_line l ON l.budget = b.id WHERE b.status = 'approved'
        UNION ALL
        SELECT project_id, month, cost_type, 0, 0, CASE WHEN status = 'confirmed' THEN amount ELSE 0 END,
               CASE WHEN status = 'recorded' THEN amount ELSE 0 END
          FROM settlement_payment WHERE status <> 'refused') parts
 GROUP BY project_id, month, cost_type
"""


async def rebuild() -> None:
    """Every running sum of the company in context recomputed from the forms and payments (row-level security
    keeps it to that company)."""
    for statement in REBUILD.split(";"):
        if statement.strip():
            await fetch(statement)
