"""Every source of games, pure (no Dagster, no warehouse): the :class:`~wog_sources.base.ReplaySource`
interface, the WOG stats site (client, parsers, :mod:`~wog_sources.site`) and OCAP2
communities (:mod:`~wog_sources.ocap`, :mod:`~wog_sources.ocap_sources`)."""
