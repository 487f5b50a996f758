"""`wirewatch check`: validate the config (and run the rules' examples) before anything runs."""

from __future__ import annotations

import json

from transforms.config import load_config

NAME = "check"
HELP = "validate the config; exit 0 when valid, 2 with messages naming file, field and fix"


def add_arguments(parser) -> None:
    parser.add_argument("--show", action="store_true", help="print the merged config, secrets redacted")


def run(args) -> int:
    config = load_config(args.config)
    if args.show:
        print(json.dumps(config.redacted(), indent=2, default=str))
    counts = {k: len(getattr(config, k)) for k in ("feeds", "taxonomy", "entities", "rules", "routes")}
    counts["sinks"] = len(config.sinks)
    if args.json:
        print(json.dumps({"ok": True, "config": config.source, **counts}))
    else:
        print(f"{config.source}: ok (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")")
    return 0
