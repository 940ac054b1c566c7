"""Schemathesis against the running app: every operation of the OpenAPI document, with its
conformance checks (status codes, content types, response schemas and headers, undeclared methods,
negative data rejected, auth not ignored) and no server error allowed.

CI runs the short version (tests/contract/test_schemathesis.py, a few examples per operation).
The long version, against a running `make run`:

    .venv/bin/python -m tests.contract.schemathesis_run --url http://127.0.0.1:8000 --examples 200

It signs a fresh company up, gives it a club, a plan, a merchant and a member so that ids exist,
and fuzzes as that company's admin.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

# Checks that judge the document against the server. `positive_data_acceptance` is left out on purpose:
# it expects every schema-valid body to be accepted, and business rules (a date in the past, a code that
# is not a member's QR, a plan that needs a vehicle) are answered 4xx by design.
EXCLUDED_CHECKS = "positive_data_acceptance"
# Logging out would revoke the very token the run uses.
EXCLUDED_PATHS = ("/api/v1/auth/logout",)


def seed(base_url: str) -> str:
    """A company with enough in it for ids to exist; answers its admin's bearer token."""
    slug = f"st-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=base_url, timeout=30) as c:
        r = c.post("/api/v1/signup", json={"company": "Schemathesis Co", "slug": slug, "email": f"admin@{slug}.test",
                                           "password": "schemathesis-pass-2026"})
        r.raise_for_status()
        token = r.json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        club = c.post("/api/v1/clubs", headers=h, json={"code": "car", "name": "Car club", "card_prefix": "ST-"})
        club.raise_for_status()
        cid = club.json()["id"]
        plan = c.post(f"/api/v1/clubs/{cid}/plans", headers=h, json={
            "code": "vip", "name": "VIP", "fee": {"amount": "365.00", "currency": "CNY"}})
        plan.raise_for_status()
        c.post(f"/api/v1/clubs/{cid}/merchants", headers=h, json={"code": "wash", "name": "Wash"}).raise_for_status()
        member = c.post("/api/v1/members", headers=h, json={"club_id": cid, "name": "张三", "phone": "13800000001"})
        member.raise_for_status()
        c.post(f"/api/v1/members/{member.json()['id']}/cards", headers=h,
               json={"plan_id": plan.json()["id"]}).raise_for_status()
    return str(token)


def command(base_url: str, token: str, *, examples: int, seed_value: int | None, phases: str,
            report_dir: Path | None) -> list[str]:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    cmd = [exe, "run", f"{base_url}/schema/openapi.json", "-H", f"Authorization: Bearer {token}",
           "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS, "--max-examples", str(examples),
           "--phases", phases, "--generation-allow-x00", "true", "--request-timeout", "30",
           "--continue-on-failure", "--no-color", "--workers", "1", "--suppress-health-check", "all"]
    for path in EXCLUDED_PATHS:
        cmd += ["--exclude-path", path]
    if seed_value is not None:
        cmd += ["--seed", str(seed_value)]
    if report_dir is not None:
        cmd += ["--report", "junit", "--report-dir", str(report_dir)]
    return cmd


def run(base_url: str, *, examples: int, seed_value: int | None = None, phases: str = "examples,coverage,fuzzing",
        report_dir: Path | None = None, timeout: int = 1500) -> tuple[int, str]:
    token = seed(base_url)
    cmd = command(base_url, token, examples=examples, seed_value=seed_value, phases=phases, report_dir=report_dir)
    env = {**os.environ, "SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    return done.returncode, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args()
    code, output = run(args.url, examples=args.examples, seed_value=args.seed, phases=args.phases, timeout=6 * 3600)
    print(output)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
