"""Beam wrapper: MatchRules(config) turns TaggedArticles into Matches.

The config travels as a `Ref` (beam_support/cache.py): the same encoded Config the other
stages' DoFns carry, so a cycle encodes it once, and a worker process decodes it once. The
RuleSet (parsed queries, presearch index) is `ruleset_for(config)`: compiled once per process
and config, and shared by the pre-flight check, the construction of this transform (so a bad
rule fails when the pipeline is built, not on a worker) and every DoFn setup in the process;
the watch loop, which builds a new pipeline every cycle, never recompiles unchanged rules.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
from apache_beam.pvalue import PCollection

from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.beam_support.rulesets import ruleset_for
from wirewatch.transforms.model import Match, TaggedArticle
from wirewatch.transforms.rules.ruleset import RuleSet


class _MatchDoFn(beam.DoFn):
    def __init__(self, config):
        self._config = ref(config)  # decoded once per process, not once per cycle
        self._rules: RuleSet | None = None
        self.count = Counters("articles", "articles_matched", "matches")

    def setup(self) -> None:
        self._rules = ruleset_for(self._config)

    def process(self, element: TaggedArticle) -> Iterable[Match]:
        self.count.articles.inc()
        rules = self._rules
        found = rules.find(element)
        if found:
            self.count.articles_matched.inc()
            self.count.matches.inc(len(found))
        for each in found:  # per-rule counts: the run summary, from the alert ledger
            yield rules.model(each, element)


class MatchRules(beam.PTransform):
    """PCollection[TaggedArticle] -> PCollection[Match], one Match per (rule, article)."""

    def __init__(self, config, label: str | None = None):
        super().__init__(label)
        self._config = config
        ruleset_for(config)  # fail at construction: RuleError names rule and column

    def expand(self, articles: PCollection[TaggedArticle]) -> PCollection[Match]:
        return articles | "Match" >> beam.ParDo(_MatchDoFn(self._config))
