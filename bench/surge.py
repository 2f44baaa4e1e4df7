"""Opening-day surge: parents submitting over HTTP, through the production stack.

gunicorn (config.settings.production) on loopback, PostgreSQL, Redis and two Celery workers
verifying throughout. The submissions are a synthetic district's (`generate_district`, loaded
through `import_registry`, `import_communities` and `import_schools`): its applications as
their parents would send them, each parent signed in and submitting once (bench/_surge_data.py).

Two cases, both driven by one asyncio client in this process (bench/_surge_load.py):
1. `closed-…`: `--users` users, each sending as soon as its last answer came (no think time),
   submitting for `--seconds`, alternated `--rounds` times with the baseline, the same users
   on the bare Django JSON endpoint GET /api/v1/healthz/ (no sign-in, one SELECT 1): what the
   stack serves with no product logic (bench/_common.alternate: ours, bare, bare, ours, ...).
2. `open-…`: submissions fired at `--open-rate` a second on schedule, whatever the answers:
   the latency a parent sees at that arrival rate (counted from each request's due time),
   whether the generator kept its schedule (`late_sends`, `schedule_kept`) and whether the
   machine kept up (`kept_up`; one that falls more than 5 s behind stops sending and says so,
   `fell_behind`).

Every phase's `seconds` is measured: from its first request sent to its last answer received.
The workers drain the queue before every phase (untimed); at the end the run compares, for
each case, the refs of its 201 answers with the applications stored for its parents (lost,
stored without a 201, stored twice) and checks every one was verified exactly once
(`decided_twice`, `unverified`); `identical` is true when all of them are zero.

Parents are prepared (untimed) for `--max-rate` submissions a second in every closed-loop
phase plus the open loop's; a phase that runs out says so (`parents_exhausted`, and the run
exits with status 3): its rate is then still measured, but the run is not valid.

The run uses its own database (bench_surge, dropped and created) and its own Redis database
number, so it never touches anyone else's data.

    python bench/surge.py                  # 5 x (15 s submitting, 15 s bare), 30 s open loop
    python bench/surge.py --scale 0.2 --rounds 3 --users 16 --open-rate 40
    python bench/surge.py --compare submission --rounds 6 --scale 0.2   # against the ORM's saves
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _surge_stack as stack
from _common import alternate, emit, load_average, recreate_database, timed
from _processes import CpuMeter, start, wait_http
from _surge_data import WARM_UP, prepare
from _surge_load import closed_loop, open_loop

# The hand-written paths a submission goes through, each of which bench/django_way.py can
# replace with Django's own.
COMPARABLE = {"submission"}


HOST = "127.0.0.1"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrinks durations")
    parser.add_argument("--users", type=int, default=48, help="closed loop: concurrent users")
    parser.add_argument("--seconds", type=int, default=15, help="each closed-loop phase")
    parser.add_argument("--rounds", type=int, default=5, help="closed loop: ours/bare rounds")
    parser.add_argument("--open-rate", type=float, default=100.0, help="open loop: per second")
    parser.add_argument("--open-seconds", type=int, default=30, help="open loop: duration")
    parser.add_argument(
        "--late-ms", type=float, default=20.0, help="open loop: a send this late (ms) is late"
    )
    parser.add_argument(
        "--max-rate",
        type=int,
        default=400,
        help="submissions a second every closed-loop phase is prepared for",
    )
    # As docs/operations.md deploys a 2-core web host: cores + 1 single-threaded workers (a
    # CPU-bound request gains nothing from a second thread but a longer tail).
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--gunicorn-threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--database", default="bench_surge")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--drain-timeout", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2027, help="generate_district's seed")
    parser.add_argument(
        "--compare", default="", help="hand-written paths to run against Django's way"
    )
    args = parser.parse_args()
    args.compare = [way for way in args.compare.split(",") if way]
    unknown = set(args.compare) - COMPARABLE
    if unknown:
        parser.error(f"--compare takes {', '.join(sorted(COMPARABLE))}, not {sorted(unknown)}")
    args.closed_seconds = max(5, round(args.seconds * args.scale))
    args.open_seconds = max(5, round(args.open_seconds * args.scale))
    args.open_count = math.ceil(args.open_rate * args.open_seconds)
    return args


def child(parent: dict) -> str:
    return parent["payload"]["child"]["id_number"]


def cpu_ms(cpu: dict, requests: int) -> dict:
    """CPU milliseconds per answered request, by part (web, workers, database)."""
    return {f"cpu_ms_{part}": round(1000 * v / max(requests, 1), 2) for part, v in cpu.items()}


def closed(args, env, workers, web, pool: list[dict]) -> tuple[dict, int]:
    """The closed loop against the bare endpoint, alternated; returns its figures and how many
    parents it used (the pool's first ones)."""
    database_url = env["DATABASE_URL"]
    state = {"offset": 0}

    def phase(mode: str) -> dict:
        cpu = stack.meter(database_url, web, workers)
        before = cpu.snapshot()
        result = closed_loop(
            HOST,
            args.port,
            pool[state["offset"] :] if mode == "submit" else None,
            users=args.users,
            seconds=args.closed_seconds,
        )
        result["cpu"] = CpuMeter.spent(before, cpu.snapshot())
        result["cpu_seconds"] = sum(result["cpu"].values())
        if mode == "submit":
            result["unanswered"] = [state["offset"] + i for i in result["unanswered"]]
            state["offset"] += result["used"]
        return result

    alternation = alternate(
        lambda: phase("submit"),
        lambda: phase("bare"),
        rounds=args.rounds,
        before_each=lambda: stack.drain(database_url, args.drain_timeout),
    )
    ours = [run.result for run in alternation.ours]
    bare = [run.result for run in alternation.baseline]
    rates = [r["ok"] / r["seconds"] for r in ours]
    bare_rates = [r["ok"] / r["seconds"] for r in bare]
    per_second, bare_per_second = statistics.median(rates), statistics.median(bare_rates)
    n = round(statistics.median(r["ok"] for r in ours))
    fields = alternation.fields()

    def median_cpu_ms(results, part=None):
        return round(
            statistics.median(
                1000 * (r["cpu"][part] if part else r["cpu_seconds"]) / max(r["requests"], 1)
                for r in results
            ),
            2,
        )

    def median_gen(results):
        return round(
            statistics.median(
                1000 * r["generator_cpu_seconds"] / max(r["requests"], 1) for r in results
            ),
            3,
        )

    figures = {
        "n": n,
        "n_total": sum(r["ok"] for r in ours),
        "seconds": round(statistics.median(r["seconds"] for r in ours), 3),
        "per_second": round(per_second, 1),
        "per_second_each": [round(rate, 1) for rate in rates],
        "seconds_each": [round(r["seconds"], 3) for r in ours],
        "baseline": "bare Django JSON endpoint GET /api/v1/healthz/ (same stack, same users)",
        "baseline_per_second": round(bare_per_second, 1),
        "baseline_per_second_each": [round(rate, 1) for rate in bare_rates],
        "baseline_seconds": round(n / bare_per_second, 3),
        "ratio": round(per_second / bare_per_second, 4),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in ours), 1),
        "p95_ms": round(statistics.median(r["p95_ms"] for r in ours), 1),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in ours), 1),
        "max_ms": max(r["max_ms"] for r in ours),
        "baseline_p99_ms": round(statistics.median(r["p99_ms"] for r in bare), 1),
        "errors": sum(r["errors"] for r in ours),
        "baseline_errors": sum(r["errors"] for r in bare),
        "failures_sample": [s for r in ours for s in r["failures_sample"]][:5],
        "rounds": fields["rounds"],
        "cpu_seconds": fields["cpu_seconds"],
        "baseline_cpu_seconds": fields["baseline_cpu_seconds"],
        "cpu_ms_per_submission": median_cpu_ms(ours),
        "baseline_cpu_ms_per_request": median_cpu_ms(bare),
        **{f"cpu_ms_{part}": median_cpu_ms(ours, part) for part in ours[0]["cpu"]},
        **{f"baseline_cpu_ms_{part}": median_cpu_ms(bare, part) for part in bare[0]["cpu"]},
        "generator_cpu_ms_per_request": median_gen(ours),
        "baseline_generator_cpu_ms_per_request": median_gen(bare),
        "load_average_start": fields["load_average_start"],
        "parents_exhausted": any(r["exhausted"] for r in ours),
        "parents_prepared": len(pool),
        "parents_used": state["offset"],
        "accepted": {ref for r in ours for ref in r["accepted"]},
        "unanswered": {i for r in ours for i in r["unanswered"]},
    }
    return figures, state["offset"]


def opened(args, env, workers, web, parents) -> dict:
    """The open loop: `parents` submitting at `--open-rate` a second, on schedule."""
    database_url = env["DATABASE_URL"]
    stack.drain(database_url, args.drain_timeout)
    cpu = stack.meter(database_url, web, workers)
    load = load_average()
    before = cpu.snapshot()
    run = timed(
        lambda: open_loop(HOST, args.port, parents, rate=args.open_rate, late_ms=args.late_ms)
    )
    spent = CpuMeter.spent(before, cpu.snapshot())
    result = run.result
    first = {
        "n": result["ok"],
        "requests": result["requests"],
        "seconds": round(result["seconds"], 3),
        "per_second": round(result["ok"] / result["seconds"], 1),
    }
    return {
        **first,
        **{k: v for k, v in result.items() if k not in ("ok", "accepted", "unanswered", *first)},
        "unanswered": set(result["unanswered"]),
        "cpu_seconds": round(run.cpu_seconds + sum(spent.values()), 3),
        "generator_cpu_seconds": round(result["generator_cpu_seconds"], 3),
        **cpu_ms(spent, result["requests"]),
        "load_average_start": load,
        "accepted": set(result["accepted"]),
    }


def main() -> None:
    args = parse_args()
    database_url, broker_url = stack.urls(args)
    env = stack.stack_env(database_url, broker_url)
    os.environ.update(env)
    sys.path.insert(0, str(stack.ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="surge-"))
    recreate_database(database_url)
    subprocess.run(
        [stack.PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=stack.ROOT, env=env, check=True
    )
    import redis

    redis.Redis.from_url(broker_url).flushdb()  # this run's own database number only
    if args.compare:
        from _surge_compare import compare

        compare(args, env, workdir)
        return
    need = args.rounds * args.closed_seconds * args.max_rate + args.open_count
    started = time.perf_counter()
    prepared = prepare(workdir, need, args.seed)
    prepare_seconds = time.perf_counter() - started
    pool = prepared["pool"]
    host = f"http://{HOST}:{args.port}"
    processes = []
    try:
        web = start(stack.gunicorn_cmd(args), env, workdir / "gunicorn.log")
        processes.append(web)
        wait_http(host + "/api/v1/healthz/")
        warm_refs = stack.warm_up(host, prepared["warm"], bare=WARM_UP)
        workers = stack.start_workers_settled(env, workdir)
        processes.extend(workers)
        closed_figures, used = closed(args, env, workers, web, pool)
        open_parents = pool[used : used + args.open_count]
        open_figures = opened(args, env, workers, web, open_parents)
        left, drain_seconds = stack.drain(database_url, args.drain_timeout)
    finally:
        stack.stop_all(processes)
    children = stack.stored(database_url)
    common = {
        "users": args.users,
        "gunicorn": f"{args.gunicorn_workers}x{args.gunicorn_threads}",
        "workers_during_load": 2,
        "district": {**prepared["mix"], "district_communities": prepared["district_communities"]},
        "prepare_seconds": round(prepare_seconds, 1),
        "warm_up_submissions": len(warm_refs),
        "open_jobs_left": left,
        "drain_seconds": round(drain_seconds, 1),
    }
    closed_books = stack.bookkeeping(
        children,
        [child(p) for p in pool[:used]],
        closed_figures.pop("accepted"),
        {child(pool[i]) for i in closed_figures.pop("unanswered")},
    )
    emit(
        bench="surge",
        case=f"closed-{args.users}u-{args.closed_seconds}s-x{args.rounds}",
        **closed_figures,
        identical=closed_books["consistent"],
        **closed_books,
        **common,
    )
    open_books = stack.bookkeeping(
        children,
        [child(p) for p in open_parents[: open_figures["requests"]]],
        open_figures.pop("accepted"),
        {child(open_parents[i]) for i in open_figures.pop("unanswered")},
    )
    open_exhausted = len(open_parents) < args.open_count
    emit(
        bench="surge",
        case=f"open-{args.open_rate:g}per_s-{args.open_seconds}s",
        **open_figures,
        identical=open_books["consistent"],
        **open_books,
        parents_exhausted=open_exhausted,
        **common,
    )
    if closed_figures["parents_exhausted"] or open_exhausted:
        print(
            f"parents ran out: prepare more with --max-rate above {args.max_rate}",
            file=sys.stderr,
        )
        sys.exit(3)


if __name__ == "__main__":
    main()
