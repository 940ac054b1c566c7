"""The picture of a policy's amount bands: for each category and plan flag, the amounts from 0 up
cut where any rule starts or ends, each piece marked with the rules matching it, so a gap or an
overlap shows before the policy is saved. Pure: drawn from the policy as the form posted it."""

from __future__ import annotations

from dataclasses import dataclass

from careclub.approvals.rules import INFINITY, CompiledRule, PolicySpec, RuleSpec, coverage_groups
from careclub.core.money import format_grouped

MAX_GROW = 12


@dataclass
class Segment:
    lo: int
    hi: int  # INFINITY: open-ended
    rules: list[int]  # rule numbers (1-based) matching every amount of the segment
    status: str  # "ok" | "gap" | "overlap" | "general" (an org unit's amounts left to the general rules)
    grow: int  # relative width, 1..MAX_GROW

    @property
    def mark(self) -> str:
        return "+".join(str(n) for n in self.rules) if self.rules else "—"

    @property
    def range(self) -> str:
        if self.hi >= INFINITY:
            return f"≥ {format_grouped(self.lo)}"
        if self.lo == self.hi:
            return format_grouped(self.lo)
        return f"{format_grouped(self.lo)} – {format_grouped(self.hi)}"


@dataclass
class BandRow:
    scope: str | None
    category: str | None
    in_plan: bool
    segments: list[Segment]
    broken: list[int]  # rules of this row whose amounts must be fixed before it can be drawn

    @property
    def trouble(self) -> bool:
        return any(s.status in ("gap", "overlap") for s in self.segments)


def bands(spec: PolicySpec, rules: tuple[CompiledRule, ...] | list[CompiledRule],
          broken: set[int] | frozenset[int] = frozenset()) -> list[BandRow]:
    """For each category and plan flag (and each org unit with rules of its own): the amounts from 0
    up cut where any rule starts or ends, each piece marked with the rules matching it, so a gap or
    an overlap shows. Widths are by piece, not by amount (amounts span from 0.00 to millions)."""
    cuts = sorted({0, *(r.band.lo for r in rules), *(r.band.hi + 1 for r in rules if r.band.hi < INFINITY)})
    rows = []
    for scope, category, flag in coverage_groups(spec, spec.rules):
        def fits(rule: RuleSpec, scope: str | None = scope, category: str | None = category,
                 flag: bool = flag) -> bool:
            return rule.org_unit == scope and (rule.category is None or rule.category == category) and (
                rule.in_plan is None or rule.in_plan == flag)

        bad = [i + 1 for i, rule in enumerate(spec.rules) if i in broken and fits(rule)]
        hits = [r for r in rules if fits(r.spec)]
        segments: list[Segment] = []
        for n, lo in enumerate(cuts):
            hi = cuts[n + 1] - 1 if n + 1 < len(cuts) else INFINITY
            numbers = [r.index + 1 for r in hits if r.band.lo <= lo and hi <= r.band.hi]
            if segments and segments[-1].rules == numbers:
                segments[-1].hi = hi
                segments[-1].grow = min(MAX_GROW, segments[-1].grow + 1)
                continue
            status = "ok" if len(numbers) == 1 else "overlap" if numbers else "gap" if scope is None else "general"
            segments.append(Segment(lo, hi, numbers, status, 1))
        rows.append(BandRow(scope, category, flag, segments if not bad else [], bad))
    return rows
