"""`check_rules(config)`: what `wirewatch check` reports about rules beyond compiling them.

Compile errors are raised (RuleError, exit 2). This returns the rest as Problems: rules or parts
of rules that can never match (with the query and a caret), and rule examples that fail (with
a clause by clause diff).
"""

from __future__ import annotations

from wirewatch.pipelines.tooling.examples import run_examples
from wirewatch.pipelines.tooling.inputs import make_tagger
from wirewatch.pipelines.tooling.never import matches_everything, never_matches
from wirewatch.pipelines.tooling.report import example_failure
from wirewatch.transforms.errors import Problem
from wirewatch.transforms.rules.ruleset import RuleSet, compile_rules


def never_matching(config, ruleset: RuleSet) -> list[Problem]:
    """Rules that can never match, and rules that match everything (only NOT parts)."""
    source = config.source or "<config>"
    problems = []
    for rule in ruleset.rules:
        found = never_matches(rule.query, config)
        broad = matches_everything(rule.query)
        found += [broad] if broad else []
        problems += [p.describe(source, rule.id, rule.config.query) for p in found]
    return problems


def failing_examples(config, ruleset: RuleSet, tag=None, rule_ids=None) -> list[Problem]:
    if not any(r.config.examples.match or r.config.examples.no_match for r in ruleset.rules):
        return []
    source = config.source or "<config>"
    results, problems = run_examples(config, ruleset, tag or make_tagger(config), rule_ids)
    return problems + [example_failure(r, source) for r in results if not r.passed]


def check_rules(config, ruleset: RuleSet | None = None, tagger=None) -> list[Problem]:
    """Never-matching rules and failing examples (RuleError if a rule does not compile).
    Pass the RuleSet and the Tagger when the caller already built them (each costs time)."""
    ruleset = ruleset if ruleset is not None else compile_rules(config)
    tag = make_tagger(config, tagger) if tagger is not None else None
    return never_matching(config, ruleset) + failing_examples(config, ruleset, tag)
