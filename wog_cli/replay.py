"""``wog parse``, ``wog summary``, ``wog preview``: one replay, from files, the site or the warehouse."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from wog_cli.common import engine, settings
from wog_cli.params import REPLAY_ID

if TYPE_CHECKING:
    from wog_core.models import Replay
    from wog_sources.ocap import OcapRecording
    from wog_sources.replay import ParsedReplay

T = TypeVar("T")


def _report_repairs(parsed: ParsedReplay) -> None:
    """What the parser repaired, one line each on stderr (the output stays the contract)."""
    for line in parsed.repairs:
        click.echo(f"repaired: replay {parsed.replay.replay_id}: {line}", err=True)


_page = click.option(
    "--page", "page_file", type=click.Path(exists=True, dir_okay=False), help="Game page HTML file."
)
_replay = click.option(
    "--replay",
    "replay_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Replay JSON file.",
)


_ocap = click.option(
    "--ocap",
    "ocap_file",
    type=click.Path(exists=True, dir_okay=False),
    help="An OCAP2 recording (gzip or plain JSON, any extension) instead of --page/--replay.",
)


def _from_ocap(ocap_file: str, replay_id: int | None) -> OcapRecording:
    """A recording decoded from a file; its repairs are reported on stderr."""
    from wog_sources.ocap import decode_file

    recording = _exit_on_bad_input(lambda: decode_file(ocap_file, replay_id=replay_id))
    for line in recording.repairs:
        click.echo(f"repaired: {ocap_file}: {line}", err=True)
    return recording


def _input_errors() -> tuple[type[Exception], ...]:
    from wog_sources.errors import ReplayNotFound, ReplayParseError, ResponseTooLarge

    return (ReplayParseError, ReplayNotFound, ResponseTooLarge)


def _exit_on_bad_input(load: Callable[[], T]) -> T:
    """Run ``load``; bad input exits 2 with one line, an unreachable site exits 1."""
    from wog_sources.errors import SourceError

    try:
        return load()
    except _input_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except SourceError as exc:  # the site is unreachable: not the input's fault
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _from_files(
    page_file: str | None, replay_file: str | None, replay_id: int | None
) -> ParsedReplay | None:
    """The replay parsed from --page and --replay, or None when no file was given."""
    from wog_sources.load import replay_from_files

    if not (page_file or replay_file):
        return None
    if not (page_file and replay_file):
        raise click.UsageError("give both --page and --replay, or only --replay-id")
    return replay_from_files(Path(page_file), Path(replay_file), replay_id)


def _from_files_or_site(
    page_file: str | None, replay_file: str | None, replay_id: int | None
) -> ParsedReplay:
    from wog_sources.load import fetch_replay

    parsed = _from_files(page_file, replay_file, replay_id)
    if parsed is not None:
        return parsed
    if replay_id is None:
        raise click.UsageError("give --page and --replay files, or --replay-id")
    return fetch_replay(replay_id, settings().source)


def _from_files_or_warehouse(
    page_file: str | None, replay_file: str | None, replay_id: int | None
) -> tuple[Replay, str]:
    """A replay from files, or from the warehouse by id, with its page URL."""
    from wog_sources.client import game_page_url
    from wog_warehouse.replays import load_replay

    parsed = _from_files(page_file, replay_file, replay_id)
    if parsed is not None:
        _report_repairs(parsed)
        replay = parsed.replay
        return replay, game_page_url(settings().source.base_url, replay.replay_id)
    if replay_id is None:
        raise click.UsageError("give --page and --replay files, or --replay-id")
    from wog_warehouse.raw import miss_reason

    warehouse = engine()
    loaded = load_replay(warehouse, replay_id)
    if loaded is None:
        missing = miss_reason(warehouse, replay_id)
        if missing:
            raise click.ClickException(f"replay {replay_id} is not on the site ({missing})")
        raise click.ClickException(
            f"replay {replay_id} is not in the warehouse; "
            f"load it with 'wog backfill --from {replay_id} --to {replay_id}'"
        )
    return loaded


@click.command("parse")
@_page
@_replay
@_ocap
@click.option(
    "--replay-id", type=REPLAY_ID, help="Replay id (fetched from the site when no files are given)."
)
@click.option("--indent", type=int, default=0, help="Pretty-print with this indent.")
def parse_cmd(
    page_file: str | None,
    replay_file: str | None,
    ocap_file: str | None,
    replay_id: int | None,
    indent: int,
) -> None:
    """Print a replay, normalized, as JSON (the contract documented in docs/maintainer.md).

    Give --page and --replay files, or only --replay-id to fetch both from the site
    (WOG_BASE_URL), or an OCAP2 recording with --ocap (the same contract plus
    vehicle_kills; player ids are the recording's entity ids). Exits 2 with one line on stderr
    when the input cannot be parsed.

    Example: wog parse --page 3413.html --replay 3413.json --indent 2

    Example: wog parse --ocap 2026_06_14__21_25_22__1_ocap.json.gz --indent 2
    """
    from wog_core.models import to_json

    if ocap_file:
        click.echo(to_json(_from_ocap(ocap_file, replay_id).contract(), indent=indent))
        return
    parsed = _exit_on_bad_input(lambda: _from_files_or_site(page_file, replay_file, replay_id))
    _report_repairs(parsed)
    click.echo(to_json(parsed.replay, indent=indent))


_warehouse_id = click.option(
    "--replay-id",
    type=REPLAY_ID,
    help="Replay id (read from the warehouse when no files are given).",
)
_positional_id = click.argument(
    "replay_id_arg", metavar="[REPLAY_ID]", type=REPLAY_ID, required=False
)


def _one_id(positional: int | None, option: int | None) -> int | None:
    """The replay id given as an argument or with --replay-id (both: they must agree)."""
    if positional is not None and option is not None and positional != option:
        raise click.UsageError(f"replay {positional} or {option}? give the id once")
    return positional if positional is not None else option


@click.command("summary")
@_positional_id
@_page
@_replay
@_ocap
@_warehouse_id
@click.option("--indent", type=int, default=0, help="Pretty-print with this indent.")
def summary_cmd(
    replay_id_arg: int | None,
    page_file: str | None,
    replay_file: str | None,
    ocap_file: str | None,
    replay_id: int | None,
    indent: int,
) -> None:
    """Print a game's summary as JSON (top killers, notable frags, survivors, vehicles).

    From the warehouse by REPLAY_ID, from --page/--replay files or from an OCAP2 recording
    (--ocap). The shape is documented in docs/maintainer.md next to `wog parse`.

    Example: wog summary 3413 --indent 2

    Example: wog summary --ocap 2026_06_14__21_25_22__1_ocap.json.gz
    """
    replay_id = _one_id(replay_id_arg, replay_id)
    from wog_report.summary import summarize, summary_contract

    if ocap_file:
        replay = _from_ocap(ocap_file, replay_id).replay
    else:
        replay, _ = _exit_on_bad_input(
            lambda: _from_files_or_warehouse(page_file, replay_file, replay_id)
        )
    contract = summary_contract(summarize(replay))
    click.echo(json.dumps(contract, ensure_ascii=False, indent=indent or None))


@click.command("preview")
@_positional_id
@_page
@_replay
@_warehouse_id
@click.option(
    "--out", "out_file", default="preview.html", show_default=True, help="HTML file to write."
)
@click.option(
    "--language",
    type=click.Choice(["ru", "en"]),
    help="Message language (default WOG_LANGUAGE or ru).",
)
def preview_cmd(
    replay_id_arg: int | None,
    page_file: str | None,
    replay_file: str | None,
    replay_id: int | None,
    out_file: str,
    language: str | None,
) -> None:
    """Write an HTML page showing the Discord message for a game, with its battle chart.

    Example: wog preview 3413 --out 3413.html --language en
    """
    replay_id = _one_id(replay_id_arg, replay_id)
    from wog_report.preview import preview_page

    replay, page_url = _exit_on_bad_input(
        lambda: _from_files_or_warehouse(page_file, replay_file, replay_id)
    )
    page = preview_page(replay, page_url, language or settings().pipeline.language)
    Path(out_file).write_text(page, encoding="utf-8")
    click.echo(f"wrote {out_file}")


COMMANDS = [parse_cmd, summary_cmd, preview_cmd]
