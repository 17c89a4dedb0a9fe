"""The WOG stats site as a :class:`~wog_sources.base.ReplaySource`: its page is the game page's
HTML, its body the replay JSON; players have the site's ids."""

from __future__ import annotations

from dataclasses import dataclass

from wog_core.models import SITE_SOURCE
from wog_core.settings import SourceSettings
from wog_sources.base import AnnouncePolicy
from wog_sources.client import SiteClient
from wog_sources.replay import ParsedReplay, parse_replay

WOG = SITE_SOURCE


@dataclass(frozen=True)
class WogSite:
    settings: SourceSettings
    policy: AnnouncePolicy
    name: str = WOG
    kind: str = "wog-site"
    players_by_name: bool = False

    @property
    def location(self) -> str:
        return self.settings.base_url

    def open(self) -> SiteClient:
        return SiteClient(self.settings)

    def decode(
        self, page: str, body: bytes, *, replay_id: int, page_url: str, body_url: str
    ) -> ParsedReplay:
        return parse_replay(page, body, replay_id=replay_id, page_url=page_url, json_url=body_url)
