"""Test ids for parameters holding characters a shell, a terminal or a tool could mangle.

`ids=ascii` writes "\u00b2" as '\\xb2': mutmut hands such an id back to pytest, which then does
not find the test ("ERROR: not found"), and `make mutation` stops before it starts. `plain_id`
keeps printable ASCII other than the backslash and writes every other character as (U+XXXX).
"""

from __future__ import annotations

from typing import Any


def plain_id(value: Any) -> str:
    if isinstance(value, str):
        shown = "".join(
            c if c.isascii() and c.isprintable() and c != "\\" else f"(U+{ord(c):04X})" for c in value
        )
        return shown or "empty"
    if isinstance(value, dict):
        return "&".join(f"{plain_id(key)}={plain_id(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return "+".join(plain_id(item) for item in value)
    return plain_id(repr(value))
