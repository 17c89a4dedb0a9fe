"""Secrets never reach a log: every log record of the process is redacted when it is made.

:func:`install_log_redaction` replaces the logging module's record factory, so the rule holds
for every logger and handler of the process — ours, httpx's, hikari's, Dagster's — at every
level, including the text of logged exceptions. A record's message is redacted of:

- the configured secret values (Discord token, webhook token, Twitch secret, database
  passwords), wherever they appear;
- the password of any ``scheme://user:password@host`` URL;
- the value of any ``token``, ``secret``, ``password``, ``client_secret``, ``access_token``,
  ``key`` or ``signature`` query parameter, and the token part of Discord webhook URLs;
- ``Authorization`` header values (``Bot …``, ``Bearer …``).
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+(?=@)")
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;\s](?:client_secret|secret|token|access_token|refresh_token|password|key|"
    r"signature)=)[^&\s'\"]+",
    re.IGNORECASE,
)
_WEBHOOK = re.compile(r"(?P<head>/webhooks/\d+/)[A-Za-z0-9_\-.]+")
_AUTHORIZATION = re.compile(r"(?P<head>\b(?:Bot|Bearer|OAuth)\s+)[A-Za-z0-9_\-.=]{8,}")
_PATTERNS = (_URL_PASSWORD, _QUERY_SECRET, _WEBHOOK, _AUTHORIZATION)

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_installed = False


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and every secret-looking URL part masked."""
    for secret in sorted({s for s in (*secrets, *_secrets) if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("head") + MASK, text)
    return text


def install_log_redaction(secrets: Iterable[str] = ()) -> None:
    """Redact every log record made from now on in this process (idempotent).

    ``secrets`` are added to the values masked wherever they appear.
    """
    global _secrets, _installed
    with _lock:
        _secrets = tuple(sorted({*_secrets, *(s for s in secrets if s)}))
        if _installed:
            return
        _installed = True
        make_record = logging.getLogRecordFactory()

        def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(redacting_factory)


_formatter = logging.Formatter()


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is logging's own problem to report
        return
    record.msg = redact_text(message)
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact_text(_formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


class RepeatedWarning:
    """One warning for a condition that repeats (a database down, an API failing): the first
    occurrence is logged in one line, later ones only as a count every ``summary_s`` seconds,
    and the recovery once — instead of the same lines every few seconds."""

    def __init__(self, logger: logging.Logger, what: str, summary_s: float = 60.0):
        self.logger, self.what, self.summary_s = logger, what, summary_s
        self._since: float | None = None
        self._last_summary = 0.0
        self._count = 0

    def failed(self, error: object) -> None:
        import time

        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        now = time.monotonic()
        if self._since is None:
            self._since = self._last_summary = now
            self._count = 0
            self.logger.warning("%s: %s", self.what, reason)
            return
        self._count += 1
        if now - self._last_summary >= self.summary_s:
            self.logger.warning(
                "%s: still failing (%d more time(s) in %.0f s; last: %s)",
                self.what, self._count, now - self._last_summary, reason,
            )  # fmt: skip
            self._last_summary, self._count = now, 0

    def recovered(self) -> None:
        import time

        if self._since is not None:
            self.logger.warning(
                "%s: recovered after %.0f s", self.what, time.monotonic() - self._since
            )
            self._since = None


# `wog -v …`: the whole command is verbose (tracebacks, and runs executed in process log their
# events, tracebacks included, to the terminal as well as to the Dagster instance).
VERBOSE: contextvars.ContextVar[bool] = contextvars.ContextVar("wog_verbose", default=False)
