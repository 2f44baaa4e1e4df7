"""The processes a load benchmark runs beside itself (gunicorn, Celery workers): start and stop them, wait until they answer, and meter the CPU they spend."""

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def start(cmd, env, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wait_log(log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise RuntimeError(f"{log} never said {text!r}:\n{log.read_text()[-2000:]}")


class CpuMeter:
    """CPU seconds spent by the web server, the workers and PostgreSQL's backends for this
    run's database between start() and stop(): what a request costs, whatever else the shared
    machine is doing at the same time."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.roots: dict[str, list[int]] = {"web": [], "workers": []}

    @staticmethod
    def _tree(pid: int) -> dict[int, float]:
        import psutil

        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return {}
        times = {}
        for process in processes:
            try:
                cpu = process.cpu_times()
                times[process.pid] = cpu.user + cpu.system
            except psutil.NoSuchProcess:
                continue
        return times

    def _database(self) -> dict[int, float]:
        import psutil
        import psycopg

        name = urlsplit(self.database_url).path.lstrip("/")
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()",
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

    def snapshot(self) -> dict[str, dict[int, float]]:
        shot = {"database": self._database()}
        for part, pids in self.roots.items():
            shot[part] = {}
            for pid in pids:
                shot[part].update(self._tree(pid))
        return shot

    @staticmethod
    def spent(before, after) -> dict[str, float]:
        return {
            part: sum(cpu - before.get(part, {}).get(pid, 0.0) for pid, cpu in times.items())
            for part, times in after.items()
        }
