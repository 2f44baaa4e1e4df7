"""`manage.py consent_signing_key [--new]`: the education bureau's consent signing key.

Without options: the public key of the configured CONSENT_SIGNING_KEY, to give the data
bureau (`create_department_client --consent-public-key`, `department_consent_key --add`).
With `--new`: a fresh key pair, the private key for CONSENT_SIGNING_KEY and its public key.
"""

from django.core.management.base import CommandError

from enrollment.consent_tokens import consent_key_pair_new, consent_public_key
from registry.consent import ConsentKeyInvalid
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = "Print the public half of CONSENT_SIGNING_KEY, or make a new key pair with --new."

    def add_arguments(self, parser):
        parser.add_argument("--new", action="store_true", help="generate a new key pair instead")

    def handle(self, *args, new: bool, **options):
        if new:
            private, public = consent_key_pair_new()
            self.stdout.write(f"CONSENT_SIGNING_KEY={private}")
            self.stdout.write(f"public key, for the registry: {public}")
            return
        try:
            public = consent_public_key()
        except ConsentKeyInvalid as error:
            raise CommandError(f"CONSENT_SIGNING_KEY is not usable: {error}") from None
        self.stdout.write(public)
