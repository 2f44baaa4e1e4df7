"""A load's report leads with one finding: the check most rejected rows failed, exactly
counted, with example lines; a file of which no row loads is a failed load."""

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from registry import idnumber
from registry.loading.imports import registry_import_file
from registry.loading.report import value_shape
from registry.models import HukouRecord, ImportBatch

pytestmark = pytest.mark.django_db

HEADER = (
    "id_number,name,sex,birth_date,hukou_district_code,community_code,address,"
    "registered_on,household_no"
)


def person(sequence: int, *, sex: str = "M") -> str:
    number = idnumber.make("440604", date(1990, 7, 1), sequence)
    return f"{number},陈{sequence},{sex},1990-07-01,440604,440604010003,,2020-04-01,H{sequence}"


def write(path, lines):
    path.write_bytes(("\n".join(lines) + "\n").encode())
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_registry", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_the_diagnosis_is_the_check_most_rejected_rows_failed_and_good_rows_stay(tmp_path, method):
    # given: lines 2-6 say 未 for sex (no form of sex), line 7 has a bad check character, lines 8-9 are good
    bad_check = idnumber.make("440604", date(1990, 7, 1), 7)
    bad_check = bad_check[:17] + ("0" if bad_check[17] != "0" else "1")
    lines = [HEADER, *(person(n, sex="未") for n in range(1, 6))]
    lines += [person(7).replace(idnumber.make("440604", date(1990, 7, 1), 7), bad_check)]
    lines += [person(8), person(9, sex="F")]
    feed = write(tmp_path / "hukou.csv", lines)

    # when
    report = registry_import_file(source="hukou", path=feed, as_of=date(2027, 3, 1), method=method)

    # then
    assert (report.rows_read, report.inserted, report.rejected, report.failed) == (8, 2, 6, False)
    diagnosis = report.diagnosis
    assert diagnosis.sentence() == "column sex: 5 of 8 rows — must be M or F"
    assert diagnosis.samples == ((2, "□"), (3, "□"), (4, "□"), (5, "□"), (6, "□"))
    assert diagnosis.examples() == (
        "line 2 (value like '□'), line 3 (value like '□'), line 4 (value like '□'), "
        "line 5 (value like '□'), line 6 (value like '□')"
    )
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.diagnosis == {
        "code": "not_m_or_f",
        "field": "sex",
        "params": {"field": "sex"},
        "count": 5,
        "rows_read": 8,
        "rejected": 6,
        "loaded": 2,
        "samples": [{"line": n, "shape": "□"} for n in range(2, 7)],
        "problem": "must be M or F",
    }
    assert HukouRecord.objects.count() == 2
    assert bad_check not in str(batch.diagnosis)


def test_rejections_without_a_common_cause_have_no_diagnosis(tmp_path):
    lines = [HEADER, person(1, sex="未"), person(2, sex="未"), person(3), "x,y"]
    feed = write(tmp_path / "hukou.csv", lines)

    report = registry_import_file(source="hukou", path=feed, as_of=date(2027, 3, 1))

    # two of three rejections are one check, but two rows are not a pattern worth a finding
    assert (report.rejected, report.diagnosis) == (3, None)
    assert ImportBatch.objects.get().diagnosis is None


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_file_whose_every_row_is_refused_is_a_failed_load_that_keeps_nothing(tmp_path, method):
    # given: a record of another file already in the pool
    write(tmp_path / "hukou.csv", [HEADER, person(99)])
    registry_import_file(source="hukou", path=tmp_path / "hukou.csv", as_of=date(2027, 2, 1))
    feed = write(tmp_path / "hukou.csv", [HEADER, *(person(n, sex="3") for n in range(1, 5))])

    # when
    report = registry_import_file(source="hukou", path=feed, as_of=date(2027, 3, 1), method=method)

    # then
    assert (report.rows_read, report.inserted, report.rejected, report.failed) == (4, 0, 4, True)
    assert report.diagnosis.sentence() == "column sex: 4 of 4 rows — must be M or F"
    assert report.diagnosis.samples == ((2, "9"), (3, "9"), (4, "9"), (5, "9"))
    failed = ImportBatch.objects.get(pk=report.batch_id)
    assert (failed.status, failed.rows_read, failed.rows_inserted, failed.rows_rejected) == (
        ImportBatch.Status.FAILED,
        4,
        0,
        4,
    )
    assert failed.diagnosis["count"] == 4
    assert [item["line"] for item in failed.rejections] == [2, 3, 4, 5]
    assert list(HukouRecord.objects.values_list("household_no", flat=True)) == ["H99"]
    assert ImportBatch.objects.count() == 2


def test_import_registry_exits_non_zero_with_one_sentence_when_no_row_loads(tmp_path):
    write(tmp_path / "hukou.csv", [HEADER, *(person(n, sex="未") for n in range(1, 1000))])
    out = io.StringIO()

    with pytest.raises(CommandError) as error:
        call_command("import_registry", str(tmp_path), stdout=out, stderr=io.StringIO())

    assert str(error.value) == (
        "hukou.csv: not loaded, no row could be taken: column sex: 999 of 999 rows — must be M or F"
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "hukou.csv: column sex: 999 of 999 rows — must be M or F"
    assert lines[1].startswith("  e.g. line 2 (value like '□'), line 3 (value like '□')")
    assert lines[2].startswith(
        "hukou.csv (hukou, utf-8): 999 rows read, 0 inserted, 0 updated, 0 unchanged, "
        "999 rejected [NOT LOADED, "
    )
    # one finding, not 999 identical lines
    assert len(lines) == 3
    assert HukouRecord.objects.count() == 0
    assert ImportBatch.objects.get().status == ImportBatch.Status.FAILED


def test_a_file_with_no_data_rows_is_a_failed_load(tmp_path):
    write(tmp_path / "hukou.csv", [HEADER])

    with pytest.raises(CommandError) as error:
        run(str(tmp_path))

    assert str(error.value) == (
        "hukou.csv: not loaded: the file has no data rows, only a header (or nothing)"
    )
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_read, batch.diagnosis["code"]) == ("failed", 0, "no_rows")


def test_the_command_lists_the_other_rejected_lines_up_to_a_screenful(tmp_path):
    # given: 25 rows with a missing field (the finding), 22 with 未 for sex, one good row
    lines = [HEADER, *(",".join(person(n).split(",")[:8]) for n in range(1, 26))]
    lines += [person(n, sex="未") for n in range(26, 48)]
    lines += [person(48)]
    write(tmp_path / "hukou.csv", lines)

    output = run(str(tmp_path)).splitlines()

    assert output[0] == "hukou.csv: 25 of 48 rows — expected 9 fields"
    assert output[1] == "  e.g. line 2, line 3, line 4, line 5, line 6"
    assert output[2].startswith("hukou.csv (hukou, utf-8): 48 rows read, 1 inserted")
    assert output[3:5] == ["  line 27: sex: must be M or F", "  line 28: sex: must be M or F"]
    assert len(output) == 3 + 20 + 1
    assert output[-1] == (
        f"  … and 2 more rejected rows (batch {ImportBatch.objects.get().pk} on the stewards' "
        "pages lists them all)"
    )


def test_a_value_shape_shows_the_kind_of_value_never_the_value():
    number = idnumber.make("440604", date(1990, 7, 1), 123)
    assert value_shape(number) == "9" * 17 + ("A" if number.endswith("X") else "9")
    assert value_shape("男") == "□"
    assert value_shape("2027/3/1") == "9999/9/9"
    assert value_shape("Male ") == "Aaaa "
    assert value_shape("") == ""
    assert value_shape("1" * 30) == "9" * 24 + "…"
