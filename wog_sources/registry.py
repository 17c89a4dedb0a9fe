"""The configured sources, by name: the WOG site (always, as ``wog``) and each OCAP2 community
of ``WOG_SOURCES_FILE``, each with its announce policy."""

from __future__ import annotations

from wog_core.settings import OcapSource, Settings
from wog_sources.base import AnnouncePolicy, ReplaySource
from wog_sources.ocap_sources import OcapReplaySource
from wog_sources.site import WOG, WogSite


def site_policy(settings: Settings) -> AnnouncePolicy:
    pipeline = settings.pipeline
    return AnnouncePolicy(
        min_players=pipeline.min_players,
        max_age_s=pipeline.announce_max_age_s,
        targets=tuple(settings.notification_targets),
        language=pipeline.language,
    )


def ocap_source(config: OcapSource, settings: Settings) -> OcapReplaySource:
    pipeline = settings.pipeline
    policy = AnnouncePolicy(
        min_players=config.min_players,
        max_age_s=pipeline.announce_max_age_s,
        targets=tuple(config.notification_targets(settings.notification_targets)),
        language=config.language or pipeline.language,
    )
    return OcapReplaySource(config, settings.source, policy)


def replay_sources(settings: Settings) -> dict[str, ReplaySource]:
    """Every source of ``settings``, the WOG site first."""
    sources: dict[str, ReplaySource] = {WOG: WogSite(settings.source, site_policy(settings))}
    for config in settings.sources:
        sources[config.name] = ocap_source(config, settings)
    return sources
