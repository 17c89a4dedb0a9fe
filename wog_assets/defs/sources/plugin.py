"""What a kind of source supplies to the code location (:data:`wog_assets.defs.sources.PLUGINS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from wog_assets.defs.core.pipeline import Pipeline
from wog_core.settings import Settings, SourceConfig
from wog_sources.base import ReplaySource


@dataclass(frozen=True)
class SourcePlugin:
    """One kind of source: how to build its pure part from its configuration, and its Dagster
    part (``build_defs(source, pipeline, chain)``: its fetch step, a job running that step
    then ``chain``, and its sensor). ``list_keys`` lists every game of a source by its own
    ids (for ``wog backfill --source``); None for a source loaded by id ranges."""

    make: Callable[[SourceConfig, Settings], ReplaySource]
    build_defs: Callable[[ReplaySource, Pipeline, dg.AssetSelection], dg.Definitions]
    list_keys: Callable[[ReplaySource], list[str]] | None = None
