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

import json
import logging
import os
import sys
import time

from wirewatch.pipelines import interrupts
from wirewatch.transforms.secrets import redact_logs

LOG_FORMATS = ("text", "json")

_NOISE = ("apitools not found", "No semi_persistent_directory found")


class _DropApitoolsWarning(logging.Filter):
    """Beam's import-time and per-worker warnings that say nothing to a wirewatch user."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in _NOISE)


def _module_of(location: str) -> str:
    """Where a worker's record came from, as a module name: Beam sends the file and line
    ('/.../site-packages/slack_sdk/webhook/client.py:120' -> 'slack_sdk.webhook.client')."""
    path = location.rpartition(":")[0] or location
    for marker in ("site-packages/", "dist-packages/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = path.rsplit("/", 1)[-1]
    return path.removesuffix(".py").replace("/", ".")


class _WorkerRecord(logging.Filter):
    """A record a `multi_processing` worker sent back (pipelines/worker.py) arrives as Beam's
    'Worker: <LogEntry as protobuf text>' on one line; shown as the worker's own message,
    named 'worker <module>' (its logger's name does not travel)."""

    FROM = "apache_beam.runners.portability.local_job_service"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == self.FROM and record.msg == "Worker: %s" and record.args:
            try:
                from apache_beam.portability.api import beam_fn_api_pb2
                from google.protobuf import text_format

                entry = text_format.Parse(record.args[0], beam_fn_api_pb2.LogEntry())
            except Exception:  # noqa: BLE001  (not what we expect: leave it as Beam wrote it)
                return True
            module = _module_of(entry.log_location) if entry.log_location else ""
            record.name = f"worker {module}".rstrip()
            record.msg, record.args = entry.message, ()
        return True


class _UtcFormatter(logging.Formatter):
    """`2026-11-29T17:35:41.123Z INFO wirewatch: message`: a UTC timestamp on every line."""

    converter = time.gmtime

    def formatTime(self, record, datefmt=None):
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + (
            f".{int(record.msecs):03d}Z"
        )


class _JsonFormatter(_UtcFormatter):
    """One JSON object per line (time, level, logger, message, and the traceback if any), for
    journald and log shippers; the message is the already redacted text."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class _OnlyOursOnceInterrupted(logging.Filter):
    """After Ctrl-C (or the watch loop's stop signal, which worker processes got too), only
    wirewatch's own lines: Beam's tracebacks of its dying workers, threads and channels say
    nothing the one line "interrupted" does not (pipelines/interrupts.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith("wirewatch") or not interrupts.quiet()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is now (a test's capture, a replaced stream), not to
    the stream it saw when logging was configured."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


_format = "text"

WORKER_LOG_LEVEL = "WIREWATCH_WORKER_LOG_LEVEL"
"""The driver's level (`-v`: DEBUG), inherited by its `multi_processing` workers: Beam's local
engine does not pass its options to them, so they would log at INFO whatever `-v` says."""


def configure_logging(level: int = logging.WARNING, log_format: str | None = None) -> None:
    """Everything to stderr, one line per record with a timestamp; `log_format` "text" or
    "json" (None: keep the current one). wirewatch's own loggers log at INFO (the watch loop's
    one line per cycle), everything else at `level` (WARNING unless -v)."""
    global _format
    _format = log_format or _format
    redact_logs()
    handler = _StderrHandler()
    handler.setFormatter(
        _JsonFormatter()
        if _format == "json"
        else _UtcFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(_WorkerRecord())
    handler.addFilter(_DropApitoolsWarning())
    handler.addFilter(_OnlyOursOnceInterrupted())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("wirewatch").setLevel(min(level, logging.INFO))
    os.environ[WORKER_LOG_LEVEL] = logging.getLevelName(level)  # for pipelines/worker.py


def quiet_beam_logging() -> None:
    """Import Beam, then restore our logging if the import replaced it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    import apache_beam  # noqa: F401

    if root.handlers != handlers or not handlers:
        configure_logging(level or logging.WARNING)
