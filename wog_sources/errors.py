"""Errors from the stats site and its parsers; each says which replay, which URL and what."""

from __future__ import annotations


class SourceError(Exception):
    """Base class: something about one replay (or the games list) at one URL went wrong."""

    def __init__(self, message: str, *, replay_id: int | None = None, url: str | None = None):
        self.replay_id = replay_id
        self.url = url
        self.detail = message
        where = []
        if replay_id is not None:
            where.append(f"replay {replay_id}")
        if url:
            where.append(url)
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ReplayNotFound(SourceError):
    """The site has no such game (404, or its «Ошибка / WOG Stats» page), or no JSON yet."""


class SourceUnavailable(SourceError):
    """The site could not be reached or kept failing after every retry."""

    def __init__(
        self,
        message: str,
        *,
        replay_id: int | None = None,
        url: str | None = None,
        status: int | None = None,
    ):
        self.status = status
        super().__init__(message, replay_id=replay_id, url=url)


class ResponseTooLarge(SourceError):
    """A body exceeded the configured cap and was refused before exhausting memory."""


class ReplayParseError(SourceError):
    """A game page or replay JSON did not have what the parser needs."""
