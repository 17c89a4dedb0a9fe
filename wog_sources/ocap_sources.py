"""Where OCAP2 recordings come from: an OCAP2 web server, or a directory an admin syncs.

An **OCAP2 web server** (github.com/OCAP2/web) lists its recordings ("operations") at
``GET /api/v1/operations`` — a JSON array of ``{"id", "world_name", "mission_name",
"mission_duration", "filename", "date", "tag", …}`` — and serves each recording at
``/data/<filename>.json.gz`` (gzip, sent with ``Content-Encoding: gzip`` when it is). The
operation id is the game's id in that source. The same polite, retrying client as for the WOG
site is used (one request per ``WOG_MIN_REQUEST_INTERVAL``, retries, a size cap).

Every source honours one cap, ``WOG_MAX_JSON_MB``: a body on the wire or a file on disk larger
than it is refused before it is read, and a gzip recording whose JSON would exceed it is refused
after inflating it chunk by chunk with the output discarded (a gzip bomb costs a megabyte).

A **directory** holds recording files (``*.json``, ``*.json.gz``, ``*.ocap.gz``, …); a file's
name is its id in that source, and the time in an OCAP file name dates the game.

Both give :class:`Operation` listings and :class:`~wog_core.models.Fetched` bodies, so the
assets store and parse them the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse
from pathlib import Path

import msgspec

from wog_core.models import Fetched
from wog_core.settings import SettingsError, SourceConfig, SourceSettings
from wog_sources.base import AnnouncePolicy
from wog_sources.client import SiteClient
from wog_sources.errors import (
    ReplayNotFound,
    ReplayParseError,
    ResponseTooLarge,
    SourceUnavailable,
)
from wog_sources.ocap import check_size, decode_recording, ended_at_from_name
from wog_sources.replay import ParsedReplay

RECORDING_SUFFIXES = (".json", ".json.gz", ".ocap.gz", ".ocap.json", ".gz", ".ocap")


class Operation(msgspec.Struct, frozen=True):
    """One recording as its source lists it."""

    id: str  # the source's own id: an operation id, or a file name
    mission_name: str = ""
    world_name: str = ""
    filename: str = ""
    date: str = ""  # YYYY-MM-DD as the server stored it, when known
    mission_duration: float = 0.0

    def ended_at(self) -> dt.datetime | None:
        """When the game ended, from the recording's file name (OCAP names files so)."""
        return ended_at_from_name(self.filename)

    def started_at(self) -> dt.datetime | None:
        """The game's start when only its date is known (midnight of that day)."""
        try:
            return dt.datetime.fromisoformat(self.date[:10]) if self.date else None
        except ValueError:
            return None


class _WireOperation(msgspec.Struct):
    id: int
    filename: str
    mission_name: str = ""
    world_name: str = ""
    date: str = ""
    mission_duration: float = 0.0


_OPERATIONS = msgspec.json.Decoder(list[_WireOperation])


class OcapWebClient(SiteClient):
    """An OCAP2 web server's operations list and data files."""

    def __init__(self, source: SourceConfig, settings: SourceSettings, **kwargs: object):
        assert source.url
        self.source = source
        super().__init__(
            dataclasses.replace(settings, base_url=source.url),
            **kwargs,  # type: ignore[arg-type]
        )

    def list_operations(self) -> list[Operation]:
        path = "/api/v1/operations"
        status, body, _ = self._get(path, replay_id=None)
        if status == 404:
            raise SourceUnavailable(
                "operations list answered 404 (not an OCAP2 web server?)",
                url=self.url_for(path),
                status=404,
            )
        try:
            wire = _OPERATIONS.decode(bytes(body))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ReplayParseError(
                f"operations list is not what OCAP2 web serves: {exc}", url=self.url_for(path)
            ) from None
        return [
            Operation(
                id=str(op.id),
                mission_name=op.mission_name,
                world_name=op.world_name,
                filename=op.filename,
                date=op.date,
                mission_duration=op.mission_duration,
            )
            for op in wire
        ]

    def recording_url(self, op: Operation) -> str:
        return self.url_for(self._data_path(op))

    def viewer_url(self, op: Operation) -> str:
        """Where players watch the recording in OCAP's web player."""
        return self.url_for(f"/?file={urllib.parse.quote(op.filename)}.json")

    @staticmethod
    def _data_path(op: Operation) -> str:
        name = op.filename
        if not name.endswith((".json", ".gz")):
            name += ".json.gz"
        return f"/data/{urllib.parse.quote(name)}"

    def fetch_recording(self, op: Operation, replay_id: int) -> Fetched:
        path = self._data_path(op)
        url = self.url_for(path)
        fetched_at = dt.datetime.now(dt.UTC)
        status, body, digest = self._get(
            path, replay_id=replay_id, cap=self.settings.max_json_bytes
        )
        if status == 404 or not body:
            raise ReplayNotFound("the recording is not on the server", replay_id=replay_id, url=url)
        check_size(body, limit=self.settings.max_json_bytes, url=url, replay_id=replay_id)
        return Fetched(replay_id, url, status, fetched_at, body, digest)


class OcapDirectory:
    """Recording files in a directory; a file's name is its id."""

    def __init__(self, source: SourceConfig, max_bytes: int):
        assert source.path is not None
        self.source = source
        self.path = source.path
        self.max_bytes = max_bytes

    def __enter__(self) -> OcapDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def list_operations(self) -> list[Operation]:
        if not self.path.is_dir():
            raise SourceUnavailable(f"{self.path} is not a directory", url=str(self.path))
        files = sorted(
            (p for p in self.path.iterdir() if p.is_file() and p.name.endswith(RECORDING_SUFFIXES)),
            key=lambda p: (p.stat().st_mtime, p.name),
        )
        return [Operation(id=p.name, filename=p.name) for p in files]

    def recording_url(self, op: Operation) -> str:
        return (self.path / op.filename).as_uri()

    def viewer_url(self, op: Operation) -> str:
        return self.recording_url(op)

    def fetch_recording(self, op: Operation, replay_id: int) -> Fetched:
        file = self.path / op.filename
        url = file.as_uri()
        try:
            size = file.stat().st_size
            if size > self.max_bytes:  # a sparse or huge file is never read
                raise ResponseTooLarge(
                    f"file of {size:,} bytes exceeds the {self.max_bytes:,}-byte cap "
                    "(WOG_MAX_JSON_MB)",
                    replay_id=replay_id,
                    url=url,
                )
            body = Path(file).read_bytes()
        except FileNotFoundError:
            raise ReplayNotFound("the file is gone", replay_id=replay_id, url=url) from None
        except OSError as exc:
            raise SourceUnavailable(
                f"cannot read it: {exc}", replay_id=replay_id, url=url
            ) from None
        check_size(body, limit=self.max_bytes, url=url, replay_id=replay_id)
        return Fetched(replay_id, url, 200, dt.datetime.now(dt.UTC), body)


OCAP_KINDS = ("ocap-web", "ocap-dir")


def check_config(config: SourceConfig) -> SourceConfig:
    """``config`` if it is a complete OCAP2 source; else :class:`SettingsError` naming its table."""
    if config.kind == "ocap-web" and config.url is None:
        raise SettingsError(f'{config.where}: an ocap-web source needs url = "https://…"')
    if config.kind == "ocap-dir" and config.path is None:
        raise SettingsError(f'{config.where}: an ocap-dir source needs path = "/dir/of/recordings"')
    return config


def open_source(source: SourceConfig, settings: SourceSettings) -> OcapWebClient | OcapDirectory:
    """The client for a configured source (a context manager either way)."""
    if source.kind == "ocap-web":
        return OcapWebClient(source, settings)
    return OcapDirectory(source, settings.max_json_bytes)


@dataclasses.dataclass(frozen=True)
class OcapReplaySource:
    """An OCAP2 community (a ``[sources.NAME]`` of ``WOG_SOURCES_FILE``) as a
    :class:`~wog_sources.base.ReplaySource`: its page is the listing entry, its body the
    recording; players are known by name."""

    config: SourceConfig
    settings: SourceSettings
    policy: AnnouncePolicy
    players_by_name: bool = True

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def location(self) -> str:
        return self.config.location

    def open(self) -> OcapWebClient | OcapDirectory:
        return open_source(self.config, self.settings)

    def decode(
        self, page: str, body: bytes, *, replay_id: int, page_url: str, body_url: str
    ) -> ParsedReplay:
        """A stored recording decoded (refused past ``WOG_MAX_JSON_MB``), dated from its stored
        listing entry."""
        try:
            op = msgspec.json.decode(page.encode(), type=Operation)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ReplayParseError(
                f"stored listing entry is unreadable: {exc}", replay_id=replay_id, url=page_url
            ) from None
        recording = decode_recording(
            body,
            replay_id=replay_id,
            ended_at=op.ended_at(),
            started_at=op.started_at(),
            url=body_url,
            limit=self.settings.max_json_bytes,
        )
        return ParsedReplay(recording.replay, list(recording.repairs))
