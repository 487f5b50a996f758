"""The `wirewatch` command line: one module per command in pipelines/commands/.

Commands are discovered, not listed, so each lives in its own small module exposing NAME, HELP,
`add_arguments(parser)` and `run(args) -> int` (optional: ACCEPTS_BEAM_ARGS, and NEEDS_CONFIG =
False for a command that reads no config). Only `run` imports Beam: `check`, `parse`, `tag` and
`try-rule` stay fast (importing Beam costs about a second).

Parsing is strict (pipelines/arguments.py): wirewatch's own options anywhere, "did you mean" for
typos; `run` also takes the options Beam knows, and anything after `--` unchecked.
Exit codes: 0 success, 1 partial failure (something dead-lettered), 2 usage, config or store
error: every `WirewatchError` is caught here and printed as one line per `Problem`. A reader
that stops early (`wirewatch tag ... | head`) is not an error: exit 0, no traceback.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import logging
import os
import pkgutil
import sys
import threading

from wirewatch.pipelines import commands
from wirewatch.pipelines.arguments import (
    StrictParser,
    UsageError,
    add_common_options,
    option_strings,
    unknown_argument,
    usage_error,
)
from wirewatch.transforms.errors import WirewatchError


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("wirewatch")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict]:
    """The parser and the command modules by NAME; with `only` (a module name), that command
    alone: importing every command costs what they import (HTTP clients, feedparser, the
    state tools), which one command does not need."""
    parser = StrictParser(
        prog="wirewatch",
        description="News wire alerting: feeds in, tagged and rule-matched alerts out.",
    )
    parser.add_argument("--version", action="version", version=f"wirewatch {version()}")
    add_common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if only is not None and info.name != only:
            continue
        module = importlib.import_module(f"wirewatch.pipelines.commands.{info.name}")
        if not hasattr(module, "NAME"):
            continue
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        add_common_options(cmd)
        module.add_arguments(cmd)
        modules[module.NAME] = module
    return parser, modules


def parse(argv: list[str]):
    """The command's module and the namespace it runs with (`beam_args`: what goes to Beam).
    Raises UsageError. Parsed first with only the named command's parser; any usage error is
    worded by the whole parser (every command listed, "did you mean"), as is top-level help."""
    named = named_command(argv)
    if named is not None:
        try:
            return _parse(argv, named)
        except UsageError:
            pass
    return _parse(argv, None)


def named_command(argv: list[str]) -> str | None:
    """The module of the command `argv` names, if a command's name comes before any help
    option or `--`; else None."""
    names = {m.name.replace("_", "-"): m.name for m in pkgutil.iter_modules(commands.__path__)}
    for word in argv:
        if word in ("-h", "--help", "--"):
            return None
        if word in names:
            return names[word]
    return None


def _parse(argv: list[str], only: str | None):
    parser, modules = build_parser(only)
    args, extra = parser.parse_known_args(argv)
    if args.command not in modules:  # argparse refuses it first; the whole parser words it
        raise usage_error("wirewatch", f"unknown command {args.command!r}")
    module = modules[args.command]
    command = sub_parser(parser, args.command)
    accepts_beam = getattr(module, "ACCEPTS_BEAM_ARGS", False)
    passed = []
    if accepts_beam and "--" in extra:  # after it: Beam's, unchecked
        cut = extra.index("--")
        extra, passed = extra[:cut], extra[cut + 1 :]
    args.beam_args = []
    if accepts_beam and (extra or passed):
        from wirewatch.pipelines.options import check_beam_args

        args.beam_args = check_beam_args(command.prog, extra, option_strings(command), passed)
    elif extra:
        raise unknown_argument(command.prog, extra, option_strings(command))
    return module, args


def sub_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices[name]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if named_command(argv) == "run":  # its worker zygote imports while this one does
        from wirewatch.pipelines import zygote

        zygote.start_early(argv)
    # imported after the zygote started: the config models and logging's secret scrubbing
    # take 0.4 s, which the zygote, the first thing workers wait for, need not wait out
    from wirewatch.pipelines import interrupts
    from wirewatch.pipelines.logs import configure_logging
    from wirewatch.transforms.config import find_config

    configure_logging()  # before parsing: checking Beam options imports Beam, which logs
    interrupts.install()
    try:
        module, args = parse(argv)
        if args.verbose:
            configure_logging(logging.DEBUG)
        if getattr(module, "NEEDS_CONFIG", True):
            found = find_config(args.config)
            if not found.explicit:
                print(f"wirewatch: config {found.path} ({found.how})", file=sys.stderr)
            args.config = found.path
        code = module.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except WirewatchError as exc:  # user or environment error: its problems, never a traceback
        for problem in exc.problems:
            print(f"{exc.label}: {problem}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `wirewatch ... | head`: the reader has what it wanted
        _discard_stdout()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        if not interrupts.interrupted():
            raise
        print("interrupted", file=sys.stderr)  # Beam re-raised the Ctrl-C as its own error
        return 130


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
        pass


def command() -> None:
    """The `wirewatch` command: `main`, then an exit without the interpreter's teardown.

    Why: after a cycle the heap holds Beam, the tagger, the rules and what the runner kept;
    freeing it object by object (a last full collection, then every module) took 1.1 s of a
    cold 10,000-article `run --once` (bench/scale.py --cold), in every mode, and frees nothing
    the system would not. What an exit must do still happens, in the interpreter's order:
    threads that are not daemons finish (a thread pool left open is told to end first, or
    its idle workers would wait forever), the atexit handlers run (the worker zygote's stop,
    logging's flush), and stdout and stderr are flushed. Stores are closed by then: every
    command closes what it opens."""
    code = main()
    threading._shutdown()  # as at a normal exit: its exit hooks (idle pools), then the joins
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, a closed stream: nothing left to say
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    command()
