"""What the definitions are built from, handed in once: the pipeline's knobs, every configured
source (its pure part, with its announce policy) and where operator alerts go.

Built by the code location from the process's settings (:mod:`wog_assets.definitions`); no
definition reads the environment or the settings behind its builder's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg

from wog_assets.defs.core.alerts import Alerts
from wog_core.settings import PipelineSettings
from wog_sources.base import ReplaySource


@dataclass(frozen=True)
class Pipeline:
    knobs: PipelineSettings = field(default_factory=PipelineSettings)
    sources: Mapping[str, ReplaySource] = field(default_factory=dict)
    alerts: Alerts = field(default_factory=Alerts)

    def source(self, name: str) -> ReplaySource:
        try:
            return self.sources[name]
        except KeyError:
            raise dg.Failure(f"source {name!r} is not in WOG_SOURCES_FILE any more") from None
