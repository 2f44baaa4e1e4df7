"""`bench/surge.py --compare`: the product's hand-written paths against Django's own way
(bench/django_way.py), closed-loop submission phases only.

Each phase starts gunicorn anew, for the product's stack or one where the named paths are
Django's, warms it with submissions of its own, and runs the closed loop with parents no other
phase used. Sides alternate (ours, a, b, then b, a, ours, ...), so that with an even number of
rounds every side runs first as often as last. The workers run throughout and drain the queue
before every phase. One JSON line a phase, then one a path with the medians of each side.
"""

import json
import os
import statistics

import _surge_stack as stack
from _common import load_average
from _processes import CpuMeter, start, wait_http
from _surge_data import WARM_UP, prepare
from _surge_load import closed_loop

HOST = "127.0.0.1"


def way_env(env: dict, ways: tuple[str, ...]) -> dict:
    """The stack's environment with `ways` done Django's way (bench/django_way.py)."""
    if not ways:
        return env
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "django_way",
        "DJANGO_WAY_BASE": env["DJANGO_SETTINGS_MODULE"],
        "DJANGO_WAY": ",".join(ways),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(stack.ROOT / "bench"), str(stack.ROOT), env.get("PYTHONPATH", "")])
        ),
    }


def compare(args, env: dict, workdir) -> None:
    database_url = env["DATABASE_URL"]
    sides = [("ours", ()), *((way, (way,)) for way in args.compare)]
    phases = []
    for number in range(1, args.rounds + 1):
        for side, ways in sides if number % 2 else reversed(sides):
            phases.append({"name": f"{side}-{number}", "side": side, "ways": ways})
    need = len(phases) * (args.closed_seconds * args.max_rate + WARM_UP)
    prepared = prepare(workdir, need, args.seed)
    pool, offset = prepared["pool"], 0
    host = f"http://{HOST}:{args.port}"
    workers = stack.start_workers_settled(env, workdir)
    results, accepted, sent = [], set(), []
    try:
        for phase in phases:
            stack_env = way_env(env, phase["ways"])
            web = start(stack.gunicorn_cmd(args), stack_env, workdir / f"web-{phase['name']}.log")
            try:
                wait_http(host + "/api/v1/healthz/")
                stack.warm_up(host, pool[offset : offset + WARM_UP], bare=WARM_UP)
                offset += WARM_UP
                stack.drain(database_url, args.drain_timeout)
                cpu = stack.meter(database_url, web, workers)
                load = load_average()
                before = cpu.snapshot()
                run = closed_loop(
                    HOST, args.port, pool[offset:], users=args.users, seconds=args.closed_seconds
                )
                spent = CpuMeter.spent(before, cpu.snapshot())
            finally:
                stack.stop(web)
            sent.extend(
                p["payload"]["child"]["id_number"] for p in pool[offset : offset + run["used"]]
            )
            offset += run["used"]
            accepted.update(run["accepted"])
            record = {
                "bench": "surge",
                "case": f"compare-{phase['name']}",
                "side": phase["side"],
                "django_way": list(phase["ways"]),
                "n": run["ok"],
                "seconds": round(run["seconds"], 3),
                "per_second": round(run["ok"] / run["seconds"], 1),
                "p50_ms": run["p50_ms"],
                "p95_ms": run["p95_ms"],
                "p99_ms": run["p99_ms"],
                "errors": run["errors"],
                "parents_exhausted": run["exhausted"],
                **{
                    f"cpu_ms_{k}": round(1000 * v / max(run["requests"], 1), 2)
                    for k, v in spent.items()
                },
                "load_average_start": load,
                "users": args.users,
                "gunicorn": f"{args.gunicorn_workers}x{args.gunicorn_threads}",
            }
            results.append(record)
            print(json.dumps(record, ensure_ascii=False), flush=True)
    finally:
        stack.stop_all(workers)
    left, _ = stack.drain(database_url, args.drain_timeout)
    books = stack.bookkeeping(stack.stored(database_url), sent, accepted)

    def median(side: str, key: str) -> float:
        return statistics.median(r[key] for r in results if r["side"] == side)

    for way in args.compare:
        ours_rate, django_rate = median("ours", "per_second"), median(way, "per_second")
        ours_web, django_web = median("ours", "cpu_ms_web"), median(way, "cpu_ms_web")
        print(
            json.dumps(
                {
                    "bench": "surge",
                    "case": f"compare-{way}",
                    "n": sum(r["n"] for r in results if r["side"] in ("ours", way)),
                    "rounds": args.rounds,
                    "per_second": ours_rate,
                    "baseline": f"Django's own way for {way} (bench/django_way.py), same run",
                    "baseline_per_second": django_rate,
                    "ratio": round(ours_rate / django_rate, 3),
                    "cpu_ms_web": ours_web,
                    "baseline_cpu_ms_web": django_web,
                    "cpu_ratio": round(django_web / ours_web, 3),
                    "cpu_ms_database": round(median("ours", "cpu_ms_database"), 2),
                    "baseline_cpu_ms_database": round(median(way, "cpu_ms_database"), 2),
                    "identical": books["consistent"] and not left,
                    **{k: v for k, v in books.items() if k != "consistent"},
                    "errors": sum(r["errors"] for r in results),
                    "parents_exhausted": any(r["parents_exhausted"] for r in results),
                    "load_average_start": [
                        r["load_average_start"] for r in results if r["side"] in ("ours", way)
                    ],
                },
                ensure_ascii=False,
            )
        )
