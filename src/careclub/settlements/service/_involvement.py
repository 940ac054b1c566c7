"""Early involvement (§3.1) as checklists per project. Placeholder: the interface the project page uses."""

from __future__ import annotations

import uuid
from typing import Any


async def panel(project_id: uuid.UUID) -> dict[str, Any]:
    """For the project page: each stage's progress and the deliverables past their date.
    {"stages": [{"stage", "name", "done", "total"}], "overdue": [{"id", "title", "stage", "due_on",
    "owner_name"}], "inspections_done": int, "inspections_needed": int}"""
    return {"stages": [], "overdue": [], "inspections_done": 0, "inspections_needed": 2}
