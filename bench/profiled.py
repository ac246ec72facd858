"""Runs `python -m uvicorn ARGS...` under cProfile timed by the process's CPU clock (a wall clock charges a
function with the time other processes of a shared machine took), writing the stats on exit (SIGINT).

Usage: python -m bench.profiled OUT.prof --factory services.support.main:create_app --port 8000 ...
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time


def main() -> None:
    out, sys.argv = sys.argv[1], ["uvicorn", *sys.argv[2:]]
    profiler = cProfile.Profile(time.process_time)
    try:
        profiler.runcall(runpy.run_module, "uvicorn", run_name="__main__", alter_sys=True)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
