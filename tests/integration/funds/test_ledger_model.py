"""The ledger against a model: random sequences of contributions, commitments, releases,
reimbursements and reversals over two funds, each checked against a plain dict of balances. What the
model refuses the service must refuse with the same code and without moving anything; after every
step the stored balances, the balances summed from the postings and the model agree.

The steps are drawn one at a time with `st.data()` rather than as a list up front: the next step's
amounts then depend on the balances so far, so they fall on both sides of the edges (all that is
available, a little more) instead of being refused for trivial reasons. A RuleBasedStateMachine would
need synchronous rules, and the service is async on the session's event loop."""

from __future__ import annotations

import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from careclub.core.db import tenant_scope
from careclub.core.errors import Conflict
from careclub.funds import rules, service
from careclub.funds.rules import AVAILABLE, COMMITTED, CONTRIBUTED, SPENT

Key = tuple[uuid.UUID, str]


@dataclass
class Entry:
    id: uuid.UUID
    cause: str
    moves: dict[Key, int]
    reversed: bool = False


@dataclass
class Commitment:
    fund: uuid.UUID
    cause_id: uuid.UUID
    amount: int


@dataclass
class Model:
    balances: dict[Key, int]
    entries: list[Entry] = field(default_factory=list)
    # Commitments not yet claimed: a reimbursement names one, as the spending requests do.
    open: list[Commitment] = field(default_factory=list)

    def refusal(self, moves: dict[Key, int]) -> str | None:
        for key, delta in moves.items():
            if key[1] in rules.NEVER_NEGATIVE and self.balances[key] + delta < 0:
                return "insufficient_funds"
        return None

    def apply(self, moves: dict[Key, int]) -> None:
        for key, delta in moves.items():
            self.balances[key] += delta


def _moves(*lines: tuple[uuid.UUID, str, int]) -> dict[Key, int]:
    out: dict[Key, int] = {}
    for fund, account, amount in lines:
        out[(fund, account)] = out.get((fund, account), 0) + amount
    return {k: v for k, v in out.items() if v}


def _around(edge: int, beyond: int) -> st.SearchStrategy[int]:
    """Amounts up to `edge` (allowed) or past it (refused), one in three."""
    over = st.integers(edge + 1, edge + beyond)
    return st.one_of(st.integers(1, edge), st.integers(1, edge), over) if edge > 0 else over


async def _attempt(tenant_id: uuid.UUID, op: str, call: Coroutine[Any, Any, dict[str, Any]],
                   refusal: str | None) -> dict[str, Any] | None:
    # `call` has not started yet: its body runs here, inside the scope and its transaction.
    try:
        async with tenant_scope(tenant_id):
            result = await call
    except Conflict as exc:
        assert exc.code == refusal, f"refused with {exc.code!r}, the model expected {refusal!r}"
        event(f"{op} refused: {refusal}")
        return None
    assert refusal is None, f"accepted, the model expected a refusal with {refusal!r}"
    event(f"{op} done")
    return result


async def _agree(tenant_id: uuid.UUID, model: Model, funds: list[uuid.UUID]) -> None:
    async with tenant_scope(tenant_id):
        stored = await service.balances(funds)
        trials = {f: await service.trial_balance(f) for f in funds}
    for f in funds:
        expected = {a: model.balances[(f, a)] for a in rules.ACCOUNTS}
        assert stored[f] == expected
        assert {r["account"]: r["balance"] for r in trials[f]["accounts"]} == expected
        assert trials[f]["balanced"]


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_the_ledger_agrees_with_a_model_of_its_balances(tenant: dict[str, Any], data: st.DataObject) -> None:
    tid = uuid.UUID(tenant["tenant_id"])
    # Fresh funds per example: the tenant fixture is shared by all examples of this test.
    async with tenant_scope(tid):
        funds = [(await service.create_fund(code=f"M{uuid.uuid4().hex[:8]}", name="Model fund", year=2026))["id"]
                 for _ in range(2)]
    model = Model(balances={(f, a): 0 for f in funds for a in rules.ACCOUNTS})

    async def contribute(fund: uuid.UUID, amount: int) -> None:
        moves = _moves((fund, AVAILABLE, amount), (fund, CONTRIBUTED, -amount))
        row = await _attempt(tid, "contribute", service.record_contribution(
            fund, kind="reserve", source="model", amount=amount, received_on=date(2026, 1, 5)), None)
        assert row is not None
        model.apply(moves)
        model.entries.append(Entry(row["entry"], "contribution", moves))

    # Every example starts with money in both funds, or nearly every later step would be refused.
    for i, fund in enumerate(funds):
        await contribute(fund, data.draw(st.integers(1, 100_000), label=f"seed {i}"))
    await _agree(tid, model, funds)

    for step in range(data.draw(st.integers(1, 20), label="steps")):
        reversible = [e for e in model.entries if e.cause != "correction" and not e.reversed]
        settled = [e for e in model.entries if e.cause == "correction" or e.reversed]
        ops = ["contribute", "commit", "release", "reimburse"]
        ops += ["reverse"] * bool(reversible) + ["reverse_again"] * bool(settled)
        op = data.draw(st.sampled_from(ops), label=f"op {step}")
        # A release goes where something is committed, when anywhere is, or it would nearly always be refused.
        holding = [f for f in funds if model.balances[(f, COMMITTED)] > 0] if op == "release" else []
        fund = data.draw(st.sampled_from(holding or funds), label=f"fund {step}")
        free, held = model.balances[(fund, AVAILABLE)], model.balances[(fund, COMMITTED)]

        if op == "contribute":
            await contribute(fund, data.draw(st.integers(1, 100_000), label=f"amount {step}"))

        elif op == "commit":
            amount = data.draw(_around(free, 50_000), label=f"amount {step}")
            moves = _moves((fund, COMMITTED, amount), (fund, AVAILABLE, -amount))
            cause = uuid.uuid4()
            refusal = model.refusal(moves)
            done = await _attempt(tid, op, service.commit(fund, amount, cause_id=cause), refusal)
            if done is not None:
                model.apply(moves)
                model.entries.append(Entry(done["id"], "commitment", moves))
                model.open.append(Commitment(fund, cause, amount))

        elif op == "release":
            amount = data.draw(_around(held, 10_000), label=f"amount {step}")
            moves = _moves((fund, AVAILABLE, amount), (fund, COMMITTED, -amount))
            refusal = model.refusal(moves)
            done = await _attempt(tid, op, service.release(fund, amount, cause_id=uuid.uuid4()), refusal)
            if done is not None:
                model.apply(moves)
                model.entries.append(Entry(done["id"], "release", moves))

        elif op == "reimburse":
            # A claim against an earlier commitment (of either fund) when there is one. Its amount may be
            # more than is still committed (released or reversed since): then the ledger must refuse.
            if model.open:
                claim = data.draw(st.sampled_from(model.open), label=f"commitment {step}")
                fund = claim.fund
            else:
                claim = Commitment(fund, uuid.uuid4(), data.draw(st.integers(1, 50_000), label=f"committed {step}"))
            actual = data.draw(_around(claim.amount, 10_000), label=f"actual {step}")
            moves = _moves((fund, SPENT, actual), (fund, COMMITTED, -claim.amount),
                           (fund, AVAILABLE, claim.amount - actual))
            refusal = "claim_exceeds_commitment" if actual > claim.amount else model.refusal(moves)
            done = await _attempt(tid, op, service.reimburse(
                fund, committed=claim.amount, actual=actual, cause_id=claim.cause_id), refusal)
            if done is not None:
                model.apply(moves)
                model.entries.append(Entry(done["id"], "reimbursement", moves))
                if claim in model.open:
                    model.open.remove(claim)

        elif op == "reverse":
            entry = data.draw(st.sampled_from(reversible), label=f"entry {step}")
            moves = {k: -v for k, v in entry.moves.items()}
            refusal = model.refusal(moves)
            done = await _attempt(tid, op, service.reverse(entry.id, reason="model", occurred_on=date(2026, 6, 1)),
                                  refusal)
            if done is not None:
                model.apply(moves)
                entry.reversed = True
                model.entries.append(Entry(done["id"], "correction", moves))

        else:  # reverse_again: a second correction of an entry, or a correction of a correction
            entry = data.draw(st.sampled_from(settled), label=f"entry {step}")
            refusal = "entry_is_correction" if entry.cause == "correction" else "entry_reversed"
            await _attempt(tid, op, service.reverse(entry.id, reason="again", occurred_on=date(2026, 6, 1)),
                           refusal)

        now = {k[1]: v for k, v in model.balances.items() if k[0] == fund and v}
        note(f"after {op} on fund {funds.index(fund)}: {now}")
        await _agree(tid, model, funds)
