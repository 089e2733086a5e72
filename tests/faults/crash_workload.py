"""A seeded random write workload on a collection, with a model of what each acknowledged write
left behind, and the recovery check that compares a reopened storage directory against it."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydrant.collection import read
from pydrant.collection.collection import Collection
from pydrant.collection.updates import (
    PreparedWrite,
    prepare_delete,
    prepare_set_payload,
    prepare_upsert,
)
from pydrant.errors import NotFound
from pydrant.service.toc import TableOfContents
from pydrant.storage.fileio import DEFAULT_FILEIO, FileIO

NAME = "crashy"
DIM = 4
# Dot, not Cosine: stored vectors come back exactly as written (no normalisation).
CREATE_BODY = {"vectors": {"size": DIM, "distance": "Dot"}}
FLUSH_NEVER = 1e9  # the worker never flushes on its timer; the test calls flush() itself
IDS: list[Any] = [*range(24), *(str(uuid.UUID(int=n + 1)) for n in range(4))]

Point = tuple[tuple[float, ...], dict[str, Any]]
State = dict[Any, Point]


@dataclass(frozen=True)
class Step:
    """One write request and the state it leads to. `missing`: it names ids that do not exist, so
    (as in Qdrant) it writes the others and a waiting caller then gets NotFound."""

    describe: str
    prepare: Callable[[Collection], PreparedWrite]
    after: State
    missing: bool = False


def _by_group(group: int) -> dict[str, Any]:
    return {"must": [{"key": "group", "match": {"value": group}}]}


def _in_group(point: Point, group: int) -> bool:
    return point[1].get("group") == group


def random_step(rng: random.Random, state: State, step_no: int) -> Step:
    """A random upsert, set_payload or delete (by ids or by filter) and its expected effect."""
    roll = rng.random()
    if roll < 0.45:
        points = [
            {"id": pid, "vector": [rng.randint(-8, 8) / 2 for _ in range(DIM)],
             "payload": {"group": rng.randint(0, 2), "step": step_no}}
            for pid in rng.sample(IDS, rng.randint(1, 4))
        ]
        after = dict(state)
        for p in points:
            after[p["id"]] = (tuple(p["vector"]), dict(p["payload"]))
        body = json.dumps({"points": points}).encode()
        return Step(f"upsert {[p['id'] for p in points]}", lambda c: prepare_upsert(c, body), after)
    payload: dict[str, Any] = {"step": step_no, "mark": rng.choice("ab")}
    if rng.random() < 0.3:
        payload["group"] = rng.randint(0, 2)
    if roll < 0.65:
        ids = rng.sample(IDS, rng.randint(1, 3))
        targets = [pid for pid in ids if pid in state]
        missing = len(targets) != len(ids)
        sp_body: dict[str, Any] = {"points": ids, "payload": payload}
        describe = f"set_payload {ids}"
    elif roll < 0.75:
        group = rng.randint(0, 2)
        targets = [pid for pid, point in state.items() if _in_group(point, group)]
        missing = False
        sp_body = {"filter": _by_group(group), "payload": payload}
        describe = f"set_payload group={group}"
    else:
        if roll < 0.9:
            ids = rng.sample(IDS, rng.randint(1, 3))
            del_body: dict[str, Any] = {"points": ids}
            describe = f"delete {ids}"
        else:
            group = rng.randint(0, 2)
            ids = [pid for pid, point in state.items() if _in_group(point, group)]
            del_body = {"filter": _by_group(group)}
            describe = f"delete group={group}"
        after = {pid: point for pid, point in state.items() if pid not in ids}
        return Step(describe, lambda c: prepare_delete(c, del_body), after)
    after = dict(state)
    for pid in targets:
        vector, old = after[pid]
        after[pid] = (vector, {**old, **payload})
    return Step(describe, lambda c: prepare_set_payload(c, sp_body), after, missing)


@dataclass
class Outcome:
    """What the client saw: the state all acknowledged writes add up to, and the state with the
    one write that was in flight when the machine died (None if nothing was in flight)."""

    acked: State
    in_flight: State | None
    log: list[str]


def run_workload(
    collection: Collection, rng: random.Random, steps: int, direct_flushes: bool, crash_type: type[BaseException]
) -> Outcome:
    """Drive writes (and, with `direct_flushes`, flush() calls) until `steps` ran or the crash."""
    outcome = Outcome({}, None, [])
    try:
        for step_no in range(steps):
            if direct_flushes and rng.random() < 0.15:
                # flush() must not race with applies (its docstring): let the worker go idle first.
                collection.wait_applied()
                outcome.log.append("flush")
                collection.flush()
                continue
            step = random_step(rng, outcome.acked, step_no)
            outcome.log.append(step.describe)
            prepared = step.prepare(collection)
            outcome.in_flight = step.after
            wait = rng.random() < 0.5
            try:
                collection.write(prepared.build, wait=wait, timeout=30,
                                 needs_current_state=prepared.needs_current_state)
            except NotFound:
                assert step.missing and wait, f"{step.describe} was refused with NotFound"
            else:
                assert not (step.missing and wait), f"{step.describe} should have reported NotFound"
            outcome.acked, outcome.in_flight = step.after, None
    except crash_type:
        outcome.log.append("CRASH")
    return outcome


def stored_state(collection: Collection) -> State:
    records, next_offset = read.scroll(collection, None, None, 10_000, True, True)
    assert next_offset is None
    state = {r["id"]: (tuple(r["vector"]), r["payload"]) for r in records}
    assert len(state) == len(records), "scroll returned an id twice"
    assert read.count(collection, None) == len(state)
    return state


def _difference(found: State, expected: State) -> str:
    missing = sorted(map(str, expected.keys() - found.keys()))
    extra = sorted(map(str, found.keys() - expected.keys()))
    changed = sorted(str(pid) for pid in found.keys() & expected.keys() if found[pid] != expected[pid])
    return f"missing {missing}, unexpected {extra}, different {changed}"


def check_recovery(storage: Path, outcome: Outcome, write_after: bool = True, fileio: FileIO = DEFAULT_FILEIO) -> None:
    """Open `storage` as a restarted server would and raise AssertionError unless it holds
    exactly the acknowledged state (or that plus the whole in-flight write); with `write_after`,
    also that it takes a new write and keeps it across a clean restart."""
    try:
        toc = TableOfContents(storage, FLUSH_NEVER, fileio)
    except Exception as exc:
        raise AssertionError(f"storage does not open after the crash: {exc!r}") from exc
    try:
        assert toc.list_names() == [NAME], f"acknowledged collection lost: {toc.list_names()}"
        collection = toc.get(NAME)
        found = stored_state(collection)
        if found != outcome.acked and found != outcome.in_flight:
            raise AssertionError(
                f"recovered state is neither the acknowledged one ({_difference(found, outcome.acked)}) "
                f"nor that plus the write in flight; ops: {outcome.log[-8:]}"
            )
        if not write_after:
            return
        prepared = prepare_upsert(collection, json.dumps(
            {"points": [{"id": 10_000, "vector": [1.0] * DIM, "payload": {"after": "crash"}}]}).encode())
        collection.write(prepared.build, wait=True)
        collection.flush()  # raises if the recovered segments cannot be written out again
        expected = {**found, 10_000: ((1.0,) * DIM, {"after": "crash"})}
    finally:
        toc.close()
    toc = TableOfContents(storage, FLUSH_NEVER, fileio)
    try:
        again = stored_state(toc.get(NAME))
        assert again == expected, f"a write after recovery did not survive a restart: {_difference(again, expected)}"
    finally:
        toc.close()
