"""Every kind of source as one plug-in: its pure part (list, fetch, decode, announce policy:
:mod:`wog_sources`) and its Dagster part (:func:`SourcePlugin.build_defs`: its fetch step, job
and sensor), registered by kind in :data:`PLUGINS`.

The code location builds each configured source with its kind's plug-in and merges what it
builds; everything after the fetch step is the chain every source shares (``chain``). Adding a
kind is its two files (``wog_sources/<kind>.py``, ``wog_assets/defs/sources/<kind>.py``) and its
line below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.sources import ocap, wog
from wog_assets.defs.sources.plugin import SourcePlugin
from wog_core.settings import Settings, SettingsError, SourceConfig
from wog_sources.base import ReplaySource
from wog_sources.site import WOG

SITE_KIND = "wog-site"
"""The WOG stats site: always configured (``WOG_BASE_URL``), never in ``WOG_SOURCES_FILE``."""

PLUGINS: dict[str, SourcePlugin] = {
    SITE_KIND: wog.PLUGIN,
    "ocap-web": ocap.PLUGIN,
    "ocap-dir": ocap.PLUGIN,
}


@dataclass(frozen=True)
class ConfiguredSource:
    plugin: SourcePlugin
    source: ReplaySource

    @property
    def name(self) -> str:
        return self.source.name


def configured_sources(settings: Settings) -> dict[str, ConfiguredSource]:
    """Every source of ``settings`` by name, the WOG site first, each built by its kind's
    plug-in; raises :class:`SettingsError` naming a table of an unknown kind."""
    site = SourceConfig(WOG, SITE_KIND, url=settings.source.base_url, where="WOG_BASE_URL")
    found = {WOG: ConfiguredSource(PLUGINS[SITE_KIND], PLUGINS[SITE_KIND].make(site, settings))}
    kinds = ", ".join(sorted(k for k in PLUGINS if k != SITE_KIND))
    for config in settings.sources:
        plugin = PLUGINS.get(config.kind) if config.kind != SITE_KIND else None
        if plugin is None:
            raise SettingsError(f"{config.where}: kind must be one of {kinds}")
        found[config.name] = ConfiguredSource(plugin, plugin.make(config, settings))
    return found


def build_defs(
    sources: Mapping[str, ConfiguredSource], pipeline: Pipeline, chain: dg.AssetSelection
) -> list[dg.Definitions]:
    """Each source's fetch step, job and sensor."""
    return [c.plugin.build_defs(c.source, pipeline, chain) for c in sources.values()]


__all__ = ["PLUGINS", "ConfiguredSource", "SourcePlugin", "build_defs", "configured_sources"]
