"""Resources: the stats site client and the warehouse, with explicit fields.

What the definitions know of the settings they are given when built (sources, policies,
thresholds, alert targets: :class:`~wog_assets.defs.core.pipeline.Pipeline`); the resources
carry only how to reach the site and the warehouse. Values the environment set are handed in
as ``dg.EnvVar`` (:func:`default_resources`), so the UI names the variable, not its value.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy.engine import Engine

from wog_core.settings import DEFAULT_BASE_URL, DEFAULT_DATA_DIR, Settings, SourceSettings
from wog_sources.client import SiteClient

_DEFAULTS = SourceSettings()


class StatsSiteResource(dg.ConfigurableResource):
    """The WOG stats site (``WOG_BASE_URL``), fetched politely."""

    base_url: str = DEFAULT_BASE_URL
    min_request_interval: float = _DEFAULTS.min_interval
    max_retries: int = _DEFAULTS.max_retries
    connect_timeout: float = _DEFAULTS.connect_timeout
    read_timeout: float = _DEFAULTS.read_timeout
    backoff_base: float = _DEFAULTS.backoff_base
    backoff_cap: float = _DEFAULTS.backoff_cap
    max_json_bytes: int = _DEFAULTS.max_json_bytes

    @property
    def settings(self) -> SourceSettings:
        return SourceSettings(
            base_url=self.base_url,
            min_interval=self.min_request_interval,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_retries=self.max_retries,
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            max_json_bytes=self.max_json_bytes,
        )

    def client(self, *, max_retries: int | None = None) -> SiteClient:
        settings = self.settings
        if max_retries is not None:
            settings = dataclasses.replace(settings, max_retries=max_retries)
        return SiteClient(settings)


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse: ``database_url``, or the embedded Postgres of ``data_dir``."""

    database_url: str | None = None
    data_dir: str = DEFAULT_DATA_DIR
    _engine: Engine | None = PrivateAttr(default=None)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from dbschema.connection import create_engine, database_url

            self._engine = create_engine(database_url(self.database_url, Path(self.data_dir)))
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def default_resources(settings: Settings) -> dict[str, Any]:
    """Resources as the code location uses them, from ``settings``.

    Values that come from the environment are passed as ``dg.EnvVar``, so the UI names the
    variable instead of showing the value (the database URL may hold a password).
    """

    def env_or(name: str, value: Any) -> Any:
        return dg.EnvVar(name) if name in settings.variables_set else value

    source = settings.source
    site = StatsSiteResource(
        base_url=env_or("WOG_BASE_URL", source.base_url),
        min_request_interval=source.min_interval,
        max_retries=source.max_retries,
        connect_timeout=source.connect_timeout,
        read_timeout=source.read_timeout,
        backoff_base=source.backoff_base,
        backoff_cap=source.backoff_cap,
        max_json_bytes=source.max_json_bytes,
    )
    warehouse = WarehouseResource(
        database_url=env_or("WOG_DATABASE_URL", settings.database_url),
        data_dir=str(settings.data_dir),
    )
    return {"site": site, "warehouse": warehouse}
