"""Watch rules: a Lucene-like query language, compiled once, matched through a presearch index.

Public API (pure Python, no Beam): `compile_rules(config) -> RuleSet`, `RuleSet.match(tagged)`,
`check_rules(config)`, `RuleError`. The Beam wrapper is `transforms.rules.beam.MatchRules`.

Names are imported lazily: `transforms.config` imports `transforms.rules.schema`, and the
compiler imports `transforms.config` (RuleError is a ConfigError); an eager import here would
be circular, and loading a config should not pay for the grammar.
"""

from importlib import import_module

_EXPORTS = {
    "compile_rules": "transforms.rules.ruleset",
    "RuleSet": "transforms.rules.ruleset",
    "CompiledRule": "transforms.rules.ruleset",
    "RuleError": "transforms.rules.errors",
    "QueryError": "transforms.rules.errors",
    "parse": "transforms.rules.syntax",
    "check_rules": "transforms.rules.check",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'transforms.rules' has no attribute {name!r}")
