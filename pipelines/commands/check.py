"""`wirewatch check`: validate the config before anything runs: schema and cross-references,
rule syntax and ids, the gazetteer and taxonomy, routing, and every rule's examples.
"""

from __future__ import annotations

import json
import sys

from wirewatch.transforms.config import load_config

NAME = "check"
HELP = "validate the config and run the rules' examples; exit 0 when valid, 2 with messages naming file, field and fix"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--show", action="store_true", help="print the merged config, secrets redacted"
    )


def run(args) -> int:
    from wirewatch.pipelines.tooling.rule_check import check_rules
    from wirewatch.transforms.routing.checks import routing_problems
    from wirewatch.transforms.rules.ruleset import compile_rules
    from wirewatch.transforms.tagging.tagger import Tagger

    config = load_config(args.config)
    ruleset = compile_rules(config)  # raises RuleError (a ConfigError) with rule id and caret
    tagger = Tagger.from_config(config)
    problems = routing_problems(config) + check_rules(config, ruleset, tagger)
    if args.show:
        print(json.dumps(config.redacted(), indent=2, default=str))
    counts = {
        k: len(getattr(config, k)) for k in ("feeds", "taxonomy", "entities", "rules", "routes")
    }
    counts["sinks"] = len(config.sinks)
    if args.json:
        print(
            json.dumps(
                {"ok": not problems, "config": config.source, "problems": problems, **counts}
            )
        )
    else:
        for problem in problems:
            print(f"config error: {problem}", file=sys.stderr)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(
            f"{config.source}: {status} (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")"
        )
    return 2 if problems else 0
