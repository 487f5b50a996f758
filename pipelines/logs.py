"""Logging hygiene. We own logging: configure it once, keep secrets out of every line, and drop
Beam's 'apitools not found' warning (`import apache_beam` logs it and may configure the root
logger).

Secrets: slack_sdk logs the webhook URL it posts to, urllib3 the URL's path, httpx the whole
request URL, all at debug level (`-v`), and an exception's text can hold any of them. Every
record, from any library, is created already redacted (`redact_logs()`, transforms/secrets.py):
its message, arguments and traceback. Beam's worker processes redact their own records as soon
as they decode the config, and what they send back to this process is redacted again here.
"""

from __future__ import annotations

import logging

from wirewatch.transforms.secrets import redact_logs

_NOISE = ("apitools not found", "No semi_persistent_directory found")


class _DropApitoolsWarning(logging.Filter):
    """Beam's import-time and per-worker warnings that say nothing to a wirewatch user."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in _NOISE)


def configure_logging(level: int = logging.WARNING) -> None:
    redact_logs()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropApitoolsWarning())


def quiet_beam_logging() -> None:
    """Import Beam, then restore our logging if the import replaced it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    import apache_beam  # noqa: F401

    if root.handlers != handlers or not handlers:
        configure_logging(level or logging.WARNING)
