"""`manage.py verify_audit_chain`: is the registry's query log as it was written?"""

from django.core.management.base import CommandError

from registry.interchange import ProductCommand
from registry.services.audit import audit_chain_verify


class Command(ProductCommand):
    help = "Check every audit entry's hash and link, and that the newest entries are all there."

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if report.first_break is not None:
            entry = report.first_break
            raise CommandError(
                f"audit chain broken at entry {entry.id} (at {entry.at.isoformat()}, "
                f"client {entry.client_id}): its hash or its link to the previous entry "
                f"does not match; {report.entries} entries before it are intact"
            )
        if report.head_mismatch:
            raise CommandError(f"audit chain truncated: {report.head_mismatch}")
        self.stdout.write(f"audit chain intact: {report.entries} entries")
