"""The Dagster definitions, one folder per domain, merged by :mod:`wog_assets.definitions`:
``sources`` (one plug-in per kind: fetch step, job, sensor), ``warehouse``, ``stats``,
``notifications``; ``core`` is what they share. Nothing here imports ``wog_assets.runs``."""
