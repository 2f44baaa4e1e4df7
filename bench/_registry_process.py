"""The registry's own deployment for the benchmarks that cross the wire: a database of its
own (DEPLOYMENT=registry's migrations, nothing of enrollment) holding a copy of the world's
registry tables, served by gunicorn on a free port.

Not a benchmark itself (`make bench` runs it too, and it does nothing then).
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _common import ROOT, recreate_database

# Everything the registry needs to answer: its batches, the department clients (with their
# key hashes and consent keys) and the five feeds' records.
TABLES = (
    "registry_importbatch",
    "registry_departmentclient",
    "registry_hukourecord",
    "registry_propertyrecord",
    "registry_rentalrecord",
    "registry_socialinsurancerecord",
    "registry_residencepermitrecord",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RegistryDeployment:
    def __init__(self, source_url: str, logs: Path, *, web_workers: int = 2):
        parts = urlsplit(source_url)
        self.source_url = source_url
        self.url = urlunsplit(parts._replace(path=parts.path + "_registry"))
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/registry/api/v1"
        self.logs = logs
        self.web_workers = web_workers
        self.process: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DEPLOYMENT": "registry",
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "0",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": self.url,
            "AUDIT_ANCHOR_PATH": str(self.logs / "registry-anchor.log"),
        }

    def build(self) -> dict[str, int]:
        """Its own database with the registry deployment's schema, then the world's registry
        rows streamed across in PostgreSQL's binary COPY format (untimed)."""
        import psycopg

        recreate_database(self.url)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        copied = {}
        with psycopg.connect(self.source_url) as source, psycopg.connect(self.url) as target:
            for table in TABLES:
                with (
                    source.cursor().copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as out,
                    target.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as into,
                ):
                    for block in out:
                        into.write(block)
                rows = target.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"coalesce((SELECT max(id) FROM {table}), 1))"
                )
                copied[table] = rows
            target.commit()
            target.autocommit = True
            target.execute("ANALYZE")
        return copied

    def start(self) -> None:
        log = (self.logs / "registry.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={self.web_workers}",
                "--timeout=120",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit((self.logs / "registry.log").read_text()[-2000:])
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/accounts/login/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("the registry's deployment did not answer within 60 s")
        from _processes import CpuMeter

        self.meter = CpuMeter(self.url)
        self.meter.roots["web"] = [self.process.pid]
        self.cpu_before = self.meter.snapshot()

    def cpu_spent(self) -> dict[str, float]:
        """CPU seconds of the registry's gunicorn and of its database's backends since it
        started (it answers only the HTTP phases). A backend that closed meanwhile is not
        counted: a lower bound for the database."""
        spent = self.meter.spent(self.cpu_before, self.meter.snapshot())
        return {"web": round(spent["web"], 2), "database": round(spent["database"], 2)}

    def worker_env(self, api_key: str) -> dict[str, str]:
        """What enrollment's workers need to ask this registry: its own deployment's apps
        (no registry installed, so nothing can read the registry's tables in process)."""
        return {
            "DEPLOYMENT": "enrollment",
            "REGISTRY_GATEWAY": "http",
            "REGISTRY_API_URL": self.api_url,
            "REGISTRY_API_KEY": api_key,
        }

    def audited(self) -> int:
        """Answered lookups (one per family asked about) in the registry's own audit log."""
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(
                "SELECT count(*) FROM registry_auditentry WHERE outcome = 'answered'"
            ).fetchone()[0]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


if __name__ == "__main__":
    pass
