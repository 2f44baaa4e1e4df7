"""INTERCHANGE.md: every command exits non-zero with a one-line reason on bad arguments."""

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from registry.interchange import ProductCommand

ROOT = Path(__file__).resolve().parent.parent
APPS = ("enrollment", "registry")


def _commands() -> list[tuple[str, str]]:
    return sorted(
        (app, module.name)
        for app in APPS
        for module in pkgutil.iter_modules([str(ROOT / app / "management" / "commands")])
    )


@pytest.mark.parametrize(("app", "name"), _commands())
def test_every_command_of_the_product_refuses_a_bad_argument_in_one_line(app, name):
    command = importlib.import_module(f"{app}.management.commands.{name}").Command

    assert issubclass(command, ProductCommand)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["import_registry", "--source", "nope", "x"],
            "argument --source: invalid choice: 'nope' (choose from 'hukou', 'property', "
            "'rental', 'residence_permit', 'social_insurance')",
        ),
        (
            ["run_allocation", "--year", "abc", "--seed", "1"],
            "argument --year: invalid int value: 'abc'",
        ),
        (["run_allocation"], "the following arguments are required: --year, --seed"),
        (
            [
                "export_admitted",
                "--year",
                "2027",
                "--school",
                "S1",
                "--format",
                "pdf",
                "--out",
                "x",
            ],
            "argument --format: invalid choice: 'pdf' (choose from 'csv', 'xlsx')",
        ),
    ],
)
def test_a_bad_argument_on_the_command_line_is_one_line_and_status_2(args, reason):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr == f"manage.py {args[0]}: error: {reason}\n"
    assert result.stdout == ""
