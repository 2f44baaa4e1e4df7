"""`import_registry` of the five feeds on PostgreSQL against a plain COPY and a typed COPY of
the same files.

The district comes from `generate_district` (36,000 households: about 1.1 million feed rows,
most of them social insurance), written into a temporary folder with its department forms
(untimed). The run uses its own database (`bench_registry`, dropped, created and migrated),
never anyone else's.

Contenders, each timed with `_common.timed` and round after round in turn, the first of each
round moving on by one (`--rounds`, default 5; every table emptied before each, untimed):
- `first_load` (ours): `registry_import_file` of the five canonical files into empty
  registry tables, in a worker process of its own (bench/_import_worker.py; Django set up
  before any timing, `peak_rss_mb` the import's own).
- `department_first_load` (ours): the same facts as departments export them
  (registry/demo/department_forms.py: GB18030 with CRLF, Chinese headers, sex as 男/女,
  dates as YYYYMMDD, months as YYYYMM, flags as 是/否, shares as 50%, every 50th row's ID
  numbers full-width and every 37th row's of people born in the 1900s in 15 digits), in a
  worker of its own. `ratio_to_canonical` = first_load's median seconds over its own.
- plain baseline: `COPY … (FORMAT csv, HEADER)` of the canonical files into unindexed tables
  of text columns, no checks: `baseline_seconds`, `ratio` = baseline / ours.
- typed baseline: `COPY` of the canonical files into the registry's own tables (same types,
  keys, indexes and constraints), empty in a scratch schema, no checks (bench/
  _import_baselines.py): `baseline_typed_seconds`, `ratio_typed` = typed / ours, target
  0.8 (`target_met_typed`).
Then `reimport`: the registry loaded once with the canonical files and VACUUM ANALYZEd (as
autovacuum would after the load), then the same files again, alternated with the plain
baseline (`_common.alternate`) in a third worker. Every row must be found unchanged: the
stored rows' count and checksums before and after, the tables' inserted and updated tuples
(pg_stat_user_tables, read once the worker's backend has exited and flushed them) and the
rows whose xmin is newer than the transaction before the first re-import are reported,
`reimport_inserted` and `reimport_updated` must be 0.

`identical` is computed live: the checksums of every loaded table (bench/_import_checksums.py,
apart from the product's code: rows read back with SQL) equal those of the canonical files
(read with the csv module), after every round of the case; `identical_per_feed` says which.

CPU: `cpu_seconds` (and `baseline_cpu_seconds`, `baseline_typed_cpu_seconds`) are each side's
client CPU (the worker's, or this process's for the baselines) plus the CPU of the database's
PostgreSQL backends while it ran, which is also given alone as `db_cpu_seconds`
(`baseline_db_cpu_seconds`, `baseline_typed_db_cpu_seconds`); medians of the rounds.

    python bench/registry_import.py              # ~1.1 million rows
    python bench/registry_import.py --scale 0.05 # a quick look
    python bench/registry_import.py --database bench_mine  # a database of one's own
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    Alternation,
    alternate,
    database_url,
    django_setup,
    emit,
    load_average,
    recreate_database,
    timed,
)
from _import_baselines import plain_copy, plain_prepare, typed_copy, typed_create, typed_prepare
from _import_checksums import FEEDS, files_checksums, tables_checksums
from _import_cpu import DatabaseCpu

OURS = ("first_load", "department_first_load")
BASELINES = {
    "plain": "plain COPY of the same files into unindexed text tables",
    "typed": "COPY of the same files into the registry's typed, keyed, indexed tables (empty)",
}


class Worker:
    """A bench/_import_worker.py process: ask(folder) imports the folder's five files."""

    def __init__(self, url: str):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_import_worker.py"), url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.peak_rss_mb = 0.0
        self.ask(None)

    def ask(self, command: str | None) -> dict:
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith('{"worker"'):
                answer = json.loads(line)
                self.peak_rss_mb = max(self.peak_rss_mb, answer.get("peak_rss_mb", 0.0))
                return answer
        raise RuntimeError(f"the import worker ended (exit code {self.process.wait()})")

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def median_of(runs, name: str, digits: int = 4) -> float:
    return round(statistics.median(run.result[name] for run in runs), digits)


def feed_medians(runs) -> dict:
    return {
        feed: round(statistics.median(run.result["feed_seconds"][feed] for run in runs), 3)
        for feed in FEEDS
    }


def rotate(sides: dict, *, rounds: int, before_each, after_each) -> tuple[dict, float]:
    """Every side once a round, each round starting one side further on (as
    `_common.alternate` does for two); `_common.timed` times each call."""
    load = load_average()
    names = list(sides)
    runs = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            before_each()
            run = timed(sides[name])
            after_each(name, run)
            runs[name].append(run)
    return runs, load


def stored_evidence(conn, url: str) -> dict:
    """The registry tables' checksums, and their inserted, updated and deleted tuples so far."""
    tables = [table for table, _ in FEEDS.values()]
    conn.execute("SELECT pg_stat_clear_snapshot()")
    stats = conn.execute(
        "SELECT sum(n_tup_ins), sum(n_tup_upd), sum(n_tup_del) FROM pg_stat_user_tables"
        " WHERE schemaname = 'public' AND relname = ANY(%s)",
        [tables],
    ).fetchone()
    return {"checksums": tables_checksums(url), "tuples": [int(value) for value in stats]}


def rows_since(conn, xid: int) -> int:
    """Registry rows written by a transaction at or after `xid` (xmin, 32 bits)."""
    return sum(
        conn.execute(
            f"SELECT count(*) FROM {table} WHERE xmin::text::bigint >= %s",  # noqa: S608
            [xid % (1 << 32)],
        ).fetchone()[0]
        for table, _ in FEEDS.values()
    )


def wait_gone(conn, pid: int) -> None:
    for _ in range(100):
        gone = conn.execute(
            "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s)", [pid]
        ).fetchone()[0]
        if gone:
            time.sleep(0.5)  # the statistics it flushed on the way out
            return
        time.sleep(0.1)
    raise RuntimeError(f"backend {pid} did not exit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database", default="bench_registry")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every contender")
    args = parser.parse_args()
    import psycopg

    url = database_url(args.database)
    households = max(200, int(36_000 * args.scale))
    recreate_database(url)
    django_setup(url, migrate=True)
    from registry.demo.department_forms import department_forms_write
    from registry.demo.district import generate_district

    with tempfile.TemporaryDirectory(prefix="bench-registry-") as name:
        folder, department = Path(name) / "canonical", Path(name) / "department"
        generate_district(households=households, seed=2027, year=2027, out=folder)
        department_forms_write(canonical=folder, out=department, sex_form="chinese")
        files = files_checksums(folder)
        for path in [*folder.iterdir(), *department.iterdir()]:
            path.read_bytes()  # the files in the page cache for every contender
        conn = psycopg.connect(url, autocommit=True)
        typed_create(conn)
        meter = DatabaseCpu(url)
        workers = {case: Worker(url) for case in (*OURS, "reimport")}

        def metered(call):
            def side():
                result, db_cpu = meter.measure(call)
                result["db_cpu_seconds"] = db_cpu
                # Plus this process's own CPU, which `timed` adds, less the meter's part of it.
                result["cpu_seconds"] = (
                    result.get("worker_cpu_seconds", 0.0) + db_cpu - meter.own_cpu
                )
                return result

            return side

        def empty_everything() -> None:
            conn.execute(f"TRUNCATE {', '.join(table for table, _ in FEEDS.values())}")
            typed_prepare(conn)
            plain_prepare(conn)
            conn.execute("VACUUM ANALYZE")

        matched: dict[str, list[dict]] = {name: [] for name in (*OURS, "typed")}

        def check(side: str, run) -> None:
            if side in matched:
                schema = "typed" if side == "typed" else "public"
                stored = tables_checksums(url, schema)
                matched[side].append({feed: stored[feed] == files[feed] for feed in FEEDS})

        sides = {
            "first_load": metered(lambda: workers["first_load"].ask(str(folder))),
            "department_first_load": metered(
                lambda: workers["department_first_load"].ask(str(department))
            ),
            "plain": metered(lambda: plain_copy(conn, folder)),
            "typed": metered(lambda: typed_copy(conn, folder)),
        }
        runs, load = rotate(
            sides, rounds=max(1, args.rounds), before_each=empty_everything, after_each=check
        )
        rows = sum(rows for rows, _ in files.values())
        common = {
            "bench": "registry_import",
            "baseline": BASELINES["plain"],
            "baseline_typed": BASELINES["typed"],
            "households": households,
        }
        canonical = Alternation(runs["first_load"], runs["plain"], load).fields()
        plain_rows = all(sum(run.result["rows"].values()) == rows for run in runs["plain"])
        for case in OURS:
            versus_plain = Alternation(runs[case], runs["plain"], load).fields()
            versus_typed = Alternation(runs[case], runs["typed"], load).fields()
            per_feed = {feed: all(round_[feed] for round_ in matched[case]) for feed in FEEDS}
            last = runs[case][-1].result
            extra = {}
            if case == "department_first_load":
                extra = {
                    "encoding": "gb18030",
                    "canonical_seconds": canonical["seconds"],
                    "ratio_to_canonical": round(canonical["seconds"] / versus_plain["seconds"], 3),
                }
            emit(
                **common,
                case=case,
                n=last["rows"],
                **versus_plain,
                db_cpu_seconds=median_of(runs[case], "db_cpu_seconds"),
                baseline_db_cpu_seconds=median_of(runs["plain"], "db_cpu_seconds"),
                baseline_typed_seconds=versus_typed["baseline_seconds"],
                baseline_typed_cpu_seconds=versus_typed["baseline_cpu_seconds"],
                baseline_typed_db_cpu_seconds=median_of(runs["typed"], "db_cpu_seconds"),
                baseline_typed_seconds_each=versus_typed["baseline_seconds_each"],
                ratio_typed=versus_typed["ratio"],
                cpu_ratio_typed=versus_typed["cpu_ratio"],
                target_met_typed=versus_typed["ratio"] >= 0.8,
                baseline_typed_identical=all(all(r.values()) for r in matched["typed"]),
                identical=all(per_feed.values())
                and all(run.result["rows"] == rows for run in runs[case])
                and plain_rows,
                identical_per_feed=per_feed,
                feed_seconds=feed_medians(runs[case]),
                baseline_typed_feed_seconds=feed_medians(runs["typed"]),
                inserted=last["inserted"],
                updated=last["updated"],
                rejected=last["rejected"],
                failed=last["failed"],
                peak_rss_mb=workers[case].peak_rss_mb,
                **extra,
            )
        reimport(args, conn, url, folder, files, workers, metered, empty_everything, common)
        for worker in workers.values():
            worker.stop()
        meter.close()
        conn.close()


def reimport(args, conn, url, folder, files, workers, metered, empty_everything, common) -> None:
    """The canonical files loaded once, then again `--rounds` times, alternated with the
    plain baseline; nothing may be inserted or updated."""
    empty_everything()
    loaded = workers["first_load"].ask(str(folder))
    # Its backend gone, the load's own statistics are flushed before they are read.
    workers["first_load"].ask("close")
    wait_gone(conn, loaded["backend_pid"])
    conn.execute("VACUUM ANALYZE")
    before = stored_evidence(conn, url)
    (xid,) = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
    worker = workers["reimport"]
    alternation = alternate(
        metered(lambda: worker.ask(str(folder))),
        metered(lambda: plain_copy(conn, folder)),
        rounds=max(1, args.rounds),
        before_each=lambda: plain_prepare(conn),
    )
    pid = alternation.ours[-1].result["backend_pid"]
    worker.ask("close")
    wait_gone(conn, pid)
    after = stored_evidence(conn, url)
    rewritten = rows_since(conn, xid)
    inserted, updated, deleted = (
        a - b for a, b in zip(after["tuples"], before["tuples"], strict=True)
    )
    unchanged = after["checksums"] == before["checksums"] == files
    rows = sum(rows for rows, _ in files.values())
    ours = [run.result for run in alternation.ours]
    emit(
        **common,
        case="reimport",
        n=ours[-1]["rows"],
        **alternation.fields(),
        db_cpu_seconds=median_of(alternation.ours, "db_cpu_seconds"),
        baseline_db_cpu_seconds=median_of(alternation.baseline, "db_cpu_seconds"),
        identical=unchanged
        and inserted == updated == deleted == rewritten == 0
        and all(result["rows"] == rows for result in ours),
        identical_per_feed={
            feed: after["checksums"][feed] == before["checksums"][feed] == files[feed]
            for feed in FEEDS
        },
        reimport_inserted=inserted,
        reimport_updated=updated,
        reimport_deleted=deleted,
        reimport_rows_new_xmin=rewritten,
        reported_inserted=sum(result["inserted"] for result in ours),
        reported_updated=sum(result["updated"] for result in ours),
        unchanged=ours[-1]["unchanged"],
        feed_seconds=feed_medians(alternation.ours),
        peak_rss_mb=worker.peak_rss_mb,
    )


if __name__ == "__main__":
    main()
