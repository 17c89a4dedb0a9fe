"""Resources: the stats site client and the warehouse, configured from the environment."""

import dataclasses
import os

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy.engine import Engine

from wog_assets.source.client import SiteClient, SourceSettings


class StatsSiteResource(dg.ConfigurableResource):
    """The WOG stats site (``WOG_BASE_URL``), fetched politely."""

    base_url: str = "https://stats.wogames.info"
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


def default_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources configured from the environment, as the code location uses them."""
    site = StatsSiteResource(
        base_url=dg.EnvVar("WOG_BASE_URL")
        if os.environ.get("WOG_BASE_URL")
        else "https://stats.wogames.info",
        min_request_interval=float(os.environ.get("WOG_MIN_REQUEST_INTERVAL") or 1.0),
        max_retries=int(os.environ.get("WOG_MAX_RETRIES") or 4),
    )
    warehouse = WarehouseResource(
        database_url=dg.EnvVar("WOG_DATABASE_URL") if os.environ.get("WOG_DATABASE_URL") else None
    )
    return {"site": site, "warehouse": warehouse}
