"""`manage.py verify_audit_chain`: is the registry's query log as it was written?"""

from pathlib import Path

from django.core.management.base import CommandError

from registry.interchange import ProductCommand
from registry.services.audit import audit_chain_verify


class Command(ProductCommand):
    help = (
        "Check every audit entry's keyed hash, index and link, and the chain against its "
        "anchors: nothing rewritten, nothing missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            action="append",
            type=Path,
            default=[],
            metavar="FILE",
            help="an anchor file to check against, e.g. another host's (repeatable; "
            "default AUDIT_ANCHOR_PATH)",
        )

    def handle(self, *args, anchor: list[Path], **options):
        report = audit_chain_verify(anchor_paths=anchor)
        if report.problem:
            raise CommandError(report.problem)
        if report.entries > report.anchored:
            # Not a failure: an anchor is written after each commit, and a process that died
            # in between leaves its entries to the next append's anchor.
            self.stderr.write(
                f"note: the newest {report.entries - report.anchored} entries are not anchored "
                f"yet (the newest anchor records {report.anchored}); the next append anchors "
                "them"
            )
        self.stdout.write(f"audit chain intact: {report.entries} entries")
