"""Any feed written in any accepted form loads to the same facts as the canonical form.

Hypothesis draws a feed, a form for each of its columns (INTERCHANGE.md, "Department exports
as they really come"), a way of writing each ID number, the header's language, the file type
and encoding and the line ends; the file is loaded next to the canonical one and the stored
rows must be equal, value for value. The rows come from a small synthetic district.
"""

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from registry.demo.department_forms import CHINESE_HEADERS, FORMS, ID_FORMS, KINDS, id_form
from registry.demo.district import generate_district
from registry.feeds.specs import FEEDS
from registry.loading.imports import registry_import_file
from registry.models import RECORD_MODELS

pytestmark = pytest.mark.django_db

AS_OF = date(2027, 3, 1)
CONTAINERS = ("utf-8", "utf-8-sig", "gb18030", "xlsx")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("canonical")
    generate_district(households=12, seed=11, year=2027, out=folder)
    return folder


def _canonical(folder: Path, source: str) -> tuple[list[str], list[list[str]]]:
    with (folder / FEEDS[source].file_name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _stored(source: str) -> list[tuple]:
    spec = FEEDS[source]
    return list(RECORD_MODELS[source].objects.order_by(*spec.key).values_list(*spec.columns))


def _load(source: str, path: Path) -> list[tuple]:
    """The rows stored by loading `path` alone, everything it wrote rolled back."""
    with transaction.atomic():
        report = registry_import_file(source=source, path=path, as_of=AS_OF)
        rows = _stored(source)
        transaction.set_rollback(True)
    assert (report.rejected, report.failed) == (0, False), report.rejections[:3]
    return rows


@st.composite
def department_files(draw, folder: Path):
    source = draw(st.sampled_from(sorted(FEEDS)))
    header, rows = _canonical(folder, source)
    columns = list(CHINESE_HEADERS[source])
    forms = {
        column: draw(st.sampled_from(FORMS[KINDS[column]][0]))
        for column in columns
        if KINDS.get(column) in FORMS
    }
    id_forms = draw(st.lists(st.sampled_from(ID_FORMS), min_size=len(rows), max_size=len(rows)))
    chinese = draw(st.booleans())
    container = draw(st.sampled_from(CONTAINERS))
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    order = [header.index(column) for column in columns]
    written = []
    for row, id_way in zip(rows, id_forms, strict=True):
        out = []
        for column, value in zip(columns, (row[i] for i in order), strict=True):
            kind = KINDS.get(column)
            if kind == "id":
                value = id_form(value, id_way)
            elif kind == "date" and container == "xlsx" and value:
                value = date.fromisoformat(value)  # a spreadsheet's date cell
            elif kind in FORMS and value:
                value = FORMS[kind][1](value, forms[column])
            out.append(value)
        written.append(out)
    names = list(CHINESE_HEADERS[source].values()) if chinese else columns
    return source, names, written, container, line_end


def _write(path_base: Path, names, rows, container: str, line_end: str) -> Path:
    if container == "xlsx":
        path = path_base.with_suffix(".xlsx")
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(names)
        for row in rows:
            sheet.append(row)
        book.save(path)
        return path
    path = path_base.with_suffix(".csv")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=line_end)
    writer.writerow(names)
    writer.writerows(rows)
    path.write_bytes(text.getvalue().encode(container))
    return path


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_accepted_form_loads_to_the_canonical_facts(data, district, tmp_path):
    source, names, rows, container, line_end = data.draw(department_files(district))
    canonical = _load(source, district / FEEDS[source].file_name)
    written = _write(tmp_path / source, names, rows, container, line_end)

    assert _load(source, written) == canonical
