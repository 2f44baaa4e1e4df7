"""The headline table of docs/benchmarks.md, from one `make bench` run's JSON lines.

    python bench/headline.py var/bench/latest.jsonl

One row per case that has a figure of its own (phases and set-up lines are left out): the
command, n, ours, the baseline, the ratio, identical, and the target where the case names one.
Every number is a field of the run, so each claim in the prose can point at one.
"""

import json
import sys
from pathlib import Path

# Lines that are parts of a case, not cases: the phases of an alternated run, set-up.
PARTS = ("phase-", "registry-deployment", "compare-ours", "submit")


def _figure(record: dict, prefix: str = "") -> str:
    rate = record.get(f"{prefix}per_second")
    seconds = record.get(f"{prefix}seconds")
    if rate is not None and seconds is not None:
        return f"{rate:,.1f}/s ({seconds:,.3f} s)"
    if rate is not None:
        return f"{rate:,.1f}/s"
    if seconds is not None:
        return f"{seconds:,.4f} s"
    return ""


def _target(record: dict) -> str:
    for key in ("target_met", "target_met_typed", "target_met_compiled"):
        if key in record:
            met = "met" if record[key] else "**not met**"
            goal = record.get("target") or record.get(key.replace("_met", "")) or key
            return f"{goal}: {met}"
    return ""


def rows(lines: list[str]) -> list[str]:
    out = [
        "| benchmark | case | n | ours | baseline | baseline figure | ratio | identical | "
        "load at start | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if "bench" not in record or str(record.get("case", "")).startswith(PARTS):
            continue
        ratio = record.get("ratio")
        load = record.get("load_average_start", record.get("load_average_before", ""))
        if isinstance(load, list):
            load = f"{min(load)}-{max(load)}" if load else ""
        out.append(
            "| {bench} | {case} | {n} | {ours} | {baseline} | {base} | {ratio} | {identical} | "
            "{load} | {target} |".format(
                bench=record["bench"],
                case=record.get("case", ""),
                n=f"{record['n']:,}" if isinstance(record.get("n"), int) else "",
                ours=_figure(record),
                baseline=record.get("baseline", ""),
                base=_figure(record, "baseline_"),
                ratio="" if ratio is None else ratio,
                identical=record.get("identical", ""),
                load=load,
                target=_target(record),
            )
        )
    return out


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("var/bench/latest.jsonl")
    print("\n".join(rows(source.read_text(encoding="utf-8").splitlines())))
