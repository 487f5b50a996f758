"""The `wirewatch` command line: one module per command in pipelines/commands/.

Commands are discovered, not listed, so each lives in its own small module exposing NAME, HELP,
`add_arguments(parser)` and `run(args) -> int`. Only `run` imports Beam: `check`, `parse`, `tag`
and `try-rule` stay fast (importing Beam costs about a second).
Exit codes: 0 success, 1 partial failure (something dead-lettered), 2 usage or config error:
every `WirewatchError` is caught here and printed as one line per `Problem`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from wirewatch.pipelines import commands
from wirewatch.pipelines.logs import configure_logging
from wirewatch.transforms.config import find_config
from wirewatch.transforms.errors import WirewatchError


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="wirewatch",
        description="News wire alerting: feeds in, tagged and rule-matched alerts out.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"wirewatch.pipelines.commands.{info.name}")
        if not hasattr(module, "NAME"):
            continue
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        cmd.add_argument("--config", help="config file (default: found, see README)")
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
        module.add_arguments(cmd)
        modules[module.NAME] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args, extra = parser.parse_known_args(argv)
    args.beam_args = extra
    if extra and not getattr(modules[args.command], "ACCEPTS_BEAM_ARGS", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING)
    found = find_config(args.config)
    args.config = found.path
    try:
        return modules[args.command].run(args)
    except WirewatchError as exc:  # user or environment error: its problems, never a traceback
        for problem in exc.problems:
            print(f"{exc.label}: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
