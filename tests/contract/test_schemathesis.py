"""The OpenAPI document is the contract: schemathesis drives every operation of the running app
and fails on any server error or any answer the document does not describe. A few examples per
operation keep CI short; `python -m tests.contract.schemathesis_run` is the long version."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from careclub.settings import Settings
from tests.contract.schemathesis_run import run
from tests.live import serve

EXAMPLES = 4
SEED = 20261130  # a fixed seed: CI failures reproduce; the long version runs unseeded


def test_every_operation_conforms_to_the_document(settings: Settings, infra: Any) -> None:
    report = Path("test-artifacts")
    report.mkdir(exist_ok=True)
    with serve(settings, infra) as url:
        code, output = run(url, examples=EXAMPLES, seed_value=SEED, report_dir=report / "schemathesis")
    summary = output[output.find("SUMMARY"):] if "SUMMARY" in output else output[-3000:]
    print(summary)
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested and int(tested.group(1)) >= 80, summary
    assert code == 0, output[-20000:]
