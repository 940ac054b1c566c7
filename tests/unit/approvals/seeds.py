"""The seed tenants' approval policies, read from their tenant files (pure: no database)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from careclub.approvals.rules import CompiledPolicy, PolicySpec, compile_policy

ROOT = Path(__file__).resolve().parents[3]
SEED_SLUGS = ("lanting-property", "haiyue-residential", "huafu-development")


def approvals_section(slug: str) -> dict:
    data = tomllib.loads((ROOT / "tenants" / f"{slug}.toml").read_text(encoding="utf-8"))
    return data["approvals"]


def seed_policy(slug: str, subject_type: str) -> CompiledPolicy:
    for raw in approvals_section(slug)["policies"]:
        if raw["subject_type"] == subject_type:
            return compile_policy(msgspec.convert(raw, PolicySpec))
    raise KeyError((slug, subject_type))


def all_seed_policies() -> list[tuple[str, CompiledPolicy]]:
    out = []
    for slug in SEED_SLUGS:
        for raw in approvals_section(slug)["policies"]:
            out.append((slug, compile_policy(msgspec.convert(raw, PolicySpec))))
    return out
