"""`generate_district` of 100,000 households (target: under 60 s).

One case, `100000` households: the five feeds, schools.csv and applications.jsonl written into
a temporary folder; `rows` counts every line written, `peak_rss_mb` is this process's peak.
No database is touched.
`cpu_seconds` is the measured process's own CPU time (PostgreSQL's is not in it): on a busy
machine it says more than the wall-clock `seconds`.

    python bench/generate_district.py              # 100,000 households
    python bench/generate_district.py --scale 0.1  # 10,000
"""

import argparse
import tempfile
import time
from pathlib import Path

from _common import emit, peak_rss_mb

from registry.demo.district import generate_district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()
    households = max(100, int(100_000 * args.scale))
    with tempfile.TemporaryDirectory(prefix="bench-district-") as folder:
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = generate_district(
            households=households, seed=args.seed, year=2027, out=Path(folder)
        )
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        size = sum(path.stat().st_size for path in Path(folder).iterdir())
    emit(
        bench="generate_district",
        case=str(households),
        n=households,
        seconds=round(seconds, 3),
        cpu_seconds=round(cpu_seconds, 3),
        people=summary.people,
        applications=summary.applications,
        schools=summary.schools,
        rows=sum(summary.rows.values()),
        rows_by_feed=summary.rows,
        megabytes=round(size / 1024 / 1024, 1),
        peak_rss_mb=peak_rss_mb(),
    )


if __name__ == "__main__":
    main()
