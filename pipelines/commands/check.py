"""`wirewatch check`: validate the config before anything runs: schema and cross-references,
rule syntax and ids, the gazetteer and taxonomy, routing, and every rule's examples.

One pass finds every problem: each step runs on what the steps before could read (an entry
with a schema error is left out, a rule that does not compile is not run), and the problems
are listed by file and line, whichever step found them. Warnings (an empty config, a local
feed file that does not exist, a sink's unset ${ENV} variable) do not fail the check unless
`--strict`. Secrets are not required: an unset one shows as `<unset>` (only `run` and
`redeliver` need them).

`--json` prints one JSON document: `{"ok", "config", "problems": [...], "warnings": [...],
counts}`, each problem `{"file", "line", "field", "message", "fix", "detail", "text"}` (`text`
is the line the plain output prints), in the same order, also when the config does not load.
Exit 0 when valid, 2 with problems (or warnings, with --strict).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from wirewatch.transforms.config import Config, ConfigError
from wirewatch.transforms.config.loader import Inspection, inspect_config
from wirewatch.transforms.errors import Problem, WirewatchError

NAME = "check"
HELP = "validate the config and run the rules' examples; exit 0 when valid, 2 with messages naming file, field and fix"
SECTIONS = ("feeds", "taxonomy", "entities", "rules", "routes")
BUILTIN_SECTIONS = {"taxonomy": "topics", "entities": "entities"}


FLAGS = {
    "--show": "print the merged config, secrets redacted and the built-in lists counted",
    "--full": "with --show: print the built-in lists entry by entry",
    "--strict": "fail (exit 2) on warnings too",
}


def add_arguments(parser) -> None:
    for flag, text in FLAGS.items():
        parser.add_argument(flag, action="store_true", help=text)


@dataclass
class Report:
    """What `check` found: the config (None: the main file has nothing usable), every problem
    and every warning, each list by file and line."""

    inspection: Inspection
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def config(self) -> Config | None:
        return self.inspection.config

    @property
    def loaded(self) -> bool:
        """The config itself loads: its problems (if any) are about rules, routes, examples."""
        return self.config is not None and not self.inspection.problems


def examine(path: str, *, require_secrets: bool = True) -> Report:
    """Every problem and warning of the config at `path`, in one pass."""
    found = inspect_config(path, require_secrets=require_secrets)
    problems = list(found.problems)
    if found.config is not None:
        problems += _beyond_loading(found)
    return Report(found, found.ordered(problems), found.ordered(found.warnings))


def validate(path: str) -> tuple[Config, list[Problem]]:
    """What `check` checks, and what `run` checks before a SIGHUP reload takes effect (with
    secrets required: the reloaded config delivers): ConfigError when the config does not
    load, else the config and the problems of its rules, routes and examples (none: valid)."""
    report = examine(path)
    if not report.loaded:
        raise ConfigError(report.problems)
    return report.config, report.problems


def _beyond_loading(found: Inspection) -> list[Problem]:
    """Rule syntax, routing and the rules' examples, on what loaded: every rule compiled on its
    own; routing judged only when no rule, route or sink was left out (it is about all of
    them); a rule's "unknown topic/entity" not said when that entry was left out itself."""
    from wirewatch.pipelines.tooling.rule_check import check_rules
    from wirewatch.transforms.routing.checks import routing_problems
    from wirewatch.transforms.rules.bind import Vocabulary
    from wirewatch.transforms.rules.ruleset import RuleSet, compile_rule
    from wirewatch.transforms.tagging.tagger import Tagger

    config, dropped = found.config, found.dropped
    vocab = Vocabulary.from_config(config)
    left_out = [f"'{i}'" for s in ("taxonomy", "entities") for i in dropped.get(s, ())]
    problems: list[Problem] = []
    compiled = []
    for rule in config.rules:
        own: list[Problem] = []
        done = compile_rule(rule, vocab, config.source or "<config>", own)
        problems += [p for p in own if not any(name in p.message for name in left_out)]
        compiled += [done] if done is not None else []
    if not any(section in dropped for section in ("rules", "routes", "sinks")):
        problems += routing_problems(config)
    ruleset = RuleSet(compiled, vocab)
    return problems + check_rules(config, ruleset, Tagger.from_config(config))


def run(args) -> int:
    try:
        report = examine(args.config, require_secrets=False)
    except WirewatchError as exc:  # the tagger cannot be built (NER model missing)
        if not args.json:
            raise  # the CLI prints one line per problem and exits 2
        print(
            json.dumps(
                {
                    "ok": False,
                    "config": args.config,
                    "problems": [p.as_json() for p in exc.problems],
                    "warnings": [],
                }
            )
        )
        return 2
    failed = bool(report.problems) or (args.strict and bool(report.warnings))
    config = report.config
    if args.json:
        print(json.dumps(_as_json(args.config, report, failed)))
        return 2 if failed else 0
    for problem in report.problems:
        print(f"config error: {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"config warning: {warning}", file=sys.stderr)
    if not report.loaded:
        return 2
    if args.show:
        print(json.dumps(shown(config, report.inspection, args.full), indent=2, default=str))
    status = (
        [f"{len(report.problems)} problem(s)"]
        if report.problems
        else ["not ok (--strict: warnings fail)"]
        if failed
        else ["ok"]
    )
    status += [f"{len(report.warnings)} warning(s)"] if report.warnings else []
    print(f"{config.source}: {', '.join(status)} ({_counts_text(config)})")
    return 2 if failed else 0


def shown(config: Config, found: Inspection, full: bool = False) -> dict:
    """The merged config, secrets redacted; the built-in taxonomy and gazetteer as counts
    (tens of thousands of entries) unless `full`, the config's own entries listed."""
    dump = config.redacted()
    if full:
        return dump
    for section, noun in BUILTIN_SECTIONS.items():
        counts = found.builtin.get(section, {})
        builtin = sum(counts.values())
        if not builtin:
            continue
        files = ", ".join(f"{name} {n:,}" for name, n in counts.items())
        own = dump[section][builtin:]
        summary = (
            f"{len(dump[section]):,} {noun}: {builtin:,} from the built-in lists ({files}), "
            f"{len(own):,} of your own; `check --show --full` lists them all"
        )
        dump[section] = [summary, *own]
    return dump


def _counts(config: Config) -> dict[str, int]:
    counts = {k: len(getattr(config, k)) for k in SECTIONS}
    counts["sinks"] = len(config.sinks)
    return counts


def _counts_text(config: Config) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in _counts(config).items())


def _with_line(problem: Problem, report: Report) -> dict:
    """The problem's JSON with the line of the field it names, where the YAML says (the text
    line leaves it out: `file: field: message` is what people and the fixtures read)."""
    line = report.inspection.positions.placed.get(problem)
    return {**problem.as_json(), **({"line": line} if line else {})}


def _as_json(path: str, report: Report, failed: bool) -> dict:
    return {
        "ok": not failed,
        "config": str(report.config.source if report.config else path),
        "problems": [_with_line(p, report) for p in report.problems],
        "warnings": [_with_line(p, report) for p in report.warnings],
        **(_counts(report.config) if report.loaded else {}),
    }
