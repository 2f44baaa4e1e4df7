"""`manage.py forecast_demand --year Y --horizon 6 --out FILE` (INTERCHANGE.md): the demand
forecast of DOMAIN.md for every school of the year, one row per school and forecast year."""

import csv
import os
from pathlib import Path

from django.core.management.base import CommandError

from enrollment.errors import ApplicationError
from enrollment.exports import safe_cell
from enrollment.gateway import LookupRefused, RegistryUnavailable
from enrollment.services.forecast import (
    FORECAST_COLUMNS,
    HORIZON_MAX,
    demand_forecast,
    forecast_rows,
)
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Forecast the seats each school needs for the admission years after YEAR, from the "
        "registry's counts of children per community and this year's take-up; writes CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="this admission year")
        parser.add_argument("--horizon", type=int, default=6, help="years ahead (default 6)")
        parser.add_argument("--out", required=True)
        parser.add_argument("--district", default="", help="one district's schools only")

    def handle(self, *args, year: int, horizon: int, out: str, district: str, **options):
        if not 2000 <= year <= 2100:
            raise CommandError(f"--year {year} is not an admission year")
        if not 1 <= horizon <= HORIZON_MAX:
            raise CommandError(f"--horizon must be between 1 and {HORIZON_MAX}")
        if district and not (len(district) == 6 and district.isdigit()):
            raise CommandError(f"--district {district} is not a six-digit district code")
        try:
            forecast = demand_forecast(
                admission_year=year,
                horizon=horizon,
                district_code=district or None,
                end_user="command:forecast_demand",
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        except LookupRefused as error:
            raise CommandError(
                f"the registry refused the planning question: {error.code}"
            ) from None
        except RegistryUnavailable as error:
            raise CommandError(f"the registry did not answer: {error}") from None
        rows = forecast_rows(forecast)
        target = Path(out)
        partial = target.with_name(target.name + ".part")
        try:
            # Written aside and renamed at the end: a reader never sees half a file.
            with open(partial, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(FORECAST_COLUMNS)
                # Numbers are written as numbers (a shortfall may be negative); the code is text.
                writer.writerows((safe_cell(code), *figures) for code, *figures in rows)
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {target}: {error.strerror or error}") from None
        self.stdout.write(
            f"{target}: {len(forecast.schools)} schools, {forecast.years[0]}-{forecast.years[-1]}, "
            f"{len(rows)} rows (registry audit entry {forecast.audit_entry_id})"
        )
