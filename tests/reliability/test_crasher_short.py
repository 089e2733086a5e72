"""A short crash soak in CI: tools/crasher.py must hold every check through repeated kill -9s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def test_crasher_short_run(tmp_path: Path) -> None:
    cmd = [sys.executable, str(TOOLS / "crasher.py"), "--seconds", "60", "--seed", "20240601",
           "--storage", str(tmp_path / "storage"), "--kill-min", "1", "--kill-max", "6"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    report = f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, report
    assert "RESULT: OK" in proc.stdout, report
    # The run must actually have crashed the server and checked afterwards.
    kills = next(line for line in proc.stdout.splitlines() if line.startswith("kills:"))
    assert int(kills.split(",")[0].split()[1]) >= 3, report
