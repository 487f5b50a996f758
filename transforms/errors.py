"""The errors wirewatch reports to people, as data. No Beam, no heavy imports.

`WirewatchError` is the root of every error the CLI turns into a one-line message and an exit
code, never a traceback.
"""

from __future__ import annotations


class WirewatchError(Exception):
    """A user or environment error: the CLI prints its lines and exits 2."""


class ConfigError(WirewatchError):
    """One or more config problems, each a line naming the file, the field and the fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))
