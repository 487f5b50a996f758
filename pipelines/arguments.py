"""The command line's grammar: wirewatch's own options, parsed strictly, in any position.

Every parser is a `StrictParser`: a mistake is one line (`usage error: ...`, exit 2) with "did
you mean" for a mistyped option or command, never argparse's usage dump and never a traceback.
Abbreviations are off: `--onc` is not `--once`, and a prefix that is unambiguous today could
silently change meaning when an option is added.

The options every command takes (`--config`, `--json`, `-v`) are accepted before and after the
command name. The command's copy has no default (argparse.SUPPRESS), so `wirewatch --config X
check` is not undone by the command's parser, which would otherwise write its default over X.
"""

from __future__ import annotations

import argparse
import difflib
import re

from wirewatch.transforms.errors import Problem, WirewatchError

LOCAL_RUNNERS = ("direct", "directrunner")
"""--runner values that mean Beam's in-process engine here (pipelines/options.py)."""


class UsageError(WirewatchError):
    """A command line wirewatch cannot run: one line naming the part and the fix, exit 2."""

    label = "usage error"


def usage_error(prog: str, message: str, fix: str = "") -> UsageError:
    return UsageError([Problem(prog, message=message, fix=fix or f"see '{prog} --help'")])


def at_least(least: float, kind: type = int):
    """An argparse `type`: a number of `kind` no smaller than `least`. Why: `state
    --prune-days -1` forgot every seen article, `run --interval -5` polled every second."""

    def number(text: str):
        value = kind(text)  # a ValueError: argparse's "invalid int value: 'x'"
        if not value >= least:  # nan too
            raise argparse.ArgumentTypeError(f"{text} is too small: at least {least}")
        return value

    number.__name__ = kind.__name__  # the type argparse names in that message
    return number


def suggest(word: str, choices) -> str:
    """' (did you mean 'X'?)' for the closest of `choices`, or ''."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


_INVALID_CHOICE = re.compile(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)$")


class StrictParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are UsageErrors (one line) and that takes no abbreviations."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        choice = _INVALID_CHOICE.match(message)
        if choice:
            what, word, listed = choice.groups()
            choices = [c.strip(" '\"") for c in listed.split(",")]
            kind = what.lower() if what.lower() in ("command", "action") else f"value for {what}"
            message = f"unknown {kind} '{word}'{suggest(word, choices)}"
        raise usage_error(self.prog, message)


def add_common_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--config, --json and -v; on the top-level parser with their defaults, elsewhere without."""
    default = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default(None),
        help="config file (default: $WIREWATCH_CONFIG, ./wirewatch.yaml, "
        "./configs/wirewatch.yaml, the user config folder, else the built-in sample config)",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="machine-readable output"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="debug logging"
    )


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option a parser (and its sub-commands) takes, for "did you mean"."""
    found: list[str] = []
    for action in parser._actions:
        found += [s for s in action.option_strings if s.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += option_strings(sub)
    return found


def unknown_argument(prog: str, extra: list[str], *known: list[str]) -> UsageError:
    """The error for arguments no parser took: the first option among them, or the first word.
    The suggestion comes from the first group of `known` options with a close match (ours
    before Beam's: `--onse` is `--once`, not Beam's `--zone`)."""
    options = [arg for arg in extra if arg.startswith("-") and arg != "-"]
    if not options:
        return usage_error(prog, f"unexpected argument '{extra[0]}'")
    name = options[0].split("=", 1)[0]
    hint = next(filter(None, (suggest(name, group) for group in known)), "")
    return usage_error(prog, f"unknown option '{name}'{hint}")
