"""`wirewatch run`: one cycle (--once) or the continuous watch loop."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from wirewatch.pipelines.arguments import at_least, usage_error
from wirewatch.pipelines.logs import LOG_FORMATS, configure_logging
from wirewatch.pipelines.state import add_state_arguments, owning, resolve_state
from wirewatch.transforms.config import Config, ConfigError, load_config

if TYPE_CHECKING:  # imported where used: `run --once` needs neither the watch loop nor HTTP
    from wirewatch.pipelines.service import Service

NAME = "run"
HELP = "run the pipeline: one cycle with --once, else watch continuously"
ACCEPTS_BEAM_ARGS = True
LOCAL_RUNNER_HELP = (
    "Beam options pass through when Beam knows them (e.g. --runner FlinkRunner, "
    "--direct_num_workers 2 --direct_running_mode multi_processing); an option neither "
    "wirewatch nor Beam knows is an error (exit 2), and anything after -- goes to Beam "
    "unchecked. Without --runner, and with --runner DirectRunner, wirewatch uses Beam's "
    "in-process engine (FnApiRunner) and never downloads Prism."
)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--once", action="store_true", help="run one cycle over every feed, then exit"
    )
    add_state_arguments(parser)
    parser.add_argument(
        "--interval",
        type=at_least(0.1, float),
        help="watch: poll every feed every N seconds (overrides each feed's interval)",
    )
    parser.add_argument("--cycles", type=at_least(1), help="watch: stop after N cycles")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="log lines on stderr as text or one JSON object each; both carry a UTC timestamp",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="watch: serve /metrics (Prometheus), /healthz and /readyz on HOST:PORT "
        "(port 0: any free port, printed at start)",
    )
    parser.epilog = LOCAL_RUNNER_HELP


def run(args) -> int:
    from wirewatch.pipelines import zygote

    zygote.start_early(args.beam_args)  # if the command line's first look missed it (cli.py)
    configure_logging(logging.getLogger().level or logging.WARNING, args.log_format)
    config = load_config(args.config)
    if args.json:
        config = alerts_to_stderr(config)
    # the workers' tagger and rules, built in the zygote while this process looks at the
    # feeds and compiles the same for its own check
    zygote.warm(config)
    location = resolve_state(config, args.state, args.state_dir)
    if not args.once:
        from wirewatch.pipelines.once import preflight
        from wirewatch.pipelines.watch import watch

        preflight(config)
        service = listening(
            args.listen, args.interval or min((f.interval for f in config.feeds), default=300)
        )
        try:
            return watch(
                config,
                location,
                args.beam_args,
                interval=args.interval,
                cycles=args.cycles,
                json_lines=args.json,
                service=service,
                reload=lambda: reload_config(args),
            )
        finally:
            if service is not None:
                service.close()
    if args.listen:
        raise usage_error("wirewatch run", "--listen serves the watch loop", "leave out --once")
    from wirewatch.pipelines.once import run_once  # imports Beam only if a cycle must run

    started_at = datetime.now(timezone.utc)
    with owning(location):
        summary = run_once(config, location, args.beam_args)
    if args.json:
        print(json.dumps(summary.model_dump()))
    else:
        print(summary.render(), file=sys.stderr)
        print_dead_letters(location, started_at, config)
    return 1 if summary.get("dead_letters") else 0


def reload_config(args) -> Config:
    """SIGHUP: the config file again, if `wirewatch check` passes it (else ConfigError: the
    watch loop keeps the config it runs and logs why)."""
    from wirewatch.pipelines.commands.check import validate

    config, problems = validate(args.config)
    if problems:
        raise ConfigError(problems)
    return alerts_to_stderr(config) if args.json else config


def alerts_to_stderr(config: Config) -> Config:
    """With --json, stdout carries only JSON: console sinks print their alerts to stderr."""
    sinks = {
        name: sink.model_copy(update={"stream": "stderr"}) if sink.type == "console" else sink
        for name, sink in config.sinks.items()
    }
    return config.model_copy(update={"sinks": sinks})


def listening(listen: str | None, interval: float) -> Service | None:
    """The started HTTP service, or None without --listen; bound before the first cycle, so
    a bad address or a port in use fails at once (exit 2)."""
    if not listen:
        return None
    from wirewatch.pipelines.service import Service

    service = Service(listen, interval)
    service.start()
    return service


def print_dead_letters(location: str, since: datetime, config: Config) -> None:
    from wirewatch.transforms.state import open_store

    with open_store(location) as store:
        letters = [d for d in store.dead_letters(limit=200) if d.at >= since]
    for letter in reversed(letters):
        print(f"    - {letter.stage} {letter.source}: {letter.reason}", file=sys.stderr)
    if letters:  # only a cycle writes them, so Beam is imported already
        from wirewatch.pipelines.cycle import dead_letter_path

        print(f"  dead letters written to {dead_letter_path(config, location)}", file=sys.stderr)
