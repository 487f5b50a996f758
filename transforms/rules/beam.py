"""Beam wrapper: MatchRules(config) turns TaggedArticles into Matches.

The config travels as plain data: a JSON string of only the sections rules need (rules,
taxonomy, entities, feeds), so no secret is pickled with the graph. The RuleSet (parsed
queries, presearch index) is built in `setup()`, once per worker; a small per-process memo
keyed by that JSON lets the watch loop, which builds a new pipeline every cycle, skip
recompiling 10,000 unchanged rules (seconds) on every tick. Construction compiles once too,
so a bad rule fails when the pipeline is built, not on a worker.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import PCollection

from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.model import Match, TaggedArticle
from wirewatch.transforms.rules.ruleset import RuleSet, compile_rules

_SECTIONS = ("rules", "taxonomy", "entities", "feeds")


def rules_config_json(config) -> str:
    """The part of the config that rules depend on, as canonical JSON."""
    data = {k: [item.model_dump(mode="json") for item in getattr(config, k)] for k in _SECTIONS}
    data["source"] = config.source
    return json.dumps(data, sort_keys=True)


@lru_cache(maxsize=4)
def ruleset_for(config_json: str) -> RuleSet:
    """Compile once per process and rules config (a pure function of its argument)."""
    from wirewatch.transforms.config import Config

    return compile_rules(Config.model_validate_json(config_json))


class _MatchDoFn(beam.DoFn):
    def __init__(self, config_json: str):
        self._config_json = ref(config_json)  # travels compressed, decoded once per process
        self._rules: RuleSet | None = None
        self.articles = Metrics.counter(NS, "articles")
        self.articles_matched = Metrics.counter(NS, "articles_matched")
        self.matches = Metrics.counter(NS, "matches")

    def setup(self) -> None:
        self._rules = ruleset_for(self._config_json.value)

    def process(self, element: TaggedArticle) -> Iterable[Match]:
        self.articles.inc()
        found = self._rules.match(element)
        if found:
            self.articles_matched.inc()
            self.matches.inc(len(found))
        yield from found  # per-rule counts: the run summary, from the alert ledger


class MatchRules(beam.PTransform):
    """PCollection[TaggedArticle] -> PCollection[Match], one Match per (rule, article)."""

    def __init__(self, config, label: str | None = None):
        super().__init__(label)
        self._config_json = rules_config_json(config)
        ruleset_for(self._config_json)  # fail at construction: RuleError names rule and column

    def expand(self, articles: PCollection[TaggedArticle]) -> PCollection[Match]:
        return articles | "Match" >> beam.ParDo(_MatchDoFn(self._config_json))
