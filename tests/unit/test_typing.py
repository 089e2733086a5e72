"""The package type-checks under `mypy --strict` (pyproject's [tool.mypy]): a regression fails here."""

from __future__ import annotations

from pathlib import Path

import numpy
import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]


# The annotations are written against numpy >= 2.3's stubs, whose array type parameters have
# defaults (a bare `np.ndarray` is complete there). Python 3.10 stops at numpy 2.2, whose stubs
# make mypy --strict demand them everywhere: the check runs where the package is developed.
_NUMPY = tuple(int(part) for part in numpy.__version__.split(".")[:2])


@pytest.mark.skipif(_NUMPY < (2, 3), reason=f"numpy {numpy.__version__}'s stubs predate type-parameter defaults (see above)")
def test_mypy_strict_is_clean() -> None:
    stdout, stderr, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "src" / "pydrant")])
    assert status == 0, f"mypy found problems:\n{stdout}\n{stderr}"
