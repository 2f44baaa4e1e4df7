import io
import logging
from datetime import date

import pytest

from registry import idnumber


def test_known_number_validates_and_masks():
    number = "11010519491231002X"

    assert idnumber.validate(number) == number
    assert idnumber.mask(number) == "110105********002X"


@pytest.mark.parametrize(
    ("value", "message", "code"),
    [
        ("110105194912310021", "the check character does not match (GB 11643)", "check_character"),
        ("110105194902300029", "the birth date inside the number is impossible", "birth_date"),
        ("11010519491231002", "must be 17 digits followed by a digit or X", "shape"),
    ],
)
def test_invalid_numbers_say_why(value, message, code):
    with pytest.raises(idnumber.InvalidIdNumber) as error:
        idnumber.validate(value)

    assert (str(error.value), error.value.code) == (message, code)


def test_make_builds_a_valid_number_with_its_birth_date():
    number = idnumber.make("440604", date(2020, 3, 15), 123)

    assert idnumber.is_valid(number)
    assert idnumber.birth_date_of(number) == date(2020, 3, 15)


def test_mask_in_text_hides_every_number_in_a_sentence():
    number = idnumber.make("440604", date(2020, 3, 15), 123)

    assert (
        idnumber.mask_in_text(f"child {number} failed")
        == f"child 440604********{number[14:]} failed"
    )


def test_the_log_filter_masks_a_traceback_too():
    # An unexpected database error (a unique key raced past its check) reaches the log as
    # Django's "Internal Server Error" line with the exception's text in the traceback.
    number = idnumber.make("440604", date(2020, 3, 15), 123)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(idnumber.MaskIdNumbersFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.registry.traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise ValueError(f"DETAIL:  Key (id_number)=({number}) already exists.")
    except ValueError:
        logger.exception("Internal Server Error: %s", "/registry/api/v1/records/")
    finally:
        logger.removeHandler(handler)

    text = stream.getvalue()
    assert text.startswith("ERROR Internal Server Error: /registry/api/v1/records/\nTraceback")
    assert text.endswith(
        f"ValueError: DETAIL:  Key (id_number)=(440604********{number[14:]}) already exists.\n"
    )
    assert number not in text
