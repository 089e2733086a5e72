"""What the optimizer is doing and has done (GET /collections/{name}/optimizations): each
optimization's kind, segments, stages with their times and units of work, and outcome.

Segments are named by UUIDs made from their numeric ids, so an optimization's UUID is the UUID
its new segment will have, as Qdrant's are. The optimizer thread writes these records while
request threads read them; a report may catch a stage a moment before its predecessor is
marked finished, never a torn value.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

COMPLETED_KEPT = 128  # finished optimizations remembered (the endpoint returns 16 by default)


def segment_uuid(segment_id: int) -> str:
    return str(uuid.UUID(int=segment_id))


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Stage:
    name: str
    started: float | None = None
    finished: float | None = None
    done: int | None = None
    total: int | None = None
    children: list[Stage] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.started is not None:
            out["started_at"] = _timestamp(self.started)
        if self.finished is not None:
            out["finished_at"] = _timestamp(self.finished)
            if self.started is not None:
                out["duration_sec"] = round(self.finished - self.started, 6)
        if self.done is not None:
            out["done"] = self.done
        if self.total is not None:
            out["total"] = self.total
        if self.children:
            out["children"] = [child.report() for child in self.children]
        return out


class Optimization:
    """One optimization: `kind` is the optimizer (indexing, vacuum, merge)."""

    def __init__(self, kind: str, target_id: int, sources: list[tuple[int, int]], stages: list[str]) -> None:
        self.kind = kind
        self.uuid = segment_uuid(target_id)
        self.sources = sources  # (segment id, live points) of each source
        self.root = Stage(kind, started=time.time(), children=[Stage(name) for name in stages])
        self.status: Any = "optimizing"
        self._current: Stage | None = None

    @property
    def source_ids(self) -> set[int]:
        return {segment_id for segment_id, _ in self.sources}

    def stage(self, name: str, total: int | None = None) -> Stage:
        """Start stage `name` (ending the one before)."""
        now = time.time()
        if self._current is not None and self._current.finished is None:
            self._current.finished = now
        stage = next(s for s in self.root.children if s.name == name)
        stage.started, stage.total = now, total
        stage.done = 0 if total is not None else None
        self._current = stage
        return stage

    def end(self, status: Any) -> None:
        now = time.time()
        if self._current is not None and self._current.finished is None:
            self._current.finished = now
        self.root.finished = now
        self.status = status

    def report(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "optimizer": self.kind,
            "status": self.status,
            "segments": [{"uuid": segment_uuid(sid), "points_count": points} for sid, points in self.sources],
            "progress": self.root.report(),
        }


class OptimizationLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running: Optimization | None = None
        self.completed: deque[Optimization] = deque(maxlen=COMPLETED_KEPT)

    def start(self, optimization: Optimization) -> Optimization:
        with self._lock:
            self.running = optimization
        return optimization

    def end(self, optimization: Optimization, status: Any) -> None:
        optimization.end(status)
        with self._lock:
            self.completed.append(optimization)
            if self.running is optimization:
                self.running = None

    def snapshot(self) -> tuple[Optimization | None, list[Optimization]]:
        """(running, completed newest first)."""
        with self._lock:
            return self.running, list(reversed(self.completed))
