"""Helpers the benchmarks share: one JSON line per case, peak memory, a database of their own.

Not a benchmark itself (`make bench` runs it too, and it does nothing then).
"""

import json
import os
import resource
import sys
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
