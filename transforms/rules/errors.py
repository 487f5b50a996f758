"""Rule problems as config errors that show the rule, the column and a caret.

Why a subclass of ConfigError: the CLI already prints every ConfigError problem and exits 2, so
a bad rule behaves exactly like any other config mistake.
"""

from __future__ import annotations

from wirewatch.transforms.errors import ConfigError, Problem


class RuleError(ConfigError):
    """One or more rules do not compile; each problem names the file, the rule and the column."""


class QueryError(ValueError):
    """A problem at query[start:end], with the fix. Turned into a RuleError Problem by `describe`."""

    def __init__(self, message: str, start: int, end: int, fix: str = ""):
        super().__init__(message)
        self.message, self.start, self.end, self.fix = message, start, max(end, start + 1), fix

    def describe(self, source: str, rule_id: str, query: str) -> Problem:
        """The RuleError problem: FILE, rules[ID].query, the column and the caret lines."""
        return self.problem(query, source, f"rules[{rule_id}].query")

    def located(self, query: str) -> str:
        """'column N: message. Fix: ...' then the query line and a caret line under the span."""
        return self.problem(query).explained()

    def problem(self, query: str, file: str = "", field: str = "") -> Problem:
        """Problem('column N: message', fix) with the query line and a caret line under the
        span as its detail."""
        line_start = query.rfind("\n", 0, self.start) + 1
        line_end = query.find("\n", self.start)
        line_end = len(query) if line_end < 0 else line_end
        line = query[line_start:line_end]
        column = self.start - line_start
        width = max(1, min(self.end, line_end + 1) - self.start)
        where = f"line {query.count(chr(10), 0, self.start) + 1}, " if "\n" in query else ""
        return Problem(
            file,
            field,
            f"{where}column {column + 1}: {self.message}",
            self.fix,
            detail=f"    {line}\n    {' ' * column}{'^' * width}",
        )
