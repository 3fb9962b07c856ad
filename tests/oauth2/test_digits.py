"""The one rule for a number someone else wrote in decimal (`server.oauth2.digits`): ASCII 0-9
only, never what str.isdigit() or int() take besides ("²", "٣", " 7", "+7", "1_000")."""

import pytest

from server.oauth2.digits import decimal_value, is_ascii_decimal, looks_numeric, whole_number
from tests.ids import plain_id

NOT_ASCII_DECIMAL = [
    "",
    "\u00b2",  # ² : str.isdigit() is true, int() refuses it
    "1\u00b2",
    "\u0663",  # ٣ (Arabic-Indic three): str.isdigit() is true, int() reads 3
    "\u0661\u0662",
    "\uff17",  # fullwidth seven: int() reads 7
    "\U0001d7ce",  # mathematical bold zero: int() reads 0
    " 7",
    "7 ",
    "+7",
    "-7",
    "1_000",
    "1e3",
    "1.0",
    "0x10",
    "7\x00",
    "\x00",
    "seven",
]


@pytest.mark.parametrize("text", NOT_ASCII_DECIMAL, ids=plain_id)
def test_only_ascii_digits_are_a_decimal_number(text):
    assert not is_ascii_decimal(text)
    assert decimal_value(text, ceiling=10**9) is None
    assert whole_number(text, maximum=10**9) is None


@pytest.mark.parametrize("value", [None, 7, 7.0, b"7", ["7"]], ids=plain_id)
def test_a_value_that_is_not_a_string_is_no_decimal_number(value):
    assert not is_ascii_decimal(value)
    assert decimal_value(value, ceiling=10) is None


@pytest.mark.parametrize(
    "text, value", [("0", 0), ("7", 7), ("007", 7), ("0000", 0), ("2147483647", 2**31 - 1)]
)
def test_ascii_digits_read_as_their_value(text, value):
    assert is_ascii_decimal(text)
    assert decimal_value(text, ceiling=2**31) == value
    assert whole_number(text, maximum=2**31 - 1) == value


def test_a_number_past_the_ceiling_reads_as_the_ceiling_whatever_its_length():
    # int() raises ValueError for a string of more than 4300 digits: the rule never calls it on one.
    assert decimal_value("2147483649", ceiling=2**31) == 2**31
    assert decimal_value("9" * 5000, ceiling=2**31) == 2**31
    assert decimal_value("0" * 5000 + "5", ceiling=2**31) == 5  # leading zeros are 1*DIGIT too


def test_whole_number_is_none_outside_its_range():
    assert whole_number("10", maximum=10) == 10
    assert whole_number("11", maximum=10) is None
    assert whole_number("9" * 5000, maximum=10) is None
    assert whole_number("0", maximum=10, minimum=1) is None
    assert whole_number("1", maximum=10, minimum=1) == 1


@pytest.mark.parametrize(
    "text, numeric",
    [("42", True), ("\u00b2", True), ("\u0664\u0662", True), ("", False), ("a1", False), ("4 2", False)],
    ids=plain_id,
)
def test_looks_numeric_is_the_wide_test_for_refusing_names(text, numeric):
    assert looks_numeric(text) is numeric
