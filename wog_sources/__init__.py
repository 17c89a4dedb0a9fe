"""The WOG stats site: HTTP client, parsers and the normalized replay model (no Dagster)."""
