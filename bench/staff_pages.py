"""Staff pages on a whole district: how long each officer, school and steward page takes.

What it measures: the server side of every page the district's staff work in, rendered by
Django through the test client (no network, no browser): the officer's dashboard, review
queue (open cases and all), one case, schools map, allocation run and what-if form; the
what-if run itself (the whole district rescored under a changed policy and rendered); a
school's admitted list as HTML, CSV and XLSX; a steward's import and audit pages. Each page
is requested once untimed (to warm the connection and the template cache), then `--rounds`
times (default 5; `_common.alternate` with no baseline: these pages have no other
implementation to race, so the figures are medians of five runs, not ratios).

The district is built through the product's own commands (generate_district, import_registry,
import_schools, import_applications, verify_applications with tasks in-process,
run_allocation --district 440604 --publish), untimed; each request is signed in as its role.

One JSON line per page: `seconds` the median request, `max_seconds` the slowest, `cpu_seconds`
the median CPU of a request (this process's plus that of the database's PostgreSQL backends,
bench/_import_cpu.py; the latter also alone as `db_cpu_seconds`), `load_average_start`,
`bytes` the response's size and `queries` its SQL statements. `n` is the number of
applications in the district.

The run uses its own PostgreSQL database (`bench_staff_pages`, dropped and created; or
`--database`).

    python bench/staff_pages.py               # 40,000 households: about 20,000 applications
    python bench/staff_pages.py --scale 0.1
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import alternate, database_url, emit, recreate_database  # noqa: E402
from _import_cpu import DatabaseCpu  # noqa: E402

YEAR = 2027
DISTRICT = "440604"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def build_district(households: int, folder: Path) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from enrollment.consent_tokens import consent_public_key
    from enrollment.services.policies import policy_install_default
    from registry.services.clients import department_client_create

    # The commands' own reports are kept off stdout, which carries only the JSON lines.
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO(), "verbosity": 0}
    call_command(
        "generate_district", households=households, seed=7, year=YEAR, out=str(folder), **quiet
    )
    call_command("import_registry", str(folder), **quiet)
    call_command("import_schools", str(folder / "schools.csv"), year=YEAR, **quiet)
    policy_install_default(admission_year=YEAR, district_code=DISTRICT)
    # The registry checks each question's consent token with the bureau's registered key.
    # Without it every lookup (made in-process as the applications are imported) is refused,
    # every application goes to review, and no school has an admitted list to show.
    department_client_create(
        client_id=settings.REGISTRY_CLIENT_ID,
        name="教育局招生系统",
        scopes=["verify"],
        consent_public_key=consent_public_key(),
    )
    call_command("import_applications", str(folder / "applications.jsonl"), **quiet)
    call_command("verify_applications", year=YEAR, wait=True, **quiet)
    call_command("run_allocation", year=YEAR, seed=7, district=DISTRICT, publish=True, **quiet)


def staff_clients():
    from django.test import Client

    from enrollment.models import Offer, Role, User

    school_code = (
        Offer.objects.filter(run__district_code=DISTRICT)
        .values_list("school__code", flat=True)
        .first()
    )
    users = {
        "officer": User.objects.create(
            username="bench-officer", role=Role.OFFICER, district_code=DISTRICT
        ),
        "school": User.objects.create(
            username="bench-school", role=Role.SCHOOL, school_code=school_code
        ),
        "steward": User.objects.create(username="bench-steward", role=Role.STEWARD),
    }
    clients = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user, backend=BACKEND)
        clients[role] = client
    return clients


def timed_requests(request, rounds: int, meter: DatabaseCpu) -> dict:
    """`request` `rounds` times: medians and the last round's response and query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def side() -> dict:
        with CaptureQueriesContext(connection) as queries:
            response, db_cpu = meter.measure(request)
        return {
            "cpu_seconds": db_cpu - meter.own_cpu,
            "db_cpu": db_cpu,
            "response": response,
            "queries": len(queries),
        }

    alternation = alternate(side, rounds=rounds)
    last = alternation.ours[-1].result
    if last["response"].status_code != 200:
        raise SystemExit(f"HTTP {last['response'].status_code}")
    figures = alternation.fields()
    figures.pop("seconds_each")
    return {
        **figures,
        "max_seconds": round(max(run.seconds for run in alternation.ours), 4),
        "db_cpu_seconds": round(
            statistics.median(run.result["db_cpu"] for run in alternation.ours), 3
        ),
        "bytes": len(last["response"].content),
        "queries": last["queries"],
    }


def measure(clients, rounds: int, applications: int, meter: DatabaseCpu) -> None:
    from enrollment.models import AllocationRun, Application, ApplicationState

    case_ref = (
        Application.objects.filter(district_code=DISTRICT, state=ApplicationState.NEEDS_REVIEW)
        .values_list("ref", flat=True)
        .first()
    )
    run_id = AllocationRun.objects.filter(district_code=DISTRICT).values_list("id", flat=True)[0]
    pages = [
        ("officer_dashboard", "officer", "/staff/officer/"),
        ("officer_review_queue", "officer", "/staff/officer/review/"),
        ("officer_review_all", "officer", "/staff/officer/review/?state="),
        ("officer_case", "officer", f"/staff/officer/review/{case_ref}/"),
        ("officer_schools_map", "officer", "/staff/officer/schools/"),
        ("officer_allocation_run", "officer", f"/staff/officer/allocation/{run_id}/"),
        ("officer_whatif_form", "officer", "/staff/officer/whatif/"),
        ("school_admitted", "school", "/staff/school/"),
        ("school_admitted_csv", "school", "/staff/school/admitted.csv"),
        ("school_admitted_xlsx", "school", "/staff/school/admitted.xlsx"),
        ("steward_imports", "steward", "/staff/steward/imports/"),
        ("steward_audit", "steward", "/staff/steward/audit/?outcome=answered"),
    ]
    for case, role, url in pages:
        client = clients[role]
        client.get(url)  # warm the connection and the template cache
        emit(
            bench="staff_pages",
            case=f"{case}_{applications}",
            n=applications,
            **timed_requests(lambda client=client, url=url: client.get(url), rounds, meter),
        )
    # The what-if itself: the whole district rescored under a changed policy, rendered.
    officer = clients["officer"]
    document = officer.get("/staff/officer/whatif/").context["form"].initial["document"]
    emit(
        bench="staff_pages",
        case=f"officer_whatif_run_{applications}",
        n=applications,
        **timed_requests(
            lambda: officer.post(
                "/staff/officer/whatif/", {"document": document, "bonus_cap": "5"}
            ),
            rounds,
            meter,
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", "--repeat", type=int, default=5, help="requests a page")
    parser.add_argument("--database", default="bench_staff_pages")
    args = parser.parse_args()
    households = max(200, int(40_000 * args.scale))

    url = database_url(args.database)
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_BROKER_URL"] = ""  # tasks in-process: this measures pages, not workers
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0)
    setup_test_environment()  # the test client records each response's template context
    with tempfile.TemporaryDirectory() as folder:
        build_district(households, Path(folder))
    from enrollment.models import Application

    applications = Application.objects.filter(district_code=DISTRICT).count()
    meter = DatabaseCpu(url)
    measure(staff_clients(), max(1, args.rounds), applications, meter)
    meter.close()


if __name__ == "__main__":
    main()
