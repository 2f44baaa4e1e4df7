"""`manage.py seal_audit_chain`: vouch for the registry's query log as it stands, once checked.

Run once after upgrading to the keyed log (it re-keys the entries written before), and after
restoring the database to an earlier moment, into a fresh anchor file (docs/operations.md).
"""

from pathlib import Path

from django.core.management.base import CommandError

from registry.interchange import ProductCommand
from registry.services.audit import SealRefused, audit_chain_seal


class Command(ProductCommand):
    help = (
        "Check the whole audit log, re-key entries written before it was keyed, and anchor "
        "it with a seal line."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--note", default="", help="why, recorded in the seal line (e.g. the restore)"
        )
        parser.add_argument(
            "--anchor", type=Path, default=None, metavar="FILE", help="default AUDIT_ANCHOR_PATH"
        )

    def handle(self, *args, note: str, anchor: Path | None, **options):
        try:
            result = audit_chain_seal(note=note, anchor_path=anchor)
        except SealRefused as refusal:
            raise CommandError(f"not sealed, nothing changed: {refusal}") from None
        if result.anchor_error:
            raise CommandError(
                f"the log was sealed but its anchor was not written ({result.anchor_error}); "
                f"append this line to the anchor file: {result.line.strip()}"
            )
        self.stdout.write(
            f"audit chain sealed: {result.entries} entries ending at id {result.last_id}, "
            f"{result.rekeyed} re-keyed"
        )
