"""`manage.py install_policy --year Y [--district D] [--file DOC.json] [--no-activate]`."""

import json

from django.core.management.base import CommandError

from enrollment.errors import ApplicationError
from enrollment.services.policies import policy_install, policy_install_default
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Install a points policy for an admission year: DOMAIN.md's default, or a document "
        "from --file. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--district", default="440604")
        parser.add_argument("--file", help="a policy document (JSON) instead of the default")
        parser.add_argument(
            "--no-activate", action="store_true", help="store the document without activating it"
        )

    def handle(self, *args, year: int, district: str, file: str | None, **options):
        if not 2000 <= year <= 2100:
            raise CommandError(f"--year {year} is not an admission year")
        if not (len(district) == 6 and district.isdigit()):
            raise CommandError(f"--district {district} is not a six-digit district code")
        try:
            if file is None:
                policy = policy_install_default(admission_year=year, district_code=district)
            else:
                document = _read(file)
                if document.get("admission_year") != year:
                    raise CommandError(f"{file} is a policy for {document.get('admission_year')}")
                if document.get("district_code") != district:
                    raise CommandError(f"{file} is a policy for {document.get('district_code')}")
                policy = policy_install(document=document, activate=not options["no_activate"])
        except ApplicationError as error:
            raise CommandError(error.message) from None
        state = "active" if policy.is_active else "installed, not active"
        self.stdout.write(f"policy {policy} ({state})")


def _read(file: str) -> dict:
    try:
        with open(file, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CommandError(f"{file} is not a JSON document") from None
    if not isinstance(document, dict):
        raise CommandError(f"{file} is not a JSON object")
    return document
