"""The registry's deployment as its own process, for the tests that cross the wire.

`RegistryProcess` creates a database of its own (never the test database), generates a small
district, loads its feeds there with the registry's own commands run as DEPLOYMENT=registry,
issues the education bureau's API key, and serves the registry with gunicorn on a free port.
`FaultProxy` stands between enrollment and that process and can answer 503 or hang.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url_named(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


class RegistryProcess:
    """The data bureau's deployment: its own database, accounts and gunicorn."""

    def __init__(self, *, test_database_url: str, workdir: Path, households: int, year: int):
        name = urlsplit(test_database_url).path.lstrip("/") + "_registry"
        self.database_url = database_url_named(test_database_url, name)
        self.database_name = name
        self.workdir = workdir
        self.district = workdir / "district"
        self.households = households
        self.year = year
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.url + "/registry/api/v1"
        self.api_key = ""
        self.process: subprocess.Popen | None = None
        self.log = workdir / "registry.log"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DEPLOYMENT": "registry",
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": self.database_url,
            "AUDIT_ANCHOR_PATH": str(self.workdir / "registry-anchor.log"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _recreate_database(self) -> None:
        admin = database_url_named(self.database_url, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [self.database_name],
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}"')
            conn.execute(f'CREATE DATABASE "{self.database_name}"')

    def start(self, *, consent_public_key: str, client_id: str) -> None:
        self._recreate_database()
        self.manage("migrate", "--noinput", "-v0")
        self.manage(
            "generate_district",
            f"--households={self.households}",
            "--seed=11",
            f"--year={self.year}",
            f"--out={self.district}",
        )
        self.manage("import_registry", str(self.district))
        issued = self.manage(
            "create_department_client",
            f"--client-id={client_id}",
            "--name=禅城区教育局",
            "--scopes=verify,audit,identity,plan",
            f"--consent-public-key={consent_public_key}",
        )
        self.api_key = issued.strip().splitlines()[-1]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    f"--bind=127.0.0.1:{self.port}",
                    "--workers=2",
                    "--timeout=60",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_serving()

    def _wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the registry exited:\n{self.log.read_text()[-3000:]}")
            try:
                status = httpx.get(self.url + "/accounts/login/", timeout=2).status_code
            except httpx.TransportError:
                status = None
            if status == 200:
                return
            if status is not None:
                raise RuntimeError(
                    f"the registry answered {status}:\n{self.log.read_text()[-3000:]}"
                )
            time.sleep(0.2)
        raise RuntimeError(f"the registry did not answer:\n{self.log.read_text()[-3000:]}")

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        admin = database_url_named(self.database_url, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')


class FaultProxy:
    """A proxy in front of the registry: `ok` passes calls on, `error` answers 503 and `hang`
    holds each call `hang_seconds` before a 504 (the gateway's timeout comes first)."""

    def __init__(self, upstream: str, hang_seconds: float = 5.0):
        self.upstream = upstream.rstrip("/")
        self.mode = "ok"
        self.hang_seconds = hang_seconds
        self.calls: dict[str, int] = {"ok": 0, "error": 0, "hang": 0}
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
                pass

            def do_POST(self):  # noqa: N802 - the stdlib's name
                proxy.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        mode = self.mode
        with self._lock:
            self.calls[mode] += 1
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        if mode == "hang":
            time.sleep(self.hang_seconds)
            status, content = 504, b"{}"
        elif mode == "error":
            status, content = 503, b'{"message": "down", "code": "unavailable", "extra": {}}'
        else:
            forwarded = {
                key: value
                for key, value in request.headers.items()
                if key.lower()
                in ("authorization", "content-type", "x-road-client", "x-road-purpose")
            }
            answer = httpx.post(
                self.upstream + request.path, content=body, headers=forwarded, timeout=60
            )
            status, content = answer.status_code, answer.content
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
