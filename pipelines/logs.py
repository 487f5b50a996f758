"""Logging hygiene. We own logging: configure it once, keep secrets out of every line, and drop
Beam's 'apitools not found' warning (`import apache_beam` logs it and may configure the root
logger).

Secrets: slack_sdk logs the webhook URL it posts to, urllib3 the URL's path, httpx the whole
request URL, all at debug level (`-v`), and an exception's text can hold any of them. Every
record that reaches our handlers, from any library, passes `redact()` (transforms/secrets.py)
first: the message, its arguments and its traceback. Records from Beam's worker processes
come back through the runner's logging service into this process's root logger, so they pass
the same filter.
"""

from __future__ import annotations

import logging

from wirewatch.transforms.secrets import redact

_NOISE = ("apitools not found", "No semi_persistent_directory found")


class _DropApitoolsWarning(logging.Filter):
    """Beam's import-time and per-worker warnings that say nothing to a wirewatch user."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in _NOISE)


class RedactSecrets(logging.Filter):
    """Replaces a record's message and traceback by their redacted text; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  bad %-arguments: logging reports them, without secrets
            message = f"{record.msg} {record.args}"
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure_logging(level: int = logging.WARNING) -> None:
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropApitoolsWarning())
        handler.addFilter(RedactSecrets())


def quiet_beam_logging() -> None:
    """Import Beam, then restore our logging if the import replaced it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    import apache_beam  # noqa: F401

    if root.handlers != handlers or not handlers:
        configure_logging(level or logging.WARNING)
