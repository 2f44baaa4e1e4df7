"""The last line of a phased pipeline run (bench/pipeline.py): each side's medians, the
ratio between them, and what was checked.

Not a benchmark itself (`make bench` runs it too, and it does nothing then).
"""

from _common import emit


def _median(results: list[dict], side: str, key: str) -> float:
    import statistics

    return statistics.median(r[key] for r in results if r["side"] == side)


def django_way_summary(args):
    def summary(results, *, identical, decided, decided_once, mismatched, baseline_seconds):
        def median(side, key):
            return _median(results, side, key)

        emit(
            bench="pipeline",
            case=f"compare-{args.compare}",
            n=decided,
            rounds=args.rounds,
            per_second=median("ours", "per_second"),
            baseline=f"Django's own way for {args.compare} (bench/django_way.py), same run",
            baseline_per_second=median(args.compare, "per_second"),
            ratio=round(median("ours", "per_second") / median(args.compare, "per_second"), 3),
            submit_per_second=median("ours", "submit_per_second"),
            baseline_submit_per_second=median(args.compare, "submit_per_second"),
            submit_ratio=round(
                median("ours", "submit_per_second") / median(args.compare, "submit_per_second"),
                3,
            ),
            submit_cpu_ms=median("ours", "submit_cpu_ms"),
            baseline_submit_cpu_ms=median(args.compare, "submit_cpu_ms"),
            workers_cpu_ms=median("ours", "workers_cpu_ms"),
            baseline_workers_cpu_ms=median(args.compare, "workers_cpu_ms"),
            identical=identical,
            load_average_before=[r["load_average_before"] for r in results],
        )

    return summary


def gateway_summary(args, case: str, registry):
    """The HTTP case against the in-process one of the same run: rates are medians of each
    side's phases; the registry's own audit log counts the batches it answered."""

    def summary(results, *, identical, decided, decided_once, mismatched, baseline_seconds):
        import statistics

        http_n = sum(r["n"] for r in results if r["side"] == "http")
        registry_cpu_ms = {
            part: round(1000 * seconds / http_n, 3)
            for part, seconds in registry.cpu_spent().items()
        }
        http_rate = _median(results, "http", "per_second")
        inprocess_rate = _median(results, "inprocess", "per_second")
        ratio = round(http_rate / inprocess_rate, 3)
        inprocess_n = sum(r["n"] for r in results if r["side"] == "inprocess")
        # The bare lookups' rate over all the run's applications, against each side's rate.
        sql_rate = decided / statistics.median(baseline_seconds)
        emit(
            bench="pipeline",
            case=case,
            n=inprocess_n,
            rounds=args.rounds,
            per_second=inprocess_rate,
            seconds=round(inprocess_n / inprocess_rate, 3),
            workers_cpu_ms=_median(results, "inprocess", "workers_cpu_ms"),
            baseline="raw set-based SQL, one process (the bare lookups, nothing written)",
            baseline_per_second=round(sql_rate, 1),
            baseline_seconds_each=[round(seconds, 3) for seconds in baseline_seconds],
            ratio=round(inprocess_rate / sql_rate, 4),
            identical=identical,
            mismatched=mismatched,
            lost=sum(r["lost"] for r in results),
            decided_once=decided_once,
            load_average_before=[r["load_average_before"] for r in results],
        )
        emit(
            bench="pipeline",
            case=f"{case}-http",
            n=http_n,
            rounds=args.rounds,
            per_second=http_rate,
            baseline="the in-process gateway, the same run's other phases",
            baseline_per_second=inprocess_rate,
            ratio=ratio,
            workers_cpu_ms=_median(results, "http", "workers_cpu_ms"),
            baseline_workers_cpu_ms=_median(results, "inprocess", "workers_cpu_ms"),
            registry_web_workers=registry.web_workers,
            registry_answered_lookups=registry.audited(),
            registry_cpu_ms=registry_cpu_ms,
            identical=identical,
            mismatched=mismatched,
            lost=sum(r["lost"] for r in results),
            decided_once=decided_once,
            decided=decided,
            target="per_second >= 1000 and ratio >= 0.5",
            target_met=http_rate >= 1000 and ratio >= 0.5,
            load_average_before=[r["load_average_before"] for r in results],
        )

    return summary


if __name__ == "__main__":
    pass
