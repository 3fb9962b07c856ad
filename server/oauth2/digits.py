"""The one rule for a number someone else wrote in decimal: ASCII digits 0-9, nothing else.

What a client sends (an OpenID `max_age`, a form's row id), what a remote server answers (a
`Content-Length`, a `Cache-Control: max-age`), what an operator puts in an import file or on a
command line: HTTP writes these as `1*DIGIT` (RFC 9110 §8.6, RFC 9111 §1.2.2), OpenID Connect
and our forms mean the same. Python's own tests are wider: "²".isdigit() is true and int("²")
raises ValueError; "٣".isdigit() is true and int("٣") is 3; int() also takes " 7", "+7", "-7" and
"1_000", and refuses a string of more than 4300 digits with a ValueError. So nothing parses such
a value with str.isdigit() and int(); it calls `whole_number` or `decimal_value` (a test keeps
str.isdigit / isdecimal / isnumeric and regex `\\d` out of the rest of server/ and oauth_console/).

Here, in `server.oauth2`, because it is the lowest layer every other package may import.
"""

from __future__ import annotations

__all__ = ["decimal_value", "is_ascii_decimal", "looks_numeric", "whole_number"]


def is_ascii_decimal(text: object) -> bool:
    """True when `text` is a string of one or more of the characters 0-9 and nothing else."""
    return isinstance(text, str) and text.isascii() and text.isdigit()


def decimal_value(text: object, *, ceiling: int) -> int | None:
    """The whole number `text` writes in ASCII decimal digits, at most `ceiling`; None when it
    is anything else (empty, a sign, a space, a point, a digit of another script, not a str).

    A larger number reads as `ceiling`: RFC 9111 §1.2.2's rule for delta-seconds (a cache takes
    a max-age it cannot represent as 2**31), and how a caller asks "is this over my limit?"
    (pass the limit + 1). Leading zeros are allowed, as `1*DIGIT` allows them. A long string is
    never handed to int(), so no length of digits can raise."""
    if not is_ascii_decimal(text):
        return None
    significant = text.lstrip("0")
    if len(significant) > len(str(ceiling)):
        return ceiling
    return min(int(significant or "0"), ceiling)


def whole_number(text: object, *, maximum: int, minimum: int = 0) -> int | None:
    """The whole number `text` writes in ASCII decimal digits when it is from `minimum` to
    `maximum`; None for anything else (out of range, or not ASCII digits: see `decimal_value`)."""
    value = decimal_value(text, ceiling=maximum + 1)
    return value if value is not None and minimum <= value <= maximum else None


def looks_numeric(text: str) -> bool:
    """True when every character of `text` is a digit in some script ("42", "²", "٤٢"): for
    refusing a name someone could read as a number, never for reading one (`whole_number`)."""
    return bool(text) and text.isdigit()
