"""import_registry: streaming checks, upsert by key, exact rejections, one transaction a file."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from registry import idnumber
from registry.loading.imports import ImportFailed, registry_import_file
from registry.models import (
    HukouRecord,
    ImportBatch,
    PropertyRecord,
    RentalRecord,
    ResidencePermitRecord,
    SocialInsuranceRecord,
)

pytestmark = pytest.mark.django_db


CHILD = idnumber.make("440604", date(2020, 3, 15), 123)


MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)


FATHER = idnumber.make("445202", date(1988, 2, 29), 111)


BAD_CHECK = CHILD[:17] + ("0" if CHILD[17] != "0" else "1")


HUKOU_HEADER = (
    "household_no,id_number,name,sex,birth_date,hukou_district_code,community_code,"
    "registered_on,address,remarks"
)


def write(path, lines, encoding="utf-8"):
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_registry", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_hukou_rows_are_checked_each_rejection_names_its_line_and_the_rest_is_kept(
    tmp_path, method
):
    # given: columns in a different order than INTERCHANGE.md, one extra column
    feed = write(
        tmp_path / "hukou.csv",
        [
            HUKOU_HEADER,
            f"H1,{CHILD},陈小明,M,2020-03-15,440604,440604010003,2020-04-01,祖庙路1号,x",
            f"H1,{BAD_CHECK},陈小红,F,2020-03-15,440604,440604010003,2020-04-01,,",
            f"H1,{MOTHER},李美玲,F,1990-07-01,440604,440604010003,2023-02-30,,",
            f"H1,{MOTHER},李美玲,F,1990-07-01,440604,440604010003",
            f"H2,{FATHER},陈大文,M,1988-02-29,445202,445202001001,2010-05-06,,",
            f"H1,{CHILD},陈小明,M,2020-03-15,440604,440604010003,2021-01-01,,",
        ],
    )

    # when
    report = registry_import_file(source="hukou", path=feed, as_of=date(2027, 3, 1), method=method)

    # then
    assert (report.rows_read, report.inserted, report.updated, report.rejected) == (6, 2, 0, 4)
    assert report.rejections == [
        (3, "id_number: the check character does not match (GB 11643)"),
        (4, "registered_on: impossible date 2023-02-30"),
        (5, "expected 10 fields, found 7"),
        (7, "duplicate key: the same key as line 2"),
    ]
    child = HukouRecord.objects.get(id_number=CHILD)
    assert (child.name, child.registered_on, child.address, child.as_of) == (
        "陈小明",
        date(2020, 4, 1),
        "祖庙路1号",
        date(2027, 3, 1),
    )
    assert sorted(HukouRecord.objects.values_list("id_number", flat=True)) == sorted(
        [CHILD, FATHER]
    )
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert (batch.status, batch.rows_read, batch.rows_inserted, batch.rows_rejected) == (
        "done",
        6,
        2,
        4,
    )
    # The report's English reason stays; a code and its parameters let a page word it.
    assert batch.rejections == [
        {
            "line": 3,
            "reason": "id_number: the check character does not match (GB 11643)",
            "code": "id_check_character",
            "params": {"field": "id_number"},
        },
        {
            "line": 4,
            "reason": "registered_on: impossible date 2023-02-30",
            "code": "impossible_date",
            "params": {"field": "registered_on", "value": "2023-02-30"},
        },
        {
            "line": 5,
            "reason": "expected 10 fields, found 7",
            "code": "wrong_field_count",
            "params": {"expected": 10, "found": 7},
        },
        {
            "line": 7,
            "reason": "duplicate key: the same key as line 2",
            "code": "duplicate_key",
            "params": {"first_line": 2},
        },
    ]
    assert child.batch_id == batch.id


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_each_feed_rejects_its_own_impossible_facts(tmp_path, method):
    property_feed = write(
        tmp_path / "property.csv",
        [
            "certificate_no,owner_id_number,share_percent,community_code,address,registered_on",
            f"C1,{MOTHER},30,440604010003,,2019-01-01",
            f"C1,{FATHER},30.5,440604010003,,2019-01-01",
            f"C2,{MOTHER},0,440604010003,,2019-01-01",
            f"C3,{MOTHER},100.01,440604010003,,2019-01-01",
            f"C4,{MOTHER},abc,440604010003,,2019-01-01",
        ],
    )
    rental_feed = write(
        tmp_path / "rental.csv",
        [
            "registration_no,tenant_id_number,community_code,address,start_date,end_date",
            f"R1,{FATHER},440604010003,,2026-09-01,2027-08-31",
            f"R2,{FATHER},440604010003,,2026-09-01,2026-08-31",
        ],
    )
    si_feed = write(
        tmp_path / "social_insurance.csv",
        [
            "id_number,month,pension,medical,employer_name",
            f"{FATHER},2026-01,1,1,佛山市恒信五金",
            f"{FATHER},2026-13,1,1,",
            f"{FATHER},2026-02,1,2,",
            f"{FATHER},2026-01,1,0,",
        ],
    )
    permit_feed = write(
        tmp_path / "residence_permit.csv",
        [
            "id_number,permit_no,district_code,issued_on,expires_on",
            f"{FATHER},P1,440604,2024-05-01,2028-05-01",
            f"{FATHER},P2,440604,2024-05-01,2024-04-30",
        ],
    )

    reports = {
        source: registry_import_file(source=source, path=path, method=method)
        for source, path in [
            ("property", property_feed),
            ("rental", rental_feed),
            ("social_insurance", si_feed),
            ("residence_permit", permit_feed),
        ]
    }

    assert reports["property"].rejections == [
        (4, "share_percent: must be more than 0 and at most 100"),
        (5, "share_percent: must be more than 0 and at most 100"),
        (6, "share_percent: not a number"),
    ]
    assert reports["rental"].rejections == [(3, "end_date: before start_date")]
    assert reports["social_insurance"].rejections == [
        (3, "month: impossible month 2026-13"),
        (4, "medical: must be 1 or 0"),
        (5, "duplicate key: the same key as line 2"),
    ]
    assert reports["residence_permit"].rejections == [(3, "expires_on: before issued_on")]
    assert sorted(PropertyRecord.objects.values_list("certificate_no", "share_percent")) == [
        ("C1", Decimal("30.00")),
        ("C1", Decimal("30.50")),
    ]
    assert list(RentalRecord.objects.values_list("registration_no", flat=True)) == ["R1"]
    assert list(SocialInsuranceRecord.objects.values_list("month", "pension", "medical")) == [
        (date(2026, 1, 1), True, True)
    ]
    assert list(ResidencePermitRecord.objects.values_list("permit_no", flat=True)) == ["P1"]


def test_a_file_without_the_feeds_columns_is_refused_whole(tmp_path):
    write(
        tmp_path / "rental.csv",
        [
            "registration_no,tenant,community_code,start_date",
            f"R1,{FATHER},440604010003,2026-09-01",
        ],
    )

    with pytest.raises(CommandError) as error:
        run(str(tmp_path))

    assert str(error.value) == (
        "rental.csv: unknown column set: missing tenant_id_number, end_date "
        "(closest known headers: English column names, 3 of 6 columns; "
        "a rental feed has registration_no, tenant_id_number, community_code, address, "
        "start_date, end_date)"
    )
    assert RentalRecord.objects.count() == 0
    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    assert batch.rejections == [
        {
            "line": 1,
            "reason": str(error.value).removeprefix("rental.csv: "),
            "code": "missing_columns",
            "params": {
                "missing": ["tenant_id_number", "end_date"],
                "source": "rental",
                "columns": [
                    "registration_no",
                    "tenant_id_number",
                    "community_code",
                    "address",
                    "start_date",
                    "end_date",
                ],
                "closest": "English column names",
                "found": 3,
            },
        }
    ]


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_file_naming_a_feed_column_twice_is_refused_whole(tmp_path, method):
    feed = write(
        tmp_path / "social_insurance.csv",
        [
            "id_number,month,pension,medical,month",
            f"{MOTHER},2026-01,1,1,2026-02",
        ],
    )

    report = registry_import_file(source="social_insurance", path=feed, method=method)

    assert report.failed
    assert report.rejections == [(1, "unknown column set: month named more than once")]
    assert SocialInsuranceRecord.objects.count() == 0
    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    assert batch.rejections == [
        {
            "line": 1,
            "reason": "unknown column set: month named more than once",
            "code": "repeated_columns",
            "params": {"repeated": ["month"]},
        }
    ]


def test_gbk_feed_loads_with_encoding_option_and_prints_the_report(tmp_path):
    write(
        tmp_path / "hukou.csv",
        [
            "id_number,name,sex,birth_date,hukou_district_code,community_code,address,registered_on,household_no",
            f"{CHILD},陈小明,M,2020-03-15,440604,440604010003,佛山市禅城区祖庙路1号,2020-04-01,H1",
            f"{BAD_CHECK},陈小红,F,2020-03-15,440604,440604010003,,2020-04-01,H1",
        ],
        encoding="gbk",
    )

    output = run(str(tmp_path), "--encoding", "gbk")

    assert output.splitlines()[0].startswith(
        "hukou.csv (hukou, gbk): 2 rows read, 1 inserted, 0 updated, 0 unchanged, 1 rejected"
    )
    assert output.splitlines()[1] == (
        "  line 3: id_number: the check character does not match (GB 11643)"
    )
    assert BAD_CHECK not in output
    assert HukouRecord.objects.get().address == "佛山市禅城区祖庙路1号"


def test_reimporting_the_same_file_changes_no_counts_and_a_changed_row_is_updated(tmp_path):
    lines = [
        "id_number,month,pension,medical,employer_name",
        *(f"{FATHER},2025-{month:02d},1,1,恒信" for month in range(1, 13)),
    ]
    feed = write(tmp_path / "social_insurance.csv", lines)
    first = registry_import_file(source="social_insurance", path=feed)

    again = registry_import_file(source="social_insurance", path=feed)
    lines[5] = f"{FATHER},2025-05,1,0,恒信"
    write(tmp_path / "social_insurance.csv", lines)
    changed = registry_import_file(source="social_insurance", path=feed)

    assert (first.inserted, first.updated, first.unchanged) == (12, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 12)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 11)
    assert SocialInsuranceRecord.objects.count() == 12
    assert SocialInsuranceRecord.objects.filter(medical=False).get().batch_id == changed.batch_id


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_failure_mid_file_leaves_none_of_its_rows(tmp_path, method):
    # given: thousands of good rows, then bytes that are not UTF-8 near the end
    good = [
        f"{idnumber.make('440604', date(2020, 1, 1 + n % 28), n % 499 * 2 + 1)},2026-{n % 12 + 1:02d},1,1,"
        for n in range(4000)
    ]
    body = "\n".join(["id_number,month,pension,medical,employer_name", *good]).encode()
    (tmp_path / "social_insurance.csv").write_bytes(body + b"\n" + "陈".encode("gbk") + b"\n")

    with pytest.raises(ImportFailed, match="social_insurance.csv is not utf-8 text"):
        registry_import_file(
            source="social_insurance",
            path=tmp_path / "social_insurance.csv",
            method=method,
            encoding="utf-8",
        )

    assert SocialInsuranceRecord.objects.count() == 0
    assert ImportBatch.objects.get().status == "failed"


def test_bad_arguments_exit_with_a_one_line_reason(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        run(str(tmp_path / "missing"))
    with pytest.raises(CommandError, match="is not a readable file"):
        run("--source", "hukou", str(tmp_path))
    with pytest.raises(CommandError, match="holds none of the feed files"):
        run(str(tmp_path))
    write(tmp_path / "hukou.csv", ["id_number"])
    with pytest.raises(CommandError, match="unknown encoding 'klingon'"):
        run(str(tmp_path), "--encoding", "klingon")
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_later_feed_updates_stored_rows_and_still_rejects_duplicates_in_itself(tmp_path, method):
    # given: the permit feed loaded once (an empty table: the first-load path)
    header = "id_number,permit_no,district_code,issued_on,expires_on"
    first = write(
        tmp_path / "residence_permit.csv",
        [
            header,
            f"{FATHER},P1,440604,2024-05-01,2026-05-01",
            f"{MOTHER},P2,440604,2024-05-01,2028-05-01",
        ],
    )
    registry_import_file(source="residence_permit", path=first, method=method)

    # when: a later feed renews P1, repeats P2 as it was, adds P3 twice
    later = write(
        tmp_path / "residence_permit.csv",
        [
            header,
            f"{FATHER},P1,440604,2024-05-01,2029-05-01",
            f"{MOTHER},P2,440604,2024-05-01,2028-05-01",
            f"{MOTHER},P3,440604,2025-01-01,2030-01-01",
            f"{MOTHER},P3,440604,2025-02-01,2030-02-01",
        ],
    )
    report = registry_import_file(source="residence_permit", path=later, method=method)

    # then
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 1)
    assert report.rejections == [(5, "duplicate key: the same key as line 4")]
    assert dict(ResidencePermitRecord.objects.values_list("permit_no", "expires_on")) == {
        "P1": date(2029, 5, 1),
        "P2": date(2028, 5, 1),
        "P3": date(2030, 1, 1),
    }
    assert ResidencePermitRecord.objects.get(permit_no="P1").batch_id == report.batch_id
    assert ResidencePermitRecord.objects.get(permit_no="P2").batch_id != report.batch_id


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal_only(tmp_path, monkeypatch):
    monkeypatch.setattr("registry.loading.rows.PROGRESS_EVERY", 2)
    # COPY reads blocks of lines and reports after a block: blocks of one line here.
    monkeypatch.setattr("registry.loading.copy._BLOCK_BYTES", 1)
    lines = ["id_number,month,pension,medical,employer_name"]
    lines += [f"{FATHER},2025-{month:02d},1,1," for month in range(1, 6)]
    write(tmp_path / "social_insurance.csv", lines)
    terminal, pipe = _Terminal(), io.StringIO()

    call_command("import_registry", str(tmp_path), stdout=terminal)
    call_command("import_registry", str(tmp_path), stdout=pipe)

    assert "\rsocial_insurance.csv: 2 rows read…" in terminal.getvalue()
    assert "\rsocial_insurance.csv: 4 rows read…" in terminal.getvalue()
    assert "rows read…" not in pipe.getvalue()
    assert pipe.getvalue().startswith(
        "social_insurance.csv (social_insurance, utf-8): 5 rows read, 0 inserted, 0 updated, "
        "5 unchanged, 0 rejected"
    )
