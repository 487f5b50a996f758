"""`wirewatch rules test`: run the examples kept with each rule; exit 1 with a diff on failure.

Each rule may carry `examples: {match: [...], no_match: [...]}` (inline text, first line the
title, or a path relative to the config file). A failed example shows, clause by clause, what
held and what did not, and the article's tags. No Beam import.
"""

from __future__ import annotations

import json

from wirewatch.pipelines.arguments import add_common_options
from wirewatch.transforms.config import load_config

NAME = "rules"
HELP = "work with watch rules: 'rules test' runs every rule's examples (exit 1 on a failure)"


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    test = actions.add_parser(
        "test",
        help="run the examples kept with each rule",
        description="run the examples kept with each rule",
    )
    add_common_options(test)  # also after the action: `wirewatch rules test --json`
    test.add_argument("--rule", action="append", metavar="ID", help="only this rule (repeatable)")


def run(args) -> int:
    from wirewatch.pipelines.tooling.examples import run_examples
    from wirewatch.pipelines.tooling.inputs import make_tagger
    from wirewatch.pipelines.tooling.report import example_failure
    from wirewatch.transforms.rules.ruleset import compile_rules

    as_json = args.json
    config = load_config(args.config, require_secrets=False)
    ruleset = compile_rules(config)
    selected = set(args.rule) if args.rule else None
    unknown = sorted((selected or set()) - {r.id for r in ruleset.rules})
    if unknown:
        print(f"rules test: unknown rule id {', '.join(unknown)}")
        return 2
    results, problems = run_examples(config, ruleset, make_tagger(config), selected)
    failures = [r for r in results if not r.passed]
    if as_json:
        print(
            json.dumps(
                {
                    "ok": not failures and not problems,
                    "examples": len(results),
                    "failed": [_as_json(r) for r in failures],
                    "problems": [p.as_json() for p in problems],
                },
                ensure_ascii=False,
            )
        )
        return 1 if failures or problems else 0
    source = config.source
    for rule in ruleset.rules:
        if selected is not None and rule.id not in selected:
            continue
        mine = [r for r in results if r.rule_id == rule.id]
        bad = [r for r in mine if not r.passed]
        if not mine:
            print(f"  -   {rule.id}: no examples")
        elif bad:
            print(f"FAIL  {rule.id}: {len(bad)} of {len(mine)} examples failed")
            for result in bad:
                print("      " + str(example_failure(result, source)).replace("\n", "\n      "))
        else:
            print(f"ok    {rule.id}: {len(mine)} examples")
    for problem in problems:
        print(f"error {problem}")
    print(
        f"{len(results)} examples, {len(failures)} failed"
        + (f", {len(problems)} could not be read" if problems else "")
    )
    return 1 if failures or problems else 0


def _as_json(result) -> dict:
    return {
        "rule": result.rule_id,
        "expect": result.expect,
        "index": result.index,
        "origin": result.origin,
        "title": result.tagged.article.title,
        "matched": result.matched,
        "clauses": [{"clause": c.text, "held": c.held} for c in result.clauses],
    }
