"""A test-only third kind of source, ``replay-dir``, its pure part: a directory of exported
games, one normalized replay (``wog parse``'s JSON) per ``*.replay.json`` file, the file's name
its id in the source. Players keep the ids of the export, as on the WOG site.

With :mod:`tests.wog_assets.replay_dir_defs` (its Dagster part) and one line in the registry of
kinds, it goes through the same chain as the WOG site and OCAP2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import msgspec

from wog_core.models import Fetched, Replay
from wog_core.settings import Settings, SettingsError, SourceConfig
from wog_sources.base import AnnouncePolicy
from wog_sources.errors import ReplayNotFound, ReplayParseError
from wog_sources.registry import source_policy
from wog_sources.replay import ParsedReplay

KIND = "replay-dir"
SUFFIX = ".replay.json"


@dataclass(frozen=True)
class ReplayDir:
    config: SourceConfig
    policy: AnnouncePolicy
    players_by_name: bool = False

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def location(self) -> str:
        return self.config.location

    @property
    def path(self) -> Path:
        assert self.config.path is not None
        return self.config.path

    def list_keys(self) -> list[str]:
        return sorted(p.name for p in self.path.glob(f"*{SUFFIX}"))

    def url(self, key: str) -> str:
        return (self.path / key).as_uri()

    def fetch(self, key: str, replay_id: int) -> Fetched:
        file = self.path / key
        try:
            body = file.read_bytes()
        except FileNotFoundError:
            raise ReplayNotFound(
                "the file is gone", replay_id=replay_id, url=file.as_uri()
            ) from None
        return Fetched(replay_id, file.as_uri(), 200, dt.datetime.now(dt.UTC), body)

    def decode(
        self, page: str, body: bytes, *, replay_id: int, page_url: str, body_url: str
    ) -> ParsedReplay:
        try:
            replay = msgspec.json.decode(body, type=Replay)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ReplayParseError(
                f"not an exported replay: {exc}", replay_id=replay_id, url=body_url
            ) from None
        return ParsedReplay(msgspec.structs.replace(replay, replay_id=replay_id))


def make(config: SourceConfig, settings: Settings) -> ReplayDir:
    if config.path is None:
        raise SettingsError(f'{config.where}: a {KIND} source needs path = "/dir/of/exports"')
    return ReplayDir(config, source_policy(config, settings))
