"""The policy form without a server: every seed tenant's policy survives form → post → policy
unchanged (but for spelling its amounts with two places), row buttons change only their row, and
the picture of the bands marks gaps and overlaps where the validator finds them."""

from __future__ import annotations

import msgspec
import pytest

from careclub.approvals import bands, policy_form
from careclub.approvals.policy_form import ApproverRow, PolicyForm
from careclub.approvals.rules import INFINITY, PolicySpec, check_policy
from careclub.core.money import format_amount, parse_amount
from tests.unit.approvals.seeds import all_seed_policies


def posted(form: PolicyForm) -> dict[str, str]:
    """The form as the page posts it (the names the template gives its fields)."""
    data = {"name": form.name, "categories": form.categories}
    for i, r in enumerate(form.rules):
        rk = f"rules[{i}]"
        for name in ("name", "category", "in_plan", "org_unit", "lower", "lower_kind", "upper", "upper_kind"):
            data[f"{rk}.{name}"] = getattr(r, name)
        for j, s in enumerate(r.steps):
            sk = f"{rk}.steps[{j}]"
            for name in ("kind", "name", "reason", "deadline", "deadline_unit", "remind"):
                data[f"{sk}.{name}"] = getattr(s, name)
            for group in ("approvers", "escalate_to"):
                for k, a in enumerate(getattr(s, group)):
                    for name in ("who", "place", "unit"):
                        data[f"{sk}.{group}[{k}].{name}"] = getattr(a, name)
    return data


def canonical(spec: PolicySpec) -> PolicySpec:
    """What the form writes for the same policy: amounts with two places, `at = "unit"` left out."""
    raw = msgspec.to_builtins(spec)
    for rule in raw.get("rules", []):
        for key in ("at_least", "above", "up_to", "below"):
            if key in rule:
                rule[key] = format_amount(parse_amount(rule[key]))
        for step in rule.get("steps", []):
            for group in ("approvers", "escalate_to"):
                for a in step.get(group, []):
                    if a.get("at") == "unit":
                        del a["at"]
    return msgspec.convert(raw, PolicySpec)


@pytest.mark.parametrize(("slug", "policy"), all_seed_policies(),
                         ids=[f"{s}-{p.spec.subject_type}" for s, p in all_seed_policies()])
def test_every_seed_policy_survives_the_form(slug: str, policy: object) -> None:
    spec = policy.spec  # type: ignore[attr-defined]
    form = policy_form.for_display(policy_form.from_spec(spec))
    parsed = policy_form.to_spec(policy_form.read(posted(form)), spec.subject_type)
    assert parsed.errors == {} and parsed.broken == set()
    assert parsed.spec == canonical(spec)
    # and the form of that policy is the same form again
    assert posted(policy_form.for_display(policy_form.from_spec(parsed.spec))) == posted(form)


def test_rows_are_read_in_order_and_holes_close() -> None:
    data = {"rules[5].name": "b", "rules[2].name": "a", "rules[2].steps[3].name": "s2",
            "rules[2].steps[1].name": "s1", "rules[2].steps[1].approvers[4].who": "role:x",
            "rules[2].steps[1].approvers[0].who": "", "evil[0].name": "ignored"}
    form = policy_form.read(data)
    assert [r.name for r in form.rules] == ["a", "b"]
    assert [s.name for s in form.rules[0].steps] == ["s1", "s2"]
    assert [a.who for a in form.rules[0].steps[0].approvers] == ["", "role:x"]
    spec = policy_form.to_spec(form, "purchase").spec
    assert [a.role for a in spec.rules[0].steps[0].approvers] == ["x"]  # the blank row is left out


def test_typed_values_that_cannot_be_read_are_named() -> None:
    form = policy_form.read({"rules[0].lower": "12.345", "rules[0].upper": "1,000", "rules[0].in_plan": "maybe",
                             "rules[0].steps[0].deadline": "2d", "rules[0].steps[0].remind": "3",
                             "rules[0].steps[0].approvers[0].who": "role:x",
                             "rules[0].steps[0].approvers[0].place": "fixed",
                             "rules[0].steps[0].approvers[1].who": "role:y",
                             "rules[0].steps[0].approvers[1].place": "galaxy"})
    parsed = policy_form.to_spec(form, "purchase")
    assert set(parsed.errors) == {"rules[0].lower", "rules[0].in_plan", "rules[0].steps[0].deadline",
                                  "rules[0].steps[0].approvers[0]", "rules[0].steps[0].approvers[1]"}
    assert parsed.broken == {0}
    assert parsed.spec.rules[0].below == "1000.00" and parsed.spec.rules[0].steps[0].remind_before_hours == 3


def test_row_buttons_change_their_row_only() -> None:
    form = PolicyForm(rules=[policy_form.blank_rule()])
    assert policy_form.apply_op(form, "add_rule") and len(form.rules) == 2
    assert policy_form.apply_op(form, "add_step:1") and len(form.rules[1].steps) == 2
    assert policy_form.apply_op(form, "add_escalate:1:1") and form.rules[1].steps[1].escalate_to == [ApproverRow()]
    assert policy_form.apply_op(form, "remove_approver:1:1:0") and form.rules[1].steps[1].approvers == []
    assert policy_form.apply_op(form, "remove_rule:0") and len(form.rules) == 1 and len(form.rules[0].steps) == 2
    for stale in ("remove_rule:9", "remove_step:0:9", "add_step:-1", "remove_approver:0:x:0"):
        assert policy_form.apply_op(form, stale)  # a row button: the form is drawn again, unchanged
    assert len(form.rules) == 1 and len(form.rules[0].steps) == 2
    assert not policy_form.apply_op(form, "save") and not policy_form.apply_op(form, "drop_table")


def test_the_bands_mark_gaps_and_overlaps() -> None:
    spec = msgspec.convert({"subject_type": "purchase", "categories": ["a", "b"], "rules": [
        {"name": "small", "below": "100.00", "steps": [{"kind": "auto", "name": "x", "reason": "r"}]},
        {"name": "big", "category": "a", "at_least": "90.00", "steps": [{"kind": "auto", "name": "x", "reason": "r"}]},
        {"name": "b big", "category": "b", "in_plan": True, "at_least": "200.00",
         "steps": [{"kind": "auto", "name": "x", "reason": "r"}]},
    ]}, PolicySpec)
    checked = check_policy(spec)
    rows = {(r.category, r.in_plan): r for r in bands.bands(spec, checked.rules)}
    a_off = [(s.lo, s.hi, s.status, s.rules) for s in rows[("a", False)].segments]
    assert a_off == [(0, 8999, "ok", [1]), (9000, 9999, "overlap", [1, 2]), (10000, INFINITY, "ok", [2])]
    b_in = [(s.lo, s.hi, s.status) for s in rows[("b", True)].segments]
    assert b_in == [(0, 9999, "ok"), (10000, 19999, "gap"), (20000, INFINITY, "ok")]
    assert [s.status for s in rows[("b", False)].segments] == ["ok", "gap"]
    assert rows[("b", False)].trouble and not any(s.status == "gap" for s in rows[("a", False)].segments)
