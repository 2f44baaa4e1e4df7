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
# The figures besides time that a benchmark's claims rest on, shown where a case has them.
DETAILS = (
    "ratio_typed",
    "ratio_to_canonical",
    "reimport_inserted",
    "reimport_updated",
    "times_compiled",
    "times_compiled_cpu",
    "ratio_matching",
    "matching_check_inputs_share",
    "proposals",
    "proposal_rounds",
    "checked",
    "expected_n",
    "mismatched",
    "p99_ms",
    "errors",
    "lost",
    "stored_twice",
    "decided_twice",
    "decided_once",
    "parents_exhausted",
    "fell_behind",
    "kept_up",
    "workers_cpu_ms",
    "registry_cpu_ms",
)


# Benchmarks whose `n` is the size of the district a page is drawn from, not items done: a
# rate would mean nothing.
SECONDS_ONLY = ("staff_pages",)


def _figure(record: dict, prefix: str = "") -> str:
    rate = None if record["bench"] in SECONDS_ONLY else record.get(f"{prefix}per_second")
    seconds = record.get(f"{prefix}seconds")
    if rate is not None and seconds is not None:
        return f"{rate:,.1f}/s ({seconds:,.3f} s)"
    if rate is not None:
        return f"{rate:,.1f}/s"
    if seconds is not None:
        return f"{seconds:,.4f} s"
    return ""


def _target(record: dict) -> str:
    found = []
    for key in sorted(k for k in record if k.startswith("target_met")):
        met = "met" if record[key] else "**not met**"
        goal = record.get(key.replace("_met", "")) or key
        found.append(f"{goal}: {met}")
    return "; ".join(found)


def rows(lines: list[str]) -> list[str]:
    out = [
        "| benchmark | case | n | ours | CPU s | baseline | baseline figure | baseline CPU s | "
        "ratio | identical | load at start | target | details |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
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
            "| {bench} | {case} | {n} | {ours} | {cpu} | {baseline} | {base} | {base_cpu} | "
            "{ratio} | {identical} | {load} | {target} | {details} |".format(
                bench=record["bench"],
                case=record.get("case", ""),
                n=f"{record['n']:,}" if isinstance(record.get("n"), int) else "",
                ours=_figure(record),
                cpu=record.get("cpu_seconds", ""),
                baseline=record.get("baseline", ""),
                base=_figure(record, "baseline_"),
                base_cpu=record.get("baseline_cpu_seconds", ""),
                ratio="" if ratio is None else ratio,
                identical=record.get("identical", ""),
                load=load,
                target=_target(record),
                details=", ".join(
                    f"{key} {json.dumps(record[key], ensure_ascii=False)}"
                    for key in DETAILS
                    if key in record
                ),
            )
        )
    return out


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("var/bench/latest.jsonl")
    print("\n".join(rows(source.read_text(encoding="utf-8").splitlines())))
