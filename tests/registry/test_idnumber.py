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


# --- the one normaliser every entrance calls -------------------------------------------------


def test_normalise_takes_what_people_type_to_the_one_stored_form():
    typed = [
        # Full-width digits and a full-width x, as a Chinese input method types them.
        "１１０１０５１９４９１２３１００２ｘ",
        # Ideographic and ordinary spaces around it, a lower-case x.
        "\u3000 11010519491231002x\t\u3000",
        # Half full-width, half ASCII.
        "110105１９４９１２３１002X",
        "11010519491231002X",
        # A first-generation number: `19` goes in after the address code, the check character
        # is computed.
        "110105491231002",
        "１１０１０５４９１２３１００２",
    ]

    assert {value: idnumber.normalise(value) for value in typed} == dict.fromkeys(
        typed, "11010519491231002X"
    )
    assert {value: idnumber.validate(value) for value in typed} == dict.fromkeys(
        typed, "11010519491231002X"
    )
    assert idnumber.normalise(None) == ""
    assert idnumber.normalise(" abc ") == "ABC"
    # Fifteen characters that are not fifteen ASCII digits are not upgraded.
    assert idnumber.normalise("11010549123100X") == "11010549123100X"


def test_anything_not_ascii_digits_after_normalising_is_refused_as_shape():
    refused = [
        # Arabic-Indic and Devanagari digits: `\d` matches them and int() reads them, NFKC
        # keeps them, and the check character's arithmetic works on ASCII only.
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",
        "११०१०५१९४९१२३१००२X",
        "1101051949123100２\u0663",
        "110105 19491231002X",
        "11010519491231002X\x00",
        "\ud80011010519491231002X",
        "11010519491231002\u200b",
        "",
        "1" * 10_000,
    ]
    answers = {}
    for value in refused:
        try:
            idnumber.validate(value)
        except idnumber.InvalidIdNumber as error:
            answers[value] = (str(error), error.code)

    assert answers == dict.fromkeys(
        refused, ("must be 17 digits followed by a digit or X", "shape")
    )
    assert [value for value in refused if idnumber.is_valid(value)] == []


# --- masking inside any text -----------------------------------------------------------------


def test_mask_in_text_masks_numbers_wherever_they_sit():
    cases = {
        "abc110101200001011234def": "abc110101********1234def",
        "孩子11010519491231002X的户籍": "孩子110105********002X的户籍",
        "号码：１１０１０５１９４９１２３１００２ｘ。": "号码：１１０１０５********００２ｘ。",
        "号码１１０１０５１９４９１２３１００２Ｘ号": "号码１１０１０５********００２Ｘ号",
        "key=11010519491231002x;": "key=110105********002x;",
        "(id_number)=(11010519491231002X)": "(id_number)=(110105********002X)",
        # Digits run on either side: a phone number written against it. Everything between
        # the run's first six and last four characters goes, so no digit of the ID number's
        # birth date or sequence is left, whichever end it sits at.
        "电话1380013800011010519491231002X": "电话138001*******************002X",
        "44060420200315123013800138000号": "440604*******************8000号",
        # An `X` ends a number: what follows is another run.
        "11010519491231002X13800138000号": "110105********002X13800138000号",
        "11010519491231002X5": "110105********002X5",
        "two 11010519491231002X,440604202003151230": "two 110105********002X,440604********1230",
        # Seventeen digits are not an ID number.
        "order 12345678901234567": "order 12345678901234567",
    }

    assert {text: idnumber.mask_in_text(text) for text in cases} == cases
