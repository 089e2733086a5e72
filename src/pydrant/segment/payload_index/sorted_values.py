"""A sorted (value, offset) array pair kept current cheaply: updates buffer, queries merge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


class SortedValues:
    """Sorted numeric values with their offsets; adds and removals are applied lazily in O(n)."""

    def __init__(self, dtype: type) -> None:
        self.dtype = dtype
        self._vals: np.ndarray[Any, Any] = np.zeros(0, dtype=dtype)
        self._offs = np.zeros(0, dtype=np.int64)
        self._pending: dict[int, list[float | int]] = {}
        self._removed: set[int] = set()

    def add(self, offset: int, values: list[float | int]) -> None:
        self._pending[offset] = values

    def remove(self, offset: int) -> None:
        # pending entries of this offset are dropped right away; merged ones at the next merge
        self._pending.pop(offset, None)
        self._removed.add(offset)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, offsets), sorted by value then offset."""
        if self._removed:
            keep = ~np.isin(self._offs, np.fromiter(self._removed, np.int64, len(self._removed)))
            self._vals, self._offs = self._vals[keep], self._offs[keep]
            self._removed.clear()
        if self._pending:
            vals: np.ndarray[Any, Any] = np.array([v for vs in self._pending.values() for v in vs], dtype=self.dtype)
            offs = np.repeat(np.fromiter(self._pending, np.int64, len(self._pending)), [len(vs) for vs in self._pending.values()])
            self._pending = {}
            all_vals = np.concatenate([self._vals, vals])
            all_offs = np.concatenate([self._offs, offs])
            order = np.lexsort((all_offs, all_vals))
            self._vals, self._offs = all_vals[order], all_offs[order]
        return self._vals, self._offs

    def between(self, low: float | None, low_incl: bool, high: float | None, high_incl: bool) -> tuple[int, int]:
        """Index range [lo, hi) of values within the bounds."""
        vals, _ = self.arrays()
        lo = 0 if low is None else int(np.searchsorted(vals, low, side="left" if low_incl else "right"))
        hi = len(vals) if high is None else int(np.searchsorted(vals, high, side="right" if high_incl else "left"))
        return lo, max(lo, hi)

    def iterate(self, descending: bool, start: float | None) -> Iterator[tuple[float | int, int]]:
        vals, offs = self.arrays()
        if descending:
            hi = len(vals) if start is None else int(np.searchsorted(vals, start, side="right"))
            for i in range(hi - 1, -1, -1):
                yield vals[i].item(), int(offs[i])
        else:
            lo = 0 if start is None else int(np.searchsorted(vals, start, side="left"))
            for i in range(lo, len(vals)):
                yield vals[i].item(), int(offs[i])
