"""Secrets: values that must never reach an output, a log line or a dead letter.

A Slack webhook URL, a bot token, a webhook sink's URL (its path or query is often the
credential) and an HMAC secret are loaded as `SecretValue`s (`SecretUrl` for URLs): pydantic's
SecretStr, so printing or dumping the config never shows them, which also remembers each value
in this process. `redact(text)` then takes every remembered value, and any URL password, out of
text that is about to be shown: error messages and dead-letter reasons, command output, and every
log record (`redact_logs()`: slack_sdk, urllib3 and httpx log request URLs at debug level).

Why a per-process registry: the text to clean comes from libraries that never see our config
(a urllib3 debug line carries only the URL's path). A value is remembered where it is built:
at config validation, and again when a Beam worker unpickles the config (`__reduce__`). A process
that remembers a secret also redacts its log records from then on, whoever configured logging
there: Beam's worker processes set up their own handlers, which no filter of ours reaches.
Only the commands that deliver (`run`, `redeliver`) need every secret: the others load the
config with `require_secrets=False`, and a reference to an unset variable is then an
`UnsetSecret` (a plain string: `UNSET`), shown as `<unset>`, instead of an error.
No Beam, no heavy imports.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit

from pydantic import SecretStr

from wirewatch.transforms.errors import redact_url

MASK = "***"
UNSET = "<unset>"
MIN_PIECE = 4
"""Parts of a secret URL shorter than this (a path of `/`, a query `a=1`) are not replaced in
free text: they are no credential, and replacing them would garble unrelated words."""

_lock = threading.Lock()
_replacements: dict[str, str] = {}  # a secret (or a part of a secret URL) -> what shows instead
_pattern: re.Pattern | None = None  # any of them, longest first, as a whole word (_as_word)
_logs_redacted = False
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]*):([^/\s@]+)@")


class SecretValue(SecretStr):
    """A SecretStr that `redact()` takes out of any text in this process."""

    def __init__(self, secret_value: str) -> None:
        super().__init__(secret_value)
        _remember(self._pieces())

    def __reduce__(self):
        return (type(self), (self.get_secret_value(),))  # unpickling remembers it again

    def _pieces(self) -> dict[str, str]:
        value = self.get_secret_value()
        return {value: MASK} if len(value) >= MIN_PIECE else {}


class SecretUrl(SecretValue):
    """A URL that is a credential: shown as its scheme and host only (`https://host/***`).

    Besides the whole URL, its path, query, fragment and user info are secrets on their own:
    urllib3 logs `POST /services/T0/B0/XXXX`, without the host."""

    def _display(self) -> str:
        value = self.get_secret_value()
        return redact_url(value, secret=True) if value else ""

    def _pieces(self) -> dict[str, str]:
        value = self.get_secret_value()
        if not value:
            return {}
        pieces = {value: redact_url(value, secret=True)}
        try:
            parts = urlsplit(value)
        except ValueError:
            return pieces
        path_query = parts.path + (f"?{parts.query}" if parts.query else "")
        userinfo = parts.netloc.rpartition("@")[0]
        for piece in (path_query, parts.path, parts.query, parts.fragment, userinfo):
            if len(piece) >= MIN_PIECE:
                pieces.setdefault(piece, MASK)
        return pieces


class UnsetSecret(SecretUrl):
    """A secret whose ${ENV} variable is not set, in a command that delivers nothing (`check`,
    `tag`, `state`, ...): empty, and shown as `<unset>`. It counts as given (a sink with one is
    set up, it only lacks the value here); `run` and `redeliver` never see one: they fail first."""

    def __init__(self) -> None:
        SecretStr.__init__(self, "")

    def __reduce__(self):
        return (type(self), ())

    def _display(self) -> str:
        return UNSET


def is_given(value) -> bool:
    """A sink's credential is there: a non-empty value, or a reference to an unset variable
    (`UnsetSecret`, `UNSET`) in a command that delivers nothing."""
    if isinstance(value, UnsetSecret) or value == UNSET:
        return True
    return bool(value.get_secret_value() if isinstance(value, SecretStr) else value)


def _remember(pieces: dict[str, str]) -> None:
    global _pattern
    if not pieces or all(p in _replacements for p in pieces):
        return
    with _lock:
        _replacements.update((k, v) for k, v in pieces.items() if k not in _replacements)
        longest_first = sorted(_replacements, key=len, reverse=True)
        _pattern = re.compile("|".join(_as_word(piece) for piece in longest_first))
    redact_logs()


def _as_word(piece: str) -> str:
    """`piece`, but not as part of a longer word: a webhook path `/hook` must not turn
    `https://hooks.slack.com` into `https:/***s.slack.com`, nor a secret `abcd` eat `abcdef`."""
    before = r"(?<![A-Za-z0-9])" if piece[0].isalnum() else ""
    after = r"(?![A-Za-z0-9])" if piece[-1].isalnum() else ""
    return before + re.escape(piece) + after


def redact(text: str) -> str:
    """`text` without any secret this process knows, and without any URL's password."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(lambda found: _replacements[found.group(0)], text)
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", text) if "://" in text else text


def redact_logs() -> None:
    """From now on every log record this process creates, from any logger, holds redacted text:
    its message (arguments merged in), its traceback and its stack.

    A record factory rather than a handler filter: it acts before any handler, also those that
    Beam's worker processes (or any runner's) configure, and those added later."""
    global _logs_redacted
    with _lock:
        if _logs_redacted:
            return
        _logs_redacted = True
        make_record = logging.getLogRecordFactory()

    def redacted_record(*args, **kwargs) -> logging.LogRecord:
        return _redact_record(make_record(*args, **kwargs))

    logging.setLogRecordFactory(redacted_record)


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001  bad %-arguments: logging reports them, without secrets
        message = f"{record.msg} {record.args}"
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        clean = redact(record.exc_text)
        if clean != record.exc_text:  # a formatter that formats exc_info itself must not see it
            record.exc_text, record.exc_info = clean, None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record
