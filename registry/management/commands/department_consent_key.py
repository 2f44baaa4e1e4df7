"""`manage.py department_consent_key --client-id X (--add KEY | --retire KEY)`.

A department rotates its consent signing key in three steps: `--add` the new public key
(tokens signed with the old or the new key are both accepted), switch the department's
signing key, then `--retire` the old public key.
"""

from django.core.management.base import CommandError

from registry.interchange import ProductCommand
from registry.services.clients import (
    ClientInvalid,
    department_client_consent_key_add,
    department_client_consent_key_retire,
)


class Command(ProductCommand):
    help = "Register or retire the public key that checks a department client's consents."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--add", metavar="KEY", help="an Ed25519 public key, base64")
        action.add_argument("--retire", metavar="KEY", help="a key the client has")

    def handle(self, *args, client_id, add, retire, **options):
        try:
            if add is not None:
                client = department_client_consent_key_add(client_id=client_id, public_key=add)
            else:
                client = department_client_consent_key_retire(
                    client_id=client_id, public_key=retire
                )
        except ClientInvalid as error:
            raise CommandError(str(error)) from None
        keys = client.consent_public_keys
        self.stdout.write(
            f"client {client.client_id} accepts consent tokens signed with "
            f"{len(keys)} key{'s' if len(keys) != 1 else ''}{':' if keys else ''}"
        )
        for key in keys:
            self.stdout.write(f"  {key}")
