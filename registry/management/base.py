"""What every command of the product's outside contract (INTERCHANGE.md) shares.

Both apps' commands use it; it lives here, beside the registry's other shared primitives
(registry.idnumber), because enrollment may depend on the registry and never the reverse.
"""

from django.core.management.base import BaseCommand, CommandParser


def _one_line_error(parser: CommandParser, message: str):
    """A bad argument on the command line: the reason on one line and exit status 2, as
    argparse does it, without argparse's usage block in front (`--help` still shows it)."""
    if parser.called_from_command_line:
        parser.exit(2, f"{parser.prog}: error: {message}\n")
    CommandParser.error(parser, message)  # from call_command: a CommandError


class ProductCommand(BaseCommand):
    """INTERCHANGE.md: every command exits non-zero with a one-line reason on bad arguments
    or unreadable input. CommandError already gives the second; this gives the first."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.error = lambda message: _one_line_error(parser, message)
        return parser
