"""The package type-checks under `mypy --strict` (pyproject's [tool.mypy]): a regression fails here."""

from __future__ import annotations

from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_is_clean() -> None:
    stdout, stderr, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "src" / "pydrant")])
    assert status == 0, f"mypy found problems:\n{stdout}\n{stderr}"
