"""Department forms rewritten block-wise: the block path accepts them as the row checks do,
and the two paths still cannot differ in what they accept, reject or store."""

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.demo.department_forms import CHINESE_HEADERS, row_rewriter
from registry.feeds.blockcheck import BlockChecker
from registry.feeds.blockforms import BlockForms
from registry.feeds.specs import FEEDS
from tests.registry.feeds.test_blockcheck import GOOD_LINES, PEOPLE
from tests.registry.feeds.test_blockcheck import _feed_output as _canonical_output

MUTATIONS = [
    "0",
    "9",
    "x",
    "X",
    "-",
    "%",
    "/",
    ",",
    " ",
    "",
    "男",
    "女",
    "是",
    "否",
    "Y",
    "０",
    "Ｘ",
    "%%",
    "1",
    "2",
    "3",
    "\r",
    "19",
    "年",
]


def _feed_output(source: str, data: bytes, **options):
    """The COPY output with the Chinese headers known, as the seeded mappings know them."""
    mappings = {"中文表头": {name: column for column, name in CHINESE_HEADERS[source].items()}}
    return _canonical_output(source, data, mappings=mappings, **options)


def _header(source: str) -> list[str]:
    header = list(FEEDS[source].columns)
    if source == "residence_permit":
        header = ["permit_no", "id_number", "district_code", "issued_on", "expires_on"]
    return header


def department_lines(source: str, sex_form: str = "chinese") -> list[str]:
    """GOOD_LINES as a department writes them, every second row's ID numbers full-width and
    every third one's (born in the 1900s) in 15 digits."""
    rewrite = row_rewriter(_header(source), sex_form, 2, 3)
    rows = csv.reader(io.StringIO("\n".join(GOOD_LINES[source])))
    return [",".join(rewrite(number, row)) for number, row in enumerate(rows)]


def _file(source: str, lines: list[str], encoding: str = "utf-8") -> bytes:
    names = CHINESE_HEADERS[source]
    header = ",".join(names[column] for column in _header(source))
    return ("\n".join([header, *lines]) + "\n").encode(encoding)


def test_each_department_form_is_rewritten_to_what_the_row_checks_store():
    fifteen = PEOPLE[2][:6] + PEOPLE[2][8:17]
    wide = PEOPLE[1].translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    lower_x = PEOPLE[3].lower()
    block = (
        f"{fifteen},陈大文,1,19880229,445202,445202001001,,20100506,H2\n"
        f"{wide},李美玲,女,1990-07-01,440604,440604010003,佛山,2023-02-28,\n"
        f"{lower_x},陈小红,2,19991231,440882,440882001001,,2000-01-03,\n"
    ).encode()
    forms = BlockForms(FEEDS["hukou"], list(FEEDS["hukou"].columns))

    assert forms.translate(block).decode() == (
        f"{PEOPLE[2]},陈大文,M,1988-02-29,445202,445202001001,,2010-05-06,H2\n"
        f"{PEOPLE[1]},李美玲,F,1990-07-01,440604,440604010003,佛山,2023-02-28,\n"
        f"{PEOPLE[3]},陈小红,F,1999-12-31,440882,440882001001,,2000-01-03,\n"
    )


def test_shares_months_and_flags_are_rewritten():
    block = f"Z1,{PEOPLE[1]},50%,440604010003,,20200102\nZ1,{PEOPLE[2]},49.99,440604010003,,2020-01-02\n"
    social = f"{PEOPLE[1]},202501,是,否,某公司\n{PEOPLE[1]},2025-02,Y,n,\n"

    assert BlockForms(FEEDS["property"], list(FEEDS["property"].columns)).translate(
        block.encode()
    ).decode() == (
        f"Z1,{PEOPLE[1]},50,440604010003,,2020-01-02\nZ1,{PEOPLE[2]},49.99,440604010003,,2020-01-02\n"
    )
    assert BlockForms(FEEDS["social_insurance"], list(FEEDS["social_insurance"].columns)).translate(
        social.encode()
    ).decode() == (f"{PEOPLE[1]},2025-01,1,0,某公司\n{PEOPLE[1]},2025-02,1,0,\n")


def test_department_blocks_take_the_block_path_and_match_the_row_path():
    for source in GOOD_LINES:
        for sex_form in ("chinese", "code"):
            lines = department_lines(source, sex_form)
            block = ("\n".join(lines) + "\n").encode()
            header = _header(source)

            rewritten = BlockForms(FEEDS[source], header).translate(block)

            assert rewritten is not None, source
            assert BlockChecker(FEEDS[source], header).check(rewritten, 2) is not None, source
            assert (
                BlockForms(FEEDS[source], header).translate(block.replace(b"\n", b"\r\n"))
                == rewritten
            )
            for encoding in ("utf-8", "gb18030"):
                data = _file(source, lines, encoding)
                fast = _feed_output(source, data, block_checks=True, encoding=encoding)
                slow = _feed_output(source, data, block_checks=False, encoding=encoding)
                assert fast == slow, (source, encoding)
                assert fast[2] == [], source


def test_a_canonical_block_goes_to_copy_as_the_block_checks_alone_send_it():
    for source, lines in GOOD_LINES.items():
        header = _header(source)
        for newline in (b"\n", b"\r\n"):
            block = ("\n".join(lines) + "\n").encode().replace(b"\n", newline)
            checker = BlockChecker(FEEDS[source], header)

            fused = BlockForms(FEEDS[source], header).for_copy(block, 7, checker)

            assert fused == checker.check(block, 7), source
            assert fused is not None


def test_a_department_block_goes_to_copy_as_its_rewrite_through_the_block_checks():
    for source in GOOD_LINES:
        header = _header(source)
        block = ("\r\n".join(department_lines(source)) + "\r\n").encode()
        forms, checker = BlockForms(FEEDS[source], header), BlockChecker(FEEDS[source], header)

        assert forms.for_copy(block, 2, checker) == checker.check(forms.translate(block), 2)


def test_a_form_not_known_to_the_blocks_hands_the_block_to_the_row_checks():
    forms = BlockForms(FEEDS["social_insurance"], list(FEEDS["social_insurance"].columns))
    good = department_lines("social_insurance")[0]
    for changed in (good.replace(",是,", ",已缴,"), good.replace("202501", "2025年1月")):
        assert forms.translate((changed + "\n").encode()) is None, changed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(sorted(GOOD_LINES)),
    sex_form=st.sampled_from(["chinese", "code"]),
    picks=st.lists(st.integers(0, 10), min_size=1, max_size=6),
    edits=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 120), st.sampled_from(MUTATIONS)),
        max_size=3,
    ),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
    crlf=st.booleans(),
)
def test_the_block_path_never_differs_from_the_row_path_on_department_forms(
    source, sex_form, picks, edits, encoding, crlf
):
    good = department_lines(source, sex_form)
    lines = [good[pick % len(good)] for pick in picks]
    for line_index, position, text in edits:
        line = lines[line_index % len(lines)]
        at = position % (len(line) + 1)
        lines[line_index % len(lines)] = line[:at] + text + line[at + 1 :]
    data = _file(source, lines, encoding)
    if crlf:
        data = data.replace(b"\n", b"\r\n")

    fast = _feed_output(source, data, block_checks=True, encoding=encoding)
    slow = _feed_output(source, data, block_checks=False, encoding=encoding)

    assert fast == slow
