"""The pure part of each source kind, built from the settings: the WOG site (always, as
``wog``) and the OCAP2 communities of ``WOG_SOURCES_FILE``, each with its announce policy.

A kind's Dagster part (fetch step, job, sensor) is its plug-in in ``wog_assets.defs.sources``,
which calls the factory here.
"""

from __future__ import annotations

from wog_core.settings import Settings, SourceConfig
from wog_sources.base import AnnouncePolicy
from wog_sources.ocap_sources import OcapReplaySource, check_config
from wog_sources.site import WogSite


def site_policy(settings: Settings) -> AnnouncePolicy:
    pipeline = settings.pipeline
    return AnnouncePolicy(
        min_players=pipeline.min_players,
        max_age_s=pipeline.announce_max_age_s,
        targets=tuple(settings.notification_targets),
        language=pipeline.language,
    )


def source_policy(config: SourceConfig, settings: Settings) -> AnnouncePolicy:
    """A configured source's policy: its own threshold, targets and language, else the site's."""
    pipeline = settings.pipeline
    return AnnouncePolicy(
        min_players=config.min_players,
        max_age_s=pipeline.announce_max_age_s,
        targets=tuple(config.notification_targets(settings.notification_targets)),
        language=config.language or pipeline.language,
    )


def wog_site(settings: Settings) -> WogSite:
    return WogSite(settings.source, site_policy(settings))


def ocap_source(config: SourceConfig, settings: Settings) -> OcapReplaySource:
    return OcapReplaySource(check_config(config), settings.source, source_policy(config, settings))
