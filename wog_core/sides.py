"""Arma 3 sides: the one place for their codes, replay-JSON numbers, colours and squares."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """A side as the stats site names it."""

    EAST = "EAST"
    WEST = "WEST"
    GUER = "GUER"
    CIV = "CIV"

    @property
    def number(self) -> int:
        """The side's key in the replay JSON (`factions` keys, player side field)."""
        return _NUMBERS[self]

    @property
    def square(self) -> str:
        """The coloured square players know from the original Discord message."""
        return _SQUARES[self]

    @property
    def colour(self) -> str:
        """Hex colour used for the side in charts and previews."""
        return _COLOURS[self]

    @classmethod
    def from_number(cls, number: int | str) -> Side | None:
        """Side for a replay-JSON side number (1..4), or None for anything else."""
        if isinstance(number, bool):
            return None
        try:
            return _BY_NUMBER.get(int(number))
        except (TypeError, ValueError, OverflowError):
            return None

    @classmethod
    def parse(cls, text: str | None) -> Side | None:
        """Side for a code such as ``"WEST"`` (any case, surrounding space ignored), else None."""
        if not text:
            return None
        try:
            return cls(text.strip().upper())
        except ValueError:
            return None


SIDE_ORDER: tuple[Side, ...] = (Side.EAST, Side.WEST, Side.GUER, Side.CIV)
SIDE_CODES: tuple[str, ...] = tuple(s.value for s in SIDE_ORDER)

_NUMBERS = {Side.EAST: 1, Side.WEST: 2, Side.GUER: 3, Side.CIV: 4}
_BY_NUMBER = {n: s for s, n in _NUMBERS.items()}
_SQUARES = {Side.EAST: "🟥", Side.WEST: "🟦", Side.GUER: "🟩", Side.CIV: "🟪"}
_COLOURS = {Side.EAST: "#d83c3e", Side.WEST: "#3b82f6", Side.GUER: "#2faa4f", Side.CIV: "#9b59b6"}
