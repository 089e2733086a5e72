"""Command line: `pydrant serve [--config FILE] [--storage DIR] [--host H] [--port P] [--grpc-port G]
[--snapshot PATH:NAME ...] [--storage-snapshot PATH] [--force-snapshot]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from pydrant.settings import SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pydrant", description="A vector database that speaks Qdrant's API.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--config", type=Path, help="YAML config file")
    serve.add_argument("--storage", type=Path, help="storage directory (default ./storage)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 6333)")
    serve.add_argument("--grpc-port", type=int, help="gRPC port (default 6334; 0 disables gRPC)")
    serve.add_argument("--snapshot", action="append", default=[], metavar="PATH:NAME", type=_snapshot_arg,
                       help="recover collection NAME from the snapshot file PATH before serving (repeatable)")
    serve.add_argument("--storage-snapshot", type=Path, metavar="PATH",
                       help="recover every collection and alias of a full snapshot before serving")
    serve.add_argument("--force-snapshot", action="store_true",
                       help="let --snapshot / --storage-snapshot replace collections that exist")
    return parser


def _snapshot_arg(value: str) -> tuple[Path, str]:
    path, sep, name = value.rpartition(":")
    if not sep or not path or not name:
        raise argparse.ArgumentTypeError(f"expected PATH:NAME, got {value!r}")
    return Path(path), name


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, dict[str, Any]] = {"storage": {}, "service": {}}
    if args.storage is not None:
        overrides["storage"]["storage_path"] = args.storage
    if args.host is not None:
        overrides["service"]["host"] = args.host
    if args.port is not None:
        overrides["service"]["http_port"] = args.port
    if args.grpc_port is not None:
        overrides["service"]["grpc_port"] = args.grpc_port
    try:
        settings = load_settings(args.config, overrides=overrides)
    except SettingsError as exc:
        print(f"pydrant: {exc}", file=sys.stderr)
        return 2
    # One BLAS thread: requests already run in parallel threads, and idle BLAS threads spinning
    # against faiss's OpenMP threads on a small machine turned a 3 ms exact search into 100 ms.
    # Must be set before numpy is first imported (by the server modules below).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    _fixed_mmap_threshold()
    from pydrant.server import serve

    return serve(settings, args.snapshot, args.storage_snapshot, args.force_snapshot)


# glibc serves allocations above a threshold with their own mmap, returned to the OS on free,
# but it raises that threshold (up to 32 MB) after each such free. A flush's serialised
# segment or a graph build then leaves RSS at its high-water mark: +200 MB after indexing 100k
# points of dim 128. A fixed threshold keeps big, short-lived buffers out of the heap.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 4 << 20  # request bodies (a 1000-point batch is ~2.6 MB) stay in the heap


def _fixed_mmap_threshold() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator has its own policy


if __name__ == "__main__":
    raise SystemExit(main())
