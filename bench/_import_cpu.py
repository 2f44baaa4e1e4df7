"""CPU seconds PostgreSQL spends for one database while a call runs (bench/registry_import.py).

A bulk load spends most of its CPU in the server, not in the process that sends the rows:
COPY's parsing and typing, index builds, the upsert. `_processes.CpuMeter` reads the CPU of
the database's backends from two snapshots; an index build's parallel workers come and go
between them, so here the backends are sampled every `interval` seconds while the call runs
and each one counts with the last CPU time it was seen with (a worker that lives less than
one interval, or its last interval, is missed: the figure is a floor).
"""

import threading
import time
from urllib.parse import urlsplit

from _processes import CpuMeter


class DatabaseCpu(CpuMeter):
    """`measure(call)`: the call's result and the CPU seconds of the database's backends (all
    of them but the meter's own) between its start and its end."""

    def __init__(self, database_url: str, *, interval: float = 0.1):
        super().__init__(database_url)
        self.interval = interval
        self._conn = None
        self.own_cpu = 0.0

    def _database(self) -> dict[int, float]:
        import psutil
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
        name = urlsplit(self.database_url).path.lstrip("/")
        pids = [
            pid
            for (pid,) in self._conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
        ]
        times = {}
        for pid in pids:
            try:
                cpu = psutil.Process(pid).cpu_times()
                times[pid] = cpu.user + cpu.system
            except psutil.NoSuchProcess:
                continue
        return times

    def measure(self, call) -> tuple[object, float]:
        """(what the call returned, the backends' CPU seconds meanwhile). `own_cpu` is then
        the CPU the meter itself spent in this process (its queries and /proc reads), which
        a caller timing this process's CPU around the call subtracts."""
        started = time.thread_time()
        first = self._database()
        own = time.thread_time() - started
        sampled: list[float] = []
        last = dict(first)
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval):
                last.update(self._database())
            sampled.append(time.thread_time())

        sampler = threading.Thread(target=sample, name="database-cpu", daemon=True)
        sampler.start()
        try:
            result = call()
        finally:
            stop.set()
            sampler.join()
        started = time.thread_time()
        last.update(self._database())
        self.own_cpu = own + time.thread_time() - started + sum(sampled)
        return result, sum(cpu - first.get(pid, 0.0) for pid, cpu in last.items())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
