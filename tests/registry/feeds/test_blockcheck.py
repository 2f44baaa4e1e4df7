"""The column-wise block checks accept only what the row checks accept, and hand COPY the
same rows: the same files through `CopyFeed` with and without them give equal output."""

import csv
import io
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import idnumber
from registry.feeds.blockcheck import BlockChecker
from registry.feeds.specs import FEEDS
from registry.loading.copy import CopyFeed
from registry.loading.report import ImportReport

PEOPLE = [
    idnumber.make("440604", date(2020, 3, 15), 123),
    idnumber.make("440604", date(1990, 7, 1), 222),
    idnumber.make("445202", date(1988, 2, 29), 111),
    idnumber.make("440882", date(1999, 12, 31), 7),
]

GOOD_LINES = {
    "hukou": [
        f"{PEOPLE[0]},陈小明,M,2020-03-15,440604,440604010003,祖庙路1号,2020-04-01,H1",
        f"{PEOPLE[1]},李美玲,F,1990-07-01,440604,440604010003,,2023-02-28,H1",
        f"{PEOPLE[2]},陈大文,M,1988-02-29,445202,445202001001,佛山大道2号,2010-05-06,",
    ],
    "property": [
        f"粤2020佛禅不动产权第0000001号,{PEOPLE[1]},50,440604010003,祖庙路1号,2020-01-02",
        f"粤2020佛禅不动产权第0000001号,{PEOPLE[2]},49.99,440604010003,,2020-01-02",
        f"粤2021佛禅不动产权第0000002号,{PEOPLE[3]},100.00,440604010004,佛山大道3号,2021-06-30",
        f"粤2021佛禅不动产权第0000003号,{PEOPLE[0]},0.5,440604010004,,2021-06-30",
    ],
    "rental": [
        f"ZL1,{PEOPLE[1]},440604010003,祖庙路1号,2026-01-01,2027-12-31",
        f"ZL2,{PEOPLE[2]},440604010004,,2024-02-29,2024-02-29",
    ],
    "social_insurance": [
        f"{PEOPLE[1]},2025-01,1,1,佛山市顺德区海天调味食品有限公司",
        f"{PEOPLE[1]},2025-02,1,0,",
        f"{PEOPLE[2]},2024-12,0,1,某公司",
    ],
    "residence_permit": [
        f"JZZ1,{PEOPLE[3]},440604,2021-02-07,2027-10-24",
        f"JZZ2,{PEOPLE[2]},440604,2024-02-29,2024-02-29",
    ],
}
# Single characters that break a line in every way a check can see: digits that move a date
# or a check character, separators, quotes, a carriage return, a NUL, a lower-case x, space.
MUTATIONS = list('0123456789X-.,"\r\x00x M F') + ["", "\n", "佛", "33", "e1"]


def _feed_output(source: str, data: bytes, *, block_checks: bool, encoding="utf-8", mappings=None):
    report = ImportReport(source=source, file_name="f.csv", encoding=encoding)
    handle = io.BytesIO(data)
    feed = CopyFeed.open(FEEDS[source], handle, encoding, report, None, mappings)
    if not block_checks:
        feed.checker.usable = False
    try:
        chunks = b"".join(feed.chunks()).decode()
    except csv.Error as error:  # the import fails the whole file on this
        return ("malformed", str(error))
    rows = [
        (int(row[0]), *(_normal(value) for value in row[1:]))
        for row in csv.reader(io.StringIO(chunks, newline=""))
    ]
    return rows, report.rows_read, report.rejections, feed.rows_written, feed.last_line


def _normal(value: str) -> str:
    # The row checks hand COPY booleans ("True"), the block checks the file's 1 and 0.
    return {"True": "1", "False": "0"}.get(value, value)


def _file(source: str, lines: list[str]) -> bytes:
    header = ",".join(FEEDS[source].columns)
    if source == "residence_permit":
        header = "permit_no,id_number,district_code,issued_on,expires_on"
    return ("\n".join([header, *lines]) + "\n").encode()


def test_good_blocks_pass_the_block_checks_and_match_the_rows():
    for source, lines in GOOD_LINES.items():
        block = ("\n".join(lines) + "\n").encode()
        header = _file(source, []).decode().strip().split(",")

        checked = BlockChecker(FEEDS[source], header).check(block, 2)

        assert checked is not None, source
        data = _file(source, lines)
        fast = _feed_output(source, data, block_checks=True)
        slow = _feed_output(source, data, block_checks=False)
        assert fast == slow
        assert fast[1:] == (len(lines), [], len(lines), len(lines) + 1)


def test_the_block_output_leads_with_the_line_and_gives_months_their_first_day():
    block = ("\n".join(GOOD_LINES["social_insurance"][:2]) + "\n").encode()
    checker = BlockChecker(FEEDS["social_insurance"], list(FEEDS["social_insurance"].columns))

    assert checker.check(block, 41).decode() == (
        f"0000000041,{PEOPLE[1]},2025-01-01,1,1,佛山市顺德区海天调味食品有限公司\n"
        f"0000000042,{PEOPLE[1]},2025-02-01,1,0,\n"
    )


def test_shares_written_any_other_way_take_the_row_checks():
    checker = BlockChecker(FEEDS["property"], list(FEEDS["property"].columns))
    good = GOOD_LINES["property"][0]
    for share in ["1e1", " 50", "+50", ".5", "50.", "50.001", "0", "0.00", "100.01", "1000"]:
        line = good.replace(",50,", f",{share},")
        assert checker.check((line + "\n").encode(), 2) is None, share


def test_unknown_columns_always_take_the_row_checks():
    header = [*FEEDS["social_insurance"].columns, "remarks"]
    assert not BlockChecker(FEEDS["social_insurance"], header).usable


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(sorted(GOOD_LINES)),
    picks=st.lists(st.integers(0, 10), min_size=1, max_size=6),
    edits=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 120), st.sampled_from(MUTATIONS)),
        max_size=3,
    ),
    crlf=st.booleans(),
)
def test_block_checks_never_accept_what_the_row_checks_reject(source, picks, edits, crlf):
    good = GOOD_LINES[source]
    lines = [good[pick % len(good)] for pick in picks]
    for line_index, position, text in edits:
        line = lines[line_index % len(lines)]
        at = position % (len(line) + 1)
        lines[line_index % len(lines)] = line[:at] + text + line[at + 1 :]
    data = _file(source, lines)
    if crlf:
        data = data.replace(b"\n", b"\r\n")

    fast = _feed_output(source, data, block_checks=True)
    slow = _feed_output(source, data, block_checks=False)

    assert fast == slow


def test_a_gbk_file_takes_the_block_checks_and_stores_utf8():
    data = _file("social_insurance", GOOD_LINES["social_insurance"]).decode().encode("gbk")

    rows, read, rejections, _, _ = _feed_output(
        "social_insurance", data, block_checks=True, encoding="gbk"
    )

    assert (read, rejections) == (3, [])
    assert rows[0] == (2, PEOPLE[1], "2025-01-01", "1", "1", "佛山市顺德区海天调味食品有限公司")
