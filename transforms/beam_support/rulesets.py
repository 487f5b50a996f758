"""The RuleSet of a config, compiled once per process and config. No Beam import.

Shared by the pre-flight check of `wirewatch run`, the construction of MatchRules (so a bad rule
fails when the pipeline is built) and every DoFn setup in the process, across the watch loop's
cycles: a rule set of 100,000 rules takes seconds to compile, once.
"""

from __future__ import annotations

from wirewatch.transforms.beam_support.cache import ref, shared
from wirewatch.transforms.rules.ruleset import RuleSet, compile_rules


def ruleset_for(config) -> RuleSet:
    """The RuleSet of `config` (a Config or its `Ref`), compiled once per process and config:
    the pre-flight check, MatchRules and every DoFn setup in this process share it, and so do
    the watch loop's cycles. Keyed by the config's fingerprint, so a reloaded config whose
    content changed compiles anew. Why this cache and not Beam's `shared.Shared`: see
    beam_support/cache.py (Shared keeps only the most recently acquired object alive, so the
    three objects a cycle acquires rebuild each other out)."""
    config_ref = ref(config)
    return shared("rules", config_ref.key, lambda: compile_rules(config_ref.value))
