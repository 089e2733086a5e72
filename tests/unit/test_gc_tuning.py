"""The server process collects garbage less often than CPython's default and keeps what it
recovered at startup out of later full collections (each full collection stops every thread
for as long as it takes to walk every payload dict)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pydrant.server import GC_YOUNG_THRESHOLD


def test_serve_tunes_the_garbage_collector_once_storage_is_recovered(tmp_path: Path) -> None:
    # The real serve() on a real storage directory with one collection to recover; only the
    # listening loop is replaced, so the process ends where it would start serving.
    script = textwrap.dedent(f"""
        import gc, uvicorn
        from pathlib import Path
        from pydrant.server import serve
        from pydrant.service.toc import TableOfContents
        from pydrant.settings import load_settings

        storage = Path({str(tmp_path / "storage")!r})
        toc = TableOfContents(storage, 3600.0)
        toc.create_collection("c", {{"vectors": {{"size": 4, "distance": "Dot"}}}})
        toc.close()
        default_threshold = gc.get_threshold()[0]
        uvicorn.Server.run = lambda self, sockets=None: None
        serve(load_settings(None, overrides={{"storage": {{"storage_path": storage}}, "service": {{"grpc_port": None}}}}))
        print(default_threshold, gc.get_threshold()[0], gc.get_freeze_count())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    default_threshold, threshold, frozen = (int(x) for x in done.stdout.split())
    assert threshold == GC_YOUNG_THRESHOLD > default_threshold
    assert frozen > 1000  # the interpreter, the app and the recovered collection
