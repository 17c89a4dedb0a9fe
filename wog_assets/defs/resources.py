"""Resources: the stats site client, the warehouse and the pipeline's settings.

Assets, checks and sensors get what they need of the settings from here — the sources with
their announce policies, the statistics threshold, the alert targets — so the environment is
read once, at the edge (:func:`wog_core.settings.current`), and a test can hand in its own.
"""

import dataclasses

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy.engine import Engine

from wog_core import settings as wog_settings
from wog_core.settings import DEFAULT_BASE_URL, Settings, SourceSettings
from wog_sources.base import ReplaySource
from wog_sources.client import SiteClient
from wog_sources.registry import replay_sources


class StatsSiteResource(dg.ConfigurableResource):
    """The WOG stats site (``WOG_BASE_URL``), fetched politely."""

    base_url: str = DEFAULT_BASE_URL
    min_request_interval: float = 1.0
    max_retries: int = 4

    def client(self, **overrides: object) -> SiteClient:
        settings = SourceSettings.from_env(
            base_url=self.base_url,
            min_interval=self.min_request_interval,
            max_retries=self.max_retries,
        )
        return SiteClient(dataclasses.replace(settings, **overrides))


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse: ``database_url``, or the embedded Postgres when unset."""

    database_url: str | None = None
    _engine: Engine | None = PrivateAttr(default=None)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from dbschema.connection import create_engine

            self._engine = create_engine(self.database_url or None)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class PipelineResource(dg.ConfigurableResource):
    """The pipeline's settings: every source (``WOG_SOURCES_FILE``) with its announce policy,
    the statistics threshold and the operators' alert targets."""

    _settings: Settings | None = PrivateAttr(default=None)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = wog_settings.current()
        return self._settings

    def sources(self) -> dict[str, ReplaySource]:
        return replay_sources(self.settings)

    def source(self, name: str) -> ReplaySource:
        try:
            return self.sources()[name]
        except KeyError:
            raise dg.Failure(f"source {name!r} is not in WOG_SOURCES_FILE any more") from None


def default_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources as the code location uses them.

    Values that come from the environment are passed as ``dg.EnvVar``, so the UI names the
    variable instead of showing the value (the database URL may hold a password).
    """

    def env_or(name: str, value: object) -> object:
        return dg.EnvVar(name) if name in settings.variables_set else value

    site = StatsSiteResource(
        base_url=env_or("WOG_BASE_URL", settings.source.base_url),  # type: ignore[arg-type]
        min_request_interval=settings.source.min_interval,
        max_retries=settings.source.max_retries,
    )
    warehouse = WarehouseResource(
        database_url=env_or("WOG_DATABASE_URL", None)  # type: ignore[arg-type]
    )
    pipeline = PipelineResource()
    return {"site": site, "warehouse": warehouse, "pipeline": pipeline}
