"""The errors wirewatch reports to people, as data. No Beam, no heavy imports.

`WirewatchError` is the root of every error the CLI turns into lines and exit code 2, never a
traceback. It carries `Problem`s, not strings: a caller that wants the field or the fix reads
the attribute (`check --json` prints them), and `str(problem)` is the one line people read:
`FILE: field: message. Fix: ...`, the format every config fixture spells out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with where it is and how to fix it.

    file: the config file or the input (`stdin`, a path); line: a line number inside it, shown
    as `FILE:LINE` (JSON lines); field: where inside the file (`rules[quake].query`,
    `line 4, column 4`); detail: lines shown under the message (a query with a caret under
    the bad part, a failed example's clause by clause diff). Empty parts are left out.
    """

    file: str
    field: str = ""
    message: str = ""
    fix: str = ""
    line: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        head = ": ".join(part for part in (where, self.field) if part)
        return f"{head}: {self.explained()}" if head else self.explained()

    def explained(self) -> str:
        """The message, the fix and the detail lines, without the file and the field."""
        fix = f". Fix: {self.fix}" if self.fix else ""
        detail = f"\n{self.detail}" if self.detail else ""
        return f"{self.message}{fix}{detail}"

    def as_json(self) -> dict:
        """Every field, plus `text`: the line exactly as the CLI prints it."""
        return {**asdict(self), "text": str(self)}


class WirewatchError(Exception):
    """A user or environment error: the CLI prints one line per problem and exits 2."""

    label = "error"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(WirewatchError):
    """One or more config problems, each naming the file, the field and the fix."""

    label = "config error"


class InputError(WirewatchError):
    """An input (text, article, feed file, folder, stdin) that holds no article."""


def redact_url(url: str, *, secret: bool = False) -> str:
    """`url` safe to show: never its password (`user:***@host`). A secret URL (a Slack or
    webhook sink's, whose path or query is the credential) shows only its scheme and host,
    `https://hooks.slack.com/***`, and a value that is no such URL shows as `***`.

    The one function that decides what of a URL people may see: `transforms/secrets.py` uses
    it for every secret URL it takes out of text."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        password = parts.password
    except ValueError:  # "Invalid IPv6 URL" and the like: show nothing that could be a secret
        return "***"
    if secret:
        return f"{parts.scheme}://{host}/***" if parts.scheme and host else "***"
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
