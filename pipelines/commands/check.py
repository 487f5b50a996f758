"""`wirewatch check`: validate the config before anything runs: schema and cross-references,
rule syntax and ids, the gazetteer and taxonomy, routing, and every rule's examples.

`--json` prints one JSON document: `{"ok", "config", "problems": [...], counts}`, each problem
`{"file", "line", "field", "message", "fix", "detail", "text"}` (`text` is the line the plain
output prints), also when the config does not load. Exit 0 when valid, 2 with problems.
"""

from __future__ import annotations

import json
import sys

from wirewatch.transforms.config import Config, load_config
from wirewatch.transforms.errors import Problem, WirewatchError

NAME = "check"
HELP = "validate the config and run the rules' examples; exit 0 when valid, 2 with messages naming file, field and fix"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--show", action="store_true", help="print the merged config, secrets redacted"
    )


def run(args) -> int:
    try:
        return _run(args)
    except WirewatchError as exc:
        if not args.json:
            raise  # the CLI prints one line per problem and exits 2
        print(json.dumps(_report(args.config, exc.problems)))
        return 2


def validate(path: str) -> tuple[Config, list[Problem]]:
    """What `check` checks, and what `run` checks before a SIGHUP reload takes effect: the
    config loads and its rules compile (else ConfigError), and the problems routing and the
    rules' examples report (the config is valid when there are none)."""
    from wirewatch.pipelines.tooling.rule_check import check_rules
    from wirewatch.transforms.routing.checks import routing_problems
    from wirewatch.transforms.rules.ruleset import compile_rules
    from wirewatch.transforms.tagging.tagger import Tagger

    config = load_config(path)
    ruleset = compile_rules(config)  # raises RuleError (a ConfigError) with rule id and caret
    tagger = Tagger.from_config(config)
    return config, routing_problems(config) + check_rules(config, ruleset, tagger)


def _run(args) -> int:
    config, problems = validate(args.config)
    if args.show:
        print(json.dumps(config.redacted(), indent=2, default=str))
    counts = {
        k: len(getattr(config, k)) for k in ("feeds", "taxonomy", "entities", "rules", "routes")
    }
    counts["sinks"] = len(config.sinks)
    if args.json:
        print(json.dumps(_report(config.source, problems, counts)))
    else:
        for problem in problems:
            print(f"config error: {problem}", file=sys.stderr)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(
            f"{config.source}: {status} (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")"
        )
    return 2 if problems else 0


def _report(source: str, problems: list[Problem], counts: dict | None = None) -> dict:
    return {
        "ok": not problems,
        "config": str(source),
        "problems": [p.as_json() for p in problems],
        **(counts or {}),
    }
