"""Command-line parameter types: ids are checked here, once, as they enter."""

from __future__ import annotations

import click

from wog_core.ids import BadId, parse_id


class IdParam(click.ParamType):
    """A replay or player id (:func:`wog_core.ids.parse_id`): ASCII digits, 1..MAX_ID."""

    name = "id"

    def __init__(self, what: str = "replay id"):
        self.what = what

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            text: str | int = value
        else:
            text = str(value)
        try:
            return parse_id(text, self.what)
        except BadId as exc:
            self.fail(str(exc), param, ctx)


REPLAY_ID = IdParam("replay id")
