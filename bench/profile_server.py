"""Run `pydrant serve` with cProfile in every thread (handlers and workers run off the main thread).

Usage: python bench/profile_server.py OUT.prof serve --storage DIR --port P ...; SIGINT stops the
server and writes the merged stats to OUT.prof (read with pstats).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
from typing import Any

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_in_thread(frame: Any, event: str, arg: Any) -> None:
    """Installed by threading.setprofile: swaps itself for a cProfile profiler in each new thread."""
    sys.setprofile(None)
    prof = cProfile.Profile()
    with _lock:
        _profiles.append(prof)
    prof.enable()


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    from pydrant.cli import main as pydrant_main

    threading.setprofile(_start_in_thread)
    main_prof = cProfile.Profile()
    _profiles.append(main_prof)
    main_prof.enable()
    try:
        return pydrant_main(argv)
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT after its graceful shutdown
        return 0
    finally:
        main_prof.disable()
        threading.setprofile(None)
        with _lock:
            stats = pstats.Stats(_profiles[0])
            for prof in _profiles[1:]:
                try:
                    stats.add(prof)
                except TypeError:  # a thread that never recorded anything
                    pass
        stats.dump_stats(out)


if __name__ == "__main__":
    raise SystemExit(main())
