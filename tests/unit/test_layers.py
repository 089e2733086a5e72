"""Imports point down only: api -> service -> collection -> segment -> storage; models and
errors are leaves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pydrant"
ORDER = ["api", "service", "collection", "segment", "storage"]
LEAVES = {"models", "errors"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "pydrant" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    for module in _imports(path):
        target = _layer(module)
        if target is None or target == own:
            continue
        if own in LEAVES:
            assert target in LEAVES, f"{path.name}: leaf `{own}` imports {module}"
        elif own in ORDER and target in ORDER:
            assert ORDER.index(target) > ORDER.index(own), f"{path.relative_to(PACKAGE)} ({own}) imports {module} ({target}): upward"
