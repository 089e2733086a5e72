"""Response statistics per endpoint and status, for GET /telemetry (`requests.rest` and
`requests.grpc`, Qdrant's OperationDurationStatistics): count, durations, when last answered."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

RECENT = 128  # Qdrant averages the latest 128 durations


@dataclass
class _Durations:
    count: int = 0
    total_micros: float = 0.0
    min_micros: float = float("inf")
    max_micros: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))
    last: float = 0.0  # wall-clock seconds

    def report(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "avg_duration_micros": sum(self.recent) / len(self.recent),
            "min_duration_micros": self.min_micros,
            "max_duration_micros": self.max_micros,
            "total_duration_micros": int(self.total_micros),
            "last_responded": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.last)) + f".{int(self.last % 1 * 1e6):06d}Z",
        }


class RequestStats:
    """Thread-safe: REST handlers answer on the event loop, gRPC ones in a pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: dict[str, dict[str, _Durations]] = {}

    def record(self, endpoint: str, status: int | str, seconds: float) -> None:
        micros = seconds * 1e6
        with self._lock:
            statuses = self._by_endpoint.setdefault(endpoint, {})
            entry = statuses.get(str(status))
            if entry is None:
                entry = statuses[str(status)] = _Durations()
            entry.count += 1
            entry.total_micros += micros
            entry.min_micros = min(entry.min_micros, micros)
            entry.max_micros = max(entry.max_micros, micros)
            entry.recent.append(micros)
            entry.last = time.time()

    def report(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self._lock:
            return {endpoint: {status: entry.report() for status, entry in statuses.items()}
                    for endpoint, statuses in self._by_endpoint.items()}
