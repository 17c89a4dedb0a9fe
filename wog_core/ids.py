"""Ids and user text where they enter: checked once, at the edge (CLI, slash commands, sources).

A replay or player id is 1 to :data:`MAX_ID` written in ASCII digits. The maximum is the
largest integer Discord's integer options and JSON readers carry exactly (2^53 − 1); it leaves
room for 9,007 sources' id blocks (``dbschema.tables.SOURCE_BLOCK``) and fits Postgres'
``bigint``. ``str.isdigit`` would accept superscripts and other scripts' digits (``'²'``), and
``int`` a sign, spaces and underscores, so neither is used on input.
"""

from __future__ import annotations

import re

MAX_ID = 2**53 - 1
"""The largest replay or player id accepted anywhere (9,007,199,254,740,991)."""

_ASCII_DIGITS = re.compile(r"[0-9]+")
# C0 and C1 control characters (NUL included) except tab and newline, which are plain space.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class BadId(ValueError):
    """An id that is not 1..MAX_ID in ASCII digits; the message names the value given."""


def is_id(text: str) -> bool:
    """Whether ``text`` (stripped) is an id: ASCII digits, 1..MAX_ID."""
    try:
        parse_id(text)
    except BadId:
        return False
    return True


def parse_id(value: str | int, what: str = "replay id") -> int:
    """``value`` as an id, or :class:`BadId` saying what was wrong with it."""
    if isinstance(value, bool):
        raise BadId(f"{what} {value!r}: not a number")
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        shown = repr(text if len(text) <= 40 else text[:40] + "…")
        if not _ASCII_DIGITS.fullmatch(text):
            raise BadId(f"{what} {shown}: not a whole number in the digits 0-9")
        number = int(text)
    if not 1 <= number <= MAX_ID:
        shown = str(number) if len(str(number)) <= 40 else str(number)[:40] + "…"
        raise BadId(f"{what} {shown}: out of range (1 to {MAX_ID:,})")
    return number


def without_controls(text: str) -> str:
    """``text`` with control characters (NUL and the rest, never valid in a name) removed."""
    return _CONTROLS.sub("", text)
