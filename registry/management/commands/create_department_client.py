"""`manage.py create_department_client --client-id X --name N --scopes verify,push
[--consent-public-key KEY]`."""

from django.core.management.base import CommandError

from registry.interchange import ProductCommand
from registry.services.clients import ClientInvalid, department_client_create


class Command(ProductCommand):
    help = "Issue a department client and print its API key (shown this once only)."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes", required=True, help="comma-separated: verify, push, audit, plan"
        )
        parser.add_argument(
            "--consent-public-key",
            default="",
            help="the department's Ed25519 public key (base64) that checks its consent "
            "tokens; a verify client without one has every question refused",
        )

    def handle(self, *args, client_id, name, scopes, consent_public_key, **options):
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        try:
            client, key = department_client_create(
                client_id=client_id,
                name=name,
                scopes=wanted,
                consent_public_key=consent_public_key,
            )
        except ClientInvalid as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"client {client.client_id} ({', '.join(client.scopes)}) created; "
            f"its API key, shown only now:"
        )
        self.stdout.write(key)
