"""Helpers the benchmarks share: one JSON line per case, ours and the baseline alternated with
medians and CPU seconds, peak memory, a database of their own.

Not a benchmark itself (`make bench` runs it too, and it does nothing then).
"""

import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def emit(**record) -> None:
    """Print one measured case as one JSON line (INTERCHANGE.md, Benchmarks)."""
    seconds = record.get("seconds")
    if seconds and "per_second" not in record and record.get("n") is not None:
        record["per_second"] = round(record["n"] / seconds, 1)
    if record.get("baseline_seconds") and seconds and "ratio" not in record:
        record["ratio"] = round(record["baseline_seconds"] / seconds, 3)
    print(json.dumps(record, ensure_ascii=False), flush=True)


def load_average() -> float:
    """The one-minute load average, recorded at the start of every measured case."""
    return round(os.getloadavg()[0], 2)


def cpu_seconds_now() -> float:
    """CPU seconds of this process and of its finished children (user and system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Run:
    """One timed call of one side: wall seconds, CPU seconds, and what the call returned.

    A side whose work happens in other processes (PostgreSQL's backends, workers) returns a
    dict with `cpu_seconds` for that work; it is added to this process's own CPU.
    """

    seconds: float
    cpu_seconds: float
    result: object = None


def timed(call: Callable[[], object]) -> Run:
    wall, cpu = time.perf_counter(), cpu_seconds_now()
    result = call()
    seconds, spent = time.perf_counter() - wall, cpu_seconds_now() - cpu
    if isinstance(result, dict) and "cpu_seconds" in result:
        spent += result["cpu_seconds"]
    return Run(seconds=seconds, cpu_seconds=spent, result=result)


@dataclass
class Alternation:
    """Ours and the baseline run in turn (ours, baseline, baseline, ours, ...), so that a load
    that rises or falls during the run weighs on both sides alike."""

    ours: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)
    load_average_start: float = 0.0

    def fields(self, *, digits: int = 4) -> dict:
        """The case's figures: medians of both sides, every round's seconds, the ratio of the
        medians (baseline / ours: above 1 means ours is faster)."""

        def median(runs, name):
            return round(statistics.median(getattr(run, name) for run in runs), digits)

        figures = {
            "rounds": len(self.ours),
            "seconds": median(self.ours, "seconds"),
            "cpu_seconds": median(self.ours, "cpu_seconds"),
            "seconds_each": [round(run.seconds, digits) for run in self.ours],
            "load_average_start": self.load_average_start,
        }
        if self.baseline:
            figures |= {
                "baseline_seconds": median(self.baseline, "seconds"),
                "baseline_cpu_seconds": median(self.baseline, "cpu_seconds"),
                "baseline_seconds_each": [round(run.seconds, digits) for run in self.baseline],
            }
            figures["ratio"] = round(figures["baseline_seconds"] / figures["seconds"], 3)
            figures["cpu_ratio"] = round(
                figures["baseline_cpu_seconds"] / max(figures["cpu_seconds"], 1e-9), 3
            )
        return figures


def alternate(
    ours: Callable[[], object],
    baseline: Callable[[], object] | None = None,
    *,
    rounds: int = 5,
    before_each: Callable[[], None] | None = None,
) -> Alternation:
    """Run `ours` and `baseline` `rounds` times each, alternating which goes first.

    `before_each` runs untimed before every call (to empty tables, evict caches). With no
    baseline, ours simply runs `rounds` times.
    """
    alternation = Alternation(load_average_start=load_average())
    for index in range(rounds):
        order = [("ours", ours), ("baseline", baseline)]
        if index % 2:
            order.reverse()
        for side, call in order:
            if call is None:
                continue
            if before_each is not None:
                before_each()
            getattr(alternation, side).append(timed(call))
    return alternation


def peak_rss_mb(*, children: bool = False) -> float:
    """The peak resident set size of this process (or of its finished children), in MB.

    On Linux this process's own peak is read from /proc (VmHWM): `getrusage` keeps the high
    water mark across `execve`, so a child started by a large parent would report the
    parent's peak as its own.
    """
    if not children:
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def database_url(name: str) -> str:
    """The configured DATABASE_URL with another database name: benchmarks keep to their own."""
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    if not base.scheme.startswith("postgres"):
        raise SystemExit("the benchmarks need DATABASE_URL pointing at PostgreSQL")
    return urlunsplit(base._replace(path="/" + name))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str, *, migrate: bool = False) -> None:
    """Point Django at `url` (before anything imports settings) and optionally migrate."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


if __name__ == "__main__":
    pass
