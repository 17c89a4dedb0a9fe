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
