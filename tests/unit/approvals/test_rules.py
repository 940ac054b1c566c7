from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careclub.approvals import rules
from careclub.approvals.rules import INFINITY, PolicySpec, compile_policy, match
from careclub.core.errors import ValidationFailed
from careclub.core.money import parse_amount
from tests.unit.approvals.seeds import all_seed_policies, seed_policy


def chain(policy: rules.CompiledPolicy, amount: str, **kw: object) -> list[tuple[str, str]]:
    rule = match(policy, amount=parse_amount(amount), **kw)  # type: ignore[arg-type]
    return [(s.kind, s.name) for s in rule.spec.steps]


def kinds(policy: rules.CompiledPolicy, amount: str, **kw: object) -> list[str]:
    return [k for k, _ in chain(policy, amount, **kw)]


# ---- seed 000: care fund ---------------------------------------------------------------------

@pytest.mark.parametrize(("amount", "category", "expected"), [
    ("0.00", "customer_care", ["countersign"]),
    ("499.99", "customer_care", ["countersign"]),
    ("500.00", "customer_care", ["countersign"]),
    ("500.01", "customer_care", ["single", "meeting"]),
    ("2999999.99", "customer_care", ["single", "meeting"]),
    ("3000000.00", "customer_care", ["single", "meeting", "committee"]),
    ("0.01", "quality_improvement", ["single", "meeting"]),
    ("499.99", "quality_improvement", ["single", "meeting"]),
    ("500.00", "quality_improvement", ["single", "meeting"]),
    ("2999999.99", "quality_improvement", ["single", "meeting"]),
    ("3000000.00", "quality_improvement", ["single", "meeting", "committee"]),
    ("99999999.99", "quality_improvement", ["single", "meeting", "committee"]),
])
def test_care_fund_off_plan_boundaries(amount: str, category: str, expected: list[str]) -> None:
    policy = seed_policy("lanting-property", "fund_request")
    assert kinds(policy, amount, category=category, in_plan=False) == expected


def test_care_fund_committee_decides_last_after_the_meeting() -> None:
    policy = seed_policy("lanting-property", "fund_request")
    steps = match(policy, amount=300_000_000, category="customer_care", in_plan=False).spec.steps
    assert [s.kind for s in steps][-2:] == ["meeting", "committee"]
    assert steps[-2].approvers[0].body == "leadership"
    assert steps[-1].approvers[0].body == "crm_brand"


@pytest.mark.parametrize("amount", ["0.00", "499.99", "500.00", "500.01", "2999999.99", "3000000.00"])
@pytest.mark.parametrize("category", ["customer_care", "quality_improvement"])
def test_care_fund_in_plan_needs_only_the_set_up_review(amount: str, category: str) -> None:
    policy = seed_policy("lanting-property", "fund_request")
    assert chain(policy, amount, category=category, in_plan=True) == [("single", "物业管理中心立项审核")]


def test_annual_plan_goes_to_the_leadership_meeting() -> None:
    policy = seed_policy("lanting-property", "annual_plan")
    for amount in ("0.00", "123456789.00"):
        assert kinds(policy, amount, category=None, in_plan=True)[-1] == "meeting"
    assert match(policy, amount=None, category=None, in_plan=False).spec.steps[-1].approvers[0].body == "leadership"


# ---- seed 001: customer-service fund ---------------------------------------------------------

@pytest.mark.parametrize(("amount", "expected"), [
    ("0.00", ["客户服务经理审核", "开发部总监审批"]),
    ("9999.99", ["客户服务经理审核", "开发部总监审批"]),
    ("10000.00", ["总经理审批"]),
    ("10000.01", ["总经理审批"]),
    ("100000.00", ["总经理审批"]),
    ("100000.01", ["区域总部审批"]),
    ("5000000.00", ["区域总部审批"]),
])
def test_service_fund_tiers(amount: str, expected: list[str]) -> None:
    policy = seed_policy("haiyue-residential", "fund_request")
    for in_plan, category in itertools.product((True, False), (None, "customer_care", "repairs")):
        assert [n for _, n in chain(policy, amount, category=category, in_plan=in_plan)] == expected


# ---- seed 003: developer–property settlement -------------------------------------------------

SALES, CS, GM = "营销小组负责人审核", "客服小组负责人审核", "城市公司总经理审批"
CONFIRM, COUNTERSIGN = "营销客服部负责人确认", "分管领导及财务领导会签"
PROPERTY_SIDE = ["物业分管领导及财务负责人会签", "物业公司总经理审批"]


@pytest.mark.parametrize(("subject_type", "amount", "category", "expected"), [
    ("property_budget", "0.01", "annual", ["财务部审核", GM]),
    ("property_budget", "99999999.99", "pre_move_in", [SALES]),
    ("property_budget", "99999999.99", "post_move_in", [CS]),
    ("property_work", "19999.99", "unplanned_pre_move_in", [SALES]),
    ("property_work", "20000.00", "unplanned_pre_move_in", [SALES, GM]),
    ("property_work", "19999.99", "unplanned_post_move_in", [CS]),
    ("property_work", "20000.00", "unplanned_post_move_in", [CS, GM]),
    ("property_work", "0.01", "proxy_purchase", ["需求部门负责人审批", "分管领导审批", "财务领导审批", GM]),
    ("property_work", "5000.00", "sales_office", [CONFIRM]),
    ("property_work", "5000.01", "sales_office", [CONFIRM, COUNTERSIGN]),
    ("property_work", "10000.00", "sales_office", [CONFIRM, COUNTERSIGN]),
    ("property_work", "10000.01", "sales_office", [CONFIRM, COUNTERSIGN, GM]),
    ("budget_addition", "0.01", None, ["财务部审核", "城市公司总经理审核", "区域分管总审定"]),
    ("property_settlement", "1.00", "pre_move_in", [*PROPERTY_SIDE, SALES, "地产财务部审核", GM]),
    ("property_settlement", "1.00", "post_move_in", [*PROPERTY_SIDE, CS, "地产财务部审核", GM]),
    ("property_settlement", "1.00", "over_budget",
     [*PROPERTY_SIDE, "营销客服部小组负责人审核", "地产财务部审核", GM, "区域分管总审定"]),
])
def test_settlement_boundaries(subject_type: str, amount: str, category: str | None, expected: list[str]) -> None:
    policy = seed_policy("huafu-development", subject_type)
    for in_plan in (True, False):
        assert [n for _, n in chain(policy, amount, category=category, in_plan=in_plan)] == expected


def test_settlement_countersign_names_division_and_finance_heads() -> None:
    policy = seed_policy("huafu-development", "property_work")
    step = match(policy, amount=500001, category="sales_office", in_plan=False).spec.steps[1]
    assert step.kind == "countersign"
    assert [a.role for a in step.approvers] == ["division_head", "finance_head"]


def test_the_months_settlement_escalates_every_step() -> None:
    # a month is approved by the 22nd: each step of the countersign chain escalates when overdue
    policy = seed_policy("huafu-development", "property_settlement")
    for category in ("pre_move_in", "post_move_in", "over_budget"):
        steps = match(policy, amount=100, category=category, in_plan=False).spec.steps
        assert steps[0].kind == "countersign"
        assert [a.role for a in steps[0].approvers] == ["property_lead", "property_finance"]
        assert all(s.escalate_to and s.deadline_working_days for s in steps if s.name != "区域分管总审定")


# ---- every amount finds exactly one chain -----------------------------------------------------

SEEDS = all_seed_policies()


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(SEEDS) - 1), amount=st.integers(0, 10**14), in_plan=st.booleans(),
       pick=st.integers(0, 10), unit=st.sampled_from([(), ("CD-LT1", "CD", "RESI", "HQ"), ("HQ",)]))
def test_any_amount_finds_exactly_one_chain(index: int, amount: int, in_plan: bool, pick: int,
                                            unit: tuple[str, ...]) -> None:
    _slug, policy = SEEDS[index]
    categories = policy.spec.categories or [None]
    category = categories[pick % len(categories)]
    hits = [r for r in policy.rules if r.spec.org_unit is None
            and (r.spec.category in (None, category)) and (r.spec.in_plan in (None, in_plan))
            and r.band.contains(amount)]
    assert len(hits) == 1
    assert match(policy, amount=amount, category=category, in_plan=in_plan, unit_codes=unit) is hits[0]
    assert hits[0].spec.steps


# ---- refusing incomplete policies --------------------------------------------------------------

def policy(*bands: dict[str, object], categories: list[str] | None = None) -> PolicySpec:
    step = {"kind": "single", "name": "check", "approvers": [{"role": "approver"}]}
    return msgspec.convert({"subject_type": "fund_request", "categories": categories or ["customer_care"],
                            "rules": [{"steps": [step], "in_plan": False, "category": "customer_care", **b}
                                      for b in bands] + [{"steps": [step], "in_plan": True}]}, PolicySpec)


def refusal(spec: PolicySpec) -> str:
    with pytest.raises(ValidationFailed) as err:
        compile_policy(spec)
    return err.value.message


def test_gap_is_reported_with_exact_amounts() -> None:
    message = refusal(policy({"up_to": "500.00"}, {"at_least": "1000.00"}))
    assert "amounts 500.01–999.99 of customer_care/off-plan match no rule" in message


def test_gap_between_exclusive_bounds_is_one_amount() -> None:
    message = refusal(policy({"below": "500.00"}, {"above": "500.00"}))
    assert "amount 500.00 of customer_care/off-plan match no rule" in message


def test_open_tail_is_reported() -> None:
    message = refusal(policy({"below": "3000000.00"}))
    assert "amounts from 3000000.00 up of customer_care/off-plan match no rule" in message


def test_missing_start_is_reported() -> None:
    message = refusal(policy({"at_least": "0.01"}))
    assert "amount 0.00 of customer_care/off-plan match no rule" in message


def test_overlap_is_reported_with_exact_amounts() -> None:
    message = refusal(policy({"up_to": "500.00"}, {"at_least": "500.00"}))
    assert "amount 500.00 of customer_care/off-plan match more than one rule (rules 1 and 2)" in message
    message = refusal(policy({"up_to": "1000.00"}, {"above": "500.00"}))
    assert "amounts 500.01–1000.00 of customer_care/off-plan match more than one rule" in message


def test_missing_plan_flag_and_category_are_reported() -> None:
    spec = policy({}, categories=["customer_care", "quality_improvement"])
    message = refusal(spec)
    assert "amounts from 0.00 up of quality_improvement/off-plan match no rule" in message
    assert "customer_care/off-plan" not in message


def test_exact_cover_compiles_and_bands_are_integer_fen() -> None:
    compiled = compile_policy(policy({"up_to": "500.00"}, {"above": "500.00"}))
    bands = sorted((r.band.lo, r.band.hi) for r in compiled.rules if r.spec.in_plan is False)
    assert bands == [(0, 50000), (50001, INFINITY)]


@pytest.mark.parametrize(("step", "fragment"), [
    ({"kind": "countersign", "name": "x", "approvers": [{"role": "a"}]}, "at least two signers"),
    ({"kind": "auto", "name": "x"}, "records why"),
    ({"kind": "auto", "name": "x", "reason": "r", "approvers": [{"role": "a"}]}, "no approvers"),
    ({"kind": "single", "name": "x", "approvers": [{"role": "a"}, {"role": "b"}]}, "exactly one approver"),
    ({"kind": "meeting", "name": "x", "approvers": [{"role": "a"}]}, "exactly one body"),
    ({"kind": "vote", "name": "x", "approvers": [{"role": "a"}]}, "kind: must be one of"),
    ({"kind": "single", "name": "x", "approvers": [{"role": "a", "at": "galaxy"}]}, "at: must be one of"),
    ({"kind": "single", "name": "x", "approvers": [{"at": "unit"}]}, "name a role"),
    ({"kind": "single", "name": "x", "approvers": [{"role": "a"}], "deadline_hours": 0}, "positive"),
])
def test_malformed_steps_are_refused_with_their_path(step: dict[str, object], fragment: str) -> None:
    spec = msgspec.convert({"subject_type": "purchase", "rules": [{"steps": [step]}]}, PolicySpec)
    message = refusal(spec)
    assert fragment in message
    assert "policy.rules[0].steps[0]" in message


def test_bounds_must_name_one_side_each_and_not_cross() -> None:
    def one(rule: dict[str, object]) -> str:
        return refusal(msgspec.convert({"subject_type": "purchase", "rules": [
            {"steps": [{"kind": "auto", "name": "a", "reason": "r"}], **rule}]}, PolicySpec))

    assert "at most one of at_least and above" in one({"at_least": "1.00", "above": "1.00"})
    assert "at most one of up_to and below" in one({"up_to": "1.00", "below": "2.00"})
    assert "band is empty" in one({"above": "5.00", "below": "5.01"})
    assert "decimal string" in one({"up_to": "5.001"})


def test_unknown_category_in_a_rule_and_in_a_request() -> None:
    bad = msgspec.convert({"subject_type": "purchase", "categories": ["a"], "rules": [
        {"category": "b", "steps": [{"kind": "auto", "name": "a", "reason": "r"}]}]}, PolicySpec)
    assert "'b' is not one of the policy's categories" in refusal(bad)
    compiled = seed_policy("lanting-property", "fund_request")
    with pytest.raises(ValidationFailed) as err:
        match(compiled, amount=1, category="parking", in_plan=False)
    assert err.value.field == "category"
    with pytest.raises(ValidationFailed) as err:
        match(compiled, amount=1, category=None, in_plan=False)
    assert err.value.field == "category"


def test_org_unit_rules_override_general_ones_for_their_subtree() -> None:
    step = [{"kind": "auto", "name": "general", "reason": "r"}]
    spec = msgspec.convert({"subject_type": "purchase", "rules": [
        {"steps": step},
        {"org_unit": "CD", "up_to": "100.00", "steps": [{"kind": "auto", "name": "CD small", "reason": "r"}]},
    ]}, PolicySpec)
    compiled = compile_policy(spec)
    assert match(compiled, amount=10000, category=None, in_plan=False,
                 unit_codes=["CD-LT1", "CD", "HQ"]).spec.steps[0].name == "CD small"
    assert match(compiled, amount=10001, category=None, in_plan=False,
                 unit_codes=["CD-LT1", "CD", "HQ"]).spec.steps[0].name == "general"
    assert match(compiled, amount=1, category=None, in_plan=False,
                 unit_codes=["SH", "HQ"]).spec.steps[0].name == "general"
    overlapping = msgspec.convert({"subject_type": "purchase", "rules": [
        {"steps": step}, {"org_unit": "CD", "up_to": "100.00", "steps": step},
        {"org_unit": "CD", "at_least": "100.00", "steps": step}]}, PolicySpec)
    assert "amount 100.00 of off-plan at CD match more than one rule" in refusal(overlapping)


# ---- countersign, deadlines, meetings ------------------------------------------------------------

def test_countersign_completes_only_when_all_approve_in_any_order() -> None:
    for order in itertools.permutations(range(3)):
        decisions: list[str] = []
        for n, _signer in enumerate(order):
            assert rules.step_outcome("countersign", 3, decisions) is None
            decisions.append("approve")
            if n < 2:
                assert rules.step_outcome("countersign", 3, decisions) is None
        assert rules.step_outcome("countersign", 3, decisions) == "approved"
    for position in range(3):
        decisions = ["approve"] * position + ["reject"]
        assert rules.step_outcome("countersign", 3, decisions) == "rejected"
    assert rules.step_outcome("single", 1, ["approve"]) == "approved"
    assert rules.step_outcome("any_of", 1, ["return"]) == "returned"


def test_working_days_skip_the_weekend_in_the_tenant_zone() -> None:
    friday_evening = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 18:00 Friday in Shanghai
    assert rules.add_working_days(friday_evening, 1, "Asia/Shanghai") == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert rules.add_working_days(friday_evening, 5, "Asia/Shanghai") == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    sat_utc_fri_local = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # Saturday 23:30 in Shanghai
    assert rules.add_working_days(sat_utc_fri_local, 1, "Asia/Shanghai").date() == date(2026, 11, 30)


def test_next_meeting_is_this_months_until_the_day_then_next_months() -> None:
    assert rules.next_meeting_date(date(2026, 11, 2), 4) == date(2026, 11, 4)
    assert rules.next_meeting_date(date(2026, 11, 4), 4) == date(2026, 11, 4)
    assert rules.next_meeting_date(date(2026, 11, 5), 4) == date(2026, 12, 4)
    assert rules.next_meeting_date(date(2026, 12, 23), 4) == date(2027, 1, 4)
