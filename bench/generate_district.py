"""`generate_district` of 100,000 households (target: under 60 s).

One case, `100000` households: the five feeds, schools.csv and applications.jsonl written into
a temporary folder (emptied before each run, untimed), `--rounds` times (default 5,
`_common.alternate` with no baseline: there is no other generator to race, so the figures are
medians of five runs, not a ratio). `seconds` and `cpu_seconds` (this process's CPU; no
database is touched) are the medians, `seconds_each` every run's; `rows` counts every line
written, `peak_rss_mb` is this process's peak over the runs; `load_average_start` the load
when the runs began.

    python bench/generate_district.py              # 100,000 households
    python bench/generate_district.py --scale 0.1  # 10,000
    python bench/generate_district.py --rounds 7
"""

import argparse
import shutil
import tempfile
from pathlib import Path

from _common import alternate, emit, peak_rss_mb

from registry.demo.district import generate_district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--rounds", type=int, default=5, help="runs of the generator")
    args = parser.parse_args()
    households = max(100, int(100_000 * args.scale))
    with tempfile.TemporaryDirectory(prefix="bench-district-") as name:
        folder = Path(name) / "district"

        def empty() -> None:
            shutil.rmtree(folder, ignore_errors=True)

        def run():
            return generate_district(households=households, seed=args.seed, year=2027, out=folder)

        alternation = alternate(run, rounds=max(1, args.rounds), before_each=empty)
        size = sum(path.stat().st_size for path in folder.iterdir())
    summary = alternation.ours[-1].result
    emit(
        bench="generate_district",
        case=str(households),
        n=households,
        **alternation.fields(digits=3),
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
