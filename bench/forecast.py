"""The demand forecast (DOMAIN.md "Demand forecast") for a city: 1,000 schools, 1,000,000
people in the registry, 200,000 applications this year.

The city: five districts of 600 communities each; each school's catchment is four
communities, one of them shared with the next school (overlapping catchments); 1,000,000
hukou rows with birth dates spread evenly over 92 years (about 76,000 children in the seven
entry cohorts asked, three or four per community and cohort) and 200,000 applications (2 %
withdrawn), all written by set-based SQL, untimed. The run uses its own database
(`bench_forecast`, dropped, created and migrated).

Cases (one JSON line each):
- `city_1000x1000000`: `demand_forecast` for the whole city, horizon 6, in process as
  `forecast_demand` runs it: the planning token signed and checked, the registry's one
  grouped query, the audit append, this year's applications grouped, the arithmetic for
  1,000 schools and 3,000 communities. After one run that warms the caches
  (`cold_seconds`), it alternates with the baseline `--rounds` times (default 5,
  `_common.alternate`): `seconds` and `baseline_seconds` are the medians. The baseline: the
  loop one writes first, the same figures asked one school at a time, one grouped ORM
  statement for its catchment's cohorts and one count of its applications (2,000
  statements); `identical` says every round of both gave every school the same children,
  take-up, forecast and shortfall for every year (no count is small enough here for the
  registry to withhold; `withheld` says so).
`cpu_seconds` and `baseline_cpu_seconds` are each side's median CPU: this process's plus that
of the database's PostgreSQL backends while it ran (bench/_import_cpu.py), which is also
given alone as `db_cpu_seconds` and `baseline_db_cpu_seconds`; `load_average_start` is the
1-minute load when the rounds started.

    python bench/forecast.py              # 1,000 schools, 1,000,000 people
    python bench/forecast.py --scale 0.1  # 100 schools, 100,000 people
    python bench/forecast.py --database bench_mine --rounds 7
"""

import argparse
import statistics
import time

from _common import alternate, database_url, django_setup, emit, recreate_database
from _import_cpu import DatabaseCpu

YEAR = 2027
HORIZON = 6
DISTRICTS = ("440604", "440605", "440606", "440607", "440608")


def community(index: int) -> str:
    """The community numbered `index` (0 .. 3,000): 600 per district, 30 per street."""
    district, local = divmod(index, 600)
    return f"{DISTRICTS[district]}{10 + local // 30:03d}{1 + local % 30:03d}"


def populate(*, schools: int, people: int, applications: int) -> None:
    from django.db import connection

    from enrollment.consent_tokens import consent_public_key
    from enrollment.models import Community, School
    from registry.models import ImportBatch
    from registry.services.clients import department_client_create

    communities = 3 * schools
    per_district = max(1, schools // len(DISTRICTS))
    Community.objects.bulk_create(
        Community(code=community(i), district_code=community(i)[:6], name=f"社区{i}")
        for i in range(communities)
    )
    School.objects.bulk_create(
        School(
            code=f"S{index:05d}",
            admission_year=YEAR,
            name=f"第{index}小学",
            district_code=community(3 * index)[:6],
            kind="public",
            capacity=150 + index % 100,
            # Three communities of its own and the next school's first: catchments overlap.
            catchment_communities=[
                community(3 * index + k) for k in range(4 if (index + 1) % per_district else 3)
            ],
            lat=23.0,
            lon=113.1,
        )
        for index in range(schools)
    )
    department_client_create(
        client_id="edu-440604",
        name="教育局",
        scopes=["verify", "plan"],
        consent_public_key=consent_public_key(),
    )
    batch = ImportBatch.objects.create(
        source="hukou", as_of="2027-03-01", status="done", file_name="bench"
    )
    # Person n lives in community n mod C, and each community's people are born evenly from
    # 1935 to the end of August 2027: three or four children in every community and cohort
    # (the last one whole, as if the registry were read in September), none withheld.
    code = (
        "'4406' || lpad((4 + c / 600)::text, 2, '0') || lpad((10 + (c %% 600) / 30)::text, 3, '0')"
        " || lpad((1 + c %% 30)::text, 3, '0')"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registry_hukourecord (id_number, name, sex, birth_date,"
            " hukou_district_code, community_code, address, registered_on, household_no,"
            " batch_id, as_of, updated_at)"
            f" SELECT '990000' || lpad(n::text, 12, '0'), '居民', 'M',"
            " date '1935-01-01' + ((n / %s) * 33845 / (%s / %s))::int, substr(code, 1, 6), code, '',"
            " date '2000-01-01', 'P' || n, %s, '2027-03-01', now()"
            f" FROM (SELECT n, {code} AS code FROM generate_series(1::bigint, %s) AS n,"
            " LATERAL (SELECT n %% %s AS c) AS spread) AS people",
            [communities, people, communities, batch.id, people, communities],
        )
        cursor.execute(
            "INSERT INTO enrollment_application (ref, admission_year, grade, district_code,"
            " channel, child_name, child_id_number, child_birth_date, home_community_code,"
            " home_address, state, submitted_at, updated_at)"
            " SELECT 'B' || lpad(n::text, 9, '0'), %s, 'primary1', substr(code, 1, 6),"
            " 'assisted', '学生', '980000' || lpad(n::text, 12, '0'), date '2020-10-01', code,"
            " '', CASE WHEN n %% 50 = 0 THEN 'withdrawn' ELSE 'decided' END, now(), now()"
            f" FROM (SELECT n, {code} AS code FROM generate_series(1::bigint, %s) AS n,"
            " LATERAL (SELECT (n * 4999) %% %s AS c) AS spread) AS applied",
            [YEAR, applications, communities],
        )
        cursor.execute("VACUUM ANALYZE")


def naive_forecast() -> dict:
    """The per-school loop: the same figures asked one school at a time, one statement for
    its catchment's cohorts and one for its applications."""
    from django.db.models import Case, Count, IntegerField, Value, When
    from django.db.models.functions import ExtractYear

    from enrollment.models import Application, ApplicationState, School
    from enrollment.services.forecast import forecast_seats, take_up_rate
    from registry.contract import entry_cohort_window
    from registry.models import HukouRecord

    cohort = ExtractYear("birth_date") + Case(
        When(birth_date__month__gte=9, then=Value(7)), default=Value(6), output_field=IntegerField()
    )
    first, last = entry_cohort_window(YEAR)[0], entry_cohort_window(YEAR + HORIZON)[1]
    result = {}
    for school in School.objects.filter(admission_year=YEAR).order_by("code"):
        catchment = school.catchment_communities
        children = dict(
            HukouRecord.objects.filter(
                community_code__in=catchment, birth_date__gte=first, birth_date__lte=last
            )
            .annotate(cohort=cohort)
            .order_by()
            .values_list("cohort")
            .annotate(n=Count("id"))
        )
        applied = (
            Application.objects.filter(admission_year=YEAR, home_community_code__in=catchment)
            .exclude(state=ApplicationState.WITHDRAWN)
            .count()
        )
        take_up = take_up_rate(applied, children.get(YEAR, 0))
        for year in range(YEAR + 1, YEAR + HORIZON + 1):
            forecast = forecast_seats(children.get(year, 0), take_up)
            result[(school.code, year)] = (
                children.get(year, 0),
                take_up,
                forecast,
                forecast - school.capacity,
            )
    return result


def forecast_figures(forecast) -> dict:
    return {
        (school.code, figure.admission_year): (
            figure.children,
            school.take_up,
            figure.forecast,
            figure.shortfall,
        )
        for school in forecast.schools
        for figure in school.years
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", "--repeat", type=int, default=5, help="alternated rounds")
    parser.add_argument("--database", default="bench_forecast")
    args = parser.parse_args()
    schools = max(5, int(1000 * args.scale))
    people = max(1000, int(1_000_000 * args.scale))
    applications = max(100, int(200_000 * args.scale))

    url = database_url(args.database)
    recreate_database(url)
    django_setup(url, migrate=True)
    populate(schools=schools, people=people, applications=applications)

    from django.db import connection

    from enrollment.services.forecast import demand_forecast

    def run():
        return demand_forecast(
            admission_year=YEAR, horizon=HORIZON, district_code=None, end_user="bench"
        )

    connection.ensure_connection()
    meter = DatabaseCpu(url)

    def metered(call):
        def side():
            value, db_cpu = meter.measure(call)
            # `timed` adds this process's CPU, of which the meter's own is taken out.
            return {"value": value, "cpu_seconds": db_cpu - meter.own_cpu, "db_cpu": db_cpu}

        return side

    cold_started = time.perf_counter()
    forecast = run()
    cold = time.perf_counter() - cold_started
    alternation = alternate(metered(run), metered(naive_forecast), rounds=max(1, args.rounds))
    meter.close()
    figures = forecast_figures(forecast)
    identical = all(
        forecast_figures(r.result["value"]) == figures for r in alternation.ours
    ) and all(r.result["value"] == figures for r in alternation.baseline)

    def db_cpu(runs) -> float:
        return round(statistics.median(r.result["db_cpu"] for r in runs), 3)

    emit(
        bench="forecast",
        case=f"city_{schools}x{people}",
        n=people,
        **alternation.fields(),
        db_cpu_seconds=db_cpu(alternation.ours),
        baseline_db_cpu_seconds=db_cpu(alternation.baseline),
        cold_seconds=round(cold, 3),
        schools=schools,
        communities=len(forecast.communities),
        applications=applications,
        figures=len(figures),
        withheld=sum(f.withheld for s in forecast.schools for f in s.years),
        baseline="per-school loop: one statement for its cohorts, one for its applications",
        identical=identical,
    )


if __name__ == "__main__":
    main()
