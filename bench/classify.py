"""Classification alone: households per second (target ≥ 500,000/s on the 2-core machine).

    .venv/bin/python bench/classify.py [--rows 1000000] [--seed 7]

Synthetic households (about 4 % poor, 3.5 % near-poor, a rural/urban mix, review years across the
three standards) are generated first; only classification is timed. Prints one line per path:
`classify_many` (bulk, status only), `classify_status` per call, and the fully explained `classify`
per call (what the API and imports use: the status, the lines, the indicators and the explanation).
Each is run five times; the best and the median run are printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable

from services.registry.classification.classifier import Standards
from services.registry.classification.standards import STANDARDS_DATA, parse_standards

STANDARDS = Standards(parse_standards(STANDARDS_DATA))
classify, classify_many, classify_status = STANDARDS.classify, STANDARDS.classify_many, STANDARDS.classify_status
standard_for = STANDARDS.standard_for

Row = tuple[int, str, int, frozenset[str]]


def synthetic_rows(n: int, seed: int) -> list[Row]:
    rnd = random.Random(seed)
    years = list(range(2018, 2030))
    rows: list[Row] = []
    for _ in range(n):
        year = rnd.choice(years)
        area = "urban" if rnd.random() < 0.35 else "rural"
        standard = standard_for(year)
        lines = standard.lines[area]
        codes = standard.indicator_codes
        draw = rnd.random()
        if draw < 0.04:  # poor: low income and (from 2022) at least 3 deprivations
            income = rnd.randint(lines.poverty_line // 3, lines.poverty_line)
            deprived = rnd.sample(codes, rnd.randint(3, 6))
        elif draw < 0.075:  # near-poor
            income = rnd.randint(lines.poverty_line // 2, lines.poverty_line)
            deprived = rnd.sample(codes, rnd.randint(0, 2))
            if standard.income_alone_poor:
                income = rnd.randint(lines.poverty_line + 1, lines.near_poverty_line or lines.poverty_line + 1)
        else:
            floor = lines.near_poverty_line or lines.poverty_line
            income = rnd.randint(floor + 1, lines.poverty_line * 4)
            deprived = rnd.sample(codes, rnd.randint(0, 2))
        rows.append((year, area, income, frozenset(deprived)))
    return rows


def timed(label: str, n: int, run: Callable[[], list[str]], repeats: int = 5) -> list[str]:
    """Best and median of `repeats` runs: other load on a shared machine only ever slows a run down."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        statuses = run()
        times.append(time.perf_counter() - started)
    best, median = min(times), statistics.median(times)
    print(f"{label:<34} {n:>9,} households: best {n / best:>11,.0f}/s, median {n / median:>11,.0f}/s "
          f"(of {repeats} runs)")
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = synthetic_rows(args.rows, args.seed)
    tuples = [(y, a, i, tuple(c)) for y, a, i, c in rows]
    sample = tuples[: max(1, args.rows // 5)]

    bulk = timed("classify_many (frozenset codes)", len(rows), lambda: classify_many(rows))
    timed("classify_many (tuple codes)", len(tuples), lambda: classify_many(tuples))
    timed("classify_status per call", len(rows), lambda: [classify_status(*r) for r in rows])
    explained = timed("classify (explained) per call", len(sample),
                      lambda: [classify(*r).status for r in sample])
    assert explained == bulk[: len(sample)], "the bulk and explained paths disagree"
    shares = Counter(bulk)
    print("statuses: " + ", ".join(f"{s} {shares[s] / len(bulk):.1%}" for s in sorted(shares)))


if __name__ == "__main__":
    main()
