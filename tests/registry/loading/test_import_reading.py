"""Reading a feed file: blocks and lines, encodings, malformed CSV, and what reaches COPY."""

import io

import pytest
from django.core.management import CommandError, call_command

from registry.loading.imports import ImportFailed, registry_import_file
from registry.models import (
    HukouRecord,
    ImportBatch,
    RentalRecord,
    ResidencePermitRecord,
    SocialInsuranceRecord,
)
from tests.registry.loading.test_import import (
    BAD_CHECK,
    CHILD,
    FATHER,
    MOTHER,
    write,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("block_bytes", [7, 1 << 20])
def test_blocks_of_any_size_keep_quoted_lines_whole_and_lines_numbered(
    tmp_path, monkeypatch, block_bytes
):
    # COPY reads the file in blocks; a quoted address over two lines must not be cut apart,
    # and the lines after it keep their numbers. CRLF endings, as a spreadsheet writes them.
    monkeypatch.setattr("registry.loading.copy._BLOCK_BYTES", block_bytes)
    header = "id_number,name,sex,birth_date,hukou_district_code,community_code,registered_on"
    feed = tmp_path / "hukou.csv"
    feed.write_bytes(
        "\r\n".join(
            [
                header + ",address",
                f'{CHILD},陈小明,M,2020-03-15,440604,440604010003,2020-04-01,"祖庙路1号,\r\n2楼"',
                f"{BAD_CHECK},陈小红,F,2020-03-15,440604,440604010003,2020-04-01,",
                f"{MOTHER},李美玲,F,1990-07-01,440604,440604010003,2023-02-28,",
                f"{FATHER},陈大文,M,1988-02-29,445202,445202001001,2010-05-06,",
                "",
            ]
        ).encode()
    )

    report = registry_import_file(source="hukou", path=feed, method="copy")

    assert (report.rows_read, report.inserted, report.rejected) == (4, 3, 1)
    assert report.rejections == [(4, "id_number: the check character does not match (GB 11643)")]
    assert dict(HukouRecord.objects.values_list("id_number", "address")) == {
        CHILD: "祖庙路1号,\r\n2楼",
        MOTHER: "",
        FATHER: "",
    }
    assert set(HukouRecord.objects.values_list("household_no", flat=True)) == {""}


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_lines_after_a_lone_carriage_return_keep_the_numbers_the_row_path_gives(
    tmp_path, monkeypatch, method
):
    monkeypatch.setattr("registry.loading.copy._BLOCK_BYTES", 64)
    feed = tmp_path / "hukou.csv"
    feed.write_bytes(
        "\n".join(
            [
                "id_number,name,sex,birth_date,hukou_district_code,community_code,registered_on,"
                "address",
                f'{CHILD},陈小明,M,2020-03-15,440604,440604010003,2020-04-01,"祖庙路1号\r2楼"',
                f"{MOTHER},李美玲,F,1990-07-01,440604,440604010003,2023-02-28,",
                f"{BAD_CHECK},陈小红,F,2020-03-15,440604,440604010003,2020-04-01,",
                "",
            ]
        ).encode()
    )

    report = registry_import_file(source="hukou", path=feed, method=method)

    assert report.rejections == [(5, "id_number: the check character does not match (GB 11643)")]
    assert HukouRecord.objects.get(id_number=CHILD).address == "祖庙路1号\r2楼"


def test_a_utf16_feed_is_read_as_text_and_loaded(tmp_path):
    # Not the two encodings INTERCHANGE.md names, but a spreadsheet's "Unicode text" is UTF-16:
    # its newlines and commas are not single bytes, so it cannot be cut into blocks as read.
    feed = write(
        tmp_path / "social_insurance.csv",
        [
            "id_number,month,pension,medical,employer_name",
            f"{FATHER},2025-01,1,1,佛山市某公司",
            f"{FATHER},2025-13,1,1,",
        ],
        encoding="utf-16",
    )

    report = registry_import_file(source="social_insurance", path=feed, encoding="utf-16")

    assert (report.rows_read, report.inserted, report.rejections) == (
        2,
        1,
        [(3, "month: impossible month 2025-13")],
    )
    assert SocialInsuranceRecord.objects.get().employer_name == "佛山市某公司"


# Lines end as the rejections count them: at \n, and at a carriage return on its own too.
@pytest.mark.parametrize("newline", [b"\n", b"\r"])
@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_file_not_in_its_encoding_is_refused_naming_the_line(tmp_path, method, newline):
    # given: good UTF-8 lines, then on line 4 a name in GBK, then more good lines
    lines = [
        b"id_number,month,pension,medical,employer_name",
        f"{FATHER},2025-01,1,1,".encode(),
        f"{FATHER},2025-02,1,1,".encode(),
        FATHER.encode() + b",2025-03,1,1," + "恒信".encode("gbk"),
        f"{FATHER},2025-04,1,1,".encode(),
    ]
    (tmp_path / "social_insurance.csv").write_bytes(newline.join(lines) + newline)

    with pytest.raises(ImportFailed) as failed:
        registry_import_file(
            source="social_insurance",
            path=tmp_path / "social_insurance.csv",
            method=method,
            encoding="utf-8",
        )

    reason = "social_insurance.csv is not utf-8 text (line 4; try --encoding)"
    assert str(failed.value) == reason
    assert SocialInsuranceRecord.objects.count() == 0
    assert list(ImportBatch.objects.values_list("status", "rows_inserted", "rejections")) == [
        ("failed", 0, [{"line": 0, "reason": reason}])
    ]


def test_a_refused_header_reports_no_negative_unchanged_count(tmp_path):
    write(tmp_path / "rental.csv", ["registration_no,tenant", f"R1,{FATHER}"])
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_registry", str(tmp_path), stdout=out, stderr=io.StringIO())

    finding, report_line = out.getvalue().splitlines()[:2]
    assert finding.startswith("rental.csv: unknown column set: missing tenant_id_number")
    assert report_line.startswith(
        "rental.csv (rental, utf-8): 0 rows read, 0 inserted, 0 updated, 0 unchanged, "
        "1 rejected [NOT LOADED, "
    )
    assert RentalRecord.objects.count() == 0


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_malformed_csv_is_refused_whole_naming_the_line(tmp_path, method):
    feed = write(
        tmp_path / "residence_permit.csv",
        [
            "permit_no,id_number,district_code,issued_on,expires_on",
            f"P1,{FATHER},440604,2024-06-29,2027-06-29",
            f'P2,"{MOTHER}"x,440604,2024-06-29,2027-06-29',
            f"P3,{CHILD},440604,2024-06-29,2027-06-29",
        ],
    )

    with pytest.raises(ImportFailed) as failed:
        registry_import_file(source="residence_permit", path=feed, method=method)

    assert str(failed.value) == (
        "residence_permit.csv: malformed CSV: line 3: ',' expected after '\"'"
    )
    assert ResidencePermitRecord.objects.count() == 0
    assert ImportBatch.objects.get().status == "failed"


# The COPY path stops waiting for the quote after 256 bytes here (line 7): the row path
# reads on to the end of the file.
@pytest.mark.parametrize(("method", "stopped"), [("copy", 7), ("orm", 40)])
def test_a_quote_that_never_closes_is_refused_naming_the_line_it_opens_on(
    tmp_path, monkeypatch, method, stopped
):
    # Small blocks and a small limit on held-back lines, so the file outgrows both.
    monkeypatch.setattr("registry.loading.copy._BLOCK_BYTES", 64)
    monkeypatch.setattr("registry.loading.copy._MAX_PENDING_BYTES", 256)
    good = f"P1,{FATHER},440604,2024-06-29,2027-06-29"
    feed = write(
        tmp_path / "residence_permit.csv",
        [
            "permit_no,id_number,district_code,issued_on,expires_on",
            good,
            f'"P2,{MOTHER},440604,2024-06-29,2027-06-29',
            *[good.replace("P1", f"P{n}") for n in range(3, 40)],
        ],
    )

    with pytest.raises(ImportFailed) as failed:
        registry_import_file(source="residence_permit", path=feed, method=method)

    assert str(failed.value) == (
        f"residence_permit.csv: malformed CSV: lines 3 to {stopped}: unexpected end of data"
    )
    assert ResidencePermitRecord.objects.count() == 0
    assert ImportBatch.objects.get().status == "failed"


def test_lines_held_back_for_a_quote_that_never_closes_stay_bounded(monkeypatch):
    from registry.loading.copy import _blocks

    monkeypatch.setattr("registry.loading.copy._BLOCK_BYTES", 64)
    monkeypatch.setattr("registry.loading.copy._MAX_PENDING_BYTES", 256)
    data = b'a,"b\n' + b"c,d\n" * 1000

    blocks = list(_blocks(io.BytesIO(data)))

    assert b"".join(blocks) == data
    assert max(len(block) for block in blocks) <= 256 + 64
    assert all(block.endswith(b"\n") for block in blocks)


def test_checked_blocks_reach_copy_whole_and_in_order():
    from registry.loading.copy import _write_behind

    blocks = [f"{n}\n".encode() * n for n in range(1, 50)]
    sent = []

    _write_behind(iter(blocks), sent.append)

    assert sent == blocks


def test_a_block_the_server_refuses_stops_the_reading_and_its_error_is_raised():
    from registry.loading.copy import _BLOCKS_AHEAD, _write_behind

    read, sent = [], []

    def blocks():
        for n in range(100):
            read.append(n)
            yield bytes([n])

    def refuse_the_second(block):
        if block == b"\x01":
            raise ValueError("the server refused block 1")
        sent.append(block)

    with pytest.raises(ValueError, match="the server refused block 1"):
        _write_behind(blocks(), refuse_the_second)

    assert sent == [b"\x00"]
    # What the sender holds, what waits, one waiting to be put and one read before the
    # reader sees the failure: never the rest of the file.
    assert len(read) <= 2 + _BLOCKS_AHEAD + 2


def test_a_block_that_cannot_be_read_is_raised_once_the_blocks_before_it_are_sent():
    from registry.loading.copy import _write_behind

    sent = []

    def blocks():
        yield b"a\n"
        yield b"b\n"
        raise UnicodeDecodeError("gbk", b"\xff", 0, 1, "illegal multibyte sequence")

    with pytest.raises(UnicodeDecodeError):
        _write_behind(blocks(), sent.append)

    assert sent == [b"a\n", b"b\n"]
