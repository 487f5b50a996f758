"""Beam wrapper: MatchRules(config) turns TaggedArticles into Matches.

The config travels as plain data (only the sections rules need, so no secret is pickled with
the graph); the RuleSet (parsed queries, presearch index) is built once per worker in
`setup()`. Construction compiles once too, so a bad rule fails when the pipeline is built, not
on a worker.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.model import Match, TaggedArticle
from transforms.rules.ruleset import compile_rules

_SECTIONS = ("rules", "taxonomy", "entities", "feeds")


def _rules_config(config) -> dict:
    data = {k: [item.model_dump(mode="json") for item in getattr(config, k)] for k in _SECTIONS}
    data["source"] = config.source
    return data


def _load(data: dict):
    from transforms.config import Config
    return Config.model_validate(data)


class _MatchDoFn(beam.DoFn):
    def __init__(self, config_data: dict):
        self._config_data = config_data
        self._rules = None
        self.articles = Metrics.counter(self.__class__, "articles")
        self.articles_matched = Metrics.counter(self.__class__, "articles_matched")
        self.matches = Metrics.counter(self.__class__, "matches")

    def setup(self) -> None:
        self._rules = compile_rules(_load(self._config_data))

    def process(self, element: TaggedArticle) -> Iterable[Match]:
        self.articles.inc()
        found = self._rules.match(element)
        if found:
            self.articles_matched.inc()
            self.matches.inc(len(found))
            for match in found:
                Metrics.counter(self.__class__, f"rule:{match.rule_id}").inc()
                yield match


class MatchRules(beam.PTransform):
    """PCollection[TaggedArticle] -> PCollection[Match], one Match per (rule, article)."""

    def __init__(self, config, label: str | None = None):
        super().__init__(label)
        compile_rules(config)  # fail at construction: RuleError names the rule and column
        self._config_data = _rules_config(config)

    def expand(self, articles: beam.PCollection[TaggedArticle]) -> beam.PCollection[Match]:
        return articles | "Match" >> beam.ParDo(_MatchDoFn(self._config_data))
