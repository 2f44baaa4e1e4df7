"""A process of its own that imports feed folders on request (bench/registry_import.py).

Started once per case, Django set up and connected before anything is timed; then each line
on stdin names a folder whose five feed files it imports with `registry_import_file` (the
encoding left to detection, as `import_registry` leaves it), answering one JSON line: the
import's wall and CPU seconds (this process's), seconds per file, the reports' counts, the
process's peak memory (VmHWM) and its backend's pid. `close` closes its database connection
(so that the server flushes the backend's table statistics). `peak_rss_mb` is the import's
own, not the benchmark's.

    python bench/_import_worker.py postgres://…/bench_registry
"""

import json
import sys
import time
from pathlib import Path

from _common import django_setup, peak_rss_mb

FEEDS = ["hukou", "property", "rental", "social_insurance", "residence_permit"]


def answer(**fields) -> None:
    print(json.dumps({"worker": True, **fields}), flush=True)


def main(url: str) -> None:
    django_setup(url)
    from django.db import connection

    from registry.loading.imports import registry_import_file

    connection.ensure_connection()
    answer(ready=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "close":
            connection.close()
            answer(closed=True)
            continue
        folder = Path(command)
        connection.ensure_connection()
        backend_pid = connection.connection.info.backend_pid
        reports, feed_seconds = [], {}
        started, cpu_started = time.perf_counter(), time.process_time()
        for feed in FEEDS:
            feed_started = time.perf_counter()
            reports.append(registry_import_file(source=feed, path=folder / f"{feed}.csv"))
            feed_seconds[feed] = time.perf_counter() - feed_started
        answer(
            seconds=time.perf_counter() - started,
            worker_cpu_seconds=time.process_time() - cpu_started,
            feed_seconds=feed_seconds,
            rows=sum(r.rows_read for r in reports),
            inserted=sum(r.inserted for r in reports),
            updated=sum(r.updated for r in reports),
            unchanged=sum(r.unchanged for r in reports),
            rejected=sum(r.rejected for r in reports),
            failed=[r.source for r in reports if r.failed],
            peak_rss_mb=peak_rss_mb(),
            backend_pid=backend_pid,
        )


if __name__ == "__main__":
    main(sys.argv[1])
