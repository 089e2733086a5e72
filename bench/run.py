"""Run pydrant's benchmark: the same workloads against pydrant over REST, qdrant-client local mode and qdrant-edge.

Usage: .venv/bin/python bench/run.py [--points N] [--dim D] [--quick] [--only W1,W2] [--targets T1,T2]
                                      [--json out.json] [--profile-server DIR]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from bench import report  # noqa: E402
from bench.data import Dataset  # noqa: E402
from bench.targets import (  # noqa: E402
    LocalDiskTarget, LocalMemoryTarget, PydrantClientTarget, RawHttpTarget, Target, TargetError,
)
from bench.workloads import REGISTRY, Budget, Context, Skip, load  # noqa: E402

TARGET_NAMES = ["pydrant-http", "pydrant-qc", "local-mem", "local-disk", "qdrant-edge"]
# qdrant-edge-py is optional (not a project dependency): a default run includes it only when it imports
OPTIONAL_TARGETS = {"qdrant-edge": ("qdrant_edge", "pip install qdrant-edge-py")}
# qdrant-client over REST only adds client-side cost; measure it where that cost shows
QC_WORKLOADS = {"upsert", "rss", "retrieve"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_rev() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def available(name: str) -> bool:
    """Whether a target's optional package imports (required targets always do)."""
    if name not in OPTIONAL_TARGETS:
        return True
    try:
        importlib.import_module(OPTIONAL_TARGETS[name][0])
    except ImportError:
        return False
    return True


def default_targets() -> list[str]:
    return [t for t in TARGET_NAMES if available(t)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", type=int, default=100_000, help="points per target (default 100000)")
    p.add_argument("--dim", type=int, default=128, help="vector dimension (default 128)")
    p.add_argument("--quick", action="store_true", help="small sizes and short loops: a smoke run under a minute")
    p.add_argument("--only", help="comma-separated workloads: " + ",".join(REGISTRY))
    p.add_argument("--targets", help="comma-separated targets: " + ",".join(TARGET_NAMES)
                   + " (default all; qdrant-edge only when qdrant_edge imports)")
    p.add_argument("--local-mem-cap", type=int, default=100_000, help="max points for local-mem (default 100000)")
    p.add_argument("--local-disk-cap", type=int, default=1_000,
                   help="max points for local-disk (default 1000: it commits sqlite once per point, ~50 points/s)")
    p.add_argument("--max-minutes", type=float, default=20.0, help="skip remaining workloads after this long")
    p.add_argument("--profile-server", type=Path, help="run pydrant servers under cProfile, .prof files here")
    p.add_argument("--json", type=Path, help="also write results as JSON")
    args = p.parse_args(argv)
    if args.points <= 0 or args.dim <= 0:
        p.error("--points and --dim must be positive")
    args.only = [w.strip() for w in args.only.split(",")] if args.only else list(REGISTRY)
    bad = [w for w in args.only if w not in REGISTRY]
    if bad:
        p.error(f"unknown workload(s) {bad}; known: {list(REGISTRY)}")
    args.targets = [t.strip() for t in args.targets.split(",")] if args.targets else default_targets()
    bad = [t for t in args.targets if t not in TARGET_NAMES]
    if bad:
        p.error(f"unknown target(s) {bad}; known: {TARGET_NAMES}")
    missing = [t for t in args.targets if not available(t)]
    if missing:
        p.error("; ".join(f"target {t} needs `{OPTIONAL_TARGETS[t][1]}`" for t in missing))
    if args.quick:
        args.points = min(args.points, 3_000)
        args.local_disk_cap = min(args.local_disk_cap, 200)
    return args


def make_target(name: str, args: argparse.Namespace) -> Target:
    prof = args.profile_server
    if prof is not None:
        prof.mkdir(parents=True, exist_ok=True)
    if name == "pydrant-http":
        return RawHttpTarget(profile=prof / "pydrant-http.prof" if prof else None)
    if name == "pydrant-qc":
        return PydrantClientTarget(profile=prof / "pydrant-qc.prof" if prof else None)
    if name == "qdrant-edge":
        # optional package: imported only when selected
        from bench.edge_target import EdgeTarget

        return EdgeTarget()
    if name == "local-mem":
        t: Target = LocalMemoryTarget()
        t.max_points = args.local_mem_cap
        return t
    return LocalDiskTarget(max_points=args.local_disk_cap)


def budget(args: argparse.Namespace) -> Budget:
    if args.quick:
        return Budget(upsert_s=10, latency_iters=50, latency_s=2, heavy_iters=5, heavy_s=2, pass_s=3, queries=10)
    return Budget()


def run_target(target: Target, ds: Dataset, args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    n = min(args.points, target.max_points or args.points)
    ctx = Context(ds=ds, n=n, budget=budget(args))
    out: dict[str, Any] = {"description": target.description, "points": n, "workloads": {}, "notes": ctx.notes}
    if n < args.points:
        ctx.notes.append(f"capped at {n:,} points (run N = {args.points:,}): local mode is too slow for more")
    selected = [w for w in args.only if target.name != "pydrant-qc" or w in QC_WORKLOADS]
    target.setup()
    try:
        pid = target.server_pid()
        if pid is not None:
            ctx.rss_idle = psutil.Process(pid).memory_info().rss
        for name in selected:
            wl = REGISTRY[name]
            entry: dict[str, Any] = {"status": "ok", "note": "", "metrics": []}
            out["workloads"][name] = entry
            if time.monotonic() > deadline:
                entry.update(status="skipped", note="--max-minutes reached")
                continue
            started = time.perf_counter()
            try:
                if wl.needs_data and ctx.loaded < n:
                    log(f"{target.name}: loading {n:,} points (untimed)")
                    load(target, ctx)
                    started = time.perf_counter()
                log(f"{target.name}: {name}")
                entry["metrics"] = [vars(m) for m in wl.fn(target, ctx)]
            except Skip as exc:
                entry.update(status="skipped", note=str(exc))
            except TargetError as exc:
                entry.update(status="skipped", note=f"target refused it: {exc}")
            except Exception as exc:  # a failing workload must not hide the others' numbers
                entry.update(status="error", note=f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
            entry["seconds"] = round(time.perf_counter() - started, 2)
            log(f"{target.name}: {name} {entry['status']} in {entry['seconds']}s {entry['note']}")
    finally:
        target.teardown()
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # local mode warns that payload indexes / search params have no effect: expected, and noisy
    warnings.filterwarnings("ignore", category=UserWarning)
    started = time.monotonic()
    deadline = started + args.max_minutes * 60
    log(f"generating {args.points:,} x {args.dim} data set")
    ds = Dataset(args.points, args.dim)
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "nproc": os.cpu_count(),
            "cpu": cpu_model(),
            "python": platform.python_version(),
            "git": git_rev(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "points": args.points,
            "dim": args.dim,
            "quick": args.quick,
        },
        "targets": {},
    }
    for name in args.targets:
        if name == "pydrant-qc" and not QC_WORKLOADS & set(args.only):
            continue
        target = make_target(name, args)
        log(f"target {name}: {target.description}")
        results["targets"][name] = run_target(target, ds, args, deadline)
    results["meta"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["meta"]["wall_seconds"] = round(time.monotonic() - started, 1)
    m = results["meta"]
    print(f"\npydrant benchmark — {m['date']}, {m['nproc']} x {m['cpu']}, Python {m['python']}, "
          f"git {m['git']}, N={m['points']:,}, dim={m['dim']}, wall {m['wall_seconds']}s\n")
    print(report.render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
