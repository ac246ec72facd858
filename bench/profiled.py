"""Runs `python -m uvicorn ARGS...` under cProfile timed by the process's CPU clock (a wall clock charges a
function with the time other processes of a shared machine took), writing the stats on exit (SIGINT).
The profiler starts at the first SIGUSR1 (sent once the service is up, so start-up is left out).

Usage: python -m bench.profiled OUT.prof --factory services.support.main:create_app --port 8000 ...
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time


def main() -> None:
    out, sys.argv = sys.argv[1], ["uvicorn", *sys.argv[2:]]
    profiler = cProfile.Profile(time.process_time)
    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    try:
        runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
