import pytest

from registry.interchange import undecodable_line

# Line 5 holds GBK bytes; lines 1 to 4 end with \r\n, \r, \n and \r\n.
MIXED = b"a,b\r\n" + b"x\r" + b"c\n" + b"d\r\n" + "恒信".encode("gbk") + b"\n"


@pytest.mark.parametrize("block_bytes", [1, 2, 5, 1 << 16])
def test_the_line_of_the_first_bad_byte_whatever_ends_the_lines_and_cuts_the_blocks(
    tmp_path, monkeypatch, block_bytes
):
    monkeypatch.setattr("registry.interchange._BLOCK_BYTES", block_bytes)
    path = tmp_path / "feed.csv"
    path.write_bytes(MIXED)

    assert undecodable_line(path, "utf-8") == 5
    assert undecodable_line(path, "gbk") is None


def test_lines_are_counted_in_the_decoded_text(tmp_path):
    # In UTF-16 the bytes 0x0A and 0x0D turn up inside characters (U+0A0D, U+0D0A).
    path = tmp_path / "feed.csv"
    path.write_bytes(
        "\u0a0d\u0d0a\nb\n".encode("utf-16-le") + b"\x00\xd8" + "\n".encode("utf-16-le")
    )

    assert undecodable_line(path, "utf-16-le") == 3


def test_an_unreadable_file_is_the_callers_to_word(tmp_path):
    with pytest.raises(FileNotFoundError):
        undecodable_line(tmp_path / "missing.csv", "utf-8")
