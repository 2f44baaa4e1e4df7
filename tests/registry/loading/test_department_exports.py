"""Department exports as they really come (INTERCHANGE.md): GB18030 or UTF-8, Chinese
headers, department value forms, spreadsheets. They store exactly what the canonical files
store, and the mis-declared or unknown are refused with nothing written."""

import io

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from registry.demo.department_forms import CHINESE_HEADERS, department_forms_write
from registry.demo.district import generate_district
from registry.loading.imports import ImportFailed, feed_for_file, registry_import_file
from registry.models import RECORD_MODELS, HukouRecord, ImportBatch, SocialInsuranceRecord
from tests.registry.loading.test_import import CHILD, FATHER, MOTHER

pytestmark = pytest.mark.django_db

HUKOU_ZH = ",".join(CHINESE_HEADERS["hukou"].values())


def stored_facts() -> dict[str, list[tuple]]:
    """Every stored fact of every feed, without provenance, in a fixed order."""
    facts = {}
    for source, model in RECORD_MODELS.items():
        names = [
            field.name
            for field in model._meta.concrete_fields
            if field.name not in ("id", "batch", "as_of", "updated_at")
        ]
        facts[source] = sorted(model.objects.values_list(*names))
    return facts


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_registry", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def load_folder(folder, method) -> list:
    reports = []
    for path in sorted(folder.iterdir()):
        spec = feed_for_file(path)
        if spec is not None:
            reports.append(registry_import_file(source=spec.source, path=path, method=method))
    return reports


def clear_registry() -> None:
    for model in RECORD_MODELS.values():
        model.objects.all().delete()


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_folder_of_department_exports_stores_exactly_the_canonical_facts(tmp_path, method):
    # given: a district's canonical files, and the same facts as departments export them
    canonical, department = tmp_path / "canonical", tmp_path / "department"
    generate_district(households=60, seed=7, year=2027, out=canonical)
    written = department_forms_write(
        canonical=canonical,
        out=department,
        sex_form="code",
        spreadsheets=frozenset({"residence_permit"}),
        full_width_every=5,
        first_generation_every=3,
    )
    assert sorted(path.name for path in written) == [
        "hukou.csv",
        "property.csv",
        "rental.csv",
        "residence_permit.xlsx",
        "social_insurance.csv",
    ]
    hukou = (department / "hukou.csv").read_bytes()
    assert hukou.startswith(HUKOU_ZH.encode("gb18030") + b"\r\n")
    assert "０".encode("gb18030") in hukou

    # when
    load_folder(canonical, method)
    expected = stored_facts()
    clear_registry()
    reports = load_folder(department, method)

    # then
    assert stored_facts() == expected
    assert all(expected.values())
    assert [(r.file_name, r.encoding, r.rejected, r.failed) for r in reports] == [
        ("hukou.csv", "gb18030", 0, False),
        ("property.csv", "gb18030", 0, False),
        ("rental.csv", "gb18030", 0, False),
        ("residence_permit.xlsx", "xlsx", 0, False),
        ("social_insurance.csv", "gb18030", 0, False),
    ]


def hukou_lines(sex_male="男", sex_female="女") -> list[str]:
    return [
        HUKOU_ZH,
        f"{CHILD},陈小明,{sex_male},20200315,440604,440604010003,祖庙路1号,2020/4/1,H1",
        f"{MOTHER},李美玲,{sex_female},1990年7月1日,440604,440604010003,,2023.2.28,H1",
    ]


EXPECTED_HUKOU = [
    (CHILD, "陈小明", "M", "2020-03-15", "2020-04-01"),
    (MOTHER, "李美玲", "F", "1990-07-01", "2023-02-28"),
]


def stored_hukou() -> list[tuple]:
    return [
        (i, n, s, b.isoformat(), r.isoformat())
        for i, n, s, b, r in HukouRecord.objects.order_by("-birth_date").values_list(
            "id_number", "name", "sex", "birth_date", "registered_on"
        )
    ]


@pytest.mark.parametrize(
    ("encoding", "prefix", "newline", "shown"),
    [
        ("utf-8", b"", "\n", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "\r\n", "utf-8"),
        ("gb18030", b"", "\r\n", "gb18030"),
        ("gbk", b"", "\n", "gb18030"),
    ],
)
@pytest.mark.parametrize("method", ["copy", "orm"])
def test_an_undeclared_file_is_utf8_when_it_is_otherwise_gb18030(
    tmp_path, method, encoding, prefix, newline, shown
):
    feed = tmp_path / "hukou.csv"
    feed.write_bytes(prefix + (newline.join(hukou_lines()) + newline).encode(encoding))

    report = registry_import_file(source="hukou", path=feed, method=method)

    assert (report.encoding, report.inserted, report.rejected) == (shown, 2, 0)
    assert ImportBatch.objects.get().encoding == shown
    assert stored_hukou() == EXPECTED_HUKOU


@pytest.mark.parametrize("declared", ["gbk", "GB2312", "gb18030"])
def test_a_file_declared_gbk_that_is_utf8_is_refused_and_nothing_is_written(tmp_path, declared):
    feed = tmp_path / "hukou.csv"
    feed.write_bytes(("\n".join(hukou_lines()) + "\n").encode("utf-8"))

    with pytest.raises(ImportFailed) as refused:
        registry_import_file(source="hukou", path=feed, encoding=declared)

    reason = (
        f"hukou.csv is declared {declared} but is UTF-8 text: loading it as {declared} "
        "would garble every name in it (declare it UTF-8, or leave the encoding to be detected)"
    )
    assert (str(refused.value), refused.value.code) == (reason, "declared_gbk_is_utf8")
    assert HukouRecord.objects.count() == 0
    assert list(ImportBatch.objects.values_list("status", "rows_read", "rejections")) == [
        ("failed", 0, [{"line": 0, "reason": reason}])
    ]


def test_a_file_declared_gbk_in_plain_ascii_loads_as_declared(tmp_path):
    lines = ["id_number,month,pension,medical,employer_name", f"{FATHER},202501,Y,N,"]
    feed = tmp_path / "social_insurance.csv"
    feed.write_bytes(("\n".join(lines) + "\n").encode())

    report = registry_import_file(source="social_insurance", path=feed, encoding="gbk")

    assert (report.encoding, report.inserted) == ("gbk", 1)
    assert list(SocialInsuranceRecord.objects.values_list("pension", "medical")) == [(True, False)]


def test_the_command_refuses_a_declared_gbk_file_that_is_utf8_in_one_line(tmp_path):
    (tmp_path / "hukou.csv").write_bytes(("\n".join(hukou_lines()) + "\n").encode("utf-8"))

    with pytest.raises(Exception, match="would garble every name") as refused:
        run(str(tmp_path), "--encoding", "gbk")

    assert "\n" not in str(refused.value)
    assert HukouRecord.objects.count() == 0


def test_a_spreadsheet_first_sheet_loads_with_date_cells_numbers_and_chinese_headers(tmp_path):
    from datetime import date, datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.append([f" {name} " for name in CHINESE_HEADERS["hukou"].values()])
    fifteen = MOTHER[:6] + MOTHER[8:17]
    sheet.append(
        [
            CHILD,
            "陈小明",
            1,
            date(2020, 3, 15),
            440604,
            440604010003,
            None,
            datetime(2020, 4, 1, 0, 0),  # noqa: DTZ001 - a spreadsheet cell has no zone
            "H1",
        ]
    )
    sheet.append(
        [
            int(fifteen),
            "李美玲",
            "女",
            "19900701",
            440604,
            "440604010003",
            "祖庙路1号",
            "2023-02-28",
            None,
            None,
            None,
        ]
    )
    sheet.append([None] * 9)  # an empty row is no row
    workbook.create_sheet("notes").append(["ignored"])
    feed = tmp_path / "hukou.xlsx"
    workbook.save(feed)

    report = registry_import_file(source="hukou", path=feed)

    assert (report.encoding, report.rows_read, report.inserted, report.rejected) == (
        "xlsx",
        2,
        2,
        0,
    )
    assert stored_hukou() == EXPECTED_HUKOU
    assert list(
        HukouRecord.objects.order_by("-birth_date").values_list(
            "hukou_district_code", "community_code", "address", "household_no"
        )
    ) == [("440604", "440604010003", "", "H1"), ("440604", "440604010003", "祖庙路1号", "")]


def test_a_spreadsheet_row_rejection_names_its_sheet_row(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(CHINESE_HEADERS["hukou"].values()))
    sheet.append([CHILD, "陈小明", "0", "20200315", "440604", "440604010003", "", "20200401", ""])
    sheet.append([MOTHER, "李美玲", "2", "19900701", "440604", "440604010003", "", "20230228", ""])
    feed = tmp_path / "hukou.xlsx"
    workbook.save(feed)

    report = registry_import_file(source="hukou", path=feed)

    assert report.rejections == [
        (2, "sex: sex is unknown (GB/T 2261.1 code 0); the household register holds M or F")
    ]
    assert list(HukouRecord.objects.values_list("id_number", flat=True)) == [MOTHER]


def test_a_folder_holding_a_feed_both_as_csv_and_xlsx_is_refused_before_any_load(tmp_path):
    (tmp_path / "hukou.csv").write_text("\n".join(hukou_lines()) + "\n", encoding="utf-8")
    (tmp_path / "hukou.xlsx").write_bytes(b"")

    with pytest.raises(Exception, match="holds both hukou.csv and hukou.xlsx: keep one"):
        run(str(tmp_path))

    assert ImportBatch.objects.count() == 0


def test_an_unknown_header_set_is_refused_naming_the_closest_set_and_what_it_lacks(tmp_path):
    # given: the Chinese headers, two of them as another system names them
    header = HUKOU_ZH.replace("出生日期", "出生年月日").replace("户籍登记日期", "登记时间")
    feed = tmp_path / "hukou.csv"
    feed.write_bytes(("\n".join([header, *hukou_lines()[1:]]) + "\n").encode("gb18030"))

    report = registry_import_file(source="hukou", path=feed)

    reason = (
        "unknown column set: missing 出生日期 (birth_date), 户籍登记日期 (registered_on) "
        "(closest known headers: 数据交换规范中文表头, 7 of 9 columns; a hukou feed has "
        "id_number, name, sex, birth_date, hukou_district_code, community_code, address, "
        "registered_on, household_no)"
    )
    assert (report.failed, report.rejections) == (True, [(1, reason)])
    assert HukouRecord.objects.count() == 0
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rejections[0]["params"]["closest"]) == (
        "failed",
        "数据交换规范中文表头",
    )


@pytest.mark.usefixtures("media")
def test_a_handed_in_spreadsheet_and_an_undeclared_gb18030_file_load(
    django_capture_on_commit_callbacks,
):
    from datetime import date

    from django.core.files.uploadedfile import SimpleUploadedFile

    from registry.loading.uploads import feed_upload_create, feed_upload_load

    workbook = Workbook()
    workbook.active.append(list(CHINESE_HEADERS["hukou"].values()))
    workbook.active.append(
        [CHILD, "陈小明", "男", date(2020, 3, 15), "440604", "440604010003", "", "20200401", ""]
    )
    sheet = io.BytesIO()
    workbook.save(sheet)
    gb18030 = ("\r\n".join(hukou_lines()[::2]) + "\r\n").encode("gb18030")
    uploads = []
    for name, content in (("户籍.xlsx", sheet.getvalue()), ("户籍.csv", gb18030)):
        with django_capture_on_commit_callbacks(execute=False):
            uploads.append(
                feed_upload_create(
                    source="hukou",
                    file=SimpleUploadedFile(name, content),
                    encoding="auto",
                    as_of=date(2027, 3, 1),
                    submitted_by="steward1",
                )
            )

    loaded = [feed_upload_load(upload.pk) for upload in uploads]

    assert [(u.status, u.batch.encoding, u.batch.rows_inserted) for u in loaded] == [
        ("done", "xlsx", 1),
        ("done", "gb18030", 1),
    ]
    assert stored_hukou() == EXPECTED_HUKOU


def test_the_command_takes_the_data_date_in_a_department_form_too(tmp_path):
    from datetime import date

    feed = tmp_path / "户籍.csv"
    feed.write_bytes(("\n".join(hukou_lines()) + "\n").encode("gb18030"))

    printed = run("--source", "hukou", str(feed), "--as-of", "2027年3月1日")

    assert printed.startswith("户籍.csv (hukou, gb18030): 2 rows read, 2 inserted,")
    assert ImportBatch.objects.get().as_of == date(2027, 3, 1)


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_the_header_mappings_are_read_once_per_file_not_per_row(tmp_path, method):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lines = [",".join(CHINESE_HEADERS["social_insurance"].values())] + [
        f"{MOTHER},{2000 + n // 12}{n % 12 + 1:02d},是,否," for n in range(300)
    ]
    feed = tmp_path / "social_insurance.csv"
    feed.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))

    with CaptureQueriesContext(connection) as queries:
        report = registry_import_file(source="social_insurance", path=feed, method=method)

    assert (report.inserted, report.rejected) == (300, 0)
    assert sum("registry_headermapping" in query["sql"] for query in queries) == 1


@pytest.mark.usefixtures("media")
def test_a_handed_in_file_neither_csv_nor_xlsx_is_refused_and_nothing_is_stored():
    from datetime import date

    from django.core.files.uploadedfile import SimpleUploadedFile

    from registry.loading.uploads import UploadRefused, feed_upload_create
    from registry.models import FeedUpload

    with pytest.raises(UploadRefused, match="the file must be .csv or .xlsx"):
        feed_upload_create(
            source="hukou",
            file=SimpleUploadedFile("户籍.xls", b"\xd0\xcf\x11\xe0"),
            encoding="auto",
            as_of=date(2027, 3, 1),
            submitted_by="steward1",
        )

    assert FeedUpload.objects.count() == 0
