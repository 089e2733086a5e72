"""A short concurrent load in CI: tools/load.py must finish with no errors, violations or lost writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TOOLS = Path(__file__).resolve().parents[2] / "tools"
OPERATIONS = ("upsert", "set_payload", "retrieve", "scroll", "count", "query")


def test_load_short_run(tmp_path: Path) -> None:
    cmd = [sys.executable, str(TOOLS / "load.py"), "--writers", "4", "--readers", "4", "--seconds", "20",
           "--seed", "5", "--slots", "50", "--storage", str(tmp_path / "storage")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    report = f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, report
    assert "RESULT: OK" in proc.stdout and "errors: 0, violations: 0" in proc.stdout, report
    rows = {line.split("|")[1].strip(): line for line in proc.stdout.splitlines() if line.startswith("| ")}
    # Every operation ran and has a latency row (the run did real work on both sides).
    for op in OPERATIONS:
        assert op in rows, report
        assert int(rows[op].split("|")[2]) > 0, report
