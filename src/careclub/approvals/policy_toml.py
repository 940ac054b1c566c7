"""Policies as the TOML people edit: the same shape as a tenant file's `[[approvals.policies]]`
entry, written out for the editor page and read back with the tenant file's validation."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import msgspec

from careclub.approvals.rules import ApproverSpec, PolicySpec, StepSpec
from careclub.core.errors import ValidationFailed


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def _approvers(items: list[ApproverSpec]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(a) for a in items]


def dumps(spec: PolicySpec) -> str:
    lines = [f"subject_type = {_value(spec.subject_type)}"]
    if spec.name:
        lines.append(f"name = {_value(spec.name)}")
    if spec.categories:
        lines.append(f"categories = {_value(spec.categories)}")
    for rule in spec.rules:
        lines += ["", "[[rules]]"]
        raw = msgspec.to_builtins(rule)
        for key in ("name", "category", "in_plan", "org_unit", "at_least", "above", "up_to", "below"):
            if raw.get(key) is not None:
                lines.append(f"{key} = {_value(raw[key])}")
        for step in rule.steps:
            lines += ["", "[[rules.steps]]"]
            lines += _step_lines(step)
    return "\n".join(lines) + "\n"


def _step_lines(step: StepSpec) -> list[str]:
    raw = msgspec.to_builtins(step)
    out = [f"kind = {_value(step.kind)}", f"name = {_value(step.name)}"]
    if step.approvers:
        out.append(f"approvers = {_value(_approvers(step.approvers))}")
    for key in ("reason", "deadline_hours", "deadline_working_days", "remind_before_hours"):
        if raw.get(key) is not None:
            out.append(f"{key} = {_value(raw[key])}")
    if step.escalate_to:
        out.append(f"escalate_to = {_value(_approvers(step.escalate_to))}")
    return out


def loads(text: str, *, field: str = "policy") -> PolicySpec:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed("%(field)s: not valid TOML: %(reason)s", field=field,
                               params={"field": field, "reason": str(exc)}) from exc
    try:
        return msgspec.convert(raw, PolicySpec)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = message.rsplit("- at `$", 1)[1].rstrip("`") if "- at `$" in message else ""
        raise ValidationFailed("%(field)s: %(reason)s", field=field,
                               params={"field": f"{field}{where}", "reason": message.split(" - at ")[0]}) from exc
