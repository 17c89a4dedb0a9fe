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
        try:
            return parse_id(value if isinstance(value, int) else str(value), self.what)
        except BadId as exc:
            self.fail(str(exc), param, ctx)


REPLAY_ID = IdParam("replay id")
