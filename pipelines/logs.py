"""Logging hygiene: `import apache_beam` logs an 'apitools not found' warning and may configure
the root logger. We own logging: configure it once, and drop that one warning.
"""

from __future__ import annotations

import logging

_NOISE = ("apitools not found", "No semi_persistent_directory found")


class _DropApitoolsWarning(logging.Filter):
    """Beam's import-time and per-worker warnings that say nothing to a wirewatch user."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in _NOISE)


def configure_logging(level: int = logging.WARNING) -> None:
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
